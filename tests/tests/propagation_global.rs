//! Own binary: sets the global OpenTelemetry propagator.
//!
//! A propagator the application set with
//! `opentelemetry::global::set_text_map_propagator` is the one
//! `trace_runtime::propagation` uses.
//!
//! Its own file: the global propagator is process-wide.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::collections::HashMap;

use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;
use trace_runtime::testing::{capture, SpanDataExt};
use trace_runtime::{propagation, traced};

/// A toy single-header format: `x-trace: <trace id>:<span id>`.
#[derive(Debug)]
struct ToyPropagator(Vec<String>);

impl TextMapPropagator for ToyPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        if sc.is_valid() {
            injector.set("x-trace", format!("{}:{}", sc.trace_id(), sc.span_id()));
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let parsed = extractor.get("x-trace").and_then(|v| v.split_once(':')).and_then(|(t, s)| {
            Some(SpanContext::new(
                TraceId::from_hex(t).ok()?,
                SpanId::from_hex(s).ok()?,
                TraceFlags::SAMPLED,
                true,
                TraceState::default(),
            ))
        });
        match parsed {
            Some(sc) => cx.with_remote_span_context(sc),
            None => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.0)
    }
}

#[traced(kind = client)]
fn client() -> HashMap<String, String> {
    let mut headers = HashMap::new();
    propagation::inject(&mut headers);
    headers
}

#[traced(kind = server)]
fn server() {}

#[test]
fn the_applications_propagator_is_used() {
    opentelemetry::global::set_text_map_propagator(ToyPropagator(vec!["x-trace".to_owned()]));
    let c = capture(|| {
        let headers = client();
        assert!(headers.contains_key("x-trace"), "{headers:?}");
        assert!(!headers.contains_key("traceparent"), "W3C is not used: {headers:?}");
        propagation::in_remote_context(&headers, server);
    });
    assert!(c.span("server").is_child_of(c.span("client")), "{}", c.tree());
    assert!(c.span("server").parent_span_is_remote);
}
