//! The decision of the SDK's own samplers, made without calling them.
//!
//! `init()` takes its sampler as an `opentelemetry_sdk` [`Sampler`]. For the
//! ones whose rule is fixed (always on, always off, and parent-based over
//! either, the default) the engine applies that rule itself, on values it
//! already holds: no sampler call, no `SamplingResult` to build and drop.
//! Every other sampler (a ratio, a custom `ShouldSample`) is asked as the
//! SDK would ask it.

use opentelemetry::trace::SpanContext;
use opentelemetry_sdk::trace::Sampler;

/// What the engine knows of its sampler's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    AlwaysOn,
    AlwaysOff,
    /// `ParentBased` whose root sampler is always on (`true`) or always off.
    ParentBased(bool),
    /// Anything else: the sampler is asked.
    Ask,
}

impl Rule {
    pub(crate) fn of(sampler: &Sampler) -> Rule {
        match sampler {
            Sampler::AlwaysOn => Rule::AlwaysOn,
            Sampler::AlwaysOff => Rule::AlwaysOff,
            // The root sampler is a `dyn ShouldSample`: the SDK's own are
            // known by their `Debug` form (`ParentBased(AlwaysOn)`).
            Sampler::ParentBased(_) => match format!("{sampler:?}").as_str() {
                "ParentBased(AlwaysOn)" => Rule::ParentBased(true),
                "ParentBased(AlwaysOff)" => Rule::ParentBased(false),
                _ => Rule::Ask,
            },
            _ => Rule::Ask,
        }
    }

    /// Whether a span is sampled, exactly as [`Sampler::should_sample`]
    /// decides it, or `None` when the sampler must be asked. `has_span`: the
    /// parent context holds a span (the SDK's parent-based rule looks at that,
    /// not at whether the span is valid); `parent` is that span's context.
    #[inline]
    pub(crate) fn decide(self, has_span: bool, parent: &SpanContext) -> Option<bool> {
        match self {
            Rule::AlwaysOn => Some(true),
            Rule::AlwaysOff => Some(false),
            Rule::ParentBased(_) if has_span => Some(parent.is_sampled()),
            Rule::ParentBased(root) => Some(root),
            Rule::Ask => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
    use opentelemetry::Context;
    use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample};

    use super::*;

    /// Every rule decides as the SDK's sampler does, for every kind of parent.
    #[test]
    fn each_rule_decides_as_the_sdk_sampler() {
        let sc = |flags, remote| {
            SpanContext::new(TraceId::from(3_u128), SpanId::from(4_u64), flags, remote, TraceState::default())
        };
        let parents = [
            Context::new(),
            Context::new().with_remote_span_context(sc(TraceFlags::SAMPLED, true)),
            Context::new().with_remote_span_context(sc(TraceFlags::default(), true)),
            Context::new().with_remote_span_context(sc(TraceFlags::SAMPLED, false)),
            Context::new().with_remote_span_context(sc(TraceFlags::default(), false)),
            Context::new().with_remote_span_context(SpanContext::empty_context()),
        ];
        let samplers = [
            Sampler::AlwaysOn,
            Sampler::AlwaysOff,
            Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        ];
        for sampler in &samplers {
            let rule = Rule::of(sampler);
            assert_ne!(rule, Rule::Ask, "{sampler:?}");
            for parent in &parents {
                let sdk = sampler.should_sample(
                    Some(parent),
                    TraceId::from(9_u128),
                    "n",
                    &opentelemetry::trace::SpanKind::Internal,
                    &[],
                    &[],
                );
                let span = parent.span();
                let ours = rule.decide(parent.has_active_span(), span.span_context());
                assert_eq!(ours, Some(sdk.decision == SamplingDecision::RecordAndSample), "{sampler:?} {parent:?}");
            }
        }
        assert_eq!(Rule::of(&Sampler::TraceIdRatioBased(0.5)), Rule::Ask);
        assert_eq!(Rule::of(&Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.5)))), Rule::Ask);
    }
}
