//! `Capture::logs()`: the log records made inside a capture — `log` records
//! and `tracing` events — with the ids of the span each was made in, none
//! outside any span; isolated per capture like the spans, so tests keep
//! running in parallel.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry_sdk::logs::SdkLogRecord;
use trace_runtime::testing::capture;
use tracing_subscriber::layer::SubscriberExt;

#[trace_runtime::traced]
fn ship(parcel: &str) {
    log::info!(parcel = parcel, weight_g = 1200; "label printed");
    log::trace!("every level is captured");
    tracing::warn!(carrier = "post", "carrier slow");
}

fn body(record: &SdkLogRecord) -> String {
    match record.body() {
        Some(AnyValue::String(s)) => s.as_str().to_owned(),
        other => panic!("body {other:?}"),
    }
}

#[test]
fn a_capture_sees_its_records_with_their_span() {
    let subscriber = tracing_subscriber::registry().with(trace_runtime::tracing_layer());
    let c = tracing::subscriber::with_default(subscriber, || {
        capture(|| {
            log::warn!("before any span");
            ship("P-1");
        })
    });
    let bodies: Vec<String> = c.logs().iter().map(body).collect();
    assert_eq!(bodies, ["before any span", "label printed", "every level is captured", "carrier slow"]);

    let span = c.span("ship").span_context.clone();
    let [outside, label, trace, slow] = c.logs() else { panic!("{:#?}", c.logs()) };
    assert!(outside.trace_context().is_none(), "outside any span: no ids");
    for record in [label, trace, slow] {
        let ids = record.trace_context().unwrap();
        assert_eq!((ids.trace_id, ids.span_id), (span.trace_id(), span.span_id()));
        assert!(ids.trace_flags.unwrap().is_sampled());
    }
    assert_eq!(label.severity_number(), Some(Severity::Info));
    assert_eq!(trace.severity_text(), Some("TRACE"));
    assert_eq!(slow.severity_number(), Some(Severity::Warn));
    let attr =
        |r: &SdkLogRecord, key: &str| r.attributes_iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v.clone());
    assert_eq!(attr(label, "parcel"), Some(AnyValue::from("P-1")));
    assert_eq!(attr(label, "weight_g"), Some(AnyValue::Int(1200)));
    assert_eq!(attr(slow, "carrier"), Some(AnyValue::from("post")));
}

#[test]
fn captures_keep_their_own_records() {
    let threads: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let c = capture(|| ship(&format!("P-{i}")));
                let parcels: Vec<Option<AnyValue>> = c
                    .logs()
                    .iter()
                    .map(|r| r.attributes_iter().find(|(k, _)| k.as_str() == "parcel").map(|(_, v)| v.clone()))
                    .filter(Option::is_some)
                    .collect();
                assert_eq!(parcels, [Some(AnyValue::from(format!("P-{i}")))]);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let outside = capture(|| ());
    assert!(outside.logs().is_empty());
}
