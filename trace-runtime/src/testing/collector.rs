//! The span processor behind a capture: keeps every ended span in memory,
//! and claims for the capture each trace started inside it.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use opentelemetry::trace::{Span as _, TraceContextExt};
use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use crate::dispatch::Claims;

#[derive(Debug, Clone, Default)]
pub(super) struct Collector {
    spans: Arc<Mutex<Vec<SpanData>>>,
    claims: Arc<OnceLock<Claims>>,
}

impl Collector {
    /// The spans ended so far, each attribute key once.
    pub(super) fn take(&self) -> Vec<SpanData> {
        let mut spans = std::mem::take(&mut *self.spans.lock().unwrap_or_else(PoisonError::into_inner));
        // As the export pipelines do, when the test reads them rather than
        // when the traced code ends them: a key set twice (a global tag the
        // span set again, or `set_attribute` called twice) is seen once, with
        // its latest value, as the OpenTelemetry specification says.
        for span in &mut spans {
            crate::export::split::dedupe_attributes(&mut span.attributes);
        }
        spans
    }

    /// From now on, traces started by this collector's spans are claimed.
    pub(super) fn claim_for(&self, claims: Claims) {
        let _ = self.claims.set(claims);
    }
}

impl SpanProcessor for Collector {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        // A span that starts a trace (no parent, or a new trace under one):
        // its trace is this capture's, wherever its later spans start.
        let trace_id = span.span_context().trace_id();
        let parent = cx.span();
        let parent_sc = parent.span_context();
        if !parent_sc.is_valid() || parent_sc.trace_id() != trace_id {
            if let Some(claims) = self.claims.get() {
                claims.claim(trace_id);
            }
        }
    }

    fn on_end(&self, span: SpanData) {
        self.spans.lock().unwrap_or_else(PoisonError::into_inner).push(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}
