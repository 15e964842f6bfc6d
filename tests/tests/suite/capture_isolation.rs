//! `testing::capture` sees exactly the spans started inside it, even while
//! many captures run at once on several threads in this one process.

use std::sync::{Arc, Barrier};

use opentelemetry::trace::Tracer;
use trace_runtime::testing::{capture, capture_async, SpanDataExt};
use trace_runtime::{bind_current_span, traced, CurrentSpanExt};

#[traced(attrs(worker = worker, round = round))]
fn job(worker: usize, round: usize) {
    step(worker);
    // A raw OpenTelemetry span from a library that knows nothing of traced.
    opentelemetry::global::tracer("raw").in_span(format!("raw-{worker}"), |_| {});
}

#[traced(attrs(worker = worker))]
fn step(worker: usize) {}

#[test]
fn parallel_captures_each_see_only_their_own_spans() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 50;
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|worker| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                for round in 0..ROUNDS {
                    let c = capture(|| job(worker, round));
                    assert_eq!(c.spans().len(), 3, "worker {worker} round {round}:\n{}", c.tree());
                    let raw_name = format!("raw-{worker}");
                    for span in c.spans() {
                        let ok = match span.name.as_ref() {
                            "job" => {
                                span.attribute("worker") == Some(&(worker as i64).into())
                                    && span.attribute("round") == Some(&(round as i64).into())
                            }
                            "step" => span.attribute("worker") == Some(&(worker as i64).into()),
                            name => name == raw_name,
                        };
                        assert!(ok, "worker {worker} saw a foreign span:\n{}", c.tree());
                    }
                    assert!(c.span("step").is_child_of(c.span("job")));
                    assert!(c.span(&raw_name).is_child_of(c.span("job")));
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("a capture thread failed");
    }
}

#[test]
fn spans_outside_any_capture_are_not_captured() {
    // Another thread traces continuously while we capture.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let noisy = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                step(99);
            }
        })
    };
    let c = capture(|| step(1));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    noisy.join().expect("noisy thread");
    assert_eq!(c.names(), ["step"]);
}

#[test]
fn threads_that_inherit_the_context_are_captured() {
    let c = capture(|| {
        let work = bind_current_span(|| step(2));
        std::thread::spawn(work).join().expect("child thread");
        // A thread started without the context belongs to no capture.
        std::thread::spawn(|| step(3)).join().expect("plain thread");
    });
    assert_eq!(c.names(), ["step"]);
    assert_eq!(c.span("step").attribute("worker"), Some(&2i64.into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_async_captures_are_isolated() {
    let tasks: Vec<_> = (0..16usize)
        .map(|worker| {
            tokio::spawn(async move {
                let c = capture_async(async move {
                    let child = tokio::spawn(async move { step(worker) }.in_current_span());
                    child.await.expect("child task");
                    tokio::task::yield_now().await;
                    job(worker, 0);
                })
                .await;
                assert_eq!(c.all("step").len(), 2, "{}", c.tree());
                for span in c.spans() {
                    if let Some(w) = span.attribute("worker") {
                        assert_eq!(w, &(worker as i64).into(), "{}", c.tree());
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("capture task");
    }
}

#[test]
fn nested_captures_keep_spans_apart() {
    let outer = capture(|| {
        step(1);
        let inner = capture(|| step(2));
        assert_eq!(inner.spans().len(), 1);
        assert_eq!(inner.span("step").attribute("worker"), Some(&2i64.into()));
    });
    assert_eq!(outer.spans().len(), 1);
    assert_eq!(outer.span("step").attribute("worker"), Some(&1i64.into()));
}

#[test]
fn a_failing_lookup_prints_what_was_captured() {
    let c = capture(|| step(5));
    let message = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        c.span("nope");
    }))
    .expect_err("lookup must fail");
    let text = message.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.contains("no span named \"nope\"") && text.contains("step"), "{text}");
}
