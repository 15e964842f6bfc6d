//! The span engine keeps traced's context promises (issue 11, point 2:
//! "`current_root_span()` without any side channel; service inheritance;
//! global tags; links; explicit parents; remote parents from
//! `propagation`"), checked on exported spans after `init().install()`.
//!
//! Its own file: it installs the process-wide provider and sets global tags.
//! One test; well under a second.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::collections::HashMap;

use opentelemetry::trace::{FutureExt, SpanContext, SpanId, TraceId, Tracer};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use trace_runtime::testing::SpanDataExt;
use trace_runtime::{bind_current_span, current_root_span, current_span, in_current_span, traced, SpanHandle};
use traced_tests::memory::MemoryExporter;

// --- current_root_span() from deep inside, across awaits, tasks, threads ---

#[traced]
async fn request() {
    tokio::task::yield_now().await;
    middle().await;
}

#[traced]
async fn middle() {
    tokio::task::yield_now().await;
    // A task of its own, on another worker, carrying this span.
    tokio::spawn(in_current_span(async {
        tokio::task::yield_now().await;
        deep_async().await;
    }))
    .await
    .unwrap();
    // A thread of its own, carrying this span.
    std::thread::spawn(bind_current_span(|| deep_sync("root.from.thread"))).join().unwrap();
    deep_sync("root.from.same.thread");
    // Carried by raw OpenTelemetry instead: a task under `with_context`, a
    // thread that attaches the context itself. traced never sees these
    // contexts made current, and the root is still found.
    let cx = opentelemetry::Context::current();
    tokio::spawn(async { deep_sync("root.from.raw.task") }.with_context(cx.clone())).await.unwrap();
    std::thread::spawn(move || {
        let _attached = cx.attach();
        opentelemetry::global::tracer("raw-lib").in_span("raw.on.thread", |_| deep_sync("root.from.raw.thread"));
    })
    .join()
    .unwrap();
}

#[traced]
async fn deep_async() {
    tokio::task::yield_now().await;
    current_root_span().set_attribute("root.from.task", true);
    tokio::task::yield_now().await;
    current_root_span().add_event("root.event.from.task", []);
}

#[traced]
fn deep_sync(key: &'static str) {
    deeper_sync(key);
}

#[traced]
fn deeper_sync(key: &'static str) {
    current_root_span().set_attribute(key, true);
}

/// Under a remote parent, the local root is the span that continued it.
#[traced(kind = server)]
fn continues_remote() {
    deep_sync("root.under.remote");
}

// --- service inheritance ---

#[traced(service = "db")]
fn query() {
    row();
    let manual = trace_runtime::span("manual.under.db").enter();
    manual.finish();
    cache();
}

#[traced]
fn row() {}

#[traced(service = "cache")]
fn cache() {
    row_in_cache();
    // Carried to another thread and into a task: still the nearest ancestor.
    std::thread::spawn(bind_current_span(row_in_cache)).join().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async { tokio::spawn(in_current_span(async { row_in_cache() })).await }).unwrap();
}

#[traced]
fn row_in_cache() {}

#[traced]
fn plain() {}

// --- links and explicit parents ---

#[traced(links = triggers)]
fn batch(triggers: &[SpanContext]) {}

#[traced(parent = parent)]
fn adopted(parent: SpanContext) {
    row();
}

#[traced(parent = parent)]
fn adopted_by_handle(parent: &SpanHandle) {}

#[traced(parent = None::<SpanContext>)]
fn new_trace() {}

#[traced]
fn current_parent_of_explicit(other: SpanContext) {
    adopted(other);
    new_trace();
}

fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<&SpanData> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one span {name} in {:?}", spans.iter().map(|s| &s.name).collect::<Vec<_>>());
    found[0]
}

fn all<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

#[test]
fn context_promises_hold_on_the_engine() {
    let exporter = MemoryExporter::default();
    let guard =
        trace_runtime::init().env_lookup(|_| None).service_name("shop").exporter(exporter.clone()).install().unwrap();

    // current_root_span() from deep inside.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(request());
    // Under a remote parent.
    let remote_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let remote_span = "00f067aa0ba902b7";
    let headers = HashMap::from([
        ("traceparent".to_owned(), format!("00-{remote_trace}-{remote_span}-01")),
        ("tracestate".to_owned(), "vendor=remote".to_owned()),
    ]);
    trace_runtime::propagation::in_remote_context(&headers, continues_remote);
    // The same caller, extracted and given as the parent of a manual span.
    let extracted = trace_runtime::propagation::extract(&headers);
    trace_runtime::span("extracted.child").parent(extracted).start().end();
    let remote_sc = trace_runtime::propagation::remote_span_context(&headers).unwrap();
    assert!(remote_sc.is_remote());

    // Service inheritance.
    query();
    plain();

    // Global tags: a span open when the tag is set does not get it; spans
    // started after do, on any thread, raw ones included.
    let before = trace_runtime::span("started.before.tag").enter();
    trace_runtime::set_global_tag("deployment.region", "eu-engine");
    std::thread::spawn(plain).join().unwrap();
    opentelemetry::global::tracer("raw-lib").in_span("raw.after.tag", |_| ());
    before.finish();
    trace_runtime::clear_global_tags();
    trace_runtime::span("after.clear").start().end();

    // Links and explicit parents.
    let a = trace_runtime::span("link.target.a").start();
    let b = trace_runtime::span("link.target.b").start();
    batch(&[a.span_context(), b.span_context()]);
    let linked_manual = trace_runtime::span("linked.manual").link(a.span_context()).start();
    linked_manual.add_link(b.span_context(), vec![opentelemetry::KeyValue::new("why", "added")]);
    linked_manual.end();
    current_parent_of_explicit(a.span_context());
    adopted_by_handle(&b);
    let explicit_root = trace_runtime::span("explicit.root").root();
    let inside = trace_runtime::span("inside").enter();
    let detached = explicit_root.start();
    detached.end();
    inside.finish();
    a.end();
    b.end();
    assert!(!current_span().is_recording(), "nothing is left current");

    guard.flush().unwrap();
    let spans = exporter.spans();
    guard.shutdown().unwrap();

    // --- current_root_span() ---
    let root = one(&spans, "request");
    assert!(root.is_root());
    for key in
        ["root.from.task", "root.from.thread", "root.from.same.thread", "root.from.raw.task", "root.from.raw.thread"]
    {
        assert_eq!(root.attribute(key), Some(&Value::Bool(true)), "{key} on the local root");
        let elsewhere: Vec<&str> = spans
            .iter()
            .filter(|s| s.name != "request" && s.attribute(key).is_some())
            .map(|s| s.name.as_ref())
            .collect();
        assert!(elsewhere.is_empty(), "{key} only on the root, also on {elsewhere:?}");
    }
    assert!(root.event("root.event.from.task").is_some());
    let task_leaf = one(&spans, "deep_async");
    assert!(task_leaf.is_child_of(one(&spans, "middle")), "the spawned task carried the span");
    assert_eq!(all(&spans, "deep_sync").iter().filter(|s| s.is_child_of(one(&spans, "middle"))).count(), 3);
    let served = one(&spans, "continues_remote");
    assert_eq!(served.attribute("root.under.remote"), Some(&Value::Bool(true)), "root under a remote parent");

    // --- remote parents ---
    for name in ["continues_remote", "extracted.child"] {
        let span = one(&spans, name);
        assert_eq!(span.span_context.trace_id(), TraceId::from_hex(remote_trace).unwrap(), "{name}");
        assert_eq!(span.parent_span_id, SpanId::from_hex(remote_span).unwrap(), "{name}");
        assert!(span.parent_span_is_remote, "{name}");
        assert!(span.span_context.is_sampled(), "{name}");
        assert_eq!(span.span_context.trace_state().get("vendor"), Some("remote"), "{name}");
    }

    // --- service inheritance ---
    let service = |name: &str| one(&spans, name).attribute_str("service.name").map(str::to_owned);
    assert_eq!(service("query").as_deref(), Some("db"));
    assert_eq!(service("manual.under.db").as_deref(), Some("db"), "a manual span inherits");
    assert_eq!(service("cache").as_deref(), Some("cache"), "an explicit service wins");
    let in_cache = all(&spans, "row_in_cache");
    assert_eq!(in_cache.len(), 3);
    assert!(
        in_cache
            .iter()
            .all(|s| s.attribute_str("service.name") == Some("cache") && s.is_child_of(one(&spans, "cache"))),
        "the nearest ancestor's, on this thread, another thread and a task"
    );
    assert!(all(&spans, "row")
        .iter()
        .any(|r| r.is_child_of(one(&spans, "query")) && r.attribute_str("service.name") == Some("db")));
    // The resource's service carries no attribute.
    assert!(all(&spans, "plain").iter().all(|s| s.attribute("service.name").is_none()));
    assert_eq!(service("request"), None);
    assert_eq!(service("continues_remote"), None, "a remote parent is not an ancestor in this process");

    // --- global tags ---
    let region = Some(&Value::from("eu-engine"));
    let tagged_plain: Vec<&SpanData> =
        all(&spans, "plain").into_iter().filter(|s| s.attribute("deployment.region") == region).collect();
    assert_eq!(tagged_plain.len(), 1, "the plain() on another thread, after the tag");
    assert_eq!(one(&spans, "raw.after.tag").attribute("deployment.region"), region);
    assert_eq!(one(&spans, "started.before.tag").attribute("deployment.region"), None);
    assert_eq!(one(&spans, "after.clear").attribute("deployment.region"), None);
    assert_eq!(one(&spans, "query").attribute("deployment.region"), None);

    // --- links ---
    let target_a = one(&spans, "link.target.a").span_context.clone();
    let target_b = one(&spans, "link.target.b").span_context.clone();
    let linked = |name: &str| -> Vec<SpanContext> {
        one(&spans, name).links.links.iter().map(|l| l.span_context.clone()).collect()
    };
    assert_eq!(linked("batch"), [target_a.clone(), target_b.clone()]);
    assert_eq!(linked("linked.manual"), [target_a.clone(), target_b.clone()]);
    let added = &one(&spans, "linked.manual").links.links[1];
    assert!(added.attributes.iter().any(|kv| kv.key.as_str() == "why"));

    // --- explicit parents ---
    let wrapper = one(&spans, "current_parent_of_explicit");
    let adopted = one(&spans, "adopted");
    assert_eq!(adopted.parent_span_id, target_a.span_id(), "the given parent, not the current span");
    assert_eq!(adopted.span_context.trace_id(), target_a.trace_id());
    assert!(!adopted.parent_span_is_remote);
    assert!(all(&spans, "row").iter().any(|r| r.is_child_of(adopted)), "the adopted span is current in its body");
    let fresh = one(&spans, "new_trace");
    assert!(fresh.is_root(), "parent = None starts a new trace");
    assert_ne!(fresh.span_context.trace_id(), wrapper.span_context.trace_id());
    assert_eq!(one(&spans, "adopted_by_handle").parent_span_id, target_b.span_id());
    let explicit_root = one(&spans, "explicit.root");
    assert!(explicit_root.is_root(), ".root() ignores the current span");
    assert_ne!(explicit_root.span_context.trace_id(), one(&spans, "inside").span_context.trace_id());
}
