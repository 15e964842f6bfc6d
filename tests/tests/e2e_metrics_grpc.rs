//! End to end over OTLP/gRPC with delta temporality: spans and metrics both
//! go to the real receiver's gRPC port (ddapm-test-agent); the RED metrics
//! and a histogram of the metrics API arrive with names, attributes, values
//! per interval (delta), and the duration points carry exemplars naming
//! spans exported in the same run.

#![allow(clippy::unwrap_used)]

mod e2e_metrics_common;

use std::time::Duration;

use e2e_metrics_common::{attribute, check_exemplars, int, points, wait_for_metrics};
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::Temporality;
use trace_runtime::{traced, Protocol};
use traced_tests::agent::TestAgent;

#[traced]
fn grpc_lookup(key: u32) -> Result<u32, String> {
    if key == 0 {
        return Err("no key".to_owned());
    }
    Ok(key)
}

#[test]
fn red_metrics_with_exemplars_arrive_over_otlp_grpc_as_deltas() {
    let agent = TestAgent::shared();
    let session = agent.session();
    let (header, token) = session.header();
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .service_name("metrics-e2e-grpc")
        .otlp_protocol(Protocol::Grpc)
        .otlp_endpoint(agent.otlp_grpc_endpoint())
        .otlp_header(header, token)
        .metrics_temporality(Temporality::Delta)
        .install()
        .unwrap();
    let latency = trace_runtime::meter("store").f64_histogram("store.latency").with_unit("s").build();

    // First interval: three calls, one failing.
    grpc_lookup(1).unwrap();
    grpc_lookup(2).unwrap();
    grpc_lookup(0).unwrap_err();
    latency.record(0.25, &[KeyValue::new("function", "meter-api")]);
    guard.flush().unwrap();
    let first =
        wait_for_metrics(&session, |r| !points(r, "function.calls.duration", "histogram", "grpc_lookup").is_empty());
    let durations = points(&first, "function.calls.duration", "histogram", "grpc_lookup");
    assert_eq!(durations.len(), 1, "{first:#}");
    let duration = durations[0];
    assert_eq!(int(&duration["count"]), 3);
    assert_eq!(attribute(duration, "module"), Some("e2e_metrics_grpc"));
    assert_eq!(attribute(duration, "caller.function"), Some(""));
    let histogram = e2e_metrics_common::metrics_named(&first, "function.calls.duration")[0];
    assert_eq!(histogram["histogram"]["aggregation_temporality"], "AGGREGATION_TEMPORALITY_DELTA", "{histogram:#}");
    let spans = session.wait_for_spans(3, Duration::from_secs(10));
    assert!(check_exemplars(duration, "grpc_lookup", &spans) >= 1, "{duration:#}");
    let calls = points(&first, "function.calls", "sum", "grpc_lookup");
    let by_result: Vec<(Option<&str>, i64)> =
        calls.iter().map(|p| (attribute(p, "result"), int(&p["as_int"]))).collect();
    assert!(by_result.contains(&(Some("ok"), 2)) && by_result.contains(&(Some("error"), 1)), "{by_result:?}");
    let api = points(&first, "store.latency", "histogram", "meter-api");
    assert_eq!((api.len(), int(&api[0]["count"])), (1, 1), "{first:#}");
    assert_eq!(api[0]["sum"].as_f64(), Some(0.25));

    // Second interval: only what happened since, with its own exemplars.
    grpc_lookup(3).unwrap();
    guard.flush().unwrap();
    let both =
        wait_for_metrics(&session, |r| points(r, "function.calls.duration", "histogram", "grpc_lookup").len() >= 2);
    let durations = points(&both, "function.calls.duration", "histogram", "grpc_lookup");
    let counts: Vec<i64> = durations.iter().map(|p| int(&p["count"])).collect();
    assert_eq!(durations.len(), 2, "{counts:?} {both:#}");
    assert_eq!(int(&durations[1]["count"]), 1, "a delta counts this interval only: {counts:?}");
    let spans = session.wait_for_spans(4, Duration::from_secs(10));
    assert_eq!(check_exemplars(durations[1], "grpc_lookup", &spans), 1, "{:#}", durations[1]);
    let first_ids: Vec<String> = e2e_metrics_common::exemplars(durations[0]).into_iter().map(|e| e.span_id).collect();
    let second = &e2e_metrics_common::exemplars(durations[1])[0];
    assert!(!first_ids.contains(&second.span_id), "each exemplar is reported once under delta");
    let calls = points(&both, "function.calls", "sum", "grpc_lookup");
    let last_ok = calls.iter().rev().find(|p| attribute(p, "result") == Some("ok")).unwrap();
    assert_eq!(int(&last_ok["as_int"]), 1, "{calls:#?}");
    guard.shutdown().unwrap();
}
