//! Span lifetimes the engine must survive (issue 11, point 2: "guards
//! dropped out of order, spans ended on another thread, spans that outlive
//! the guard from `install()`: no panic, no corrupted parentage, no leak").
//!
//! Documented behaviour checked here: a `SpanGuard`'s span is current on
//! its thread until the guard drops (so after an out-of-order drop the
//! newest live guard's span stays current); a `SpanHandle` or raw span may
//! end on any thread; a span still open when the guard shuts down is a
//! loss, counted once in `lost_spans()` and reported by `shutdown()`'s
//! error; after shutdown `pending_spans()` is back to zero and a new
//! install starts clean.
//!
//! Its own file: it installs the process-wide provider and reads the
//! process-wide loss counters. One test; well under a second.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::sync::mpsc;

use opentelemetry::trace::{Span as _, SpanId, Tracer as _};
use opentelemetry_sdk::trace::SpanData;
use trace_runtime::testing::SpanDataExt;
use trace_runtime::{current_span, run_in_span, traced, SpanGuard};
use traced_tests::memory::MemoryExporter;

fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<&SpanData> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one span {name} in {:?}", spans.iter().map(|s| &s.name).collect::<Vec<_>>());
    found[0]
}

fn current_id() -> String {
    current_span().span_id()
}

/// Returns a guard opened inside its own span: the traced span ends while
/// the guard's span is still current.
#[traced]
fn returns_guard() -> SpanGuard {
    trace_runtime::span("escaped").enter()
}

#[traced]
fn leaf() {}

/// Says it is inside its span, then waits there until told to return.
#[traced]
fn waits(inside: mpsc::Sender<()>, go: mpsc::Receiver<()>) {
    inside.send(()).unwrap();
    go.recv().unwrap();
}

#[test]
fn out_of_order_guards_foreign_threads_and_late_spans() {
    let lost_at_start = trace_runtime::lost_spans();

    // 1. Out of order and across threads, everything exported.
    let exporter = MemoryExporter::default();
    let guard = trace_runtime::init().env_lookup(|_| None).exporter(exporter.clone()).install().unwrap();

    let a = trace_runtime::span("a").enter();
    let b = trace_runtime::span("b").enter();
    let b_id = b.span_id();
    drop(a); // before b
    assert_eq!(current_id(), b_id, "b's guard is alive: b stays current");
    let c = trace_runtime::span("c").enter();
    let c_id = c.span_id();
    drop(b); // before c
    assert_eq!(current_id(), c_id);
    leaf();
    drop(c);
    assert!(!current_span().is_recording(), "every guard dropped: nothing current");

    let escaped = returns_guard();
    assert_eq!(current_id(), escaped.span_id(), "the escaped guard's span outlives its parent's body");
    trace_runtime::span("under.escaped").start().end();
    drop(escaped);
    assert!(!current_span().is_recording());

    // Ended on another thread: a handle, with a child made here, and a raw
    // OpenTelemetry span.
    let moved = trace_runtime::span("moved").start();
    run_in_span(&moved, leaf);
    let kept_here = moved.clone();
    let raw = opentelemetry::global::tracer("raw-lib").start("raw.moved");
    std::thread::spawn(move || {
        moved.set_attribute("ended.on", "other thread");
        moved.end();
        let mut raw = raw;
        raw.set_attribute(opentelemetry::KeyValue::new("ended.on", "other thread"));
        raw.end();
    })
    .join()
    .unwrap();
    // Ended elsewhere: later changes and a second end are ignored.
    kept_here.set_attribute("after.end", true);
    kept_here.end();
    // A guard's span ended early through its handle stays current until the
    // guard drops (the context still holds it), and ends once.
    let early = trace_runtime::span("ended.early").enter();
    early.handle().end();
    leaf();
    drop(early);
    let after = trace_runtime::span("after").enter();
    after.finish();

    guard.flush().unwrap();
    let spans = exporter.spans();
    guard.shutdown().unwrap();
    assert_eq!(trace_runtime::pending_spans(), 0, "nothing left waiting");
    assert_eq!(trace_runtime::lost_spans(), lost_at_start, "nothing lost");

    let (a, b, c) = (one(&spans, "a"), one(&spans, "b"), one(&spans, "c"));
    assert!(a.is_root());
    assert!(b.is_child_of(a));
    assert!(c.is_child_of(b), "started while b's guard was alive");
    let leaves: Vec<&SpanData> = spans.iter().filter(|s| s.name == "leaf").collect();
    assert_eq!(leaves.len(), 3);
    assert!(leaves.iter().any(|l| l.is_child_of(c)));
    let escaped = one(&spans, "escaped");
    assert!(escaped.is_child_of(one(&spans, "returns_guard")));
    assert!(one(&spans, "under.escaped").is_child_of(escaped));
    let moved = one(&spans, "moved");
    assert!(moved.is_root());
    assert_eq!(moved.attribute_str("ended.on"), Some("other thread"));
    assert!(leaves.iter().any(|l| l.is_child_of(moved)));
    assert_eq!(moved.attribute("after.end"), None, "changes after end are ignored");
    assert_eq!(one(&spans, "raw.moved").attribute_str("ended.on"), Some("other thread"));
    let early = one(&spans, "ended.early");
    assert!(leaves.iter().any(|l| l.is_child_of(early)));
    assert!(one(&spans, "after").is_root(), "no stale parent after the out-of-order drops");
    assert_eq!(spans.len(), 13, "each span once");

    // 2. Spans that outlive the guard: open here, and on another thread.
    let exporter = MemoryExporter::default();
    let guard = trace_runtime::init().env_lookup(|_| None).exporter(exporter.clone()).install().unwrap();
    trace_runtime::span("ended.in.time").start().end();
    let open = trace_runtime::span("outlives.guard").enter();
    let child = trace_runtime::span("outlives.child").start();
    let (go, wait) = mpsc::channel();
    let (inside, is_inside) = mpsc::channel();
    let thread = std::thread::spawn(move || waits(inside, wait));
    is_inside.recv().unwrap();
    let lost_before = trace_runtime::lost_spans();
    let shut = guard.shutdown();
    assert!(shut.is_err(), "spans still open at shutdown are reported lost");
    // Ending them now: no panic, no second count.
    go.send(()).unwrap();
    thread.join().unwrap();
    child.set_attribute("late", true);
    child.end();
    drop(open);
    assert!(!current_span().is_recording());
    assert_eq!(trace_runtime::lost_spans() - lost_before, 3, "the three late spans, once each");
    assert_eq!(trace_runtime::pending_spans(), 0, "no leak");
    let spans = exporter.spans();
    assert_eq!(spans.iter().map(|s| s.name.as_ref()).collect::<Vec<_>>(), ["ended.in.time"]);
    // Nothing is installed now: a span records nothing and is not a loss.
    let idle = trace_runtime::span("nothing.installed").start();
    assert!(!idle.is_recording());
    idle.end();
    assert_eq!(trace_runtime::lost_spans() - lost_before, 3);

    // 3. A new install starts clean: no stale parent, nothing from before.
    let exporter = MemoryExporter::default();
    let guard = trace_runtime::init().env_lookup(|_| None).exporter(exporter.clone()).install().unwrap();
    leaf();
    guard.flush().unwrap();
    let spans = exporter.spans();
    guard.shutdown().unwrap();
    assert_eq!(spans.len(), 1);
    assert!(spans[0].is_root() && spans[0].parent_span_id == SpanId::INVALID);
    assert_eq!(trace_runtime::pending_spans(), 0);
    assert_eq!(trace_runtime::lost_spans() - lost_at_start, 3);
}
