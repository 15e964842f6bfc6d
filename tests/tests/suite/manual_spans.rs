//! The manual span API (`span(..).enter()` / `.start()`), the current and
//! root span handles, and ddtrace's service precedence.

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::KeyValue;
use trace_runtime::testing::{capture, Capturer, SpanDataExt};
use trace_runtime::{current_root_span, current_span, span, traced};

#[traced]
fn leaf() -> String {
    current_span().span_id()
}

#[test]
fn an_entered_span_is_current_until_dropped() {
    let c = capture(|| {
        let guard = span("request").kind(SpanKind::Server).attribute("route", "/items").enter();
        leaf();
        guard.set_attribute("items", 3);
        drop(guard);
        leaf();
    });
    let request = c.span("request");
    assert_eq!(request.span_kind, SpanKind::Server);
    assert_eq!(request.attribute_str("route"), Some("/items"));
    assert_eq!(request.attribute("items"), Some(&3i64.into()));
    let leaves = c.all("leaf");
    assert!(leaves[0].is_child_of(request));
    assert!(leaves[1].is_root(), "after the guard dropped, leaf starts a new trace");
}

#[test]
fn finish_ends_the_span_like_ddtrace() {
    let c = capture(|| {
        let span = span("sandwich.create").enter();
        leaf();
        span.finish();
        assert!(!current_span().span_context().is_valid());
    });
    assert!(c.span("leaf").is_child_of(c.span("sandwich.create")));
}

#[test]
fn a_started_span_is_not_current() {
    let c = capture(|| {
        let background = span("background").start();
        leaf(); // not a child of `background`
        let child_id = std::thread::scope(|s| {
            s.spawn(|| {
                let _attached = background.context().clone().attach();
                leaf()
            })
            .join()
            .expect("thread")
        });
        background.end();
        child_id
    });
    let background = c.span("background");
    let leaves = c.all("leaf");
    assert!(leaves[0].is_root());
    assert!(leaves[1].is_child_of(background));
    assert_eq!(*c.result(), leaves[1].span_context.span_id().to_string());
}

#[traced]
fn deep() {
    current_root_span().set_attribute("set.from.deep", true);
    current_span().add_event("deep.event", [KeyValue::new("depth", 3)]);
}

#[traced]
fn middle() {
    deep();
}

#[traced]
fn top() {
    middle();
}

#[test]
fn current_root_span_is_the_local_root() {
    let c = capture(top);
    assert_eq!(c.span("top").attribute("set.from.deep"), Some(&true.into()));
    assert_eq!(c.span("deep").attribute("set.from.deep"), None);
    let event = c.span("deep").event("deep.event").expect("event recorded");
    assert_eq!(event.attributes, vec![KeyValue::new("depth", 3)]);
}

#[test]
fn current_root_span_of_a_manual_root() {
    let c = capture(|| {
        let _root = span("manual.root").enter();
        middle();
    });
    assert_eq!(c.span("manual.root").attribute("set.from.deep"), Some(&true.into()));
}

#[test]
fn handles_report_ids_and_recording() {
    let c = capture(|| {
        let guard = span("ids").enter();
        (guard.trace_id(), guard.span_id(), guard.is_recording())
    });
    let (trace_id, span_id, recording) = c.result().clone();
    assert!(recording);
    let span = c.span("ids");
    assert_eq!(trace_id, span.span_context.trace_id().to_string());
    assert_eq!(span_id, span.span_context.span_id().to_string());
    assert_eq!(trace_id.len(), 32);
    assert_eq!(span_id.len(), 16);
}

#[test]
fn status_name_and_links_through_handles() {
    let c = capture(|| {
        let trigger = span("trigger").start();
        let guard = span("batch").link(trigger.span_context()).enter();
        guard.update_name("batch.renamed");
        guard.set_status(Status::error("partial failure"));
        trigger.end();
    });
    let batch = c.span("batch.renamed");
    assert_eq!(batch.error_description(), Some("partial failure"));
    assert_eq!(batch.links.links.len(), 1);
    assert_eq!(batch.links.links[0].span_context.span_id(), c.span("trigger").span_context.span_id());
}

#[test]
fn a_guard_dropped_by_a_panic_marks_the_span() {
    let c = capture(|| {
        std::panic::catch_unwind(|| {
            let _guard = span("risky").enter();
            panic!("inside the guard");
        })
    });
    assert!(c.span("risky").is_error());
}

// --- service precedence (ddtrace): explicit, else nearest ancestor, else resource

#[traced(service = "billing")]
fn billing() {
    charge_card();
}

#[traced]
fn charge_card() {
    ledger();
}

#[traced(service = "ledger-db")]
fn ledger() {}

#[traced]
fn plain_entry() {
    billing();
}

#[test]
fn service_follows_ddtrace_precedence() {
    let c = Capturer::new().service_name("shop").capture(plain_entry);
    // Same service as the resource: no per-span attribute.
    assert_eq!(c.span("plain_entry").attribute("service.name"), None);
    assert_eq!(c.span("billing").attribute_str("service.name"), Some("billing"));
    // Inherited from the nearest ancestor with a service.
    assert_eq!(c.span("charge_card").attribute_str("service.name"), Some("billing"));
    assert_eq!(c.span("ledger").attribute_str("service.name"), Some("ledger-db"));
}

#[traced(service = "shop")]
fn same_as_resource() {}

#[test]
fn a_service_equal_to_the_resource_adds_nothing() {
    let c = Capturer::new().service_name("shop").capture(same_as_resource);
    assert_eq!(c.span("same_as_resource").attribute("service.name"), None);
}

#[test]
fn manual_spans_take_a_service_too() {
    let c = capture(|| {
        let _db = span("query").service("postgres").enter();
        leaf();
    });
    assert_eq!(c.span("query").attribute_str("service.name"), Some("postgres"));
    assert_eq!(c.span("leaf").attribute_str("service.name"), Some("postgres"));
}

#[test]
fn a_manual_new_root_stays_in_the_capture_and_shadows_the_callers_service() {
    let c = capture(|| {
        let _db = span("query").service("postgres").enter();
        let fresh = span("nightly").root().enter();
        leaf();
        fresh.finish();
    });
    let nightly = c.span("nightly");
    assert!(nightly.is_root(), "a new trace:\n{}", c.tree());
    assert_ne!(nightly.span_context.trace_id(), c.span("query").span_context.trace_id());
    assert_eq!(nightly.attribute("service.name"), None, "a new trace inherits no service");
    assert!(c.span("leaf").is_child_of(nightly));
    assert_eq!(c.span("leaf").attribute("service.name"), None);
}
