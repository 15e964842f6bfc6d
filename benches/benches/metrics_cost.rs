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
//! `traced_red/sampled` includes the exemplar (the call ran in a sampled
//! span); `traced_red/sampled_out` records none.
//!
//! Metrics go to an exporter that drops them, read once an hour: the
//! figures are the calling thread's cost. Run:
//! `cargo bench -p traced-benches --bench metrics_cost -- --warm-up-time 1 --measurement-time 2`.
//!
//! Instructions per call (deterministic, for a shared machine): the same
//! binary with `--profile CASE N` loops one case in `measured` instead of
//! running criterion:
//!
//! ```text
//! cargo bench -p traced-benches --bench metrics_cost --no-run   # prints the binary's path
//! valgrind --tool=callgrind --toggle-collect='*measured*' BINARY --profile traced_red/sampled 20000
//! ```

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

/// The same three instruments, by hand, as `autometrics` records them.
struct ByHand {
    provider: SdkMeterProvider,
    calls: opentelemetry::metrics::Counter<u64>,
    duration: opentelemetry::metrics::Histogram<f64>,
    concurrent: opentelemetry::metrics::UpDownCounter<i64>,
}

impl ByHand {
    fn new() -> Self {
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(NullMetrics).with_interval(HOUR).build())
            .build();
        let meter = provider.meter("by-hand");
        ByHand {
            calls: meter.u64_counter("function.calls").build(),
            duration: meter.f64_histogram("function.calls.duration").build(),
            concurrent: meter.i64_up_down_counter("function.calls.concurrent").build(),
            provider,
        }
    }

    fn call(&self, x: u64) -> u64 {
        let site = [KeyValue::new("function", "by_hand"), KeyValue::new("module", "metrics_cost")];
        self.concurrent.add(1, &site);
        let started = Instant::now();
        let out = work(x);
        let seconds = started.elapsed().as_secs_f64();
        self.concurrent.add(-1, &site);
        let caller = [KeyValue::new("caller.function", ""), KeyValue::new("caller.module", "")];
        let [f, m] = site.clone();
        let [cf, cm] = caller;
        self.duration.record(seconds, &[f.clone(), m.clone(), cf.clone(), cm.clone()]);
        self.calls.add(1, &[f, m, KeyValue::new("result", "ok"), cf, cm]);
        out
    }
}

#[inline(never)]
fn measured(iters: u64, f: &dyn Fn(u64) -> u64) {
    for i in 0..iters {
        black_box(f(black_box(i)));
    }
}

/// `--profile CASE N`: loops one case for callgrind.
fn profile(case: &str, iters: u64) {
    let sampler = if case.ends_with("sampled_out") { Sampler::AlwaysOff } else { Sampler::AlwaysOn };
    let run = |f: &dyn Fn(u64) -> u64| {
        measured(1_000, f);
        measured(iters, f);
    };
    match case {
        "traced_span_only/sampled" | "traced_span_only/sampled_out" => {
            let _guard = install(sampler, false);
            run(&span_only);
        }
        "traced_red/sampled" | "traced_red/sampled_out" => {
            let _guard = install(sampler, true);
            run(&with_red);
        }
        "otel_by_hand" => {
            let by_hand = ByHand::new();
            run(&|x| by_hand.call(x));
            let _ = by_hand.provider.shutdown();
        }
        other => {
            eprintln!("unknown case {other:?}: traced_span_only/{{sampled,sampled_out}}, traced_red/{{sampled,sampled_out}}, otel_by_hand");
            std::process::exit(2);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--profile") {
        let case = args.get(at + 1).map_or("traced_red/sampled", String::as_str);
        let iters = args.get(at + 2).and_then(|n| n.parse().ok()).unwrap_or(100_000);
        return profile(case, iters);
    }
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

    let by_hand = ByHand::new();
    g.bench_function("otel_by_hand", |b| b.iter(|| by_hand.call(black_box(7))));
    g.finish();
    let _ = by_hand.provider.shutdown();
    c.final_summary();
}
