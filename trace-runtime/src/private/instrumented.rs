//! The future of an async traced function: its span is current on every
//! poll, a panic is recorded, and dropping it early ends the span as cancelled.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::{SpanRef, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use pin_project_lite::pin_project;

use super::AsyncStart;
use crate::exceptions::panic;
use crate::metrics::{Call, Polling};

pin_project! {
    /// Wraps the body of an async traced function.
    pub struct Instrumented<F> {
        #[pin]
        inner: F,
        cx: Option<Context>,
        // Counted when the future finishes, panics or is dropped.
        call: Option<Call>,
    }

    impl<F> PinnedDrop for Instrumented<F> {
        fn drop(this: Pin<&mut Self>) {
            // Still holding the span: the future was dropped before it finished.
            if let Some(cx) = this.project().cx.take() {
                let span = cx.span();
                span.set_attribute(KeyValue::new("traced.cancelled", true));
                span.add_event("cancelled", Vec::new());
                span.end();
            }
        }
    }
}

impl<F> Instrumented<F> {
    #[inline]
    pub fn new(start: AsyncStart, inner: F) -> Self {
        let AsyncStart { cx, mut call } = start;
        if let (Some(call), Some(cx)) = (&mut call, &cx) {
            call.runs_in(cx.span().span_context());
        }
        Instrumented { inner, cx, call }
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = (F::Output, Finished);

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // Nested traced calls see this function as their caller.
        let polling = this.call.as_ref().map(|call| Polling::enter(call.site()));
        let Some(cx) = this.cx.as_ref() else {
            let Some(polling) = polling else {
                return this.inner.poll(task).map(|out| (out, Finished { cx: None, call: None }));
            };
            let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| this.inner.poll(task)));
            drop(polling);
            return match polled {
                Ok(poll) => poll.map(|out| (out, Finished { cx: None, call: this.call.take() })),
                Err(payload) => {
                    if let Some(call) = this.call.as_ref() {
                        call.fail();
                    }
                    std::panic::resume_unwind(payload)
                }
            };
        };
        let attached = cx.clone().attach();
        let inner = this.inner;
        // The panic is resumed right after it is recorded: unwind safety holds.
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(task)));
        drop(attached);
        drop(polling);
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => Poll::Ready((out, Finished { cx: this.cx.take(), call: this.call.take() })),
            Err(payload) => {
                if let Some(call) = this.call.as_ref() {
                    call.fail();
                }
                if let Some(cx) = this.cx.take() {
                    let span = cx.span();
                    panic::exception(&*payload).record(&span);
                    span.end();
                }
                std::panic::resume_unwind(payload)
            }
        }
    }
}

/// The span of a completed async traced function, until its outcome is recorded.
pub struct Finished {
    cx: Option<Context>,
    /// Declared after `cx`: the span ends before the call is counted.
    call: Option<Call>,
}

impl Finished {
    /// The span, for recording the outcome.
    #[inline]
    pub fn span(&self) -> Option<SpanRef<'_>> {
        self.cx.as_ref().map(TraceContextExt::span)
    }

    /// The function returned an error: `result = error` in its metrics.
    #[inline]
    pub fn failed(&self) {
        if let Some(call) = &self.call {
            call.fail();
        }
    }
}

impl Drop for Finished {
    #[inline]
    fn drop(&mut self) {
        if let Some(cx) = &self.cx {
            cx.span().end();
        }
    }
}
