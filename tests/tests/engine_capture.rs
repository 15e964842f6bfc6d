//! `testing::capture` next to the span engine (issue 11, point 2:
//! "`testing::capture` isolation while tests run in parallel, including raw
//! OpenTelemetry spans and spans on spawned tasks and threads"): with
//! `init()` installed, captures running in parallel with uncaptured work
//! each get exactly their own spans (raw ones, threads and tasks that
//! inherited their context included), and the installed exporter gets the
//! uncaptured spans, none of the captured ones.
//!
//! Its own file: it installs the process-wide provider. One test; well under
//! a second.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::collections::HashSet;

use opentelemetry::trace::{TraceId, Tracer};
use trace_runtime::testing::{capture, SpanDataExt};
use trace_runtime::{bind_current_span, current_span, in_current_span, traced};
use traced_tests::memory::MemoryExporter;

/// One unit of work: a traced root, a raw child, a child on a thread and
/// one in a task, all tagged with who ran it.
#[traced]
fn unit(who: String) -> TraceId {
    current_span().set_attribute("who", who.clone());
    opentelemetry::global::tracer("raw-lib").in_span("raw", |_| leaf(who.clone()));
    let on_thread = who.clone();
    std::thread::spawn(bind_current_span(move || leaf(on_thread))).join().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let in_task = who.clone();
    runtime.block_on(async move { tokio::spawn(in_current_span(async move { leaf(in_task) })).await }).unwrap();
    TraceId::from_hex(&current_span().trace_id()).unwrap()
}

#[traced]
fn leaf(who: String) {
    current_span().set_attribute("who", who);
}

#[test]
fn captures_and_the_engine_each_get_their_own_spans() {
    let exporter = MemoryExporter::default();
    let guard = trace_runtime::init().env_lookup(|_| None).exporter(exporter.clone()).install().unwrap();

    let workers: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                let who = format!("worker-{i}");
                if i % 2 == 0 {
                    let c = capture(|| (0..3).map(|_| unit(who.clone())).collect::<Vec<_>>());
                    // Exactly its own: 3 units of 5 spans, all its own.
                    assert_eq!(c.spans().len(), 15, "{who}: {}", c.tree());
                    for span in c.spans() {
                        // Raw spans carry no tag: their traced child does.
                        let tagged = if span.name == "raw" { c.children_of(span)[0] } else { span };
                        assert_eq!(tagged.attribute_str("who"), Some(who.as_str()), "{}", c.tree());
                    }
                    let traces: HashSet<TraceId> = c.spans().iter().map(|s| s.span_context.trace_id()).collect();
                    assert_eq!(traces, c.result().iter().copied().collect(), "{who}");
                    (who, Vec::new())
                } else {
                    (who.clone(), (0..3).map(|_| unit(who.clone())).collect())
                }
            })
        })
        .collect();
    let results: Vec<(String, Vec<TraceId>)> = workers.into_iter().map(|w| w.join().unwrap()).collect();

    guard.flush().unwrap();
    let spans = exporter.spans();
    guard.shutdown().unwrap();

    // The engine exported the uncaptured work, all of it, and nothing else.
    let uncaptured: HashSet<TraceId> = results.iter().flat_map(|(_, ids)| ids.iter().copied()).collect();
    assert_eq!(uncaptured.len(), 4 * 3);
    let exported: HashSet<TraceId> = spans.iter().map(|s| s.span_context.trace_id()).collect();
    assert_eq!(exported, uncaptured, "the engine got no captured span");
    assert_eq!(spans.len(), 4 * 3 * 5);
    for span in spans.iter().filter(|s| s.name != "raw") {
        let who = span.attribute_str("who").unwrap();
        assert!(results.iter().any(|(w, ids)| w == who && ids.contains(&span.span_context.trace_id())));
    }
}
