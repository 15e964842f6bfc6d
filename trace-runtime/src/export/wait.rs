//! Waiting for an export thread with a deadline: the one loop that the span
//! and the log pipelines' `flush` and shutdown use, and their processors'
//! `shutdown_with_timeout`.

use std::sync::{Condvar, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

/// Waits on `condvar` until `done` holds for the guarded state or `deadline`
/// passes; the flag says whether `done` held. Spurious wake-ups and early
/// notifications only loop again.
pub(crate) fn until<'a, T>(
    mut guard: MutexGuard<'a, T>,
    condvar: &Condvar,
    deadline: Instant,
    done: impl Fn(&T) -> bool,
) -> (MutexGuard<'a, T>, bool) {
    loop {
        if done(&guard) {
            return (guard, true);
        }
        let now = Instant::now();
        if now >= deadline {
            return (guard, false);
        }
        guard = condvar.wait_timeout(guard, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
    }
}

/// A pipeline's `shutdown_with_timeout`: `begin` tells its thread to finish
/// by the deadline, `wait` waits for it until then.
pub(crate) fn shutdown_within(
    timeout: Duration,
    begin: impl FnOnce(Instant),
    wait: impl FnOnce(Instant) -> bool,
) -> OTelSdkResult {
    let deadline = Instant::now() + timeout;
    begin(deadline);
    if wait(deadline) {
        Ok(())
    } else {
        Err(OTelSdkError::Timeout(timeout))
    }
}
