//! A sampler of the user's own is asked, whatever its name (issue 11, point
//! 2: "a custom `ShouldSample`" decides as on the SDK). The engine applies
//! the fixed rules of the SDK's own samplers without calling them; a user's
//! sampler that merely shares a name with one of them (its `Debug` form
//! reads `AlwaysOn`) must still be called, as the SDK calls it.
//!
//! Its own file: it installs the process-wide provider. One test; well under
//! a second.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample};
use trace_runtime::traced;
use traced_tests::memory::MemoryExporter;

/// The user's own sampler, in a module of theirs, named like the SDK's:
/// keeps everything except health checks.
mod sampling {
    use super::*;

    #[derive(Debug, Clone)]
    pub(crate) struct AlwaysOn;

    impl ShouldSample for AlwaysOn {
        fn should_sample(
            &self,
            _parent: Option<&Context>,
            _trace_id: TraceId,
            name: &str,
            _kind: &SpanKind,
            _attributes: &[KeyValue],
            _links: &[Link],
        ) -> SamplingResult {
            let decision =
                if name == "health_check" { SamplingDecision::Drop } else { SamplingDecision::RecordAndSample };
            SamplingResult { decision, attributes: Vec::new(), trace_state: Default::default() }
        }
    }
}

#[traced]
fn health_check() {}

#[traced]
fn checkout() {}

#[test]
fn a_users_sampler_named_like_the_sdks_is_still_asked() {
    let exporter = MemoryExporter::default();
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .sampler(Sampler::ParentBased(Box::new(sampling::AlwaysOn)))
        .exporter(exporter.clone())
        .install()
        .unwrap();
    health_check();
    checkout();
    guard.flush().unwrap();
    let names: Vec<String> = exporter.spans().iter().map(|s| s.name.to_string()).collect();
    guard.shutdown().unwrap();
    // What the SDK decides with the same sampler.
    let sdk = Sampler::ParentBased(Box::new(sampling::AlwaysOn));
    let decision = sdk.should_sample(None, TraceId::from(1_u128), "health_check", &SpanKind::Internal, &[], &[]);
    assert_eq!(decision.decision, SamplingDecision::Drop);
    assert_eq!(names, ["checkout"], "the user's sampler dropped health_check on the SDK path");
}
