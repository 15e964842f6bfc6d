//! base14 Scout's Python guide in Rust: a resource with a service name,
//! an OTLP exporter next to the console one, nested spans, attributes
//! (semantic ones too), events, an error status with the exception
//! recorded, and the trace and span ids for log correlation.
//!
//! ```sh
//! cargo run -p traced-examples --example otlp
//! # to another collector:
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 cargo run -p traced-examples --example otlp
//! ```
//!
//! With no collector listening the example still runs to the end: the
//! console shows the spans, the loss is reported once on stderr, and it
//! exits 0.

use std::time::Duration;

use opentelemetry::KeyValue;
// The SDK's types come re-exported: no `opentelemetry_sdk` dependency to keep in step.
use trace_runtime::opentelemetry_sdk::trace::Sampler;
use trace_runtime::{current_span, log_ids, span, traced};

/// The decorator form (`@tracer.start_as_current_span("span")`).
#[traced(name = "span")]
fn do_work() {
    println!("doing some work...");
}

/// Nested spans: `child` is current inside `parent`.
fn nested() {
    let parent = span("parent").enter();
    println!("doing some work...");
    {
        let _child = span("child").enter();
        println!("doing some nested work...");
    }
    parent.finish();
}

/// Attributes, semantic attributes and events.
#[traced(name = "span.name", attrs(http.request.method = "GET", url.full = "https://base14.io/"))]
fn attributes_and_events() {
    let span = current_span();
    span.add_event("Starting some work", []);
    span.set_attribute("operation.value", 1);
    span.set_attribute("operation.name", "Saying hello!");
    span.set_attribute("operation.other-stuff", [1, 2, 3]);
    println!("doing some work...");
    span.add_event("Finished working", [KeyValue::new("items", 3)]);
}

/// Status: an `Err` ends the span with status ERROR (description = the
/// error's message) and an `exception` event, like `record_exception`.
#[traced]
fn something_that_might_fail() -> Result<(), std::io::Error> {
    Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "upstream did not answer"))
}

/// "Extracting Trace and Span IDs" for log correlation.
#[traced(name = "my-operation")]
fn traced_function() {
    let ids = log_ids();
    match (ids.trace_id(), ids.span_id()) {
        (Some(trace_id), Some(span_id)) => {
            println!("Trace ID: {trace_id}");
            println!("Span ID: {span_id}");
            println!("{ids} Processing operation");
        }
        _ => println!("No active span found"),
    }
}

fn main() {
    // Console and OTLP side by side. The endpoint comes from
    // OTEL_EXPORTER_OTLP_ENDPOINT when set, else http://localhost:4318.
    let builder = trace_runtime::init()
        .service_name("my.service.name")
        .otlp()
        .console()
        // Every trace that starts here; a caller's choice is followed.
        .sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
        .otlp_timeout(Duration::from_secs(2))
        .shutdown_timeout(Duration::from_secs(3));
    let endpoint = match builder.resolve() {
        Ok(config) => config.otlp.map(|o| o.endpoint).unwrap_or_default(),
        Err(err) => {
            eprintln!("otlp example: {err}");
            std::process::exit(2);
        }
    };
    let guard = match builder.install() {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("otlp example: {err}");
            std::process::exit(2);
        }
    };

    do_work();
    nested();
    attributes_and_events();
    let _ = something_that_might_fail();
    traced_function();

    match guard.shutdown() {
        Ok(()) => println!("spans sent to {endpoint}"),
        // The loss was already reported once on stderr; the program is fine.
        Err(_) => eprintln!("(is a collector listening at {endpoint}? the README shows how to start one)"),
    }
}
