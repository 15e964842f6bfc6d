//! The span traced puts in a context for tracers other than its engine (a
//! test capture's SDK tracer, a provider the user installed): the span, and
//! where its local root is ([`Root`]), so `current_root_span()` finds it as
//! it finds an engine span's.

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::trace::{SpanContext, Status};
use opentelemetry::{Context, KeyValue};

use super::AnySpan;
use crate::local_root::Root;

/// A span of a tracer other than the engine (whose spans carry their
/// [`Root`] themselves), and where its local root is.
#[derive(Debug)]
pub(crate) struct RootedSpan {
    span: AnySpan,
    root: Root,
}

impl RootedSpan {
    /// `span`, whose local root is `root`.
    pub(crate) fn new(span: AnySpan, root: Root) -> Self {
        RootedSpan { span, root }
    }

    /// A span started under `parent`: a local root when the parent is not a
    /// local span (none, or remote), else a child.
    pub(crate) fn under(span: AnySpan, parent: &Context) -> Self {
        let recording = opentelemetry::trace::Span::is_recording(&span);
        let root = Root::under(opentelemetry::trace::Span::span_context(&span), recording, parent);
        RootedSpan { span, root }
    }
}

impl opentelemetry::trace::Span for RootedSpan {
    fn add_event_with_timestamp<T>(&mut self, name: T, timestamp: SystemTime, attributes: Vec<KeyValue>)
    where
        T: Into<Cow<'static, str>>,
    {
        self.span.add_event_with_timestamp(name, timestamp, attributes);
    }

    fn span_context(&self) -> &SpanContext {
        self.span.span_context()
    }

    fn is_recording(&self) -> bool {
        self.root.answer_if_asked();
        self.span.is_recording()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        self.span.set_attribute(attribute);
    }

    fn set_attributes(&mut self, attributes: impl IntoIterator<Item = KeyValue>) {
        self.span.set_attributes(attributes);
    }

    fn set_status(&mut self, status: Status) {
        self.span.set_status(status);
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        self.span.update_name(new_name);
    }

    fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        self.span.add_link(span_context, attributes);
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        self.span.end_with_timestamp(timestamp);
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceContextExt, TraceId, Tracer, TracerProvider};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    use super::*;
    use crate::local_root::{root_of, LocalTrace};

    fn span_id(cx: &Context) -> SpanId {
        cx.span().span_context().span_id()
    }

    /// A span of ours under `parent`, as `start_span` makes it.
    fn start(tracer: &opentelemetry_sdk::trace::SdkTracer, parent: &Context, name: &'static str) -> Context {
        let span = AnySpan::Sdk(Box::new(tracer.build_with_context(tracer.span_builder(name), parent)));
        parent.with_span(RootedSpan::under(span, parent))
    }

    #[test]
    fn every_descendant_finds_the_local_root() {
        let provider = SdkTracerProvider::builder().build();
        let tracer = provider.tracer("test");
        let root = start(&tracer, &Context::new(), "root");
        let child = start(&tracer, &root, "child");
        // Another root on this thread: the grandchild's parent is not the
        // last root any more, so it asks its parent.
        let _other = start(&tracer, &Context::new(), "other");
        let grandchild = start(&tracer, &child, "grandchild");
        assert_eq!(span_id(&root_of(&root)), span_id(&root));
        assert_eq!(span_id(&root_of(&child)), span_id(&root));
        assert_eq!(span_id(&root_of(&grandchild)), span_id(&root));
    }

    #[test]
    fn a_child_started_on_another_thread_finds_the_root() {
        let provider = SdkTracerProvider::builder().build();
        let tracer = provider.tracer("test");
        let root = start(&tracer, &Context::new(), "root");
        let child = std::thread::scope(|s| s.spawn(|| start(&tracer, &root, "child")).join().unwrap_or_default());
        assert_eq!(span_id(&root_of(&child)), span_id(&root));
    }

    #[test]
    fn a_span_that_is_not_ours_answers_nothing_and_the_entry_speaks_for_it() {
        let provider = SdkTracerProvider::builder().build();
        let tracer = provider.tracer("test");
        let root = start(&tracer, &Context::new(), "root");
        let foreign = root.with_span(tracer.build_with_context(tracer.span_builder("foreign"), &root));
        // Not ours and no entry: it stands in for the root.
        assert_eq!(span_id(&root_of(&foreign)), span_id(&foreign));
        // With an entry, the entry's root.
        let marked = foreign.with_value(LocalTrace { root: root.clone(), service: None });
        assert_eq!(span_id(&root_of(&marked)), span_id(&root));
        // Asking a foreign span left no answer behind for the next question.
        assert_eq!(span_id(&root_of(&root)), span_id(&root));
    }

    #[test]
    fn a_remote_parent_starts_a_new_local_root() {
        let provider = SdkTracerProvider::builder().build();
        let tracer = provider.tracer("test");
        let remote = SpanContext::new(
            TraceId::from(7_u128),
            SpanId::from(9_u64),
            opentelemetry::trace::TraceFlags::SAMPLED,
            true,
            Default::default(),
        );
        let parent = Context::new().with_remote_span_context(remote);
        let root = start(&tracer, &parent, "server");
        let child = start(&tracer, &root, "child");
        assert_eq!(span_id(&root_of(&child)), span_id(&root));
    }
}
