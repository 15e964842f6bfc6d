//! Starting a span: the one path every span `traced` creates goes through,
//! whether it comes from `#[traced]`, [`crate::span`] or a test capture.

use std::borrow::Cow;

use opentelemetry::trace::{Link, SpanBuilder, SpanKind, TraceContextExt};
use opentelemetry::{Context, KeyValue};

use crate::context::LocalTrace;
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
}

impl SpanSpec {
    pub(crate) fn new(name: impl Into<Cow<'static, str>>) -> Self {
        SpanSpec {
            name: name.into(),
            kind: SpanKind::Internal,
            service: None,
            attributes: Vec::new(),
            links: Vec::new(),
        }
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

    dispatch::with_tracer(parent, |tracer, resource_service| {
        let mut attributes = spec.attributes;
        attributes.reserve(tags::count() + 1);
        if let Some(service) = &service {
            if resource_service.is_none_or(|r| **r != **service) {
                attributes.push(KeyValue::new("service.name", service.clone()));
            }
        }
        tags::append_to(&mut attributes);
        let mut builder = SpanBuilder::from_name(spec.name).with_kind(spec.kind).with_attributes(attributes);
        if !spec.links.is_empty() {
            builder = builder.with_links(spec.links);
        }
        let mut span = tracer.build(builder, parent);
        if opentelemetry::trace::Span::is_recording(&span) {
            record(&mut span);
        }
        let parent_span = parent.span();
        let parent_sc = parent_span.span_context();
        let local_root = !parent_sc.is_valid() || parent_sc.is_remote();
        let cx = parent.with_span(span);
        if local_root {
            let root = cx.clone();
            cx.with_value(LocalTrace { root, service })
        } else if changes_service {
            let root = inherited.map_or_else(|| cx.clone(), |l| l.root.clone());
            cx.with_value(LocalTrace { root, service })
        } else {
            cx
        }
    })
}
