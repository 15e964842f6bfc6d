//! The span processors of `init()`'s provider, shared with the collector:
//! the provider keeps driving them for its own (SDK path) spans, flushes
//! and shuts them down; the collector gives them the engine's finished spans
//! directly, `on_end` only, without an SDK span in between.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

/// How the collector gives one processor a batch of finished spans (the
/// vector is left empty). Returns how many of them the processor panicked
/// on.
pub(crate) type OnEnd = Box<dyn Fn(&mut Vec<SpanData>) -> u64 + Send + Sync>;

/// How many more spans a processor can take now without dropping any: a
/// traced export pipeline's free queue slots.
pub(crate) type Room = Box<dyn Fn() -> usize + Send + Sync>;

/// Every processor the collector gives spans to, in the provider's order.
#[derive(Default)]
pub(crate) struct Processors {
    on_end: Vec<OnEnd>,
    /// Per processor; `None` for one that takes any number (a user's).
    room: Vec<Option<Room>>,
    /// Set once the provider began shutting its processors down (by the
    /// guard, after the engine was drained, or by anyone holding it).
    shut_down: Arc<AtomicBool>,
}

impl std::fmt::Debug for Processors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processors").field("count", &self.on_end.len()).finish_non_exhaustive()
    }
}

impl Processors {
    /// Shares `processor` with the provider: returns what to give the
    /// provider's builder; the collector calls `on_end` for each engine span.
    /// The processor's resource must already be set: the provider cannot
    /// reach into a shared one.
    /// `room`, when given, tells the collector how many spans the processor
    /// can take now (see [`Processors::room`]).
    pub(crate) fn share(
        &mut self,
        processor: Arc<dyn SpanProcessor>,
        on_end: OnEnd,
        room: Option<Room>,
    ) -> SharedProcessor {
        self.on_end.push(on_end);
        self.room.push(room);
        SharedProcessor { inner: processor, shut_down: Arc::clone(&self.shut_down) }
    }

    /// True once the provider was shut down: its processors take no spans.
    pub(crate) fn shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }

    /// The most spans one of the processors can take now without dropping
    /// any (`usize::MAX` when one takes any number, or there are none).
    /// Zero only when every processor is a full export queue.
    pub(crate) fn room(&self) -> usize {
        let mut most = if self.room.is_empty() { usize::MAX } else { 0 };
        for room in &self.room {
            match room {
                None => return usize::MAX,
                Some(room) => most = most.max(room()),
            }
        }
        most
    }

    /// Gives `spans` to every processor, cloned for all but the last, as
    /// the SDK does. Returns how many spans a processor panicked on.
    pub(crate) fn on_end_all(&self, spans: &mut Vec<SpanData>) -> u64 {
        let Some((last, others)) = self.on_end.split_last() else {
            spans.clear();
            return 0;
        };
        let mut panicked = 0;
        for on_end in others {
            panicked += on_end(&mut spans.clone());
        }
        panicked + last(spans)
    }
}

/// The [`OnEnd`] of a processor of the user's own: `on_end` span by span,
/// each under `catch_unwind` (a panic loses that span only).
pub(crate) fn one_by_one(processor: Arc<dyn SpanProcessor>) -> OnEnd {
    Box::new(move |spans| {
        let mut panicked = 0;
        for span in spans.drain(..) {
            if catch_unwind(AssertUnwindSafe(|| processor.on_end(span))).is_err() {
                panicked += 1;
            }
        }
        panicked
    })
}

/// One processor as the provider holds it: every call forwarded; shutting
/// it down also tells the collector.
#[derive(Debug)]
pub(crate) struct SharedProcessor {
    inner: Arc<dyn SpanProcessor>,
    shut_down: Arc<AtomicBool>,
}

impl SpanProcessor for SharedProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.shut_down.store(true, Ordering::Release);
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, _resource: &Resource) {
        // Set on the processor before it was shared (`Processors::share`).
    }
}
