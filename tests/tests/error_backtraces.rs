//! Own binary: installs the runtime (the backtrace switch and panic hook are process-wide).
//!
//! Errors as backends read them: `error.type` on every error span, and a
//! real backtrace in `exception.stacktrace` for panics and, when asked
//! (`init().backtraces_on_err(true)`), for `Err` returns.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::sync::Once;

use opentelemetry::Value;
use trace_runtime::testing::{capture, SpanDataExt};
use trace_runtime::traced;

/// One install for the binary, with `Err` backtraces on (the guard lives on).
fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let guard = trace_runtime::init()
            .env_lookup(|_| None)
            .exporter(trace_runtime::ConsoleExporter::to_writer(std::io::sink()))
            .backtraces_on_err(true)
            .install()
            .expect("install");
        std::mem::forget(guard);
    });
}

#[derive(Debug)]
struct Declined;

impl std::fmt::Display for Declined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("declined")
    }
}

impl std::error::Error for Declined {}

#[traced]
fn charge() -> Result<(), Declined> {
    Err(Declined)
}

#[inline(never)]
fn panicking_helper_frame() {
    panic!("out of stock");
}

#[traced]
fn reserve() {
    panicking_helper_frame();
}

fn attr(span: &opentelemetry_sdk::trace::SpanData, key: &str) -> Option<Value> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.clone())
}

fn stacktrace(span: &opentelemetry_sdk::trace::SpanData) -> String {
    match span.event_attribute("exception", "exception.stacktrace") {
        Some(Value::String(s)) => s.to_string(),
        other => panic!("no exception.stacktrace: {other:?}"),
    }
}

#[test]
fn an_err_carries_error_type_and_when_asked_a_backtrace() {
    install();
    let c = capture(charge);
    let span = c.span("charge");
    let type_name = attr(span, "error.type").expect("error.type").to_string();
    assert!(type_name.ends_with("Declined"), "{type_name}");
    // The capture point is the traced function's return: its frame is there.
    let stack = stacktrace(span);
    assert!(stack.contains("error_backtraces::charge"), "{stack}");
}

#[test]
fn a_panic_carries_error_type_panic_and_the_panic_sites_stack() {
    install();
    let c = capture(|| std::panic::catch_unwind(reserve).unwrap_err());
    let span = c.span("reserve");
    assert_eq!(attr(span, "error.type"), Some(Value::from("panic")));
    let stack = stacktrace(span);
    // Captured by the hook at the panic site, below the traced function.
    assert!(stack.contains("panicking_helper_frame"), "{stack}");
}
