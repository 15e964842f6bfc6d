//! Own binary: installs the runtime and with it the global `tracing` subscriber.
//!
//! End to end: with the `tracing` feature, `init().install()` sets
//! `tracing_layer()` as the `tracing` subscriber (none is set in this
//! process), and a `tracing`-only dependency's spans and events reach the
//! real OTLP receiver in the same trace as the `#[traced]` spans around
//! them, with the exact parent chain.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

mod e2e_common;

use std::time::Instant;

use e2e_common::{Setup, WAIT};
use trace_runtime::traced;
use traced_tests::agent::{AttrValue, ReceivedSpan};

fn setup() -> Setup {
    e2e_common::install(|builder, agent| builder.otlp_endpoint(agent.otlp_http_endpoint()))
}

/// A dependency that only knows `tracing`.
mod dependency {
    #[tracing::instrument(skip(callback))]
    pub(crate) fn fetch(key: &str, callback: impl FnOnce() -> i64) -> i64 {
        tracing::info!(attempt = 1_i64, "fetching");
        callback()
    }
}

#[traced(kind = server, attrs(test.case = case))]
fn handler(case: &str) -> i64 {
    tracing::warn!("slow path");
    dependency::fetch("user:7", leaf)
}

#[traced]
fn leaf() -> i64 {
    7
}

#[test]
fn tracing_spans_and_events_reach_the_receiver_in_the_traced_trace() {
    let setup = setup();
    assert_eq!(handler("tracing-e2e"), 7);
    setup.guard.flush().expect("flushed");

    let deadline = Instant::now() + WAIT;
    let trace: Vec<ReceivedSpan> = loop {
        let spans = setup.session.spans();
        let root = spans.iter().find(|s| s.attr("test.case").and_then(AttrValue::as_str) == Some("tracing-e2e"));
        if let Some(root) = root {
            let trace: Vec<ReceivedSpan> = spans.iter().filter(|s| s.trace_id == root.trace_id).cloned().collect();
            if trace.len() >= 3 {
                break trace;
            }
        }
        assert!(Instant::now() < deadline, "the trace did not arrive within {WAIT:?}; received: {spans:#?}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let span = |name: &str| trace.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("{name}: {trace:#?}"));
    let (handler, fetch, leaf) = (span("handler"), span("fetch"), span("leaf"));
    assert_eq!(trace.len(), 3, "{trace:#?}");
    assert_eq!(fetch.parent_span_id.as_deref(), Some(handler.span_id.as_str()));
    assert_eq!(leaf.parent_span_id.as_deref(), Some(fetch.span_id.as_str()));
    assert_eq!(fetch.attr("key").and_then(AttrValue::as_str), Some("user:7"));
    // Global tags and the resource apply to `tracing` spans too.
    assert_eq!(fetch.attr("deployment.region").and_then(AttrValue::as_str), Some("eu-test"));
    assert_eq!(fetch.resource_attr("service.name").and_then(AttrValue::as_str), Some(e2e_common::SERVICE));
    let fetching = fetch.event("fetching").expect("the dependency's event");
    assert_eq!(fetching.attributes.get("attempt").and_then(AttrValue::as_i64), Some(1));
    assert_eq!(fetching.attributes.get("level").and_then(AttrValue::as_str), Some("INFO"));
    // A `tracing::warn!` directly inside the #[traced] handler is on its span.
    let slow = handler.event("slow path").expect("the handler's own tracing event");
    assert_eq!(slow.attributes.get("level").and_then(AttrValue::as_str), Some("WARN"));
}
