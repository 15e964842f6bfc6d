//! How each peer is installed for a case: all export through the same
//! default `BatchSpanProcessor` to a [`NullExporter`].

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt as _;

use crate::export::{sdk_provider, NullExporter};

/// The SDK's default sampler, and `init()`'s: parent-based, always on.
pub fn sampled() -> Sampler {
    Sampler::ParentBased(Box::new(Sampler::AlwaysOn))
}

/// A raw SDK provider with a batch processor and a discarding exporter.
pub fn raw(sampler: Sampler) -> (SdkTracerProvider, SdkTracer, NullExporter) {
    let exporter = NullExporter::default();
    let provider = sdk_provider(exporter.clone(), sampler);
    let tracer = provider.tracer("raw-sdk");
    (provider, tracer, exporter)
}

/// `#[traced]` installed the documented way, to a discarding exporter.
/// Tracing stays installed until the guard is dropped. The default sampler
/// ([`sampled`]) is left to `init()`, as an application that sets none
/// gets it (a sampler passed in code may be the user's own type, so the
/// engine asks it for every root).
pub fn traced(sampler: Sampler) -> (trace_runtime::Guard, NullExporter) {
    let exporter = NullExporter::default();
    let mut builder = trace_runtime::init().service_name("bench").env_lookup(|_| None);
    if format!("{sampler:?}") != format!("{:?}", sampled()) {
        builder = builder.sampler(sampler);
    }
    let guard = builder.exporter(exporter.clone()).install().expect("nothing else installed");
    (guard, exporter)
}

/// The five global tags of the `tags5` case; undo with
/// `trace_runtime::clear_global_tags()`.
pub fn set_five_tags() {
    trace_runtime::set_global_tag("deployment.region", "eu-west-1");
    trace_runtime::set_global_tag("team", "payments");
    trace_runtime::set_global_tag("build.number", 1234);
    trace_runtime::set_global_tag("canary", false);
    trace_runtime::set_global_tag("host.pool", "blue");
}

/// tracing + tracing-opentelemetry on its own SDK provider (same processor
/// and exporter), as this thread's default subscriber until dropped.
#[derive(Debug)]
pub struct TracingOtel {
    provider: SdkTracerProvider,
    exporter: NullExporter,
    default: Option<tracing::subscriber::DefaultGuard>,
}

impl TracingOtel {
    /// Installs the subscriber on this thread.
    pub fn new(sampler: Sampler) -> Self {
        let (provider, tracer, exporter) = raw(sampler);
        let subscriber = tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
        let default = Some(tracing::subscriber::set_default(subscriber));
        TracingOtel { provider, exporter, default }
    }

    /// Removes the subscriber, shuts the provider down and returns how many
    /// spans were exported.
    pub fn finish(mut self) -> u64 {
        drop(self.default.take());
        let _ = self.provider.shutdown();
        self.exporter.exported()
    }
}

/// tracing with traced's own layer (`trace_runtime::tracing_layer()`, no
/// tracing-opentelemetry), exporting through `init()`'s pipeline like the
/// `traced` cases, as this thread's default subscriber until finished.
#[derive(Debug)]
pub struct TracingLayer {
    guard: Option<trace_runtime::Guard>,
    exporter: NullExporter,
    default: Option<tracing::subscriber::DefaultGuard>,
}

impl TracingLayer {
    /// Installs traced and the subscriber on this thread.
    pub fn new(sampler: Sampler) -> Self {
        let (guard, exporter) = traced(sampler);
        let subscriber = tracing_subscriber::registry().with(trace_runtime::tracing_layer());
        let default = Some(tracing::subscriber::set_default(subscriber));
        TracingLayer { guard: Some(guard), exporter, default }
    }

    /// Removes the subscriber, shuts traced down and returns how many spans
    /// were exported.
    pub fn finish(mut self) -> u64 {
        drop(self.default.take());
        drop(self.guard.take());
        self.exporter.exported()
    }
}
