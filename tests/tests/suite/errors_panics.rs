//! Failures end the span with status ERROR and an `exception` event, as
//! OpenTelemetry Python's decorator and ddtrace do; success never sets OK.

use std::fmt;

use opentelemetry::trace::Status;
use opentelemetry::Value;
use trace_runtime::testing::{capture, SpanDataExt};
use trace_runtime::traced;

#[derive(Debug)]
struct Declined {
    reason: &'static str,
}

impl fmt::Display for Declined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "card declined: {}", self.reason)
    }
}

impl std::error::Error for Declined {}

#[traced]
fn charge(ok: bool) -> Result<u32, Declined> {
    if ok {
        Ok(10)
    } else {
        Err(Declined { reason: "insufficient funds" })
    }
}

#[test]
fn err_sets_error_status_and_an_exception_event() {
    let c = capture(|| charge(false));
    let span = c.span("charge");
    assert_eq!(span.error_description(), Some("card declined: insufficient funds"));
    assert_eq!(
        span.event_attribute("exception", "exception.message"),
        Some(&Value::from("card declined: insufficient funds".to_string()))
    );
    let ty = span.event_attribute("exception", "exception.type").map(ToString::to_string);
    assert_eq!(ty.as_deref(), Some("suite::errors_panics::Declined"));
}

#[test]
fn success_leaves_the_status_unset() {
    let c = capture(|| charge(true));
    let span = c.span("charge");
    assert_eq!(span.status, Status::Unset, "never OK on success");
    assert!(span.event("exception").is_none());
}

// Aliases hide `Result` from the macro's eyes; the check is by type.
type AppResult<T> = Result<T, Declined>;

#[traced]
fn via_alias() -> AppResult<()> {
    Err(Declined { reason: "alias" })
}

#[traced]
fn via_io_result() -> std::io::Result<()> {
    Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, "no access"))
}

/// Like `anyhow::Error`: Display + Debug, not `std::error::Error`.
#[derive(Debug)]
struct Opaque(String);

impl fmt::Display for Opaque {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[traced]
fn display_only() -> Result<(), Opaque> {
    Err(Opaque("opaque failure".into()))
}

#[traced]
fn debug_only() -> Result<(), Vec<u8>> {
    Err(vec![1, 2])
}

#[test]
fn any_result_alias_and_any_error_type_is_recorded() {
    let c = capture(|| {
        let _ = via_alias();
        let _ = via_io_result();
        let _ = display_only();
        let _ = debug_only();
    });
    assert_eq!(c.span("via_alias").error_description(), Some("card declined: alias"));
    assert_eq!(c.span("via_io_result").error_description(), Some("no access"));
    assert_eq!(c.span("display_only").error_description(), Some("opaque failure"));
    assert_eq!(c.span("debug_only").error_description(), Some("[1, 2]"));
    for name in ["via_alias", "via_io_result", "display_only", "debug_only"] {
        assert!(c.span(name).event("exception").is_some(), "{name} has no exception event");
    }
}

#[derive(Debug)]
struct Wrapped(std::io::Error);

impl fmt::Display for Wrapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("could not load settings")
    }
}

impl std::error::Error for Wrapped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[traced]
fn load_settings() -> Result<(), Wrapped> {
    Err(Wrapped(std::io::Error::other("disk on fire")))
}

#[test]
fn the_source_chain_is_recorded() {
    let c = capture(load_settings);
    let stack = c.span("load_settings").event_attribute("exception", "exception.stacktrace").map(ToString::to_string);
    assert_eq!(stack.as_deref(), Some("could not load settings\ncaused by: disk on fire"));
}

#[traced(attrs(step = 1))]
fn explodes() -> u32 {
    panic!("kaboom at step 1");
}

#[test]
fn a_panic_is_recorded_and_keeps_unwinding_unchanged() {
    let c = capture(|| std::panic::catch_unwind(explodes));
    let payload = c.result().as_ref().expect_err("the panic must go on");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"kaboom at step 1"));
    let span = c.span("explodes");
    assert_eq!(span.error_description(), Some("kaboom at step 1"));
    assert_eq!(span.event_attribute("exception", "exception.type"), Some(&Value::from("panic")));
    assert_eq!(span.attribute("step"), Some(&Value::I64(1)));
}

#[traced]
fn formatted_panic(code: u32) {
    panic!("failed with code {code}");
}

#[traced]
fn parent_of_panic() {
    formatted_panic(7);
}

#[test]
fn a_panic_ends_every_span_it_unwinds_through() {
    let c = capture(|| std::panic::catch_unwind(parent_of_panic));
    assert!(c.result().is_err());
    assert_eq!(c.span("formatted_panic").error_description(), Some("failed with code 7"));
    assert_eq!(c.span("parent_of_panic").error_description(), Some("failed with code 7"));
    assert!(c.span("formatted_panic").is_child_of(c.span("parent_of_panic")));
}

#[traced]
async fn async_panics() {
    tokio::task::yield_now().await;
    panic!("async kaboom");
}

#[test]
fn a_panic_in_an_async_fn_is_recorded() {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let c = capture(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(async_panics()))));
    assert!(c.result().is_err());
    assert_eq!(c.span("async_panics").error_description(), Some("async kaboom"));
}

#[test]
fn record_error_on_a_handle() {
    let c = capture(|| {
        let guard = trace_runtime::span("manual").enter();
        guard.record_error(&Declined { reason: "by hand" });
    });
    let span = c.span("manual");
    assert_eq!(span.error_description(), Some("card declined: by hand"));
    assert!(span.event("exception").is_some());
}
