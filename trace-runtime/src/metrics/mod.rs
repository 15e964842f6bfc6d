//! Metrics: the OpenTelemetry metrics API ([`meter`]) exported by the same
//! [`init()`](crate::init), and per-function RED metrics from `#[traced]`.
//!
//! Once metrics are enabled (an exporter is configured: see
//! [`Builder::metrics_console`](crate::Builder::metrics_console),
//! `OTEL_METRICS_EXPORTER`, or an OTLP endpoint), every call of a
//! `#[traced]` function, sampled or not, counts in three instruments named
//! after autometrics' conventions:
//!
//! | instrument | kind | attributes |
//! |---|---|---|
//! | `function.calls` | counter | `function`, `module`, `result` (`ok`/`error`), `caller.function`, `caller.module` |
//! | `function.calls.duration` | histogram, seconds, [`DURATION_BOUNDARIES`] | `function`, `module`, `caller.function`, `caller.module` |
//! | `function.calls.concurrent` | up-down counter | `function`, `module` |
//!
//! `result` is `error` exactly when the span's status is: an `Err` return
//! (unless `err = false`) or a panic. The caller is the nearest traced
//! function up the stack in this process (for an async function: the one
//! polling it when it started), empty at a root. `#[traced(metrics = false)]`
//! leaves a function out. With metrics off, a traced call pays one relaxed
//! atomic load for them.
//!
//! **Exemplars.** A call that ran in a sampled span leaves its span's trace
//! and span id on its `function.calls.duration` bucket: for each data point
//! (function and caller), the last such call per bucket is kept and sent
//! with the point by the OTLP exporter (HTTP and gRPC), so that a slow
//! bucket leads to a trace. Unsampled calls leave none. With delta
//! temporality each exemplar is sent once; with cumulative, a bucket keeps
//! its latest. Histograms made through [`meter`] get none yet: the SDK
//! records them with no hook, so this would mean wrapping every instrument
//! the meter makes and keying exemplars by attribute set.

mod call;
mod console;
mod exemplars;
mod instruments;
#[cfg(feature = "otlp")]
mod otlp_exemplars;
mod site;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use opentelemetry::metrics::Meter;
use opentelemetry_sdk::metrics::SdkMeterProvider;

pub(crate) use call::{Call, Polling};
pub use console::ConsoleMetricExporter;
pub use instruments::DURATION_BOUNDARIES;
#[cfg(feature = "otlp")]
pub(crate) use otlp_exemplars::attach as attach_exemplars;
#[doc(hidden)]
pub use site::CallSite;

/// Whether `#[traced]` calls are measured: set while a provider with a
/// metrics exporter is installed.
static ON: AtomicBool = AtomicBool::new(false);

#[inline(always)]
pub(crate) fn is_on() -> bool {
    ON.load(Relaxed)
}

/// A meter from the OpenTelemetry global meter provider, which
/// [`init()`](crate::init) sets when metrics are exported: counters,
/// histograms, up-down counters and observable instruments, exported with
/// the RED metrics of `#[traced]`. Before `install()` (or with metrics off)
/// it is a no-op meter.
///
/// ```
/// use opentelemetry::KeyValue;
///
/// let meter = trace_runtime::meter("shop");
/// let orders = meter.u64_counter("orders").with_description("Orders placed").build();
/// orders.add(1, &[KeyValue::new("payment", "card")]);
/// let latency = meter.f64_histogram("checkout.latency").with_unit("s").build();
/// latency.record(0.042, &[]);
/// ```
pub fn meter(name: &'static str) -> Meter {
    opentelemetry::global::meter(name)
}

/// Makes `provider` the global meter provider and turns the RED metrics on.
pub(crate) fn install(provider: &SdkMeterProvider) {
    instruments::register(provider);
    opentelemetry::global::set_meter_provider(provider.clone());
    ON.store(true, Relaxed);
    crate::dispatch::set_metrics_on(true);
}

/// Turns the RED metrics off (the provider is being shut down).
pub(crate) fn uninstall() {
    ON.store(false, Relaxed);
    crate::dispatch::set_metrics_on(false);
    instruments::unregister();
}
