//! Async that holds up in production: on a multi-threaded tokio runtime,
//! with tasks moving between worker threads, `join!`/`select!` of several
//! traced futures and traced futures inside traced futures, every span has
//! the right parent and nothing leaks between tasks. Spawned work (tokio
//! tasks, threads, pool closures) is a child when the span is carried into
//! it. A traced future dropped before completion still ends its span, marked
//! as cancelled.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context as TaskContext, Waker};
use std::thread::ThreadId;
use std::time::Duration;

use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, Value};
use opentelemetry_sdk::trace::SpanData;
use trace_runtime::testing::{capture, capture_async, Capture, SpanDataExt};
use trace_runtime::{bind_current_span, current_span, in_current_span, run_in_span, traced, CurrentSpanExt};

fn id_of(span: &SpanData) -> i64 {
    match span.attribute("id") {
        Some(Value::I64(id)) => *id,
        other => panic!("span {} has no id: {other:?}", span.name),
    }
}

/// Every span named `child` has a parent named `parent` with the same `id`.
#[track_caller]
fn children_match_parents<R>(c: &Capture<R>, parent: &str, child: &str) {
    for span in c.all(child) {
        let up = c.parent_of(span).unwrap_or_else(|| panic!("{child} has no parent:\n{}", c.tree()));
        assert_eq!(up.name, parent);
        assert_eq!(id_of(up), id_of(span), "{child} {} under the wrong {parent}", id_of(span));
        assert_eq!(up.span_context.trace_id(), span.span_context.trace_id());
    }
}

static THREADS: Mutex<Vec<ThreadId>> = Mutex::new(Vec::new());

/// Checks after every await that the current span is still this one.
#[traced(attrs(id))]
async fn step(id: u32) -> bool {
    let me = current_span().span_id();
    let mut ok = true;
    for round in 0..5 {
        if round % 2 == 0 {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        THREADS.lock().unwrap().push(std::thread::current().id());
        ok &= current_span().span_id() == me;
    }
    ok
}

#[traced(attrs(id))]
async fn request(id: u32) -> bool {
    let me = current_span().span_id();
    let first = step(id).await;
    let (a, b) = tokio::join!(step(id), step(id));
    let still_me = current_span().span_id() == me;
    first && a && b && still_me
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_tasks_moving_between_threads_keep_their_parents() {
    const TASKS: u32 = 64;
    let c = capture_async(async {
        let handles: Vec<_> = (0..TASKS).map(|id| tokio::spawn(request(id).in_current_span())).collect();
        let mut all_ok = true;
        for handle in handles {
            all_ok &= handle.await.unwrap();
        }
        all_ok
    })
    .await;
    assert!(*c.result(), "a span was not current after an await");
    assert_eq!(c.all("request").len(), TASKS as usize);
    assert_eq!(c.all("step").len(), 3 * TASKS as usize);
    children_match_parents(&c, "request", "step");
    // All requests are separate roots under the capture, each its own trace.
    let traces: HashSet<_> = c.all("request").iter().map(|s| s.span_context.trace_id()).collect();
    assert_eq!(traces.len(), TASKS as usize);
    let threads: HashSet<_> = THREADS.lock().unwrap().iter().copied().collect();
    assert!(threads.len() > 1, "the test did not run on several worker threads");
}

#[traced(attrs(id))]
async fn idle(id: u32) {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_leaks_into_other_tasks() {
    let c = capture_async(async {
        // A plain task polled on the same workers sees no span of ours.
        let watcher = tokio::spawn(async {
            let mut seen = 0;
            for _ in 0..200 {
                if Context::current().has_active_span() {
                    seen += 1;
                }
                tokio::task::yield_now().await;
            }
            seen
        });
        let workers: Vec<_> = (0..16).map(|id| tokio::spawn(idle(id).in_current_span())).collect();
        for worker in workers {
            worker.await.unwrap();
        }
        watcher.await.unwrap()
    })
    .await;
    assert_eq!(*c.result(), 0, "a traced span was current in an unrelated task");
    assert_eq!(c.all("idle").len(), 16);
}

#[test]
fn a_pending_traced_future_leaves_nothing_current() {
    let c = capture(|| {
        let mut future = Box::pin(step(1));
        let mut cx = TaskContext::from_waker(Waker::noop());
        assert!(future.as_mut().poll(&mut cx).is_pending());
        // Between polls the span is not current here.
        let leaked = Context::current().span().span_context().is_valid();
        drop(future);
        leaked
    });
    assert!(!c.result());
}

// --- nesting, join!, select! ------------------------------------------------

#[traced(attrs(id = depth))]
fn nested(depth: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move {
        if depth == 0 {
            return 0;
        }
        tokio::task::yield_now().await;
        let (a, b) = tokio::join!(nested(depth - 1), leaf_at(depth));
        a + b
    })
}

#[traced(attrs(id = depth))]
async fn leaf_at(depth: u32) -> u32 {
    tokio::task::yield_now().await;
    depth
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn traced_futures_inside_traced_futures() {
    let c = capture_async(async { tokio::spawn(nested(4).in_current_span()).await.unwrap() }).await;
    assert_eq!(*c.result(), 10);
    // join! polls `nested(d - 1)` first, so both start in the same poll:
    // check the structure, not the order.
    for span in c.all("nested") {
        let depth = id_of(span);
        let mut children: Vec<_> = c.children_of(span).iter().map(|s| (s.name.to_string(), id_of(s))).collect();
        children.sort();
        if depth == 0 {
            assert!(children.is_empty(), "{}", c.tree());
        } else {
            assert_eq!(children, [("leaf_at".to_owned(), depth), ("nested".to_owned(), depth - 1)], "{}", c.tree());
        }
    }
    assert_eq!(c.roots().len(), 1);
}

#[traced]
async fn fast() -> &'static str {
    tokio::task::yield_now().await;
    "fast"
}

#[traced]
async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "slow"
}

#[traced]
async fn race() -> &'static str {
    tokio::select! {
        winner = fast() => winner,
        winner = slow() => winner,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loser_of_a_select_ends_its_span_as_cancelled() {
    let c = capture_async(race()).await;
    assert_eq!(*c.result(), "fast");
    let race = c.span("race");
    let slow = c.span("slow");
    assert!(slow.is_child_of(race) && c.span("fast").is_child_of(race), "{}", c.tree());
    assert_eq!(slow.attribute("traced.cancelled"), Some(&Value::Bool(true)));
    assert!(slow.event("cancelled").is_some());
    assert!(slow.end_time <= race.end_time);
    assert_eq!(c.span("fast").attribute("traced.cancelled"), None);
    assert!(!slow.is_error(), "a cancelled span is not an error");
}

#[traced]
fn slow_boxed() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async { tokio::time::sleep(Duration::from_secs(30)).await })
}

#[tokio::test]
async fn a_timed_out_future_ends_its_span_as_cancelled() {
    let c = capture_async(async {
        let a = tokio::time::timeout(Duration::from_millis(5), slow()).await;
        let b = tokio::time::timeout(Duration::from_millis(5), slow_boxed()).await;
        a.is_err() && b.is_err()
    })
    .await;
    assert!(*c.result());
    for name in ["slow", "slow_boxed"] {
        let span = c.span(name);
        assert_eq!(span.attribute("traced.cancelled"), Some(&Value::Bool(true)), "{name}");
        assert!(span.event("cancelled").is_some(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_task_ends_its_span_as_cancelled() {
    let c = capture_async(async {
        let task = tokio::spawn(slow().in_current_span());
        tokio::time::sleep(Duration::from_millis(5)).await;
        task.abort();
        task.await.unwrap_err().is_cancelled()
    })
    .await;
    assert!(*c.result());
    assert_eq!(c.span("slow").attribute("traced.cancelled"), Some(&Value::Bool(true)));
}

// --- carrying the span into spawned work ---------------------------------------

#[traced(attrs(id))]
async fn task_child(id: u32) {
    tokio::task::yield_now().await;
}

#[traced(attrs(id))]
fn sync_child(id: u32) {}

#[traced(attrs(id = 1))]
async fn spawns_tokio_tasks() {
    let handles = vec![
        tokio::spawn(task_child(1).in_current_span()),
        tokio::spawn(in_current_span(task_child(1))),
        tokio::spawn(task_child(1).in_span(&current_span())),
    ];
    for handle in handles {
        handle.await.unwrap();
    }
    // spawn_blocking with the span carried in.
    tokio::task::spawn_blocking(bind_current_span(|| sync_child(1))).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_spawn_and_spawn_blocking_make_children() {
    let c = capture_async(spawns_tokio_tasks()).await;
    assert_eq!(c.all("task_child").len(), 3, "{}", c.tree());
    children_match_parents(&c, "spawns_tokio_tasks", "task_child");
    children_match_parents(&c, "spawns_tokio_tasks", "sync_child");
}

#[traced(attrs(id = 2))]
async fn spawns_without_carrying() {
    tokio::spawn(task_child(2)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_spawned_without_the_span_is_not_its_child() {
    let c = capture_async(spawns_without_carrying()).await;
    // It did not inherit the context: it is not in this trace (nor in the capture).
    assert!(c.find("task_child").is_none(), "{}", c.tree());
}

#[traced(attrs(id = 3))]
fn spawns_threads() {
    let handles: Vec<_> = (0..4).map(|_| std::thread::spawn(bind_current_span(|| sync_child(3)))).collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

#[test]
fn std_thread_spawn_makes_children() {
    let c = capture(spawns_threads);
    assert_eq!(c.all("sync_child").len(), 4);
    children_match_parents(&c, "spawns_threads", "sync_child");
}

#[traced(attrs(id = 4))]
fn fans_out_to_a_pool(items: &[u32]) -> u32 {
    // What rayon's `items.par_iter().map(..)` does: one closure, called many
    // times, on several threads at once.
    let parent = current_span();
    let work = |item: &u32| run_in_span(&parent, || pool_item(4, *item));
    std::thread::scope(|scope| {
        let chunks: Vec<_> = items.chunks(3).map(|chunk| scope.spawn(|| chunk.iter().map(work).sum::<u32>())).collect();
        chunks.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

#[traced(attrs(id))]
fn pool_item(id: u32, item: u32) -> u32 {
    item * 2
}

#[test]
fn pool_closures_called_many_times_make_children() {
    let items: Vec<u32> = (1..=12).collect();
    let c = capture(|| fans_out_to_a_pool(&items));
    assert_eq!(*c.result(), 156);
    assert_eq!(c.all("pool_item").len(), 12);
    children_match_parents(&c, "fans_out_to_a_pool", "pool_item");
}

#[traced(attrs(id = 5))]
fn outlived_by_its_task() -> tokio::task::JoinHandle<()> {
    tokio::spawn(task_child(5).in_current_span())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_task_may_outlive_its_parent_span() {
    let c = capture_async(async {
        let handle = outlived_by_its_task();
        handle.await.unwrap();
    })
    .await;
    children_match_parents(&c, "outlived_by_its_task", "task_child");
}
