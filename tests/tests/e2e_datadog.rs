//! Own binary: installs the runtime, once per child process.
//!
//! The native Datadog exporter against Datadog's test agent, on its native
//! intake (`/v0.4/traces`, msgpack) with its trace checks on: a
//! representative trace passes every check, decodes to the fields Datadog's
//! OTLP ingestion would give, and matches the committed snapshot
//! (`tests/snapshots/datadog_representative_trace.json`); the variables
//! alone (`OTEL_TRACES_EXPORTER=datadog`, `DD_*`) configure the same; a dead
//! or failing agent costs counted spans and a bounded shutdown.
//!
//! Each scenario installs tracing in a child process (this binary again,
//! one test selected): its install and its environment are its own.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::KeyValue;
use serde_json::Value as Json;
use trace_runtime::traced;
use traced_tests::agent::TestAgent;

const CHILD: &str = "TRACED_DATADOG_CHILD";
const AGENT_URL: &str = "TRACED_DATADOG_AGENT_URL";
const WAIT: Duration = Duration::from_secs(15);
/// The caller's 128-bit trace id and span id (a W3C `traceparent`).
const TRACE_ID: &str = "5b8efff798038103d269b633813fc60c";
const REMOTE_PARENT: &str = "eee19b7ec3c1b174";
const STACK: &str = "0: checkout::charge\n   at src/charge.rs:12\n1: checkout::handle_order\n   at src/orders.rs:40";

#[derive(Debug)]
struct InvalidOrder;

impl std::fmt::Display for InvalidOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("quantity must be positive")
    }
}

impl std::error::Error for InvalidOrder {}

#[traced(
    name = "GET /orders/{id}",
    kind = server,
    attrs("operation.name" = "http.server.request", "http.request.method" = "GET", "http.route" = "/orders/{id}", "http.response.status_code" = 200)
)]
fn handle_order(id: u64) {
    let order = load_order(id);
    let _ = charge(order);
    let _ = validate(0);
}

#[traced(
    service = "orders-db",
    attrs(
        "operation.name" = "postgres.query",
        "resource.name" = "SELECT * FROM orders WHERE id = ?",
        "span.type" = "sql",
        "db.system.name" = "postgresql",
        "db.response.returned_rows" = 1,
        "cache.hit" = false,
        "order.tags" = ["rush", "gift"]
    )
)]
fn load_order(id: u64) -> opentelemetry::trace::SpanContext {
    let span = trace_runtime::current_span();
    span.add_event("cache.miss", [KeyValue::new("key", format!("order:{id}")), KeyValue::new("attempt", 1_i64)]);
    span.span_context()
}

/// A client call that fails, recorded by hand with its stack (the exception
/// event a backend reads), linked to the lookup it retried.
fn charge(order: opentelemetry::trace::SpanContext) -> Result<(), ()> {
    let _guard = trace_runtime::span("charge")
        .kind(SpanKind::Client)
        .service("payments")
        .attribute("operation.name", "payments.charge")
        .attribute("resource.name", "POST /charges")
        .attribute("amount.cents", 1250.5)
        .enter();
    let span = trace_runtime::current_span();
    span.add_link(order, vec![KeyValue::new("link.reason", "order lookup")]);
    span.add_event(
        "exception",
        [
            KeyValue::new("exception.type", "checkout::CardDeclined"),
            KeyValue::new("exception.message", "card declined"),
            KeyValue::new("exception.stacktrace", STACK),
        ],
    );
    span.set_status(Status::error("card declined"));
    Err(())
}

#[traced(attrs("operation.name" = "validate"))]
fn validate(quantity: i64) -> Result<(), InvalidOrder> {
    if quantity > 0 {
        Ok(())
    } else {
        Err(InvalidOrder)
    }
}

/// Runs scenario `name` in a child process with `vars`; returns its stderr.
fn run_child(name: &str, vars: &[(&str, String)]) -> String {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "child {name} failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "child {name} ran no test:\n{stdout}");
    stderr
}

fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// The representative trace, under the caller's remote context.
fn send_representative_trace() {
    let headers = HashMap::from([("traceparent".to_owned(), format!("00-{TRACE_ID}-{REMOTE_PARENT}-01"))]);
    trace_runtime::propagation::in_remote_context(&headers, || handle_order(42));
}

#[test]
fn child_sends_the_representative_trace() {
    if !in_child() {
        return;
    }
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .service_name("checkout")
        .service_version("1.4.2")
        .environment("test")
        .datadog_agent_url(std::env::var(AGENT_URL).unwrap())
        .batch_schedule_delay(Duration::from_millis(50))
        .install()
        .unwrap();
    send_representative_trace();
    guard.shutdown().unwrap();
    assert_eq!(trace_runtime::lost_spans(), 0);
}

fn by_name(spans: &[Json]) -> HashMap<String, Json> {
    spans.iter().map(|s| (s["resource"].as_str().unwrap().to_owned(), s.clone())).collect()
}

fn meta<'a>(span: &'a Json, key: &str) -> Option<&'a str> {
    span["meta"][key].as_str()
}

fn metric(span: &Json, key: &str) -> Option<f64> {
    span["metrics"][key].as_f64()
}

#[test]
fn a_representative_trace_passes_the_checks_and_matches_its_snapshot() {
    if in_child() {
        return;
    }
    let agent = TestAgent::start();
    run_child("child_sends_the_representative_trace", &[(AGENT_URL, agent.apm_endpoint())]);
    let spans = agent.wait_for_datadog_spans(4, WAIT);
    assert_eq!(spans.len(), 4, "{spans:#?}");

    agent.trace_check_failures().unwrap();
    let summary = agent.trace_check_summary();
    for check in ["trace_count_header", "meta_tracer_version_header", "trace_content_length"] {
        let passed = summary[check]["Passed_Checks"].as_u64().unwrap_or(0);
        assert!(passed > 0, "check {check} did not run: {summary:#}");
    }

    let spans = by_name(&spans);
    let low = u64::from_str_radix(&TRACE_ID[16..], 16).unwrap();
    let root = &spans["GET /orders/{id}"];
    let lookup = &spans["SELECT * FROM orders WHERE id = ?"];
    let charge = &spans["POST /charges"];
    let validate = &spans["validate"];
    let root_id = root["span_id"].as_u64().unwrap();
    for span in [root, lookup, charge, validate] {
        assert_eq!(span["trace_id"].as_u64(), Some(low), "64 low bits of the trace id: {span:#}");
        assert_eq!(meta(span, "_dd.p.tid"), Some(&TRACE_ID[..16]), "high bits: {span:#}");
        assert_eq!(meta(span, "env"), Some("test"));
        assert_eq!(meta(span, "version"), Some("1.4.2"));
        assert!(span["duration"].as_i64().unwrap() >= 0 && span["start"].as_i64().unwrap() > 0);
    }
    // The root continues the caller's trace.
    assert_eq!(root["parent_id"].as_u64(), Some(u64::from_str_radix(REMOTE_PARENT, 16).unwrap()));
    assert_eq!(root["service"], "checkout");
    assert_eq!(root["name"], "http.server.request");
    assert_eq!(root["type"], "web");
    assert_eq!(root["error"], 0);
    assert_eq!(meta(root, "span.kind"), Some("server"));
    assert_eq!(metric(root, "http.response.status_code"), Some(200.0));
    assert_eq!(metric(root, "_sampling_priority_v1"), Some(1.0));
    assert_eq!(meta(root, "_dd.p.dm"), Some("-0"), "decided here (no Datadog caller): the default mechanism");
    assert_eq!(metric(root, "_dd.top_level"), Some(1.0));

    assert_eq!(lookup["parent_id"].as_u64(), Some(root_id));
    assert_eq!(lookup["service"], "orders-db", "per-span service");
    assert_eq!(lookup["name"], "postgres.query");
    assert_eq!(lookup["type"], "sql");
    assert_eq!(meta(lookup, "db.system.name"), Some("postgresql"));
    assert_eq!(meta(lookup, "cache.hit"), Some("false"));
    assert_eq!(meta(lookup, "order.tags"), Some(r#"["rush","gift"]"#));
    assert_eq!(metric(lookup, "db.response.returned_rows"), Some(1.0));
    assert_eq!(metric(lookup, "_dd.top_level"), Some(1.0), "another service than its parent");
    assert!(metric(lookup, "_sampling_priority_v1").is_none(), "not a local root");
    assert!(meta(lookup, "_dd.p.dm").is_none(), "trace-level tags only on the chunk root");
    let events: Json = serde_json::from_str(meta(lookup, "events").unwrap()).unwrap();
    assert_eq!(events[0]["name"], "cache.miss");
    assert_eq!(events[0]["attributes"]["key"], "order:42");
    assert_eq!(events[0]["attributes"]["attempt"], 1);

    assert_eq!(charge["service"], "payments");
    assert_eq!(charge["name"], "payments.charge");
    assert_eq!(charge["type"], "http", "a client span");
    assert_eq!(charge["error"], 1);
    assert_eq!(meta(charge, "error.message"), Some("card declined"));
    assert_eq!(meta(charge, "error.type"), Some("checkout::CardDeclined"));
    assert_eq!(meta(charge, "error.stack"), Some(STACK));
    assert_eq!(metric(charge, "amount.cents"), Some(1250.5));
    let links: Json = serde_json::from_str(meta(charge, "_dd.span_links").unwrap()).unwrap();
    assert_eq!(links[0]["trace_id"], TRACE_ID, "128-bit link trace id");
    assert_eq!(links[0]["span_id"], format!("{:016x}", lookup["span_id"].as_u64().unwrap()));
    assert_eq!(links[0]["attributes"]["link.reason"], "order lookup");

    assert_eq!(validate["service"], "checkout");
    assert_eq!(validate["error"], 1);
    assert_eq!(validate["type"], "custom");
    assert_eq!(meta(validate, "error.message"), Some("quantity must be positive"));
    assert!(meta(validate, "error.type").is_some_and(|t| t.contains("InvalidOrder")), "{validate:#}");

    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots/datadog_representative_trace");
    agent
        .datadog_snapshot(
            &snapshot,
            // Values that change on every run: the full trace id, the code
            // location lines, the tracer version.
            &["meta.otel.trace_id", "metrics.code.line.number", "meta.otel.library.version"],
            // Ids and times inside the link and event JSON.
            &["time:\"time_unix_nano\":[0-9]+", "hex32:[0-9a-f]{32}", "hex16:[0-9a-f]{16}"],
        )
        .unwrap();
}

#[test]
fn child_configured_by_variables_alone() {
    if !in_child() {
        return;
    }
    let guard = trace_runtime::init().install().unwrap();
    validate(1).unwrap();
    guard.shutdown().unwrap();
    assert_eq!(trace_runtime::lost_spans(), 0);
}

#[test]
fn the_variables_alone_send_natively() {
    if in_child() {
        return;
    }
    let agent = TestAgent::start();
    run_child(
        "child_configured_by_variables_alone",
        &[
            ("OTEL_TRACES_EXPORTER", "datadog".to_owned()),
            ("DD_TRACE_AGENT_URL", agent.apm_endpoint()),
            ("DD_SERVICE", "billing".to_owned()),
            ("DD_ENV", "staging".to_owned()),
            ("DD_VERSION", "2.0.1".to_owned()),
            ("DD_TAGS", "team:payments,tier:web".to_owned()),
            ("OTEL_BSP_SCHEDULE_DELAY", "50".to_owned()),
        ],
    );
    let spans = agent.wait_for_datadog_spans(1, WAIT);
    agent.trace_check_failures().unwrap();
    let span = &spans[0];
    assert_eq!(span["service"], "billing");
    assert_eq!(span["name"], "validate");
    assert_eq!(meta(span, "env"), Some("staging"));
    assert_eq!(meta(span, "version"), Some("2.0.1"));
    assert_eq!(meta(span, "team"), Some("payments"));
    assert_eq!(meta(span, "tier"), Some("web"));
    assert_eq!(metric(span, "_sampling_priority_v1"), Some(1.0));
}

const BOUND: Duration = Duration::from_secs(1);

#[test]
fn child_sends_to_a_failing_agent() {
    if !in_child() {
        return;
    }
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .service_name("dead-agent")
        .datadog_agent_url(std::env::var(AGENT_URL).unwrap())
        .batch_schedule_delay(Duration::from_millis(50))
        .shutdown_timeout(BOUND)
        .install()
        .unwrap();
    for _ in 0..50 {
        validate(1).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let result = guard.shutdown();
    let took = started.elapsed();
    // Generous slack over the bound for a loaded machine.
    assert!(took < BOUND + Duration::from_secs(3), "shutdown took {took:?}");
    assert_eq!(trace_runtime::lost_spans() + trace_runtime::pending_spans(), 50, "{result:?}");
}

#[test]
fn a_dead_agent_costs_counted_spans_and_a_bounded_shutdown() {
    if in_child() {
        return;
    }
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let stderr = run_child("child_sends_to_a_failing_agent", &[(AGENT_URL, format!("http://127.0.0.1:{port}"))]);
    // Reported at once, with the exporter, the count and the real cause.
    let first = format!("export to Datadog Agent http://127.0.0.1:{port}/v0.4/traces failed, 50 spans lost");
    assert!(stderr.contains(&first), "{stderr}");
    assert!(stderr.contains("Connection refused"), "{stderr}");
}

#[test]
fn an_agent_that_refuses_says_its_status() {
    if in_child() {
        return;
    }
    // The test agent's OTLP port has no /v0.4/traces: every export is a 404.
    let agent = TestAgent::start();
    let stderr = run_child("child_sends_to_a_failing_agent", &[(AGENT_URL, agent.otlp_http_endpoint())]);
    assert!(stderr.contains("spans lost: the Agent answered HTTP 404 Not Found"), "{stderr}");
}
