//! `tracing` spans and traced's engine spans nest both ways, sync and async
//! (issue 11, point 2: "`tracing-opentelemetry` nests both ways, sync and
//! async"), with the layer's tracer taken from
//! `opentelemetry::global::tracer(..)` after `init().install()` (README,
//! "tracing"); and the same with traced's own `tracing_layer()`.
//!
//! Its own file: it installs the process-wide provider. The subscribers are
//! scoped to the test's thread (`with_default`), so each layer is tried on
//! its own. One test; well under a second.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::trace::SpanData;
use trace_runtime::testing::SpanDataExt;
use trace_runtime::traced;
use traced_tests::memory::MemoryExporter;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

#[traced]
fn traced_outer() {
    let span = tracing::info_span!("tracing_inner", answer = 42);
    span.in_scope(traced_leaf);
}

#[traced]
fn traced_leaf() {
    // The leaf sees a recording span as current, whoever its parent is, and
    // the local root through the tracing spans above it.
    assert!(trace_runtime::current_span().is_recording());
    trace_runtime::current_root_span().set_attribute("marked.by.leaf", true);
}

fn tracing_root() {
    let root = tracing::info_span!("tracing_root");
    let _entered = root.enter();
    traced_outer();
}

#[traced]
async fn traced_async() {
    tracing_async().instrument(tracing::info_span!("tracing_async")).await;
}

async fn tracing_async() {
    tokio::task::yield_now().await;
    traced_async_leaf().await;
}

#[traced]
async fn traced_async_leaf() {
    tokio::task::yield_now().await;
    assert!(opentelemetry::Context::current().has_active_span());
}

fn span<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<&SpanData> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one span {name} in {:?}", spans.iter().map(|s| &s.name).collect::<Vec<_>>());
    found[0]
}

/// Runs the sync and async shapes under `subscriber` with a fresh install,
/// and checks both nestings.
fn nests_both_ways(label: &str, subscriber: impl Fn() -> tracing::Dispatch) {
    let exporter = MemoryExporter::default();
    let guard = trace_runtime::init().env_lookup(|_| None).exporter(exporter.clone()).install().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    tracing::dispatcher::with_default(&subscriber(), || {
        // traced > tracing > traced, under a tracing root.
        tracing_root();
        runtime.block_on(traced_async());
    });
    guard.flush().unwrap();
    let spans = exporter.spans();
    guard.shutdown().unwrap();

    let root = span(&spans, "tracing_root");
    let outer = span(&spans, "traced_outer");
    let inner = span(&spans, "tracing_inner");
    let leaf = span(&spans, "traced_leaf");
    assert!(root.is_root(), "{label}");
    assert!(outer.is_child_of(root), "{label}: a traced span under a tracing span");
    assert!(inner.is_child_of(outer), "{label}: a tracing span under a traced span");
    assert!(leaf.is_child_of(inner), "{label}: traced under tracing under traced");
    assert_eq!(inner.attr_i64("answer"), Some(42), "{label}: the tracing span's fields");
    let marked: Vec<&str> =
        spans.iter().filter(|s| s.attribute("marked.by.leaf").is_some()).map(|s| s.name.as_ref()).collect();
    assert_eq!(marked, ["tracing_root"], "{label}: current_root_span() is the tracing root");

    let a_outer = span(&spans, "traced_async");
    let a_middle = span(&spans, "tracing_async");
    let a_leaf = span(&spans, "traced_async_leaf");
    assert!(a_outer.is_root(), "{label}");
    assert!(a_middle.is_child_of(a_outer), "{label}: an instrumented future under a traced async fn");
    assert!(a_leaf.is_child_of(a_middle), "{label}: a traced async fn under an instrumented future");
    assert_eq!(spans.len(), 7, "{label}: nothing else, nothing twice");
}

#[test]
fn tracing_spans_and_engine_spans_nest_both_ways() {
    // tracing-opentelemetry, its tracer from the global slot. Built inside
    // the closure: after `install()`, as the README says.
    nests_both_ways("tracing-opentelemetry", || {
        let layer = tracing_opentelemetry::layer().with_tracer(opentelemetry::global::tracer("tracing"));
        tracing::Dispatch::new(tracing_subscriber::registry().with(layer))
    });
    // traced's own layer.
    nests_both_ways("tracing_layer()", || {
        tracing::Dispatch::new(tracing_subscriber::registry().with(trace_runtime::tracing_layer()))
    });
}
