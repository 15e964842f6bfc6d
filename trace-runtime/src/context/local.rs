//! What a span's descendants in this process inherit through the context:
//! the local root of the trace, and the service name in force.

use std::borrow::Cow;

use opentelemetry::Context;

/// Stored in the context of every local root span (and of any span that
/// changes the service), so descendants find both without walking parents.
#[derive(Debug)]
pub(crate) struct LocalTrace {
    /// The context holding the local root span.
    pub(crate) root: Context,
    /// The nearest explicit `service`, inherited by descendants (ddtrace precedence).
    pub(crate) service: Option<Cow<'static, str>>,
}
