//! Real backtraces for `exception.stacktrace`, kept off the hot path.
//!
//! - Panics: the panic hook (`panic_hook.rs`; backtraces on once
//!   `init().install()` ran) captures the stack *at the panic site*; the
//!   traced function that records the unwind reads it. Without it (a user's
//!   own provider), the stack is captured where the function records it.
//! - `Err` returns: captured only when asked (`init().backtraces_on_err(true)`
//!   or `TRACED_ERR_BACKTRACE=1`); when off, the cost is one relaxed load.

use std::backtrace::Backtrace;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether an `Err` return also records a backtrace.
static ON_ERR: AtomicBool = AtomicBool::new(false);

/// Turns backtraces on `Err` returns on or off (process-wide).
pub(crate) fn set_on_err(enabled: bool) {
    ON_ERR.store(enabled, Ordering::Relaxed);
}

/// A backtrace of the caller for an `Err` return, when asked for.
#[inline]
pub(crate) fn for_err() -> Option<String> {
    if ON_ERR.load(Ordering::Relaxed) {
        Some(Backtrace::force_capture().to_string())
    } else {
        None
    }
}

/// The backtrace of the panic being recorded: the panic site's when the
/// hook took it (`panic_hook`), else the stack here.
pub(crate) fn for_panic() -> String {
    match super::panic_hook::backtrace() {
        Some(backtrace) => backtrace.to_string(),
        None => Backtrace::force_capture().to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test reports
mod tests {
    use super::*;

    #[test]
    fn err_backtraces_are_off_by_default_and_switchable() {
        // (Only this test touches the switch in the lib tests.)
        assert!(for_err().is_none());
        set_on_err(true);
        let captured = for_err().expect("on");
        set_on_err(false);
        assert!(captured.contains("err_backtraces_are_off_by_default_and_switchable"), "{captured}");
        assert!(for_err().is_none());
    }
}
