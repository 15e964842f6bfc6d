//! The duration histogram is bound once per call site and caller; after
//! `install()` runs again (a new meter provider), the same call sites record
//! into the new provider's histogram, not the old one's.

#![allow(clippy::unwrap_used)]

use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::InMemoryMetricExporter;
use trace_runtime::traced;

#[traced]
fn reinstalled_work() -> u32 {
    std::hint::black_box(3)
}

/// The `function.calls.duration` count of `reinstalled_work` in the last export.
fn duration_count(exporter: &InMemoryMetricExporter) -> u64 {
    let all = exporter.get_finished_metrics().unwrap();
    let last = all.last().expect("an export");
    let mut count = 0;
    for metric in last.scope_metrics().flat_map(|s| s.metrics()).filter(|m| m.name() == "function.calls.duration") {
        if let AggregatedMetrics::F64(MetricData::Histogram(histogram)) = metric.data() {
            count += histogram
                .data_points()
                .filter(|p| {
                    p.attributes().any(|kv| kv.key.as_str() == "function" && kv.value.as_str() == "reinstalled_work")
                })
                .map(|p| p.count())
                .sum::<u64>();
        }
    }
    count
}

#[test]
fn a_second_install_gets_the_durations_of_calls_made_after_it() {
    let first = InMemoryMetricExporter::default();
    let guard = trace_runtime::init().env_lookup(|_| None).metrics_exporter(first.clone()).install().unwrap();
    reinstalled_work();
    reinstalled_work();
    guard.flush().unwrap();
    assert_eq!(duration_count(&first), 2);
    guard.shutdown().unwrap();

    // Metrics off between the two: the call is not recorded anywhere.
    reinstalled_work();

    let second = InMemoryMetricExporter::default();
    let guard = trace_runtime::init().env_lookup(|_| None).metrics_exporter(second.clone()).install().unwrap();
    reinstalled_work();
    guard.flush().unwrap();
    assert_eq!(duration_count(&second), 1, "the call site bound itself to the new provider's histogram");
    guard.shutdown().unwrap();
}
