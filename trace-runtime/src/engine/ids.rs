//! Trace and span ids from a per-thread generator: random, like the SDK's
//! default generator (`init()` offers no other), from a xorshift state
//! seeded by the standard library's random hasher keys. No lock, no shared
//! cache line, no system call per id.

use std::cell::Cell;
use std::hash::{BuildHasher, Hasher, RandomState};

use opentelemetry::trace::{SpanId, TraceId};

fn next_random() -> u64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(seed());
    }
    STATE
        .try_with(|state| {
            let mut x = state.get();
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            state.set(x);
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        })
        .unwrap_or_else(|_| seed())
}

fn seed() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(std::process::id().into());
    // Never zero: xorshift would stay at zero.
    hasher.finish() | 1
}

/// A new random trace id, never the invalid (all-zero) one.
pub(crate) fn new_trace_id() -> TraceId {
    let id = (u128::from(next_random()) << 64) | u128::from(next_random());
    TraceId::from(id.max(1))
}

/// A new random span id, never the invalid (all-zero) one.
pub(crate) fn new_span_id() -> SpanId {
    SpanId::from(next_random().max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_and_differ() {
        let (a, b) = (new_trace_id(), new_trace_id());
        assert_ne!(a, b);
        assert_ne!(a, TraceId::INVALID);
        let (c, d) = (new_span_id(), new_span_id());
        assert_ne!(c, d);
        assert_ne!(c, SpanId::INVALID);
        // Another thread has its own state, seeded apart.
        let other = std::thread::spawn(new_span_id).join().unwrap_or(SpanId::INVALID);
        assert_ne!(other, SpanId::INVALID);
        assert_ne!(other, d);
    }
}
