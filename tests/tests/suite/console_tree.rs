//! The console exporter prints one block per trace: every span of the trace
//! this process saw, spans with an in-process remote parent under it, the
//! service in the header, resource and global tags once, long values cut,
//! no colours off a terminal; bounded memory, and a closed stream is fine.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SdkTracerProvider, SimpleSpanProcessor};
use opentelemetry_sdk::Resource;
use trace_runtime::ConsoleExporter;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().map(|b| b.clone()).unwrap_or_default()).unwrap_or_default()
    }

    /// Waits (well past the exporter's 500 ms quiet time) until `pred` holds.
    fn wait_for(&self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.text();
            if pred(&text) || Instant::now() > deadline {
                return text;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Write for Buffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn provider(exporter: ConsoleExporter, service: &str) -> SdkTracerProvider {
    let resource = Resource::builder_empty()
        .with_attribute(KeyValue::new("service.name", service.to_owned()))
        .with_attribute(KeyValue::new("deployment.environment.name", "dev"))
        .build();
    SdkTracerProvider::builder().with_resource(resource).with_span_processor(SimpleSpanProcessor::new(exporter)).build()
}

fn blocks(text: &str) -> usize {
    text.lines().filter(|l| l.starts_with("trace ")).count()
}

#[test]
fn a_trace_prints_as_one_block_with_its_service_and_resource_once() {
    let buffer = Buffer::default();
    let provider = provider(ConsoleExporter::to_writer(buffer.clone()), "shop");
    let tracer = provider.tracer("console-test");
    tracer.in_span("checkout", |cx| {
        let span = cx.span();
        span.set_attribute(KeyValue::new("cart.items", 3));
        span.set_attribute(KeyValue::new("prompt", "x".repeat(500)));
        span.add_event("validated", vec![KeyValue::new("rules", 12)]);
        tracer.in_span("charge", |cx| {
            cx.span().set_status(Status::error("card declined"));
        });
        let builder = tracer.span_builder("notify").with_kind(SpanKind::Producer);
        let _ = tracer.build(builder);
        assert!(buffer.text().is_empty(), "nothing is printed before the root ends:\n{}", buffer.text());
    });
    let text = buffer.wait_for(|t| !t.is_empty());
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("trace ") && lines[0].contains(" · shop · 3 spans · "), "{text}");
    assert_eq!(lines[1], "  resource: deployment.environment.name=\"dev\"", "{text}");
    assert!(lines[2].starts_with("checkout (") && (lines[2].contains("ms)") || lines[2].contains("µs)")), "{text}");
    assert_eq!(lines[3], "│  cart.items = 3");
    assert_eq!(lines[4], format!("│  prompt = \"{}\"… (500 chars)", "x".repeat(120)));
    assert!(lines[5].starts_with("│  event validated +") && lines[5].ends_with(" rules=12"), "{text}");
    assert!(lines[6].starts_with("├─ charge (") && lines[6].ends_with(", ERROR: card declined)"), "{text}");
    assert!(lines[7].starts_with("└─ notify (") && lines[7].contains("producer"), "{text}");
    assert_eq!(lines.len(), 9, "{text}");
    assert!(!text.contains('\x1b'), "no colours on a writer that is not a terminal:\n{text}");
    provider.shutdown().unwrap();
}

/// A service calling itself: the server span's parent is remote, but it is
/// the client span of this same process, so the trace is one tree.
#[test]
fn a_remote_parent_of_this_process_nests_its_child_in_one_block() {
    let buffer = Buffer::default();
    let provider = provider(ConsoleExporter::to_writer(buffer.clone()), "api");
    let tracer = provider.tracer("console-test");
    tracer.in_span("GET /checkout", |cx| {
        for sku in ["book", "pen"] {
            let client = tracer.build_with_context(tracer.span_builder("GET /price").with_kind(SpanKind::Client), &cx);
            // What the server sees: only the client's span context, remote.
            let incoming = Context::new().with_remote_span_context(client.span_context().clone());
            let server = tracer
                .build_with_context(tracer.span_builder(format!("price {sku}")).with_kind(SpanKind::Server), &incoming);
            let server_cx = incoming.with_span(server);
            tracer.build_with_context(tracer.span_builder("lookup"), &server_cx).end();
            server_cx.span().end();
            drop(client); // the client span ends after the server answered
        }
    });
    let text = buffer.wait_for(|t| !t.is_empty());
    provider.shutdown().unwrap();
    assert_eq!(blocks(&text), 1, "one block for the whole trace:\n{text}");
    assert!(text.lines().next().unwrap_or("").contains(" · api · 7 spans · "), "{text}");
    let tree: Vec<&str> = text.lines().skip(2).map(|l| l.split(" (").next().unwrap_or(l)).collect();
    let expected = [
        "GET /checkout",
        "├─ GET /price",
        "│  └─ price book",
        "│     └─ lookup",
        "└─ GET /price",
        "   └─ price pen",
        "      └─ lookup",
        "",
    ];
    assert_eq!(tree, expected, "{text}");
}

/// `llm_pipeline`'s `log_feedback`: a fire-and-forget child that ends after
/// its root still joins the trace's block.
#[test]
fn a_child_ending_after_its_root_joins_the_block() {
    let buffer = Buffer::default();
    let provider = provider(ConsoleExporter::to_writer(buffer.clone()), "llm");
    let tracer = provider.tracer("console-test");
    let late = tracer.in_span("answer", |cx| tracer.build_with_context(tracer.span_builder("log_feedback"), &cx));
    std::thread::sleep(Duration::from_millis(50));
    drop(late);
    let text = buffer.wait_for(|t| !t.is_empty());
    assert_eq!(blocks(&text), 1, "{text}");
    assert!(text.contains("answer (") && text.contains("└─ log_feedback ("), "{text}");

    // A span arriving after its trace was printed: a block marked continued.
    let straggler = tracer.in_span("job", |cx| tracer.build_with_context(tracer.span_builder("straggler"), &cx));
    let first = buffer.wait_for(|t| blocks(t) == 2);
    assert_eq!(blocks(&first), 2, "{first}");
    drop(straggler);
    let text = buffer.wait_for(|t| blocks(t) == 3);
    assert!(text.lines().any(|l| l.starts_with("trace ") && l.ends_with("(continued)")), "{text}");
    provider.shutdown().unwrap();
}

#[test]
fn unfinished_traces_are_printed_at_shutdown() {
    let buffer = Buffer::default();
    let provider = provider(ConsoleExporter::to_writer(buffer.clone()), "svc");
    let tracer = provider.tracer("console-test");
    let root = tracer.start("still-open");
    let cx = Context::current_with_span(root);
    tracer.start_with_context("finished-child", &cx);
    provider.shutdown().unwrap();
    let text = buffer.text();
    assert!(text.contains("finished-child"), "{text}");
    drop(cx);
}

/// Past 1024 pending traces the oldest is printed at once, not dropped.
#[test]
fn pending_traces_are_bounded_and_overflow_is_printed_early() {
    let buffer = Buffer::default();
    let provider = provider(ConsoleExporter::to_writer(buffer.clone()), "svc");
    let tracer = provider.tracer("console-test");
    // Each trace has a parent still open: without the bound, all would wait.
    let parents: Vec<Context> =
        (0..1025).map(|i| Context::current_with_span(tracer.start(format!("parent {i}")))).collect();
    for (i, cx) in parents.iter().enumerate() {
        tracer.build_with_context(tracer.span_builder(format!("child {i}")), cx).end();
    }
    let text = buffer.text();
    assert!(blocks(&text) >= 1 && text.contains("child 0 ("), "the oldest trace was printed early:\n{text}");
    provider.shutdown().unwrap();
    let text = buffer.text();
    assert!(text.contains("child 1024 ("), "the rest at shutdown");
    drop(parents);
}

struct Closed;

impl Write for Closed {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
}

#[test]
fn a_closed_stream_neither_fails_nor_panics() {
    let provider = provider(ConsoleExporter::to_writer(Closed), "svc");
    provider.tracer("console-test").in_span("work", |_| {});
    provider.shutdown().expect("shutdown is fine with a closed stream");
    // stdout() and stderr() stay available to those who ask.
    for exporter in [ConsoleExporter::stdout(), ConsoleExporter::stderr()] {
        let provider = SdkTracerProvider::builder().with_span_processor(SimpleSpanProcessor::new(exporter)).build();
        provider.shutdown().unwrap();
    }
}

#[test]
fn colours_only_when_asked_or_on_a_terminal() {
    let buffer = Buffer::default();
    let provider = provider(ConsoleExporter::to_writer(buffer.clone()).with_colour(true), "svc");
    provider.tracer("console-test").in_span("work", |cx| cx.span().set_status(Status::error("bad")));
    provider.shutdown().unwrap();
    assert!(buffer.text().contains("\x1b[31mERROR: bad\x1b[0m"), "{:?}", buffer.text());
}
