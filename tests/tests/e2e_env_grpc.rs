//! Own binary: sets process environment variables and installs the runtime.
//!
//! `OTEL_EXPORTER_OTLP_PROTOCOL=grpc` and `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
//! in the process environment switch `init().install()` to OTLP/gRPC, with
//! no code change.
//!
//! The only test in its file: it sets real environment variables.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

mod e2e_common;

use e2e_common::{check_trace, handle_order, wait_for_case, ENVIRONMENT, SERVICE, VERSION};
use traced_tests::agent::TestAgent;

#[test]
fn otel_variables_select_grpc() {
    let agent = TestAgent::start();
    let session = agent.session();
    let (header, token) = session.header();
    std::env::set_var("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
    std::env::set_var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", agent.otlp_grpc_endpoint());
    std::env::set_var("OTEL_EXPORTER_OTLP_TRACES_HEADERS", format!("{}={token}", header.to_ascii_lowercase()));
    std::env::set_var("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "5000");
    std::env::set_var("OTEL_SERVICE_NAME", SERVICE);
    std::env::set_var(
        "OTEL_RESOURCE_ATTRIBUTES",
        format!("service.version={VERSION},deployment.environment.name={ENVIRONMENT}"),
    );

    let config = trace_runtime::init().resolve().expect("valid environment");
    assert_eq!(config.otlp.as_ref().map(|o| o.protocol), Some(trace_runtime::Protocol::Grpc));

    let guard = trace_runtime::init().install().expect("install from the environment");
    trace_runtime::set_global_tag("deployment.region", "eu-test");
    handle_order("env-grpc", 42).unwrap();
    guard.shutdown().expect("clean shutdown");

    let trace = wait_for_case("env-grpc", || session.spans());
    check_trace(&trace, None);
}
