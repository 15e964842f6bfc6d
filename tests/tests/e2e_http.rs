//! Own binary: installs the runtime (the provider is process-wide).
//!
//! End to end over OTLP/HTTP (protobuf, gzip): `init()` with an OTLP
//! endpoint in code, traced code, and what a real receiver
//! (ddapm-test-agent) got: resource, names, ids, kinds, typed attributes,
//! events, status, links, global tags, per-span service, remote parents.
//!
//! One install for the whole file (the provider is process-wide); each test
//! finds its own trace by a `test.case` attribute, so they run in parallel.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

mod e2e_common;

use std::collections::HashMap;
use std::sync::OnceLock;

use e2e_common::{caller, check_trace, handle_order, wait_for_case, Setup};
use trace_runtime::propagation;

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| e2e_common::install(|builder, agent| builder.otlp_endpoint(agent.otlp_http_endpoint())))
}

#[test]
fn every_field_arrives_over_http() {
    let setup = setup();
    handle_order("http-new-trace", 42).unwrap();
    setup.guard.flush().expect("flushed");
    let trace = wait_for_case("http-new-trace", || setup.session.spans());
    check_trace(&trace, None);
}

#[test]
fn a_remote_parent_from_http_headers_is_continued() {
    let setup = setup();
    let (traceparent, trace_id, span_id) = caller(0x11);
    let mut headers = http::HeaderMap::new();
    headers.insert("traceparent", traceparent.parse().unwrap());
    headers.insert("tracestate", "vendor=opaque".parse().unwrap());
    propagation::in_remote_context(&headers, || handle_order("http-remote-parent", 42)).unwrap();
    setup.guard.flush().expect("flushed");
    let trace = wait_for_case("http-remote-parent", || setup.session.spans());
    check_trace(&trace, Some((&trace_id, &span_id)));
    assert_eq!(trace["GET /orders/{id}"].trace_state, "vendor=opaque", "tracestate is kept");
}

#[test]
fn a_remote_parent_from_a_plain_map_is_continued_in_async_code() {
    let setup = setup();
    let (traceparent, trace_id, span_id) = caller(0x22);
    let headers = HashMap::from([("traceparent".to_owned(), traceparent)]);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime
        .block_on(propagation::with_remote_parent(&headers, async { handle_order("http-remote-async", 42) }))
        .unwrap();
    setup.guard.flush().expect("flushed");
    let trace = wait_for_case("http-remote-async", || setup.session.spans());
    check_trace(&trace, Some((&trace_id, &span_id)));
}

#[test]
fn hostile_headers_start_a_new_trace_that_still_arrives() {
    let setup = setup();
    let mut headers = http::HeaderMap::new();
    headers.insert("traceparent", "00-00000000000000000000000000000000-0000000000000000-01".parse().unwrap());
    headers.append("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
    headers.insert("baggage", "%%%;;;===".parse().unwrap());
    propagation::in_remote_context(&headers, || handle_order("http-hostile", 42)).unwrap();
    setup.guard.flush().expect("flushed");
    let trace = wait_for_case("http-hostile", || setup.session.spans());
    check_trace(&trace, None);
    assert_ne!(trace["GET /orders/{id}"].trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
}
