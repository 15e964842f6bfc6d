//! End to end over OTLP/HTTP: an OTLP endpoint given in code sends the
//! metrics there too, with nothing else said; the real receiver
//! (ddapm-test-agent, `/v1/metrics`) gets the RED metrics of `#[traced]`
//! and the metrics API's instruments with their names, attributes, values
//! and temporality, and exemplars on the duration points that name spans
//! exported in the same run (none for unsampled calls).

#![allow(clippy::unwrap_used)]

mod e2e_metrics_common;

use std::time::Duration;

use e2e_metrics_common::{attribute, check_exemplars, exemplars, int, last_points, metrics_named, wait_for_metrics};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};
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

/// Called only under a remote parent that was not sampled.
#[traced]
fn e2e_unsampled() -> u32 {
    std::hint::black_box(7)
}

fn under_unsampled_parent<T>(f: impl FnOnce() -> T) -> T {
    let parent = SpanContext::new(
        TraceId::from_bytes([7; 16]),
        SpanId::from_bytes([7; 8]),
        TraceFlags::default(),
        true,
        TraceState::default(),
    );
    let _attached = Context::new().with_remote_span_context(parent).attach();
    f()
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
    under_unsampled_parent(|| (e2e_unsampled(), e2e_unsampled()));
    let orders = trace_runtime::meter("shop").u64_counter("orders.placed").with_unit("{order}").build();
    orders.add(4, &[KeyValue::new("function", "meter-api"), KeyValue::new("payment", "card")]);
    guard.flush().unwrap();

    let requests = wait_for_metrics(&session, |r| !last_points(r, "function.calls", "sum", "e2e_price").is_empty());

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
    // Both sampled calls of e2e_price ran in spans exported in this run;
    // the exemplars name them (one per bucket: at least one).
    let spans = session.wait_for_spans(5, Duration::from_secs(10));
    assert!(check_exemplars(durations[0], "e2e_price", &spans) >= 1, "{durations:#?}");
    let checkout = last_points(&requests, "function.calls.duration", "histogram", "e2e_checkout");
    assert!(check_exemplars(checkout[0], "e2e_checkout", &spans) >= 1, "{checkout:#?}");
    // Unsampled calls are counted but leave no exemplar.
    let unsampled = last_points(&requests, "function.calls.duration", "histogram", "e2e_unsampled");
    assert_eq!(int(&unsampled[0]["count"]), 2, "{unsampled:#?}");
    assert!(exemplars(unsampled[0]).is_empty(), "{unsampled:#?}");
    assert!(spans.iter().all(|s| s.name != "e2e_unsampled"));
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
