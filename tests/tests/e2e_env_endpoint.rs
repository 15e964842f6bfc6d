//! Own binary: sets process environment variables and installs the runtime.
//!
//! No code change: `init().install()` with nothing but `OTEL_*` variables in
//! the process environment ships spans to the OTLP endpoint they name, with
//! the service name, resource attributes and headers they give.
//!
//! The only test in its file: it sets real environment variables, which are
//! process-wide.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

mod e2e_common;

use e2e_common::{caller, check_trace, handle_order, wait_for_case, ENVIRONMENT, SERVICE, VERSION};
use traced_tests::agent::{AttrValue, TestAgent};

#[test]
fn otel_variables_alone_configure_export() {
    let agent = TestAgent::start();
    let session = agent.session();
    let (header, token) = session.header();
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", agent.otlp_http_endpoint());
    std::env::set_var("OTEL_SERVICE_NAME", SERVICE);
    std::env::set_var(
        "OTEL_RESOURCE_ATTRIBUTES",
        format!("service.version={VERSION},deployment.environment.name={ENVIRONMENT},team=pay%20ments"),
    );
    std::env::set_var("OTEL_EXPORTER_OTLP_HEADERS", format!("{header}={token}"));
    std::env::set_var("OTEL_EXPORTER_OTLP_TIMEOUT", "5000");
    std::env::set_var("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
    std::env::set_var("OTEL_TRACES_SAMPLER", "parentbased_always_on");
    std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "100");

    let guard = trace_runtime::init().install().expect("install from the environment");
    trace_runtime::set_global_tag("deployment.region", "eu-test");
    handle_order("env-only", 42).unwrap();
    // The caller's trace continues through headers as well.
    let (traceparent, trace_id, span_id) = caller(0x44);
    let headers = std::collections::HashMap::from([("traceparent".to_owned(), traceparent)]);
    trace_runtime::propagation::in_remote_context(&headers, || handle_order("env-only-remote", 42)).unwrap();
    guard.shutdown().expect("clean shutdown");

    let trace = wait_for_case("env-only", || session.spans());
    check_trace(&trace, None);
    let root = &trace["GET /orders/{id}"];
    assert_eq!(root.resource_attr("team").and_then(AttrValue::as_str), Some("pay ments"));
    let trace = wait_for_case("env-only-remote", || session.spans());
    check_trace(&trace, Some((&trace_id, &span_id)));
}
