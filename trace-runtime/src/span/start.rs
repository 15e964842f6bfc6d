//! Starting a span: the one path every span `traced` creates goes through,
//! whether it comes from `#[traced]`, [`crate::span`] or a test capture.

use std::borrow::Cow;
use std::cell::Cell;
use std::hash::{BuildHasher, Hasher, RandomState};

use opentelemetry::trace::{
    Link, SpanBuilder, SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Context, KeyValue};

use crate::__private::Meta;
use crate::context::{root_of, LocalTrace, Traced};
use crate::dispatch::{self, AnySpan};
use crate::tags;

/// Everything known about a span before it starts.
pub(crate) struct SpanSpec {
    pub(crate) name: Cow<'static, str>,
    pub(crate) kind: SpanKind,
    /// An explicit service; `None` inherits the nearest ancestor's.
    pub(crate) service: Option<Cow<'static, str>>,
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) links: Vec<Link>,
    /// The traced function whose `code.*` attributes go before `attributes`.
    /// Kept apart until the span is known to be worth building, so a span
    /// the sampler is known to drop allocates nothing.
    pub(crate) code: Option<&'static Meta>,
}

impl SpanSpec {
    pub(crate) fn new(name: impl Into<Cow<'static, str>>) -> Self {
        SpanSpec {
            name: name.into(),
            kind: SpanKind::Internal,
            service: None,
            attributes: Vec::new(),
            links: Vec::new(),
            code: None,
        }
    }

    /// The span's attributes, `code.*` first, in a vector with room for
    /// `extra` more (sized once: no reallocation per span).
    pub(crate) fn take_attributes(&mut self, extra: usize) -> Vec<KeyValue> {
        let mut attributes = std::mem::take(&mut self.attributes);
        match self.code.take() {
            None => attributes.reserve(extra),
            Some(meta) => {
                let mut all = Vec::with_capacity(3 + attributes.len() + extra);
                let [function, file, line] = meta.code_attributes();
                all.push(function);
                all.push(file);
                all.push(line);
                if !attributes.is_empty() {
                    all.append(&mut attributes);
                }
                attributes = all;
            }
        }
        attributes
    }
}

/// Starts a span under `parent` and returns the context that holds it (not
/// attached), or `None` when nothing is installed to record it.
///
/// `record` runs only when the span is recording: it is where the expensive
/// attributes (user expressions, formatting) are evaluated.
pub(crate) fn start_span(mut spec: SpanSpec, parent: &Context, record: impl FnOnce(&mut AnySpan)) -> Option<Context> {
    let inherited = parent.get::<LocalTrace>();
    let explicit = spec.service.take();
    let changes_service = explicit.is_some() && inherited.is_none_or(|local| local.service != explicit);
    let service = explicit.or_else(|| inherited.and_then(|local| local.service.clone()));

    dispatch::with_target(parent, |tracer, resource_service, sampling| {
        let parent_span = parent.span();
        let parent_sc = parent_span.span_context();
        let local_root = !parent_sc.is_valid() || parent_sc.is_remote();
        // Spans the sampler is known to drop skip the SDK: no ids, no sampler
        // call, no span object, no attributes.
        if sampling.follows_parent && parent_sc.is_valid() && !parent_sc.is_sampled() {
            // Under a sampled-out parent: stay in the parent's span, which
            // records nothing either; its trace goes on being propagated as
            // sampled out.
            return parent.clone();
        }
        if sampling.drops_roots && !parent_sc.is_valid() {
            // A sampled-out root still gets ids, so that the decision is
            // propagated (downstream services drop the trace too).
            let span_context =
                SpanContext::new(new_trace_id(), new_span_id(), TraceFlags::default(), false, TraceState::default());
            return parent.with_remote_span_context(span_context);
        }
        let service_attribute = service
            .as_ref()
            .filter(|service| resource_service.is_none_or(|r| **r != ***service))
            .map(|service| KeyValue::new("service.name", service.clone()));
        let mut attributes = spec.take_attributes(usize::from(service_attribute.is_some()) + tags::count());
        attributes.extend(service_attribute);
        tags::append_to(&mut attributes);
        let mut builder = SpanBuilder::from_name(spec.name).with_kind(spec.kind).with_attributes(attributes);
        if !spec.links.is_empty() {
            builder = builder.with_links(spec.links);
        }
        let mut span = tracer.build(builder, parent);
        let recording = opentelemetry::trace::Span::is_recording(&span);
        let cx = if recording {
            record(&mut span);
            // The span carries its local root: no context entry per root.
            let span = if local_root { Traced::root(span) } else { Traced::child(span, parent) };
            parent.with_span(span)
        } else {
            // Sampled out: all that descendants and propagation need is the
            // span context. Keeping only that skips boxing the span (one
            // allocation and a large move); ending a span that records
            // nothing does nothing, so it can go now.
            let span_context = opentelemetry::trace::Span::span_context(&span).clone();
            drop(span);
            parent.with_remote_span_context(span_context)
        };
        if changes_service {
            // Descendants inherit the service through the context.
            let root = if local_root { cx.clone() } else { root_of(parent) };
            cx.with_value(LocalTrace { root, service })
        } else {
            cx
        }
    })
}

/// Ids for sampled-out roots that never reach the SDK: random, like the
/// SDK's default generator (`init()` offers no other), from a per-thread
/// xorshift generator seeded by the standard library's random hasher keys.
fn next_random() -> u64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(seed());
    }
    STATE
        .try_with(|state| {
            let mut x = state.get();
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            state.set(x);
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        })
        .unwrap_or_else(|_| seed())
}

fn seed() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(std::process::id().into());
    // Never zero: xorshift would stay at zero.
    hasher.finish() | 1
}

fn new_trace_id() -> TraceId {
    let id = (u128::from(next_random()) << 64) | u128::from(next_random());
    TraceId::from(id.max(1))
}

fn new_span_id() -> SpanId {
    SpanId::from(next_random().max(1))
}
