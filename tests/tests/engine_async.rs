//! Async spans and failures under the span engine (issue 11, point 2: "async
//! spans current on every poll and in no other task; cancelled futures and
//! panics still end and mark their spans"), after `init().install()`.
//!
//! What is asserted is what the capture suite asserts on the SDK path
//! (tests/tests/suite/async_runtime.rs, errors_panics.rs): a cancelled span
//! has `traced.cancelled = true`, a `cancelled` event and no error status; a
//! panic ends its span with status ERROR (the panic message) and an
//! `exception` event of type `panic`.
//!
//! Its own file: it installs the process-wide provider. One test; well under
//! a second.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::{SpanId, TraceContextExt};
use opentelemetry::{Context, Value};
use opentelemetry_sdk::trace::SpanData;
use trace_runtime::testing::SpanDataExt;
use trace_runtime::{current_span, traced};
use traced_tests::memory::MemoryExporter;

/// The span current right now, as both readers see it.
fn current_ids() -> (SpanId, String) {
    (Context::current().span().span_context().span_id(), current_span().span_id())
}

/// Wraps a future and writes down the current span outside it, around each
/// poll: the traced span must not leak out of its own polls.
struct Outside<F> {
    inner: Pin<Box<F>>,
    seen: Vec<SpanId>,
}

impl<F: Future> Future for Outside<F> {
    type Output = (F::Output, Vec<SpanId>);
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let before = current_ids().0;
        let polled = self.inner.as_mut().poll(cx);
        let after = current_ids().0;
        self.seen.extend([before, after]);
        match polled {
            Poll::Ready(out) => Poll::Ready((out, std::mem::take(&mut self.seen))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Yields many times; after each yield (a new poll) reads the current span.
#[traced]
async fn worker(rounds: usize) -> Vec<(SpanId, String)> {
    let mut seen = vec![current_ids()];
    for _ in 0..rounds {
        tokio::task::yield_now().await;
        seen.push(current_ids());
        // A task spawned without carrying the span does not see it.
        let other = tokio::spawn(async { current_span().is_recording() }).await.unwrap();
        assert!(!other, "the span leaked into another task");
        seen.push(current_ids());
    }
    seen
}

#[traced]
async fn fast() {
    tokio::task::yield_now().await;
}

#[traced]
async fn slow() {
    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
}

#[traced]
async fn polled_once_then_dropped() {
    std::future::pending::<()>().await;
}

#[traced]
fn explodes() {
    panic!("kaboom under the engine");
}

#[traced]
fn parent_of_panic() {
    explodes();
}

#[traced]
async fn async_explodes() {
    tokio::task::yield_now().await;
    panic!("async kaboom under the engine");
}

fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<&SpanData> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one span {name} in {:?}", spans.iter().map(|s| &s.name).collect::<Vec<_>>());
    found[0]
}

fn assert_cancelled(span: &SpanData) {
    assert_eq!(span.attribute("traced.cancelled"), Some(&Value::Bool(true)), "{}", span.name);
    assert!(span.event("cancelled").is_some(), "{}", span.name);
    assert!(!span.is_error(), "{}: a cancelled span is not an error", span.name);
}

fn assert_panicked(span: &SpanData, message: &str) {
    assert_eq!(span.error_description(), Some(message), "{}", span.name);
    assert_eq!(span.event_attribute("exception", "exception.type"), Some(&Value::from("panic")), "{}", span.name);
    assert_eq!(span.event_attribute("exception", "exception.message"), Some(&Value::from(message.to_owned())));
}

#[test]
fn async_spans_cancellation_and_panics_on_the_engine() {
    let exporter = MemoryExporter::default();
    let guard = trace_runtime::init().env_lookup(|_| None).exporter(exporter.clone()).install().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();

    // Two tasks interleaved on one thread: each sees only its own span, on
    // every poll, and nothing is current between their polls.
    let (a, b) = runtime.block_on(async {
        let a = tokio::spawn(Outside { inner: Box::pin(worker(20)), seen: Vec::new() });
        let b = tokio::spawn(Outside { inner: Box::pin(worker(20)), seen: Vec::new() });
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        assert!(!current_span().is_recording());
        (a, b)
    });
    for (label, (seen, outside)) in [("a", &a), ("b", &b)] {
        let own = &seen[0];
        assert_ne!(own.0, SpanId::INVALID, "{label}");
        assert_eq!(own.1, format!("{:016x}", own.0), "{label}: current_span() and Context::current() agree");
        assert_eq!(seen.len(), 41, "{label}");
        assert!(seen.iter().all(|s| s == own), "{label}: its own span on every poll");
        assert!(outside.len() > 40, "{label}: polled many times");
        assert!(outside.iter().all(|id| *id == SpanId::INVALID), "{label}: the span leaked out of its poll");
    }
    assert_ne!(a.0[0], b.0[0], "two spans");

    // The same with many tasks on a multi-thread runtime, where a future
    // may be polled on a different worker each time.
    let pool = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let many = pool.block_on(async {
        let tasks: Vec<_> =
            (0..8).map(|_| tokio::spawn(Outside { inner: Box::pin(worker(20)), seen: Vec::new() })).collect();
        let mut all = Vec::new();
        for task in tasks {
            all.push(task.await.unwrap());
        }
        all
    });
    drop(pool);
    let own_ids: std::collections::HashSet<SpanId> = many.iter().map(|(seen, _)| seen[0].0).collect();
    for (seen, outside) in &many {
        assert!(seen.iter().all(|s| *s == seen[0]), "its own span on every poll, on any worker");
        assert!(outside.iter().all(|id| *id == SpanId::INVALID), "the span leaked out of its poll");
    }
    assert_eq!(own_ids.len(), 8, "eight spans");

    // Cancelled: the loser of a select, a timed-out future, an aborted task,
    // a future polled once and dropped.
    runtime.block_on(async {
        tokio::select! {
            () = fast() => {}
            () = slow() => unreachable!("slow never wins"),
        }
        let timed_out = tokio::time::timeout(std::time::Duration::from_millis(5), polled_once_then_dropped()).await;
        assert!(timed_out.is_err());
        let task = tokio::spawn(slow());
        tokio::task::yield_now().await;
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        let mut once = Box::pin(polled_once_then_dropped());
        assert!(futures_poll_once(once.as_mut()).await.is_pending());
        drop(once);
    });

    // Polled on one thread, dropped on another: still ends once, cancelled,
    // and leaves nothing current on either thread.
    let mut moved = Box::pin(polled_once_then_dropped());
    let moved = std::thread::spawn(move || {
        let here = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        assert!(here.block_on(futures_poll_once(moved.as_mut())).is_pending());
        assert!(!current_span().is_recording());
        moved
    })
    .join()
    .unwrap();
    drop(moved);
    assert!(!current_span().is_recording());
    trace_runtime::span("after.foreign.drop").start().end();

    // Panics, sync (through two spans) and async.
    let caught = std::panic::catch_unwind(parent_of_panic);
    assert!(caught.is_err(), "the panic went on");
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(async_explodes())));
    assert!(caught.is_err(), "the async panic went on");
    // A manual span whose guard is alive while the thread panics.
    let caught = std::panic::catch_unwind(|| {
        let _guard = trace_runtime::span("guarded").enter();
        panic!("kaboom in a guard");
    });
    assert!(caught.is_err());
    assert!(!current_span().is_recording(), "nothing left current after the panics");

    guard.flush().unwrap();
    let spans = exporter.spans();
    guard.shutdown().unwrap();

    // Both workers' spans: roots, ended, as many as started.
    let workers: Vec<&SpanData> = spans.iter().filter(|s| s.name == "worker").collect();
    assert_eq!(workers.len(), 10);
    assert!(workers.iter().all(|w| w.is_root() && w.attribute("traced.cancelled").is_none()));
    let ids: Vec<SpanId> = workers.iter().map(|w| w.span_context.span_id()).collect();
    assert!(ids.contains(&a.0[0].0) && ids.contains(&b.0[0].0));

    assert_eq!(one(&spans, "fast").attribute("traced.cancelled"), None);
    let slows: Vec<&SpanData> = spans.iter().filter(|s| s.name == "slow").collect();
    assert_eq!(slows.len(), 2, "the select's loser and the aborted task");
    slows.iter().for_each(|s| assert_cancelled(s));
    let dropped: Vec<&SpanData> = spans.iter().filter(|s| s.name == "polled_once_then_dropped").collect();
    assert_eq!(dropped.len(), 3, "the timed-out future and the two dropped by hand");
    dropped.iter().for_each(|s| assert_cancelled(s));

    assert!(one(&spans, "after.foreign.drop").is_root());
    assert_panicked(one(&spans, "explodes"), "kaboom under the engine");
    assert_panicked(one(&spans, "parent_of_panic"), "kaboom under the engine");
    assert!(one(&spans, "explodes").is_child_of(one(&spans, "parent_of_panic")));
    assert_panicked(one(&spans, "async_explodes"), "async kaboom under the engine");
    assert!(one(&spans, "guarded").is_error(), "a guard alive during a panic ends its span as ERROR");
}

/// Polls a future exactly once.
async fn futures_poll_once<F: Future + Unpin>(mut future: F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut future).poll(cx))).await
}
