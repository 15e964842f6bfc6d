//! [`Exchange`]: the span of one request in flight, from its start to the
//! end of the response, whichever way that comes (the body finished, an
//! error, or everything dropped).

use std::borrow::Cow;

use http::{HeaderMap, StatusCode};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};

use super::grpc;

/// Which end of the request the span is: the status rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

/// A request's span and what is known so far about how it went. Ends its
/// span exactly once: by [`Exchange::end`], or when dropped first (a
/// cancelled request, a response body dropped before its end), then marked
/// as cancelled like a dropped `#[traced]` future.
#[derive(Debug)]
pub(crate) struct Exchange {
    cx: Context,
    side: Side,
    grpc: bool,
    http_status: Option<u16>,
    grpc_status: Option<i64>,
    failure: Option<(Cow<'static, str>, String)>,
    open: bool,
}

impl Exchange {
    /// Starts the span under `parent` (the current context when `None`).
    /// `None` when nothing is installed to record it.
    pub(crate) fn start(
        name: impl Into<Cow<'static, str>>,
        side: Side,
        grpc: bool,
        parent: Option<Context>,
        attributes: Vec<KeyValue>,
    ) -> Option<Exchange> {
        let kind = match side {
            Side::Server => SpanKind::Server,
            Side::Client => SpanKind::Client,
        };
        let mut span = crate::span(name).kind(kind);
        for KeyValue { key, value, .. } in attributes {
            span = span.attribute(key, value);
        }
        if let Some(parent) = parent {
            span = span.parent(parent);
        }
        let handle = span.start();
        // Nothing installed: an inert span that must not hide the caller's context.
        handle.context().has_active_span().then(|| Exchange {
            cx: handle.context().clone(),
            side,
            grpc,
            http_status: None,
            grpc_status: None,
            failure: None,
            open: true,
        })
    }

    /// The context holding the span: current while the request's work runs.
    pub(crate) fn context(&self) -> &Context {
        &self.cx
    }

    /// Replaces the context (same span, more context entries).
    pub(crate) fn set_context(&mut self, cx: Context) {
        self.cx = cx;
    }

    /// The response's status line and headers arrived.
    pub(crate) fn response_head(&mut self, status: StatusCode, headers: &HeaderMap) {
        self.http_status = Some(status.as_u16());
        if self.grpc {
            // A trailers-only response (an error, UNIMPLEMENTED) has the
            // status in its headers.
            self.grpc_status = grpc::status(headers).or(self.grpc_status);
        }
    }

    /// The response's trailers arrived (where gRPC puts its status).
    pub(crate) fn trailers(&mut self, trailers: &HeaderMap) {
        if self.grpc {
            self.grpc_status = grpc::status(trailers).or(self.grpc_status);
        }
    }

    /// The request failed without a response, or its body failed.
    pub(crate) fn fail(&mut self, error_type: impl Into<Cow<'static, str>>, description: String) {
        self.failure = Some((error_type.into(), description));
    }

    /// Ends the span with its status code attributes and status.
    pub(crate) fn end(&mut self) {
        if !std::mem::replace(&mut self.open, false) {
            return;
        }
        let span = self.cx.span();
        if !span.is_recording() {
            span.end();
            return;
        }
        let mut error: Option<(Cow<'static, str>, String)> = None;
        if let Some(code) = self.http_status {
            if !self.grpc {
                span.set_attribute(KeyValue::new("http.response.status_code", i64::from(code)));
            }
            let failed = match self.side {
                Side::Server => code >= 500,
                Side::Client => code >= 400,
            };
            if failed {
                error = Some((Cow::Owned(code.to_string()), String::new()));
            }
        }
        if let Some(code) = self.grpc_status {
            span.set_attribute(KeyValue::new("rpc.grpc.status_code", code));
            let failed = match self.side {
                Side::Server => grpc::is_server_error(code),
                Side::Client => code != 0,
            };
            if failed {
                error = Some((Cow::Borrowed(grpc::status_name(code)), String::new()));
            }
        }
        if let Some(failure) = self.failure.take() {
            error = Some(failure);
        }
        if let Some((error_type, description)) = error {
            span.set_attribute(KeyValue::new("error.type", error_type));
            span.set_status(Status::error(description));
        }
        span.end();
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        if self.open {
            let span = self.cx.span();
            if span.is_recording() {
                span.set_attribute(KeyValue::new("traced.cancelled", true));
                span.add_event("cancelled", Vec::new());
            }
            self.end();
        }
    }
}
