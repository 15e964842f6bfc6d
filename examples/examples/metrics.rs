//! base14 Scout's guide, its metrics section, in Rust, next to traced
//! functions whose RED metrics are printed with it.
//!
//! A counter with attributes, an observable counter and a histogram from
//! `trace_runtime::meter`, exported by the same `init()` as the spans; and
//! `function.calls`, `function.calls.duration` and
//! `function.calls.concurrent` for every `#[traced]` call, with no code.
//! Everything prints on stderr: span trees per trace and metric lines when
//! the guard drops.
//!
//! Run: `cargo run -p traced-examples --example metrics`. With
//! `OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318` both go to a collector
//! instead (leave out `.console().metrics_console()` below).

use opentelemetry::metrics::ObservableCounter;
use opentelemetry::KeyValue;
use trace_runtime::traced;

/// "Creating a Synchronous Counter": `work.counter`, by `work.type`.
#[traced]
fn do_work(work_type: &'static str) {
    let meter = trace_runtime::meter("my.meter.name");
    let work_counter =
        meter.u64_counter("work.counter").with_unit("1").with_description("Counts the amount of work done").build();
    work_counter.add(1, &[KeyValue::new("work.type", work_type)]);
    eprintln!("doing some work...");
    if work_type == "report" {
        render_report();
    }
}

#[traced]
fn render_report() {
    std::thread::sleep(std::time::Duration::from_millis(7));
}

/// An `Err` counts as `result = error` in `function.calls`.
#[traced]
fn validate(input: &str) -> Result<(), String> {
    if input.is_empty() {
        return Err("empty input".to_owned());
    }
    Ok(())
}

/// "Creating Asynchronous Counter": process page faults, read when metrics
/// are collected.
fn page_faults(meter: &opentelemetry::metrics::Meter) -> ObservableCounter<u64> {
    meter
        .u64_observable_counter("PF")
        .with_description("process page faults")
        .with_callback(|observer| {
            observer.observe(8, &[KeyValue::new("pid", 0), KeyValue::new("bitness", 64)]);
            observer.observe(37_741_921, &[KeyValue::new("pid", 4), KeyValue::new("bitness", 64)]);
            observer.observe(10_465, &[KeyValue::new("pid", 880), KeyValue::new("bitness", 32)]);
        })
        .build()
}

fn main() -> Result<(), trace_runtime::Error> {
    // Spans and metrics on the console; `OTEL_*` variables work as usual.
    let guard = trace_runtime::init().service_name("metrics-example").console().metrics_console().install()?;

    let meter = trace_runtime::meter("my.meter.name");
    let _pf = page_faults(&meter);

    // "Creating a Histogram"
    let http_server_duration = meter
        .f64_histogram("http.server.duration")
        .with_description("measures the duration of the inbound HTTP request")
        .with_unit("ms")
        .build();
    http_server_duration
        .record(50.0, &[KeyValue::new("http.request.method", "POST"), KeyValue::new("url.scheme", "https")]);
    http_server_duration
        .record(100.0, &[KeyValue::new("http.request.method", "GET"), KeyValue::new("url.scheme", "http")]);

    for work_type in ["import", "report", "import"] {
        do_work(work_type);
    }
    let _ = validate("payload");
    let _ = validate("");

    // Exports the metrics a last time (and the spans) before exiting.
    drop(guard);
    Ok(())
}
