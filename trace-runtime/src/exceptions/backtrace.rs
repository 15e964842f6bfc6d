//! Real backtraces for `exception.stacktrace`, kept off the hot path.
//!
//! - Panics: a panic hook (installed by `init().install()`, chained to the
//!   hook that was there) captures the stack *at the panic site* into a
//!   per-thread slot; the traced function that catches the unwind reads it.
//!   Without the hook (a user's own provider), the stack is captured where
//!   the traced function catches the panic.
//! - `Err` returns: captured only when asked (`init().backtraces_on_err(true)`
//!   or `TRACED_ERR_BACKTRACE=1`); when off, the cost is one relaxed load.

use std::backtrace::Backtrace;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};

/// Whether an `Err` return also records a backtrace.
static ON_ERR: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The backtrace of the latest panic on this thread, taken by the hook.
    static LAST_PANIC: RefCell<Option<Arc<Backtrace>>> = const { RefCell::new(None) };
}

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
/// hook saw it, else the stack here. The slot is read, not cleared, so that
/// every traced function the panic unwinds through (the unwind is resumed
/// without calling the hook again) records the same stack.
pub(crate) fn for_panic() -> String {
    match LAST_PANIC.with(|slot| slot.borrow().clone()) {
        Some(backtrace) => backtrace.to_string(),
        None => Backtrace::force_capture().to_string(),
    }
}

/// Installs the capturing panic hook once per process, in front of the hook
/// already set (the default one still prints the message).
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let backtrace = Arc::new(Backtrace::force_capture());
            // `try_with`: a panic while the thread's locals are torn down
            // must not panic again in here.
            let _ = LAST_PANIC.try_with(|slot| {
                if let Ok(mut slot) = slot.try_borrow_mut() {
                    *slot = Some(backtrace);
                }
            });
            previous(info);
        }));
    });
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

    #[test]
    fn the_hook_keeps_the_panic_site() {
        install_panic_hook();
        #[inline(never)]
        fn deep_panicking_frame() {
            panic!("boom");
        }
        let caught = std::thread::spawn(|| {
            let _ = std::panic::catch_unwind(deep_panicking_frame);
            for_panic()
        })
        .join()
        .unwrap();
        assert!(caught.contains("deep_panicking_frame"), "{caught}");
    }
}
