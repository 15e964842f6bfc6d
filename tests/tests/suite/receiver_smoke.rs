//! Proves the OTLP test receiver works: raw opentelemetry-otlp exporters send
//! one span to a real `ddapm-test-agent`, and every OTLP field we care about
//! comes back intact, whatever the encoding.

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    Tracer as _, TracerProvider as _,
};
use opentelemetry::{Array, Context, KeyValue, StringValue, Value};
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use traced_tests::agent::{AttrValue, ReceivedSpan, TestAgent};

const WAIT: Duration = Duration::from_secs(20);
const PARENT_TRACE: &str = "5b8efff798038103d269b633813fc60c";
const PARENT_SPAN: &str = "eee19b7ec3c1b174";
const LINKED_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const LINKED_SPAN: &str = "b7ad6b7169203331";

/// Sends one fully-featured span through `exporter` and shuts down, which
/// flushes it.
fn send_one_span(exporter: SpanExporter, name: &'static str) {
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .with_resource(
            Resource::builder_empty()
                .with_service_name("receiver-smoke")
                .with_attribute(KeyValue::new("deployment.environment.name", "test"))
                .build(),
        )
        .build();
    let tracer = provider.tracer("receiver_smoke");

    let remote_parent = SpanContext::new(
        TraceId::from_hex(PARENT_TRACE).expect("trace id"),
        SpanId::from_hex(PARENT_SPAN).expect("span id"),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let linked = SpanContext::new(
        TraceId::from_hex(LINKED_TRACE).expect("trace id"),
        SpanId::from_hex(LINKED_SPAN).expect("span id"),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let mut span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("answer", 42_i64),
            KeyValue::new("ratio", 0.5_f64),
            KeyValue::new("flag", true),
            KeyValue::new("who", "world"),
            KeyValue::new("tags", Value::Array(Array::String(vec![StringValue::from("a"), StringValue::from("b")]))),
        ])
        .with_links(vec![opentelemetry::trace::Link::new(linked, vec![KeyValue::new("link.reason", "retry")], 0)])
        .start_with_context(&tracer, &Context::new().with_remote_span_context(remote_parent));
    span.add_event("checkpoint", vec![KeyValue::new("step", 7_i64)]);
    span.set_status(Status::error("it broke"));
    span.end();

    provider.shutdown().expect("provider shutdown flushes the span");
}

fn assert_received(span: &ReceivedSpan, name: &str) {
    assert_eq!(span.name, name);
    assert_eq!(span.resource_attr("service.name"), Some(&AttrValue::String("receiver-smoke".into())));
    assert_eq!(span.resource["deployment.environment.name"], "test");
    assert_eq!(span.scope_name, "receiver_smoke");
    assert_eq!(span.trace_id, PARENT_TRACE, "child of the remote parent: same trace");
    assert_eq!(span.parent_span_id.as_deref(), Some(PARENT_SPAN));
    assert_eq!(span.span_id.len(), 16);
    assert_ne!(span.span_id, PARENT_SPAN);
    assert_eq!(span.kind, "server");

    assert_eq!(span.attr("answer"), Some(&AttrValue::I64(42)), "int stays an int");
    assert_eq!(span.attributes["ratio"], 0.5);
    assert_eq!(span.attributes["flag"], true);
    assert_eq!(span.attributes["who"], "world");
    assert_eq!(
        span.attributes["tags"],
        AttrValue::Array(vec![AttrValue::String("a".into()), AttrValue::String("b".into())])
    );

    let event = span.event("checkpoint").expect("event arrived");
    assert_eq!(event.attributes["step"], 7_i64);
    assert!(event.time_unix_nano >= span.start_time_unix_nano);
    assert!(span.end_time_unix_nano >= span.start_time_unix_nano && span.start_time_unix_nano > 0);

    assert_eq!(span.status_code, "error");
    assert_eq!(span.status_message, "it broke");

    assert_eq!(span.links.len(), 1);
    assert_eq!(span.links[0].trace_id, LINKED_TRACE);
    assert_eq!(span.links[0].span_id, LINKED_SPAN);
    assert_eq!(span.links[0].attributes["link.reason"], "retry");
}

#[test]
fn otlp_http_protobuf_span_arrives_intact() {
    let agent = TestAgent::start();
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(agent.otlp_http_traces_endpoint())
        .with_timeout(Duration::from_secs(10))
        .build()
        .expect("http/protobuf exporter");
    send_one_span(exporter, "smoke.protobuf");

    let spans = agent.wait_for_spans(1, WAIT);
    assert_eq!(spans.len(), 1, "{:#}", agent.traces());
    assert_received(&spans[0], "smoke.protobuf");
}

#[test]
fn otlp_http_json_span_arrives_intact() {
    let agent = TestAgent::start();
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(agent.otlp_http_traces_endpoint())
        .with_timeout(Duration::from_secs(10))
        .build()
        .expect("http/json exporter");
    send_one_span(exporter, "smoke.json");

    let spans = agent.wait_for_spans(1, WAIT);
    assert_eq!(spans.len(), 1, "{:#}", agent.traces());
    assert_received(&spans[0], "smoke.json");
}

#[test]
fn sessions_on_a_shared_agent_do_not_see_each_other() {
    let agent = TestAgent::shared();
    let (a, b) = (agent.session(), agent.session());
    for (session, name) in [(&a, "smoke.session.a"), (&b, "smoke.session.b")] {
        let (key, value) = session.header();
        let exporter = SpanExporter::builder()
            .with_http()
            .with_endpoint(agent.otlp_http_traces_endpoint())
            .with_headers(HashMap::from([(key.to_owned(), value)]))
            .build()
            .expect("exporter");
        send_one_span(exporter, name);
    }

    let a_spans = a.wait_for_spans(1, WAIT);
    let b_spans = b.wait_for_spans(1, WAIT);
    let names = |s: &[ReceivedSpan]| s.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a_spans), ["smoke.session.a"]);
    assert_eq!(names(&b_spans), ["smoke.session.b"]);
    assert_received(&a_spans[0], "smoke.session.a");
}

#[test]
fn otlp_grpc_span_arrives_intact() {
    let agent = TestAgent::start();
    // tonic needs a Tokio runtime for its connection; the span itself is
    // ended (and exported, blocking) on this non-runtime thread.
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio runtime");
    let _entered = runtime.enter();
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(agent.otlp_grpc_endpoint())
        .with_timeout(Duration::from_secs(10))
        .build()
        .expect("grpc exporter");
    send_one_span(exporter, "smoke.grpc");

    let spans = agent.wait_for_spans(1, WAIT);
    assert_eq!(spans.len(), 1, "{:#}", agent.traces());
    assert_received(&spans[0], "smoke.grpc");
}
