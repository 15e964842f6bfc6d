//! Runs one benchmark case of `traced_benches::table` in a loop, for profilers:
//!
//! ```text
//! cargo build --profile bench -p traced-benches --bin profile
//! valgrind --tool=callgrind --toggle-collect='*measured*' \
//!     target/release/profile sampled/traced 100000
//! profile --list    # every case id, one a line (benches/report runs them all)
//! ```
//!
//! Only `measured` (the loop) is collected, so callgrind's total divided by
//! the call count is the instructions per call. Prints the case's wall time
//! per call too (meaningless under valgrind).

use std::hint::black_box;
use std::time::Instant;

use traced_benches::alloc::{allocations_per_call, CountingAlloc};
use traced_benches::export::NullReporter;
use traced_benches::table::{self, Peer, Sampling};

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
    if case == "--list" {
        table::case_ids().for_each(|id| println!("{id}"));
        return;
    }
    let iters: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let Some((scenario, peer, f)) = table::find(&case) else {
        eprintln!("unknown case {case:?}; `profile --list` prints every case");
        std::process::exit(2);
    };
    if peer == Peer::Fastrace && scenario.sampling != Sampling::Nothing {
        fastrace::set_reporter(NullReporter, traced_benches::export::fastrace_config());
    }
    let installed = table::install(scenario, peer);
    run(iters, |x| f(&installed.env, x));
    installed.finish();
}
