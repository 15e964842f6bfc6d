//! How the collector turns a finished record into the SDK's `SpanData`
//! without a second opinion: the provider `init()` builds has an id
//! generator and a sampler that, on the collector's thread only, hand back
//! the ids and the decision the engine already made on the application's
//! thread. Everywhere else (a tracer taken from `Guard::provider()`) they
//! are the SDK's random generator and the configured sampler, unchanged.

use std::cell::RefCell;

use opentelemetry::trace::{Link, SpanId, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, Sampler, SamplingResult, ShouldSample};

/// What the next span built on this thread must get.
pub(super) struct Preset {
    pub(super) trace_id: TraceId,
    pub(super) span_id: SpanId,
    pub(super) result: SamplingResult,
}

thread_local! {
    static PRESET: RefCell<Option<Preset>> = const { RefCell::new(None) };
}

/// Runs `build` with `preset` in force for the span it builds.
pub(super) fn with_preset<R>(preset: Preset, build: impl FnOnce() -> R) -> R {
    PRESET.set(Some(preset));
    let out = build();
    // Not consumed (the provider was shut down, say): never leaks to the next.
    PRESET.set(None);
    out
}

/// The id generator of `init()`'s provider: the preset ids on the
/// collector's thread, random ids anywhere else.
#[derive(Debug, Default)]
pub(crate) struct ReplayIds {
    random: RandomIdGenerator,
}

impl IdGenerator for ReplayIds {
    fn new_trace_id(&self) -> TraceId {
        PRESET.with_borrow(|p| p.as_ref().map(|p| p.trace_id)).unwrap_or_else(|| self.random.new_trace_id())
    }

    fn new_span_id(&self) -> SpanId {
        PRESET.with_borrow(|p| p.as_ref().map(|p| p.span_id)).unwrap_or_else(|| self.random.new_span_id())
    }
}

/// The sampler of `init()`'s provider: the engine's decision on the
/// collector's thread (taken once), the configured sampler anywhere else.
#[derive(Debug, Clone)]
pub(crate) struct ReplaySampler(pub(crate) Sampler);

impl ShouldSample for ReplaySampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        let preset = PRESET.with_borrow_mut(|p| {
            let result = p.as_mut()?;
            let empty = SamplingResult {
                decision: result.result.decision.clone(),
                attributes: Vec::new(),
                trace_state: Default::default(),
            };
            Some(std::mem::replace(&mut result.result, empty))
        });
        match preset {
            Some(result) => result,
            None => self.0.should_sample(parent_context, trace_id, name, span_kind, attributes, links),
        }
    }
}

/// True when `sampler` is known not to read the span's attributes, links or
/// name (the SDK's own samplers): the engine then asks it without building
/// them. A custom [`ShouldSample`] is given exactly what the SDK would give.
pub(crate) fn ignores_attributes(sampler: &Sampler) -> bool {
    fn builtin(debug: &str) -> bool {
        matches!(debug, "AlwaysOn" | "AlwaysOff") || debug.starts_with("TraceIdRatioBased(")
    }
    match sampler {
        Sampler::AlwaysOn | Sampler::AlwaysOff | Sampler::TraceIdRatioBased(_) => true,
        // The root sampler is a `dyn ShouldSample`: only the SDK's own are
        // known by their `Debug` form (`ParentBased(AlwaysOn)`, the default).
        Sampler::ParentBased(_) => {
            let debug = format!("{sampler:?}");
            debug.strip_prefix("ParentBased(").and_then(|s| s.strip_suffix(')')).is_some_and(builtin)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TraceState;
    use opentelemetry_sdk::trace::SamplingDecision;

    use super::*;

    #[test]
    fn a_preset_answers_once_on_its_thread_and_the_sampler_elsewhere() {
        let sampler = ReplaySampler(Sampler::AlwaysOff);
        let ids = ReplayIds::default();
        let preset = Preset {
            trace_id: TraceId::from(5_u128),
            span_id: SpanId::from(6_u64),
            result: SamplingResult {
                decision: SamplingDecision::RecordAndSample,
                attributes: vec![KeyValue::new("k", 1)],
                trace_state: TraceState::default(),
            },
        };
        let ask = || sampler.should_sample(None, TraceId::from(1_u128), "n", &SpanKind::Internal, &[], &[]);
        with_preset(preset, || {
            assert_eq!(ids.new_trace_id(), TraceId::from(5_u128));
            assert_eq!(ids.new_span_id(), SpanId::from(6_u64));
            let first = ask();
            assert_eq!(first.decision, SamplingDecision::RecordAndSample);
            assert_eq!(first.attributes.len(), 1);
        });
        assert_eq!(ask().decision, SamplingDecision::Drop);
        assert_ne!(ids.new_span_id(), SpanId::from(6_u64));
    }

    #[test]
    fn only_the_sdk_samplers_are_known_to_ignore_attributes() {
        assert!(ignores_attributes(&Sampler::AlwaysOn));
        assert!(ignores_attributes(&Sampler::ParentBased(Box::new(Sampler::AlwaysOn))));
        assert!(ignores_attributes(&Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.5)))));
        #[derive(Debug, Clone)]
        struct Custom;
        impl ShouldSample for Custom {
            fn should_sample(
                &self,
                _: Option<&Context>,
                _: TraceId,
                _: &str,
                _: &SpanKind,
                _: &[KeyValue],
                _: &[Link],
            ) -> SamplingResult {
                SamplingResult {
                    decision: SamplingDecision::Drop,
                    attributes: Vec::new(),
                    trace_state: TraceState::default(),
                }
            }
        }
        assert!(!ignores_attributes(&Sampler::ParentBased(Box::new(Custom))));
    }
}
