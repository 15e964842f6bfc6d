//! What `#[traced]`'s per-call RED metrics add to a call, next to the span's
//! own cost and to the same three measurements made by hand with the
//! OpenTelemetry metrics API (what `autometrics` does, on the SDK's
//! instruments with attribute sets), in one run.
//!
//! Cases, each the same trivial body (`cases::work`):
//! - `traced_span_only/{sampled_out,sampled}`: `#[traced(metrics = false)]`;
//! - `traced_red/{sampled_out,sampled}`: `#[traced]` with metrics exported;
//! - `otel_by_hand`: no span; a counter, a histogram and an up-down
//!   counter with autometrics' attributes, and two clock reads.
//!
//! Metrics go to an exporter that drops them, read once an hour: the
//! figures are the calling thread's cost. Run:
//! `cargo bench -p traced-benches --bench metrics_cost -- --warm-up-time 1 --measurement-time 2`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::Sampler;
use trace_runtime::traced;
use traced_benches::cases::work;
use traced_benches::export::NullExporter;

/// Takes every export and drops it.
struct NullMetrics;

impl PushMetricExporter for NullMetrics {
    async fn export(&self, _metrics: &ResourceMetrics) -> OTelSdkResult {
        Ok(())
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

const HOUR: Duration = Duration::from_secs(3600);

#[traced(metrics = false)]
#[inline(never)]
fn span_only(x: u64) -> u64 {
    work(x)
}

#[traced]
#[inline(never)]
fn with_red(x: u64) -> u64 {
    work(x)
}

fn install(sampler: Sampler, metrics: bool) -> trace_runtime::Guard {
    let builder = trace_runtime::init().env_lookup(|_| None).sampler(sampler).exporter(NullExporter::default());
    let builder = if metrics { builder.metrics_exporter(NullMetrics).metric_export_interval(HOUR) } else { builder };
    builder.install().expect("nothing else installed")
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("metrics");
    for (label, sampler) in [("sampled_out", Sampler::AlwaysOff), ("sampled", Sampler::AlwaysOn)] {
        let guard = install(sampler.clone(), false);
        g.bench_function(format!("traced_span_only/{label}"), |b| b.iter(|| span_only(black_box(7))));
        drop(guard);
        let guard = install(sampler, true);
        g.bench_function(format!("traced_red/{label}"), |b| b.iter(|| with_red(black_box(7))));
        drop(guard);
    }

    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(NullMetrics).with_interval(HOUR).build())
        .build();
    let meter = provider.meter("by-hand");
    let calls = meter.u64_counter("function.calls").build();
    let duration = meter.f64_histogram("function.calls.duration").build();
    let concurrent = meter.i64_up_down_counter("function.calls.concurrent").build();
    g.bench_function("otel_by_hand", |b| {
        b.iter(|| {
            let site = [KeyValue::new("function", "by_hand"), KeyValue::new("module", "metrics_cost")];
            concurrent.add(1, &site);
            let started = Instant::now();
            let out = work(black_box(7));
            let seconds = started.elapsed().as_secs_f64();
            concurrent.add(-1, &site);
            let caller = [KeyValue::new("caller.function", ""), KeyValue::new("caller.module", "")];
            let [f, m] = site.clone();
            let [cf, cm] = caller;
            duration.record(seconds, &[f.clone(), m.clone(), cf.clone(), cm.clone()]);
            calls.add(1, &[f, m, KeyValue::new("result", "ok"), cf, cm]);
            out
        })
    });
    g.finish();
    let _ = provider.shutdown();
    c.final_summary();
}
