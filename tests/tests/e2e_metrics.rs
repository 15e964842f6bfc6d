//! End to end over OTLP/HTTP: an OTLP endpoint given in code sends the
//! metrics there too, with nothing else said; the real receiver
//! (ddapm-test-agent, `/v1/metrics`) gets the RED metrics of `#[traced]`
//! and the metrics API's instruments with their names, attributes, values
//! and temporality.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use serde_json::Value as Json;
use trace_runtime::traced;
use traced_tests::agent::TestAgent;

#[traced]
fn e2e_checkout(items: u32) -> Result<u32, std::io::Error> {
    if items == 0 {
        return Err(std::io::Error::other("empty cart"));
    }
    e2e_price(items);
    Ok(items)
}

#[traced]
fn e2e_price(items: u32) -> u32 {
    items * 3
}

/// Every metric of every request, flattened: (name, metric JSON).
fn metrics_named<'a>(requests: &'a Json, name: &str) -> Vec<&'a Json> {
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

fn attribute<'a>(point: &'a Json, key: &str) -> Option<&'a str> {
    point["attributes"].as_array()?.iter().find(|kv| kv["key"] == key)?["value"]["string_value"].as_str()
}

/// The data points of the last export of `name` whose `function` is `function`.
fn last_points<'a>(requests: &'a Json, name: &str, kind: &str, function: &str) -> Vec<&'a Json> {
    let Some(metric) = metrics_named(requests, name).last().copied() else { return Vec::new() };
    metric[kind]["data_points"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| attribute(p, "function") == Some(function))
        .collect()
}

fn int(value: &Json) -> i64 {
    match value {
        Json::String(s) => s.parse().unwrap(),
        other => other.as_i64().unwrap(),
    }
}

#[test]
fn red_metrics_and_the_meter_api_arrive_over_otlp_http() {
    let agent = TestAgent::shared();
    let session = agent.session();
    let (header, token) = session.header();
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .service_name("metrics-e2e")
        .otlp_endpoint(agent.otlp_http_endpoint())
        .otlp_header(header, token)
        .install()
        .unwrap();
    let config_is_http = trace_runtime::init().otlp_endpoint(agent.otlp_http_endpoint()).resolve().unwrap();
    assert_eq!(config_is_http.metrics.otlp.unwrap().endpoint, format!("{}/v1/metrics", agent.otlp_http_endpoint()));

    e2e_checkout(2).unwrap();
    e2e_checkout(5).unwrap();
    e2e_checkout(0).unwrap_err();
    let orders = trace_runtime::meter("shop").u64_counter("orders.placed").with_unit("{order}").build();
    orders.add(4, &[KeyValue::new("function", "meter-api"), KeyValue::new("payment", "card")]);
    guard.flush().unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    let requests = loop {
        let requests = session.metrics();
        if !last_points(&requests, "function.calls", "sum", "e2e_price").is_empty() || Instant::now() > deadline {
            break requests;
        }
        std::thread::sleep(Duration::from_millis(50));
    };

    let calls = metrics_named(&requests, "function.calls");
    let calls = calls.last().unwrap_or_else(|| panic!("no function.calls in {requests:#}"));
    assert_eq!(calls["sum"]["aggregation_temporality"], "AGGREGATION_TEMPORALITY_CUMULATIVE", "{calls:#}");
    assert_eq!(calls["sum"]["is_monotonic"], true);
    assert_eq!(calls["unit"], "{call}");
    let checkout = last_points(&requests, "function.calls", "sum", "e2e_checkout");
    let by_result: Vec<(Option<&str>, i64)> =
        checkout.iter().map(|p| (attribute(p, "result"), int(&p["as_int"]))).collect();
    assert!(by_result.contains(&(Some("ok"), 2)) && by_result.contains(&(Some("error"), 1)), "{checkout:#?}");
    for point in &checkout {
        assert_eq!(attribute(point, "module"), Some("e2e_metrics"));
        assert_eq!(attribute(point, "caller.function"), Some(""));
    }
    let price = last_points(&requests, "function.calls", "sum", "e2e_price");
    assert_eq!(price.len(), 1, "{price:#?}");
    assert_eq!(attribute(price[0], "caller.function"), Some("e2e_checkout"));
    assert_eq!(attribute(price[0], "caller.module"), Some("e2e_metrics"));
    assert_eq!(int(&price[0]["as_int"]), 2);

    let durations = last_points(&requests, "function.calls.duration", "histogram", "e2e_price");
    assert_eq!(durations.len(), 1, "{durations:#?}");
    assert_eq!(int(&durations[0]["count"]), 2);
    let bounds: Vec<f64> =
        durations[0]["explicit_bounds"].as_array().unwrap().iter().map(|b| b.as_f64().unwrap()).collect();
    assert_eq!(bounds, trace_runtime::metrics::DURATION_BOUNDARIES.to_vec());
    let histogram = metrics_named(&requests, "function.calls.duration");
    assert_eq!(histogram.last().unwrap()["unit"], "s");

    let in_progress = last_points(&requests, "function.calls.concurrent", "sum", "e2e_checkout");
    assert_eq!(in_progress.len(), 1, "{in_progress:#?}");
    assert_eq!(int(&in_progress[0]["as_int"]), 0);

    let placed = last_points(&requests, "orders.placed", "sum", "meter-api");
    assert_eq!(placed.len(), 1, "{requests:#}");
    assert_eq!(int(&placed[0]["as_int"]), 4);
    assert_eq!(attribute(placed[0], "payment"), Some("card"));

    let resource = &requests[0]["resource_metrics"][0]["resource"];
    assert!(resource.to_string().contains("metrics-e2e"), "{resource:#}");
    guard.shutdown().unwrap();
}
