//! Own binary: `install()` sets the propagators process-wide.
//!
//! The list given to `init().propagators(..)` and installed is the one
//! `trace_runtime::propagation` injects and extracts with. (Each format on
//! its own is tested in `suite/propagation_formats.rs`.)

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::collections::HashMap;
use std::sync::Once;

use trace_runtime::propagation::{self, Propagator};
use trace_runtime::traced;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";

fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn tp(flags: &str) -> String {
    format!("00-{TRACE}-{SPAN}-{flags}")
}

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let guard = trace_runtime::init()
            .env_lookup(|_| None)
            .exporter(trace_runtime::ConsoleExporter::to_writer(std::io::sink()))
            .propagators([Propagator::Datadog, Propagator::TraceContext])
            .install()
            .expect("install");
        std::mem::forget(guard);
    });
}

#[traced(kind = client)]
fn outgoing() -> HashMap<String, String> {
    let mut headers = HashMap::new();
    propagation::inject(&mut headers);
    headers
}

#[test]
fn the_installed_list_drives_inject_and_extract() {
    install();
    let incoming = headers(&[("x-datadog-trace-id", "1234"), ("x-datadog-parent-id", "5678")]);
    let out = propagation::in_remote_context(&incoming, outgoing);
    assert_eq!(out.get("x-datadog-trace-id").map(String::as_str), Some("1234"));
    assert_ne!(out.get("x-datadog-parent-id").map(String::as_str), Some("5678"), "the client span is the parent");
    assert!(out.get("traceparent").is_some_and(|tp| tp.starts_with(&format!("00-{:032x}-", 1234))), "{out:?}");
    assert!(!out.contains_key("baggage") && !out.contains_key("tracestate"));
}

/// The documented choice: a caller that did not sample is not re-sampled
/// here, and its span id goes out unchanged (the sampled-out span is skipped).
#[test]
fn a_sampled_out_caller_is_propagated_unchanged() {
    install();
    let incoming = headers(&[("traceparent", &tp("00"))]);
    let out = propagation::in_remote_context(&incoming, outgoing);
    assert_eq!(out.get("traceparent"), Some(&tp("00")));
}
