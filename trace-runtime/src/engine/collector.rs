//! The collector thread: takes finished records off the hand-off's lanes,
//! builds each one's `SpanData` ([`span_data`](super::span_data)) and gives
//! it to the provider's processors (`on_end`; there is no SDK span to give
//! `on_start`).

use std::panic::{catch_unwind, AssertUnwindSafe};

use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::trace::SpanLimits;

use super::handoff::HandOff;
use super::processors::Processors;
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

/// The most spans built and given to the processors at once.
const CHUNK: usize = 128;

/// Runs until the hand-off is stopped.
pub(super) fn run(handoff: &HandOff, collect: &Collect, lost: &dyn Fn(u64, Lost), books: &Books) {
    // Spans processors or exporters start here must not come back to us.
    let _suppressed = Context::new().with_telemetry_suppressed().attach();
    let mut spans = Vec::with_capacity(CHUNK);
    handoff.run(|batch| {
        // By chunks: each chunk's room in the hand-off is given back as soon
        // as its processors have it, not once the whole sweep is delivered.
        while !batch.is_empty() {
            let chunk = batch.len().min(CHUNK);
            if collect.processors.shut_down() {
                // The provider was shut down (by someone holding it, around
                // the guard): no processor takes the spans, as on the SDK path.
                batch.drain(..chunk);
                lost(chunk as u64, Lost::AfterShutdown);
            } else {
                spans.extend(
                    batch
                        .drain(..chunk)
                        .map(|(context, record)| span_data::build(context, record, &collect.limits, &collect.scope)),
                );
                // A panicking processor loses the spans it panicked on, not the collector.
                let panicked = catch_unwind(AssertUnwindSafe(|| collect.processors.on_end_all(&mut spans)))
                    .unwrap_or(chunk as u64);
                spans.clear();
                lost(panicked, Lost::Panicked);
            }
            // Only now: the processors already count them (queued or lost).
            books.delivered(chunk as u64);
        }
    });
}
