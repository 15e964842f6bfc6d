//! Own binary: sets the global OpenTelemetry tracer provider.
//!
//! A provider the application installs itself with
//! `opentelemetry::global::set_tracer_provider`, without `init()`, receives
//! the `#[traced]` spans: nested with raw OpenTelemetry spans, with global
//! tags, exported by the application's own OTLP exporter to a real receiver.
//!
//! Its own file: the global provider is process-wide.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::time::Duration;

use opentelemetry::trace::{Span as _, Tracer as _};
use opentelemetry::KeyValue;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use trace_runtime::{current_span, traced};
use traced_tests::agent::{AttrValue, TestAgent};

#[traced(kind = server, attrs(user.id = 7))]
fn request() {
    current_span().set_attribute("handled", true);
    step();
}

#[traced(service = "cache")]
fn step() {
    // A raw OpenTelemetry span from a library using the global tracer.
    let tracer = opentelemetry::global::tracer("some-library");
    let mut raw = tracer.start("raw.library.call");
    raw.set_attribute(KeyValue::new("raw", 1_i64));
    raw.end();
}

#[test]
fn the_users_own_global_provider_gets_traced_spans() {
    // Before anything is installed, traced functions run and record nothing.
    request();
    assert!(!trace_runtime::span("probe").start().is_recording());

    let agent = TestAgent::start();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(agent.otlp_http_traces_endpoint())
        .with_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .with_resource(Resource::builder_empty().with_service_name("users-own-provider").build())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    trace_runtime::set_global_tag("deployment.region", "eu-own");

    request();
    provider.force_flush().unwrap();

    let spans = agent.wait_for_spans(3, Duration::from_secs(30));
    let by_name = |name: &str| spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("{name}: {spans:#?}"));
    let root = by_name("request");
    let step = by_name("step");
    let raw = by_name("raw.library.call");
    for span in [root, step, raw] {
        assert_eq!(span.resource_attr("service.name").and_then(AttrValue::as_str), Some("users-own-provider"));
        assert_eq!(span.attr("deployment.region").and_then(AttrValue::as_str), Some("eu-own"), "{}", span.name);
        assert_eq!(span.trace_id, root.trace_id);
    }
    assert_eq!(root.parent_span_id, None);
    assert_eq!(root.kind, "server");
    assert_eq!(root.attr("user.id"), Some(&AttrValue::I64(7)));
    assert_eq!(root.attr("handled"), Some(&AttrValue::Bool(true)));
    assert_eq!(step.parent_span_id.as_deref(), Some(root.span_id.as_str()));
    assert_eq!(step.attr("service.name").and_then(AttrValue::as_str), Some("cache"));
    assert_eq!(raw.parent_span_id.as_deref(), Some(step.span_id.as_str()));
    assert_eq!(raw.scope_name, "some-library");
    assert_eq!(root.scope_name, "trace-runtime");
    provider.shutdown().unwrap();
}
