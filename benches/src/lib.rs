//! Shared pieces of the `traced` benchmarks: the functions under test (one
//! trivial body, instrumented by each peer), a counting allocator, exporters
//! that discard or crawl, and a resident-memory probe.
//!
//! Every case is in one table, `table.rs` (scenarios × peers). The benchmarks
//! live in `benches/span_cost.rs` (criterion, every case in one run),
//! `benches/throughput.rs` (highest zero-loss rate) and `benches/overload.rs` (memory under sustained overload); the table
//! in `benches/README.md` is printed by `benches/report`.

pub mod alloc;
pub mod cases;
pub mod cpu;
pub mod export;
pub mod mem;
pub mod setup;
pub mod table;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Polls `future` to completion on this thread with a no-op waker: every
/// future benchmarked here is ready on its first poll.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}
