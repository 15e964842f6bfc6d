//! Reading what the real receiver (ddapm-test-agent) got over OTLP metrics:
//! its `/test/session/metrics` gives every `ExportMetricsServiceRequest` as
//! protobuf's JSON mapping (proto field names, int64 as strings, ids in base64).

#![allow(dead_code, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::Value as Json;
use traced_tests::agent::{id_hex, ReceivedSpan, Session};

/// Every metric called `name`, in arrival order.
pub(crate) fn metrics_named<'a>(requests: &'a Json, name: &str) -> Vec<&'a Json> {
    let mut out = Vec::new();
    for request in requests.as_array().into_iter().flatten() {
        for rm in request["resource_metrics"].as_array().into_iter().flatten() {
            for sm in rm["scope_metrics"].as_array().into_iter().flatten() {
                for metric in sm["metrics"].as_array().into_iter().flatten() {
                    if metric["name"] == name {
                        out.push(metric);
                    }
                }
            }
        }
    }
    out
}

pub(crate) fn attribute<'a>(point: &'a Json, key: &str) -> Option<&'a str> {
    point["attributes"].as_array()?.iter().find(|kv| kv["key"] == key)?["value"]["string_value"].as_str()
}

/// The data points of every export of `name` (`kind`: `sum`, `histogram`)
/// whose `function` is `function`, oldest first (by their time: the agent
/// lists the newest request first).
pub(crate) fn points<'a>(requests: &'a Json, name: &str, kind: &str, function: &str) -> Vec<&'a Json> {
    let mut points: Vec<&Json> = metrics_named(requests, name)
        .into_iter()
        .flat_map(|metric| metric[kind]["data_points"].as_array().into_iter().flatten())
        .filter(|p| attribute(p, "function") == Some(function))
        .collect();
    points.sort_by_key(|p| int(&p["time_unix_nano"]));
    points
}

/// The data points of the last export of `name` whose `function` is `function`.
pub(crate) fn last_points<'a>(requests: &'a Json, name: &str, kind: &str, function: &str) -> Vec<&'a Json> {
    let Some(metric) = metrics_named(requests, name).last().copied() else { return Vec::new() };
    metric[kind]["data_points"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| attribute(p, "function") == Some(function))
        .collect()
}

pub(crate) fn int(value: &Json) -> i64 {
    match value {
        Json::String(s) => s.parse().unwrap(),
        other => other.as_i64().unwrap(),
    }
}

/// The session's metrics once `ready` holds for them (or after 10 s).
pub(crate) fn wait_for_metrics(session: &Session<'_>, ready: impl Fn(&Json) -> bool) -> Json {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let requests = session.metrics();
        if ready(&requests) || Instant::now() > deadline {
            return requests;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An exemplar as received: (trace id hex, span id hex, value in seconds).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Exemplar {
    pub(crate) trace_id: String,
    pub(crate) span_id: String,
    pub(crate) value: f64,
    pub(crate) time_unix_nano: u64,
}

pub(crate) fn exemplars(point: &Json) -> Vec<Exemplar> {
    point["exemplars"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| Exemplar {
            trace_id: id_hex(&e["trace_id"]),
            span_id: id_hex(&e["span_id"]),
            value: e["as_double"].as_f64().unwrap(),
            time_unix_nano: int(&e["time_unix_nano"]).try_into().unwrap(),
        })
        .collect()
}

/// Checks that every exemplar of a duration point is a real call of
/// `function`: its ids are a span of that name exported in this run, and
/// its value lies in a bucket the point counts.
pub(crate) fn check_exemplars(point: &Json, function: &str, spans: &[ReceivedSpan]) -> usize {
    let bounds: Vec<f64> = point["explicit_bounds"].as_array().unwrap().iter().map(|b| b.as_f64().unwrap()).collect();
    let counts: Vec<i64> = point["bucket_counts"].as_array().unwrap().iter().map(int).collect();
    let found = exemplars(point);
    for exemplar in &found {
        assert_eq!(exemplar.trace_id.len(), 32, "{exemplar:?}");
        assert_eq!(exemplar.span_id.len(), 16, "{exemplar:?}");
        assert_ne!(exemplar.trace_id, "0".repeat(32));
        assert_ne!(exemplar.span_id, "0".repeat(16));
        let span = spans
            .iter()
            .find(|s| s.trace_id == exemplar.trace_id && s.span_id == exemplar.span_id)
            .unwrap_or_else(|| panic!("exemplar {exemplar:?} of {function} names no exported span"));
        assert_eq!(span.name, function, "{exemplar:?}");
        assert!(exemplar.value > 0.0 && exemplar.time_unix_nano > 0, "{exemplar:?}");
        let bucket = bounds.partition_point(|b| *b < exemplar.value);
        assert!(counts[bucket] > 0, "exemplar {exemplar:?} in empty bucket {bucket} of {counts:?}");
    }
    found.len()
}
