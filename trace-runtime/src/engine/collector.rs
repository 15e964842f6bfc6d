//! The collector thread: takes finished records off the hand-off's lanes,
//! builds each one's `SpanData` ([`span_data`](super::span_data)) and gives
//! it to the provider's processors (`on_end`; there is no SDK span to give
//! `on_start`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

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

/// How long the collector waits, while every export queue is full, before
/// it looks again (the hand-off wakes it sooner as it fills up).
const FULL_WAIT: Duration = Duration::from_micros(50);

impl Collect {
    /// How many spans to give the processors now. While every one of them
    /// is a full export queue, waits, so that a burst waits in the hand-off
    /// for the room an export is about to make instead of being dropped
    /// here. Only while the hand-off is under three quarters full: past
    /// that, under sustained overload, the export queues drop what they
    /// cannot take (counted), and the application's threads keep pushing
    /// spans without being refused. Never waits once the engine is stopping.
    fn room(&self, handoff: &HandOff, books: &Books, capacity: u64) -> usize {
        loop {
            let room = self.processors.room();
            if room > 0 {
                return room;
            }
            if handoff.stopping() || self.processors.shut_down() || books.queued() * 4 >= capacity * 3 {
                return usize::MAX;
            }
            std::thread::park_timeout(FULL_WAIT);
        }
    }
}

/// Runs until the hand-off is stopped.
pub(super) fn run(handoff: &HandOff, collect: &Collect, lost: &dyn Fn(u64, Lost), books: &Books, capacity: u64) {
    // Spans processors or exporters start here must not come back to us.
    let _suppressed = Context::new().with_telemetry_suppressed().attach();
    let mut spans = Vec::with_capacity(CHUNK);
    handoff.run(|batch| {
        // By chunks: each chunk's room in the hand-off is given back as soon
        // as its processors have it, not once the whole sweep is delivered.
        while !batch.is_empty() {
            let chunk = batch.len().min(CHUNK).min(collect.room(handoff, books, capacity));
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
