//! W3C Trace Context and Baggage through `trace_runtime::propagation`:
//! injected into and extracted from `http::HeaderMap` and plain maps, used
//! as a parent by guards, closures and futures; malformed and hostile
//! headers start a new root and never panic.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::collections::{BTreeMap, HashMap};

use http::{HeaderMap, HeaderValue};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue};
use trace_runtime::testing::{capture, capture_async, SpanDataExt};
use trace_runtime::{current_span, propagation, traced};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[traced(kind = server)]
fn handle() -> String {
    current_span().trace_id()
}

#[traced(kind = client)]
fn call_out() -> HeaderMap {
    let mut headers = HeaderMap::new();
    propagation::inject(&mut headers);
    headers
}

fn header_map(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    map
}

// ------------------------------------------------------------ inject

#[test]
fn inject_writes_the_current_span_as_traceparent() {
    let c = capture(call_out);
    let client = c.span("call_out");
    let headers = c.result();
    let expected = format!("00-{}-{}-01", client.span_context.trace_id(), client.span_context.span_id());
    assert_eq!(headers["traceparent"], expected.as_str());

    // Into a plain map too, with the context given explicitly.
    let span = trace_runtime::span("producer").start();
    let mut map: HashMap<String, String> = HashMap::new();
    propagation::inject_context(span.context(), &mut map);
    span.end();
    let mut btree: BTreeMap<String, String> = BTreeMap::new();
    propagation::inject_context(span.context(), &mut btree);
    assert_eq!(map.get("traceparent"), btree.get("traceparent"));
}

#[test]
fn inject_without_a_span_writes_no_traceparent() {
    let mut headers = HeaderMap::new();
    propagation::inject(&mut headers);
    assert!(headers.get("traceparent").is_none());
}

#[test]
fn tracestate_and_baggage_round_trip() {
    let headers = header_map(&[
        ("traceparent", TRACEPARENT),
        ("tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
        ("baggage", "user.id=42,tenant=acme%20corp;prop=1"),
    ]);
    let c = capture(|| {
        propagation::in_remote_context(&headers, || {
            let cx = Context::current();
            let baggage = cx.baggage();
            assert_eq!(baggage.get("user.id").map(|v| v.as_str().to_owned()), Some("42".to_owned()));
            assert_eq!(baggage.get("tenant").map(|v| v.as_str().to_owned()), Some("acme corp".to_owned()));
            call_out()
        })
    });
    let out = c.result();
    assert_eq!(out["tracestate"], "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    let baggage = out["baggage"].to_str().unwrap();
    assert!(baggage.contains("user.id=42") && baggage.contains("tenant=acme%20corp"), "{baggage}");
    assert!(out["traceparent"].to_str().unwrap().starts_with(&format!("00-{TRACE}-")));
}

#[test]
fn a_repeated_tracestate_key_is_passed_on_once_with_its_first_value() {
    // W3C allows one entry per key; a receiver may drop duplicates. The
    // first (most recently written) entry wins; other vendors' entries stay.
    let headers = header_map(&[("traceparent", TRACEPARENT), ("tracestate", "a=1,b=2,a=3")]);
    let c = capture(|| propagation::in_remote_context(&headers, call_out));
    assert_eq!(c.result()["tracestate"], "a=1,b=2");
    let sc = propagation::remote_span_context(&headers).unwrap();
    assert_eq!(sc.trace_state().header(), "a=1,b=2");
}

// ------------------------------------------------------------ extract

#[test]
fn extract_gives_a_remote_parent() {
    let headers = header_map(&[("traceparent", TRACEPARENT)]);
    let cx = propagation::extract(&headers);
    let sc = cx.span().span_context().clone();
    assert_eq!(sc.trace_id(), TraceId::from_hex(TRACE).unwrap());
    assert_eq!(sc.span_id(), SpanId::from_hex(PARENT).unwrap());
    assert!(sc.is_remote() && sc.is_sampled());

    // Case-insensitive names in plain maps.
    let map = HashMap::from([("TraceParent".to_owned(), TRACEPARENT.to_owned())]);
    assert_eq!(propagation::extract(&map).span().span_context(), &sc);

    // As the explicit parent of a span.
    let c = capture(|| trace_runtime::span("GET /").parent(propagation::extract(&headers)).start().end());
    let span = c.span("GET /");
    assert_eq!(span.span_context.trace_id(), sc.trace_id());
    assert_eq!(span.parent_span_id, sc.span_id());
    assert!(span.parent_span_is_remote);
}

#[test]
fn a_handler_continues_the_callers_trace_in_one_line() {
    let headers = header_map(&[("traceparent", TRACEPARENT)]);
    // Closure.
    let c = capture(|| propagation::in_remote_context(&headers, handle));
    assert_eq!(c.result(), TRACE);
    assert_eq!(c.span("handle").parent_span_id, SpanId::from_hex(PARENT).unwrap());
    // Guard.
    let c = capture(|| {
        let _remote = propagation::attach(&headers);
        handle()
    });
    assert_eq!(c.span("handle").parent_span_id, SpanId::from_hex(PARENT).unwrap());
}

#[tokio::test]
async fn an_async_handler_continues_the_callers_trace() {
    #[traced(kind = server)]
    async fn async_handle() -> String {
        tokio::task::yield_now().await;
        current_span().trace_id()
    }
    let headers = header_map(&[("traceparent", TRACEPARENT)]);
    // Made inside the capture: `with_remote_parent` binds the context current
    // when it is called, as `in_current_span` does.
    let c = capture_async(async { propagation::with_remote_parent(&headers, async_handle()).await }).await;
    assert_eq!(c.result(), TRACE);
    let span = c.span("async_handle");
    assert_eq!(span.parent_span_id, SpanId::from_hex(PARENT).unwrap());
    assert!(span.parent_span_is_remote);
}

#[test]
fn client_to_server_in_process_is_one_trace() {
    let c = capture(|| {
        let headers = call_out();
        propagation::in_remote_context(&headers, handle)
    });
    let client = c.span("call_out");
    let server = c.span("handle");
    assert!(server.is_child_of(client));
    assert!(server.parent_span_is_remote);
    assert_eq!(c.result(), &client.span_context.trace_id().to_string());
}

#[test]
fn the_remote_span_is_the_local_root() {
    #[traced]
    fn inner() -> String {
        trace_runtime::current_root_span().span_id()
    }
    #[traced(kind = server)]
    fn outer() -> (String, String) {
        (current_span().span_id(), inner())
    }
    let headers = header_map(&[("traceparent", TRACEPARENT)]);
    let c = capture(|| propagation::in_remote_context(&headers, outer));
    let (outer_id, root_seen_by_inner) = c.result();
    assert_eq!(outer_id, root_seen_by_inner, "the handler's span is the local root");
}

#[test]
fn an_unsampled_caller_is_respected() {
    let headers = header_map(&[("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")]);
    let c = capture(|| propagation::in_remote_context(&headers, handle));
    assert!(c.spans().is_empty(), "the caller decided not to sample: {}", c.tree());
    assert_eq!(c.result(), TRACE, "the trace id still flows (for logs)");
}

#[test]
fn remote_span_context_is_for_links() {
    let headers = header_map(&[("traceparent", TRACEPARENT)]);
    let producer = propagation::remote_span_context(&headers).unwrap();
    let c = capture(|| trace_runtime::span("process").link(producer.clone()).start().end());
    let span = c.span("process");
    assert!(span.is_root(), "a link, not a parent");
    assert_eq!(span.links.links[0].span_context, producer);
    assert!(propagation::remote_span_context(&HeaderMap::new()).is_none());
}

// ------------------------------------------------------------ hostile input

/// Traceparent values that must all start a new trace.
fn bad_traceparents() -> Vec<String> {
    let mut bad: Vec<String> = [
        "",
        " ",
        "garbage",
        "00",
        "00-",
        "00--",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
        "00-zzf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
        "\t00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    bad.push(format!("00-{}-00f067aa0ba902b7-01", "a".repeat(100_000)));
    bad.push("-".repeat(70_000));
    bad.push("00-".repeat(10_000));
    bad
}

#[test]
fn malformed_traceparents_start_a_new_root() {
    for (i, value) in bad_traceparents().into_iter().enumerate() {
        // As a plain map (any string) ...
        let map = HashMap::from([("traceparent".to_owned(), value.clone())]);
        let c = capture(|| propagation::in_remote_context(&map, handle));
        let span = c.span("handle");
        assert!(span.is_root(), "case {i} {value:.60?} was continued");
        assert_ne!(span.span_context.trace_id().to_string(), TRACE);
        // ... and as an HTTP header when it is one.
        if let Ok(header) = HeaderValue::from_str(&value) {
            let mut headers = HeaderMap::new();
            headers.insert("traceparent", header);
            assert!(!propagation::extract(&headers).span().span_context().is_valid(), "case {i}");
        }
    }
}

#[test]
fn a_repeated_traceparent_is_invalid() {
    let headers = header_map(&[("traceparent", TRACEPARENT), ("traceparent", TRACEPARENT)]);
    assert!(!propagation::extract(&headers).span().span_context().is_valid());
}

#[test]
fn non_ascii_header_bytes_are_ignored() {
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", HeaderValue::from_bytes(b"00-\xff\xfe-\x80-01").unwrap());
    headers.insert("baggage", HeaderValue::from_bytes(b"k=\xff\xff").unwrap());
    headers.insert("tracestate", HeaderValue::from_bytes(b"a=\xc3\x28").unwrap());
    let c = capture(|| propagation::in_remote_context(&headers, handle));
    assert!(c.span("handle").is_root());
}

#[test]
fn malformed_headers_under_a_current_span_never_join_the_hostile_trace() {
    #[traced]
    fn local_parent(headers: &HeaderMap) {
        propagation::in_remote_context(headers, handle);
    }
    let headers = header_map(&[("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01")]);
    let c = capture(|| local_parent(&headers));
    let parent = c.span("local_parent");
    let handler = c.span("handle");
    // Nothing of the bad header is used: the work stays in the local trace.
    assert!(handler.is_child_of(parent), "{}", c.tree());
    assert!(!handler.parent_span_is_remote);
    assert_ne!(handler.span_context.trace_id().to_string(), TRACE);
}

#[test]
fn oversized_or_broken_tracestate_and_baggage_are_dropped_not_the_parent() {
    let big_state = (0..2000).map(|i| format!("k{i}=v{i}")).collect::<Vec<_>>().join(",");
    let big_baggage = (0..2000).map(|i| format!("k{i}=v{i}")).collect::<Vec<_>>().join(",");
    for (tracestate, baggage) in [
        (big_state.as_str(), big_baggage.as_str()),
        ("=,,==,bad key=1", "%%%;;;==="),
        ("a=1,a=2", "k=%zz"),
        ("~~~", ";"),
    ] {
        let headers = header_map(&[("traceparent", TRACEPARENT), ("tracestate", tracestate), ("baggage", baggage)]);
        let cx = propagation::extract(&headers);
        let sc = cx.span().span_context().clone();
        assert_eq!(sc.span_id(), SpanId::from_hex(PARENT).unwrap(), "the parent survives {tracestate:.40}");
        assert!(cx.baggage().len() <= 64, "baggage is bounded");
        let mut out = HeaderMap::new();
        propagation::inject_context(&cx, &mut out);
        assert!(out.get("baggage").is_none_or(|b| b.len() <= 8192));
    }
}

#[test]
fn random_bytes_never_panic() {
    // A small deterministic generator: no extra dependency, same cases every run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"0123456789abcdefABCDEF-=,;% \t\x00\xff";
    for _ in 0..2000 {
        let len = (next() % 80) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let map = HashMap::from([
            ("traceparent".to_owned(), text.clone()),
            ("tracestate".to_owned(), text.clone()),
            ("baggage".to_owned(), text.clone()),
        ]);
        let _ = propagation::extract(&map);
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            let mut headers = HeaderMap::new();
            headers.insert("traceparent", value.clone());
            headers.insert("baggage", value);
            let _ = propagation::extract(&headers);
        }
    }
}

#[test]
fn injected_baggage_comes_from_the_context() {
    let cx = Context::current().with_baggage([KeyValue::new("team", "payments")]);
    let mut headers = HashMap::new();
    propagation::inject_context(&cx, &mut headers);
    assert_eq!(headers.get("baggage").map(String::as_str), Some("team=payments"));
}
