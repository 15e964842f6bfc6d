//! One traced call, as the RED metrics see it: counted in progress while it
//! runs, then by result and duration.
//!
//! The nearest traced caller is kept per thread: a sync call replaces it for
//! its body; an async call for each poll ([`Polling`]).

use std::cell::Cell;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use opentelemetry::trace::SpanContext;

use super::site::CallSite;
use super::{instruments, is_on};

thread_local! {
    /// The traced function running on this thread, if any.
    static CURRENT: Cell<Option<&'static CallSite>> = const { Cell::new(None) };
}

/// A call being measured; it is counted when [`Call::finish`] runs or it drops.
#[derive(Debug)]
pub(crate) struct Call {
    site: &'static CallSite,
    caller: Option<&'static CallSite>,
    started: Instant,
    failed: Cell<bool>,
    /// Sync calls: the caller to make current again when the call ends.
    restore: Option<Option<&'static CallSite>>,
    /// The ids of the sampled span the call runs in: its duration becomes
    /// an exemplar. `None` for unsampled calls, which record none.
    sampled: Option<([u8; 16], [u8; 8])>,
}

impl Call {
    /// Starts measuring a call of `site`, or `None` when metrics are off
    /// (one relaxed load) or the function opted out.
    #[inline]
    pub(crate) fn begin(site: &'static CallSite, sync: bool) -> Option<Call> {
        if !is_on() || !site.enabled {
            return None;
        }
        Some(Self::begin_slow(site, sync))
    }

    #[inline(never)]
    fn begin_slow(site: &'static CallSite, sync: bool) -> Call {
        site.register();
        site.in_flight.fetch_add(1, Relaxed);
        let caller = CURRENT.with(Cell::get);
        let restore = sync.then(|| CURRENT.with(|current| current.replace(Some(site))));
        Call { site, caller, started: Instant::now(), failed: Cell::new(false), restore, sampled: None }
    }

    /// The call failed: an `Err` return recorded as an error, or a panic.
    #[inline]
    pub(crate) fn fail(&self) {
        self.failed.set(true);
    }

    /// The call runs in this span: if it is sampled, the call's duration is
    /// kept as an exemplar pointing at it.
    #[inline]
    pub(crate) fn runs_in(&mut self, span: &SpanContext) {
        if span.is_sampled() {
            self.sampled = Some((span.trace_id().to_bytes(), span.span_id().to_bytes()));
        }
    }

    /// The function this call runs, for nested calls on each poll.
    pub(crate) fn site(&self) -> &'static CallSite {
        self.site
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        let seconds = self.started.elapsed().as_secs_f64();
        if let Some(previous) = self.restore.take() {
            CURRENT.with(|current| current.set(previous));
        }
        let site = self.site;
        site.in_flight.fetch_sub(1, Relaxed);
        let counts = site.counts_for(self.caller);
        counts.add(self.failed.get());
        if let Some((trace_id, span_id)) = self.sampled {
            counts.exemplars.offer(trace_id, span_id, seconds);
        }
        let overflowed = std::ptr::eq(counts, &site.overflow);
        instruments::record_duration(site, self.caller, counts, overflowed, seconds);
    }
}

/// Makes an async traced function the current caller for one poll.
pub(crate) struct Polling {
    previous: Option<&'static CallSite>,
}

impl Polling {
    pub(crate) fn enter(site: &'static CallSite) -> Polling {
        Polling { previous: CURRENT.with(|current| current.replace(Some(site))) }
    }
}

impl Drop for Polling {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.previous));
    }
}
