//! The `SpanData` of a finished record, as the SDK would have built it:
//! the same fields, attributes in the same order, and the span limits
//! applied the way the SDK applies them (`opentelemetry_sdk` 0.33,
//! `trace/tracer.rs` at start, `trace/span.rs` while open).

use opentelemetry::trace::{Event, Link, SpanContext};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLimits, SpanLinks};

use super::record::{Dropped, Extra, Record};
use super::span_attributes;

/// Builds the span `record` describes; `scope` for traced's own spans.
pub(super) fn build(
    context: SpanContext,
    record: Record,
    limits: &SpanLimits,
    scope: &InstrumentationScope,
) -> SpanData {
    let Record {
        parent_span_id,
        parent_remote,
        name,
        kind,
        start,
        end,
        code,
        attributes,
        tags,
        scope: own_scope,
        extra,
    } = record;
    let Extra { sampler_attributes, recorded, events, links, status, dropped } =
        extra.map(|extra| *extra).unwrap_or_default();
    let Dropped { attributes: dropped_attributes, events: dropped_events, links: dropped_links } = dropped;
    // At start: `code.*`, own, global tags, then the sampler's; set while
    // open: after them. Past the limit, the first ones are kept.
    let mut attributes = span_attributes(code, attributes, tags.as_ref());
    attributes.extend(sampler_attributes);
    attributes.extend(recorded);
    let dropped_attributes = keep_first(&mut attributes, limits.max_attributes_per_span, dropped_attributes);
    SpanData {
        parent_span_id,
        parent_span_is_remote: parent_remote,
        span_context: context,
        span_kind: kind,
        name,
        start_time: start,
        end_time: end,
        attributes,
        dropped_attributes_count: dropped_attributes,
        events: span_events(events, limits, dropped_events),
        links: span_links(links, limits, dropped_links),
        status,
        instrumentation_scope: own_scope.map_or_else(|| scope.clone(), |own| InstrumentationScope::clone(&own)),
    }
}

/// Truncates `list` to `limit`; returns how many were dropped in all.
fn keep_first<T>(list: &mut Vec<T>, limit: u32, dropped_before: u32) -> u32 {
    let over = list.len().saturating_sub(limit as usize);
    list.truncate(limit as usize);
    u32::try_from(over).unwrap_or(u32::MAX).saturating_add(dropped_before)
}

fn span_events(mut events: Vec<Event>, limits: &SpanLimits, dropped: u32) -> SpanEvents {
    let mut kept = SpanEvents::default();
    kept.dropped_count = keep_first(&mut events, limits.max_events_per_span, dropped);
    for event in &mut events {
        event.dropped_attributes_count = keep_first(&mut event.attributes, limits.max_attributes_per_event, 0);
    }
    kept.events = events;
    kept
}

fn span_links(mut links: Vec<Link>, limits: &SpanLimits, dropped: u32) -> SpanLinks {
    let mut kept = SpanLinks::default();
    kept.dropped_count = keep_first(&mut links, limits.max_links_per_span, dropped);
    for link in &mut links {
        link.dropped_attributes_count = keep_first(&mut link.attributes, limits.max_attributes_per_link, 0);
    }
    kept.links = links;
    kept
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::{Duration, Instant};

    use opentelemetry::trace::{
        SpanBuilder, SpanContext, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer as _,
        TracerProvider as _,
    };
    use opentelemetry::{Context, KeyValue};
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanData, SpanLimits, SpanProcessor};

    use super::super::tests::collect;
    use super::super::{Engine, EngineTracer};

    /// Keeps every span it is given.
    #[derive(Debug, Clone, Default)]
    struct Kept(Arc<Mutex<Vec<SpanData>>>);

    impl Kept {
        fn take(&self) -> Vec<SpanData> {
            std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
        }
    }

    impl SpanProcessor for Kept {
        fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &Context) {}
        fn on_end(&self, span: SpanData) {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).push(span);
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    fn attributes(prefix: &str, n: usize) -> Vec<KeyValue> {
        (0..n).map(|i| KeyValue::new(format!("{prefix}.{i}"), i as i64)).collect()
    }

    fn linked(n: u8) -> SpanContext {
        SpanContext::new(
            TraceId::from(u128::from(n) + 7),
            (u64::from(n) + 9).into(),
            TraceFlags::SAMPLED,
            true,
            TraceState::NONE,
        )
    }

    /// The same span, start to end, on whichever tracer: attributes, events
    /// and links given at start and added while open, past every limit.
    fn one_span<S: opentelemetry::trace::Span>(start: impl FnOnce(SpanBuilder) -> S, at_start: usize) {
        let builder = SpanBuilder::from_name("checkout")
            .with_kind(SpanKind::Client)
            .with_attributes(attributes("start", at_start))
            .with_events(vec![opentelemetry::trace::Event::new(
                "at.start",
                opentelemetry::time::now(),
                attributes("event", 3),
                0,
            )])
            .with_links(vec![
                opentelemetry::trace::Link::new(linked(1), attributes("link", 3), 0),
                opentelemetry::trace::Link::new(linked(2), Vec::new(), 0),
            ]);
        let mut span = start(builder);
        for i in 0..3 {
            span.set_attribute(KeyValue::new(format!("open.{i}"), "v"));
            span.add_event(format!("open.{i}"), attributes("event", i));
        }
        span.add_link(linked(3), attributes("link", 1));
        span.set_status(Status::error("declined"));
        span.update_name("checkout.renamed");
        span.end();
    }

    #[test]
    fn the_engine_builds_what_the_sdk_builds_limits_included() {
        let limits = SpanLimits {
            max_attributes_per_span: 4,
            max_events_per_span: 2,
            max_links_per_span: 1,
            max_attributes_per_event: 1,
            max_attributes_per_link: 2,
        };
        let (sdk_kept, engine_kept) = (Kept::default(), Kept::default());
        let provider =
            SdkTracerProvider::builder().with_span_limits(limits).with_span_processor(sdk_kept.clone()).build();
        let scope = opentelemetry::InstrumentationScope::builder("engine-test").build();
        let sdk = provider.tracer_with_scope(scope.clone());
        let engine =
            Engine::start(collect(engine_kept.clone(), limits), Sampler::AlwaysOn, true, 16, Box::new(|_, _| {}))
                .expect("collector thread");
        // A raw span with its own scope, under a remote parent.
        let raw = EngineTracer::new(&engine, Some(Arc::new(scope)));
        let parent = Context::new().with_remote_span_context(linked(4));
        // Under the limit at start, then over it.
        for at_start in [1, 6] {
            one_span(|builder| sdk.build_with_context(builder, &parent), at_start);
            one_span(|builder| raw.build(builder, &parent), at_start);
        }
        assert!(engine.flush(Instant::now() + Duration::from_secs(10)));
        let (expected, got) = (sdk_kept.take(), engine_kept.take());
        assert_eq!(expected.len(), 2);
        assert_eq!(got.len(), 2);
        for (expected, got) in expected.iter().zip(&got) {
            assert_eq!(got.parent_span_id, expected.parent_span_id);
            assert_eq!(got.parent_span_is_remote, expected.parent_span_is_remote);
            assert!(got.parent_span_is_remote);
            assert_eq!(got.span_context.trace_id(), expected.span_context.trace_id());
            assert_eq!(got.span_context.trace_flags(), expected.span_context.trace_flags());
            assert_eq!(got.span_kind, expected.span_kind);
            assert_eq!(got.name, expected.name);
            assert_eq!(got.attributes, expected.attributes);
            assert_eq!(got.dropped_attributes_count, expected.dropped_attributes_count);
            assert_eq!(got.events.len(), expected.events.len());
            assert_eq!(got.events.dropped_count, expected.events.dropped_count);
            for (got, expected) in got.events.iter().zip(expected.events.iter()) {
                assert_eq!(got.name, expected.name);
                assert_eq!(got.attributes, expected.attributes);
                assert_eq!(got.dropped_attributes_count, expected.dropped_attributes_count);
            }
            assert_eq!(got.links, expected.links);
            assert_eq!(got.status, expected.status);
            assert_eq!(got.instrumentation_scope, expected.instrumentation_scope);
        }
        // The limits did bite, in both cases.
        assert_eq!((got[0].dropped_attributes_count, got[1].dropped_attributes_count), (0, 5));
        assert_eq!(got[1].events.dropped_count, 2);
        assert_eq!(got[1].links.dropped_count, 2);
        assert!(engine.close(Instant::now() + Duration::from_secs(10)));
    }
}
