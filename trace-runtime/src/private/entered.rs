//! The live span of a sync traced function.

use std::any::Any;

use opentelemetry::trace::{SpanRef, TraceContextExt};
use opentelemetry::{Context, ContextGuard};

use crate::errors::panic;

/// Current from creation until drop, when the span ends.
pub struct Entered {
    cx: Option<Context>,
    attached: Option<ContextGuard>,
}

impl Entered {
    #[inline]
    pub(crate) fn disabled() -> Self {
        Entered { cx: None, attached: None }
    }

    pub(crate) fn new(cx: Option<Context>) -> Self {
        match cx {
            Some(cx) => Entered { attached: Some(cx.clone().attach()), cx: Some(cx) },
            None => Self::disabled(),
        }
    }

    /// The span, for recording the outcome.
    #[inline]
    pub fn span(&self) -> Option<SpanRef<'_>> {
        self.cx.as_ref().map(TraceContextExt::span)
    }

    /// Records the panic, ends the span, and resumes unwinding unchanged.
    pub fn resume_panic(self, payload: Box<dyn Any + Send>) -> ! {
        if let Some(span) = self.span() {
            panic::exception(&*payload).record(&span);
        }
        drop(self);
        std::panic::resume_unwind(payload)
    }
}

impl Drop for Entered {
    #[inline]
    fn drop(&mut self) {
        drop(self.attached.take());
        if let Some(cx) = &self.cx {
            cx.span().end();
        }
    }
}
