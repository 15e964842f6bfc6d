//! Where a span's local root is: the outermost span started in this
//! process for its trace (or the one continuing a remote parent), which
//! `current_root_span()` answers with.
//!
//! Every span traced starts carries a [`Root`]: itself, or the context
//! holding its root (taken from its parent when it starts). A root therefore
//! costs nothing extra: no context entry (a map and two `Arc`s, three heap
//! allocations) per root span. [`root_of`] asks the current span for it.
//!
//! The [`LocalTrace`] context entry is only added where something must be
//! inherited that the spans cannot carry: a `service` different from the
//! parent's, the start of a new trace (`parent = None`), continued remote
//! work. It also answers for spans that are not ours.
//!
//! A span is only reachable through `SpanRef`, which cannot downcast, so
//! [`ask`] asks through `is_recording` (a query with no effect on any span)
//! while a thread-local says it is asking; spans that carry a [`Root`]
//! answer ([`Root::answer_if_asked`]), others ignore the question.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};

use opentelemetry::trace::{SpanContext, SpanId, SpanRef, TraceContextExt, TraceId};
use opentelemetry::Context;

/// Stored in the context of a span that changes the service (and where a new
/// local trace starts without a span of ours), so descendants find both.
#[derive(Debug)]
pub(crate) struct LocalTrace {
    /// The context holding the local root span.
    pub(crate) root: Context,
    /// The nearest explicit `service`, inherited by descendants (ddtrace precedence).
    pub(crate) service: Option<Cow<'static, str>>,
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

thread_local! {
    /// Trace and span id of the last local root started on this thread.
    static LAST_ROOT: Cell<(TraceId, SpanId)> = const { Cell::new((TraceId::INVALID, SpanId::INVALID)) };
    /// Set while [`ask`] wants the span it asks to tell its root.
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
/// query with no effect on any span, so spans that carry a [`Root`] answer
/// through it while [`ASKING`] is set, and any other span ignores the question.
fn ask(span: &SpanRef<'_>) -> Option<Option<Context>> {
    ASKING.set(true);
    let _ = span.is_recording();
    ASKING.set(false);
    ANSWER.with_borrow_mut(Option::take)
}
