//! [`log_ids`]: the ids of the current span, to stamp on a log line of a
//! logger that is not exported (see the module docs for the recipes).

use std::fmt;

use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use opentelemetry::Context;

/// The trace and span id of the current span, for log lines. Its `Display`
/// is `trace_id=<32 hex> span_id=<16 hex>`, or nothing at all when no span
/// is current, so it can be put on every log line unconditionally.
///
/// ```
/// use trace_runtime::{log_ids, traced};
///
/// #[traced]
/// fn handle() -> String {
///     format!("{} order accepted", log_ids())
/// }
///
/// # let _guard = trace_runtime::init().env_lookup(|_| None).exporter(trace_runtime::ConsoleExporter::to_writer(std::io::sink())).install().unwrap();
/// let line = handle();
/// assert!(line.starts_with("trace_id="), "{line}");
/// assert_eq!(log_ids().to_string(), ""); // no span current here
/// ```
pub fn log_ids() -> LogIds {
    Context::map_current(|cx| {
        let span = cx.span();
        let sc = span.span_context();
        LogIds { trace_id: sc.trace_id(), span_id: sc.span_id() }
    })
}

/// Ids of one span for log lines; made by [`log_ids`].
///
/// ```
/// let ids = trace_runtime::log_ids();
/// if let (Some(trace_id), Some(span_id)) = (ids.trace_id(), ids.span_id()) {
///     println!(r#"{{"msg":"hi","trace_id":"{trace_id}","span_id":"{span_id}"}}"#);
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogIds {
    trace_id: TraceId,
    span_id: SpanId,
}

impl LogIds {
    /// True when a span is current (its ids are not all zeros).
    ///
    /// ```
    /// assert!(!trace_runtime::log_ids().is_valid());
    /// ```
    pub fn is_valid(&self) -> bool {
        self.trace_id != TraceId::INVALID && self.span_id != SpanId::INVALID
    }

    /// The trace id as 32 lowercase hex digits, `None` with no span.
    ///
    /// ```
    /// assert_eq!(trace_runtime::log_ids().trace_id(), None);
    /// ```
    pub fn trace_id(&self) -> Option<String> {
        self.is_valid().then(|| self.trace_id.to_string())
    }

    /// The span id as 16 lowercase hex digits, `None` with no span.
    ///
    /// ```
    /// assert_eq!(trace_runtime::log_ids().span_id(), None);
    /// ```
    pub fn span_id(&self) -> Option<String> {
        self.is_valid().then(|| self.span_id.to_string())
    }
}

impl fmt::Display for LogIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_valid() {
            write!(f, "trace_id={} span_id={}", self.trace_id, self.span_id)
        } else {
            Ok(())
        }
    }
}
