//! The span traced puts in a context for tracers other than its engine (a
//! test capture's SDK tracer, a provider the user installed): the span, and
//! whether it is a local root written down in [`local_root`]'s table, so
//! `current_root_span()` finds it as it finds an engine span.

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::trace::{Span, SpanContext, Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};

use super::AnySpan;
use crate::local_root;

/// A span of any tracer, written down while open when it is a local root
/// of a tracer other than the engine (whose spans do that themselves).
#[derive(Debug)]
pub(crate) struct RootedSpan {
    span: AnySpan,
    registered_root: bool,
}

impl RootedSpan {
    /// `span`, started under `parent`: a local root when the parent is not
    /// a local span (none, or remote), and it records.
    pub(crate) fn under(span: AnySpan, parent: &Context) -> Self {
        let parent_span = parent.span();
        let parent_context = parent_span.span_context();
        let local_root = !parent_context.is_valid() || parent_context.is_remote();
        RootedSpan::new(span, local_root)
    }

    /// `span`, a local root or not.
    pub(crate) fn new(span: AnySpan, local_root: bool) -> Self {
        let registered_root = local_root
            && !matches!(span, AnySpan::Own(_))
            && span.is_recording()
            && local_root::open(span.span_context());
        RootedSpan { span, registered_root }
    }

    /// What was set on this root from where it was not current; the end
    /// time it asked for, if any.
    fn apply_amendments(&mut self) -> Option<SystemTime> {
        if !self.registered_root {
            return None;
        }
        self.registered_root = false;
        // An SDK span has no dropped count to add refused amendments to.
        let (end, _refused) = local_root::close(&mut self.span);
        end
    }
}

impl Span for RootedSpan {
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
        let end = self.apply_amendments().unwrap_or(timestamp);
        self.span.end_with_timestamp(end);
    }
}

impl Drop for RootedSpan {
    fn drop(&mut self) {
        // Dropped without `end`: the inner span ends in its own drop, right
        // after this, with what was set on it from elsewhere.
        self.apply_amendments();
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceId, Tracer, TracerProvider};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

    use super::*;
    use crate::local_root::root_of;

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
    fn a_span_of_another_tracer_in_the_trace_finds_the_root_too() {
        let provider = SdkTracerProvider::builder().build();
        let tracer = provider.tracer("test");
        let root = start(&tracer, &Context::new(), "root");
        let foreign = root.with_span(tracer.build_with_context(tracer.span_builder("foreign"), &root));
        assert_eq!(span_id(&root_of(&foreign)), span_id(&root));
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
        assert_eq!(span_id(&root_of(&parent)), SpanId::from(9_u64));
    }

    #[test]
    fn set_from_elsewhere_lands_on_the_root_ended_or_dropped() {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
        let tracer = provider.tracer("test");
        for end_it in [true, false] {
            let root = start(&tracer, &Context::new(), "root");
            let child = start(&tracer, &root, "child");
            std::thread::scope(|s| {
                s.spawn(|| root_of(&child).span().set_attribute(KeyValue::new("from.child", end_it)));
            });
            child.span().end();
            if end_it {
                root.span().end();
            }
            drop((root, child));
        }
        let spans = exporter.get_finished_spans().unwrap_or_default();
        let roots: Vec<_> = spans.iter().filter(|s| s.name == "root").collect();
        assert_eq!(roots.len(), 2);
        for root in roots {
            assert!(root.attributes.iter().any(|kv| kv.key.as_str() == "from.child"), "{root:?}");
        }
    }
}
