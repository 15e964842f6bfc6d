//! The live span of a sync traced function.

use std::any::Any;

use opentelemetry::trace::{SpanRef, TraceContextExt};
use opentelemetry::{Context, ContextGuard};

use crate::exceptions::panic;
use crate::metrics::Call;

/// Current from creation until drop, when the span ends. A panic is
/// recorded either by [`Entered::resume_panic`] (the body ran in a closure
/// under `catch_unwind`) or, for a body that runs as a plain block, by the
/// drop, which sees the unwinding.
pub struct Entered {
    active: Option<Active>,
    /// Declared after `active`: the span ends before the call is counted.
    call: Option<Call>,
    /// The thread was already unwinding when the call started (a traced
    /// call in a destructor): that panic is not this call's.
    unwinding_at_start: bool,
}

/// A started, attached span. Kept apart so that dropping a disabled
/// [`Entered`] is one inlined check and nothing else: with nothing
/// installed, a traced call stays within a few instructions of a plain one.
struct Active {
    cx: Context,
    attached: ContextGuard,
    /// The span records (else ending it would only read the clock).
    recording: bool,
}

impl Entered {
    /// No span, the metrics only: a panic marks the call failed, its message
    /// is not needed.
    #[inline]
    pub(crate) fn disabled(call: Option<Call>) -> Self {
        Entered { active: None, call, unwinding_at_start: std::thread::panicking() }
    }

    pub(crate) fn new(cx: Option<Context>, mut call: Option<Call>) -> Self {
        crate::exceptions::panic_hook::install(false);
        if let (Some(call), Some(cx)) = (&mut call, &cx) {
            call.runs_in(cx.span().span_context());
        }
        Entered {
            active: cx.map(|cx| {
                // Sampled implies recording: the span's lock is only taken
                // for the rare span that records without being sampled.
                let span = cx.span();
                let recording = span.span_context().is_sampled() || span.is_recording();
                Active { recording, attached: cx.clone().attach(), cx }
            }),
            call,
            unwinding_at_start: std::thread::panicking(),
        }
    }

    /// The function returned an error: `result = error` in its metrics.
    #[inline]
    pub fn failed(&self) {
        if let Some(call) = &self.call {
            call.fail();
        }
    }

    /// The span, for recording the outcome.
    #[inline]
    pub fn span(&self) -> Option<SpanRef<'_>> {
        self.active.as_ref().map(|active| active.cx.span())
    }

    /// Records the panic, ends the span, and resumes unwinding unchanged.
    pub fn resume_panic(self, payload: Box<dyn Any + Send>) -> ! {
        self.record_panic(&*payload);
        drop(self);
        std::panic::resume_unwind(payload)
    }

    fn record_panic(&self, payload: &(dyn Any + Send)) {
        self.failed();
        if let Some(span) = self.span() {
            panic::exception(payload).record(&span);
        }
    }

    /// The body, run as a plain block, is unwinding through the drop.
    #[cold]
    fn record_unwinding(&self) {
        let message = crate::exceptions::panic_hook::message().unwrap_or_else(|| {
            "panic (its message was not seen: a panic hook set after trace-runtime's replaced it without calling it)"
                .to_owned()
        });
        let message: Box<dyn Any + Send> = Box::new(message);
        self.record_panic(&*message);
    }
}

impl Active {
    #[inline(never)]
    fn end(self) {
        // Restore the previous context before ending, so span processors
        // never run "inside" the finished span.
        drop(self.attached);
        if self.recording {
            self.cx.span().end();
        }
    }
}

impl Drop for Entered {
    #[inline(always)]
    fn drop(&mut self) {
        if std::thread::panicking() && !self.unwinding_at_start {
            self.record_unwinding();
        }
        if let Some(active) = self.active.take() {
            active.end();
        }
    }
}
