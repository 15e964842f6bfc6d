//! ddtrace's `wrap` arguments: `resource` and `span_type` on `#[traced]` and
//! `span(..)`, recorded as `resource.name` and `span.type`. (`operation.name`
//! is added at OTLP export: see `e2e_datadog_names.rs`.)

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use opentelemetry::Value;
use trace_runtime::testing::capture;
use trace_runtime::traced;

#[traced(name = "orders.lookup", resource = "GET /orders/{id}", span_type = "web")]
fn lookup(id: u64) -> u64 {
    id
}

#[traced]
fn plain() {}

fn attr(span: &opentelemetry_sdk::trace::SpanData, key: &str) -> Option<Value> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.clone())
}

#[test]
fn traced_records_resource_and_type() {
    let c = capture(|| lookup(7));
    let span = c.span("orders.lookup");
    assert_eq!(attr(span, "resource.name"), Some(Value::from("GET /orders/{id}")));
    assert_eq!(attr(span, "span.type"), Some(Value::from("web")));
}

#[test]
fn a_plain_span_has_nothing_of_datadog() {
    let c = capture(plain);
    let span = c.span("plain");
    assert_eq!(attr(span, "operation.name"), None, "added at export, not on the span");
    assert_eq!(attr(span, "resource.name"), None);
    assert_eq!(attr(span, "span.type"), None);
}

#[test]
fn span_builder_records_the_same() {
    let c = capture(|| {
        trace_runtime::span("cache.get").resource("user:42").span_type("cache").enter().finish();
    });
    let span = c.span("cache.get");
    assert_eq!(attr(span, "resource.name"), Some(Value::from("user:42")));
    assert_eq!(attr(span, "span.type"), Some(Value::from("cache")));
}
