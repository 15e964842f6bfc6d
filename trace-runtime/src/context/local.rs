//! The local root of a trace and the service name in force, as descendants
//! in this process see them.
//!
//! Every span `traced` builds is a [`RootedSpan`]: the span (the engine's or an SDK's) plus the
//! context of its local root (none when it is the root). A root therefore
//! costs nothing extra: no context entry (a map and two `Arc`s, three heap
//! allocations) per root span. Children take their root from their parent,
//! and [`root_of`] asks the current span for it.
//!
//! The [`LocalTrace`] context entry is only added where something must be
//! inherited that the spans cannot carry: a `service` different from the
//! parent's, the start of a new trace (`parent = None`), continued remote
//! work. It also answers for spans that are not ours.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::time::SystemTime;

use opentelemetry::trace::{SpanContext, SpanId, SpanRef, Status, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue};

use crate::dispatch::AnySpan;

/// Stored in the context of a span that changes the service (and where a new
/// local trace starts without a span of ours), so descendants find both.
#[derive(Debug)]
pub(crate) struct LocalTrace {
    /// The context holding the local root span.
    pub(crate) root: Context,
    /// The nearest explicit `service`, inherited by descendants (ddtrace precedence).
    pub(crate) service: Option<Cow<'static, str>>,
}

/// The span `traced` puts in a context for tracers other than its engine
/// (whose spans carry their [`Root`] themselves): the span, and where its
/// local root is.
#[derive(Debug)]
pub(crate) struct RootedSpan {
    span: AnySpan,
    root: Root,
}

/// Where a span's local root is, kept by the span itself.
#[derive(Debug)]
pub(crate) enum Root {
    /// This span is the local root.
    Itself,
    /// The context holding the local root.
    At(Context),
    /// Not worked out (a raw span that records nothing, or one started where
    /// telemetry is suppressed): answers like a span that is not ours.
    Unknown,
}

impl Root {
    /// The root of a span that is a local root itself.
    pub(crate) fn itself(span: &SpanContext) -> Root {
        LAST_ROOT.set((span.trace_id(), span.span_id()));
        Root::Itself
    }

    /// The root of a span started under `parent`, in the same local trace.
    pub(crate) fn of_child(parent: &Context) -> Root {
        let parent_span = parent.span();
        let parent_sc = parent_span.span_context();
        // A direct child of the root this thread started last (a parent's
        // children, a loop of calls) knows its root without asking for it.
        if LAST_ROOT.get() == (parent_sc.trace_id(), parent_sc.span_id()) {
            Root::At(parent.clone())
        } else if parent.is_telemetry_suppressed() {
            // Started from inside an exporter or processor, maybe while this
            // thread holds the parent span's lock: asking could deadlock.
            Root::Unknown
        } else {
            Root::At(root_of_span(parent, &parent_span))
        }
    }

    /// The root of a span started under `parent`: the span itself when the
    /// parent is not a local span (none, or remote), else the parent's.
    /// Only a recording span works out its root: raw spans started where
    /// nothing records (inside an exporter, say) never ask anything.
    pub(crate) fn under(span: &SpanContext, recording: bool, parent: &Context) -> Root {
        if !recording {
            return Root::Unknown;
        }
        let parent_span = parent.span();
        let parent_sc = parent_span.span_context();
        if !parent_sc.is_valid() || parent_sc.is_remote() {
            Root::itself(span)
        } else {
            Root::of_child(parent)
        }
    }

    /// Part of the span's `is_recording`: answers [`ask`] when it is asking.
    #[inline]
    pub(crate) fn answer_if_asked(&self) {
        if ASKING.get() {
            ASKING.set(false);
            ANSWER.set(match self {
                Root::Itself => Some(None),
                Root::At(root) => Some(Some(root.clone())),
                Root::Unknown => None,
            });
        }
    }
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

thread_local! {
    /// Trace and span id of the last local root started on this thread.
    static LAST_ROOT: Cell<(TraceId, SpanId)> = const { Cell::new((TraceId::INVALID, SpanId::INVALID)) };
    /// Set while [`ask`] wants a [`RootedSpan`] span to tell its root.
    static ASKING: Cell<bool> = const { Cell::new(false) };
    static ANSWER: RefCell<Option<Option<Context>>> = const { RefCell::new(None) };
}

/// The context of the local root of the span current in `cx`: the outermost
/// span started in this process (or continuing a remote parent). With no
/// span, or one this process knows nothing about, `cx` itself.
pub(crate) fn root_of(cx: &Context) -> Context {
    let span = cx.span();
    root_of_span(cx, &span)
}

fn root_of_span(cx: &Context, span: &SpanRef<'_>) -> Context {
    if !span.span_context().is_valid() {
        return cx.clone();
    }
    match ask(span) {
        // Ours, and the root itself.
        Some(None) => cx.clone(),
        Some(Some(root)) => root,
        // Not ours (a sampled-out span keeps no span object; a span from
        // another provider; a new trace started by `parent = None`): the
        // inherited entry if there is one, else this span stands in.
        None => cx.get::<LocalTrace>().map_or_else(|| cx.clone(), |local| local.root.clone()),
    }
}

/// Asks the span in a context where its local root is. A span is only
/// reachable through `SpanRef`, which cannot downcast; `is_recording` is a
/// query with no effect on any span, so [`RootedSpan`] and the engine's spans answer through it while
/// [`ASKING`] is set, and any other span ignores the question.
fn ask(span: &SpanRef<'_>) -> Option<Option<Context>> {
    ASKING.set(true);
    let _ = span.is_recording();
    ASKING.set(false);
    ANSWER.with_borrow_mut(Option::take)
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
    use opentelemetry::trace::{Tracer, TracerProvider};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    use super::*;

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
