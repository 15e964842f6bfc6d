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

/// An error whose `source()` is itself: the chain walk
/// must stop instead of looping until memory runs out.
#[derive(Debug)]
struct Cyclic;

impl fmt::Display for Cyclic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cyclic")
    }
}

impl std::error::Error for Cyclic {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self)
    }
}

#[traced]
fn fails_cyclic() -> Result<(), Cyclic> {
    Err(Cyclic)
}

#[test]
fn a_source_chain_that_loops_ends_and_says_so() {
    let c = capture(|| fails_cyclic().is_err());
    assert!(*c.result());
    let stack = c.span("fails_cyclic").event_attribute("exception", "exception.stacktrace").map(ToString::to_string);
    assert_eq!(stack.as_deref(), Some("cyclic\ncaused by: (the source chain loops back here; stopped)"));
}

/// Two errors pointing at each other: a loop of length two.
#[derive(Debug)]
struct PingPong {
    ping: bool,
}

impl fmt::Display for PingPong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.ping { "ping" } else { "pong" })
    }
}

static PING: PingPong = PingPong { ping: true };
static PONG: PingPong = PingPong { ping: false };

impl std::error::Error for PingPong {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(if self.ping { &PONG } else { &PING })
    }
}

#[traced]
fn fails_ping_pong() -> Result<(), &'static PingPong> {
    Err(&PING)
}

#[test]
fn a_source_chain_looping_through_two_errors_ends() {
    let c = capture(|| fails_ping_pong().is_err());
    let stack = c.span("fails_ping_pong").event_attribute("exception", "exception.stacktrace").map(ToString::to_string);
    // The returned `&PING` is a different address from the `PING` that
    // `PONG` points back to, so the loop shows after one more hop.
    assert_eq!(
        stack.as_deref(),
        Some("ping\ncaused by: pong\ncaused by: ping\ncaused by: (the source chain loops back here; stopped)")
    );
}

/// A chain deeper than the bound, each link a distinct error.
#[derive(Debug)]
struct Deep(u32);

impl fmt::Display for Deep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "level {}", self.0)
    }
}

impl std::error::Error for Deep {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // Leaks one small box per level, a test-only way to get an
        // unbounded chain of distinct errors.
        (self.0 < 10_000).then(|| &*Box::leak(Box::new(Deep(self.0 + 1))) as _)
    }
}

#[traced]
fn fails_deep() -> Result<(), Deep> {
    Err(Deep(0))
}

#[test]
fn a_very_deep_source_chain_is_cut_at_the_bound() {
    let c = capture(|| fails_deep().is_err());
    let stack = c.span("fails_deep").event_attribute("exception", "exception.stacktrace").map(ToString::to_string);
    let stack = stack.expect("a stacktrace");
    let lines: Vec<&str> = stack.split("\ncaused by: ").collect();
    assert_eq!(lines.len(), 1 + 32 + 1, "the error, 32 causes, and the note");
    assert_eq!(lines[32], "level 32");
    assert_eq!(lines[33], "(source chain longer than 32; rest omitted)");
}

/// `-> !`: compiles, is traced, and its panic recorded.
#[traced(args)]
fn gives_up(code: u32) -> ! {
    panic!("gave up with code {code}");
}

#[traced]
async fn gives_up_async() -> ! {
    tokio::task::yield_now().await;
    panic!("async gave up");
}

struct Stopper;

impl Stopper {
    #[traced]
    fn stop(&self) -> ! {
        std::panic::panic_any(7_u8)
    }
}

#[test]
fn a_function_that_never_returns_is_traced_and_its_panic_recorded() {
    let c = capture(|| std::panic::catch_unwind(|| gives_up(4)).is_err());
    assert!(*c.result());
    let span = c.span("gives_up");
    assert_eq!(span.error_description(), Some("gave up with code 4"));
    assert_eq!(span.attribute("code"), Some(&Value::I64(4)));

    let c = capture(|| std::panic::catch_unwind(|| Stopper.stop()).map_err(|p| p.downcast::<u8>().ok()));
    assert_eq!(c.result().as_ref().err().cloned().flatten().as_deref(), Some(&7), "the payload unchanged");
    assert!(c.span("stop").error_description().is_some());

    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let c = capture(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(gives_up_async()))));
    assert!(c.result().is_err());
    assert_eq!(c.span("gives_up_async").error_description(), Some("async gave up"));
}
