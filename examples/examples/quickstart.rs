//! OpenTelemetry Python's "Manual Instrumentation" page, in Rust.
//!
//! Nested spans, attributes (including an array), events, a link, an error
//! status and a recorded error; the trace is printed as a tree when the guard
//! drops. Run: `cargo run -p traced-examples --example quickstart`

use std::io;

use opentelemetry::trace::Status;
use trace_runtime::{current_span, span, traced};

/// "Creating nested spans": the parent.
#[traced]
fn parent() {
    // "Add attributes to a span", on whatever span is current.
    let span = current_span();
    span.set_attribute("operation.value", 1);
    span.set_attribute("operation.name", "Saying hello!");
    span.set_attribute("operation.other-stuff", [1, 2, 3]);

    // "Adding events"
    span.add_event("Gonna try it!", []);
    child();
    span.add_event("Did it!", []);

    linked_work();
    might_fail();
    let _ = read_config("missing.toml");
}

/// "Creating nested spans": the child, current inside `parent`.
#[traced]
fn child() {}

/// "Adding links": a new span causally linked to the current one, not its child.
fn linked_work() {
    let link_from_current = current_span().span_context();
    let new_span = span("new-span").root().link(link_from_current).enter();
    new_span.set_attribute("work.kind", "follow-up");
}

/// "Set span status" by hand.
#[traced]
fn might_fail() {
    let outcome: Result<(), &str> = Err("the thing did not work");
    if outcome.is_err() {
        current_span().set_status(Status::error("the thing did not work"));
    }
}

/// "Record exceptions in spans": a returned `Err` is recorded automatically,
/// with status ERROR and an `exception` event.
#[traced(attrs(config.path = path))]
fn read_config(path: &str) -> io::Result<String> {
    std::fs::read_to_string(path)
}

fn main() -> Result<(), trace_runtime::Error> {
    let guard = trace_runtime::init().service_name("quickstart").install()?;
    parent();
    guard.shutdown()
}
