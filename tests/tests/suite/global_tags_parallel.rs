//! Global tags set inside a capture apply to that capture's spans and no
//! other's, while many tests set and change tags at the same time.
//! (Process-wide tags, set outside any capture, are in `global_tags.rs`.)

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::sync::{Arc, Barrier};

use opentelemetry::trace::Tracer;
use trace_runtime::testing::{capture, capture_async, SpanDataExt};
use trace_runtime::{bind_current_span, clear_global_tags, global_tags, set_global_tag, traced};

#[traced(attrs(n = n))]
fn work(n: i64) {
    step();
}

#[traced]
fn step() {}

#[test]
fn tags_set_in_parallel_captures_stay_in_their_capture() {
    const THREADS: i64 = 8;
    const ROUNDS: i64 = 40;
    let start = Arc::new(Barrier::new(THREADS as usize));
    let handles: Vec<_> = (0..THREADS)
        .map(|worker| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                for round in 0..ROUNDS {
                    let c = capture(|| {
                        // Odd workers set tags, even ones never do.
                        if worker % 2 == 1 {
                            set_global_tag("worker", worker);
                            set_global_tag("round", round);
                        }
                        work(worker);
                    });
                    let expected = if worker % 2 == 1 {
                        format!("work\n│  worker = {worker}\n│  round = {round}\n│  n = {worker}\n└─ step\n      worker = {worker}\n      round = {round}\n")
                    } else {
                        format!("work\n│  n = {worker}\n└─ step\n")
                    };
                    c.assert_tree(&expected);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

#[test]
fn a_tag_changed_inside_a_capture_applies_from_then_on() {
    let c = capture(|| {
        set_global_tag("phase", "one");
        work(1);
        set_global_tag("phase", "two");
        // Raw OpenTelemetry spans and threads that inherit the context too.
        opentelemetry::global::tracer("raw").in_span("raw", |_| {});
        std::thread::spawn(bind_current_span(step)).join().unwrap();
        assert_eq!(global_tags().len(), 1, "the capture's view");
        set_global_tag("phase", None::<&str>);
        work(3);
    });
    let works = c.all("work");
    assert_eq!(works[0].attr_str("phase"), Some("one"));
    assert_eq!(c.span("raw").attr_str("phase"), Some("two"));
    let thread_step = c.all("step").into_iter().find(|s| s.parent_span_id == opentelemetry::trace::SpanId::INVALID);
    assert_eq!(thread_step.unwrap().attr_str("phase"), Some("two"));
    assert_eq!(works[1].attr_str("phase"), None);
    // Outside the capture nothing was set.
    assert!(global_tags().iter().all(|kv| kv.key.as_str() != "phase"));
}

#[test]
fn clearing_inside_a_capture_leaves_other_captures_alone() {
    let start = Arc::new(Barrier::new(2));
    let other = {
        let start = Arc::clone(&start);
        std::thread::spawn(move || {
            capture(|| {
                set_global_tag("team", "search");
                start.wait(); // the neighbour clears now
                start.wait();
                work(2);
            })
        })
    };
    let c = capture(|| {
        set_global_tag("team", "payments");
        start.wait();
        clear_global_tags();
        start.wait();
        work(1);
    });
    assert_eq!(c.span("work").attribute("team"), None);
    assert_eq!(other.join().unwrap().span("work").attr_str("team"), Some("search"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn async_captures_keep_their_tags_across_awaits_and_tasks() {
    let tasks: Vec<_> = (0..12i64)
        .map(|i| {
            tokio::spawn(async move {
                let c = capture_async(async move {
                    set_global_tag("task", i);
                    tokio::task::yield_now().await;
                    let child = tokio::spawn(trace_runtime::CurrentSpanExt::in_current_span(async move { work(i) }));
                    child.await.unwrap();
                })
                .await;
                assert_eq!(c.spans().len(), 2, "{}", c.tree());
                for span in c.spans() {
                    assert_eq!(span.attr_i64("task"), Some(i), "{}", c.tree());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}
