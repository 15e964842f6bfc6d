//! Datadog's `dd` member of W3C `tracestate` through traced spans: the
//! caller's priority and `_dd.p.*` tags go on, but its `p:` (last parent
//! id) names the span that injects, not the caller's span, as Datadog's W3C
//! format asks; the member moves to the front, other vendors' members stay.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;
use trace_runtime::propagation::{Propagator, Propagators};
use trace_runtime::testing::capture;
use trace_runtime::traced;

const W3C: [Propagator; 1] = [Propagator::TraceContext];
const TRACEPARENT: &str = "00-640cfd8d00000000a3ce929d0e0e4736-00f067aa0ba902b7-01";
const STALE: &str = "1111111111111111";

fn extract(tracestate: &str) -> Context {
    let headers: HashMap<String, String> =
        HashMap::from([("traceparent".into(), TRACEPARENT.into()), ("tracestate".into(), tracestate.into())]);
    Propagators::new(W3C).extract(&headers)
}

/// What a traced client call sends over W3C.
#[traced]
fn call_out() -> HashMap<String, String> {
    let mut out = HashMap::new();
    Propagators::new(W3C).inject_context(&Context::current(), &mut out);
    out
}

#[traced]
fn handler() -> HashMap<String, String> {
    call_out()
}

/// The caller's `tracestate` through `handler` → `call_out`: what
/// `call_out` sends, and its span id in hex.
fn through_spans(tracestate: &str) -> (String, String) {
    let remote = extract(tracestate);
    let c = capture(|| {
        let _in_request = Context::current().with_remote_span_context(remote.span().span_context().clone()).attach();
        handler()
    });
    let call = c.span("call_out").span_context.span_id().to_string();
    (c.result()["tracestate"].clone(), call)
}

#[test]
fn the_last_parent_is_the_injecting_span() {
    let (sent, call) = through_spans(&format!("rojo=00f067aa0ba902b7,dd=s:2;p:{STALE};o:rum;t.dm:-3"));
    assert_eq!(sent, format!("dd=s:2;p:{call};o:rum;t.dm:-3,rojo=00f067aa0ba902b7"));
    assert!(!sent.contains(STALE), "the caller's last parent is not forwarded: {sent}");
}

#[test]
fn a_dd_member_without_last_parent_gets_one() {
    let (sent, call) = through_spans("dd=s:1;t.dm:-0");
    assert_eq!(sent, format!("dd=s:1;p:{call};t.dm:-0"));
}

#[test]
fn a_tracestate_without_dd_is_forwarded_as_received() {
    let (sent, _) = through_spans("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    assert_eq!(sent, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
}
