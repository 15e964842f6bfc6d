//! Metrics as readable lines on stderr, one per data point, at every export
//! interval and at shutdown:
//!
//! ```text
//! metrics  function.calls{function=checkout, module=shop, result=ok, caller.function=, caller.module=} = 3 {call}
//! metrics  function.calls.duration{function=checkout, ...} count=3 sum=0.0123 s  [<=0.005: 1, <=0.01: 2]
//! ```

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;

/// Prints every metric data point to stderr (stdout may be the program's
/// output). `OTEL_METRICS_EXPORTER=console` or
/// [`Builder::metrics_console`](crate::Builder::metrics_console).
///
/// ```
/// let _guard = trace_runtime::init()
///     .metrics_exporter(trace_runtime::metrics::ConsoleMetricExporter::stderr())
///     .install()
///     .unwrap();
/// trace_runtime::meter("demo").u64_counter("jobs").build().add(1, &[]);
/// // Dropping the guard prints `metrics  jobs{} = 1` on stderr.
/// ```
#[derive(Debug)]
pub struct ConsoleMetricExporter {
    temporality: Temporality,
}

impl ConsoleMetricExporter {
    /// Cumulative totals on stderr.
    ///
    /// ```
    /// let exporter = trace_runtime::metrics::ConsoleMetricExporter::stderr();
    /// # drop(exporter);
    /// ```
    pub fn stderr() -> Self {
        ConsoleMetricExporter { temporality: Temporality::Cumulative }
    }

    /// With the given temporality (delta prints what changed since the last lines).
    ///
    /// ```
    /// use opentelemetry_sdk::metrics::Temporality;
    /// let exporter = trace_runtime::metrics::ConsoleMetricExporter::stderr().with_temporality(Temporality::Delta);
    /// # drop(exporter);
    /// ```
    pub fn with_temporality(mut self, temporality: Temporality) -> Self {
        self.temporality = temporality;
        self
    }
}

impl PushMetricExporter for ConsoleMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let text = render(metrics);
        if !text.is_empty() {
            // One write: lines from concurrent exports never interleave.
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        }
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}

/// The lines for one export.
pub(crate) fn render(metrics: &ResourceMetrics) -> String {
    let mut out = String::new();
    for scope in metrics.scope_metrics() {
        for metric in scope.metrics() {
            render_metric(&mut out, metric);
        }
    }
    out
}

fn render_metric(out: &mut String, metric: &Metric) {
    let name = metric.name();
    let unit = metric.unit();
    // "1" is the unit of a plain count: nothing to print.
    let unit = if unit.is_empty() || unit == "1" { String::new() } else { format!(" {unit}") };
    match metric.data() {
        AggregatedMetrics::F64(data) => render_data(out, name, &unit, data),
        AggregatedMetrics::U64(data) => render_data(out, name, &unit, data),
        AggregatedMetrics::I64(data) => render_data(out, name, &unit, data),
    }
}

fn render_data<T: std::fmt::Display + Copy>(out: &mut String, name: &str, unit: &str, data: &MetricData<T>) {
    match data {
        MetricData::Gauge(gauge) => {
            for point in gauge.data_points() {
                let _ = writeln!(out, "metrics  {name}{} = {}{unit}", labels(point.attributes()), point.value());
            }
        }
        MetricData::Sum(sum) => {
            for point in sum.data_points() {
                let _ = writeln!(out, "metrics  {name}{} = {}{unit}", labels(point.attributes()), point.value());
            }
        }
        MetricData::Histogram(histogram) => {
            for point in histogram.data_points() {
                let mut buckets = Vec::new();
                let bounds: Vec<f64> = point.bounds().collect();
                for (i, count) in point.bucket_counts().enumerate() {
                    if count > 0 {
                        match bounds.get(i) {
                            Some(bound) => buckets.push(format!("<={bound}: {count}")),
                            None => buckets.push(format!(">{}: {count}", bounds.last().copied().unwrap_or(0.0))),
                        }
                    }
                }
                let _ = writeln!(
                    out,
                    "metrics  {name}{} count={} sum={}{unit}  [{}]",
                    labels(point.attributes()),
                    point.count(),
                    point.sum(),
                    buckets.join(", ")
                );
            }
        }
        MetricData::ExponentialHistogram(histogram) => {
            for point in histogram.data_points() {
                let _ = writeln!(
                    out,
                    "metrics  {name}{} count={} sum={}{unit}",
                    labels(point.attributes()),
                    point.count(),
                    point.sum()
                );
            }
        }
    }
}

fn labels<'a>(attributes: impl Iterator<Item = &'a KeyValue>) -> String {
    // Sorted: the same series prints the same way at every interval.
    let mut parts: Vec<String> = attributes.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
    parts.sort();
    format!("{{{}}}", parts.join(", "))
}
