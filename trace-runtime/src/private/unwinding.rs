//! The message of a panic unwinding through a sync traced function whose
//! body runs as a plain block (no closure, so no `catch_unwind` to hand the
//! payload over): [`Entered`](super::Entered)'s drop sees the unwinding
//! with `std::thread::panicking`, and this panic hook, installed in front of
//! the one already set when the first such span starts, keeps the message
//! per thread.

use std::cell::RefCell;
use std::sync::Once;

thread_local! {
    /// The message of the last panic on this thread.
    static MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the hook, once per process. Not while unwinding: `set_hook`
/// panics then (a traced call inside a destructor).
pub(super) fn watch() {
    static ONCE: Once = Once::new();
    if ONCE.is_completed() || std::thread::panicking() {
        return;
    }
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = crate::exceptions::panic::message(info.payload());
            // `try_*`: a panic while the thread's locals are torn down must
            // not panic again in here.
            let _ = MESSAGE.try_with(|slot| {
                if let Ok(mut slot) = slot.try_borrow_mut() {
                    *slot = Some(message);
                }
            });
            previous(info);
        }));
    });
}

/// The message of the panic unwinding now. Read, not taken: every traced
/// function the panic unwinds through records the same one.
pub(super) fn message() -> String {
    MESSAGE.try_with(|slot| slot.try_borrow().ok().and_then(|slot| slot.clone())).ok().flatten().unwrap_or_else(|| {
        "panic (its message was not seen: a panic hook set after trace-runtime's replaced it without calling it)"
            .to_owned()
    })
}
