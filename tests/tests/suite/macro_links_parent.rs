//! `links = expr` (span contexts to point to, e.g. the messages that
//! triggered a batch job) and `parent = expr` (an explicit parent context,
//! or `None` for a new root), on sync, async and future-returning functions.

use std::collections::HashMap;
use std::future::Future;

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;
use opentelemetry_sdk::trace::SpanData;
use trace_runtime::testing::{capture, capture_async, SpanDataExt};
use trace_runtime::{current_root_span, current_span, span, traced, SpanHandle};

const REMOTE_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const REMOTE_SPAN: &str = "00f067aa0ba902b7";

fn remote() -> SpanContext {
    SpanContext::new(
        TraceId::from_hex(REMOTE_TRACE).expect("trace id"),
        SpanId::from_hex(REMOTE_SPAN).expect("span id"),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    )
}

fn linked_span_ids(span: &SpanData) -> Vec<String> {
    span.links.iter().map(|l| l.span_context.span_id().to_string()).collect()
}

// --- links ---------------------------------------------------------------

#[traced(links = triggers.iter().map(SpanHandle::span_context).collect::<Vec<_>>())]
fn process_batch(triggers: &[SpanHandle]) -> usize {
    triggers.len()
}

#[traced(links = trigger)]
fn one_link(trigger: &SpanHandle) {}

#[traced(links = [first.clone(), second.clone()])]
fn array_of_contexts(first: &SpanContext, second: &SpanContext) {}

#[traced(links = maybe)]
fn optional_link(maybe: Option<SpanContext>) {}

#[traced(links = contexts.as_slice())]
fn slice_of_contexts(contexts: &Vec<Context>) {}

#[test]
fn links_point_to_the_spans_that_triggered_the_work() {
    let c = capture(|| {
        let a = span("enqueue.a").start();
        let b = span("enqueue.b").start();
        process_batch(&[a.clone(), b.clone()]);
        one_link(&a);
        array_of_contexts(&a.span_context(), &b.span_context());
        optional_link(None);
        optional_link(Some(b.span_context()));
        // An invalid context is left out rather than linked.
        optional_link(Some(SpanContext::empty_context()));
        slice_of_contexts(&vec![a.context().clone(), Context::new()]);
        a.end();
        b.end();
        (a.span_id(), b.span_id())
    });
    let (a, b) = c.result().clone();
    assert_eq!(linked_span_ids(c.span("process_batch")), [a.as_str(), b.as_str()]);
    assert_eq!(linked_span_ids(c.span("one_link")), [a.as_str()]);
    assert_eq!(linked_span_ids(c.span("array_of_contexts")), [a.as_str(), b.as_str()]);
    let optional = c.all("optional_link");
    assert!(linked_span_ids(optional[0]).is_empty());
    assert_eq!(linked_span_ids(optional[1]), [b.as_str()]);
    assert!(linked_span_ids(optional[2]).is_empty());
    assert_eq!(linked_span_ids(c.span("slice_of_contexts")), [a.as_str()]);
    // Links do not change the parent: the work is still part of this trace.
    assert!(c.span("one_link").is_root());
}

#[traced(links = remote())]
fn linked_to_remote() {}

#[test]
fn a_link_to_another_trace_keeps_its_trace_id() {
    let c = capture(linked_to_remote);
    let link = &c.span("linked_to_remote").links[0];
    assert_eq!(link.span_context.trace_id().to_string(), REMOTE_TRACE);
    assert_eq!(link.span_context.span_id().to_string(), REMOTE_SPAN);
}

// --- parent ----------------------------------------------------------------

#[traced(parent = None)]
fn new_root() -> (String, String) {
    child();
    (current_root_span().span_id(), current_span().span_id())
}

#[traced]
fn child() {}

#[traced]
fn request() -> (String, String) {
    new_root()
}

#[test]
fn parent_none_starts_a_new_trace_even_under_a_current_span() {
    let c = capture(request);
    let request = c.span("request");
    let root = c.span("new_root");
    assert!(root.is_root(), "{}", c.tree());
    assert_ne!(root.span_context.trace_id(), request.span_context.trace_id());
    // It is the local root of its trace, and its children are its own.
    let (local_root, current) = c.result().clone();
    assert_eq!(local_root, root.span_context.span_id().to_string());
    assert_eq!(current, local_root);
    assert!(c.span("child").is_child_of(root));
}

#[traced(parent = parent)]
fn with_parent(parent: &SpanHandle) {}

#[traced(parent = cx)]
fn with_context(cx: Context) {}

#[traced(parent = remote())]
fn with_remote_parent() {}

#[traced(parent = maybe.clone())]
fn with_optional_parent(maybe: Option<Context>) {}

#[traced(parent = trace_runtime::propagation::extract(headers))]
fn from_headers(headers: &HashMap<String, String>) {}

#[traced]
fn current_is_elsewhere(job: &SpanHandle) {
    with_parent(job);
    with_context(job.context().clone());
}

#[test]
fn an_explicit_parent_wins_over_the_current_span() {
    let c = capture(|| {
        let job = span("job").start();
        current_is_elsewhere(&job);
        job.end();
    });
    let job = c.span("job");
    assert!(c.span("with_parent").is_child_of(job), "{}", c.tree());
    assert!(c.span("with_context").is_child_of(job), "{}", c.tree());
}

#[test]
fn a_remote_parent_continues_the_callers_trace() {
    let headers = HashMap::from([("traceparent".to_owned(), format!("00-{REMOTE_TRACE}-{REMOTE_SPAN}-01"))]);
    let c = capture(|| {
        with_remote_parent();
        from_headers(&headers);
    });
    for name in ["with_remote_parent", "from_headers"] {
        let span = c.span(name);
        assert_eq!(span.span_context.trace_id().to_string(), REMOTE_TRACE, "{name}");
        assert_eq!(span.parent_span_id.to_string(), REMOTE_SPAN, "{name}");
        assert!(span.parent_span_is_remote, "{name}");
    }
}

#[test]
fn an_optional_parent_that_is_none_at_run_time_starts_a_new_trace() {
    let c = capture(|| {
        let job = span("job").enter();
        with_optional_parent(Some(job.context().clone()));
        with_optional_parent(None);
        job.finish();
    });
    let spans = c.all("with_optional_parent");
    assert!(spans[0].is_child_of(c.span("job")));
    assert!(spans[1].is_root());
}

// --- async and future-returning functions -------------------------------------

#[traced(parent = None, links = trigger)]
async fn async_root(trigger: SpanContext) -> String {
    tokio::task::yield_now().await;
    child();
    current_span().trace_id()
}

#[traced(parent = parent.clone(), links = [parent.span_context()])]
fn future_with_parent(parent: &SpanHandle, n: u32) -> impl Future<Output = u32> {
    let doubled = n * 2;
    async move { doubled }
}

#[traced]
async fn async_request() -> String {
    async_root(remote()).await
}

#[tokio::test]
async fn parent_and_links_on_async_fns() {
    let c = capture_async(async_request()).await;
    let root = c.span("async_root");
    assert!(root.is_root());
    assert_ne!(root.span_context.trace_id(), c.span("async_request").span_context.trace_id());
    assert_eq!(c.result(), &root.span_context.trace_id().to_string());
    assert_eq!(linked_span_ids(root), [REMOTE_SPAN]);
    assert!(c.span("child").is_child_of(root));
}

#[tokio::test]
async fn parent_and_links_on_future_returning_fns() {
    let c = capture_async(async {
        let job = span("job").start();
        let out = future_with_parent(&job, 4).await;
        job.end();
        (out, job.span_id())
    })
    .await;
    let (out, job) = c.result().clone();
    assert_eq!(out, 8);
    let span = c.span("future_with_parent");
    assert_eq!(span.parent_span_id.to_string(), job);
    assert_eq!(linked_span_ids(span), [job.as_str()]);
}
