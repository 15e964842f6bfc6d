//! The one panic hook trace-runtime installs, chained in front of the hook
//! already set (the default one still prints the panic). It keeps, per
//! thread, what a traced function needs to record a panic it cannot see
//! itself:
//!
//! - the message, for a sync function whose body runs as a plain block (no
//!   closure, so no `catch_unwind` to hand the payload over: its guard sees
//!   the unwinding through `std::thread::panicking` only);
//! - the backtrace *at the panic site*, once `install()` asked for it (taking
//!   one costs microseconds per panic, so a process that only runs test
//!   captures does not pay it).
//!
//! Installed on the first sync span (message only) or by `install()`,
//! whichever comes first; `install()` also turns the backtraces on.

use std::backtrace::Backtrace;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};

/// Whether the hook takes the backtrace of each panic.
static BACKTRACES: AtomicBool = AtomicBool::new(false);

/// What the hook saw of the latest panic on a thread.
#[derive(Clone)]
struct LastPanic {
    message: String,
    backtrace: Option<Arc<Backtrace>>,
}

thread_local! {
    static LAST: RefCell<Option<LastPanic>> = const { RefCell::new(None) };
}

/// Installs the hook once per process; `backtraces`: from now on it also
/// keeps each panic's backtrace. Not while unwinding: `set_hook` panics then
/// (a traced call inside a destructor); a later call installs it.
#[inline]
pub(crate) fn install(backtraces: bool) {
    static ONCE: Once = Once::new();
    if backtraces {
        BACKTRACES.store(true, Ordering::Relaxed);
    }
    if ONCE.is_completed() || std::thread::panicking() {
        return;
    }
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let last = LastPanic {
                message: super::panic::message(info.payload()),
                backtrace: BACKTRACES.load(Ordering::Relaxed).then(|| Arc::new(Backtrace::force_capture())),
            };
            // `try_*`: a panic while the thread's locals are torn down must
            // not panic again in here.
            let _ = LAST.try_with(|slot| {
                if let Ok(mut slot) = slot.try_borrow_mut() {
                    *slot = Some(last);
                }
            });
            previous(info);
        }));
    });
}

/// The latest panic's message on this thread. Read, not taken: every traced
/// function the panic unwinds through records the same one.
pub(crate) fn message() -> Option<String> {
    read(|last| Some(last.message.clone()))
}

/// The latest panic's backtrace on this thread, when the hook took one.
pub(crate) fn backtrace() -> Option<Arc<Backtrace>> {
    read(|last| last.backtrace.clone())
}

fn read<T>(f: impl FnOnce(&LastPanic) -> Option<T>) -> Option<T> {
    LAST.try_with(|slot| slot.try_borrow().ok().and_then(|slot| slot.as_ref().and_then(f))).ok().flatten()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test reports
mod tests {
    use super::*;

    #[test]
    fn the_hook_keeps_the_message_and_the_panic_site() {
        install(true);
        #[inline(never)]
        fn deep_panicking_frame() {
            panic!("boom at the site");
        }
        let (message, backtrace) = std::thread::spawn(|| {
            let _ = std::panic::catch_unwind(deep_panicking_frame);
            (message(), backtrace())
        })
        .join()
        .unwrap();
        assert_eq!(message.as_deref(), Some("boom at the site"));
        let backtrace = backtrace.unwrap().to_string();
        assert!(backtrace.contains("deep_panicking_frame"), "{backtrace}");
    }
}
