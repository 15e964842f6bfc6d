//! The three RED instruments of `#[traced]`, under autometrics' names and
//! attributes, so its dashboards and queries work unchanged:
//!
//! - `function.calls` (counter): `function`, `module`, `result` (`ok` |
//!   `error`), `caller.function`, `caller.module`;
//! - `function.calls.duration` (histogram, seconds): the same minus `result`,
//!   with [`DURATION_BOUNDARIES`];
//! - `function.calls.concurrent` (up-down counter): `function`, `module`.
//!
//! Calls and calls in progress are atomics in each call site, read by
//! observable instruments at collection time. The duration histogram is the
//! SDK's own (its public API has no way to hand it buckets counted
//! elsewhere), bound once per (call site, caller) to its attribute set, so a
//! call records into it with no attribute-set lookup (the SDK's bound
//! instruments: a lock on that one data point's buckets).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use opentelemetry::metrics::{Histogram, Meter, MeterProvider as _};
use opentelemetry::{Key, KeyValue, Value};
use opentelemetry_sdk::metrics::SdkMeterProvider;

use super::site::{self, CallSite, Counts};

/// The instrumentation scope of the RED metrics.
pub(crate) const SCOPE: &str = "trace-runtime";

/// The name of the duration histogram.
pub(crate) const DURATION_NAME: &str = "function.calls.duration";

/// Bucket boundaries of `function.calls.duration`, in seconds: autometrics'
/// defaults, from 5 ms to 10 s.
pub const DURATION_BOUNDARIES: [f64; 14] =
    [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

/// The duration histogram of the installed provider, with the generation
/// it belongs to.
static DURATION: RwLock<Option<(u64, Histogram<f64>)>> = RwLock::new(None);

/// Changes whenever a provider is installed or removed: a call site's bound
/// histogram of an older generation is bound again.
static GENERATION: AtomicU64 = AtomicU64::new(0);

const FUNCTION: Key = Key::from_static_str("function");
const MODULE: Key = Key::from_static_str("module");
const RESULT: Key = Key::from_static_str("result");
const CALLER_FUNCTION: Key = Key::from_static_str("caller.function");
const CALLER_MODULE: Key = Key::from_static_str("caller.module");
const OVERFLOW: Key = Key::from_static_str("otel.metric.overflow");

/// Creates the instruments on `provider`'s meter.
pub(crate) fn register(provider: &SdkMeterProvider) {
    let meter: Meter = provider.meter(SCOPE);
    meter
        .u64_observable_counter("function.calls")
        .with_description("Calls of #[traced] functions, by result and caller")
        .with_unit("{call}")
        .with_callback(|observer| {
            for site in site::sites() {
                for callers in site.callers() {
                    observe_counts(site, &callers.counts, caller_attributes(callers.caller), |v, a| {
                        observer.observe(v, a)
                    });
                }
                let overflow = [KeyValue::new(OVERFLOW, true)];
                observe_counts(site, &site.overflow, overflow.to_vec(), |v, a| observer.observe(v, a));
            }
        })
        .build();
    meter
        .i64_observable_up_down_counter("function.calls.concurrent")
        .with_description("Calls of #[traced] functions in progress")
        .with_unit("{call}")
        .with_callback(|observer| {
            for site in site::sites() {
                let value = site.in_flight.load(std::sync::atomic::Ordering::Relaxed);
                observer.observe(value, &[KeyValue::new(FUNCTION, site.function), KeyValue::new(MODULE, site.module)]);
            }
        })
        .build();
    let histogram = meter
        .f64_histogram(DURATION_NAME)
        .with_description("Duration of calls of #[traced] functions")
        .with_unit("s")
        .with_boundaries(DURATION_BOUNDARIES.to_vec())
        .build();
    let mut duration = DURATION.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    *duration = Some((GENERATION.fetch_add(1, Ordering::AcqRel) + 1, histogram));
}

/// Forgets the histogram of a provider being shut down.
pub(crate) fn unregister() {
    let mut duration = DURATION.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    GENERATION.fetch_add(1, Ordering::AcqRel);
    *duration = None;
}

fn caller_attributes(caller: Option<&'static CallSite>) -> Vec<KeyValue> {
    let (function, module) = caller.map_or(("", ""), |c| (c.function, c.module));
    vec![KeyValue::new(CALLER_FUNCTION, function), KeyValue::new(CALLER_MODULE, module)]
}

/// Reports the non-zero counts of one (site, caller) pair.
fn observe_counts(site: &CallSite, counts: &Counts, extra: Vec<KeyValue>, mut observe: impl FnMut(u64, &[KeyValue])) {
    use std::sync::atomic::Ordering::Relaxed;
    for (result, value) in [("ok", counts.ok.load(Relaxed)), ("error", counts.error.load(Relaxed))] {
        if value == 0 {
            continue;
        }
        let mut attributes = vec![
            KeyValue::new(FUNCTION, site.function),
            KeyValue::new(MODULE, site.module),
            KeyValue::new(RESULT, result),
        ];
        attributes.extend(extra.iter().cloned());
        observe(value, &attributes);
    }
}

/// Records one call's duration into the data point of `counts` (calls from
/// `caller`, or the overflow of callers past
/// [`MAX_CALLERS`](site::MAX_CALLERS), recorded together as they are
/// counted): through its bound histogram, bound on its first call under
/// each provider.
pub(crate) fn record_duration(
    site: &'static CallSite,
    caller: Option<&'static CallSite>,
    counts: &Counts,
    overflowed: bool,
    seconds: f64,
) {
    let generation = GENERATION.load(Ordering::Acquire);
    {
        let bound = counts.duration.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((bound_to, histogram)) = bound.as_ref() {
            if *bound_to == generation {
                histogram.record(seconds);
                return;
            }
        }
    }
    bind_and_record(site, caller, counts, overflowed, seconds);
}

#[cold]
fn bind_and_record(
    site: &'static CallSite,
    caller: Option<&'static CallSite>,
    counts: &Counts,
    overflowed: bool,
    seconds: f64,
) {
    let duration = DURATION.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some((generation, histogram)) = duration.as_ref() else { return };
    let bound = if overflowed {
        histogram.bind(&[
            KeyValue::new(FUNCTION, Value::from(site.function)),
            KeyValue::new(MODULE, Value::from(site.module)),
            KeyValue::new(OVERFLOW, true),
        ])
    } else {
        let (caller_function, caller_module) = caller.map_or(("", ""), |c| (c.function, c.module));
        histogram.bind(&[
            KeyValue::new(FUNCTION, Value::from(site.function)),
            KeyValue::new(MODULE, Value::from(site.module)),
            KeyValue::new(CALLER_FUNCTION, Value::from(caller_function)),
            KeyValue::new(CALLER_MODULE, Value::from(caller_module)),
        ])
    };
    bound.record(seconds);
    *counts.duration.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((*generation, bound));
}
