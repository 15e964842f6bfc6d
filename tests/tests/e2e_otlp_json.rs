//! End to end over OTLP/HTTP with JSON bodies (`http/json`, gzip): the same
//! workload and checks as `e2e_http.rs`, to a real receiver
//! (ddapm-test-agent keeps a JSON request's body verbatim, so the test also
//! sees that JSON, not protobuf, was sent), plus a batch split under a small
//! request limit that still delivers every span intact.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

mod e2e_common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use e2e_common::{check_trace, handle_order, wait_for_case, Setup};
use trace_runtime::{traced, Protocol};

/// The request limit of this file's install: the smallest accepted.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        e2e_common::install(|builder, agent| {
            builder
                .otlp_protocol(Protocol::HttpJson)
                .otlp_endpoint(agent.otlp_http_endpoint())
                .batch_max_export_bytes(MAX_REQUEST_BYTES)
        })
    })
}

#[test]
fn every_field_arrives_over_http_json() {
    let setup = setup();
    handle_order("json-new-trace", 42).unwrap();
    setup.guard.flush().expect("flushed");
    let trace = wait_for_case("json-new-trace", || setup.session.spans());
    check_trace(&trace, None);
    // The receiver stores JSON bodies as sent: OTLP/JSON's camelCase keys
    // and hex ids (protobuf would come back snake_case with base64 ids).
    let requests = setup.session.traces();
    let text = requests.to_string();
    assert!(text.contains("\"resourceSpans\"") && text.contains("\"traceId\""), "not OTLP/JSON: {text:.300}");
    let root = &trace["GET /orders/{id}"];
    assert!(text.contains(&format!("\"{}\"", root.trace_id)), "hex trace id as sent");
}

#[traced(attrs(case = "json-split", payload = payload.as_str()))]
fn bulky(payload: String) {}

#[test]
fn a_batch_over_the_request_limit_is_split_and_arrives_whole() {
    let setup = setup();
    let payload = "é\"\n".repeat(400); // 1.6 KB of text that JSON escapes
    for _ in 0..40 {
        bulky(payload.clone());
    }
    setup.guard.flush().expect("flushed");
    let deadline = Instant::now() + Duration::from_secs(20);
    let spans = loop {
        let spans: Vec<_> = setup
            .session
            .spans()
            .into_iter()
            .filter(|s| s.attr("case").and_then(|v| v.as_str()) == Some("json-split"))
            .collect();
        if spans.len() >= 40 || Instant::now() > deadline {
            break spans;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(spans.len(), 40, "every span arrived");
    assert!(spans.iter().all(|s| s.attr("payload").and_then(|v| v.as_str()) == Some(payload.as_str())));
    // Each request, written back as pretty JSON (as the exporter writes it),
    // stayed under the limit, so the 40 spans took several requests.
    let requests = setup.session.traces();
    let ours: Vec<String> = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| serde_json::to_string_pretty(r).unwrap())
        .filter(|r| r.contains("json-split"))
        .collect();
    assert!(ours.len() > 1, "split into several requests: {}", ours.len());
    for request in &ours {
        // serde_json writes "é" as is and escapes `"` and `\n` as two bytes each, as the exporter did.
        assert!(request.len() <= MAX_REQUEST_BYTES, "a request of {} bytes", request.len());
    }
}
