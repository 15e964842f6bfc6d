//! What a newcomer gets from one environment variable: with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set and no code beyond `init().install()`
//! and `#[traced]`, the real receiver (ddapm-test-agent) gets the spans,
//! the per-function metrics whose duration exemplars name those spans, and
//! the `log` records with the trace id and span id of the span they were
//! written in.
//!
//! Own binary: it configures through the process environment.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

mod e2e_metrics_common;

use std::time::{Duration, Instant};

use e2e_metrics_common::{check_exemplars, last_points, wait_for_metrics};
use serde_json::Value as Json;
use trace_runtime::traced;
use traced_tests::agent::{id_hex, TestAgent};

#[traced]
fn newcomer_checkout(items: u32) -> Result<u32, std::io::Error> {
    log::info!("checking out {items} items");
    Ok(newcomer_price(items))
}

#[traced]
fn newcomer_price(items: u32) -> u32 {
    items * 3
}

/// (body, trace id, span id) of every record received.
fn records(requests: &Json) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for request in requests.as_array().into_iter().flatten() {
        for rl in request["resource_logs"].as_array().into_iter().flatten() {
            for sl in rl["scope_logs"].as_array().into_iter().flatten() {
                for r in sl["log_records"].as_array().into_iter().flatten() {
                    out.push((
                        r["body"]["string_value"].as_str().unwrap_or_default().to_owned(),
                        id_hex(&r["trace_id"]),
                        id_hex(&r["span_id"]),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn one_variable_gives_spans_metrics_with_exemplars_and_correlated_logs() {
    let agent = TestAgent::shared();
    let session = agent.session();
    let (header, token) = session.header();
    // What a user sets in their deployment; nothing else is configured.
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", agent.otlp_http_endpoint());
    std::env::set_var("OTEL_EXPORTER_OTLP_HEADERS", format!("{header}={token}"));
    std::env::set_var("OTEL_SERVICE_NAME", "newcomer");

    let guard = trace_runtime::init().install().unwrap();
    newcomer_checkout(2).unwrap();
    newcomer_checkout(5).unwrap();
    guard.shutdown().unwrap();

    // Spans.
    let spans = session.wait_for_spans(4, Duration::from_secs(10));
    let checkouts: Vec<_> = spans.iter().filter(|s| s.name == "newcomer_checkout").collect();
    assert_eq!(checkouts.len(), 2, "{spans:#?}");
    assert_eq!(spans.iter().filter(|s| s.name == "newcomer_price").count(), 2, "{spans:#?}");

    // Per-function metrics, whose duration exemplars name those spans.
    let requests =
        wait_for_metrics(&session, |r| !last_points(r, "function.calls", "sum", "newcomer_price").is_empty());
    let calls = last_points(&requests, "function.calls", "sum", "newcomer_checkout");
    assert!(!calls.is_empty(), "no function.calls for newcomer_checkout in {requests:#}");
    let durations = last_points(&requests, "function.calls.duration", "histogram", "newcomer_price");
    assert_eq!(durations.len(), 1, "{durations:#?}");
    assert!(check_exemplars(durations[0], "newcomer_price", &spans) >= 1, "{durations:#?}");

    // Logs, with the ids of the span they were written in.
    let deadline = Instant::now() + Duration::from_secs(10);
    let received = loop {
        let received = records(&session.logs());
        if received.len() >= 2 || Instant::now() > deadline {
            break received;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for items in [2, 5] {
        let body = format!("checking out {items} items");
        let (_, trace_id, span_id) =
            received.iter().find(|(b, _, _)| *b == body).unwrap_or_else(|| panic!("{body}: {received:#?}"));
        assert!(
            checkouts.iter().any(|s| s.trace_id == *trace_id && s.span_id == *span_id),
            "{body}: ids {trace_id}/{span_id} name no exported checkout span: {checkouts:#?}"
        );
    }
}
