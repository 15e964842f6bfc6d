//! [`capture`], [`capture_async`] and the [`Capture`] they return.

use std::future::Future;
use std::sync::Arc;

use opentelemetry::trace::SpanId;
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::logs::SdkLogRecord;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData};
use opentelemetry_sdk::Resource;

use super::collector::Collector;
use crate::context::CurrentSpanExt;
use crate::dispatch::{Redirect, RedirectScope};
use crate::export::console::tree::{self, Style};
use crate::logs::CaptureSink;

/// Runs `f` and returns the spans started inside it, with its result.
///
/// ```
/// use trace_runtime::testing::capture;
///
/// #[trace_runtime::traced]
/// fn work() -> u32 { 42 }
///
/// let captured = capture(work);
/// assert_eq!(*captured.result(), 42);
/// assert_eq!(captured.names(), ["work"]);
/// ```
pub fn capture<R>(f: impl FnOnce() -> R) -> Capture<R> {
    Capturer::new().capture(f)
}

/// Polls `future` to completion and returns the spans started while it ran
/// (including in tasks it spawned with [`CurrentSpanExt::in_current_span`]).
///
/// ```
/// use trace_runtime::testing::capture_async;
///
/// #[trace_runtime::traced]
/// async fn fetch() -> &'static str { "ok" }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let captured = capture_async(fetch()).await;
/// assert_eq!(captured.names(), ["fetch"]);
/// # }
/// ```
pub async fn capture_async<F: Future>(future: F) -> Capture<F::Output> {
    Capturer::new().capture_async(future).await
}

/// A capture with settings: the resource's service name.
///
/// ```
/// use trace_runtime::testing::Capturer;
///
/// #[trace_runtime::traced(service = "postgres")]
/// fn query() {}
///
/// let captured = Capturer::new().service_name("shop").capture(query);
/// assert_eq!(captured.resource_service(), "shop");
/// ```
#[derive(Debug, Clone)]
pub struct Capturer {
    service_name: Arc<str>,
}

impl Default for Capturer {
    fn default() -> Self {
        Self::new()
    }
}

impl Capturer {
    /// Default settings: service name `unknown_service`.
    ///
    /// ```
    /// let capturer = trace_runtime::testing::Capturer::new();
    /// # drop(capturer);
    /// ```
    pub fn new() -> Self {
        Capturer { service_name: Arc::from("unknown_service") }
    }

    /// The `service.name` of the capture's resource: spans of another service
    /// carry a `service.name` attribute, as in production.
    ///
    /// ```
    /// let capturer = trace_runtime::testing::Capturer::new().service_name("api");
    /// # drop(capturer);
    /// ```
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Arc::from(name.into());
        self
    }

    /// [`capture`] with these settings.
    ///
    /// ```
    /// let c = trace_runtime::testing::Capturer::new().capture(|| 1);
    /// assert!(c.spans().is_empty());
    /// ```
    pub fn capture<R>(&self, f: impl FnOnce() -> R) -> Capture<R> {
        let (collector, provider, scope) = self.open();
        let logs = CaptureSink::open();
        let cx = scope.context(&Context::current()).with_value(logs.clone());
        let result = {
            let _attached = cx.attach();
            f()
        };
        self.close(collector, provider, scope, result, &logs)
    }

    /// [`capture_async`] with these settings.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let c = trace_runtime::testing::Capturer::new().capture_async(async { 1 }).await;
    /// assert_eq!(*c.result(), 1);
    /// # }
    /// ```
    pub async fn capture_async<F: Future>(&self, future: F) -> Capture<F::Output> {
        let (collector, provider, scope) = self.open();
        let logs = CaptureSink::open();
        let cx = scope.context(&Context::current()).with_value(logs.clone());
        let handle = crate::SpanHandle::from_context(cx);
        let result = future.in_span(&handle).await;
        drop(handle);
        self.close(collector, provider, scope, result, &logs)
    }

    fn open(&self) -> (Collector, SdkTracerProvider, RedirectScope) {
        let collector = Collector::default();
        let provider = SdkTracerProvider::builder()
            .with_resource(
                Resource::builder_empty()
                    .with_attribute(KeyValue::new("service.name", self.service_name.to_string()))
                    .build(),
            )
            .with_span_processor(collector.clone())
            // The installed span limits, so tests see what is exported.
            .with_span_limits(crate::config::limits::active().sdk())
            .build();
        let scope = Redirect::open(provider.clone(), Some(Arc::clone(&self.service_name)));
        collector.claim_for(scope.claims());
        (collector, provider, scope)
    }

    fn close<R>(
        &self,
        collector: Collector,
        provider: SdkTracerProvider,
        scope: RedirectScope,
        result: R,
        logs: &CaptureSink,
    ) -> Capture<R> {
        drop(scope);
        let _ = provider.force_flush();
        let mut spans = collector.take();
        if let Some(max_chars) = crate::config::limits::active().attribute_value_length {
            spans.iter_mut().for_each(|span| crate::config::limits::truncate_values(span, max_chars));
        }
        Capture { spans, logs: logs.take(), result, service_name: Arc::clone(&self.service_name) }
    }
}

/// The spans a [`capture`] saw, in the order they ended, plus the result of
/// the captured code. Spans of traces the capture started are collected
/// even when they start on tasks that lost its context (a server started
/// inside the capture, called with the capture's `traceparent`). Lookup helpers panic with the whole capture printed as
/// a tree, so a failing test shows what was emitted.
///
/// ```
/// use trace_runtime::testing::capture;
///
/// #[trace_runtime::traced]
/// fn outer() { inner() }
/// #[trace_runtime::traced]
/// fn inner() {}
///
/// let c = capture(outer);
/// assert_eq!(c.tree(), "outer\n└─ inner\n");
/// ```
#[derive(Debug)]
pub struct Capture<R = ()> {
    spans: Vec<SpanData>,
    logs: Vec<SdkLogRecord>,
    result: R,
    service_name: Arc<str>,
}

impl<R> Capture<R> {
    /// Every finished span, in the order they ended.
    ///
    /// ```
    /// let c = trace_runtime::testing::capture(|| ());
    /// assert!(c.spans().is_empty());
    /// ```
    pub fn spans(&self) -> &[SpanData] {
        &self.spans
    }

    /// Every log record made inside the capture — by the `log` crate or a
    /// `tracing` event through [`tracing_layer`](crate::tracing_layer) —
    /// in the order they were made, whatever the logs filter: each with
    /// the trace id and span id of the span it was made in (none outside
    /// any span), as it would be exported. `log` records need the bridge as
    /// the process's logger: a capture sets it when no logger is set (with
    /// one of your own, wrap it with [`logger`](crate::logger)).
    ///
    /// ```
    /// use opentelemetry::logs::{AnyValue, Severity};
    ///
    /// #[trace_runtime::traced]
    /// fn charge() -> String {
    ///     log::warn!(attempt = 2; "card declined");
    ///     trace_runtime::current_span().span_id()
    /// }
    ///
    /// let c = trace_runtime::testing::capture(charge);
    /// let record = &c.logs()[0];
    /// assert_eq!(record.body(), Some(&AnyValue::from("card declined")));
    /// assert_eq!(record.severity_number(), Some(Severity::Warn));
    /// assert_eq!(record.trace_context().unwrap().span_id.to_string(), *c.result());
    /// ```
    pub fn logs(&self) -> &[SdkLogRecord] {
        &self.logs
    }

    /// What the captured closure or future returned.
    ///
    /// ```
    /// let c = trace_runtime::testing::capture(|| "done");
    /// assert_eq!(*c.result(), "done");
    /// ```
    pub fn result(&self) -> &R {
        &self.result
    }

    /// Takes the result out.
    ///
    /// ```
    /// let c = trace_runtime::testing::capture(|| vec![1]);
    /// assert_eq!(c.into_result(), vec![1]);
    /// ```
    pub fn into_result(self) -> R {
        self.result
    }

    /// The `service.name` of the capture's resource.
    ///
    /// ```
    /// assert_eq!(trace_runtime::testing::capture(|| ()).resource_service(), "unknown_service");
    /// ```
    pub fn resource_service(&self) -> &str {
        &self.service_name
    }

    /// Span names in the order the spans started.
    ///
    /// ```
    /// # use trace_runtime::traced;
    /// #[traced] fn a() { b() }
    /// #[traced] fn b() {}
    /// assert_eq!(trace_runtime::testing::capture(a).names(), ["a", "b"]);
    /// ```
    pub fn names(&self) -> Vec<&str> {
        let mut spans: Vec<&SpanData> = self.spans.iter().collect();
        spans.sort_by_key(|s| s.start_time);
        spans.into_iter().map(|s| s.name.as_ref()).collect()
    }

    /// The first span (by start) named `name`, if any.
    ///
    /// ```
    /// assert!(trace_runtime::testing::capture(|| ()).find("missing").is_none());
    /// ```
    pub fn find(&self, name: &str) -> Option<&SpanData> {
        self.spans.iter().filter(|s| s.name == name).min_by_key(|s| s.start_time)
    }

    /// Every span named `name`, by start time.
    ///
    /// ```
    /// # use trace_runtime::traced;
    /// #[traced] fn step() {}
    /// let c = trace_runtime::testing::capture(|| { step(); step(); });
    /// assert_eq!(c.all("step").len(), 2);
    /// ```
    pub fn all(&self, name: &str) -> Vec<&SpanData> {
        let mut found: Vec<&SpanData> = self.spans.iter().filter(|s| s.name == name).collect();
        found.sort_by_key(|s| s.start_time);
        found
    }

    /// The first span named `name`.
    ///
    /// # Panics
    ///
    /// When there is none; the message lists what was captured.
    ///
    /// ```
    /// # use trace_runtime::traced;
    /// #[traced] fn job() {}
    /// let c = trace_runtime::testing::capture(job);
    /// assert_eq!(c.span("job").name, "job");
    /// ```
    #[track_caller]
    pub fn span(&self, name: &str) -> &SpanData {
        match self.find(name) {
            Some(span) => span,
            None => panic!("no span named {name:?} was captured; captured:\n{}", self.describe()),
        }
    }

    /// The parent of `span`, if it was captured too.
    ///
    /// ```
    /// # use trace_runtime::traced;
    /// #[traced] fn a() { b() }
    /// #[traced] fn b() {}
    /// let c = trace_runtime::testing::capture(a);
    /// assert_eq!(c.parent_of(c.span("b")).unwrap().name, "a");
    /// ```
    pub fn parent_of(&self, span: &SpanData) -> Option<&SpanData> {
        if span.parent_span_id == SpanId::INVALID {
            return None;
        }
        self.spans.iter().find(|s| s.span_context.span_id() == span.parent_span_id)
    }

    /// The captured children of `span`, by start time.
    ///
    /// ```
    /// # use trace_runtime::traced;
    /// #[traced] fn a() { b(); b(); }
    /// #[traced] fn b() {}
    /// let c = trace_runtime::testing::capture(a);
    /// assert_eq!(c.children_of(c.span("a")).len(), 2);
    /// ```
    pub fn children_of(&self, span: &SpanData) -> Vec<&SpanData> {
        let id = span.span_context.span_id();
        let mut children: Vec<&SpanData> = self.spans.iter().filter(|s| s.parent_span_id == id).collect();
        children.sort_by_key(|s| s.start_time);
        children
    }

    /// The captured spans whose parent was not captured (usually one: the root).
    ///
    /// ```
    /// # use trace_runtime::traced;
    /// #[traced] fn a() {}
    /// assert_eq!(trace_runtime::testing::capture(|| { a(); a(); }).roots().len(), 2);
    /// ```
    pub fn roots(&self) -> Vec<&SpanData> {
        let mut roots: Vec<&SpanData> = self.spans.iter().filter(|s| self.parent_of(s).is_none()).collect();
        roots.sort_by_key(|s| s.start_time);
        roots
    }

    /// The capture as an indented tree of names, kinds, statuses, attributes
    /// (except `code.*`), events and links — no ids or timings, so it can be
    /// compared with `assert_eq!`.
    ///
    /// ```
    /// # use trace_runtime::traced;
    /// #[traced(attrs(n = 1))] fn a() {}
    /// assert_eq!(trace_runtime::testing::capture(a).tree(), "a\n   n = 1\n");
    /// ```
    pub fn tree(&self) -> String {
        tree::render(&self.spans, &Style::default())
    }

    /// The capture as an indented tree of span names only: the shape of the
    /// trace, for a test that checks structure and nothing else.
    ///
    /// ```
    /// # use trace_runtime::traced;
    /// #[traced(attrs(n = 1))] fn a() { b(); c(); }
    /// #[traced] fn b() {}
    /// #[traced] fn c() {}
    /// assert_eq!(trace_runtime::testing::capture(a).names_tree(), "a\n├─ b\n└─ c\n");
    /// ```
    pub fn names_tree(&self) -> String {
        tree::names_tree(&self.spans)
    }

    pub(super) fn describe(&self) -> String {
        if self.spans.is_empty() {
            "  (no spans)".to_owned()
        } else {
            self.tree()
        }
    }
}
