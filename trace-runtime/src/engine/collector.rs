//! The collector thread: takes finished records off the hand-off's lanes and
//! builds the SDK's span from each, with the ids, sampling decision and
//! timestamps the engine recorded, then ends it, which gives the `SpanData`
//! to every processor of the provider (on_start, then on_end, both here).

use std::panic::{catch_unwind, AssertUnwindSafe};

use opentelemetry::trace::{Span as _, SpanBuilder, SpanContext, TraceContextExt, TraceState, Tracer};
use opentelemetry::Context;
use opentelemetry_sdk::trace::{SamplingResult, SdkTracer};

use super::handoff::HandOff;
use super::record::{Extra, Record};
use super::replay::{with_preset, Preset};
use super::{span_attributes, Books, Lost};

/// Runs until the hand-off is stopped.
pub(super) fn run(handoff: &HandOff, tracer: &SdkTracer, lost: &dyn Fn(u64, Lost), books: &Books) {
    // Spans processors or exporters start here must not come back to us.
    let _suppressed = Context::new().with_telemetry_suppressed().attach();
    handoff.run(|(context, record)| {
        // A panicking processor loses this span only, not the collector.
        if catch_unwind(AssertUnwindSafe(|| deliver(tracer, context, record, lost))).is_err() {
            lost(1, Lost::Panicked);
        }
        // Only now: the processors already count it (queued or lost).
        books.delivered();
    });
}

fn deliver(tracer: &SdkTracer, context: SpanContext, record: Record, lost: &dyn Fn(u64, Lost)) {
    let Record { parent, name, kind, decision, start, end, code, attributes, tags, tracer: scope, extra } = record;
    let Extra { sampler_attributes, recorded, events, links, status } = extra.map(|extra| *extra).unwrap_or_default();
    let parent = match parent {
        Some(parent) => Context::new().with_remote_span_context(SpanContext::new(
            context.trace_id(),
            parent.span_id,
            parent.flags,
            parent.remote,
            TraceState::default(),
        )),
        None => Context::new(),
    };
    let mut builder = SpanBuilder::from_name(name)
        .with_kind(kind)
        .with_start_time(start)
        .with_attributes(span_attributes(code, attributes, tags.as_ref()));
    if !links.is_empty() {
        builder = builder.with_links(links);
    }
    if !events.is_empty() {
        builder = builder.with_events(events);
    }
    let preset = Preset {
        trace_id: context.trace_id(),
        span_id: context.span_id(),
        result: SamplingResult { decision, attributes: sampler_attributes, trace_state: context.trace_state().clone() },
    };
    let tracer = scope.as_ref().unwrap_or(tracer);
    let mut span = with_preset(preset, || tracer.build_with_context(builder, &parent));
    if !span.is_recording() {
        // The provider was shut down (by someone holding it, around the
        // guard): no processor will see the span.
        lost(1, Lost::AfterShutdown);
        return;
    }
    if !recorded.is_empty() {
        span.set_attributes(recorded);
    }
    span.set_status(status);
    span.end_with_timestamp(end);
}
