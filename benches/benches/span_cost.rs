//! What one span costs with `#[traced]`, the raw OpenTelemetry SDK, tracing
//! (alone, with tracing-opentelemetry, and with traced's own
//! `tracing_layer()`) and fastrace, all in one run.
//!
//! Groups are scenarios, functions within a group are implementations of the
//! same trivial `#[inline(never)]` body (`cases::work`). Groups run in a fixed
//! order because some setups are process-wide and cannot be undone: the
//! "nothing installed" group runs first, before any provider, subscriber or
//! reporter exists. Each later group installs what it needs and removes it
//! (the `trace_runtime` guard is dropped, global tags are cleared).
//!
//! Besides criterion's timings, each case's heap allocations per call are
//! counted (outside the timed loop) and written, with the exporters' counts,
//! to `$TRACED_BENCH_DIR/traced-extra.json` for `benches/report`.
//!
//! Run everything and print the table: `python3 benches/report`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, WallTime};
use criterion::{BenchmarkGroup, BenchmarkId, Criterion};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use traced_benches::alloc::{allocations_per_call, CountingAlloc};
use traced_benches::cases::{fastrace as ft, raw, traced, tracing as tr, work};
use traced_benches::cpu::ThreadCpuTime;
use traced_benches::export::{NullExporter, NullReporter};
use traced_benches::setup::{self, sampled, set_five_tags, TracingLayer, TracingOtel};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Calls per allocation count.
const ALLOC_CALLS: u64 = 2_000;

/// Collects what criterion does not measure.
#[derive(Default)]
struct Extra {
    /// `group/function` -> heap allocations per call on the calling thread.
    allocations: BTreeMap<String, f64>,
    /// `group/function` -> spans its exporter received (to spot drops).
    exported: BTreeMap<String, u64>,
}

impl Extra {
    /// Counts allocations of `f`, then benchmarks it.
    fn case<M: Measurement>(
        &mut self,
        group: &mut BenchmarkGroup<'_, M>,
        group_name: &str,
        id: &str,
        mut f: impl FnMut(u64) -> u64,
    ) {
        let per_call = allocations_per_call(ALLOC_CALLS, || {
            black_box(f(black_box(7)));
        });
        self.allocations.insert(format!("{group_name}/{id}"), per_call);
        group.bench_function(id, |b| b.iter(|| f(black_box(7))));
    }

    fn to_json(&self) -> String {
        fn object<V: std::fmt::Display>(map: &BTreeMap<String, V>) -> String {
            let entries: Vec<String> = map.iter().map(|(k, v)| format!("    \"{k}\": {v}")).collect();
            format!("{{\n{}\n  }}", entries.join(",\n"))
        }
        format!(
            "{{\n  \"allocations\": {},\n  \"exported\": {}\n}}\n",
            object(&self.allocations),
            object(&self.exported)
        )
    }
}

fn finish_raw(provider: SdkTracerProvider, exporter: &NullExporter, extra: &mut Extra, key: &str) {
    let _ = provider.shutdown();
    extra.exported.insert(key.to_owned(), exporter.exported());
}

fn finish_traced(guard: trace_runtime::Guard, exporter: &NullExporter, extra: &mut Extra, key: &str) {
    drop(guard);
    extra.exported.insert(key.to_owned(), exporter.exported());
}

/// Nothing installed anywhere: what a library pays when the application
/// did not enable tracing. Must run first (see the module docs).
fn off(c: &mut Criterion<ThreadCpuTime>, extra: &mut Extra) {
    let name = "off";
    let mut g = c.benchmark_group(name);
    extra.case(&mut g, name, "plain", work);
    // OpenTelemetry's global no-op tracer: before `traced` resolves, nothing
    // else is in the global slot.
    let noop = opentelemetry::global::tracer("bench");
    extra.case(&mut g, name, "raw", |x| raw::root(&noop, x));
    extra.case(&mut g, name, "tracing", tr::root);
    extra.case(&mut g, name, "fastrace", ft::traced);
    extra.case(&mut g, name, "traced", traced::root);
    g.finish();
}

/// Everything installed, and the sampler drops every span.
fn sampled_out(c: &mut Criterion<ThreadCpuTime>, extra: &mut Extra) {
    let name = "sampled_out";
    let mut g = c.benchmark_group(name);
    let (guard, t_exp) = setup::traced(Sampler::AlwaysOff);
    extra.case(&mut g, name, "traced", traced::root);
    finish_traced(guard, &t_exp, extra, "sampled_out/traced");

    let (provider, tracer, r_exp) = setup::raw(Sampler::AlwaysOff);
    extra.case(&mut g, name, "raw", |x| raw::root(&tracer, x));
    extra.case(&mut g, name, "raw_code", |x| raw::root_code(&tracer, x));
    finish_raw(provider, &r_exp, extra, "sampled_out/raw");

    let otel = TracingOtel::new(Sampler::AlwaysOff);
    extra.case(&mut g, name, "tracing_otel", tr::root);
    extra.exported.insert("sampled_out/tracing_otel".to_owned(), otel.finish());

    let layer = TracingLayer::new(Sampler::AlwaysOff);
    extra.case(&mut g, name, "tracing_layer", tr::root);
    extra.exported.insert("sampled_out/tracing_layer".to_owned(), layer.finish());

    extra.case(&mut g, name, "fastrace", ft::root_unsampled);
    g.finish();
}

/// One sampled span per call, batch-exported to a discarding exporter.
fn sampled_group(c: &mut Criterion<ThreadCpuTime>, extra: &mut Extra) {
    let name = "sampled";
    let mut g = c.benchmark_group(name);
    extra.case(&mut g, name, "plain", work);
    let (guard, t_exp) = setup::traced(sampled());
    extra.case(&mut g, name, "traced", traced::root);
    finish_traced(guard, &t_exp, extra, "sampled/traced");

    let (provider, tracer, r_exp) = setup::raw(sampled());
    extra.case(&mut g, name, "raw", |x| raw::root(&tracer, x));
    extra.case(&mut g, name, "raw_code", |x| raw::root_code(&tracer, x));
    finish_raw(provider, &r_exp, extra, "sampled/raw");

    let otel = TracingOtel::new(sampled());
    extra.case(&mut g, name, "tracing_otel", tr::root);
    extra.exported.insert("sampled/tracing_otel".to_owned(), otel.finish());

    let layer = TracingLayer::new(sampled());
    extra.case(&mut g, name, "tracing_layer", tr::root);
    extra.exported.insert("sampled/tracing_layer".to_owned(), layer.finish());

    extra.case(&mut g, name, "fastrace", ft::root);
    g.finish();
}

/// A sampled span with three attributes.
fn attrs3(c: &mut Criterion<ThreadCpuTime>, extra: &mut Extra) {
    let name = "attrs3";
    let mut g = c.benchmark_group(name);
    let (guard, t_exp) = setup::traced(sampled());
    extra.case(&mut g, name, "traced", traced::attrs3);
    finish_traced(guard, &t_exp, extra, "attrs3/traced");

    let (provider, tracer, r_exp) = setup::raw(sampled());
    extra.case(&mut g, name, "raw", |x| raw::attrs3(&tracer, x));
    extra.case(&mut g, name, "raw_code", |x| raw::attrs3_code(&tracer, x));
    finish_raw(provider, &r_exp, extra, "attrs3/raw");

    let otel = TracingOtel::new(sampled());
    extra.case(&mut g, name, "tracing_otel", tr::attrs3);
    extra.exported.insert("attrs3/tracing_otel".to_owned(), otel.finish());

    let layer = TracingLayer::new(sampled());
    extra.case(&mut g, name, "tracing_layer", tr::attrs3);
    extra.exported.insert("attrs3/tracing_layer".to_owned(), layer.finish());

    extra.case(&mut g, name, "fastrace", ft::attrs3);
    g.finish();
}

/// A sampled span with five global tags set (the raw SDK is given the same
/// five attributes on its builder).
fn tags5(c: &mut Criterion<ThreadCpuTime>, extra: &mut Extra) {
    let name = "tags5";
    let mut g = c.benchmark_group(name);
    let (guard, t_exp) = setup::traced(sampled());
    extra.case(&mut g, name, "traced_no_tags", traced::root);
    set_five_tags();
    extra.case(&mut g, name, "traced", traced::root);
    trace_runtime::clear_global_tags();
    finish_traced(guard, &t_exp, extra, "tags5/traced");

    let (provider, tracer, r_exp) = setup::raw(sampled());
    extra.case(&mut g, name, "raw", |x| raw::tags5(&tracer, x));
    extra.case(&mut g, name, "raw_code", |x| raw::tags5_code(&tracer, x));
    finish_raw(provider, &r_exp, extra, "tags5/raw");
    g.finish();
}

/// An async fn polled to completion (ready on its first poll).
fn async_group(c: &mut Criterion<ThreadCpuTime>, extra: &mut Extra) {
    let name = "async";
    let mut g = c.benchmark_group(name);
    extra.case(&mut g, name, "plain", |x| traced_benches::block_on(async move { work(x) }));
    let (guard, t_exp) = setup::traced(sampled());
    extra.case(&mut g, name, "traced", |x| traced_benches::block_on(traced::run_async(x)));
    finish_traced(guard, &t_exp, extra, "async/traced");

    let (provider, tracer, r_exp) = setup::raw(sampled());
    extra.case(&mut g, name, "raw", |x| traced_benches::block_on(raw::run_async(&tracer, x)));
    finish_raw(provider, &r_exp, extra, "async/raw");

    let otel = TracingOtel::new(sampled());
    extra.case(&mut g, name, "tracing_otel", |x| traced_benches::block_on(tr::run_async(x)));
    extra.exported.insert("async/tracing_otel".to_owned(), otel.finish());

    let layer = TracingLayer::new(sampled());
    extra.case(&mut g, name, "tracing_layer", |x| traced_benches::block_on(tr::run_async(x)));
    extra.exported.insert("async/tracing_layer".to_owned(), layer.finish());

    extra.case(&mut g, name, "fastrace", |x| traced_benches::block_on(ft::run_async(x)));
    g.finish();
}

/// A parent with ten children: eleven spans per call. The report derives
/// the cost of one child as (nested - sampled) / 10.
fn nested(c: &mut Criterion<ThreadCpuTime>, extra: &mut Extra) {
    let name = "nested";
    let mut g = c.benchmark_group(name);
    let (guard, t_exp) = setup::traced(sampled());
    extra.case(&mut g, name, "traced", traced::parent);
    finish_traced(guard, &t_exp, extra, "nested/traced");

    let (provider, tracer, r_exp) = setup::raw(sampled());
    extra.case(&mut g, name, "raw", |x| raw::parent(&tracer, x));
    extra.case(&mut g, name, "raw_code", |x| raw::parent_code(&tracer, x));
    finish_raw(provider, &r_exp, extra, "nested/raw");

    let otel = TracingOtel::new(sampled());
    extra.case(&mut g, name, "tracing_otel", tr::parent);
    extra.exported.insert("nested/tracing_otel".to_owned(), otel.finish());

    let layer = TracingLayer::new(sampled());
    extra.case(&mut g, name, "tracing_layer", tr::parent);
    extra.exported.insert("nested/tracing_layer".to_owned(), layer.finish());

    extra.case(&mut g, name, "fastrace", ft::parent);
    g.finish();
}

/// A parent with ten children, all sampled out (the sampler drops every
/// span): where knowing the sampler pays most, since a parent-based or
/// always-off sampler drops every child of a dropped parent.
fn nested_out(c: &mut Criterion<ThreadCpuTime>, extra: &mut Extra) {
    let name = "nested_out";
    let mut g = c.benchmark_group(name);
    let (guard, t_exp) = setup::traced(Sampler::AlwaysOff);
    extra.case(&mut g, name, "traced", traced::parent);
    finish_traced(guard, &t_exp, extra, "nested_out/traced");

    let (provider, tracer, r_exp) = setup::raw(Sampler::AlwaysOff);
    extra.case(&mut g, name, "raw", |x| raw::parent(&tracer, x));
    extra.case(&mut g, name, "raw_code", |x| raw::parent_code(&tracer, x));
    finish_raw(provider, &r_exp, extra, "nested_out/raw");
    g.finish();
}

/// Runs `iters` calls of `f` on each of `threads` threads at once; returns
/// the wall time from the common start to the last thread's end. With no
/// shared lock on the path, two threads take about as long as one.
fn run_threads(threads: usize, iters: u64, f: &(impl Fn(u64) -> u64 + Sync)) -> Duration {
    if threads == 1 {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(f(black_box(7)));
        }
        return start.elapsed();
    }
    let barrier = Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(f(black_box(7)));
                    }
                    (start, Instant::now())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("bench thread")).collect()
    });
    let start = spans.iter().map(|s| s.0).min().expect("threads");
    let end = spans.iter().map(|s| s.1).max().expect("threads");
    end - start
}

fn threads_case(g: &mut BenchmarkGroup<'_, WallTime>, id: &str, f: impl Fn(u64) -> u64 + Sync) {
    for threads in [1usize, 2] {
        g.bench_with_input(BenchmarkId::new(id, threads), &threads, |b, &threads| {
            b.iter_custom(|iters| run_threads(threads, iters, &f))
        });
    }
}

/// Throughput with one and two threads: time per call on each thread.
fn threads(c: &mut Criterion<WallTime>) {
    let mut g = c.benchmark_group("threads");
    threads_case(&mut g, "plain", work);

    let (guard, _) = setup::traced(Sampler::AlwaysOff);
    threads_case(&mut g, "traced_sampled_out", traced::root);
    drop(guard);

    let (guard, _) = setup::traced(sampled());
    set_five_tags();
    threads_case(&mut g, "traced_tags5", traced::root);
    trace_runtime::clear_global_tags();
    threads_case(&mut g, "traced", traced::root);
    drop(guard);

    let (provider, tracer, _) = setup::raw(sampled());
    threads_case(&mut g, "raw", |x| raw::root(&tracer, x));
    let _ = provider.shutdown();
    g.finish();
}

/// Criterion with this run's settings (`TRACED_BENCH_*`), measuring with `m`.
fn criterion<M: Measurement>(m: M) -> Criterion<M> {
    let env_u64 = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let mut c = Criterion::default()
        .with_measurement(m)
        .sample_size(env_u64("TRACED_BENCH_SAMPLES", 40) as usize)
        .warm_up_time(Duration::from_millis(env_u64("TRACED_BENCH_WARMUP_MS", 1000)))
        .measurement_time(Duration::from_millis(env_u64("TRACED_BENCH_MEASURE_MS", 3000)))
        .noise_threshold(0.05);
    if let Some(dir) = std::env::var_os("TRACED_BENCH_DIR") {
        c = c.output_directory(&PathBuf::from(dir));
    }
    c.configure_from_args()
}

fn main() {
    // The calling thread's CPU time: other jobs on a shared machine do not
    // count (see `traced_benches::cpu`). Two threads at once: wall-clock.
    let mut c = criterion(ThreadCpuTime);
    let mut extra = Extra::default();

    off(&mut c, &mut extra);
    // fastrace keeps a reporter for the rest of the process.
    fastrace::set_reporter(NullReporter, traced_benches::export::fastrace_config());
    sampled_out(&mut c, &mut extra);
    sampled_group(&mut c, &mut extra);
    attrs3(&mut c, &mut extra);
    tags5(&mut c, &mut extra);
    async_group(&mut c, &mut extra);
    nested(&mut c, &mut extra);
    nested_out(&mut c, &mut extra);
    let mut wall = criterion(WallTime);
    threads(&mut wall);
    fastrace::flush();

    c.final_summary();
    wall.final_summary();
    let json = extra.to_json();
    match std::env::var_os("TRACED_BENCH_DIR").map(PathBuf::from) {
        Some(dir) => {
            let path = dir.join("traced-extra.json");
            std::fs::write(&path, &json).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        }
        None => print!("{json}"),
    }
}
