//! An application with a logger of its own wraps it with
//! `trace_runtime::logger(..)`: its logger keeps printing every record it
//! enables, and the records are exported too, with their span's ids.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::sync::{Arc, Mutex};

use opentelemetry::logs::AnyValue;
use opentelemetry_sdk::logs::InMemoryLogExporter;
use opentelemetry_sdk::trace::InMemorySpanExporter;

/// The application's logger: keeps warnings and errors as lines.
struct Lines(Arc<Mutex<Vec<String>>>);

impl log::Log for Lines {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            self.0.lock().unwrap().push(format!("{} {}", record.level(), record.args()));
        }
    }
    fn flush(&self) {}
}

#[trace_runtime::traced]
fn work() -> String {
    log::warn!("disk almost full");
    log::info!("work done");
    trace_runtime::log_ids().span_id().unwrap()
}

#[test]
fn your_logger_keeps_working_beside_the_export() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    trace_runtime::logger(Lines(Arc::clone(&lines))).install().unwrap();
    let logs = InMemoryLogExporter::default();
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .exporter(InMemorySpanExporter::default())
        .logs_exporter(logs.clone())
        .install()
        .unwrap();
    let span_id = work();
    guard.flush().unwrap(); // the in-memory exporter forgets at shutdown

    assert_eq!(*lines.lock().unwrap(), ["WARN disk almost full"], "your logger, your filter");
    let exported: Vec<(String, String)> = logs
        .get_emitted_logs()
        .unwrap()
        .iter()
        .map(|l| {
            let body = match l.record.body() {
                Some(AnyValue::String(s)) => s.as_str().to_owned(),
                other => panic!("{other:?}"),
            };
            (body, l.record.trace_context().unwrap().span_id.to_string())
        })
        .collect();
    assert_eq!(
        exported,
        [("disk almost full".to_owned(), span_id.clone()), ("work done".to_owned(), span_id)],
        "the export's filter (info)"
    );
    guard.shutdown().unwrap();
}
