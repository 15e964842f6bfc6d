//! `parent = None`: a span that starts a new trace.
//!
//! The span is built under an empty context, so the SDK gives it a new trace
//! id and the sampler sees no parent. But the context it becomes current in
//! is the caller's with the span replaced, not an empty one: whatever else
//! the caller's context carries (a test capture, baggage) stays, and spans
//! started inside go where the caller's would.

use opentelemetry::trace::{SpanBuilder, TraceContextExt};
use opentelemetry::{Context, KeyValue};

use crate::context::LocalTrace;
use crate::dispatch::{self, AnySpan};
use crate::span::start::SpanSpec;
use crate::tags;

/// `start_span` for a new trace. Keep in step with `span::start::start_span`.
pub(crate) fn start_root(mut spec: SpanSpec, record: impl FnOnce(&mut AnySpan)) -> Option<Context> {
    let current = Context::current();
    // A new trace inherits no service: explicit, else the resource's.
    let service = spec.service.take();
    dispatch::with_tracer(&current, |tracer, resource_service| {
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
        let mut span = tracer.build(builder, &Context::new());
        if opentelemetry::trace::Span::is_recording(&span) {
            record(&mut span);
        }
        let cx = current.with_span(span);
        let root = cx.clone();
        cx.with_value(LocalTrace { root, service })
    })
}
