//! [`span`]: spans for code that cannot take an attribute.

use std::borrow::Cow;

use opentelemetry::trace::{Link, SpanContext, SpanKind, TraceContextExt};
use opentelemetry::{Context, Key, KeyValue};

use super::start::{start_span, SpanSpec};
use super::{SpanGuard, SpanHandle};
use crate::values::AttributeValue;

/// Starts describing a span named `name`; finish with [`NewSpan::enter`]
/// (current until dropped, ddtrace `tracer.trace()`) or [`NewSpan::start`]
/// (not current, OpenTelemetry `start_span`).
///
/// ```
/// use opentelemetry::trace::SpanKind;
///
/// let guard = trace_runtime::span("db.query")
///     .kind(SpanKind::Client)
///     .service("postgres")
///     .attribute("db.system.name", "postgresql")
///     .enter();
/// // ... the query; spans started here are children of "db.query"
/// guard.finish();
/// ```
pub fn span(name: impl Into<Cow<'static, str>>) -> NewSpan {
    NewSpan { spec: SpanSpec::new(name), parent: None }
}

/// A span being described; made by [`span`].
///
/// ```
/// let handle = trace_runtime::span("upload").attribute("bytes", 512).start();
/// handle.end();
/// ```
#[must_use = "a span is started only by .enter() or .start()"]
pub struct NewSpan {
    spec: SpanSpec,
    parent: Option<Context>,
}

impl NewSpan {
    /// The span kind (default `Internal`).
    ///
    /// ```
    /// let s = trace_runtime::span("GET /").kind(opentelemetry::trace::SpanKind::Server).start();
    /// # s.end();
    /// ```
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.spec.kind = kind;
        self
    }

    /// The service this span belongs to (ddtrace `service=`); descendants inherit it.
    ///
    /// ```
    /// let s = trace_runtime::span("cache.get").service("redis").start();
    /// # s.end();
    /// ```
    pub fn service(mut self, service: impl Into<Cow<'static, str>>) -> Self {
        self.spec.service = Some(service.into());
        self
    }

    /// The Datadog resource (ddtrace `resource=`), recorded as `resource.name`:
    /// what the operation acted on, e.g. the route or the query.
    ///
    /// ```
    /// let s = trace_runtime::span("db.query").resource("SELECT * FROM orders").start();
    /// # s.end();
    /// ```
    pub fn resource(mut self, resource: impl Into<Cow<'static, str>>) -> Self {
        self.spec.attributes.push(KeyValue::new(Key::from_static_str("resource.name"), resource.into()));
        self
    }

    /// The Datadog span type (ddtrace `span_type=`, e.g. `web`, `db`,
    /// `cache`), recorded as `span.type`.
    ///
    /// ```
    /// let s = trace_runtime::span("cache.get").span_type("cache").start();
    /// # s.end();
    /// ```
    pub fn span_type(mut self, span_type: impl Into<Cow<'static, str>>) -> Self {
        self.spec.attributes.push(KeyValue::new(Key::from_static_str("span.type"), span_type.into()));
        self
    }

    /// An attribute known at start (visible to samplers); `None` is skipped.
    ///
    /// ```
    /// let s = trace_runtime::span("batch").attribute("batch.size", 64).start();
    /// # s.end();
    /// ```
    pub fn attribute(mut self, key: impl Into<Key>, value: impl AttributeValue) -> Self {
        if let Some(value) = value.to_attribute_value() {
            self.spec.attributes.push(KeyValue::new(key, value));
        }
        self
    }

    /// A link to a related span, e.g. the message that triggered this work.
    ///
    /// ```
    /// let trigger = trace_runtime::span("enqueue").start();
    /// let s = trace_runtime::span("process").link(trigger.span_context()).start();
    /// # s.end(); trigger.end();
    /// ```
    pub fn link(mut self, span_context: SpanContext) -> Self {
        if span_context.is_valid() {
            self.spec.links.push(Link::with_context(span_context));
        }
        self
    }

    /// An explicit parent instead of the current span (e.g. a context
    /// extracted from incoming headers).
    ///
    /// ```
    /// let parent = trace_runtime::span("request").start();
    /// let child = trace_runtime::span("later").parent(parent.context().clone()).start();
    /// # child.end(); parent.end();
    /// ```
    pub fn parent(mut self, parent: Context) -> Self {
        self.parent = Some(parent);
        self.spec.new_trace = false;
        self
    }

    /// Makes the span the root of a new trace, ignoring the current span.
    ///
    /// ```
    /// let s = trace_runtime::span("nightly-job").root().start();
    /// # s.end();
    /// ```
    pub fn root(mut self) -> Self {
        self.parent = None;
        self.spec.new_trace = true;
        self
    }

    /// Starts the span and makes it current on this thread until the guard
    /// is dropped or finished.
    ///
    /// ```
    /// let _guard = trace_runtime::span("work").enter();
    /// ```
    pub fn enter(self) -> SpanGuard {
        let handle = self.start();
        // An inert span (nothing installed) must not hide the current one.
        let attached = handle.context().has_active_span().then(|| handle.context().clone().attach());
        SpanGuard::new(handle, attached)
    }

    /// Starts the span without making it current. Pass it to work that runs
    /// elsewhere and [`end`](SpanHandle::end) it when that work is done.
    ///
    /// ```
    /// let span = trace_runtime::span("download").start();
    /// span.set_attribute("url.full", "https://example.com/a.bin");
    /// span.end();
    /// ```
    pub fn start(self) -> SpanHandle {
        let parent = self.parent.unwrap_or_else(Context::current);
        match start_span(self.spec, &parent, |_| {}) {
            Some(cx) => SpanHandle::from_context(cx),
            // Nothing installed: an inert handle under the parent.
            None => SpanHandle::from_context(Context::new()),
        }
    }
}

impl std::fmt::Debug for NewSpan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSpan").field("name", &self.spec.name).finish_non_exhaustive()
    }
}
