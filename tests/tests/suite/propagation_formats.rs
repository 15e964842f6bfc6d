//! Every propagation format, extracted and injected by traced's own code:
//! W3C Trace Context (to the letter, Level 1), B3 single and multi, Jaeger,
//! Datadog (128-bit ids included), their order, `none`, and how
//! `OTEL_PROPAGATORS` is read (`init().env_lookup(..)`). The installed choice
//! (`init().propagators(..)`) is tested in `propagation_installed.rs`.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry::Context;
use trace_runtime::propagation::{Propagator, Propagators};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";

fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn extract_with(list: &[Propagator], pairs: &[(&str, &str)]) -> SpanContext {
    let cx = Propagators::new(list.iter().copied()).extract(&Extractor(headers(pairs)));
    cx.span().span_context().clone()
}

/// `HashMap` as an OpenTelemetry extractor (the `Propagators` are one).
struct Extractor(HashMap<String, String>);

impl opentelemetry::propagation::Extractor for Extractor {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

fn inject_with(list: &[Propagator], cx: &Context) -> HashMap<String, String> {
    let mut out = HashMap::new();
    Propagators::new(list.iter().copied()).inject_context(cx, &mut out);
    out
}

fn remote(sc: SpanContext) -> Context {
    Context::new().with_remote_span_context(sc)
}

fn tp(flags: &str) -> String {
    format!("00-{TRACE}-{SPAN}-{flags}")
}

// ---- W3C Trace Context --------------------------------------------------

fn w3c_state(tracestate: &str) -> Option<String> {
    let tp = tp("01");
    let cx = Propagators::new([Propagator::TraceContext])
        .extract(&Extractor(headers(&[("traceparent", &tp), ("tracestate", tracestate)])));
    assert_eq!(cx.span().span_context().trace_id().to_string(), TRACE, "the trace is continued");
    inject_with(&[Propagator::TraceContext], &cx).remove("tracestate")
}

#[test]
fn tracestate_key_with_14_chars_after_at_is_kept() {
    assert_eq!(w3c_state("t@abcdefghijklmn=1,rojo=2").as_deref(), Some("t@abcdefghijklmn=1,rojo=2"));
}

#[test]
fn tracestate_keys_follow_the_current_grammar() {
    // Level 2's key grammar (a superset of Level 1's): `@` anywhere but first.
    assert_eq!(w3c_state("t@abcdefghijklmno=1").as_deref(), Some("t@abcdefghijklmno=1"));
    assert_eq!(w3c_state("foo@=1,bar=2").as_deref(), Some("foo@=1,bar=2"));
    assert_eq!(w3c_state("@foo=1,bar=2"), None);
    assert_eq!(w3c_state(&format!("{}=1", "z".repeat(257))), None);
}

#[test]
fn tracestate_with_more_than_32_members_is_discarded() {
    let members = |n: usize| (0..n).map(|i| format!("k{i}=v")).collect::<Vec<_>>().join(",");
    assert_eq!(w3c_state(&members(32)), Some(members(32)));
    assert_eq!(w3c_state(&members(33)), None);
}

#[test]
fn tracestate_with_an_empty_value_is_discarded() {
    assert_eq!(w3c_state("foo=,bar=3"), None);
}

#[test]
fn tracestate_with_a_repeated_key_keeps_its_first_entry() {
    assert_eq!(w3c_state("foo=1,bar=2,foo=3").as_deref(), Some("foo=1,bar=2"));
}

#[test]
fn an_empty_tracestate_is_never_sent() {
    assert_eq!(w3c_state(""), None);
    let out = inject_with(
        &[Propagator::TraceContext],
        &remote(extract_with(&[Propagator::TraceContext], &[("traceparent", &tp("01"))])),
    );
    assert_eq!(out.get("traceparent"), Some(&tp("01")));
    assert!(!out.contains_key("tracestate"), "{out:?}");
}

#[test]
fn traceparent_level_1_drops_unknown_flags() {
    // 0x03 = sampled + Level 2's random: Level 1 propagates only `sampled`.
    let sc = extract_with(&[Propagator::TraceContext], &[("traceparent", &tp("03"))]);
    assert!(sc.is_sampled());
    assert_eq!(inject_with(&[Propagator::TraceContext], &remote(sc)).get("traceparent"), Some(&tp("01")));
}

#[test]
fn malformed_traceparents_are_refused() {
    for bad in [
        format!("00-{}-{SPAN}-01", TRACE.to_uppercase()),
        format!("ff-{TRACE}-{SPAN}-01"),
        format!("00-{}-{SPAN}-01", "0".repeat(32)),
        format!("00-{TRACE}-{}-01", "0".repeat(16)),
        format!("00-{TRACE}-{SPAN}-01-extra"),
    ] {
        assert!(!extract_with(&[Propagator::TraceContext], &[("traceparent", &bad)]).is_valid(), "{bad}");
    }
}

// ---- B3, Jaeger, Datadog ------------------------------------------------

#[test]
fn b3_single_round_trips() {
    let sc = extract_with(&[Propagator::B3], &[("b3", &format!("{TRACE}-{SPAN}-1"))]);
    assert_eq!((sc.trace_id().to_string().as_str(), sc.span_id().to_string().as_str()), (TRACE, SPAN));
    assert!(sc.is_sampled());
    assert_eq!(inject_with(&[Propagator::B3], &remote(sc)).get("b3"), Some(&format!("{TRACE}-{SPAN}-1")));
    // A 64-bit trace id, a deny decision, a parent id; bad shapes refused.
    let short = extract_with(&[Propagator::B3], &[("b3", &format!("a3ce929d0e0e4736-{SPAN}-0-05e3ac9a4f6e3b90"))]);
    assert_eq!(short.trace_id().to_string(), "0000000000000000a3ce929d0e0e4736");
    assert!(!short.is_sampled());
    for bad in ["0", "1", &format!("{TRACE}-{SPAN}-x"), TRACE, &format!("abc-{SPAN}")] {
        assert!(!extract_with(&[Propagator::B3], &[("b3", bad)]).is_valid(), "{bad}");
    }
}

#[test]
fn b3_multi_round_trips() {
    let sc = extract_with(
        &[Propagator::B3Multi],
        &[("x-b3-traceid", TRACE), ("x-b3-spanid", SPAN), ("x-b3-sampled", "0"), ("x-b3-flags", "1")],
    );
    assert!(sc.is_valid() && sc.is_sampled(), "debug flag means sampled");
    let out = inject_with(&[Propagator::B3Multi], &remote(sc));
    assert_eq!(out.get("x-b3-traceid").map(String::as_str), Some(TRACE));
    assert_eq!(out.get("x-b3-spanid").map(String::as_str), Some(SPAN));
    assert_eq!(out.get("x-b3-sampled").map(String::as_str), Some("1"));
}

#[test]
fn jaeger_round_trips() {
    let sc = extract_with(&[Propagator::Jaeger], &[("uber-trace-id", "a3ce929d0e0e4736%3Af067aa0ba902b7%3A0%3A1")]);
    assert_eq!(sc.trace_id().to_string(), "0000000000000000a3ce929d0e0e4736");
    assert_eq!(sc.span_id().to_string(), SPAN);
    assert!(sc.is_sampled());
    let out = inject_with(&[Propagator::Jaeger], &remote(sc));
    assert_eq!(
        out.get("uber-trace-id").map(String::as_str),
        Some(&*format!("0000000000000000a3ce929d0e0e4736:{SPAN}:0:1"))
    );
    for bad in ["a:b:c", "0:1:0:1", "1:0:0:1", "xyz:1:0:1", "1:1:0:zz"] {
        assert!(!extract_with(&[Propagator::Jaeger], &[("uber-trace-id", bad)]).is_valid(), "{bad}");
    }
}

#[test]
fn datadog_128_bit_ids_round_trip() {
    // ddtrace's headers for trace 640cfd8d00000000_a3ce929d0e0e4736.
    let low = u64::from_str_radix("a3ce929d0e0e4736", 16).unwrap().to_string();
    let parent = u64::from_str_radix(SPAN, 16).unwrap().to_string();
    let sc = extract_with(
        &[Propagator::Datadog],
        &[
            ("x-datadog-trace-id", &low),
            ("x-datadog-parent-id", &parent),
            ("x-datadog-sampling-priority", "2"),
            ("x-datadog-origin", "synthetics"),
            ("x-datadog-tags", "_dd.p.dm=-4,_dd.p.tid=640cfd8d00000000"),
        ],
    );
    assert_eq!(sc.trace_id().to_string(), "640cfd8d00000000a3ce929d0e0e4736");
    assert_eq!(sc.span_id().to_string(), SPAN);
    assert!(sc.is_sampled());
    let out = inject_with(&[Propagator::Datadog], &remote(sc));
    assert_eq!(out.get("x-datadog-trace-id"), Some(&low));
    assert_eq!(out.get("x-datadog-parent-id"), Some(&parent));
    assert_eq!(out.get("x-datadog-sampling-priority").map(String::as_str), Some("2"));
    assert_eq!(out.get("x-datadog-tags").map(String::as_str), Some("_dd.p.dm=-4,_dd.p.tid=640cfd8d00000000"));
    assert_eq!(out.get("x-datadog-origin").map(String::as_str), Some("synthetics"));
}

#[test]
fn datadog_reject_priority_and_bad_ids() {
    let sc = extract_with(
        &[Propagator::Datadog],
        &[("x-datadog-trace-id", "1234"), ("x-datadog-parent-id", "5678"), ("x-datadog-sampling-priority", "-1")],
    );
    assert!(sc.is_valid() && !sc.is_sampled());
    assert_eq!(sc.trace_id().to_string(), format!("{:032x}", 1234));
    for (trace, parent) in [("0", "1"), ("1", "0"), ("x", "1"), ("1", "-5"), ("18446744073709551616", "1")] {
        let sc =
            extract_with(&[Propagator::Datadog], &[("x-datadog-trace-id", trace), ("x-datadog-parent-id", parent)]);
        assert!(!sc.is_valid(), "{trace} {parent}");
    }
}

// ---- order, injection of all, none --------------------------------------

#[test]
fn extraction_tries_formats_in_order_first_valid_wins() {
    let dd = [("x-datadog-trace-id", "1"), ("x-datadog-parent-id", "2")];
    let tp = tp("01");
    let mut both: Vec<(&str, &str)> = dd.to_vec();
    both.push(("traceparent", &tp));
    let w3c_first = extract_with(&[Propagator::TraceContext, Propagator::Datadog], &both);
    assert_eq!(w3c_first.trace_id().to_string(), TRACE);
    let dd_first = extract_with(&[Propagator::Datadog, Propagator::TraceContext], &both);
    assert_eq!(dd_first.trace_id().to_string(), format!("{:032x}", 1));
    // An invalid first format falls through to the next.
    let bad_dd = [("x-datadog-trace-id", "x"), ("x-datadog-parent-id", "2"), ("traceparent", tp.as_str())];
    assert_eq!(extract_with(&[Propagator::Datadog, Propagator::TraceContext], &bad_dd).trace_id().to_string(), TRACE);
}

#[test]
fn injection_writes_every_format_and_none_writes_nothing() {
    let cx = remote(extract_with(&[Propagator::TraceContext], &[("traceparent", &tp("01"))]));
    let all = [Propagator::TraceContext, Propagator::B3, Propagator::B3Multi, Propagator::Jaeger, Propagator::Datadog];
    let out = inject_with(&all, &cx);
    for key in ["traceparent", "b3", "x-b3-traceid", "uber-trace-id", "x-datadog-trace-id", "x-datadog-tags"] {
        assert!(out.contains_key(key), "{key} missing from {out:?}");
    }
    assert!(inject_with(&[], &cx).is_empty());
    assert!(!extract_with(&[], &[("traceparent", &tp("01"))]).is_valid());
}

// ---- OTEL_PROPAGATORS ---------------------------------------------------

#[test]
fn otel_propagators_is_read_and_checked() {
    let resolve = |value: &'static str| {
        trace_runtime::init().env_lookup(move |name| (name == "OTEL_PROPAGATORS").then(|| value.to_owned())).resolve()
    };
    assert_eq!(resolve("b3multi, datadog").unwrap().propagators, [Propagator::B3Multi, Propagator::Datadog]);
    assert!(resolve("none").unwrap().propagators.is_empty());
    let err = resolve("tracecontext,xray").unwrap_err().to_string();
    assert!(err.contains("OTEL_PROPAGATORS") && err.contains("xray") && err.contains("b3multi"), "{err}");
    let default = trace_runtime::init().env_lookup(|_| None).resolve().unwrap();
    assert_eq!(default.propagators, [Propagator::TraceContext, Propagator::Baggage]);
}
