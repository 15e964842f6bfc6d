//! What a capture offers a test: names-only trees, typed attribute getters,
//! every event of a name, and assertions whose failures show the spans
//! involved, the whole capture, or a line diff.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use opentelemetry::KeyValue;
use trace_runtime::testing::{capture, Capture, SpanDataExt};
use trace_runtime::{current_span, traced};

#[traced(attrs(items = 3u32, total = 12.5, express = true, user = "ada"))]
fn checkout() {
    for attempt in 1..=3i64 {
        current_span().add_event("retry", [KeyValue::new("attempt", attempt)]);
    }
    charge();
    notify();
}

#[traced]
fn charge() {}

#[traced]
fn notify() {}

fn failure(f: impl FnOnce()) -> String {
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("the assertion must fail");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn captured() -> Capture {
    capture(checkout)
}

#[test]
fn names_tree_shows_the_shape_only() {
    let c = captured();
    assert_eq!(c.names_tree(), "checkout\n├─ charge\n└─ notify\n");
    c.assert_names_tree(
        "
        checkout
        ├─ charge
        └─ notify
        ",
    );
}

#[test]
fn typed_getters_return_plain_values() {
    let c = captured();
    let span = c.span("checkout");
    assert_eq!(span.attr_i64("items"), Some(3));
    assert_eq!(span.attr_f64("total"), Some(12.5));
    assert_eq!(span.attr_bool("express"), Some(true));
    assert_eq!(span.attr_str("user"), Some("ada"));
    // The wrong type or a missing key is None, not a panic.
    assert_eq!(span.attr_i64("user"), None);
    assert_eq!(span.attr_str("missing"), None);
}

#[test]
fn events_returns_every_event_of_a_name() {
    let c = captured();
    let retries = c.span("checkout").events("retry");
    let attempts: Vec<i64> = retries
        .iter()
        .map(|e| match e.attributes[0].value {
            opentelemetry::Value::I64(v) => v,
            _ => -1,
        })
        .collect();
    assert_eq!(attempts, [1, 2, 3]);
    assert!(c.span("checkout").events("nothing").is_empty());
}

#[test]
fn a_tree_mismatch_shows_a_line_diff() {
    let c = captured();
    let text = failure(|| c.assert_names_tree("checkout\n├─ charge\n└─ refund\n"));
    assert!(text.contains("- └─ refund\n+ └─ notify"), "{text}");
    assert!(text.contains("  checkout"), "unchanged lines are shown as context:\n{text}");
    assert!(!text.contains("\\n"), "lines, not an escaped one-line string:\n{text}");
}

#[test]
fn a_failed_parent_check_shows_both_spans_and_the_whole_capture() {
    let c = captured();
    let (child, parent) = c.assert_child_of("charge", "checkout");
    assert!(child.is_child_of(parent));
    let text = failure(|| {
        c.assert_child_of("charge", "notify");
    });
    assert!(text.contains("span \"charge\" is not a child of \"notify\": its parent is \"checkout\""), "{text}");
    assert!(text.contains(&format!("span {}", c.span("notify").span_context.span_id())), "{text}");
    assert!(text.contains("captured:\ncheckout\n"), "the whole tree:\n{text}");
    assert!(text.contains("items = 3"), "{text}");
}
