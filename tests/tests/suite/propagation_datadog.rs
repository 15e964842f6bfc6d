//! Datadog propagation to the letter: every `x-datadog-*` header round
//! trips, priorities 2 (user keep) and -1 (user reject) and the origin are
//! kept, every `_dd.p.*` tag (`_dd.p.dm`, `_dd.p.usr.id`, unknown ones) is
//! passed on, through traced spans too, `x-datadog-tags` is bounded (512
//! bytes) and validated, and the W3C `tracestate` member `dd=` is produced
//! and consumed in Datadog's encoding. Tags that were not used are named in
//! `_dd.propagation_error` on the local root span, as Datadog does.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry::Context;
use trace_runtime::propagation::{Propagator, Propagators};
use trace_runtime::testing::{capture, SpanDataExt};
use trace_runtime::traced;

const DD: [Propagator; 1] = [Propagator::Datadog];
const BOTH: [Propagator; 2] = [Propagator::Datadog, Propagator::TraceContext];

/// `HashMap` as an OpenTelemetry extractor.
struct Headers(HashMap<String, String>);

impl opentelemetry::propagation::Extractor for Headers {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

fn extract(list: &[Propagator], pairs: &[(&str, &str)]) -> Context {
    let headers = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Propagators::new(list.iter().copied()).extract(&Headers(headers))
}

fn inject(list: &[Propagator], cx: &Context) -> HashMap<String, String> {
    let mut out = HashMap::new();
    Propagators::new(list.iter().copied()).inject_context(cx, &mut out);
    out
}

fn sc(cx: &Context) -> SpanContext {
    cx.span().span_context().clone()
}

/// ddtrace's headers with `priority` and `tags`.
fn ddtrace(priority: &str, tags: &str) -> Vec<(&'static str, String)> {
    vec![
        ("x-datadog-trace-id", "11803532876627986230".to_owned()),
        ("x-datadog-parent-id", "67667974448284343".to_owned()),
        ("x-datadog-sampling-priority", priority.to_owned()),
        ("x-datadog-origin", "synthetics".to_owned()),
        ("x-datadog-tags", tags.to_owned()),
    ]
}

fn pass_on(list: &[Propagator], headers: &[(&'static str, String)]) -> HashMap<String, String> {
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    inject(list, &extract(&DD, &pairs))
}

fn get<'a>(out: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    out.get(name).map(String::as_str)
}

#[test]
fn every_header_round_trips() {
    let tags = "_dd.p.dm=-4,_dd.p.usr.id=baz64==,_dd.p.tid=640cfd8d00000000";
    let out = pass_on(&DD, &ddtrace("2", tags));
    assert_eq!(get(&out, "x-datadog-trace-id"), Some("11803532876627986230"));
    assert_eq!(get(&out, "x-datadog-parent-id"), Some("67667974448284343"));
    assert_eq!(get(&out, "x-datadog-sampling-priority"), Some("2"));
    assert_eq!(get(&out, "x-datadog-origin"), Some("synthetics"));
    assert_eq!(get(&out, "x-datadog-tags"), Some(tags));
    assert_eq!(out.len(), 5, "{out:?}");
}

#[test]
fn user_keep_and_user_reject_are_kept() {
    for (priority, sampled) in [("2", true), ("1", true), ("0", false), ("-1", false)] {
        let headers = ddtrace(priority, "_dd.p.dm=-4");
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let cx = extract(&DD, &pairs);
        assert_eq!(sc(&cx).is_sampled(), sampled, "priority {priority}: > 0 is sampled");
        let out = inject(&DD, &cx);
        assert_eq!(get(&out, "x-datadog-sampling-priority"), Some(priority));
    }
}

#[test]
fn a_missing_priority_is_continued_as_kept() {
    let cx = extract(&DD, &[("x-datadog-trace-id", "1234"), ("x-datadog-parent-id", "5678")]);
    assert!(sc(&cx).is_sampled());
    let out = inject(&DD, &cx);
    assert_eq!(get(&out, "x-datadog-sampling-priority"), Some("1"));
    assert_eq!(get(&out, "x-datadog-tags"), None, "no tags, no header");
    assert_eq!(get(&out, "x-datadog-origin"), None);
}

#[test]
fn the_origin_is_kept() {
    for origin in ["synthetics", "rum", "synthetics-browser", "ciapp-test"] {
        let cx =
            extract(&DD, &[("x-datadog-trace-id", "1"), ("x-datadog-parent-id", "2"), ("x-datadog-origin", origin)]);
        assert_eq!(get(&inject(&DD, &cx), "x-datadog-origin"), Some(origin));
    }
    // Not printable ASCII, or longer than an origin can be: not kept.
    for bad in ["caf\u{e9}", &"o".repeat(65)] {
        let cx = extract(&DD, &[("x-datadog-trace-id", "1"), ("x-datadog-parent-id", "2"), ("x-datadog-origin", bad)]);
        assert_eq!(get(&inject(&DD, &cx), "x-datadog-origin"), None, "{bad}");
    }
}

#[test]
fn the_decision_maker_and_unknown_tags_pass_on() {
    let out = pass_on(&DD, &ddtrace("1", "_dd.p.dm=-0,_dd.p.x=anything goes,_dd.p.usr.id=dXNlcg=="));
    assert_eq!(get(&out, "x-datadog-tags"), Some("_dd.p.dm=-0,_dd.p.x=anything goes,_dd.p.usr.id=dXNlcg=="));
    // Tags outside `_dd.p.` are the caller's own, not the trace's.
    let out = pass_on(&DD, &ddtrace("1", "_dd.p.dm=-0,env=prod,_dd.propagation_error=x"));
    assert_eq!(get(&out, "x-datadog-tags"), Some("_dd.p.dm=-0"));
}

#[test]
fn tags_over_512_bytes_are_dropped() {
    let at_limit = format!("_dd.p.dm=-4,_dd.p.big={}", "v".repeat(512 - 22));
    assert_eq!(at_limit.len(), 512);
    let out = pass_on(&DD, &ddtrace("2", &at_limit));
    // Read whole; the `dd` member then bounds what is kept (256 characters).
    assert_eq!(get(&out, "x-datadog-tags"), Some("_dd.p.dm=-4"));

    let over = format!("{at_limit}v");
    let out = pass_on(&DD, &ddtrace("2", &over));
    assert_eq!(get(&out, "x-datadog-tags"), None, "513 bytes: none of it is used");
    assert_eq!(get(&out, "x-datadog-trace-id"), Some("11803532876627986230"), "the trace goes on");
    assert_eq!(get(&out, "x-datadog-sampling-priority"), Some("2"));
}

#[test]
fn malformed_tags_are_rejected_not_forwarded() {
    for bad in ["_dd.p.dm", "_dd.p.dm=-4,,_dd.p.x=1", "_dd.p.a b=1", "_dd.p.x=", "=1", "_dd.p.x=\u{e9}t\u{e9}"] {
        let out = pass_on(&DD, &ddtrace("1", bad));
        assert_eq!(get(&out, "x-datadog-tags"), None, "{bad:?}");
        assert_eq!(get(&out, "x-datadog-parent-id"), Some("67667974448284343"), "the trace goes on");
    }
    // A bad decision maker or upper half alone is dropped; the rest passes.
    let out = pass_on(&DD, &ddtrace("1", "_dd.p.dm=keep,_dd.p.x=1,_dd.p.tid=XYZ"));
    assert_eq!(get(&out, "x-datadog-tags"), Some("_dd.p.x=1"));
    assert_eq!(get(&out, "x-datadog-trace-id"), Some("11803532876627986230"));
}

#[test]
fn a_malformed_priority_or_id_is_no_context() {
    for (trace, parent, priority) in [("1", "2", "keep"), ("1", "2", "1.0"), ("0", "2", "1"), ("1", "x", "1")] {
        let cx = extract(
            &DD,
            &[
                ("x-datadog-trace-id", trace),
                ("x-datadog-parent-id", parent),
                ("x-datadog-sampling-priority", priority),
            ],
        );
        assert!(!sc(&cx).is_valid(), "{trace} {parent} {priority}");
    }
}

#[test]
fn the_dd_tracestate_member_is_produced() {
    let headers = ddtrace("-1", "_dd.p.dm=-3,_dd.p.usr.id=baz64==,_dd.p.tid=640cfd8d00000000");
    let out = pass_on(&BOTH, &headers);
    // `p:` is the injecting span's id (here still the caller's own).
    assert_eq!(get(&out, "tracestate"), Some("dd=s:-1;p:00f067aa0ba902b7;o:synthetics;t.dm:-3;t.usr.id:baz64~~"));
    assert_eq!(get(&out, "traceparent"), Some("00-640cfd8d00000000a3ce929d0e0e4736-00f067aa0ba902b7-00"));
}

#[test]
fn the_dd_tracestate_member_is_consumed() {
    let traceparent = "00-640cfd8d00000000a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let tracestate = "rojo=00f067aa0ba902b7,dd=s:2;o:rum;p:00f067aa0ba902b7;t.dm:-4;t.usr.id:baz64~~";
    let cx = extract(&[Propagator::TraceContext], &[("traceparent", traceparent), ("tracestate", tracestate)]);
    let out = inject(&BOTH, &cx);
    assert_eq!(get(&out, "x-datadog-trace-id"), Some("11803532876627986230"));
    assert_eq!(get(&out, "x-datadog-sampling-priority"), Some("2"));
    assert_eq!(get(&out, "x-datadog-origin"), Some("rum"));
    assert_eq!(get(&out, "x-datadog-tags"), Some("_dd.p.dm=-4,_dd.p.usr.id=baz64==,_dd.p.tid=640cfd8d00000000"));
    // Other vendors' members stay; `dd` (its `p:` rewritten: the same id
    // here, as no span was started) moves to the front.
    let updated = "dd=s:2;p:00f067aa0ba902b7;o:rum;t.dm:-4;t.usr.id:baz64~~,rojo=00f067aa0ba902b7";
    assert_eq!(get(&out, "tracestate"), Some(updated));

    // The W3C flag decides: a kept priority that disagrees is not sent.
    let unsampled = traceparent.replace("-01", "-00");
    let cx = extract(&[Propagator::TraceContext], &[("traceparent", &unsampled), ("tracestate", "dd=s:2;t.dm:-4")]);
    assert_eq!(get(&inject(&DD, &cx), "x-datadog-sampling-priority"), Some("0"));
}

#[test]
fn the_dd_member_is_read_from_a_tracestate_the_otel_crate_refuses() {
    // Valid W3C (14 characters after `@`), refused by `opentelemetry`'s
    // `TraceState` and carried aside: its `dd` member still counts.
    let traceparent = "00-640cfd8d00000000a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let tracestate = "t@abcdefghijklmn=1,dd=s:2;o:rum;t.dm:-4";
    let cx = extract(&[Propagator::TraceContext], &[("traceparent", traceparent), ("tracestate", tracestate)]);
    let out = inject(&BOTH, &cx);
    assert_eq!(get(&out, "x-datadog-sampling-priority"), Some("2"));
    assert_eq!(get(&out, "x-datadog-origin"), Some("rum"));
    assert_eq!(get(&out, "x-datadog-tags"), Some("_dd.p.dm=-4,_dd.p.tid=640cfd8d00000000"));
    assert_eq!(get(&out, "tracestate"), Some("dd=s:2;p:00f067aa0ba902b7;o:rum;t.dm:-4,t@abcdefghijklmn=1"));
}

/// What a traced client call sends: the current context, injected.
#[traced]
fn call_out() -> HashMap<String, String> {
    inject(&DD, &Context::current())
}

#[traced]
fn handler() -> HashMap<String, String> {
    call_out()
}

#[test]
fn the_values_flow_through_traced_spans_to_outgoing_requests() {
    let headers = ddtrace("2", "_dd.p.dm=-3,_dd.p.x=y,_dd.p.tid=640cfd8d00000000");
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let remote = extract(&DD, &pairs);
    let c = capture(|| {
        // The capture's context, continuing the caller (as a server does).
        let _in_request = Context::current().with_remote_span_context(sc(&remote)).attach();
        handler()
    });
    let out = c.result();
    let call = c.span("call_out");
    assert_eq!(
        get(out, "x-datadog-parent-id"),
        Some(u64::from_be_bytes(call.span_context.span_id().to_bytes()).to_string().as_str())
    );
    assert_eq!(get(out, "x-datadog-trace-id"), Some("11803532876627986230"));
    assert_eq!(get(out, "x-datadog-sampling-priority"), Some("2"));
    assert_eq!(get(out, "x-datadog-origin"), Some("synthetics"));
    assert_eq!(get(out, "x-datadog-tags"), Some("_dd.p.dm=-3,_dd.p.x=y,_dd.p.tid=640cfd8d00000000"));
}

#[test]
fn a_user_rejected_trace_goes_on_rejected_through_traced_spans() {
    let headers = ddtrace("-1", "_dd.p.dm=-3");
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let remote = extract(&DD, &pairs);
    let c = capture(|| {
        // The capture's context, continuing the caller (as a server does).
        let _in_request = Context::current().with_remote_span_context(sc(&remote)).attach();
        handler()
    });
    assert!(c.spans().is_empty(), "nothing of a rejected trace is recorded");
    assert_eq!(get(c.result(), "x-datadog-sampling-priority"), Some("-1"));
    assert_eq!(get(c.result(), "x-datadog-trace-id"), Some("11803532876627986230"));
    assert_eq!(get(c.result(), "x-datadog-tags"), Some("_dd.p.dm=-3"));
}

#[test]
fn a_local_trace_sends_plain_keep() {
    let c = capture(call_out);
    assert_eq!(get(c.result(), "x-datadog-sampling-priority"), Some("1"));
    assert_eq!(get(c.result(), "x-datadog-origin"), None);
}

/// The handler's spans under the caller's `x-datadog-tags`: the error
/// recorded on the local root (`handler`) and on its child (`call_out`).
fn propagation_errors(tags: &str) -> (Option<String>, Option<String>) {
    let headers = ddtrace("1", tags);
    let pairs: Vec<(String, String)> = headers.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    let c = capture(|| {
        let cx = Propagators::new(DD).extract_with_context(&Context::current(), &Headers(pairs.into_iter().collect()));
        let _in_request = cx.attach();
        handler()
    });
    let error = |name: &str| c.span(name).attr_str("_dd.propagation_error").map(str::to_owned);
    (error("handler"), error("call_out"))
}

#[test]
fn unused_tags_are_named_on_the_local_root() {
    let over = format!("_dd.p.big={}", "v".repeat(600));
    assert_eq!(propagation_errors(&over), (Some("extract_max_size".to_owned()), None));
    assert_eq!(propagation_errors("_dd.p.x"), (Some("decoding_error".to_owned()), None));
    assert_eq!(propagation_errors("_dd.p.dm=keep"), (Some("decoding_error".to_owned()), None));
    assert_eq!(propagation_errors("_dd.p.tid=640CFD8D00000000"), (Some("malformed_tid".to_owned()), None));
    assert_eq!(propagation_errors("_dd.p.dm=-4,_dd.p.tid=640cfd8d00000000"), (None, None));
}
