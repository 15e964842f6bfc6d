//! The current span and the local root span, read from OpenTelemetry's
//! `Context` so that `#[traced]`, raw OpenTelemetry calls and these functions
//! always agree on what is current; `carry` takes the current span into
//! spawned tasks, threads and pools.

mod carry;

use opentelemetry::Context;

use crate::local_root::root_of;
#[allow(deprecated)] // the old name stays public until the next major version
pub use carry::spawn_context;
pub use carry::{bind_current_span, in_current_span, run_in_span, CurrentSpanExt, InSpan};

use crate::SpanHandle;

/// The span that is current here: the innermost `#[traced]` function, entered
/// [`SpanGuard`](crate::SpanGuard) or raw OpenTelemetry span.
///
/// With no span current (or nothing installed) the handle is inert: its
/// methods do nothing and its ids are all zeros.
///
/// ```
/// use trace_runtime::{current_span, traced};
///
/// #[traced]
/// fn checkout(cart_items: u32) {
///     let span = current_span();
///     if span.is_recording() {
///         span.set_attribute("cart.items", cart_items);
///     }
/// }
/// checkout(3);
/// ```
pub fn current_span() -> SpanHandle {
    SpanHandle::from_context(Context::current())
}

/// The local root of the current trace in this process: the outermost span
/// started here, or the one that continued a remote parent (ddtrace
/// `tracer.current_root_span()`).
///
/// Use it to put request-level facts (user id, tenant, outcome) on the span a
/// backend groups the request by, from deep inside the call tree. With no
/// span current, the handle is inert.
///
/// The root is found from any thread and whatever made the current span
/// current: `#[traced]`, a task or thread the span was carried into, a raw
/// `Context::attach` or `FutureExt::with_context`, a `tracing` span. Where
/// the root is not the current span, what is set through the handle is
/// applied to the root when it ends (its end time included, for
/// [`SpanHandle::end`]). Once the root has ended, the current span answers
/// instead; with several local roots of one trace open in this process (a
/// service calling itself), the one started last.
///
/// ```
/// use trace_runtime::{current_root_span, traced};
///
/// #[traced]
/// fn handle_request() {
///     authenticate();
/// }
///
/// #[traced]
/// fn authenticate() {
///     current_root_span().set_attribute("user.id", "u-42");
/// }
/// handle_request();
/// ```
pub fn current_root_span() -> SpanHandle {
    Context::map_current(|cx| SpanHandle::from_context(root_of(cx)))
}
