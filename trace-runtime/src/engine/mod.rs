//! traced's own span engine, used whenever `init()` owns the provider.
//!
//! On the application's thread a span costs the sampler's decision (made
//! without a call for the SDK's fixed rules, [`sampler`]), two ids from a
//! per-thread generator, two clock reads and a compact [`Record`] that points
//! at the call site's `&'static` metadata; ending it pushes the record onto
//! the thread's lane of the bounded hand-off ([`handoff`]). The collector
//! thread ([`collector`]) sweeps the lanes by the batch, builds the SDK's
//! `SpanData` from it ([`span_data`]) and gives it to the provider's
//! processors ([`processors`], shared with the provider), so everything
//! downstream (the export pipelines, processors added with
//! `.span_processor(..)`, loss accounting) gets what the SDK would give it;
//! only `on_start` is not called, there being no SDK span.
//!
//! A record that cannot be handed off (the hand-off is full, or the engine
//! was shut down) is counted lost, through the callback `init()` gives.
//! Spans of a provider the user installed keep the SDK path entirely.

mod collector;
mod handoff;
mod ids;
pub(crate) mod processors;
mod record;
mod sampler;
#[cfg(test)]
pub(crate) use sampler::FixedSampler;
mod span_data;

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Instant, SystemTime};

use opentelemetry::trace::{Event, Link, SpanBuilder, SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample, SpanLimits};

use crate::callsite::Meta;
use crate::tags::store::{self as tags, TagSnapshot};
pub(crate) use collector::Collect;
use handoff::HandOff;
pub(crate) use ids::{new_span_id, new_trace_id};
pub(crate) use record::EngineSpan;
use record::{Extra, Record};

/// The most finished spans a hand-off may be sized to hold before new ones
/// are counted lost. `init()` sizes it like the export queue
/// (`batch_max_queue_size`: default 2048, at most 65,536, the same bound);
/// its lanes grow to what they hold (about 200 bytes a span), never past it.
/// While every export queue is full the collector leaves spans here (up to
/// three quarters of it), so a burst waits for the exporter instead of
/// being dropped.
pub(crate) const HANDOFF_CAPACITY: usize = 65_536;

/// Every engine that may still hold spans in its hand-off, for
/// [`queued_spans`]. Pruned as engines are dropped.
static LIVE: Mutex<Vec<Weak<Books>>> = Mutex::new(Vec::new());

/// Finished spans waiting in the hand-off of any engine of the process:
/// ended, not yet given to the processors. Part of `pending_spans()`.
pub(crate) fn queued_spans() -> u64 {
    let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
    live.retain(|books| books.strong_count() > 0);
    live.iter().filter_map(Weak::upgrade).map(|books| books.queued()).sum()
}

/// Why a span could not be handed to the exporters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lost {
    /// The hand-off was full: the collector is behind.
    Full,
    /// It ended after the engine was shut down.
    AfterShutdown,
    /// A processor panicked while the collector gave it the span.
    Panicked,
}

/// Counts spans the engine could not deliver.
pub(crate) type LossSink = Box<dyn Fn(u64, Lost) + Send + Sync>;

/// One engine: the sampler, the hand-off and its collector thread.
pub(crate) struct Engine {
    sampler: Sampler,
    /// The sampler's rule, when the engine can apply it without asking.
    rule: sampler::Rule,
    /// The sampler may read attributes, links or the name: give it all of them.
    reads_attributes: bool,
    handoff: Arc<HandOff>,
    /// The most spans the hand-off holds.
    capacity: u64,
    closed: AtomicBool,
    /// Shared with the collector, which takes delivered spans off it.
    books: Arc<Books>,
    lost: LossSink,
    /// The provider's span limits: open spans keep at most this many
    /// attributes, events and links (memory stays bounded), counting the rest.
    pub(crate) limits: SpanLimits,
}

/// The engine's counts in one word, so that a span moves from open to
/// queued with a single atomic step and a span open at shutdown is counted
/// lost exactly once, at close, whichever comes first. Bit 0: closed.
/// Bits 1..=32: recording spans started and not ended. Bits 33..: spans in
/// the hand-off (at most its capacity).
#[derive(Debug, Default)]
pub(crate) struct Books {
    word: AtomicU64,
}

const CLOSED: u64 = 1;
const ONE_OPEN: u64 = 2;
const ONE_QUEUED: u64 = 1 << 33;
const OPEN_MASK: u64 = ONE_QUEUED - ONE_OPEN;

impl Books {
    fn queued(&self) -> u64 {
        self.word.load(Ordering::Acquire) / ONE_QUEUED
    }

    /// `spans` queued spans were given to the processors (or counted lost).
    fn delivered(&self, spans: u64) {
        self.word.fetch_sub(spans * ONE_QUEUED, Ordering::AcqRel);
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("sampler", &self.sampler).field("closed", &self.closed).finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts the collector thread, which builds spans as `collect` says and
    /// gives them to its processors (`sampler_built_here`: see
    /// [`sampler::Rule::of`]). `None` when the thread cannot be started:
    /// the caller keeps the SDK path.
    pub(crate) fn start(
        collect: Collect,
        sampler: Sampler,
        sampler_built_here: bool,
        capacity: usize,
        lost: LossSink,
    ) -> Option<Arc<Engine>> {
        let handoff = Arc::new(HandOff::new());
        let loss = Arc::new(lost);
        let collector_loss = Arc::clone(&loss);
        let books = Arc::new(Books::default());
        let collector_books = Arc::clone(&books);
        let collector_handoff = Arc::clone(&handoff);
        let limits = collect.limits;
        let capacity = capacity.clamp(1, HANDOFF_CAPACITY) as u64;
        let spawned = std::thread::Builder::new().name("trace-runtime-collector".to_owned()).spawn(move || {
            let loss = |n, why| (collector_loss)(n, why);
            collector::run(&collector_handoff, &collect, &loss, &collector_books, capacity)
        });
        if let Err(error) = spawned {
            eprintln!("trace-runtime: could not start the span collector thread ({error}); spans take the SDK path");
            return None;
        }
        let reads_attributes = !sampler::ignores_attributes(&sampler, sampler_built_here);
        let rule = sampler::Rule::of(&sampler, sampler_built_here);
        let lost: LossSink = Box::new(move |n, why| (loss)(n, why));
        LIVE.lock().unwrap_or_else(PoisonError::into_inner).push(Arc::downgrade(&books));
        Some(Arc::new(Engine {
            sampler,
            rule,
            reads_attributes,
            handoff,
            capacity,
            closed: AtomicBool::new(false),
            books,
            lost,
            limits,
        }))
    }

    fn hand_off(&self, context: SpanContext, record: Record) {
        // Open to queued in one step: `pending_spans()` never misses it.
        let before = self.books.word.fetch_add(ONE_QUEUED - ONE_OPEN, Ordering::AcqRel);
        if before & CLOSED != 0 {
            self.books.delivered(1);
            return; // counted lost when the engine closed
        }
        let queued = before / ONE_QUEUED;
        let refused = if queued >= self.capacity {
            Lost::Full
        } else if self.handoff.push((context, record)) {
            if (queued + 1) * 8 >= self.capacity {
                // An eighth full: the collector sweeps now, not at its next
                // tick, in batches small enough to keep the export queues
                // behind it from taking bursts.
                self.handoff.wake();
            }
            return;
        } else {
            Lost::AfterShutdown
        };
        self.books.delivered(1);
        (self.lost)(1, refused);
    }

    /// Waits until every span ended so far was given to the processors, or
    /// `deadline`. Returns false on timeout.
    pub(crate) fn flush(&self, deadline: Instant) -> bool {
        self.handoff.flush(deadline)
    }

    /// Stops taking spans (later ones are counted lost), delivers what is
    /// queued by `deadline` and stops the collector. Returns false on timeout.
    pub(crate) fn close(&self, deadline: Instant) -> bool {
        if self.closed.swap(true, Ordering::AcqRel) {
            return true;
        }
        // Spans still open can never be delivered: counted now, not when they end.
        let open = (self.books.word.fetch_or(CLOSED, Ordering::AcqRel) & OPEN_MASK) / ONE_OPEN;
        if open > 0 {
            (self.lost)(open, Lost::AfterShutdown);
        }
        let delivered = self.flush(deadline);
        // Whatever raced past the flag is delivered by the collector's last sweep.
        self.handoff.stop();
        delivered
    }
}

/// A tracer on an engine: traced's own spans, or raw OpenTelemetry spans
/// (with their instrumentation scope) that reached traced's router.
#[derive(Debug, Clone)]
pub(crate) struct EngineTracer {
    engine: Arc<Engine>,
    /// A raw tracer's scope; `None`: traced's own.
    scope: Option<Arc<InstrumentationScope>>,
}

/// What a span starts with.
pub(crate) struct Start {
    pub(crate) name: Cow<'static, str>,
    pub(crate) kind: SpanKind,
    /// Own attributes (after `code.*`, before the tags).
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) links: Vec<Link>,
    pub(crate) code: Option<&'static Meta>,
    pub(crate) tags: Option<TagSnapshot>,
    pub(crate) start_time: Option<SystemTime>,
    pub(crate) events: Vec<Event>,
}

impl EngineTracer {
    pub(crate) fn new(engine: &Arc<Engine>, scope: Option<Arc<InstrumentationScope>>) -> Self {
        EngineTracer { engine: Arc::clone(engine), scope }
    }

    /// A raw OpenTelemetry span (its builder already carries the global tags).
    pub(crate) fn build(&self, builder: SpanBuilder, parent: &Context) -> EngineSpan {
        let SpanBuilder { name, span_kind, attributes, links, start_time, events, .. } = builder;
        let start = Start {
            name,
            kind: span_kind.unwrap_or(SpanKind::Internal),
            attributes: attributes.unwrap_or_default(),
            links: links.unwrap_or_default(),
            code: None,
            tags: None,
            start_time,
            events: events.unwrap_or_default(),
        };
        self.start(parent, start)
    }

    /// Starts a span under `parent`, deciding as the SDK would: the same
    /// sampler, given the same arguments, and the same span context.
    pub(crate) fn start(&self, parent: &Context, mut start: Start) -> EngineSpan {
        let engine = &self.engine;
        if parent.is_telemetry_suppressed() || engine.closed.load(Ordering::Relaxed) {
            return EngineSpan::dropped(SpanContext::empty_context());
        }
        let span_id = new_span_id();
        let parent_span = parent.span();
        let psc = parent_span.span_context();
        let (trace_id, parent_span_id, flags) = if psc.is_valid() {
            (psc.trace_id(), psc.span_id(), psc.trace_flags())
        } else {
            (new_trace_id(), SpanId::INVALID, TraceFlags::default())
        };
        let result = match engine.rule.decide(parent.has_active_span(), psc) {
            // The SDK's own rule: its result, without building one to drop.
            Some(sampled) => SamplingResult {
                decision: if sampled { SamplingDecision::RecordAndSample } else { SamplingDecision::Drop },
                attributes: Vec::new(),
                trace_state: psc.trace_state().clone(),
            },
            None => {
                if engine.reads_attributes && (start.code.is_some() || start.tags.is_some()) {
                    // A custom sampler sees the attributes the SDK would give it.
                    let own = std::mem::take(&mut start.attributes);
                    start.attributes = span_attributes(start.code.take(), own, start.tags.take().as_ref());
                }
                engine.sampler.should_sample(
                    Some(parent),
                    trace_id,
                    &start.name,
                    &start.kind,
                    &start.attributes,
                    &start.links,
                )
            }
        };
        let sampled = match result.decision {
            SamplingDecision::Drop => {
                let context = SpanContext::new(trace_id, span_id, TraceFlags::default(), false, result.trace_state);
                return EngineSpan::dropped(context);
            }
            SamplingDecision::RecordOnly => false,
            SamplingDecision::RecordAndSample => true,
        };
        let context = SpanContext::new(trace_id, span_id, flags.with_sampled(sampled), false, result.trace_state);
        let before = engine.books.word.fetch_add(ONE_OPEN, Ordering::AcqRel);
        if before & CLOSED != 0 {
            // Closed since the check above: the span records nothing.
            engine.books.word.fetch_sub(ONE_OPEN, Ordering::AcqRel);
            return EngineSpan::dropped(SpanContext::empty_context());
        }
        let now = start.start_time.unwrap_or_else(opentelemetry::time::now);
        let record = Record {
            parent_span_id,
            parent_remote: psc.is_valid() && psc.is_remote(),
            name: start.name,
            kind: start.kind,
            start: now,
            end: now,
            code: start.code,
            attributes: start.attributes,
            tags: start.tags,
            scope: self.scope.clone(),
            extra: extra(result.attributes, start.events, start.links),
        };
        EngineSpan::recording(context, record, Arc::clone(engine))
    }
}

/// The rarer parts a span starts with, boxed only when there are any. A
/// plain function, not a closure: an uncalled closure would still drop the
/// three (empty) vectors it captured, out of line.
#[inline]
fn extra(sampler_attributes: Vec<KeyValue>, events: Vec<Event>, links: Vec<Link>) -> Option<Box<Extra>> {
    if sampler_attributes.is_empty() && events.is_empty() && links.is_empty() {
        return None;
    }
    Some(Box::new(Extra { sampler_attributes, events, links, ..Extra::default() }))
}

/// The attributes of a span as the SDK path gives them: `code.*` first,
/// then the span's own, then the global tags it does not set itself.
pub(crate) fn span_attributes(
    code: Option<&'static Meta>,
    own: Vec<KeyValue>,
    tags: Option<&TagSnapshot>,
) -> Vec<KeyValue> {
    if code.is_none() && tags.is_none() {
        return own;
    }
    let mut all = Vec::with_capacity(3 + own.len() + tags.map_or(0, TagSnapshot::len));
    if let Some(meta) = code {
        all.extend(meta.code_attributes());
    }
    all.extend(own);
    if let Some(tags) = tags {
        let own = all.len();
        tags.append_to(&mut all);
        tags::drop_shadowed(&mut all, own);
    }
    all
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;

    use opentelemetry::trace::Span as _;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SpanData, SpanProcessor};

    use super::*;
    use std::time::Duration;

    /// Counts the spans the provider's processors are given.
    #[derive(Debug, Clone, Default)]
    struct Ended(Arc<AtomicUsize>);

    impl SpanProcessor for Ended {
        fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &Context) {}
        fn on_end(&self, _span: SpanData) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    /// Every loss the engine reported.
    type Losses = Arc<Mutex<Vec<(u64, Lost)>>>;

    /// What the collector needs to give `processor` every span.
    pub(super) fn collect(processor: impl SpanProcessor + 'static, limits: SpanLimits) -> Collect {
        let mut processors = processors::Processors::default();
        let processor: Arc<dyn SpanProcessor> = Arc::new(processor);
        let _provider_side = processors.share(Arc::clone(&processor), processors::one_by_one(processor), None);
        Collect { processors, scope: InstrumentationScope::builder("engine-test").build(), limits }
    }

    fn engine(capacity: usize) -> (Arc<Engine>, Ended, Losses) {
        let ended = Ended::default();
        let losses = Arc::new(Mutex::new(Vec::new()));
        let books = Arc::clone(&losses);
        let lost: LossSink = Box::new(move |n, why| books.lock().unwrap_or_else(|e| e.into_inner()).push((n, why)));
        let collect = collect(ended.clone(), SpanLimits::default());
        let engine = Engine::start(collect, Sampler::AlwaysOn, true, capacity, lost).expect("collector thread");
        (engine, ended, losses)
    }

    fn start(engine: &Arc<Engine>, name: &'static str) -> EngineSpan {
        let start = Start {
            name: name.into(),
            kind: SpanKind::Internal,
            attributes: Vec::new(),
            links: Vec::new(),
            code: None,
            tags: None,
            start_time: None,
            events: Vec::new(),
        };
        EngineTracer::new(engine, None).start(&Context::new(), start)
    }

    fn lost(losses: &Mutex<Vec<(u64, Lost)>>, why: Lost) -> u64 {
        losses.lock().unwrap_or_else(|e| e.into_inner()).iter().filter(|(_, w)| *w == why).map(|(n, _)| n).sum()
    }

    #[test]
    fn under_overload_every_span_is_delivered_or_counted_lost() {
        let (engine, ended, losses) = engine(4);
        let produced = 5_000;
        for _ in 0..produced {
            let mut span = start(&engine, "burst");
            span.set_attribute(KeyValue::new("k", 1));
            span.end();
        }
        assert!(engine.close(Instant::now() + Duration::from_secs(10)));
        let delivered = ended.0.load(Ordering::SeqCst) as u64;
        assert_eq!(delivered + lost(&losses, Lost::Full), produced);
        assert_eq!(lost(&losses, Lost::AfterShutdown), 0);
    }

    /// Holds every span in `on_end` until released: they stay in the hand-off.
    #[derive(Debug, Clone)]
    struct Gate(Arc<(Mutex<bool>, std::sync::Condvar)>);

    impl SpanProcessor for Gate {
        fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &Context) {}
        fn on_end(&self, _span: SpanData) {
            let (open, changed) = &*self.0;
            let mut open = open.lock().unwrap_or_else(|e| e.into_inner());
            while !*open {
                open = changed.wait(open).unwrap_or_else(|e| e.into_inner());
            }
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    #[test]
    fn spans_in_the_hand_off_are_counted_queued_until_the_processors_have_them() {
        let gate = Gate(Arc::new((Mutex::new(false), std::sync::Condvar::new())));
        let collect = collect(gate.clone(), SpanLimits::default());
        let engine =
            Engine::start(collect, Sampler::AlwaysOn, true, 16, Box::new(|_, _| {})).expect("collector thread");
        let open = start(&engine, "still open");
        for _ in 0..3 {
            start(&engine, "ended").end();
        }
        // The collector holds the first in `on_end`: still counted, not yet the processors'.
        assert_eq!(engine.books.queued(), 3);
        assert!(queued_spans() >= 3, "part of pending_spans()");
        let (released, changed) = &*gate.0;
        *released.lock().unwrap_or_else(|e| e.into_inner()) = true;
        changed.notify_all();
        assert!(engine.flush(Instant::now() + Duration::from_secs(10)));
        assert_eq!(engine.books.queued(), 0);
        drop(open);
        assert!(engine.close(Instant::now() + Duration::from_secs(10)));
    }

    /// Threads end spans on their lanes while the engine closes: every span
    /// that recorded is delivered or counted lost, exactly once, and none is
    /// left in a lane after the collector's last sweep.
    #[test]
    fn spans_ended_while_the_engine_closes_are_each_delivered_or_counted_once() {
        let (engine, ended, losses) = engine(256);
        let recorded = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    // Until well past the close: spans on both sides of it.
                    let mut after_close = 0;
                    while after_close < 1_000 {
                        let span = start(&engine, "racing");
                        if opentelemetry::trace::Span::is_recording(&span) {
                            recorded.fetch_add(1, Ordering::SeqCst);
                        } else {
                            after_close += 1;
                        }
                        drop(span);
                    }
                });
            }
            s.spawn(|| {
                // Close while the producers are running (they record until then).
                while recorded.load(Ordering::SeqCst) < 2_000 {
                    std::thread::sleep(Duration::from_micros(100));
                }
                assert!(engine.close(Instant::now() + Duration::from_secs(10)));
            });
        });
        let delivered = ended.0.load(Ordering::SeqCst) as u64;
        let lost_total = lost(&losses, Lost::Full) + lost(&losses, Lost::AfterShutdown) + lost(&losses, Lost::Panicked);
        assert_eq!(delivered + lost_total, recorded.load(Ordering::SeqCst) as u64);
        assert!(delivered > 0, "spans ended before the close were delivered");
        assert_eq!(engine.books.queued(), 0, "nothing left in a lane");
    }

    #[test]
    fn a_span_open_at_close_is_counted_once_and_later_ones_record_nothing() {
        let (engine, ended, losses) = engine(64);
        let mut delivered = start(&engine, "before");
        delivered.end();
        let open = start(&engine, "open across close");
        assert!(engine.close(Instant::now() + Duration::from_secs(10)));
        assert_eq!(lost(&losses, Lost::AfterShutdown), 1);
        drop(open);
        assert_eq!(lost(&losses, Lost::AfterShutdown), 1, "not counted again when it ends");
        let after = start(&engine, "after");
        assert!(!opentelemetry::trace::Span::is_recording(&after));
        assert_eq!(ended.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn once_the_provider_shut_its_processors_down_engine_spans_are_counted_lost() {
        let ended = Ended::default();
        let mut processors = processors::Processors::default();
        let processor: Arc<dyn SpanProcessor> = Arc::new(ended.clone());
        let shared = processors.share(Arc::clone(&processor), processors::one_by_one(processor), None);
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().with_span_processor(shared).build();
        let collect =
            Collect { processors, scope: InstrumentationScope::builder("t").build(), limits: SpanLimits::default() };
        let losses = Arc::new(Mutex::new(Vec::new()));
        let books = Arc::clone(&losses);
        let sink: LossSink = Box::new(move |n, why| books.lock().unwrap_or_else(|e| e.into_inner()).push((n, why)));
        let engine = Engine::start(collect, Sampler::AlwaysOn, true, 16, sink).expect("collector thread");
        start(&engine, "before").end();
        assert!(engine.flush(Instant::now() + Duration::from_secs(10)));
        // Shut down by someone holding the provider, the engine still running.
        assert!(provider.shutdown().is_ok());
        start(&engine, "after").end();
        assert!(engine.close(Instant::now() + Duration::from_secs(10)));
        assert_eq!(ended.0.load(Ordering::SeqCst), 1);
        assert_eq!(lost(&losses, Lost::AfterShutdown), 1);
    }

    /// Panics on the span named "boom", counts the others.
    #[derive(Debug, Clone, Default)]
    struct Panicky(Ended);

    impl SpanProcessor for Panicky {
        fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &Context) {}
        fn on_end(&self, span: SpanData) {
            assert_ne!(span.name, "boom", "a processor panicking on purpose");
            self.0.on_end(span);
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    #[test]
    fn a_panicking_processor_loses_that_span_only() {
        let panicky = Panicky::default();
        let losses = Arc::new(Mutex::new(Vec::new()));
        let books = Arc::clone(&losses);
        let sink: LossSink = Box::new(move |n, why| books.lock().unwrap_or_else(|e| e.into_inner()).push((n, why)));
        let collect = collect(panicky.clone(), SpanLimits::default());
        let engine = Engine::start(collect, Sampler::AlwaysOn, true, 16, sink).expect("collector thread");
        start(&engine, "before").end();
        start(&engine, "boom").end();
        start(&engine, "after").end();
        assert!(engine.close(Instant::now() + Duration::from_secs(10)));
        assert_eq!(panicky.0 .0.load(Ordering::SeqCst), 2);
        assert_eq!(lost(&losses, Lost::Panicked), 1);
        assert_eq!(engine.books.queued(), 0, "not pending either");
    }
}
