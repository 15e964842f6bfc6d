//! [`ClientMiddleware`]: one client span per request sent through a
//! `reqwest_middleware::ClientWithMiddleware`, injected into its headers.

use http::Extensions;
use opentelemetry::{Context, KeyValue};
use reqwest_middleware::{Middleware, Next};

use super::exchange::{Exchange, Side};
use super::semconv;
use crate::context::CurrentSpanExt;
use crate::{propagation, SpanHandle};

/// Traces each request as a client span; made by
/// [`client_middleware`](super::client_middleware).
///
/// Each call is one span: a retry middleware placed before it (reqwest-retry)
/// calls it again per attempt, so every attempt is a span of its own.
///
/// ```
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(trace_runtime::http::client_middleware())
///     .build();
/// # let _ = client;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientMiddleware {
    _private: (),
}

impl ClientMiddleware {
    pub(crate) fn new() -> Self {
        ClientMiddleware { _private: () }
    }
}

#[async_trait::async_trait]
impl Middleware for ClientMiddleware {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let Some(mut exchange) = start(&request) else {
            // Nothing records here: the caller's trace still travels on.
            propagation::inject(request.headers_mut());
            return next.run(request, extensions).await;
        };
        propagation::inject_context(exchange.context(), request.headers_mut());
        let span = SpanHandle::from_context(exchange.context().clone());
        let result = next.run(request, extensions).in_span(&span).await;
        match &result {
            Ok(response) => exchange.response_head(response.status(), response.headers()),
            Err(error) => exchange.fail(error_type(error), error.to_string()),
        }
        exchange.end();
        result
    }
}

/// The client span of `request`, under the current span.
fn start(request: &reqwest::Request) -> Option<Exchange> {
    let url = request.url();
    let mut attributes = Vec::with_capacity(8);
    semconv::method_attributes(request.method(), &mut attributes);
    attributes.push(KeyValue::new("url.full", semconv::redacted_url(url.as_str())));
    if let Some(host) = url.host_str() {
        attributes.push(KeyValue::new("server.address", host.to_owned()));
    }
    if let Some(port) = url.port_or_known_default() {
        attributes.push(KeyValue::new("server.port", i64::from(port)));
    }
    Exchange::start(semconv::method_name(request.method()), Side::Client, false, Some(Context::current()), attributes)
}

/// `error.type` for a request that got no response.
fn error_type(error: &reqwest_middleware::Error) -> &'static str {
    match error {
        reqwest_middleware::Error::Middleware(_) => "middleware",
        reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => "timeout",
        reqwest_middleware::Error::Reqwest(e) if e.is_connect() => "connect",
        reqwest_middleware::Error::Reqwest(e) if e.is_redirect() => "redirect",
        reqwest_middleware::Error::Reqwest(e) if e.is_body() => "body",
        reqwest_middleware::Error::Reqwest(e) if e.is_request() => "request",
        reqwest_middleware::Error::Reqwest(_) => "reqwest::Error",
    }
}
