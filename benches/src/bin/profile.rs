//! Runs one benchmark case in a loop, for profilers:
//!
//! ```text
//! cargo build --profile bench -p traced-benches --bin profile
//! valgrind --tool=callgrind --toggle-collect='*measured*' \
//!     target/release/profile sampled/traced 100000
//! ```
//!
//! Only `measured` (the loop) is collected, so callgrind's total divided by
//! the call count is the instructions per call. Prints the case's wall time
//! per call too (meaningless under valgrind).

use std::hint::black_box;
use std::time::Instant;

use opentelemetry_sdk::trace::Sampler;
use traced_benches::alloc::{allocations_per_call, CountingAlloc};
use traced_benches::cases::{fastrace as ft, raw, traced, tracing as tr, work};
use traced_benches::export::NullReporter;
use traced_benches::setup::{self, sampled, set_five_tags, TracingLayer, TracingOtel};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[inline(never)]
fn measured(iters: u64, f: &dyn Fn(u64) -> u64) {
    for i in 0..iters {
        black_box(f(black_box(i)));
    }
}

fn run(iters: u64, f: impl Fn(u64) -> u64) {
    // Outside `measured`: callgrind only counts the loop below.
    let allocations = allocations_per_call(1_000, || {
        black_box(f(black_box(7)));
    });
    println!("{allocations:.2} allocations/call on the calling thread");
    measured(1_000, &f);
    let start = Instant::now();
    measured(iters, &f);
    let per_call = start.elapsed().as_nanos() as f64 / iters as f64;
    println!("{per_call:.1} ns/call");
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_else(|| "sampled/traced".to_owned());
    let iters: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let (scenario, peer) = case.split_once('/').unwrap_or((case.as_str(), "traced"));
    let sampler = match scenario {
        "off" => None,
        "sampled_out" | "nested_out" => Some(Sampler::AlwaysOff),
        _ => Some(sampled()),
    };
    if peer == "fastrace" && sampler.is_some() {
        fastrace::set_reporter(NullReporter, traced_benches::export::fastrace_config());
    }
    if scenario == "tags5" {
        set_five_tags();
    }
    match peer {
        "plain" => run(iters, work),
        "traced" => {
            let _guard = sampler.map(setup::traced);
            match scenario {
                "attrs3" => run(iters, traced::attrs3),
                "nested" | "nested_out" => run(iters, traced::parent),
                "async" => run(iters, |x| traced_benches::block_on(traced::run_async(x))),
                _ => run(iters, traced::root),
            }
        }
        // Raw OpenTelemetry API spans through traced's global slot (`init()`).
        "traced_raw" => {
            let _guard = sampler.map(setup::traced);
            let global = opentelemetry::global::tracer("bench");
            run(iters, |x| raw::root(&global, x));
        }
        // A traced span whose context raw OpenTelemetry calls read.
        "traced_ctx" => {
            let _guard = sampler.map(setup::traced);
            run(iters, traced::reads_context);
        }
        "raw" | "raw_code" => {
            let (provider, tracer, _) = setup::raw(sampler.unwrap_or(Sampler::AlwaysOff));
            let code = peer == "raw_code";
            match scenario {
                "off" => {
                    let noop = opentelemetry::global::tracer("bench");
                    run(iters, |x| raw::root(&noop, x));
                }
                "attrs3" if code => run(iters, |x| raw::attrs3_code(&tracer, x)),
                "attrs3" => run(iters, |x| raw::attrs3(&tracer, x)),
                "tags5" if code => run(iters, |x| raw::tags5_code(&tracer, x)),
                "tags5" => run(iters, |x| raw::tags5(&tracer, x)),
                "nested" | "nested_out" if code => run(iters, |x| raw::parent_code(&tracer, x)),
                "nested" | "nested_out" => run(iters, |x| raw::parent(&tracer, x)),
                "async" => run(iters, |x| traced_benches::block_on(raw::run_async(&tracer, x))),
                _ if code => run(iters, |x| raw::root_code(&tracer, x)),
                _ => run(iters, |x| raw::root(&tracer, x)),
            }
            let _ = provider.shutdown();
        }
        "tracing" | "tracing_otel" => {
            let otel = sampler.map(TracingOtel::new);
            match scenario {
                "attrs3" => run(iters, tr::attrs3),
                "nested" => run(iters, tr::parent),
                "async" => run(iters, |x| traced_benches::block_on(tr::run_async(x))),
                _ => run(iters, tr::root),
            }
            if let Some(otel) = otel {
                otel.finish();
            }
        }
        "tracing_layer" => {
            let layer = TracingLayer::new(sampler.unwrap_or(Sampler::AlwaysOff));
            match scenario {
                "attrs3" => run(iters, tr::attrs3),
                "nested" | "nested_out" => run(iters, tr::parent),
                "async" => run(iters, |x| traced_benches::block_on(tr::run_async(x))),
                _ => run(iters, tr::root),
            }
            layer.finish();
        }
        "fastrace" => match scenario {
            "off" => run(iters, ft::traced),
            "sampled_out" => run(iters, ft::root_unsampled),
            "attrs3" => run(iters, ft::attrs3),
            "nested" => run(iters, ft::parent),
            "async" => run(iters, |x| traced_benches::block_on(ft::run_async(x))),
            _ => run(iters, ft::root),
        },
        other => {
            eprintln!(
                "unknown peer {other:?}: plain, traced, traced_raw, traced_ctx, raw, raw_code, tracing, tracing_otel, tracing_layer, fastrace"
            );
            std::process::exit(2);
        }
    }
    trace_runtime::clear_global_tags();
}
