//! Exemplars of `function.calls.duration`: for each histogram bucket, the
//! last call measured under a sampled span, so that a slow bucket leads to
//! a trace.
//!
//! OpenTelemetry's Rust SDK fills in no exemplars, so each (call site,
//! caller) keeps its own: one slot per bucket (the specification's
//! `AlignedHistogramBucketExemplarReservoir`), allocated on the first
//! sampled call and bounded by the number of buckets. The OTLP metrics
//! exporter adds them to the data points before encoding
//! (`otlp_exemplars.rs`). Offering one is a `try_lock`, a few stores and an
//! unlock; a slot that is busy (another thread offering, or an export
//! reading) skips this call's exemplar rather than wait.

use std::sync::{Mutex, OnceLock, TryLockError};
use std::time::{SystemTime, UNIX_EPOCH};

use super::instruments::DURATION_BOUNDARIES;

/// One slot per bucket: the boundaries plus the bucket above the last one.
const BUCKETS: usize = DURATION_BOUNDARIES.len() + 1;

/// A measured call and the sampled span it ran in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Exemplar {
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
    /// The duration, in seconds.
    pub(crate) value: f64,
    /// When the call ended.
    pub(crate) time_unix_nano: u64,
}

/// The exemplars of one histogram data point.
#[derive(Debug, Default)]
pub(crate) struct Reservoir {
    slots: OnceLock<Box<Mutex<[Option<Exemplar>; BUCKETS]>>>,
}

impl Reservoir {
    pub(crate) const fn new() -> Self {
        Reservoir { slots: OnceLock::new() }
    }

    /// Keeps the call as its bucket's exemplar, unless the slots are busy.
    pub(crate) fn offer(&self, trace_id: [u8; 16], span_id: [u8; 8], seconds: f64) {
        let slots = self.slots.get_or_init(|| Box::new(Mutex::new([None; BUCKETS])));
        let mut slots = match slots.try_lock() {
            Ok(slots) => slots,
            // A poisoned lock still holds plain values.
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        let time_unix_nano = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| u64::try_from(since.as_nanos()).unwrap_or(u64::MAX));
        slots[bucket(seconds)] = Some(Exemplar { trace_id, span_id, value: seconds, time_unix_nano });
    }

    /// The exemplars kept, lowest bucket first; `take` empties the slots (a
    /// delta export reports each exemplar once).
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn collect(&self, take: bool) -> Vec<Exemplar> {
        let Some(slots) = self.slots.get() else { return Vec::new() };
        let mut slots = slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let kept = slots.iter().flatten().copied().collect();
        if take {
            *slots = [None; BUCKETS];
        }
        kept
    }
}

/// The bucket of a duration: the first whose upper bound is at least it,
/// as the SDK's explicit-bucket histogram counts it.
fn bucket(seconds: f64) -> usize {
    DURATION_BOUNDARIES.partition_point(|bound| *bound < seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_goes_to_the_bucket_the_histogram_counts_it_in() {
        assert_eq!(bucket(0.0), 0);
        assert_eq!(bucket(0.005), 0, "upper bounds are inclusive");
        assert_eq!(bucket(0.006), 1);
        assert_eq!(bucket(10.0), BUCKETS - 2);
        assert_eq!(bucket(11.0), BUCKETS - 1);
    }

    #[test]
    fn each_bucket_keeps_its_last_exemplar_and_delta_takes_them() {
        let reservoir = Reservoir::new();
        assert!(reservoir.collect(false).is_empty());
        reservoir.offer([1; 16], [1; 8], 0.001);
        reservoir.offer([2; 16], [2; 8], 0.002);
        reservoir.offer([3; 16], [3; 8], 20.0);
        let kept = reservoir.collect(false);
        assert_eq!(kept.len(), 2);
        assert_eq!((kept[0].trace_id, kept[0].span_id, kept[0].value), ([2; 16], [2; 8], 0.002));
        assert_eq!((kept[1].trace_id, kept[1].value), ([3; 16], 20.0));
        assert!(kept[0].time_unix_nano > 0);
        assert_eq!(reservoir.collect(true).len(), 2, "cumulative keeps them");
        assert!(reservoir.collect(false).is_empty(), "delta took them");
    }
}
