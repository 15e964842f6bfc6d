//! The traces the console is still collecting, and when each is ready.
//!
//! The exporter sees spans only when they end, in batches, so "the trace is
//! finished" has to be inferred. A trace is printed:
//!
//! - once it is **complete and quiet**: every span's parent is in the block,
//!   or is absent (the trace's root), or is remote (it may live in another
//!   process), and no span of the trace arrived for [`QUIET`]. The wait lets
//!   spans that end just after the root (fire-and-forget tasks, a client
//!   span ending after the server span it called in this same process) join
//!   their trace;
//! - once it has been **quiet for [`OPEN_QUIET`]** although some span's local
//!   parent never arrived (a long-running parent is still open): what is
//!   there is printed rather than held forever;
//! - **early**, when the pending traces exceed [`MAX_TRACES`] or
//!   [`MAX_SPANS`]: the oldest are printed first, nothing is dropped;
//! - at flush and shutdown, everything.
//!
//! Spans of a trace arriving after its block was printed make a second block
//! marked `(continued)`, printed after the short wait (their parents are
//! most likely in the first block).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::SpanData;

/// How long a complete trace waits for late spans (fire-and-forget tasks).
pub(crate) const QUIET: Duration = Duration::from_millis(500);
/// How long an incomplete trace (a parent still open) waits for more spans;
/// longer than the batch processor's default 5 s schedule delay, so that a
/// trace split across two batches is still printed whole.
pub(crate) const OPEN_QUIET: Duration = Duration::from_secs(6);
/// Traces held at once; past it the least recently active is printed.
pub(crate) const MAX_TRACES: usize = 1024;
/// Spans held at once over all traces; past it the oldest traces are printed.
pub(crate) const MAX_SPANS: usize = 65_536;
/// Trace ids remembered as printed, to mark a later block `(continued)`.
const MAX_PRINTED: usize = 4096;

/// One block to print: spans of one trace.
#[derive(Debug)]
pub(crate) struct Block {
    pub(crate) trace_id: TraceId,
    pub(crate) spans: Vec<SpanData>,
    /// Some spans of this trace were printed in an earlier block.
    pub(crate) continued: bool,
}

#[derive(Debug)]
struct Trace {
    spans: Vec<SpanData>,
    last_seen: Instant,
}

#[derive(Debug, Default)]
pub(crate) struct Pending {
    traces: HashMap<TraceId, Trace>,
    spans: usize,
    printed: HashSet<TraceId>,
    printed_order: VecDeque<TraceId>,
}

impl Pending {
    /// Adds ended spans; returns blocks that must be printed now to stay
    /// within the bounds.
    pub(crate) fn add(&mut self, batch: Vec<SpanData>, now: Instant) -> Vec<Block> {
        for span in batch {
            let trace = self
                .traces
                .entry(span.span_context.trace_id())
                .or_insert_with(|| Trace { spans: Vec::new(), last_seen: now });
            trace.spans.push(span);
            trace.last_seen = now;
            self.spans += 1;
        }
        let mut early = Vec::new();
        while self.traces.len() > MAX_TRACES || self.spans > MAX_SPANS {
            let Some(oldest) = self.traces.iter().min_by_key(|(_, t)| t.last_seen).map(|(id, _)| *id) else {
                break;
            };
            early.extend(self.take(oldest));
        }
        early
    }

    /// Blocks ready at `now` (see the module docs), oldest first.
    pub(crate) fn ready(&mut self, now: Instant) -> Vec<Block> {
        let mut due: Vec<(Instant, TraceId)> = self
            .traces
            .iter()
            .filter(|(id, t)| is_ready(t, now, self.printed.contains(id)))
            .map(|(id, t)| (t.last_seen, *id))
            .collect();
        due.sort_by_key(|(seen, _)| *seen);
        due.into_iter().filter_map(|(_, id)| self.take(id)).collect()
    }

    /// Every pending block, oldest first (flush, shutdown).
    pub(crate) fn drain(&mut self) -> Vec<Block> {
        let mut all: Vec<(Instant, TraceId)> = self.traces.iter().map(|(id, t)| (t.last_seen, *id)).collect();
        all.sort_by_key(|(seen, _)| *seen);
        all.into_iter().filter_map(|(_, id)| self.take(id)).collect()
    }

    /// True when nothing is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.traces.is_empty()
    }

    fn take(&mut self, trace_id: TraceId) -> Option<Block> {
        let trace = self.traces.remove(&trace_id)?;
        self.spans -= trace.spans.len();
        let continued = !self.printed.insert(trace_id);
        if !continued {
            self.printed_order.push_back(trace_id);
            if self.printed_order.len() > MAX_PRINTED {
                if let Some(old) = self.printed_order.pop_front() {
                    self.printed.remove(&old);
                }
            }
        }
        Some(Block { trace_id, spans: trace.spans, continued })
    }
}

/// `continued`: part of the trace was printed already, so a missing parent
/// is most likely in that part; only the short wait applies.
fn is_ready(trace: &Trace, now: Instant, continued: bool) -> bool {
    let quiet = now.saturating_duration_since(trace.last_seen);
    if quiet >= OPEN_QUIET {
        return true;
    }
    quiet >= QUIET && (continued || is_complete(&trace.spans))
}

/// Every span's parent is present, absent or remote: no span of this
/// process is known to be still open.
fn is_complete(spans: &[SpanData]) -> bool {
    let ids: HashSet<SpanId> = spans.iter().map(|s| s.span_context.span_id()).collect();
    spans
        .iter()
        .all(|s| s.parent_span_id == SpanId::INVALID || s.parent_span_is_remote || ids.contains(&s.parent_span_id))
}
