//! [`SpanDataExt`]: short assertions on a captured span.

use opentelemetry::trace::{Event, SpanId, Status};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;

/// Lookups on an `opentelemetry_sdk::trace::SpanData` that tests need all the time.
///
/// ```
/// use trace_runtime::testing::{capture, SpanDataExt};
///
/// #[trace_runtime::traced(attrs(user = "ada"))]
/// fn login() -> Result<(), std::io::Error> {
///     Err(std::io::Error::other("locked"))
/// }
///
/// let c = capture(login);
/// let span = c.span("login");
/// assert_eq!(span.attribute_str("user"), Some("ada"));
/// assert_eq!(span.error_description(), Some("locked"));
/// assert!(span.event("exception").is_some());
/// ```
pub trait SpanDataExt {
    /// The value of attribute `key` (the last one if set twice).
    fn attribute(&self, key: &str) -> Option<&Value>;
    /// The value of attribute `key` when it is a string.
    fn attribute_str(&self, key: &str) -> Option<&str>;
    /// The first event named `name`.
    fn event(&self, name: &str) -> Option<&Event>;
    /// The value of attribute `key` on the first event named `event`.
    fn event_attribute(&self, event: &str, key: &str) -> Option<&Value>;
    /// The status description when the status is ERROR.
    fn error_description(&self) -> Option<&str>;
    /// True when the status is ERROR.
    fn is_error(&self) -> bool;
    /// True when `parent` is this span's parent.
    fn is_child_of(&self, parent: &SpanData) -> bool;
    /// True when the span has no parent at all (a new trace started here).
    fn is_root(&self) -> bool;
}

impl SpanDataExt for SpanData {
    fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes.iter().rev().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
    }

    fn attribute_str(&self, key: &str) -> Option<&str> {
        match self.attribute(key)? {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
    }

    fn event(&self, name: &str) -> Option<&Event> {
        self.events.iter().find(|e| e.name == name)
    }

    fn event_attribute(&self, event: &str, key: &str) -> Option<&Value> {
        self.event(event)?.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
    }

    fn error_description(&self) -> Option<&str> {
        match &self.status {
            Status::Error { description } => Some(description.as_ref()),
            _ => None,
        }
    }

    fn is_error(&self) -> bool {
        matches!(self.status, Status::Error { .. })
    }

    fn is_child_of(&self, parent: &SpanData) -> bool {
        self.parent_span_id == parent.span_context.span_id()
            && self.span_context.trace_id() == parent.span_context.trace_id()
    }

    fn is_root(&self) -> bool {
        self.parent_span_id == SpanId::INVALID
    }
}
