//! ddtrace's `wrap` arguments: `resource` and `span_type` on `#[traced]` and
//! `span(..)`, recorded as `resource.name` and `span.type`; every span
//! carries its name as Datadog's `operation.name`.

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
fn traced_records_resource_type_and_operation_name() {
    let c = capture(|| lookup(7));
    let span = c.span("orders.lookup");
    assert_eq!(attr(span, "resource.name"), Some(Value::from("GET /orders/{id}")));
    assert_eq!(attr(span, "span.type"), Some(Value::from("web")));
    assert_eq!(attr(span, "operation.name"), Some(Value::from("orders.lookup")));
}

#[test]
fn a_plain_span_has_its_operation_name_and_nothing_else_of_datadog() {
    let c = capture(plain);
    let span = c.span("plain");
    assert_eq!(attr(span, "operation.name"), Some(Value::from("plain")));
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
    assert_eq!(attr(span, "operation.name"), Some(Value::from("cache.get")));
}
