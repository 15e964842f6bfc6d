//! `trace_runtime::tracing_layer()` on a real `tracing_subscriber` registry:
//! `tracing` spans and events become spans and span events of the same
//! trace as `#[traced]` spans, nested both ways, sync and async.
//!
//! Every test scopes its subscriber (`with_default`, `WithSubscriber`), so
//! tests running in parallel never share one.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use trace_runtime::testing::{capture, capture_async, Capture, SpanDataExt};
use trace_runtime::traced;
use tracing::instrument::WithSubscriber;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

fn subscriber() -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::registry().with(trace_runtime::tracing_layer())
}

/// Runs `f` in a test capture with the layer as this thread's subscriber.
fn traced_capture<R>(f: impl FnOnce() -> R) -> Capture<R> {
    tracing::subscriber::with_default(subscriber(), || capture(f))
}

fn event_names(span: &SpanData) -> Vec<&str> {
    span.events.events.iter().map(|e| e.name.as_ref()).collect()
}

#[traced]
fn traced_outer() {
    let span = tracing::info_span!("tracing_middle", answer = 42);
    span.in_scope(traced_leaf);
}

#[traced]
fn traced_leaf() {}

#[test]
fn tracing_spans_nest_under_traced_spans_and_traced_spans_under_them() {
    let c = traced_capture(|| {
        traced_outer();
        let root = tracing::info_span!("tracing_root");
        root.in_scope(traced_outer);
    });
    assert_eq!(c.spans().len(), 7, "{}", c.tree());
    let outer = c.span("traced_outer");
    let middle = c.span("tracing_middle");
    assert!(outer.is_root(), "{}", c.tree());
    assert!(middle.is_child_of(outer), "{}", c.tree());
    assert!(c.span("traced_leaf").is_child_of(middle), "{}", c.tree());

    // The second call: tracing root → traced → tracing → traced.
    let root = c.span("tracing_root");
    let chain: Vec<&SpanData> =
        c.spans().iter().filter(|s| s.span_context.trace_id() == root.span_context.trace_id()).collect();
    assert_eq!(chain.len(), 4, "{}", c.tree());
    let by_name = |name: &str| *chain.iter().find(|s| s.name == name).unwrap();
    assert!(root.is_root());
    assert!(by_name("traced_outer").is_child_of(root), "{}", c.tree());
    assert!(by_name("tracing_middle").is_child_of(by_name("traced_outer")), "{}", c.tree());
    assert!(by_name("traced_leaf").is_child_of(by_name("tracing_middle")), "{}", c.tree());
    assert_eq!(middle.attribute("answer"), Some(&Value::I64(42)));
}

#[test]
fn fields_become_typed_attributes_and_code_location() {
    let c = traced_capture(|| {
        let span = tracing::info_span!(
            "fields",
            small = 7_u64,
            huge = u64::MAX,
            negative = -3_i64,
            ratio = 0.5,
            flag = true,
            text = "plain",
            shown = %"display",
            items = ?["book", "pen"],
            later = tracing::field::Empty,
        );
        span.record("later", 11_i64);
        span.record("flag", false);
    });
    let span = c.span("fields");
    assert_eq!(span.attribute("small"), Some(&Value::I64(7)));
    assert_eq!(span.attribute_str("huge"), Some("18446744073709551615"));
    assert_eq!(span.attribute("negative"), Some(&Value::I64(-3)));
    assert_eq!(span.attribute("ratio"), Some(&Value::F64(0.5)));
    assert_eq!(span.attribute_str("text"), Some("plain"));
    assert_eq!(span.attribute_str("shown"), Some("display"));
    assert_eq!(span.attribute_str("items"), Some(r#"["book", "pen"]"#));
    // Recorded after creation: set on the live span, later value wins.
    assert_eq!(span.attribute("later"), Some(&Value::I64(11)));
    assert_eq!(span.attribute("flag"), Some(&Value::Bool(false)));
    assert_eq!(span.attribute_str("code.file.path"), Some(file!()));
    assert_eq!(span.attribute_str("code.module.name"), Some(module_path!()));
    assert!(matches!(span.attribute("code.line.number"), Some(Value::I64(line)) if *line > 0));
}

#[test]
fn otel_fields_set_name_kind_and_status_as_tracing_opentelemetry_does() {
    let c = traced_capture(|| {
        let server = tracing::info_span!("request", otel.name = "GET /orders/{id}", otel.kind = "server");
        let failed = tracing::info_span!("call", otel.status_code = tracing::field::Empty);
        failed.record("otel.status_code", "error");
        let described = tracing::info_span!("described", otel.status_description = "upstream timed out");
        let renamed_later = tracing::info_span!("placeholder", otel.name = tracing::field::Empty);
        renamed_later.record("otel.name", "POST /pay");
        drop((server, failed, described, renamed_later));
    });
    let server = c.span("GET /orders/{id}");
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(server.attribute("otel.name"), None, "otel.* fields are not attributes");
    assert_eq!(c.span("call").status, Status::error(""));
    assert_eq!(c.span("described").error_description(), Some("upstream timed out"));
    assert_eq!(c.span("POST /pay").span_kind, SpanKind::Internal);
}

#[traced]
fn traced_with_tracing_events(attempt: i64) {
    tracing::info!(attempt, cache.hit = false, "loading order");
    tracing::warn!(latency_ms = 812.5, "slow");
}

#[test]
fn events_directly_inside_a_traced_function_land_on_its_span() {
    let c = traced_capture(|| traced_with_tracing_events(2));
    let span = c.span("traced_with_tracing_events");
    assert_eq!(event_names(span), ["loading order", "slow"]);
    assert_eq!(span.event_attribute("loading order", "attempt"), Some(&Value::I64(2)));
    assert_eq!(span.event_attribute("loading order", "cache.hit"), Some(&Value::Bool(false)));
    assert_eq!(span.event_attribute("loading order", "level"), Some(&Value::from("INFO")));
    assert_eq!(span.event_attribute("loading order", "target"), Some(&Value::from(module_path!())));
    assert_eq!(span.event_attribute("slow", "level"), Some(&Value::from("WARN")));
    assert_eq!(span.event_attribute("slow", "latency_ms"), Some(&Value::F64(812.5)));
    assert!(!span.is_error(), "a warning is not an error");
}

#[test]
fn events_inside_tracing_spans_and_error_levels() {
    let c = traced_capture(|| {
        let span = tracing::info_span!("job");
        let _entered = span.enter();
        tracing::debug!(rows = 3_u64, "fetched");
        tracing::error!(code = 503, "upstream unavailable");
        tracing::info!(parent: None, "outside any span");
    });
    let job = c.span("job");
    assert_eq!(event_names(job), ["fetched", "upstream unavailable"]);
    assert_eq!(job.event_attribute("fetched", "level"), Some(&Value::from("DEBUG")));
    assert_eq!(job.event_attribute("fetched", "rows"), Some(&Value::I64(3)));
    assert_eq!(job.event_attribute("upstream unavailable", "level"), Some(&Value::from("ERROR")));
    assert_eq!(job.error_description(), Some("upstream unavailable"));
    // `parent: None` is outside any span: recorded nowhere.
    assert_eq!(c.spans().len(), 1);
}

#[tracing::instrument(fields(order.kind = "book"))]
fn instrumented(order_id: u64, note: &str) -> u64 {
    traced_leaf();
    order_id * 2
}

#[tracing::instrument(err)]
fn instrumented_fails(order_id: u64) -> Result<(), std::io::Error> {
    Err(std::io::Error::other(format!("order {order_id} not found")))
}

#[test]
fn instrument_functions_record_arguments_and_errors() {
    let c = traced_capture(|| {
        let _ = instrumented(21, "gift");
        let _ = instrumented_fails(5);
    });
    let span = c.span("instrumented");
    assert_eq!(span.attribute("order_id"), Some(&Value::I64(21)));
    assert_eq!(span.attribute_str("note"), Some("gift"));
    assert_eq!(span.attribute_str("order.kind"), Some("book"));
    assert!(c.span("traced_leaf").is_child_of(span), "{}", c.tree());

    let failed = c.span("instrumented_fails");
    assert_eq!(failed.event_attribute("exception", "exception.message"), Some(&Value::from("order 5 not found")));
    assert_eq!(failed.error_description(), Some("order 5 not found"));
}

#[test]
fn explicit_parents_and_new_roots() {
    let c = traced_capture(|| {
        let request = tracing::info_span!("request");
        let _entered = request.enter();
        let detached = tracing::info_span!(parent: None, "background");
        let sibling = tracing::info_span!("elsewhere");
        let adopted = tracing::info_span!(parent: &sibling, "adopted");
        tracing::info!(parent: &sibling, "for the sibling");
        drop((detached, adopted, sibling));
    });
    let request = c.span("request");
    let background = c.span("background");
    assert!(background.is_root(), "{}", c.tree());
    assert_ne!(background.span_context.trace_id(), request.span_context.trace_id());
    let sibling = c.span("elsewhere");
    assert!(sibling.is_child_of(request), "{}", c.tree());
    assert!(c.span("adopted").is_child_of(sibling), "{}", c.tree());
    assert_eq!(event_names(sibling), ["for the sibling"]);
    assert!(event_names(request).is_empty());
}

#[test]
fn exits_out_of_order_restore_the_right_span() {
    let c = traced_capture(|| {
        let a = tracing::info_span!("a");
        let b = tracing::info_span!(parent: None, "b");
        let entered_a = a.enter();
        let entered_b = b.enter();
        // `a` exits first: `b` stays current.
        drop(entered_a);
        traced_leaf();
        drop(entered_b);
        // Nothing is current any more: a new root.
        traced_leaf();
    });
    let leaves: Vec<&SpanData> = c.spans().iter().filter(|s| s.name == "traced_leaf").collect();
    assert_eq!(leaves.len(), 2);
    assert!(leaves[0].is_child_of(c.span("b")), "{}", c.tree());
    assert!(leaves[1].is_root(), "{}", c.tree());
}

#[traced(service = "billing")]
fn billing() {
    tracing::info_span!("ledger.write").in_scope(|| ());
}

#[test]
fn tracing_spans_inherit_the_service_of_a_traced_ancestor() {
    let c = traced_capture(billing);
    assert_eq!(c.span("ledger.write").attribute_str("service.name"), Some("billing"));
}

#[test]
fn follows_from_becomes_a_link() {
    let c = traced_capture(|| {
        let cause = tracing::info_span!("enqueue");
        let effect = tracing::info_span!(parent: None, "process");
        effect.follows_from(&cause);
    });
    let cause = c.span("enqueue");
    let links = &c.span("process").links.links;
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].span_context.span_id(), cause.span_context.span_id());
}

#[traced]
async fn traced_async_outer() -> u64 {
    let handle = tokio::spawn(
        async {
            tokio::task::yield_now().await;
            tracing::info!("in the spawned task");
            traced_async_leaf().await
        }
        // The task may run on another worker: the tracing span carries the
        // trace (its context is made current on each poll), and the
        // subscriber goes with it.
        .instrument(tracing::info_span!("tracing_task"))
        .with_current_subscriber(),
    );
    let own = instrumented_async(4).await;
    own + handle.await.unwrap()
}

#[traced]
async fn traced_async_leaf() -> u64 {
    tokio::task::yield_now().await;
    tracing::info!("leaf polled again");
    1
}

#[tracing::instrument]
async fn instrumented_async(n: u64) -> u64 {
    tokio::task::yield_now().await;
    traced_async_leaf().await + n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_nesting_both_ways_across_worker_threads() {
    let c = capture_async(traced_async_outer().with_subscriber(subscriber())).await;
    assert_eq!(*c.result(), 6);
    assert_eq!(c.spans().len(), 5, "{}", c.tree());
    let outer = c.span("traced_async_outer");
    let task = c.span("tracing_task");
    let instrumented = c.span("instrumented_async");
    assert!(task.is_child_of(outer), "{}", c.tree());
    assert!(instrumented.is_child_of(outer), "{}", c.tree());
    assert_eq!(instrumented.attribute("n"), Some(&Value::I64(4)));
    assert_eq!(event_names(task), ["in the spawned task"]);
    let leaves: Vec<&SpanData> = c.spans().iter().filter(|s| s.name == "traced_async_leaf").collect();
    assert_eq!(leaves.len(), 2);
    for leaf in leaves {
        assert!(leaf.is_child_of(task) || leaf.is_child_of(instrumented), "{}", c.tree());
        assert_eq!(event_names(leaf), ["leaf polled again"]);
    }
    assert!(c.spans().iter().all(|s| s.span_context.trace_id() == outer.span_context.trace_id()));
}

#[test]
fn with_nothing_capturing_nothing_is_recorded_and_nothing_breaks() {
    // No capture, no provider installed in this process: the layer stays
    // out of the way, and `current_span()` inside a tracing span is inert.
    let ids = tracing::subscriber::with_default(subscriber(), || {
        tracing::info_span!("unrecorded").in_scope(|| {
            tracing::info!("nowhere");
            trace_runtime::current_span().span_id()
        })
    });
    assert_eq!(ids, "0000000000000000");
}
