//! The console exporter prints each finished trace as a readable tree.

use std::io::Write;
use std::sync::{Arc, Mutex};

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{SdkTracerProvider, SimpleSpanProcessor};
use trace_runtime::ConsoleExporter;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_trace_prints_as_an_indented_tree_when_its_root_ends() {
    let buffer = Buffer::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(ConsoleExporter::to_writer(buffer.clone())))
        .build();
    let tracer = provider.tracer("console-test");
    tracer.in_span("checkout", |cx| {
        let span = cx.span();
        span.set_attribute(KeyValue::new("cart.items", 3));
        span.add_event("validated", vec![KeyValue::new("rules", 12)]);
        tracer.in_span("charge", |cx| {
            cx.span().set_status(Status::error("card declined"));
        });
        let builder = tracer.span_builder("notify").with_kind(SpanKind::Producer);
        let _ = tracer.build(builder);
        let text = String::from_utf8(buffer.0.lock().map(|b| b.clone()).unwrap_or_default()).unwrap_or_default();
        assert!(text.is_empty(), "nothing is printed before the root ends:\n{text}");
    });
    let text = String::from_utf8(buffer.0.lock().map(|b| b.clone()).unwrap_or_default()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("trace ") && lines[0].len() == 6 + 32, "{text}");
    assert!(lines[1].starts_with("checkout ("), "{text}");
    assert!(lines[1].contains("ms)") || lines[1].contains("µs)"), "a duration is shown:\n{text}");
    assert_eq!(lines[2], "│  cart.items = 3");
    assert!(lines[3].starts_with("│  event validated +") && lines[3].ends_with(" rules=12"), "{text}");
    assert!(lines[4].starts_with("├─ charge (") && lines[4].ends_with(", ERROR: card declined)"), "{text}");
    assert!(lines[5].starts_with("└─ notify (") && lines[5].contains("producer"), "{text}");
    assert_eq!(lines.len(), 6, "{text}");
    provider.shutdown().expect("shutdown");
}

#[test]
fn spans_of_an_unfinished_trace_are_printed_at_shutdown() {
    let buffer = Buffer::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(ConsoleExporter::to_writer(buffer.clone())))
        .build();
    let tracer = provider.tracer("console-test");
    let root = tracer.start("still-open");
    let cx = opentelemetry::Context::current_with_span(root);
    tracer.start_with_context("finished-child", &cx);
    provider.shutdown().expect("shutdown");
    let text = String::from_utf8(buffer.0.lock().map(|b| b.clone()).unwrap_or_default()).unwrap_or_default();
    assert!(text.contains("finished-child"), "{text}");
    drop(cx);
}
