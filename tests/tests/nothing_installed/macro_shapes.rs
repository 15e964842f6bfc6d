//! With nothing installed, every shape and argument of `#[traced]` runs the
//! function unchanged and evaluates none of the user's expressions (`attrs`,
//! `links`, `parent`): the single check on the hot path comes first. A file
//! of its own: nothing else may install a provider or open a capture.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};

use opentelemetry::trace::SpanContext;
use opentelemetry::Context;
use trace_runtime::{current_span, traced};

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn counted<T>(value: T) -> T {
    EVALUATED.fetch_add(1, Ordering::SeqCst);
    value
}

#[traced(attrs(n = counted(n)), args, ret, links = counted(SpanContext::empty_context()), parent = counted(Context::new()))]
fn sync(n: u32) -> Result<u32, std::io::Error> {
    assert!(!current_span().is_recording());
    Ok(n)
}

#[traced(attrs(n = counted(n)), args, ret, links = counted(Vec::<Context>::new()), parent = None)]
async fn asynchronous(n: u32) -> u32 {
    tokio::task::yield_now().await;
    n
}

#[traced(attrs(n = counted(n)), args, ret(?), parent = counted(Some(Context::new())))]
fn lone_block(n: u32) -> impl Future<Output = u32> {
    async move { n }
}

#[traced(attrs(n = counted(n)), args, ret(%), links = counted([SpanContext::empty_context()]))]
fn general(n: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    let m = n + 1;
    Box::pin(async move { m })
}

struct Service;

#[traced(attrs(k = counted(1)), args)]
impl Service {
    fn handle(&self, n: u32) -> u32 {
        n
    }
}

#[test]
fn nothing_is_evaluated_and_everything_runs() {
    assert_eq!(sync(1).ok(), Some(1));
    assert_eq!(Service.handle(2), 2);
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    assert_eq!(rt.block_on(asynchronous(3)), 3);
    assert_eq!(rt.block_on(lone_block(4)), 4);
    assert_eq!(rt.block_on(general(5)), 6);
    assert_eq!(EVALUATED.load(Ordering::SeqCst), 0, "an expression ran with nothing recording");
}
