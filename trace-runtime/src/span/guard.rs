//! [`SpanGuard`]: a manual span that is current until dropped or finished
//! (ddtrace `with tracer.trace(..)` / `span.finish()`).

use std::ops::Deref;

use opentelemetry::trace::Status;
use opentelemetry::ContextGuard;

use super::SpanHandle;

/// A span that is current on this thread until the guard is dropped or
/// [`finish`](SpanGuard::finish)ed; spans started meanwhile are its children.
/// Made by [`NewSpan::enter`](crate::NewSpan::enter).
///
/// If the thread panics while the guard is alive, the span ends with status
/// ERROR. The guard is not `Send`: to carry a span across `.await` points or
/// threads, use [`NewSpan::start`](crate::NewSpan::start) and
/// [`CurrentSpanExt::in_span`](crate::CurrentSpanExt::in_span).
///
/// ```
/// let guard = trace_runtime::span("load-config").enter();
/// guard.set_attribute("config.path", "/etc/app.toml");
/// guard.finish();
/// ```
#[must_use = "the span ends as soon as the guard is dropped"]
#[derive(Debug)]
pub struct SpanGuard {
    handle: SpanHandle,
    attached: Option<ContextGuard>,
}

impl SpanGuard {
    pub(crate) fn new(handle: SpanHandle, attached: Option<ContextGuard>) -> Self {
        SpanGuard { handle, attached }
    }

    /// Ends the span now and restores the previous current span.
    ///
    /// ```
    /// let step = trace_runtime::span("step").enter();
    /// step.finish();
    /// ```
    pub fn finish(self) {
        drop(self);
    }

    /// A handle to the span that outlives the guard.
    ///
    /// ```
    /// let guard = trace_runtime::span("job").enter();
    /// let handle = guard.handle();
    /// drop(guard);
    /// handle.set_attribute("ignored", true); // the span has ended
    /// ```
    pub fn handle(&self) -> SpanHandle {
        self.handle.clone()
    }
}

impl Deref for SpanGuard {
    type Target = SpanHandle;

    fn deref(&self) -> &SpanHandle {
        &self.handle
    }
}

impl Drop for SpanGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.handle.set_status(Status::error("panicked while the span was current"));
        }
        // Restore the previous context before ending, so that whatever the
        // span processors do on end never runs "inside" the finished span.
        drop(self.attached.take());
        self.handle.end();
    }
}
