//! What one span costs with `#[traced]`, the raw OpenTelemetry SDK, tracing
//! (alone, with tracing-opentelemetry, and with traced's own
//! `tracing_layer()`) and fastrace, all in one run.
//!
//! Groups are the scenarios of `traced_benches::table`, functions within a
//! group its peers: implementations of the same trivial `#[inline(never)]`
//! body (`cases::work`). Groups run in the table's order because some setups
//! are process-wide and cannot be undone: the "nothing installed" group runs
//! first, before any provider, subscriber or reporter exists. Each peer
//! installs what it needs and removes it (`table::install`, `finish`).
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
use opentelemetry_sdk::trace::Sampler;
use traced_benches::alloc::{allocations_per_call, CountingAlloc};
use traced_benches::cases::{raw, traced, work};
use traced_benches::cpu::ThreadCpuTime;
use traced_benches::export::NullReporter;
use traced_benches::setup::{self, sampled, set_five_tags};
use traced_benches::table::{self, Sampling};

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

/// Every case of one scenario ([`table::SCENARIOS`]), each peer installed
/// and removed around its own case.
fn scenario(c: &mut Criterion<ThreadCpuTime>, extra: &mut Extra, scenario: &table::Scenario) {
    let mut g = c.benchmark_group(scenario.name);
    for &(peer, f) in scenario.cases {
        let installed = table::install(scenario, peer);
        let env = &installed.env;
        extra.case(&mut g, scenario.name, peer.id(), |x| f(env, x));
        if let Some(exported) = installed.finish() {
            extra.exported.insert(format!("{}/{}", scenario.name, peer.id()), exported);
        }
    }
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

    for (i, s) in table::SCENARIOS.iter().enumerate() {
        if i > 0 && table::SCENARIOS[i - 1].sampling == Sampling::Nothing && s.sampling != Sampling::Nothing {
            // fastrace keeps a reporter for the rest of the process: only
            // once the "nothing installed" scenarios ran.
            fastrace::set_reporter(NullReporter, traced_benches::export::fastrace_config());
        }
        scenario(&mut c, &mut extra, s);
    }
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
