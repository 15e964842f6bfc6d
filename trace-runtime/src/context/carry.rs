//! Carrying the current span into work that runs elsewhere: spawned tasks,
//! threads and thread pools (OpenTelemetry Python's "start_span for concurrent
//! or asynchronous operations").

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::Context;
use pin_project_lite::pin_project;

pin_project! {
    /// A future that runs with a given span current on every poll, whichever
    /// thread polls it.
    ///
    /// Made by [`CurrentSpanExt::in_current_span`] or [`in_current_span`].
    ///
    /// ```
    /// use trace_runtime::CurrentSpanExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let task = async { trace_runtime::current_span().trace_id() };
    /// let handle = tokio::spawn(task.in_current_span());
    /// assert_eq!(handle.await.unwrap().len(), 32);
    /// # }
    /// ```
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct InSpan<F> {
        #[pin]
        future: F,
        context: Context,
    }
}

impl<F: Future> Future for InSpan<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _attached = this.context.clone().attach();
        this.future.poll(cx)
    }
}

/// Runs a future or closure elsewhere as a child of the span current now.
///
/// ```
/// use trace_runtime::{traced, CurrentSpanExt};
///
/// #[traced]
/// async fn fan_out() {
///     // Without `.in_current_span()` the spawned task would start a new trace.
///     let task = tokio::spawn(child_step().in_current_span());
///     task.await.unwrap();
/// }
///
/// #[traced]
/// async fn child_step() {}
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(fan_out());
/// ```
pub trait CurrentSpanExt: Sized {
    /// Binds the span current now: it becomes the parent of spans started
    /// inside, wherever this runs.
    fn in_current_span(self) -> InSpan<Self>;

    /// Binds the span of `handle` (for example one from [`crate::span`]`(..).start()`).
    fn in_span(self, handle: &crate::SpanHandle) -> InSpan<Self>;
}

impl<F: Future> CurrentSpanExt for F {
    fn in_current_span(self) -> InSpan<Self> {
        InSpan { future: self, context: Context::current() }
    }

    fn in_span(self, handle: &crate::SpanHandle) -> InSpan<Self> {
        InSpan { future: self, context: handle.context().clone() }
    }
}

/// The same as [`CurrentSpanExt::in_current_span`], as a function.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let out = tokio::spawn(trace_runtime::in_current_span(async { 1 + 1 })).await.unwrap();
/// assert_eq!(out, 2);
/// # }
/// ```
pub fn in_current_span<F: Future>(future: F) -> InSpan<F> {
    future.in_current_span()
}

/// Wraps a closure so that it runs with the span current now, on whatever
/// thread calls it: for `std::thread::spawn`, `rayon::spawn`/`rayon::join`
/// and other pools that run a closure once. For a closure a pool calls many
/// times (`par_iter().for_each(..)`), use [`run_in_span`] inside it.
///
/// ```
/// use trace_runtime::{bind_current_span, traced};
///
/// #[traced]
/// fn parent() {
///     let work = bind_current_span(|| trace_runtime::current_span().span_id());
///     let child_sees = std::thread::spawn(work).join().unwrap();
///     assert_eq!(child_sees, trace_runtime::current_span().span_id());
/// }
/// parent();
/// ```
pub fn bind_current_span<F, R>(f: F) -> impl FnOnce() -> R + Send
where
    F: FnOnce() -> R + Send,
{
    let context = Context::current();
    move || {
        let _attached = context.attach();
        f()
    }
}

/// The former name of [`bind_current_span`]: it spawns nothing, it binds a
/// closure to the span current now.
///
/// ```
/// #[allow(deprecated)]
/// let work = trace_runtime::spawn_context(|| 1 + 1);
/// assert_eq!(std::thread::spawn(work).join().unwrap(), 2);
/// ```
#[deprecated(note = "renamed to `bind_current_span`: it spawns nothing, it binds a closure to the current span")]
pub fn spawn_context<F, R>(f: F) -> impl FnOnce() -> R + Send
where
    F: FnOnce() -> R + Send,
{
    bind_current_span(f)
}

/// Runs `f` with `span` current, on this thread, and returns what it returns:
/// spans started inside are children of `span`.
///
/// This is the form for work a pool runs many times on many threads, such as
/// the closure of rayon's `par_iter().for_each(..)`: take the handle once with
/// [`current_span`](crate::current_span) (it is `Send + Sync` and cheap to
/// share), and enter it in each call.
///
/// ```
/// use trace_runtime::{current_span, run_in_span, traced};
///
/// #[traced]
/// fn resize_all(images: &[u32]) {
///     let parent = current_span();
///     std::thread::scope(|s| {
///         for image in images {
///             // With rayon: images.par_iter().for_each(|i| run_in_span(&parent, || resize(*i)))
///             s.spawn(|| run_in_span(&parent, || resize(*image)));
///         }
///     });
/// }
///
/// #[traced]
/// fn resize(image: u32) {}
/// resize_all(&[1, 2, 3]);
/// ```
pub fn run_in_span<R>(span: &crate::SpanHandle, f: impl FnOnce() -> R) -> R {
    let _attached = span.context().clone().attach();
    f()
}
