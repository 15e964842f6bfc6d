//! Span limits from the environment (`OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`,
//! `OTEL_SPAN_EVENT_COUNT_LIMIT`, `OTEL_SPAN_LINK_COUNT_LIMIT`,
//! `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`): what reaches an exporter and
//! what `testing::capture` shows are the same: counts capped (the rest
//! counted as dropped), string values and string array elements cut to the
//! limit in characters, never inside one. A bad value is an error naming
//! the variable.
//!
//! One install for the file (process-wide), one test.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use trace_runtime::{current_span, testing, traced};

const VARIABLES: [(&str, &str); 4] = [
    ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "6"),
    ("OTEL_SPAN_EVENT_COUNT_LIMIT", "2"),
    ("OTEL_SPAN_LINK_COUNT_LIMIT", "1"),
    ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "5"),
];

fn lookup(name: &str) -> Option<String> {
    VARIABLES.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
}

#[traced]
fn busy() {
    let span = current_span();
    span.set_attribute("text", "naïve café au lait");
    span.set_attribute("list", Value::Array(Array::String(vec!["ñññññññ".into(), "ok".into()])));
    span.set_attribute("number", 1_234_567_890_i64);
    for i in 0..10 {
        span.set_attribute(format!("extra.{i}"), i64::from(i));
    }
    for i in 0..5 {
        span.add_event(format!("event {i}"), [KeyValue::new("detail", "a long event detail")]);
    }
}

fn remote(n: u8) -> SpanContext {
    SpanContext::new(
        TraceId::from_bytes([n; 16]),
        SpanId::from_bytes([n; 8]),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    )
}

fn linked() {
    let _span = trace_runtime::span("linked").link(remote(1)).link(remote(2)).link(remote(3)).start();
}

fn check(span: &SpanData, source: &str) {
    assert_eq!(span.attributes.len(), 6, "{source}: attributes capped: {:?}", span.attributes);
    assert!(span.dropped_attributes_count >= 7, "{source}: {} dropped", span.dropped_attributes_count);
    let attr = |key: &str| span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.clone());
    assert_eq!(attr("text").unwrap().as_str(), "naïve", "{source}: cut to 5 characters");
    assert_eq!(span.events.len(), 2, "{source}: events capped");
    assert_eq!(span.events.dropped_count, 3, "{source}");
    assert_eq!(span.events.events[0].attributes[0].value.as_str(), "a lon", "{source}: event attributes cut");
}

#[test]
fn limits_from_the_environment_apply_to_export_and_capture() {
    for (variable, value) in [("OTEL_SPAN_EVENT_COUNT_LIMIT", "lots"), ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "0")] {
        let err = trace_runtime::init()
            .env_lookup(move |name| (name == variable).then(|| value.to_owned()))
            .install()
            .unwrap_err();
        assert!(
            matches!(&err, trace_runtime::Error::InvalidEnv { variable: v, .. } if *v == variable),
            "{variable}={value}: {err}"
        );
    }

    let exported = InMemorySpanExporter::default();
    let guard = trace_runtime::init().env_lookup(lookup).exporter(exported.clone()).install().unwrap();

    // The attributes a span keeps are its first six: the code location
    // ones, then "text", "list" and "number" as set.
    let captured = testing::capture(|| {
        busy();
        linked();
    });
    let busy_span = captured.spans().iter().find(|s| s.name == "busy").unwrap();
    check(busy_span, "capture");
    let list = busy_span.attributes.iter().find(|kv| kv.key.as_str() == "list").map(|kv| kv.value.clone());
    assert_eq!(list, Some(Value::Array(Array::String(vec!["ñññññ".into(), "ok".into()]))), "elements cut");
    let linked_span = captured.spans().iter().find(|s| s.name == "linked").unwrap();
    assert_eq!((linked_span.links.len(), linked_span.links.dropped_count), (1, 2), "links capped");

    busy();
    guard.flush().unwrap();
    let spans = exported.get_finished_spans().unwrap();
    let busy_span = spans.iter().find(|s| s.name == "busy").expect("busy was exported");
    check(busy_span, "export");
    drop(guard);
}
