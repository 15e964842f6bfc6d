//! Every async shape: `async fn` in traits and their impls (native),
#![allow(clippy::unwrap_used)] // a panic is how a test reports
//! `#[async_trait]` with the attributes in either order, `fn -> impl Future`
//! returning an async block, `Box::pin(async move ..)`, `BoxFuture`-style
//! returns, and a future that is not the last expression. In each the span
//! covers the awaited work — children are its children, the result is
//! recorded — and not the construction of the future.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use trace_runtime::testing::{capture_async, Capture, SpanDataExt};
use trace_runtime::{current_span, traced};

#[traced]
async fn leaf() -> u32 {
    tokio::task::yield_now().await;
    1
}

#[traced]
fn sync_leaf() -> u32 {
    1
}

/// `name` was started and ended, has one child `leaf`, and `leaf` ended
/// inside it: the span covered the awaited work.
#[track_caller]
fn covers_awaited_work<R>(c: &Capture<R>, name: &str) {
    let span = c.span(name);
    let children = c.children_of(span);
    assert_eq!(children.iter().map(|s| s.name.as_ref()).collect::<Vec<_>>(), ["leaf"], "{}", c.tree());
    assert!(children[0].end_time <= span.end_time, "{}", c.tree());
}

// --- native async fn in traits ---------------------------------------------

trait Store {
    async fn get(&self, key: u32) -> Option<u32>;
    fn put(&self, key: u32) -> impl Future<Output = u32> + Send;
    async fn with_default(&self) -> u32 {
        self.default_body().await
    }
    async fn default_body(&self) -> u32;
}

struct Memory;

impl Store for Memory {
    #[traced(attrs(key))]
    async fn get(&self, key: u32) -> Option<u32> {
        Some(leaf().await + key)
    }

    #[traced(args)]
    fn put(&self, key: u32) -> impl Future<Output = u32> + Send {
        async move { leaf().await + key }
    }

    #[traced]
    async fn default_body(&self) -> u32 {
        leaf().await
    }
}

trait WithTracedDefault {
    #[traced(name = "default.method")]
    async fn run(&self) -> u32 {
        leaf().await
    }
}

impl WithTracedDefault for Memory {}

#[tokio::test]
async fn native_async_fn_in_traits_and_impls() {
    let c = capture_async(async {
        assert_eq!(Memory.get(1).await, Some(2));
        assert_eq!(Memory.put(2).await, 3);
        assert_eq!(Memory.with_default().await, 1);
        assert_eq!(Memory.run().await, 1);
    })
    .await;
    covers_awaited_work(&c, "get");
    assert_eq!(c.span("get").attribute("key"), Some(&Value::I64(1)));
    covers_awaited_work(&c, "put");
    assert_eq!(c.span("put").attribute("key"), Some(&Value::I64(2)));
    covers_awaited_work(&c, "default_body");
    covers_awaited_work(&c, "default.method");
}

/// The future of a traced trait method stays `Send` when the trait asks for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trait_futures_stay_send() {
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    let c = capture_async(async {
        let handle = tokio::spawn(trace_runtime::in_current_span(assert_send(Memory.put(5))));
        handle.await.unwrap()
    })
    .await;
    assert_eq!(*c.result(), 6);
    covers_awaited_work(&c, "put");
}

// --- #[async_trait] ----------------------------------------------------------

#[async_trait]
trait Repo: Send + Sync {
    async fn find(&self, id: u32) -> Result<u32, String>;
    async fn count(&self) -> usize;
}

struct Users {
    rows: Vec<u32>,
}

/// `#[traced]` on the methods: `#[async_trait]` (on the block) runs first,
/// so `#[traced]` sees `fn -> Pin<Box<dyn Future>>` with `Box::pin(async move ..)`.
#[async_trait]
impl Repo for Users {
    #[traced(attrs(rows = self.rows.len(), id), ret)]
    async fn find(&self, id: u32) -> Result<u32, String> {
        let found = leaf().await;
        self.rows.iter().copied().find(|r| *r == id).map(|r| r + found).ok_or_else(|| format!("no row {id}"))
    }

    #[traced]
    async fn count(&self) -> usize {
        usize::try_from(leaf().await).unwrap() * self.rows.len()
    }
}

struct Orders;

/// `#[traced]` on the block, before `#[async_trait]`: `#[traced]` runs first
/// and sees plain `async fn`s.
#[traced(args)]
#[async_trait]
impl Repo for Orders {
    async fn find(&self, id: u32) -> Result<u32, String> {
        leaf().await;
        Err(format!("order {id} is gone"))
    }

    async fn count(&self) -> usize {
        leaf().await as usize
    }
}

struct Carts;

/// `#[traced]` on the block, after `#[async_trait]`: `#[async_trait]` runs
/// first, `#[traced]` sees the boxed futures.
#[async_trait]
#[traced(args, kind = client)]
impl Repo for Carts {
    async fn find(&self, id: u32) -> Result<u32, String> {
        Ok(leaf().await + id)
    }

    #[traced(off)]
    async fn count(&self) -> usize {
        leaf().await as usize
    }
}

#[tokio::test]
async fn async_trait_methods_with_the_attribute_on_the_method() {
    let repo: Box<dyn Repo> = Box::new(Users { rows: vec![4, 5] });
    let c = capture_async(async move {
        assert_eq!(repo.find(5).await, Ok(6));
        assert_eq!(repo.find(9).await, Err("no row 9".to_owned()));
        assert_eq!(repo.count().await, 2);
    })
    .await;
    let finds = c.all("find");
    assert_eq!(finds.len(), 2, "{}", c.tree());
    for find in &finds {
        assert_eq!(c.children_of(find).len(), 1);
        assert_eq!(find.attribute("rows"), Some(&Value::I64(2)));
    }
    assert_eq!(finds[0].attribute("id"), Some(&Value::I64(5)));
    assert_eq!(finds[0].attribute("return.value"), Some(&Value::I64(6)));
    assert_eq!(finds[1].error_description(), Some("no row 9"));
    covers_awaited_work(&c, "count");
}

#[tokio::test]
async fn async_trait_impl_block_traced_before_async_trait() {
    let repo: Box<dyn Repo> = Box::new(Orders);
    let c = capture_async(async move {
        assert!(repo.find(3).await.is_err());
        repo.count().await
    })
    .await;
    covers_awaited_work(&c, "Orders::find");
    covers_awaited_work(&c, "Orders::count");
    let find = c.span("Orders::find");
    assert_eq!(find.attribute("id"), Some(&Value::I64(3)));
    assert_eq!(find.error_description(), Some("order 3 is gone"));
}

#[tokio::test]
async fn async_trait_impl_block_traced_after_async_trait() {
    let repo: Box<dyn Repo> = Box::new(Carts);
    let c = capture_async(async move {
        assert_eq!(repo.find(1).await, Ok(2));
        repo.count().await
    })
    .await;
    covers_awaited_work(&c, "Carts::find");
    let find = c.span("Carts::find");
    assert_eq!(find.attribute("id"), Some(&Value::I64(1)));
    assert_eq!(find.span_kind, opentelemetry::trace::SpanKind::Client);
    // `count` is `off`: its `leaf` is a root of its own.
    assert!(c.find("Carts::count").is_none());
    assert!(c.all("leaf").iter().any(|s| s.is_root()), "{}", c.tree());
}

// --- functions returning futures ---------------------------------------------

#[traced(args)]
fn impl_future(n: u32) -> impl Future<Output = u32> {
    async move { leaf().await + n }
}

#[traced]
fn boxed_future(n: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move { leaf().await + n })
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[traced(attrs(len = name.len()))]
fn box_future_alias(name: &str) -> BoxFuture<'_, usize> {
    Box::pin(async move { leaf().await as usize + name.len() })
}

/// The future is bound first, returned later.
#[traced(ret)]
fn not_the_last_expression(n: u32) -> impl Future<Output = u32> {
    let doubled = n * 2;
    let future = async move { leaf().await + doubled };
    sync_leaf();
    future
}

/// Returned early with `return`.
#[traced]
fn early_return(fast: bool) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    if fast {
        return Box::pin(async { 0 });
    }
    Box::pin(async { leaf().await })
}

#[traced]
fn unpin_future() -> impl Future<Output = u32> + Unpin {
    Box::pin(async { leaf().await })
}

#[traced]
fn ready_future() -> impl Future<Output = Result<u32, String>> {
    std::future::ready(Err("not ready".to_owned()))
}

#[tokio::test]
async fn fn_returning_impl_future_async_block() {
    let c = capture_async(impl_future(1)).await;
    assert_eq!(*c.result(), 2);
    covers_awaited_work(&c, "impl_future");
    assert_eq!(c.span("impl_future").attribute("n"), Some(&Value::I64(1)));
}

#[tokio::test]
async fn fn_returning_box_pin_async_move() {
    let c = capture_async(async {
        assert_eq!(boxed_future(2).await, 3);
        assert_eq!(box_future_alias("abc").await, 4);
    })
    .await;
    covers_awaited_work(&c, "boxed_future");
    covers_awaited_work(&c, "box_future_alias");
    assert_eq!(c.span("box_future_alias").attribute("len"), Some(&Value::I64(3)));
}

#[tokio::test]
async fn a_future_that_is_not_the_last_expression() {
    let c = capture_async(async {
        assert_eq!(not_the_last_expression(2).await, 5);
        assert_eq!(early_return(true).await, 0);
        assert_eq!(early_return(false).await, 1);
        assert_eq!(unpin_future().await, 1);
        assert!(ready_future().await.is_err());
    })
    .await;
    covers_awaited_work(&c, "not_the_last_expression");
    let span = c.span("not_the_last_expression");
    assert_eq!(span.attribute("return.value"), Some(&Value::I64(5)));
    // The construction ran before the span: its `sync_leaf` is not a child.
    assert!(!c.span("sync_leaf").is_child_of(span), "{}", c.tree());
    let early = c.all("early_return");
    assert!(c.children_of(early[0]).is_empty());
    assert_eq!(c.children_of(early[1]).len(), 1);
    covers_awaited_work(&c, "unpin_future");
    assert_eq!(c.span("ready_future").error_description(), Some("not ready"));
}

// --- the span covers the awaited work, not the construction -------------------

#[traced]
async fn async_fn_step() -> u32 {
    leaf().await
}

fn started(span: &SpanData) -> SystemTime {
    span.start_time
}

#[tokio::test]
async fn the_span_starts_on_first_poll_not_at_construction() {
    let c = capture_async(async {
        let futures = (async_fn_step(), impl_future(0), boxed_future(0), Memory.get(0));
        let built = SystemTime::now();
        std::thread::sleep(Duration::from_millis(20));
        let (a, b, c, d) = futures;
        (a.await, b.await, c.await, d.await, built)
    })
    .await;
    let built = c.result().4;
    for name in ["async_fn_step", "impl_future", "boxed_future", "get"] {
        let span = c.span(name);
        assert!(started(span) >= built + Duration::from_millis(20), "{name} started at construction");
    }
}

#[tokio::test]
async fn a_future_never_polled_starts_no_span() {
    let c = capture_async(async {
        drop(async_fn_step());
        drop(impl_future(0));
        drop(boxed_future(0));
        drop(Users { rows: vec![] }.count());
        current_span().span_id()
    })
    .await;
    assert!(c.spans().is_empty(), "{}", c.tree());
}

// --- a future made before it is awaited ------------------------------------------

#[tokio::test]
async fn a_lone_async_block_behaves_exactly_like_an_async_fn() {
    // The future is made before the capture starts and awaited inside it: as
    // for an `async fn`, the span and its attributes belong to the first poll.
    let repo = Users { rows: vec![5] };
    let c = capture_async(impl_future(7)).await;
    assert_eq!(c.span("impl_future").attribute("n"), Some(&Value::I64(7)));
    let c = capture_async(repo.find(5)).await;
    assert_eq!(c.span("find").attribute("id"), Some(&Value::I64(5)));
    let c = capture_async(boxed_future(1)).await;
    covers_awaited_work(&c, "boxed_future");
}

#[async_trait(?Send)]
trait LocalRepo {
    async fn local(&self, id: u32) -> u32;
}

struct Local(std::rc::Rc<u32>);

#[async_trait(?Send)]
#[traced(args)]
impl LocalRepo for Local {
    async fn local(&self, id: u32) -> u32 {
        leaf().await + id + *self.0
    }
}

#[tokio::test]
async fn async_trait_without_send() {
    let local = Local(std::rc::Rc::new(1));
    let c = capture_async(async { local.local(2).await }).await;
    assert_eq!(*c.result(), 4);
    covers_awaited_work(&c, "Local::local");
    assert_eq!(c.span("Local::local").attribute("id"), Some(&Value::I64(2)));
}
