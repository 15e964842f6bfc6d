//! Log records that could not be exported, counted like spans.

use std::sync::atomic::{AtomicU64, Ordering};

/// Log records lost since the process started, over every install.
static LOST: AtomicU64 = AtomicU64::new(0);

/// How many log records never reached their exporter's destination in this
/// process so far: the export queue was full (`OTEL_BLRP_MAX_QUEUE_SIZE`),
/// the export failed or panicked, the record was still queued when shutdown
/// ran out of time, or it was made after shutdown began. The loss is also
/// said on stderr: the first one at once, then at most once a minute, and
/// a summary at shutdown. The counterpart of [`lost_spans`](crate::lost_spans).
///
/// ```
/// let before = trace_runtime::lost_logs();
/// // ... run with a collector that is down ...
/// assert!(trace_runtime::lost_logs() >= before);
/// ```
pub fn lost_logs() -> u64 {
    LOST.load(Ordering::Relaxed)
}

/// `records` were just lost.
pub(crate) fn count_lost(records: u64) {
    LOST.fetch_add(records, Ordering::Relaxed);
}
