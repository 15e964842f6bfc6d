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
    /// Attribute `key` when it is a string (short for [`attribute_str`](Self::attribute_str)).
    ///
    /// ```
    /// # use trace_runtime::testing::{capture, SpanDataExt};
    /// #[trace_runtime::traced(attrs(user = "ada", n = 3))] fn f() {}
    /// let c = capture(f);
    /// assert_eq!(c.span("f").attr_str("user"), Some("ada"));
    /// assert_eq!(c.span("f").attr_str("n"), None); // an integer, not a string
    /// ```
    fn attr_str(&self, key: &str) -> Option<&str> {
        self.attribute_str(key)
    }
    /// Attribute `key` when it is an integer.
    ///
    /// ```
    /// # use trace_runtime::testing::{capture, SpanDataExt};
    /// #[trace_runtime::traced(attrs(retries = 3u8))] fn f() {}
    /// assert_eq!(capture(f).span("f").attr_i64("retries"), Some(3));
    /// ```
    fn attr_i64(&self, key: &str) -> Option<i64> {
        match self.attribute(key)? {
            Value::I64(v) => Some(*v),
            _ => None,
        }
    }
    /// Attribute `key` when it is a float.
    ///
    /// ```
    /// # use trace_runtime::testing::{capture, SpanDataExt};
    /// #[trace_runtime::traced(attrs(ratio = 0.5))] fn f() {}
    /// assert_eq!(capture(f).span("f").attr_f64("ratio"), Some(0.5));
    /// ```
    fn attr_f64(&self, key: &str) -> Option<f64> {
        match self.attribute(key)? {
            Value::F64(v) => Some(*v),
            _ => None,
        }
    }
    /// Attribute `key` when it is a boolean.
    ///
    /// ```
    /// # use trace_runtime::testing::{capture, SpanDataExt};
    /// #[trace_runtime::traced(attrs(cache.hit = true))] fn f() {}
    /// assert_eq!(capture(f).span("f").attr_bool("cache.hit"), Some(true));
    /// ```
    fn attr_bool(&self, key: &str) -> Option<bool> {
        match self.attribute(key)? {
            Value::Bool(v) => Some(*v),
            _ => None,
        }
    }
    /// The first event named `name`.
    fn event(&self, name: &str) -> Option<&Event>;
    /// Every event named `name`, in the order they were added.
    ///
    /// ```
    /// # use trace_runtime::testing::{capture, SpanDataExt};
    /// #[trace_runtime::traced]
    /// fn f() {
    ///     for attempt in 1..=2 {
    ///         trace_runtime::current_span().add_event("retry", [opentelemetry::KeyValue::new("attempt", attempt)]);
    ///     }
    /// }
    /// let c = capture(f);
    /// let retries = c.span("f").events("retry");
    /// assert_eq!(retries.len(), 2);
    /// assert_eq!(retries[1].attributes[0].value, opentelemetry::Value::I64(2));
    /// ```
    fn events(&self, name: &str) -> Vec<&Event>;
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

    fn events(&self, name: &str) -> Vec<&Event> {
        self.events.iter().filter(|e| e.name == name).collect()
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
