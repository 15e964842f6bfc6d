//! Starting a span: the one path every span `traced` creates goes through,
//! whether it comes from `#[traced]`, [`crate::span`] or a test capture.

use std::borrow::Cow;

use opentelemetry::trace::{Link, SpanBuilder, SpanContext, SpanKind, TraceContextExt, TraceFlags, TraceState};
use opentelemetry::{Context, KeyValue};

use crate::callsite::Meta;
use crate::dispatch::{self, AnyTracer, RootedSpan};
use crate::engine::{self, new_span_id, new_trace_id};
use crate::local_root::LocalTrace;
use crate::propagation::datadog::PropagationError;
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
    /// Start a new trace (`parent = None`, `span(..).root()`): the span is
    /// built with no parent, but becomes current in the caller's context with
    /// the span replaced, so a test capture or baggage there still applies.
    pub(crate) new_trace: bool,
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
            new_trace: false,
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

/// What [`start_span_or_skip`] did.
pub(crate) enum Started {
    /// A span was started; the context holds it (not attached).
    Span(Context),
    /// The sampler is known to drop a span under this (sampled-out) parent:
    /// nothing was started, and the parent's context serves as it is.
    Skipped,
}

/// Starts a span under `parent` and returns the context that holds it (not
/// attached), or `None` when nothing is installed to record it.
///
/// `record` runs only when the span is recording: it is where the expensive
/// attributes (user expressions, formatting) are evaluated.
pub(crate) fn start_span(
    spec: SpanSpec,
    parent: &Context,
    record: impl FnOnce(&mut dyn RecordAttribute),
) -> Option<Context> {
    match start_span_or_skip(spec, parent, record)? {
        Started::Span(cx) => Some(cx),
        Started::Skipped => Some(parent.clone()),
    }
}

/// [`start_span`], telling a skipped span apart (`Started::Skipped`), so that a sync traced
/// function under the current context can skip attaching anything at all.
pub(crate) fn start_span_or_skip(
    mut spec: SpanSpec,
    parent: &Context,
    record: impl FnOnce(&mut dyn RecordAttribute),
) -> Option<Started> {
    // A new trace inherits no service (explicit, else the resource's), and
    // must shadow a service the caller's context carries.
    let inherited = if spec.new_trace { None } else { parent.get::<LocalTrace>() };
    let explicit = spec.service.take();
    let changes_service = (explicit.is_some() && inherited.is_none_or(|local| local.service != explicit))
        || (spec.new_trace && parent.get::<LocalTrace>().is_some());
    let service = explicit.or_else(|| inherited.and_then(|local| local.service.clone()));
    // What the span is built under: the caller's context, or nothing at all.
    let no_parent;
    let build_parent = if spec.new_trace {
        no_parent = Context::new();
        &no_parent
    } else {
        parent
    };

    dispatch::with_target(parent, |tracer, resource_service, sampling| {
        let parent_span = build_parent.span();
        let parent_sc = parent_span.span_context();
        let local_root = !parent_sc.is_valid() || parent_sc.is_remote();
        // Spans the sampler is known to drop skip the SDK: no ids, no sampler
        // call, no span object, no attributes.
        if sampling.follows_parent
            && parent_sc.is_valid()
            && !parent_sc.is_sampled()
            // (A span can record without being sampled, with a custom root
            // sampler: its children are still dropped, but the parent must not
            // stand in for them, or ending the child would end it.)
            && !parent_span.is_recording()
        {
            // Under a sampled-out parent: stay in the parent's span, which
            // records nothing either; its trace goes on being propagated as
            // sampled out.
            return Started::Skipped;
        }
        if sampling.drops_roots && !parent_sc.is_valid() {
            // A sampled-out root still gets ids, so that the decision is
            // propagated (downstream services drop the trace too).
            let span_context =
                SpanContext::new(new_trace_id(), new_span_id(), TraceFlags::default(), false, TraceState::default());
            return Started::Span(parent.with_remote_span_context(span_context));
        }
        let service_attribute = service
            .as_ref()
            .filter(|service| resource_service.is_none_or(|r| **r != ***service))
            .map(|service| KeyValue::new("service.name", service.clone()));
        let local_error = || local_root.then(|| build_parent.get::<PropagationError>().map(|e| e.0)).flatten();
        let cx = match tracer {
            // The engine keeps the call site and the tags by reference: the
            // attributes are built by its collector, off this thread. Its
            // span writes itself down if it is a local root, and goes into
            // the context as it is.
            AnyTracer::Own(engine) => {
                let mut attributes = std::mem::take(&mut spec.attributes);
                attributes.extend(service_attribute);
                let span = engine.start(
                    build_parent,
                    engine::Start {
                        name: spec.name,
                        kind: spec.kind,
                        attributes,
                        links: spec.links,
                        code: spec.code,
                        tags: tags::snapshot(),
                        start_time: None,
                        events: Vec::new(),
                    },
                );
                make_current(span, parent, local_error, record, |span| span)
            }
            _ => {
                let mut attributes = spec.take_attributes(usize::from(service_attribute.is_some()) + tags::count());
                attributes.extend(service_attribute);
                let own = attributes.len();
                tags::append_to(&mut attributes);
                if attributes.len() > own {
                    tags::drop_shadowed(&mut attributes, own);
                }
                let mut builder = SpanBuilder::from_name(spec.name).with_kind(spec.kind).with_attributes(attributes);
                if !spec.links.is_empty() {
                    builder = builder.with_links(spec.links);
                }
                let span = tracer.build(builder, build_parent);
                make_current(span, parent, local_error, record, |span| RootedSpan::new(span, local_root))
            }
        };
        Started::Span(if changes_service {
            // Descendants inherit the service through the context.
            cx.with_value(LocalTrace { service })
        } else {
            cx
        })
    })
}

/// Where the attributes `#[traced]` records at start go: the span just
/// started, whichever tracer made it.
pub(crate) trait RecordAttribute {
    fn record_attribute(&mut self, attribute: KeyValue);
}

impl<S: opentelemetry::trace::Span> RecordAttribute for S {
    fn record_attribute(&mut self, attribute: KeyValue) {
        self.set_attribute(attribute);
    }
}

/// The context that holds `span` under `parent`, once its start attributes
/// are recorded (`rooted` makes it the span that goes into the context). A
/// span that records nothing only leaves its span context.
#[inline(always)]
fn make_current<S, R>(
    mut span: S,
    parent: &Context,
    propagation_error: impl FnOnce() -> Option<&'static str>,
    record: impl FnOnce(&mut dyn RecordAttribute),
    rooted: impl FnOnce(S) -> R,
) -> Context
where
    S: opentelemetry::trace::Span,
    R: opentelemetry::trace::Span + Send + Sync + 'static,
{
    if !span.is_recording() {
        // Sampled out: all that descendants and propagation need is the
        // span context. Keeping only that skips boxing the span (one
        // allocation and a large move); ending a span that records
        // nothing does nothing, so it can go now.
        let span_context = span.span_context().clone();
        drop(span);
        return parent.with_remote_span_context(span_context);
    }
    record(&mut span);
    // Only a local root under a caller looks (a lookup per root, not per span).
    if let Some(error) = propagation_error() {
        span.set_attribute(KeyValue::new(PropagationError::KEY, error));
    }
    parent.with_span(rooted(span))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use opentelemetry::trace::{SpanContext, SpanId, TraceId, TraceState};
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, Span, SpanData, SpanProcessor};

    use super::*;

    /// Counts the spans the SDK started.
    #[derive(Debug, Default, Clone)]
    struct Started(Arc<AtomicUsize>);

    impl SpanProcessor for Started {
        fn on_start(&self, _span: &mut Span, _cx: &Context) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        fn on_end(&self, _span: SpanData) {}
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    fn local_parent(sampled: bool) -> Context {
        let flags = if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
        let sc = SpanContext::new(TraceId::from(11_u128), SpanId::from(12_u64), flags, false, TraceState::default());
        Context::new().with_remote_span_context(sc)
    }

    /// One test: it installs a provider for the whole test binary.
    #[test]
    fn a_declared_sampler_lets_dropped_spans_skip_the_sdk() {
        let started = Started::default();
        let sampler = Sampler::ParentBased(Box::new(Sampler::AlwaysOn));
        let provider =
            SdkTracerProvider::builder().with_sampler(sampler.clone()).with_span_processor(started.clone()).build();
        assert!(dispatch::install_own_sampled(provider, Arc::from("svc"), &sampler));

        // Under a sampled-out parent: nothing started, the parent serves.
        let out = local_parent(false);
        let cx = start_span(SpanSpec::new("child"), &out, |_| {}).expect("installed");
        assert_eq!(cx.span().span_context().span_id(), SpanId::from(12_u64));
        assert_eq!(started.0.load(Ordering::SeqCst), 0);
        {
            let _attached = out.clone().attach();
            assert!(dispatch::drops_under_current());
        }
        // Under a sampled parent, and at a root: the SDK is asked.
        let cx = start_span(SpanSpec::new("child"), &local_parent(true), |_| {}).expect("installed");
        assert!(cx.span().span_context().is_sampled());
        assert!(start_span(SpanSpec::new("root"), &Context::new(), |_| {}).is_some());
        assert_eq!(started.0.load(Ordering::SeqCst), 2);
        {
            let _attached = local_parent(true).attach();
            assert!(!dispatch::drops_under_current());
        }
        dispatch::uninstall_own();
        assert!(!dispatch::drops_under_current());

        // Always off: roots get fresh, valid, sampled-out ids without the SDK.
        let provider = SdkTracerProvider::builder().with_span_processor(started.clone()).build();
        assert!(dispatch::install_own_sampled(provider, Arc::from("svc"), &Sampler::AlwaysOff));
        let a = start_span(SpanSpec::new("root"), &Context::new(), |_| {}).expect("installed");
        let b = start_span(SpanSpec::new("root"), &Context::new(), |_| {}).expect("installed");
        let (a, b) = (a.span().span_context().clone(), b.span().span_context().clone());
        assert!(a.is_valid() && !a.is_sampled() && !a.is_remote());
        assert_ne!(a.trace_id(), b.trace_id());
        assert_ne!(a.span_id(), b.span_id());
        assert_eq!(started.0.load(Ordering::SeqCst), 2);
        dispatch::uninstall_own();
    }
}
