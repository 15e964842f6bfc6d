//! The span engine (behind `init()`) gives exporters a traced span's
//! attributes in the order of the SDK path (a provider the user installs):
//! `code.*`, the global tags, then what the span recorded (`attrs(..)`,
//! `set_attribute`), a recorded key replacing a tag of the same key (the
//! export pipelines keep the latest value of a key; a bare SDK exporter gets
//! both). The same order as before the collector built `SpanData` itself.
//!
//! Its own file: global tags and the global provider are process-wide.
//! Runs in well under a second.

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SdkTracerProvider;
use trace_runtime::{current_span, traced};
use traced_tests::memory::MemoryExporter;

#[traced(attrs(order.own = 1, order.shadowed = "own"))]
fn ordered() {
    current_span().set_attribute("order.recorded", true);
}

fn attributes(exporter: &MemoryExporter) -> Vec<KeyValue> {
    let spans = exporter.spans();
    assert_eq!(spans.len(), 1);
    spans[0].attributes.clone()
}

/// Keeps the last of each key, where it is.
fn latest_wins(attributes: Vec<KeyValue>) -> Vec<KeyValue> {
    let mut kept = Vec::new();
    for (i, kv) in attributes.iter().enumerate() {
        if !attributes[i + 1..].iter().any(|later| later.key == kv.key) {
            kept.push(kv.clone());
        }
    }
    kept
}

#[test]
fn the_engine_orders_attributes_as_the_sdk_path() {
    trace_runtime::set_global_tag("order.tag", "tag");
    trace_runtime::set_global_tag("order.shadowed", "tag");

    // The SDK path: a provider installed without `init()`.
    let sdk = MemoryExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(sdk.clone()).build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    ordered();
    provider.force_flush().expect("flush");
    let expected = latest_wins(attributes(&sdk));

    // The engine: `init()` replaces it until its guard is dropped.
    let engine = MemoryExporter::default();
    let guard = trace_runtime::init().env_lookup(|_| None).exporter(engine.clone()).install().expect("install");
    ordered();
    guard.flush().expect("flush");
    let got = attributes(&engine);
    guard.shutdown().expect("shutdown");

    assert_eq!(got, expected);
    let keys: Vec<&str> = got.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "code.function.name",
            "code.file.path",
            "code.line.number",
            "order.tag",
            "order.own",
            "order.shadowed",
            "order.recorded"
        ]
    );
    assert_eq!(got[5].value, Value::from("own"));
}
