//! Exporters for the benchmarks, and the raw SDK provider built the same way
//! `trace_runtime::init().exporter(..)` builds its own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider, SpanData, SpanExporter,
};

/// Discards every batch, counting the spans it was given. Clones share the count.
#[derive(Debug, Clone, Default)]
pub struct NullExporter {
    exported: Arc<AtomicU64>,
}

impl NullExporter {
    /// Spans exported so far.
    pub fn exported(&self) -> u64 {
        self.exported.load(Ordering::Relaxed)
    }
}

impl SpanExporter for NullExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.exported.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// Sleeps `delay` per batch: a collector slower than the application.
#[derive(Debug, Clone)]
pub struct SlowExporter {
    delay: Duration,
    exported: Arc<AtomicU64>,
}

impl SlowExporter {
    /// An exporter that takes `delay` for each batch it is given.
    pub fn new(delay: Duration) -> Self {
        SlowExporter { delay, exported: Arc::default() }
    }

    /// Spans exported so far.
    pub fn exported(&self) -> u64 {
        self.exported.load(Ordering::Relaxed)
    }
}

impl SpanExporter for SlowExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        std::thread::sleep(self.delay);
        self.exported.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// An SDK provider with a default `BatchSpanProcessor` to `exporter`: the
/// raw-SDK peer, configured like `trace_runtime::init().exporter(..)`.
pub fn sdk_provider<E: SpanExporter + 'static>(exporter: E, sampler: Sampler) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_span_processor(BatchSpanProcessor::builder(exporter).build())
        .build()
}

/// Like [`sdk_provider`] with an explicit queue size.
pub fn sdk_provider_with_queue<E: SpanExporter + 'static>(exporter: E, queue: usize) -> SdkTracerProvider {
    let config = BatchConfigBuilder::default().with_max_queue_size(queue).build();
    SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(exporter).with_batch_config(config).build())
        .build()
}

/// A fastrace reporter that discards what it is given.
#[derive(Debug, Default)]
pub struct NullReporter;

impl fastrace::collector::Reporter for NullReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        drop(spans);
    }
}

/// fastrace's reporter configuration here: a 10 ms report interval. With the
/// default (1 s) its collector holds a second's worth of spans, which at
/// millions of spans per second makes the benchmark thread pay page faults
/// for memory no real application would accumulate.
pub fn fastrace_config() -> fastrace::collector::Config {
    fastrace::collector::Config::default().report_interval(std::time::Duration::from_millis(10))
}
