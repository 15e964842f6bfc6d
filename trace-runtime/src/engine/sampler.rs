//! What the engine knows about the configured sampler before asking it.
//!
//! `init()` takes its sampler as an `opentelemetry_sdk` [`Sampler`]. For the
//! ones whose rule is fixed (always on, always off, and parent-based over
//! either, the default) the engine applies that rule itself, on values it
//! already holds: no sampler call, no `SamplingResult` to build and drop.
//! Every other sampler (a ratio, a custom `ShouldSample`) is asked as the
//! SDK would ask it, with the attributes the SDK would give it unless it is
//! one of the SDK's own, known not to read them.

use opentelemetry::trace::SpanContext;
use opentelemetry_sdk::trace::Sampler;

/// What the engine knows of its sampler's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    AlwaysOn,
    AlwaysOff,
    /// `ParentBased`: a span with a parent follows it; a root is sampled
    /// (`Some(true)`), dropped (`Some(false)`), or the root sampler is asked.
    ParentBased(Option<bool>),
    /// Anything else: the sampler is asked.
    Ask,
}

impl Rule {
    /// The rule of `sampler`. `built_here`: traced built it (the default, or
    /// `OTEL_TRACES_SAMPLER`), so a parent-based root sampler is known by its
    /// `Debug` form; one passed in code may be the user's own type printing
    /// the same, and is asked for roots.
    pub(crate) fn of(sampler: &Sampler, built_here: bool) -> Rule {
        match sampler {
            Sampler::AlwaysOn => Rule::AlwaysOn,
            Sampler::AlwaysOff => Rule::AlwaysOff,
            Sampler::ParentBased(_) if built_here => match format!("{sampler:?}").as_str() {
                "ParentBased(AlwaysOn)" => Rule::ParentBased(Some(true)),
                "ParentBased(AlwaysOff)" => Rule::ParentBased(Some(false)),
                _ => Rule::ParentBased(None),
            },
            // Whatever its root sampler, a span with a parent follows it.
            Sampler::ParentBased(_) => Rule::ParentBased(None),
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
            Rule::ParentBased(root) => root,
            Rule::Ask => None,
        }
    }
}

/// True when `sampler` is known not to read the span's attributes, links or
/// name (the SDK's own samplers): the engine then asks it without building
/// them. A custom `ShouldSample` is given exactly what the SDK would give;
/// `built_here` as for [`Rule::of`].
pub(crate) fn ignores_attributes(sampler: &Sampler, built_here: bool) -> bool {
    fn builtin(debug: &str) -> bool {
        matches!(debug, "AlwaysOn" | "AlwaysOff") || debug.starts_with("TraceIdRatioBased(")
    }
    match sampler {
        Sampler::AlwaysOn | Sampler::AlwaysOff | Sampler::TraceIdRatioBased(_) => true,
        // The root sampler is a `dyn ShouldSample`: only the SDK's own are
        // known by their `Debug` form (`ParentBased(AlwaysOn)`, the default).
        Sampler::ParentBased(_) if built_here => {
            let debug = format!("{sampler:?}");
            debug.strip_prefix("ParentBased(").and_then(|s| s.strip_suffix(')')).is_some_and(builtin)
        }
        _ => false,
    }
}

/// A sampler of a test's own that always decides `decision`, and whose
/// `Debug` form is `name` (so a test can make it read like the SDK's).
#[cfg(test)]
#[derive(Clone)]
pub(crate) struct FixedSampler {
    pub(crate) name: &'static str,
    pub(crate) decision: opentelemetry_sdk::trace::SamplingDecision,
}

#[cfg(test)]
impl std::fmt::Debug for FixedSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

#[cfg(test)]
impl opentelemetry_sdk::trace::ShouldSample for FixedSampler {
    fn should_sample(
        &self,
        _: Option<&opentelemetry::Context>,
        _: opentelemetry::trace::TraceId,
        _: &str,
        _: &opentelemetry::trace::SpanKind,
        _: &[opentelemetry::KeyValue],
        _: &[opentelemetry::trace::Link],
    ) -> opentelemetry_sdk::trace::SamplingResult {
        opentelemetry_sdk::trace::SamplingResult {
            decision: self.decision.clone(),
            attributes: Vec::new(),
            trace_state: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState};
    use opentelemetry::Context;
    use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample};

    use super::*;

    #[test]
    fn only_the_sdk_samplers_are_known_to_ignore_attributes() {
        assert!(ignores_attributes(&Sampler::AlwaysOn, false));
        assert!(ignores_attributes(&Sampler::ParentBased(Box::new(Sampler::AlwaysOn)), true));
        // Passed in code, the root sampler may be a type of the user's own.
        assert!(!ignores_attributes(&Sampler::ParentBased(Box::new(Sampler::AlwaysOn)), false));
        assert!(ignores_attributes(&Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.5))), true));
        let custom = FixedSampler { name: "Custom", decision: SamplingDecision::Drop };
        assert!(!ignores_attributes(&Sampler::ParentBased(Box::new(custom)), true));
    }

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
            for built_here in [true, false] {
                let rule = Rule::of(sampler, built_here);
                for parent in &parents {
                    let sdk =
                        sampler.should_sample(Some(parent), TraceId::from(9_u128), "n", &SpanKind::Internal, &[], &[]);
                    let span = parent.span();
                    let sampled = sdk.decision == SamplingDecision::RecordAndSample;
                    match rule.decide(parent.has_active_span(), span.span_context()) {
                        Some(ours) => assert_eq!(ours, sampled, "{sampler:?} {parent:?}"),
                        // Only a root of a sampler passed in code is asked.
                        None => assert!(!built_here && !parent.has_active_span(), "{sampler:?} {parent:?}"),
                    }
                }
            }
        }
        assert_eq!(Rule::of(&Sampler::TraceIdRatioBased(0.5), true), Rule::Ask);
        let ratio_roots = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.5)));
        assert_eq!(Rule::of(&ratio_roots, true), Rule::ParentBased(None));
    }

    /// A sampler of the user's own whose `Debug` reads like the SDK's is
    /// still asked for roots, when it was passed in code.
    #[test]
    fn a_root_sampler_passed_in_code_is_asked() {
        let always_on = FixedSampler { name: "AlwaysOn", decision: SamplingDecision::Drop };
        let sampler = Sampler::ParentBased(Box::new(always_on));
        assert_eq!(format!("{sampler:?}"), "ParentBased(AlwaysOn)");
        assert_eq!(Rule::of(&sampler, false), Rule::ParentBased(None));
        assert_eq!(Rule::of(&sampler, false).decide(false, &SpanContext::empty_context()), None);
    }
}
