//! Own binary: installs the runtime (the provider is process-wide).
//!
//! Over OTLP to a real receiver (ddapm-test-agent): an internal span carries
//! `operation.name` = its name (Datadog's intake would otherwise call its
//! operation `internal`), with ddtrace's `resource.name` and `span.type`;
//! a server span keeps Datadog's derived operation name (no attribute).

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::time::{Duration, Instant};

use trace_runtime::traced;
use traced_tests::agent::{AttrValue, TestAgent};

#[traced(kind = server, name = "GET /names")]
fn serve() {
    render();
}

#[traced(resource = "template:orders", span_type = "template")]
fn render() {}

#[test]
fn internal_spans_carry_their_operation_name() {
    let agent = TestAgent::shared();
    let session = agent.session();
    let (header, token) = session.header();
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .service_name("names")
        .otlp_endpoint(agent.otlp_http_endpoint())
        .otlp_header(header, token)
        .install()
        .unwrap();
    serve();
    guard.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let spans = loop {
        let spans = session.spans();
        if spans.len() >= 2 || Instant::now() > deadline {
            break spans;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let render = spans.iter().find(|s| s.name == "render").expect("render arrived");
    assert_eq!(render.attr("operation.name").and_then(AttrValue::as_str), Some("render"));
    assert_eq!(render.attr("resource.name").and_then(AttrValue::as_str), Some("template:orders"));
    assert_eq!(render.attr("span.type").and_then(AttrValue::as_str), Some("template"));
    let server = spans.iter().find(|s| s.name == "GET /names").expect("server span arrived");
    assert!(server.attr("operation.name").is_none());
}
