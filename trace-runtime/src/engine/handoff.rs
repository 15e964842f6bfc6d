//! The hand-off between the application's threads and the collector: one
//! lane per thread, each a vector behind a lock that only its thread and the
//! collector ever take.
//!
//! Ending a span pushes its record onto the ending thread's lane: an
//! uncontended lock and a move, no channel slot, no wake-up. The collector
//! sweeps every lane at once, swapping each vector for an empty one, so it
//! takes spans by the batch (one lock per lane per sweep, not one per span).
//! It sweeps when woken (the hand-off is an eighth full, a flush, a stop) and
//! otherwise on a short timer.
//!
//! The bound is the engine's: its books count every queued span, and a span
//! that would pass the capacity is refused before it is pushed (see
//! `Engine::hand_off`). A lane's vector holds at most that many, whatever
//! the number of threads.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::thread::Thread;
use std::time::{Duration, Instant};

use opentelemetry::trace::SpanContext;

use super::record::Record;

/// A finished span waiting for the collector.
pub(super) type Finished = (SpanContext, Record);

/// How long the collector sleeps between sweeps when nothing wakes it: the
/// longest a finished span waits before the processors have it.
const SWEEP_EVERY: Duration = Duration::from_millis(10);

/// A lane that grew past this many slots gives the rest back once swept, so
/// a burst does not keep its memory for the thread's whole life (about
/// 200 KB at most per thread), while a steady stream never reallocates:
/// the collector is woken well before a lane holds this many.
const KEEP_SLOTS: usize = 1024;

/// Tells hand-offs apart in the per-thread cache (an engine per `init()`).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's lane, and the hand-off it belongs to.
    static LANE: RefCell<Option<(u64, Arc<Lane>)>> = const { RefCell::new(None) };
}

#[derive(Debug, Default)]
struct Lane {
    spans: Mutex<Vec<Finished>>,
}

/// The lanes of one engine, and what the collector is asked to do.
#[derive(Debug)]
pub(super) struct HandOff {
    id: u64,
    lanes: Mutex<Vec<Arc<Lane>>>,
    /// For threads that can no longer reach their own (exiting, their
    /// thread-locals gone).
    shared: Arc<Lane>,
    collector: OnceLock<Thread>,
    /// Flushes asked for and done, by number: a flush waits until the
    /// collector has swept after it was asked.
    flushes: Mutex<Flushes>,
    flushed: Condvar,
    stopping: AtomicBool,
    /// The collector has swept for the last time: pushes are refused.
    finished: AtomicBool,
}

#[derive(Debug, Default)]
struct Flushes {
    asked: u64,
    done: u64,
}

impl HandOff {
    pub(super) fn new() -> Self {
        HandOff {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            lanes: Mutex::new(Vec::new()),
            shared: Arc::new(Lane::default()),
            collector: OnceLock::new(),
            flushes: Mutex::new(Flushes::default()),
            flushed: Condvar::new(),
            stopping: AtomicBool::new(false),
            finished: AtomicBool::new(false),
        }
    }

    /// Puts a finished span on this thread's lane (room was already made
    /// for it in the engine's books). False when the collector has stopped:
    /// the span will never be delivered, and the caller counts it lost.
    #[inline]
    pub(super) fn push(&self, span: Finished) -> bool {
        let mut span = Some(span);
        let mut accepted = false;
        let _ = LANE.try_with(|cell| {
            let Ok(mut cached) = cell.try_borrow_mut() else { return };
            if !matches!(&*cached, Some((id, _)) if *id == self.id) {
                let mine = Arc::new(Lane::default());
                lock(&self.lanes).push(Arc::clone(&mine));
                *cached = Some((self.id, mine));
            }
            if let Some((_, lane)) = &*cached {
                accepted = self.push_to(lane, &mut span);
            }
        });
        if span.is_some() && !accepted && !self.finished.load(Ordering::Acquire) {
            // This thread cannot reach its lane (its locals are being
            // destroyed): the shared one takes the span.
            accepted = self.push_to(&self.shared, &mut span);
        }
        accepted
    }

    /// Pushes unless the collector has finished. Checked under the lane's
    /// lock, which the collector's last sweep takes after setting
    /// `finished`: a span is either swept by it or refused here, never left.
    fn push_to(&self, lane: &Lane, span: &mut Option<Finished>) -> bool {
        let mut spans = lock(&lane.spans);
        if self.finished.load(Ordering::Acquire) {
            return false;
        }
        if let Some(span) = span.take() {
            spans.push(span);
        }
        true
    }

    /// Asks the collector to sweep now.
    #[inline]
    pub(super) fn wake(&self) {
        if let Some(collector) = self.collector.get() {
            collector.unpark();
        }
    }

    /// Waits until the collector has swept (and delivered) everything pushed
    /// before this call, or `deadline`. False on timeout.
    pub(super) fn flush(&self, deadline: Instant) -> bool {
        let mut flushes = lock(&self.flushes);
        flushes.asked += 1;
        let mine = flushes.asked;
        self.wake();
        while flushes.done < mine {
            let left = deadline.saturating_duration_since(Instant::now());
            if self.finished.load(Ordering::Acquire) {
                // Its last sweep took everything pushed before.
                return true;
            }
            if left.is_zero() {
                return false;
            }
            flushes = self.flushed.wait_timeout(flushes, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        true
    }

    /// True once asked to stop: the collector delivers what it has at once.
    pub(super) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Asks the collector to sweep a last time and stop.
    pub(super) fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        self.wake();
    }

    /// The collector's loop: sweeps the lanes, gives what each held to
    /// `deliver` (which leaves it empty), answers flushes, until stopped.
    pub(super) fn run(&self, mut deliver: impl FnMut(&mut Vec<Finished>)) {
        let _ = self.collector.set(std::thread::current());
        let mut spare = Vec::new();
        loop {
            let stopping = self.stopping.load(Ordering::Acquire);
            let asked = lock(&self.flushes).asked;
            let swept = self.sweep(&mut spare, &mut deliver);
            if asked > 0 {
                let mut flushes = lock(&self.flushes);
                if flushes.done < asked {
                    flushes.done = asked;
                    self.flushed.notify_all();
                }
            }
            if stopping {
                // Spans pushed since the sweep above: this last sweep takes
                // them, and any later push is refused (see `push_to`).
                self.finished.store(true, Ordering::Release);
                self.sweep(&mut spare, &mut deliver);
                return;
            }
            if swept == 0 {
                std::thread::park_timeout(SWEEP_EVERY);
            }
        }
    }

    /// Takes what every lane holds and delivers it, lane by lane; forgets
    /// lanes whose thread is gone once they are empty. A lane is locked only
    /// to swap its vector for `spare` (empty, with room): the application's
    /// thread never waits for a delivery. Returns how many spans it took.
    fn sweep(&self, spare: &mut Vec<Finished>, deliver: &mut impl FnMut(&mut Vec<Finished>)) -> usize {
        let lanes = {
            let mut lanes = lock(&self.lanes);
            // Only the list holds it: its thread is gone (or moved to another
            // engine). Kept until it is empty.
            lanes.retain(|lane| Arc::strong_count(lane) > 1 || !lock(&lane.spans).is_empty());
            lanes.clone()
        };
        let mut swept = 0;
        for lane in lanes.iter().chain(std::iter::once(&self.shared)) {
            {
                let mut spans = lock(&lane.spans);
                if spans.is_empty() {
                    continue;
                }
                std::mem::swap(&mut *spans, spare);
            }
            swept += spare.len();
            deliver(spare);
            // The lane's old vector becomes the next spare, keeping its room
            // unless a burst grew it past what a lane keeps.
            spare.shrink_to(KEEP_SLOTS);
        }
        swept
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
