//! Requests a server integration already continued: extracting the same
//! remote parent again inside them (`parent = extract(&headers)` in a
//! handler under `http::server_layer()`) must nest under the server span,
//! not start a sibling of it.

use opentelemetry::trace::SpanContext;
use opentelemetry::Context;

/// Stored in the context of a server span that continued `remote`.
#[derive(Debug)]
pub(crate) struct HandledRequest(SpanContext);

/// `cx` (holding the server span), remembering that it continues `remote`.
#[cfg_attr(not(feature = "tower"), allow(dead_code))]
pub(crate) fn mark(cx: Context, remote: SpanContext) -> Context {
    cx.with_value(HandledRequest(remote))
}

/// True when `base` is inside a server span that already continued `remote`.
pub(crate) fn already_continued(base: &Context, remote: &SpanContext) -> bool {
    base.get::<HandledRequest>()
        .is_some_and(|handled| handled.0.trace_id() == remote.trace_id() && handled.0.span_id() == remote.span_id())
}
