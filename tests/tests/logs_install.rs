//! Log records from an installed `init()`: the `log` crate's records (the
//! bridge `install()` sets when the application has no logger) and
//! `tracing` events, exported through a log exporter added in code (the
//! SDK's in-memory one) next to the spans; each carries the ids of the span
//! it was made in, a record outside any span has none, the filter applies,
//! and records that cannot be exported are counted and reported.
//! One test: installs are process-wide.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLogRecord};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use trace_runtime::traced;

#[traced]
fn pay(amount: i64) -> (String, String) {
    log::info!(amount = amount, card = "visa"; "payment of {amount} accepted");
    tracing::warn!(retries = 1_i64, "gateway slow");
    tracing::info!(parent: None, "explicitly outside any span");
    log::debug!("debug details");
    let ids = trace_runtime::log_ids();
    (ids.trace_id().unwrap(), ids.span_id().unwrap())
}

fn body(record: &SdkLogRecord) -> String {
    match record.body() {
        Some(AnyValue::String(s)) => s.as_str().to_owned(),
        other => panic!("body {other:?}"),
    }
}

fn attr<'a>(record: &'a SdkLogRecord, key: &str) -> Option<&'a AnyValue> {
    record.attributes_iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
}

fn ids(record: &SdkLogRecord) -> Option<(TraceId, SpanId)> {
    record.trace_context().map(|tc| (tc.trace_id, tc.span_id))
}

#[test]
fn records_carry_their_span_and_losses_are_counted() {
    let logs = InMemoryLogExporter::default();
    let spans = InMemorySpanExporter::default();
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .exporter(spans.clone())
        .logs_exporter(logs.clone())
        .install()
        .unwrap();
    let (trace_id, span_id) = pay(30);
    log::warn!(code = 7; "outside any span");
    guard.flush().unwrap(); // the in-memory exporters forget at shutdown

    let records: Vec<SdkLogRecord> = logs.get_emitted_logs().unwrap().into_iter().map(|l| l.record).collect();
    let find =
        |text: &str| records.iter().find(|r| body(r) == text).unwrap_or_else(|| panic!("no {text:?} in {records:#?}"));
    let in_span = Some((TraceId::from_hex(&trace_id).unwrap(), SpanId::from_hex(&span_id).unwrap()));

    let accepted = find("payment of 30 accepted");
    assert_eq!(accepted.severity_number(), Some(Severity::Info));
    assert_eq!(accepted.severity_text(), Some("INFO"));
    assert_eq!(ids(accepted), in_span);
    assert!(accepted.trace_context().unwrap().trace_flags.unwrap().is_sampled());
    assert_eq!(accepted.target().map(|t| t.as_ref()), Some("logs_install"));
    assert_eq!(attr(accepted, "amount"), Some(&AnyValue::Int(30)));
    assert_eq!(attr(accepted, "card"), Some(&AnyValue::from("visa")));
    assert_eq!(attr(accepted, "code.module.name"), Some(&AnyValue::from("logs_install")));
    assert!(matches!(attr(accepted, "code.line.number"), Some(AnyValue::Int(line)) if *line > 0));

    let slow = find("gateway slow");
    assert_eq!(slow.severity_number(), Some(Severity::Warn));
    assert_eq!(ids(slow), in_span, "a tracing event carries the span it happened in");
    assert_eq!(attr(slow, "retries"), Some(&AnyValue::Int(1)));

    assert_eq!(ids(find("explicitly outside any span")), None, "parent: None is outside any span");
    let outside = find("outside any span");
    assert_eq!(ids(outside), None, "exported without ids, not dropped");
    assert_eq!(attr(outside, "code"), Some(&AnyValue::Int(7)));
    assert!(records.iter().all(|r| body(r) != "debug details"), "the default filter is info");
    assert_eq!(records.len(), 4, "{records:#?}");

    // The span keeps its event too, as tracing-opentelemetry gives it.
    let finished = spans.get_finished_spans().unwrap();
    let span = finished.iter().find(|s| s.name == "pay").unwrap();
    assert!(span.events.iter().any(|e| e.name == "gateway slow"), "{:?}", span.events);
    guard.shutdown().unwrap();

    // A filter in code: debug for this crate.
    let logs = InMemoryLogExporter::default();
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .exporter(InMemorySpanExporter::default())
        .logs_exporter(logs.clone())
        .log_filter("warn,logs_install=debug")
        .install()
        .unwrap();
    pay(1);
    guard.flush().unwrap();
    let bodies: Vec<String> = logs.get_emitted_logs().unwrap().iter().map(|l| body(&l.record)).collect();
    assert!(bodies.contains(&"debug details".to_owned()), "{bodies:?}");
    guard.shutdown().unwrap();

    // A collector that accepts and never answers: one export hangs, the
    // queue of 2 fills, the rest is counted as lost and said at shutdown.
    let hanging = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", hanging.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in hanging.incoming().flatten() {
            let mut s = stream;
            let _ = s.read(&mut [0; 1024]);
            held.push(s);
        }
    });
    let before = trace_runtime::lost_logs();
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .exporter(InMemorySpanExporter::default())
        .logs_otlp_endpoint(endpoint)
        .logs_max_queue_size(2)
        .logs_schedule_delay(Duration::from_millis(1))
        .otlp_timeout(Duration::from_secs(1))
        .shutdown_timeout(Duration::from_secs(2))
        .install()
        .unwrap();
    for i in 0..20 {
        log::error!("record {i}");
        std::thread::sleep(Duration::from_millis(2));
    }
    let error = guard.shutdown().unwrap_err().to_string();
    let lost = trace_runtime::lost_logs() - before;
    assert!(lost >= 17, "at most the one in flight and two queued can be delivered, {lost} lost: {error}");
    assert!(error.contains("log records lost exporting to OTLP"), "{error}");
    assert!(error.contains("because the queue was full"), "{error}");
    assert!(error.contains("timed out"), "the real cause, not \"network error\": {error}");
}
