//! The collector thread: takes finished records off the hand-off's lanes,
//! builds each one's `SpanData` ([`span_data`](super::span_data)) and gives
//! it to the provider's processors (`on_end`; there is no SDK span to give
//! `on_start`).

use std::panic::{catch_unwind, AssertUnwindSafe};

use opentelemetry::trace::SpanContext;
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::trace::SpanLimits;

use super::handoff::HandOff;
use super::processors::Processors;
use super::record::Record;
use super::{span_data, Books, Lost};

/// What the collector gives spans to, and how it builds them.
#[derive(Debug)]
pub(crate) struct Collect {
    /// The provider's processors, shared with it.
    pub(crate) processors: Processors,
    /// The scope of traced's own spans (raw spans carry theirs).
    pub(crate) scope: InstrumentationScope,
    pub(crate) limits: SpanLimits,
}

/// Runs until the hand-off is stopped.
pub(super) fn run(handoff: &HandOff, collect: &Collect, lost: &dyn Fn(u64, Lost), books: &Books) {
    // Spans processors or exporters start here must not come back to us.
    let _suppressed = Context::new().with_telemetry_suppressed().attach();
    handoff.run(|(context, record)| {
        // A panicking processor loses this span only, not the collector.
        if catch_unwind(AssertUnwindSafe(|| deliver(collect, context, record, lost))).is_err() {
            lost(1, Lost::Panicked);
        }
        // Only now: the processors already count it (queued or lost).
        books.delivered();
    });
}

fn deliver(collect: &Collect, context: SpanContext, record: Record, lost: &dyn Fn(u64, Lost)) {
    if collect.processors.shut_down() {
        // The provider was shut down (by someone holding it, around the
        // guard): no processor takes the span, as on the SDK path.
        lost(1, Lost::AfterShutdown);
        return;
    }
    collect.processors.on_end(span_data::build(context, record, &collect.limits, &collect.scope));
}
