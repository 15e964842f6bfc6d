//! The books of every exporter: each span that ended is counted exactly
//! once, as exported or as lost, and the loss is said once.
//!
//! A [`Tally`] belongs to one export pipeline (see `worker.rs`). Every count
//! is made at the moment a span's fate is known, never by difference: an
//! export still running when shutdown gives up is *pending* and is counted
//! when it returns, whatever it returns. [`lost_spans`] adds the losses of
//! every pipeline of the process; [`pending_spans`] says how many spans do
//! not have a fate yet.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// Spans lost since the process started, over every install.
static LOST: AtomicU64 = AtomicU64::new(0);

/// Every pipeline still alive (its worker may still hold an export).
static LIVE: Mutex<Vec<Weak<Tally>>> = Mutex::new(Vec::new());

/// How many finished spans never reached their exporter's destination in
/// this process so far, over every install. A span is counted here at the
/// moment its loss is known: its export failed, panicked or was refused
/// (the queue was full, the span too large to ever be sent), it was still
/// queued when shutdown ran out of time, or it ended after shutdown began.
///
/// Together with the spans delivered, every span that ended is counted
/// exactly once. An export still running when shutdown gave up is counted
/// when it finishes (as delivered or lost); until then its spans are in
/// [`pending_spans`]. The loss is also reported on stderr: the first failed
/// export at once, then at most once a minute, and a summary at shutdown.
///
/// ```
/// let before = trace_runtime::lost_spans();
/// // ... run with a collector that is down ...
/// assert!(trace_runtime::lost_spans() >= before);
/// ```
pub fn lost_spans() -> u64 {
    LOST.load(Ordering::Relaxed)
}

/// How many finished spans have no known fate yet, over every install:
/// spans waiting in the span engine's hand-off or in an export queue, and spans in an export that is still
/// running (for example one that outlived the shutdown timeout against a
/// hanging collector). Each of them will be counted once, as delivered or
/// in [`lost_spans`], when its export returns; an exporter that never
/// returns keeps them pending forever.
///
/// After a [`Guard`](crate::Guard) has shut down, `lost_spans()` is final
/// for that install once `pending_spans()` is back to zero.
///
/// ```
/// let guard = trace_runtime::init().env_lookup(|_| None).exporter(trace_runtime::ConsoleExporter::to_writer(std::io::sink())).install().unwrap();
/// guard.shutdown().unwrap();
/// assert_eq!(trace_runtime::pending_spans(), 0);
/// ```
pub fn pending_spans() -> u64 {
    let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
    live.retain(|tally| tally.strong_count() > 0);
    live.iter().filter_map(Weak::upgrade).map(|tally| tally.pending()).sum::<u64>() + crate::engine::queued_spans()
}

/// Why spans were lost; one counter each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loss {
    /// The exporter returned an error.
    Failed,
    /// The exporter panicked.
    Panicked,
    /// The queue was full when the span ended.
    QueueFull,
    /// Too large to fit in one export request, even alone.
    TooLarge,
    /// Still queued when shutdown ran out of time.
    Abandoned,
    /// Open when shutdown began, or started or ended after it.
    AfterShutdown,
}

const LOSSES: [Loss; 6] =
    [Loss::Failed, Loss::Panicked, Loss::QueueFull, Loss::TooLarge, Loss::Abandoned, Loss::AfterShutdown];

/// Names of spans dropped as too large, kept for the report (bounded).
const NAMES_KEPT: usize = 5;

/// The books of one export pipeline.
#[derive(Debug)]
pub(crate) struct Tally {
    label: String,
    exported: AtomicU64,
    lost: [AtomicU64; LOSSES.len()],
    /// Spans waiting in the queue or in the export under way.
    pending: AtomicU64,
    first_error: Mutex<Option<String>>,
    too_large: Mutex<Vec<String>>,
    settled: Mutex<bool>,
    /// Whether deliveries are counted too (export pipelines), so that the
    /// report can say "N of M"; the span engine counts only its losses.
    counts_deliveries: bool,
}

impl Tally {
    pub(crate) fn new(label: impl Into<String>) -> Arc<Self> {
        Self::with_deliveries(label.into(), true)
    }

    /// Books that count only losses (the span engine's hand-off, whose
    /// deliveries the export pipelines count).
    pub(crate) fn losses_only(label: impl Into<String>) -> Arc<Self> {
        Self::with_deliveries(label.into(), false)
    }

    fn with_deliveries(label: String, counts_deliveries: bool) -> Arc<Self> {
        let tally = Arc::new(Tally {
            counts_deliveries,
            label,
            exported: AtomicU64::new(0),
            lost: Default::default(),
            pending: AtomicU64::new(0),
            first_error: Mutex::new(None),
            too_large: Mutex::new(Vec::new()),
            settled: Mutex::new(false),
        });
        LIVE.lock().unwrap_or_else(PoisonError::into_inner).push(Arc::downgrade(&tally));
        tally
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// `spans` now wait for export.
    pub(crate) fn queued(&self, spans: u64) {
        self.pending.fetch_add(spans, Ordering::AcqRel);
    }

    /// `spans` that were pending reached their destination.
    pub(crate) fn exported(&self, spans: u64) {
        self.exported.fetch_add(spans, Ordering::AcqRel);
        self.pending.fetch_sub(spans, Ordering::AcqRel);
    }

    /// `spans` that were pending are lost.
    pub(crate) fn pending_lost(&self, spans: u64, why: Loss) {
        self.lost(spans, why);
        self.pending.fetch_sub(spans, Ordering::AcqRel);
    }

    /// `spans` that never were pending are lost.
    pub(crate) fn lost(&self, spans: u64, why: Loss) {
        if spans == 0 {
            return;
        }
        self.lost[why as usize].fetch_add(spans, Ordering::AcqRel);
        LOST.fetch_add(spans, Ordering::AcqRel);
    }

    pub(crate) fn note_error(&self, error: &str) {
        let mut first = self.first_error.lock().unwrap_or_else(PoisonError::into_inner);
        if first.is_none() {
            *first = Some(error.to_owned());
        }
    }

    pub(crate) fn note_too_large(&self, name: &str, bytes: usize) {
        let mut names = self.too_large.lock().unwrap_or_else(PoisonError::into_inner);
        if names.len() < NAMES_KEPT {
            names.push(format!("{name:?} ({bytes} bytes)"));
        }
    }

    pub(crate) fn pending(&self) -> u64 {
        self.pending.load(Ordering::Acquire)
    }

    pub(crate) fn total_exported(&self) -> u64 {
        self.exported.load(Ordering::Acquire)
    }

    pub(crate) fn total_lost(&self) -> u64 {
        self.lost.iter().map(|n| n.load(Ordering::Acquire)).sum()
    }

    /// The shutdown report, once: what was lost and why, and what is still
    /// pending. `None` when everything was delivered (or it was said before).
    pub(crate) fn settle(&self) -> Option<String> {
        let mut settled = self.settled.lock().unwrap_or_else(PoisonError::into_inner);
        if std::mem::replace(&mut *settled, true) {
            return None;
        }
        let lost = self.total_lost();
        let pending = self.pending();
        if lost == 0 && pending == 0 {
            return None;
        }
        let exported = self.total_exported();
        let mut reasons = Vec::new();
        for why in LOSSES {
            let n = self.lost[why as usize].load(Ordering::Acquire);
            if n == 0 {
                continue;
            }
            let mut reason = format!("{n} ");
            let _ = match why {
                Loss::Failed => {
                    let first = self.first_error.lock().unwrap_or_else(PoisonError::into_inner).clone();
                    write!(reason, "in failed exports ({})", first.as_deref().unwrap_or("unknown error"))
                }
                Loss::Panicked => write!(reason, "in exports that panicked"),
                Loss::QueueFull => write!(reason, "dropped because the queue was full (raise batch_max_queue_size)"),
                Loss::TooLarge => {
                    let names = self.too_large.lock().unwrap_or_else(PoisonError::into_inner).join(", ");
                    write!(reason, "too large to send even alone: {names}")
                }
                Loss::Abandoned => write!(reason, "not exported before shutdown ended"),
                Loss::AfterShutdown => write!(reason, "ended after shutdown began"),
            };
            reasons.push(reason);
        }
        if pending > 0 {
            reasons.push(format!(
                "{pending} still in an export that outlived the shutdown timeout (counted when it returns; see pending_spans())"
            ));
        }
        if !self.counts_deliveries {
            return Some(format!("{} spans were lost in {}: {}", lost + pending, self.label, reasons.join("; ")));
        }
        Some(format!(
            "{} of {} spans were not delivered to {}: {}",
            lost + pending,
            lost + pending + exported,
            self.label,
            reasons.join("; ")
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn books_of_losses_only_say_how_many_were_lost_not_of_how_many() {
        let tally = Tally::losses_only("the span engine");
        tally.lost(3, Loss::QueueFull);
        let loss = tally.settle().unwrap();
        assert!(loss.starts_with("3 spans were lost in the span engine: 3 dropped"), "{loss}");
    }

    #[test]
    fn every_fate_is_counted_once_and_reported_once() {
        let tally = Tally::new("otlp test");
        tally.queued(10);
        tally.exported(4);
        tally.note_error("connection refused");
        tally.pending_lost(3, Loss::Failed);
        tally.pending_lost(1, Loss::Abandoned);
        tally.lost(1, Loss::AfterShutdown);
        assert_eq!(tally.pending(), 2);
        let loss = tally.settle().unwrap();
        assert!(loss.starts_with("7 of 11 spans were not delivered to otlp test"), "{loss}");
        assert!(loss.contains("3 in failed exports (connection refused)"), "{loss}");
        assert!(loss.contains("1 not exported before shutdown ended"), "{loss}");
        assert!(loss.contains("1 ended after shutdown began"), "{loss}");
        assert!(loss.contains("2 still in an export"), "{loss}");
        assert!(tally.settle().is_none(), "reported once");
    }

    #[test]
    fn nothing_lost_nothing_said() {
        let tally = Tally::new("console");
        tally.queued(2);
        tally.exported(2);
        assert!(tally.settle().is_none());
    }

    #[test]
    fn too_large_spans_are_named() {
        let tally = Tally::new("grpc");
        tally.note_too_large("upload", 9_000_000);
        tally.lost(1, Loss::TooLarge);
        let loss = tally.settle().unwrap();
        assert!(loss.contains("1 too large to send even alone: \"upload\" (9000000 bytes)"), "{loss}");
    }
}
