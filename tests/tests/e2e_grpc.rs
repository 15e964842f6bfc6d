//! Own binary: installs the runtime (the provider is process-wide).
//!
//! End to end over OTLP/gRPC (cargo feature `grpc`, gzip): the same workload
//! and checks as `e2e_http.rs`, sent with tonic from the exporter's own
//! runtime thread (the test itself runs no async runtime), to a real
//! receiver (ddapm-test-agent's gRPC port).

#![allow(clippy::unwrap_used)] // a panic is how a test reports

mod e2e_common;

use std::sync::OnceLock;

use e2e_common::{caller, check_trace, handle_order, wait_for_case, Setup};
use trace_runtime::{propagation, Protocol};

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        e2e_common::install(|builder, agent| {
            builder.otlp_protocol(Protocol::Grpc).otlp_endpoint(agent.otlp_grpc_endpoint())
        })
    })
}

#[test]
fn every_field_arrives_over_grpc() {
    let setup = setup();
    handle_order("grpc-new-trace", 42).unwrap();
    setup.guard.flush().expect("flushed");
    let trace = wait_for_case("grpc-new-trace", || setup.session.spans());
    check_trace(&trace, None);
}

#[test]
fn a_remote_parent_is_continued_over_grpc() {
    let setup = setup();
    let (traceparent, trace_id, span_id) = caller(0x33);
    let mut headers = http::HeaderMap::new();
    headers.insert("traceparent", traceparent.parse().unwrap());
    let _remote = propagation::attach(&headers);
    handle_order("grpc-remote-parent", 42).unwrap();
    setup.guard.flush().expect("flushed");
    let trace = wait_for_case("grpc-remote-parent", || setup.session.spans());
    check_trace(&trace, Some((&trace_id, &span_id)));
}

#[test]
fn grpc_export_works_from_inside_an_async_runtime_too() {
    let setup = setup();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    runtime.block_on(async {
        handle_order("grpc-in-tokio", 42).unwrap();
        // Flushing blocks; do it where blocking is allowed.
        tokio::task::spawn_blocking(|| setup.guard.flush().expect("flushed")).await.unwrap();
    });
    let trace = wait_for_case("grpc-in-tokio", || setup.session.spans());
    check_trace(&trace, None);
}
