//! [`SpanHandle`]: a cheap, clonable reference to one span.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use opentelemetry::trace::{SpanContext, Status, TraceContextExt};
use opentelemetry::{Context, Key, KeyValue};

use crate::exceptions::Exception;
use crate::values::AttributeValue;

/// A reference to a span: the current one ([`current_span`](crate::current_span)),
/// the local root ([`current_root_span`](crate::current_root_span)), or one
/// you started ([`span`](crate::span)).
///
/// Every method is safe to call on any span: on a span that is not recording
/// (nothing installed, sampled out, already ended) they do nothing and cost
/// next to nothing.
///
/// ```
/// use opentelemetry::KeyValue;
/// use trace_runtime::{current_span, traced};
///
/// #[traced]
/// fn resize(width: u32) -> Result<(), std::io::Error> {
///     let span = current_span();
///     span.set_attribute("image.width", width);
///     span.add_event("decoded", [KeyValue::new("bytes", 1024)]);
///     Ok(())
/// }
/// resize(640).unwrap();
/// ```
#[derive(Clone)]
pub struct SpanHandle {
    cx: Context,
}

impl SpanHandle {
    pub(crate) fn from_context(cx: Context) -> Self {
        SpanHandle { cx }
    }

    /// Sets an attribute; a value that records nothing (`None`) is skipped.
    ///
    /// ```
    /// trace_runtime::current_span().set_attribute("http.response.status_code", 200);
    /// ```
    pub fn set_attribute(&self, key: impl Into<Key>, value: impl AttributeValue) {
        let span = self.cx.span();
        if !span.is_recording() {
            return;
        }
        if let Some(value) = value.to_attribute_value() {
            span.set_attribute(KeyValue::new(key, value));
        }
    }

    /// Adds an event with attributes, timestamped now.
    ///
    /// ```
    /// use opentelemetry::KeyValue;
    /// trace_runtime::current_span().add_event("cache.miss", [KeyValue::new("key", "user:42")]);
    /// trace_runtime::current_span().add_event("retrying", []);
    /// ```
    pub fn add_event(&self, name: impl Into<Cow<'static, str>>, attributes: impl IntoIterator<Item = KeyValue>) {
        let span = self.cx.span();
        if span.is_recording() {
            span.add_event(name, attributes.into_iter().collect());
        }
    }

    /// Records an error: status ERROR with the error's message as description,
    /// and an `exception` event with `exception.type`, `exception.message` and,
    /// when the error has a `source()` chain, `exception.stacktrace` listing it.
    ///
    /// ```
    /// let err = std::io::Error::new(std::io::ErrorKind::NotFound, "config.toml");
    /// trace_runtime::current_span().record_error(&err);
    /// ```
    pub fn record_error<E: StdError + 'static>(&self, error: &E) {
        Exception::from_error(std::any::type_name::<E>(), error).record(&self.cx.span());
    }

    /// Records an error given as a trait object (its type name is not known,
    /// so `exception.type` is the message's source type when available).
    ///
    /// ```
    /// let err: Box<dyn std::error::Error> = "bad input".into();
    /// trace_runtime::current_span().record_dyn_error(err.as_ref());
    /// ```
    pub fn record_dyn_error(&self, error: &(dyn StdError + 'static)) {
        Exception::from_error("dyn std::error::Error", error).record(&self.cx.span());
    }

    /// Sets the status. `Status::Ok` is final; an error status overrides unset.
    ///
    /// ```
    /// use opentelemetry::trace::Status;
    /// trace_runtime::current_span().set_status(Status::error("payment declined"));
    /// ```
    pub fn set_status(&self, status: Status) {
        self.cx.span().set_status(status);
    }

    /// Renames the span.
    ///
    /// ```
    /// trace_runtime::current_span().update_name("GET /users/{id}");
    /// ```
    pub fn update_name(&self, name: impl Into<Cow<'static, str>>) {
        self.cx.span().update_name(name);
    }

    /// Adds a link to another span (one that caused or relates to this one).
    ///
    /// ```
    /// let other = trace_runtime::span("producer").start();
    /// trace_runtime::current_span().add_link(other.span_context(), vec![]);
    /// ```
    pub fn add_link(&self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        self.cx.span().add_link(span_context, attributes);
    }

    /// True when the span records what is set on it; guard expensive
    /// attributes with it.
    ///
    /// ```
    /// let span = trace_runtime::current_span();
    /// if span.is_recording() {
    ///     span.set_attribute("payload.summary", format!("{:?}", vec![1, 2, 3]));
    /// }
    /// ```
    pub fn is_recording(&self) -> bool {
        self.cx.span().is_recording()
    }

    /// The trace id as 32 lowercase hex digits (all zeros with no span):
    /// the value to stamp on log lines for correlation.
    ///
    /// ```
    /// assert_eq!(trace_runtime::current_span().trace_id().len(), 32);
    /// ```
    pub fn trace_id(&self) -> String {
        self.span_context().trace_id().to_string()
    }

    /// The span id as 16 lowercase hex digits (all zeros with no span).
    ///
    /// ```
    /// assert_eq!(trace_runtime::current_span().span_id().len(), 16);
    /// ```
    pub fn span_id(&self) -> String {
        self.span_context().span_id().to_string()
    }

    /// The span's OpenTelemetry span context (ids, flags, trace state).
    ///
    /// ```
    /// let sc = trace_runtime::current_span().span_context();
    /// assert!(!sc.is_valid()); // nothing is current here
    /// ```
    pub fn span_context(&self) -> SpanContext {
        self.cx.span().span_context().clone()
    }

    /// The OpenTelemetry context holding this span: attach it, or pass it to
    /// raw OpenTelemetry calls as a parent.
    ///
    /// ```
    /// use opentelemetry::trace::{Tracer, TraceContextExt};
    ///
    /// let parent = trace_runtime::span("job").start();
    /// let tracer = opentelemetry::global::tracer("my-lib");
    /// let child = tracer.start_with_context("step", parent.context());
    /// # drop(child);
    /// ```
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// Ends the span now. Later changes to it are ignored.
    ///
    /// ```
    /// let span = trace_runtime::span("background-flush").start();
    /// span.end();
    /// ```
    pub fn end(&self) {
        self.cx.span().end();
    }
}

impl fmt::Debug for SpanHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sc = self.span_context();
        f.debug_struct("SpanHandle")
            .field("trace_id", &sc.trace_id())
            .field("span_id", &sc.span_id())
            .field("recording", &self.is_recording())
            .finish()
    }
}
