//! RED metrics of `#[traced]` and the metrics API, read back through the
//! SDK's `InMemoryMetricExporter` (a real SDK exporter behind a periodic
//! reader). One install serves the whole binary; each test uses functions
//! of its own, so tests running in parallel never see each other's points.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier, Mutex, OnceLock};

use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, Temporality};
use opentelemetry_sdk::trace::Sampler;
use trace_runtime::traced;

struct Installed {
    guard: trace_runtime::Guard,
    exporter: InMemoryMetricExporter,
    /// Flushes one at a time: each export holds every total so far.
    reading: Mutex<()>,
}

/// Metrics on; every span sampled out, so what is counted is not the spans.
fn installed() -> &'static Installed {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let exporter = InMemoryMetricExporter::default();
        let guard = trace_runtime::init()
            .env_lookup(|_| None)
            .sampler(Sampler::AlwaysOff)
            .metrics_exporter(exporter.clone())
            .install()
            .unwrap();
        Installed { guard, exporter, reading: Mutex::new(()) }
    })
}

type Attrs = BTreeMap<String, String>;

/// Every point of metric `name` whose `function` attribute is `function`,
/// from an export made now: (attributes, value); a histogram's value is its count.
fn points(name: &str, function: &str) -> Vec<(Attrs, f64)> {
    let installed = installed();
    let _one = installed.reading.lock().unwrap();
    installed.guard.flush().unwrap();
    let all = installed.exporter.get_finished_metrics().unwrap();
    let last = all.last().expect("an export");
    let mut found = Vec::new();
    for scope in last.scope_metrics() {
        for metric in scope.metrics().filter(|m| m.name() == name) {
            collect(metric.data(), &mut found);
        }
    }
    found.retain(|(attrs, _)| attrs.get("function").map(String::as_str) == Some(function));
    found
}

fn attrs<'a>(kvs: impl Iterator<Item = &'a KeyValue>) -> Attrs {
    kvs.map(|kv| (kv.key.to_string(), kv.value.to_string())).collect()
}

fn collect(data: &AggregatedMetrics, out: &mut Vec<(Attrs, f64)>) {
    match data {
        AggregatedMetrics::U64(MetricData::Sum(sum)) => {
            assert_eq!(sum.temporality(), Temporality::Cumulative);
            out.extend(sum.data_points().map(|p| (attrs(p.attributes()), p.value() as f64)));
        }
        AggregatedMetrics::I64(MetricData::Sum(sum)) => {
            out.extend(sum.data_points().map(|p| (attrs(p.attributes()), p.value() as f64)));
        }
        AggregatedMetrics::F64(MetricData::Histogram(h)) => {
            for p in h.data_points() {
                let bounds: Vec<f64> = p.bounds().collect();
                assert_eq!(bounds, trace_runtime::metrics::DURATION_BOUNDARIES.to_vec());
                assert!(p.sum() >= 0.0 && p.count() > 0);
                out.push((attrs(p.attributes()), p.count() as f64));
            }
        }
        _ => {}
    }
}

fn expect(pairs: &[(&str, &str)]) -> Attrs {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

const MODULE: &str = module_path!();

#[traced]
fn red_parent() {
    red_child();
    red_child();
}

#[traced]
fn red_child() {}

#[test]
fn calls_are_counted_with_their_caller_sampled_or_not() {
    installed();
    red_parent();
    red_child();
    let calls = points("function.calls", "red_child");
    let from_parent = expect(&[
        ("function", "red_child"),
        ("module", MODULE),
        ("result", "ok"),
        ("caller.function", "red_parent"),
        ("caller.module", MODULE),
    ]);
    let at_root = expect(&[
        ("function", "red_child"),
        ("module", MODULE),
        ("result", "ok"),
        ("caller.function", ""),
        ("caller.module", ""),
    ]);
    assert!(calls.contains(&(from_parent, 2.0)), "{calls:#?}");
    assert!(calls.contains(&(at_root, 1.0)), "{calls:#?}");
    assert_eq!(calls.len(), 2, "{calls:#?}");

    let durations = points("function.calls.duration", "red_child");
    let from_parent = expect(&[
        ("function", "red_child"),
        ("module", MODULE),
        ("caller.function", "red_parent"),
        ("caller.module", MODULE),
    ]);
    assert!(durations.contains(&(from_parent, 2.0)), "{durations:#?}");
    assert_eq!(durations.len(), 2, "{durations:#?}");
    let parent = points("function.calls", "red_parent");
    assert_eq!(parent.len(), 1, "{parent:#?}");
    assert_eq!(parent[0].1, 1.0);
}

#[derive(Debug)]
struct Failure;

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failure")
    }
}

impl std::error::Error for Failure {}

#[traced]
fn red_fallible(fail: bool) -> Result<u8, Failure> {
    if fail {
        Err(Failure)
    } else {
        Ok(1)
    }
}

#[traced(err = false)]
fn red_err_not_recorded() -> Result<(), Failure> {
    Err(Failure)
}

#[traced]
fn red_panics() {
    panic!("red metrics see panics");
}

fn results(function: &str) -> BTreeMap<String, f64> {
    points("function.calls", function).into_iter().map(|(a, v)| (a["result"].clone(), v)).collect()
}

#[test]
fn errors_and_panics_count_as_error_like_the_span_status() {
    installed();
    let _ = red_fallible(false);
    let _ = red_fallible(true);
    let _ = red_fallible(true);
    assert_eq!(results("red_fallible"), BTreeMap::from([("ok".to_owned(), 1.0), ("error".to_owned(), 2.0)]));

    let _ = red_err_not_recorded();
    assert_eq!(results("red_err_not_recorded"), BTreeMap::from([("ok".to_owned(), 1.0)]));

    assert!(std::panic::catch_unwind(red_panics).is_err());
    assert_eq!(results("red_panics"), BTreeMap::from([("error".to_owned(), 1.0)]));
}

#[traced(metrics = false)]
fn red_opted_out() {
    red_under_opted_out();
}

#[traced]
fn red_under_opted_out() {}

#[test]
fn metrics_false_leaves_a_function_out() {
    installed();
    red_opted_out();
    assert_eq!(points("function.calls", "red_opted_out"), Vec::new());
    assert_eq!(points("function.calls.duration", "red_opted_out"), Vec::new());
    // Its callee sees no traced caller in between.
    let calls = points("function.calls", "red_under_opted_out");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0["caller.function"], "");
}

#[traced]
fn red_held(inside: &Barrier, release: &Barrier) {
    inside.wait();
    release.wait();
}

#[test]
fn calls_in_progress_are_an_up_down_counter() {
    installed();
    let (inside, release) = (Arc::new(Barrier::new(4)), Arc::new(Barrier::new(4)));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (inside, release) = (Arc::clone(&inside), Arc::clone(&release));
            std::thread::spawn(move || red_held(&inside, &release))
        })
        .collect();
    inside.wait();
    let during = points("function.calls.concurrent", "red_held");
    assert_eq!(during, vec![(expect(&[("function", "red_held"), ("module", MODULE)]), 3.0)]);
    release.wait();
    for thread in threads {
        thread.join().unwrap();
    }
    let after = points("function.calls.concurrent", "red_held");
    assert_eq!(after, vec![(expect(&[("function", "red_held"), ("module", MODULE)]), 0.0)]);
    assert_eq!(results("red_held"), BTreeMap::from([("ok".to_owned(), 3.0)]));
}

#[traced]
async fn red_async_parent() -> Result<(), Failure> {
    red_async_child().await;
    red_child_of_async();
    Err(Failure)
}

#[traced]
async fn red_async_child() {
    tokio::task::yield_now().await;
}

#[traced]
fn red_child_of_async() {}

#[test]
fn async_functions_are_callers_and_fail_like_sync_ones() {
    installed();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let _ = runtime.block_on(red_async_parent());
    assert_eq!(results("red_async_parent"), BTreeMap::from([("error".to_owned(), 1.0)]));
    for child in ["red_async_child", "red_child_of_async"] {
        let calls = points("function.calls", child);
        assert_eq!(calls.len(), 1, "{calls:#?}");
        assert_eq!(calls[0].0["caller.function"], "red_async_parent", "{child}");
        assert_eq!(calls[0].0["result"], "ok");
    }
}

#[test]
fn the_meter_api_is_exported_by_the_same_install() {
    installed();
    let meter = trace_runtime::meter("red-tests");
    let orders = meter.u64_counter("red.orders").build();
    orders.add(2, &[KeyValue::new("function", "red_meter_api")]);
    orders.add(3, &[KeyValue::new("function", "red_meter_api")]);
    assert_eq!(points("red.orders", "red_meter_api"), vec![(expect(&[("function", "red_meter_api")]), 5.0)]);
}
