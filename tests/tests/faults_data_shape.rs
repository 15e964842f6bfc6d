//! Own binary: installs the runtime and sets global tags outside a capture.
//!
//! Data shape under hostile use, and flushing the console:
//!
//! - a key set twice on a span (a global tag the span sets again later with
//!   `set_attribute` or a raw OpenTelemetry call, or `set_attribute` called
//!   twice) appears once, with the latest value (the OpenTelemetry
//!   specification: setting an existing key overwrites it), in a test
//!   capture and at a real receiver (ddapm-test-agent);
//! - `attrs(k = None)` records nothing, and then leaves a global tag `k` in
//!   place;
//! - `guard.flush()` prints the console's pending traces at once.
//!
//! One install for the whole file (OTLP to the receiver and a console into
//! a buffer); global tags here use keys of their own, so tests run in
//! parallel.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use opentelemetry::trace::TraceContextExt;
use opentelemetry::Value;
use trace_runtime::testing::capture;
use trace_runtime::{current_span, traced, ConsoleExporter, Guard};
use traced_tests::agent::{Session, TestAgent};

/// What the console wrote.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

struct Setup {
    session: Session<'static>,
    guard: Guard,
    console: Buffer,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let agent: &'static TestAgent = TestAgent::shared();
        let session = agent.session();
        let (header, token) = session.header();
        let console = Buffer::default();
        let guard = trace_runtime::init()
            .env_lookup(|_| None)
            .service_name("data-shape")
            .otlp_endpoint(agent.otlp_http_endpoint())
            .otlp_header(header, token)
            .exporter(ConsoleExporter::to_writer(console.clone()))
            .batch_schedule_delay(Duration::from_millis(50))
            .install()
            .expect("install");
        Setup { session, guard, console }
    })
}

// ------------------------------------------------------------ a key once, latest value

#[traced(attrs(shape.case = case))]
fn sets_keys_again(case: &str) {
    let span = current_span();
    // The global tag's key, set on the span later: the span's value wins.
    span.set_attribute("shape.env", "canary");
    // Set twice: the latest wins.
    span.set_attribute("shape.n", 1_i64);
    span.set_attribute("shape.n", 2_i64);
    // A raw OpenTelemetry call on the same span.
    opentelemetry::Context::current().span().set_attribute(opentelemetry::KeyValue::new("shape.raw", "first"));
    opentelemetry::Context::current().span().set_attribute(opentelemetry::KeyValue::new("shape.raw", "second"));
}

#[test]
fn a_key_set_again_is_captured_once_with_its_latest_value() {
    let c = capture(|| {
        trace_runtime::set_global_tag("shape.env", "prod");
        sets_keys_again("capture");
    });
    let span = c.span("sets_keys_again");
    let count = |key: &str| span.attributes.iter().filter(|kv| kv.key.as_str() == key).count();
    for key in ["shape.env", "shape.n", "shape.raw"] {
        assert_eq!(count(key), 1, "{key} once: {:?}", span.attributes);
    }
    let value = |key: &str| span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.clone());
    assert_eq!(value("shape.env"), Some(Value::from("canary")));
    assert_eq!(value("shape.n"), Some(Value::I64(2)));
    assert_eq!(value("shape.raw"), Some(Value::from("second")));
}

#[test]
fn a_key_set_again_reaches_the_receiver_once_with_its_latest_value() {
    let setup = setup();
    // Process-wide on purpose (outside a capture): the exported path.
    trace_runtime::set_global_tag("shape.env", "prod");
    sets_keys_again("receiver");
    setup.guard.flush().expect("flushed");
    let span = wait_for(setup, |s| s.name == "sets_keys_again");
    // The receiver's JSON as sent, not a map that would hide a duplicate.
    let keys: Vec<&str> = span.raw["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .filter_map(|kv| kv["key"].as_str())
        .filter(|k| k.starts_with("shape."))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["shape.case", "shape.env", "shape.n", "shape.raw"], "each key once: {keys:?}");
    assert_eq!(span.attr("shape.env").and_then(|v| v.as_str()), Some("canary"));
    assert_eq!(span.attr("shape.n").and_then(|v| v.as_i64()), Some(2));
    assert_eq!(span.attr("shape.raw").and_then(|v| v.as_str()), Some("second"));
}

fn wait_for(
    setup: &Setup,
    pick: impl Fn(&traced_tests::agent::ReceivedSpan) -> bool,
) -> traced_tests::agent::ReceivedSpan {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(span) = setup.session.spans().into_iter().find(|s| pick(s)) {
            return span;
        }
        assert!(std::time::Instant::now() < deadline, "the span never reached the receiver");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ------------------------------------------------------------ None keeps the tag

#[traced(attrs(shape.maybe = maybe))]
fn records_maybe(maybe: Option<i64>) {}

#[test]
fn a_none_value_records_nothing_and_leaves_the_global_tag() {
    let c = capture(|| {
        trace_runtime::set_global_tag("shape.maybe", "from the tag");
        records_maybe(None);
        records_maybe(Some(7));
    });
    let spans: Vec<_> = c.spans().iter().filter(|s| s.name == "records_maybe").cloned().collect();
    assert_eq!(spans.len(), 2);
    let values: Vec<Vec<Value>> = spans
        .iter()
        .map(|s| s.attributes.iter().filter(|kv| kv.key.as_str() == "shape.maybe").map(|kv| kv.value.clone()).collect())
        .collect();
    assert_eq!(values, [vec![Value::from("from the tag")], vec![Value::I64(7)]], "None keeps the tag, Some wins");
}

// ------------------------------------------------------------ flush prints the console

#[traced]
fn printed_at_flush() {
    inner_step();
}

#[traced]
fn inner_step() {}

#[test]
fn flush_prints_the_consoles_pending_traces_at_once() {
    let setup = setup();
    printed_at_flush();
    // The console holds a trace until it has been quiet for 500 ms; a
    // flush must not wait for that.
    setup.guard.flush().expect("flushed");
    let text = setup.console.text();
    assert!(
        text.contains("printed_at_flush") && text.contains("inner_step"),
        "the trace was printed by the flush:\n{text}"
    );
}
