//! Which `tracing` spans are entered on this thread, each with the
//! OpenTelemetry context it made current.
//!
//! `tracing` enters and exits a span on the same thread (an `.instrument()`ed
//! future on every poll, on whichever worker polls it), but not always in
//! stack order: two instrumented futures polled by one `select!`, a guard
//! dropped late. So each entry is found by span id, not popped blindly;
//! OpenTelemetry's context stack restores the right context when guards are
//! dropped out of order.

use std::cell::RefCell;

use opentelemetry::{Context, ContextGuard};
use tracing_core::span::Id;

thread_local! {
    static ENTERED: RefCell<Vec<(Id, ContextGuard)>> = const { RefCell::new(Vec::new()) };
}

/// Makes `cx` current on this thread until [`exit`] with the same `id`.
pub(super) fn enter(id: &Id, cx: Context) {
    let guard = cx.attach();
    // A thread being torn down: the guard is dropped right away, restoring
    // the previous context.
    let _ = ENTERED.try_with(|entered| {
        if let Ok(mut entered) = entered.try_borrow_mut() {
            entered.push((id.clone(), guard));
        }
    });
}

/// Restores the context that was current before the latest [`enter`] of `id`
/// on this thread; nothing if `id` is not entered here.
pub(super) fn exit(id: &Id) {
    let guard = ENTERED
        .try_with(|entered| {
            let mut entered = entered.try_borrow_mut().ok()?;
            let at = entered.iter().rposition(|(entered_id, _)| entered_id == id)?;
            Some(entered.remove(at).1)
        })
        .ok()
        .flatten();
    // Dropped outside the borrow: restoring a context may drop the one that
    // was current, and with it code that could enter spans.
    drop(guard);
}
