//! One trace across languages. The test calls a Python service; it calls a
//! traced Rust service (a real axum server with `http::server_layer()`, in
//! this process); the Rust handler calls the Python service back (reqwest
//! with `http::client_middleware()`). The receiver (ddapm-test-agent) must
//! then hold ONE trace with every span of both languages, each under the
//! right parent:
//!
//! ```text
//! py.checkout (Python, root)
//! └─ py.call (Python, client)          ── headers ──▶
//!    └─ GET /price (Rust, server)
//!       └─ quote (Rust, #[traced])
//!          └─ GET (Rust, client)        ── headers ──▶
//!             └─ py.stock (Python, server, a second process)
//! ```
//!
//! - With ddtrace (`tests/python/ddtrace_service.py`), Datadog's headers
//!   only (`x-datadog-*`, 128-bit ids through `_dd.p.tid`) on both sides,
//!   and both languages send to the agent's native intake: a Datadog user
//!   runs both tracers against one Agent, and the receiver keeps native and
//!   OTLP traffic apart, so one intake is what shows one trace (and runs
//!   Datadog's trace checks over both languages' spans). ddtrace's sampling
//!   priority (2, from a sampling rule) and its `_dd.p.dm` tag must come back
//!   to Python through the Rust hop (the callee is a second Python process,
//!   whose spans form their own chunk), and the Rust chunk's root (the
//!   server span) must carry both too.
//! - With OpenTelemetry Python (`tests/python/otel_service.py`), W3C Trace
//!   Context only, and both export OTLP/HTTP to the agent.
//!
//! Needs the Python peers: `bash .ci/install-python-peers`, then
//! `cargo test -p traced-tests --all-features --test e2e_python -- --ignored`.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::sync::Mutex;
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use serde_json::Value as Json;
use trace_runtime::propagation::Propagator;
use trace_runtime::{traced, Builder};
use traced_tests::agent::{AttrValue, ReceivedSpan, TestAgent};
use traced_tests::python::PythonService;

const RUST_SERVICE: &str = "rust-prices";
const WAIT: Duration = Duration::from_secs(30);

/// One install at a time: the provider is process-wide.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

// ------------------------------------------------------------ the Rust service

#[derive(Clone)]
struct Backend {
    client: ClientWithMiddleware,
    stock_url: String,
}

/// Asks the Python service for the stock (a client span, context injected).
#[traced]
async fn quote(backend: &Backend) -> Result<String, reqwest_middleware::Error> {
    let stock = backend.client.get(&backend.stock_url).send().await?.error_for_status()?.text().await?;
    Ok(format!("42 x {stock}"))
}

async fn price(State(backend): State<Backend>) -> String {
    quote(&backend).await.unwrap_or_else(|e| format!("error: {e}"))
}

/// Serves the Rust service on a free loopback port; returns its `/price` URL.
async fn serve_rust(stock_url: String) -> String {
    let client = ClientBuilder::new(reqwest::Client::builder().no_proxy().build().unwrap())
        .with(trace_runtime::http::client_middleware())
        .build();
    let app = Router::new()
        .route("/price", get(price))
        .with_state(Backend { client, stock_url })
        .layer(trace_runtime::http::server_layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/price", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Installs traced with `transport` and the propagators, starts the Python
/// service twice (caller and callee), runs the round trip, and stops them
/// all (flushing every side).
fn round_trip(python: &str, env: &[(&str, &str)], transport: impl FnOnce(Builder) -> Builder) {
    let builder = trace_runtime::init()
        .env_lookup(|_| None)
        .service_name(RUST_SERVICE)
        .batch_schedule_delay(Duration::from_millis(100));
    let guard = transport(builder).install().expect("install");
    let service = PythonService::start(python, env);
    // The call back goes to a second process: a tracer groups one process's
    // spans of a trace into one chunk, so only a separate process shows what
    // the Rust hop passed on (ddtrace puts priority and `_dd.p.*` tags on
    // each chunk's first span).
    let callee = PythonService::start(python, env);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let answer = runtime.block_on(async {
        let rust_url = serve_rust(format!("{}/stock", callee.url())).await;
        // The test's own call carries no trace headers: Python starts the trace.
        let checkout = format!("{}/checkout?next={rust_url}", service.url());
        let plain = reqwest::Client::builder().no_proxy().build().unwrap();
        let response = plain.get(&checkout).send().await.unwrap();
        assert!(response.status().is_success(), "{checkout}: {}", response.status());
        response.text().await.unwrap()
    });
    assert_eq!(answer, "42 x 7", "Python -> Rust -> Python answered");
    drop(runtime);
    service.stop();
    callee.stop();
    guard.shutdown().expect("every Rust span was sent");
}

// ------------------------------------------------------------ ddtrace

#[test]
#[ignore = "needs the Python peers: bash .ci/install-python-peers; run with --ignored"]
fn one_trace_with_ddtrace_through_datadog_headers() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let agent = TestAgent::start();
    let apm = agent.apm_endpoint();
    let env = [
        ("DD_TRACE_AGENT_URL", apm.as_str()),
        ("DD_SERVICE", "py-shop"),
        ("DD_TRACE_PROPAGATION_STYLE", "datadog"),
        ("DD_INSTRUMENTATION_TELEMETRY_ENABLED", "false"),
        ("DD_REMOTE_CONFIGURATION_ENABLED", "false"),
        ("DD_TRACE_STARTUP_LOGS", "false"),
        // A sampling rule keeps the trace as a user decision: priority 2,
        // decision maker `-3`, both of which must come back through Rust.
        ("DD_TRACE_SAMPLING_RULES", r#"[{"sample_rate": 1.0}]"#),
    ];
    round_trip("ddtrace_service.py", &env, |builder| {
        builder.datadog_agent_url(apm.clone()).propagators([Propagator::Datadog])
    });

    let spans = agent.wait_for_datadog_spans(6, WAIT);
    let find = |service: &str, resource: &str, kind: &str| {
        spans
            .iter()
            .find(|s| s["service"] == service && s["resource"] == resource && s["meta"]["span.kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} span {resource:?} of {service}: {spans:#?}"))
    };
    let checkout = find("py-shop", "GET /checkout", "server");
    let py_call = find("py-shop", "GET /price", "client");
    let server = find(RUST_SERVICE, "GET /price", "server");
    let quote = find(RUST_SERVICE, "quote", "internal");
    let client = find(RUST_SERVICE, "GET", "client");
    let stock = find("py-shop", "GET /stock", "server");
    let id = |span: &Json, field: &str| span[field].as_u64().unwrap_or_else(|| panic!("{field} in {span:#}"));

    // One trace: the low 64 bits everywhere, the high 64 in `_dd.p.tid`.
    let hops = [checkout, py_call, server, quote, client, stock];
    for span in hops {
        assert_eq!(id(span, "trace_id"), id(checkout, "trace_id"), "one trace id: {span:#}");
    }
    let tid = checkout["meta"]["_dd.p.tid"].as_str().expect("ddtrace makes 128-bit trace ids");
    assert_eq!(tid.len(), 16);
    for span in [server, quote, client, stock] {
        assert_eq!(span["meta"]["_dd.p.tid"].as_str(), Some(tid), "the same upper 64 bits: {span:#}");
    }

    // Each hop under the span that called it.
    assert_eq!(id(checkout, "parent_id"), 0, "Python starts the trace");
    for (child, parent) in [(py_call, checkout), (server, py_call), (quote, server), (client, quote), (stock, client)] {
        assert_eq!(id(child, "parent_id"), id(parent, "span_id"), "{child:#}\nhangs under\n{parent:#}");
    }
    // Datadog's trace state came back through Rust: the priority ddtrace's
    // rule set (2, user keep) and its propagated `_dd.p.dm`.
    let priority = |span: &Json| span["metrics"]["_sampling_priority_v1"].as_f64();
    assert_eq!(priority(checkout), Some(2.0), "ddtrace's rule keeps the trace: {checkout:#}");
    assert_eq!(priority(stock), Some(2.0), "the priority reached Python again: {stock:#}");
    let dm = checkout["meta"]["_dd.p.dm"].as_str().expect("ddtrace sets the decision maker");
    assert_eq!(stock["meta"]["_dd.p.dm"].as_str(), Some(dm), "`_dd.p.dm` reached Python again: {stock:#}");
    // The Rust chunk's root (its local root, the server span) carries the
    // same decisions to the Agent, not a priority of its own.
    assert_eq!(priority(server), Some(2.0), "the caller's priority on the Rust spans: {server:#}");
    assert_eq!(server["meta"]["_dd.p.dm"].as_str(), Some(dm), "the caller's decision maker: {server:#}");
    // Datadog's own checks pass on both languages' spans.
    agent.trace_check_failures().expect("no trace check failed");
}

// ------------------------------------------------------------ OpenTelemetry Python

#[test]
#[ignore = "needs the Python peers: bash .ci/install-python-peers; run with --ignored"]
fn one_trace_with_opentelemetry_python_through_w3c_headers() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let agent = TestAgent::start();
    let traces = agent.otlp_http_traces_endpoint();
    let env = [
        ("OTEL_SERVICE_NAME", "py-shop"),
        ("OTEL_PROPAGATORS", "tracecontext"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces.as_str()),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
    ];
    round_trip("otel_service.py", &env, |builder| {
        builder.otlp_endpoint(agent.otlp_http_endpoint()).propagators([Propagator::TraceContext])
    });

    let spans = agent.wait_for_spans(6, WAIT);
    let find = |service: &str, name: &str, kind: &str| {
        spans
            .iter()
            .find(|s| {
                s.name == name
                    && s.kind == kind
                    && s.resource_attr("service.name").and_then(AttrValue::as_str) == Some(service)
            })
            .unwrap_or_else(|| panic!("no {kind} span {name:?} of {service}: {spans:#?}"))
    };
    let checkout = find("py-shop", "py.checkout", "server");
    let py_call = find("py-shop", "py.call", "client");
    let server = find(RUST_SERVICE, "GET /price", "server");
    let quote = find(RUST_SERVICE, "quote", "internal");
    let client = find(RUST_SERVICE, "GET", "client");
    let stock = find("py-shop", "py.stock", "server");

    let hops: [&ReceivedSpan; 6] = [checkout, py_call, server, quote, client, stock];
    assert_eq!(checkout.trace_id.len(), 32);
    for span in hops {
        assert_eq!(span.trace_id, checkout.trace_id, "one 128-bit trace id: {span:#?}");
    }
    assert_eq!(checkout.parent_span_id, None, "Python starts the trace");
    for (child, parent) in [(py_call, checkout), (server, py_call), (quote, server), (client, quote), (stock, client)] {
        assert_eq!(
            child.parent_span_id.as_deref(),
            Some(parent.span_id.as_str()),
            "{} under {}",
            child.name,
            parent.name
        );
    }
    assert_eq!(server.flags & 0x300, 0x300, "the Rust server's parent is remote: {:#x}", server.flags);
    assert_eq!(quote.flags & 0x300, 0x100, "quote's parent is local: {:#x}", quote.flags);
}
