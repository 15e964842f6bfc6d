//! Own binary: sets the global `tracing` subscriber.
//!
//! `tracing` + `tracing-opentelemetry` next to `#[traced]`: spans of either
//! nest under spans of the other, both ways, sync and async, as long as the
//! tracing layer's tracer comes from `opentelemetry::global::tracer(..)`
//! (the global slot holds traced's router) and is built after traced is
//! active (here: after the first capture; in an application: after
//! `init().install()`).
//!
//! Its own file: it sets the process-wide tracing subscriber.
//!
//! For users who keep tracing-opentelemetry; the built-in
//! `trace_runtime::tracing_layer()` needs none of this and also records
//! events directly inside `#[traced]` spans (`tests/tracing_layer.rs`).

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::sync::Once;

use opentelemetry::trace::TraceContextExt;
use trace_runtime::testing::{capture, capture_async, SpanDataExt};
use trace_runtime::traced;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Make traced resolve its dispatch (puts its router in the global
        // slot) before the layer takes its tracer from there.
        let _ = capture(|| ());
        let layer = tracing_opentelemetry::layer().with_tracer(opentelemetry::global::tracer("tracing"));
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer)).unwrap();
    });
}

#[traced]
fn traced_outer() {
    let span = tracing::info_span!("tracing_inner", answer = 42);
    span.in_scope(|| {
        tracing::info!(step = "inside", "a tracing event inside a tracing span");
        traced_leaf();
    });
}

#[traced]
fn traced_leaf() {}

#[test]
fn tracing_spans_nest_under_traced_spans_and_the_other_way_round() {
    setup();
    let c = capture(traced_outer);
    assert_eq!(c.names(), ["traced_outer", "tracing_inner", "traced_leaf"], "{}", c.tree());
    let outer = c.span("traced_outer");
    let inner = c.span("tracing_inner");
    let leaf = c.span("traced_leaf");
    assert!(inner.is_child_of(outer), "{}", c.tree());
    assert!(leaf.is_child_of(inner), "{}", c.tree());
    assert_eq!(inner.attribute("answer"), Some(&42_i64.into()));
    // Events of `tracing` land on the enclosing tracing span.
    let event = inner.events.events.iter().find(|e| e.name.contains("a tracing event")).expect("event");
    assert!(event.attributes.iter().any(|kv| kv.key.as_str() == "step"));
}

#[test]
fn a_tracing_root_span_is_the_parent_of_traced_spans() {
    setup();
    let c = capture(|| {
        let root = tracing::info_span!("tracing_root");
        let _entered = root.enter();
        traced_leaf();
    });
    let root = c.span("tracing_root");
    assert!(c.span("traced_leaf").is_child_of(root), "{}", c.tree());
    assert!(root.is_root());
}

#[test]
fn traced_ids_are_the_tracing_spans_ids() {
    setup();
    let c = capture(|| {
        let span = tracing::info_span!("tracing_current");
        let _entered = span.enter();
        // current_span() sees the tracing span: log correlation works under it.
        (trace_runtime::current_span().span_id(), trace_runtime::log_ids().to_string())
    });
    let (span_id, ids) = c.result();
    let span = c.span("tracing_current");
    assert_eq!(*span_id, span.span_context.span_id().to_string());
    assert!(ids.contains(&span_id.to_string()));
}

#[tokio::test]
async fn async_both_ways() {
    setup();

    #[traced]
    async fn traced_async() {
        tracing_async().instrument(tracing::info_span!("tracing_async")).await;
    }

    async fn tracing_async() {
        tokio::task::yield_now().await;
        traced_async_leaf().await;
    }

    #[traced]
    async fn traced_async_leaf() {
        tokio::task::yield_now().await;
        let cx = opentelemetry::Context::current();
        assert!(cx.has_active_span());
    }

    let c = capture_async(traced_async()).await;
    let outer = c.span("traced_async");
    let middle = c.span("tracing_async");
    let leaf = c.span("traced_async_leaf");
    assert!(middle.is_child_of(outer), "{}", c.tree());
    assert!(leaf.is_child_of(middle), "{}", c.tree());
}

#[test]
fn a_tracing_event_outside_any_tracing_span_is_not_a_span_event() {
    // The documented boundary: tracing-opentelemetry attaches events to the
    // current *tracing* span only. Directly inside a #[traced] span, use
    // current_span().add_event(..) instead.
    setup();
    #[traced]
    fn only_traced() {
        tracing::info!("not recorded on the traced span");
        trace_runtime::current_span().add_event("recorded", []);
    }
    let c = capture(only_traced);
    let span = c.span("only_traced");
    let names: Vec<&str> = span.events.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(names, ["recorded"]);
}
