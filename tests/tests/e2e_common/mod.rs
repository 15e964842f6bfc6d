//! The workload every end-to-end test sends through a real OTLP receiver,
//! and the checks on what the receiver got. Shared by the `e2e_*` test files
//! (each a process of its own, with its own `init()`).

#![allow(dead_code)] // each test file uses a part

use std::collections::BTreeMap;
use std::io;
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanContext, SpanKind};
use opentelemetry::KeyValue;
use trace_runtime::{current_span, traced, Builder, Compression, Guard};
use traced_tests::agent::{AttrValue, ReceivedSpan, Session, TestAgent};

pub(crate) const SERVICE: &str = "e2e-shop";
pub(crate) const VERSION: &str = "1.2.3";
pub(crate) const ENVIRONMENT: &str = "e2e";
/// One install for a whole test file (the provider is process-wide) and the
/// receiver session that sees only this file's exports.
pub(crate) struct Setup {
    pub(crate) session: Session<'static>,
    pub(crate) guard: Guard,
}

/// Installs the shop's resource, gzip, fast batches and a global tag, sending
/// where `transport` says (HTTP or gRPC endpoint and protocol). Only spans
/// that carry the session's header (HTTP) or metadata (gRPC) are the
/// session's: this also proves that headers set in code reach the receiver.
pub(crate) fn install(transport: impl FnOnce(Builder, &TestAgent) -> Builder) -> Setup {
    let agent: &'static TestAgent = TestAgent::shared();
    let session = agent.session();
    let (header, token) = session.header();
    let builder = trace_runtime::init()
        .env_lookup(|_| None)
        .service_name(SERVICE)
        .service_version(VERSION)
        .environment(ENVIRONMENT)
        .otlp_compression(Compression::Gzip)
        .otlp_header(header, token)
        .batch_schedule_delay(Duration::from_millis(100));
    let guard = transport(builder, agent).install().expect("install");
    trace_runtime::set_global_tag("deployment.region", "eu-test");
    Setup { session, guard }
}

pub(crate) const WAIT: Duration = Duration::from_secs(30);

/// Names of the spans one `handle_order` call produces.
pub(crate) const NAMES: [&str; 5] =
    ["GET /orders/{id}", "query_order", "publish_order_created", "consume order.created", "charge_card"];

/// A request handler: a server span with typed attributes and an event, a
/// client span of another service, a producer, a consumer linked to it, and
/// a child that fails.
#[traced(kind = server, name = "GET /orders/{id}", attrs(test.case = case, order.id = id, http.request.method = "GET"))]
pub(crate) fn handle_order(case: &str, id: i64) -> Result<(), io::Error> {
    let span = current_span();
    if span.is_recording() {
        span.set_attribute("order.total", 99.5);
        span.set_attribute("order.express", true);
        span.set_attribute("order.items", vec!["book", "pen"]);
        span.set_attribute("order.quantities", vec![1_i64, 2]);
    }
    span.add_event("cache.miss", [KeyValue::new("cache.key", "order:42"), KeyValue::new("attempt", 2_i64)]);
    query_order(id);
    let message = publish_order_created();
    consume_order_created(message);
    // The failure is recorded on its own span; the request still succeeds.
    let _ = charge_card();
    Ok(())
}

#[traced(kind = client, service = "postgres", attrs(db.system.name = "postgresql", db.query.id = id))]
fn query_order(id: i64) {}

#[traced(kind = producer)]
fn publish_order_created() -> SpanContext {
    current_span().span_context()
}

fn consume_order_created(message: SpanContext) {
    let span = trace_runtime::span("consume order.created").kind(SpanKind::Consumer).link(message).enter();
    span.set_attribute("messaging.operation.type", "process");
}

#[traced]
fn charge_card() -> Result<(), io::Error> {
    Err(io::Error::new(io::ErrorKind::PermissionDenied, "card declined"))
}

/// Waits until the receiver returned the whole trace of `case` (by polling
/// `fetch`) and returns its spans by name.
pub(crate) fn wait_for_case(case: &str, fetch: impl Fn() -> Vec<ReceivedSpan>) -> BTreeMap<String, ReceivedSpan> {
    let deadline = Instant::now() + WAIT;
    loop {
        let spans = fetch();
        let root =
            spans.iter().find(|s| s.name == NAMES[0] && s.attr("test.case").and_then(AttrValue::as_str) == Some(case));
        if let Some(root) = root {
            let trace: BTreeMap<String, ReceivedSpan> =
                spans.iter().filter(|s| s.trace_id == root.trace_id).map(|s| (s.name.clone(), s.clone())).collect();
            if trace.len() >= NAMES.len() {
                return trace;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the trace of {case:?} did not arrive within {WAIT:?}; received: {spans:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Everything `handle_order` should have delivered. `remote_parent` is
/// `(trace id, span id)` of the caller when the request continued one.
pub(crate) fn check_trace(trace: &BTreeMap<String, ReceivedSpan>, remote_parent: Option<(&str, &str)>) {
    let names: Vec<&str> = trace.keys().map(String::as_str).collect();
    let mut expected = NAMES.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);

    let root = &trace[NAMES[0]];
    let db = &trace["query_order"];
    let producer = &trace["publish_order_created"];
    let consumer = &trace["consume order.created"];
    let charge = &trace["charge_card"];

    // Resource: the service, its version and environment, on every span.
    for span in trace.values() {
        assert_eq!(span.resource_attr("service.name").and_then(AttrValue::as_str), Some(SERVICE), "{}", span.name);
        assert_eq!(span.resource_attr("service.version").and_then(AttrValue::as_str), Some(VERSION));
        assert_eq!(span.resource_attr("deployment.environment.name").and_then(AttrValue::as_str), Some(ENVIRONMENT));
        assert_eq!(span.resource_attr("telemetry.sdk.language").and_then(AttrValue::as_str), Some("rust"));
        assert_eq!(span.scope_name, "trace-runtime");
        assert!(span.end_time_unix_nano >= span.start_time_unix_nano);
        // The global tag set at startup is on every span.
        assert_eq!(span.attr("deployment.region").and_then(AttrValue::as_str), Some("eu-test"), "{}", span.name);
    }

    // Ids: one trace; each child's parent is the handler's span.
    assert_eq!(root.trace_id.len(), 32);
    assert_eq!(root.span_id.len(), 16);
    match remote_parent {
        Some((trace_id, span_id)) => {
            assert_eq!(root.trace_id, trace_id, "the remote trace is continued");
            assert_eq!(root.parent_span_id.as_deref(), Some(span_id), "the caller's span is the parent");
            assert_eq!(root.flags & 0x300, 0x300, "the parent is marked remote: flags {:#x}", root.flags);
        }
        None => assert_eq!(root.parent_span_id, None, "a new trace starts here"),
    }
    assert_eq!(root.flags & 0x1, 0x1, "sampled");
    for child in [db, producer, consumer, charge] {
        assert_eq!(child.trace_id, root.trace_id, "{}", child.name);
        assert_eq!(child.parent_span_id.as_deref(), Some(root.span_id.as_str()), "{}", child.name);
        assert_eq!(child.flags & 0x300, 0x100, "{}: local parent, flags {:#x}", child.name, child.flags);
    }

    // Kinds.
    assert_eq!(root.kind, "server");
    assert_eq!(db.kind, "client");
    assert_eq!(producer.kind, "producer");
    assert_eq!(consumer.kind, "consumer");
    assert_eq!(charge.kind, "internal");

    // Typed attributes.
    assert_eq!(root.attr("order.id"), Some(&AttrValue::I64(42)));
    assert_eq!(root.attr("order.total"), Some(&AttrValue::F64(99.5)));
    assert_eq!(root.attr("order.express"), Some(&AttrValue::Bool(true)));
    assert_eq!(root.attr("http.request.method"), Some(&AttrValue::String("GET".into())));
    assert_eq!(
        root.attr("order.items"),
        Some(&AttrValue::Array(vec![AttrValue::String("book".into()), AttrValue::String("pen".into())]))
    );
    assert_eq!(root.attr("order.quantities"), Some(&AttrValue::Array(vec![AttrValue::I64(1), AttrValue::I64(2)])));

    // Events with attributes.
    let event = root.event("cache.miss").expect("cache.miss event");
    assert_eq!(event.attributes.get("cache.key"), Some(&AttrValue::String("order:42".into())));
    assert_eq!(event.attributes.get("attempt"), Some(&AttrValue::I64(2)));
    assert!(event.time_unix_nano >= root.start_time_unix_nano && event.time_unix_nano <= root.end_time_unix_nano);

    // Status: unset on success, error with the description on failure.
    assert_eq!(root.status_code, "unset");
    assert_eq!(charge.status_code, "error");
    assert_eq!(charge.status_message, "card declined");
    let exception = charge.event("exception").expect("exception event");
    assert_eq!(exception.attributes.get("exception.message"), Some(&AttrValue::String("card declined".into())));
    assert!(exception.attributes.get("exception.type").and_then(AttrValue::as_str).is_some_and(|t| !t.is_empty()));

    // Per-span service: the client span of another service says so.
    assert_eq!(db.attr("service.name").and_then(AttrValue::as_str), Some("postgres"));
    assert_eq!(db.attr("db.system.name").and_then(AttrValue::as_str), Some("postgresql"));
    assert_eq!(db.attr("db.query.id"), Some(&AttrValue::I64(42)));
    assert_eq!(root.attr("service.name"), None, "the resource's service needs no attribute");

    // Links: the consumer points at the producer.
    assert_eq!(consumer.links.len(), 1);
    assert_eq!(consumer.links[0].trace_id, producer.trace_id);
    assert_eq!(consumer.links[0].span_id, producer.span_id);
    assert_eq!(consumer.attr("messaging.operation.type").and_then(AttrValue::as_str), Some("process"));
}

/// A W3C `traceparent` for a made-up caller, with its ids.
pub(crate) fn caller(seed: u8) -> (String, String, String) {
    let trace_id = format!("{:02x}{}", seed, "af7651916cd43dd8448eb211c80319");
    let span_id = format!("{:02x}{}", seed, "7ad6b7169203a");
    let span_id = format!("{span_id:0<16}");
    (format!("00-{trace_id}-{span_id}-01"), trace_id, span_id)
}
