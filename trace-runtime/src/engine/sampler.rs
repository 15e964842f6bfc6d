//! What the engine knows about the configured sampler before asking it.

use opentelemetry_sdk::trace::Sampler;

/// True when `sampler` is known not to read the span's attributes, links or
/// name (the SDK's own samplers): the engine then asks it without building
/// them. A custom `ShouldSample` is given exactly what the SDK would give.
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
    use opentelemetry::trace::{Link, SpanKind, TraceId, TraceState};
    use opentelemetry::{Context, KeyValue};
    use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult, ShouldSample};

    use super::*;

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
