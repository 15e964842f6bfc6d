//! One export pipeline: a bounded queue the application's threads put
//! finished spans into, and one thread of its own that takes them out in
//! batches and hands them to the exporter.
//!
//! This replaces the SDK's batch processor to keep three promises it does
//! not: the exporter is only ever called (and dropped) on the pipeline's own
//! thread, inside `catch_unwind`, so a panicking exporter never panics the
//! application; flush and shutdown wait at most their deadline, whatever the
//! exporter does; and every span is counted exactly once (see `tally.rs`),
//! an export still running at the deadline being counted when it returns.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

use super::report::{LastCause, Reporter};
use super::split;
use super::tally::{Loss, Tally};
use super::wait;

/// How one pipeline batches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_queue: usize,
    pub(crate) max_batch: usize,
    pub(crate) delay: Duration,
    pub(crate) max_bytes: usize,
    /// How long `force_flush` from the SDK may wait.
    pub(crate) flush_timeout: Duration,
}

/// What the application's threads and the pipeline's thread share.
#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the worker (a full batch, a flush, shutdown).
    wake_worker: Condvar,
    /// Wakes those waiting on the worker (flush done, worker gone).
    wake_waiters: Condvar,
    /// Spans started and not ended, times two, plus 1 once closed: one
    /// atomic word so that a span open at shutdown is counted exactly once,
    /// at close, whichever comes first.
    open: AtomicU64,
    tally: Arc<Tally>,
    limits: Limits,
}

#[derive(Debug, Default)]
struct Queue {
    spans: VecDeque<SpanData>,
    /// Accepts no more spans; the worker drains what is queued and stops.
    closed: bool,
    /// When shutdown gives up waiting on the worker.
    deadline: Option<Instant>,
    /// Shutdown gave up: what is queued was counted lost, take nothing more.
    abandoned: bool,
    flush_requested: u64,
    flush_done: u64,
    worker_done: bool,
    /// Set when the pipeline's thread could not be started.
    no_worker: bool,
    /// Given by the provider before any span; the worker hands it on.
    resource: Option<Resource>,
}

const CLOSED: u64 = 1;
const ONE_OPEN: u64 = 2;

/// The span processor of one exporter. Cloning shares the pipeline.
#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    shared: Arc<Shared>,
}

impl Pipeline {
    /// Starts the pipeline's thread, which owns `exporter` from now on.
    pub(crate) fn start<E: SpanExporter + 'static>(
        exporter: E,
        tally: Arc<Tally>,
        limits: Limits,
        cause: Option<Arc<LastCause>>,
    ) -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake_worker: Condvar::new(),
            wake_waiters: Condvar::new(),
            open: AtomicU64::new(0),
            tally,
            limits,
        });
        let reporter = Reporter::new(shared.tally.label().to_owned(), cause);
        let worker = Worker { shared: Arc::clone(&shared), exporter: Some(exporter), reporter };
        let started = thread::Builder::new().name("trace-runtime-export".to_owned()).spawn(move || worker.run());
        if let Err(error) = started {
            eprintln!("trace-runtime: could not start the export thread of {}: {error}", shared.tally.label());
            let mut queue = shared.lock();
            queue.no_worker = true;
            queue.worker_done = true;
        }
        Pipeline { shared }
    }

    /// Stops taking spans and tells the worker to export what is queued by
    /// `deadline` (the earliest deadline wins). Returns at once.
    pub(crate) fn begin_shutdown(&self, deadline: Instant) {
        let shared = &self.shared;
        let mut queue = shared.lock();
        if !queue.closed {
            queue.closed = true;
            // Spans still open now can no longer be exported: counted here,
            // and not again when (if) they end.
            let open = shared.open.fetch_or(CLOSED, Ordering::AcqRel) / ONE_OPEN;
            shared.tally.lost(open, Loss::AfterShutdown);
        }
        queue.deadline = Some(queue.deadline.map_or(deadline, |d| d.min(deadline)));
        if queue.no_worker {
            abandon(shared, &mut queue);
        }
        drop(queue);
        shared.wake_worker.notify_one();
    }

    /// Waits until the worker is done or `deadline`; at the deadline, counts
    /// what is still queued as lost (an export under way is counted when it
    /// returns). True when the worker finished in time.
    pub(crate) fn wait(&self, deadline: Instant) -> bool {
        let shared = &self.shared;
        let (mut queue, done) = wait::until(shared.lock(), &shared.wake_waiters, deadline, |q| q.worker_done);
        if !done {
            abandon(shared, &mut queue);
        }
        done
    }

    /// Exports what is queued now; waits at most until `deadline`.
    pub(crate) fn flush(&self, deadline: Instant) -> Result<(), String> {
        let shared = &self.shared;
        let mut queue = shared.lock();
        if queue.worker_done || queue.closed {
            return Ok(());
        }
        queue.flush_requested += 1;
        let ticket = queue.flush_requested;
        shared.wake_worker.notify_one();
        let (_queue, done) =
            wait::until(queue, &shared.wake_waiters, deadline, |q| q.flush_done >= ticket || q.worker_done);
        if !done {
            return Err(format!(
                "flushing {} did not finish in time ({} spans still waiting for export)",
                shared.tally.label(),
                shared.tally.pending()
            ));
        }
        Ok(())
    }

    /// Queues finished spans that never went through `on_start` (the span
    /// engine's, a collector's batch at a time): not counted open, only
    /// refused once shutdown began or past the queue's bound. One lock for
    /// the whole batch; `spans` is left empty.
    pub(crate) fn enqueue_all(&self, spans: &mut Vec<SpanData>) {
        // Record-only spans are for processors, not exporters (see `on_end`).
        spans.retain(|span| span.span_context.is_sampled());
        let shared = &self.shared;
        let mut queue = shared.lock();
        if queue.closed {
            drop(queue);
            shared.tally.lost(spans.len() as u64, Loss::AfterShutdown);
            spans.clear();
            return;
        }
        let was = queue.spans.len();
        let room = shared.limits.max_queue.saturating_sub(was).min(spans.len());
        queue.spans.extend(spans.drain(..room));
        let now = queue.spans.len();
        drop(queue);
        shared.tally.queued(room as u64);
        shared.tally.lost(spans.len() as u64, Loss::QueueFull);
        spans.clear();
        // Only reaching a full batch wakes the worker early; otherwise it
        // exports on its schedule.
        if was < shared.limits.max_batch && now >= shared.limits.max_batch {
            shared.wake_worker.notify_one();
        }
    }

    /// How many more spans the queue takes now (all of them once shut
    /// down: [`Pipeline::enqueue_all`] counts them lost at once).
    pub(crate) fn room(&self) -> usize {
        let queue = self.shared.lock();
        if queue.closed {
            return usize::MAX;
        }
        self.shared.limits.max_queue.saturating_sub(queue.spans.len())
    }

    /// The books of this pipeline.
    pub(crate) fn tally(&self) -> &Arc<Tally> {
        &self.shared.tally
    }
}

/// Shutdown gave up: what is queued is lost now; the worker takes nothing more.
fn abandon(shared: &Shared, queue: &mut Queue) {
    if queue.abandoned {
        return;
    }
    queue.abandoned = true;
    let left = queue.spans.len() as u64;
    queue.spans.clear();
    shared.tally.pending_lost(left, Loss::Abandoned);
    shared.wake_worker.notify_one();
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SpanProcessor for Pipeline {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {
        let before = self.shared.open.fetch_add(ONE_OPEN, Ordering::AcqRel);
        if before & CLOSED != 0 {
            // Started after shutdown began: it can never be exported.
            self.shared.tally.lost(1, Loss::AfterShutdown);
        }
    }

    fn on_end(&self, span: SpanData) {
        let shared = &self.shared;
        let before = shared.open.fetch_sub(ONE_OPEN, Ordering::AcqRel);
        if before & CLOSED != 0 {
            return; // counted when shutdown began, or when it started
        }
        if !span.span_context.is_sampled() {
            // Recorded but not sampled (a sampler's `RecordOnly`): processors
            // see it, exporters do not, as the specification's sampling
            // section says. Not lost: it was never meant for export.
            return;
        }
        let mut queue = shared.lock();
        if queue.closed {
            drop(queue);
            shared.tally.lost(1, Loss::AfterShutdown);
            return;
        }
        if queue.spans.len() >= shared.limits.max_queue {
            drop(queue);
            shared.tally.lost(1, Loss::QueueFull);
            return;
        }
        queue.spans.push_back(span);
        shared.tally.queued(1);
        let full = queue.spans.len() == shared.limits.max_batch;
        drop(queue);
        // Only a full batch wakes the worker early; otherwise it exports on
        // its schedule, and ending a span makes no system call.
        if full {
            shared.wake_worker.notify_one();
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flush(Instant::now() + self.shared.limits.flush_timeout).map_err(OTelSdkError::InternalFailure)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        wait::shutdown_within(timeout, |deadline| self.begin_shutdown(deadline), |deadline| self.wait(deadline))
    }

    fn set_resource(&mut self, resource: &Resource) {
        // Before any span: the worker applies it to its exporter first thing.
        let mut queue = self.shared.lock();
        queue.resource = Some(resource.clone());
    }
}

/// The pipeline's thread.
struct Worker<E> {
    shared: Arc<Shared>,
    exporter: Option<E>,
    reporter: Reporter,
}

impl<E: SpanExporter> Worker<E> {
    fn run(mut self) {
        let delay = self.shared.limits.delay;
        let mut next_tick = Instant::now() + delay;
        loop {
            let mut queue = self.shared.lock();
            let batch = loop {
                if queue.abandoned {
                    break None;
                }
                let flush_wanted = queue.flush_requested > queue.flush_done;
                let now = Instant::now();
                let due = now >= next_tick;
                if queue.spans.len() >= self.shared.limits.max_batch
                    || ((flush_wanted || queue.closed || due) && !queue.spans.is_empty())
                {
                    if due {
                        next_tick = now + delay;
                    }
                    let n = queue.spans.len().min(self.shared.limits.max_batch);
                    break Some(queue.spans.drain(..n).collect::<Vec<_>>());
                }
                if flush_wanted {
                    // Everything queued is exported: let the exporter flush
                    // what it holds itself (the console prints pending
                    // traces now), outside the lock, then wake the waiters.
                    let ticket = queue.flush_requested;
                    let resource = queue.resource.take();
                    drop(queue);
                    self.apply_resource(resource);
                    self.flush_exporter();
                    queue = self.shared.lock();
                    queue.flush_done = queue.flush_done.max(ticket);
                    self.shared.wake_waiters.notify_all();
                    continue;
                }
                if queue.closed {
                    break None;
                }
                if due {
                    next_tick = now + delay;
                    continue;
                }
                queue = self
                    .shared
                    .wake_worker
                    .wait_timeout(queue, next_tick - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            };
            let resource = queue.resource.take();
            drop(queue);
            self.apply_resource(resource);
            match batch {
                Some(batch) => self.export(batch),
                None => break,
            }
        }
        self.finish();
    }

    /// Hands the provider's resource to the exporter (once, before it needs it).
    fn apply_resource(&mut self, resource: Option<Resource>) {
        if let (Some(resource), Some(exporter)) = (resource, &mut self.exporter) {
            let _ = catch_unwind(AssertUnwindSafe(|| exporter.set_resource(&resource)));
        }
    }

    /// The exporter's own `force_flush`, on a flush: an exporter that holds
    /// spans back (the console, waiting for a trace to be complete) sends
    /// them now. A panic or an error is said, never passed on.
    fn flush_exporter(&self) {
        let Some(exporter) = &self.exporter else { return };
        match catch_unwind(AssertUnwindSafe(|| exporter.force_flush())) {
            Ok(Ok(())) => {}
            Ok(Err(error)) => self.say(format!("flushing {} failed: {error}", self.shared.tally.label())),
            Err(panic) => {
                self.say(format!("{} panicked in force_flush: {}", self.shared.tally.label(), panic_message(&*panic)))
            }
        }
    }

    /// Exports one batch, split under the size limit, counting each part.
    fn export(&mut self, batch: Vec<SpanData>) {
        let tally = Arc::clone(&self.shared.tally);
        let (requests, too_large) = split::split(batch, self.shared.limits.max_bytes);
        for (span, bytes) in too_large {
            tally.note_too_large(&span.name, bytes);
            tally.pending_lost(1, Loss::TooLarge);
            self.say(format!(
                "span {:?} dropped: about {bytes} bytes, more than the {} bytes one export request may carry to {} \
                 (raise batch_max_export_bytes, or record less on it)",
                span.name,
                self.shared.limits.max_bytes,
                tally.label()
            ));
        }
        let mut requests = requests.into_iter();
        while let Some(request) = requests.next() {
            let spans = request.len() as u64;
            let Some(exporter) = &self.exporter else {
                tally.pending_lost(spans, Loss::Panicked);
                continue;
            };
            let outcome = catch_unwind(AssertUnwindSafe(|| block_on(exporter.export(request))));
            match outcome {
                Ok(Ok(())) => {
                    tally.exported(spans);
                    if let Some(line) = self.reporter.succeeded() {
                        self.say(line);
                    }
                }
                Ok(Err(error)) => {
                    let cause = self.reporter.cause_of(&error.to_string());
                    tally.note_error(&cause);
                    tally.pending_lost(spans, Loss::Failed);
                    if let Some(line) = self.reporter.failed(spans, &cause) {
                        self.say(line);
                    }
                }
                Err(panic) => {
                    let cause = format!("the exporter panicked: {}", panic_message(&*panic));
                    tally.note_error(&cause);
                    tally.pending_lost(spans, Loss::Panicked);
                    if let Some(line) = self.reporter.failed(spans, &cause) {
                        self.say(line);
                    }
                }
            }
            if self.shared.lock().abandoned {
                // Shutdown gave up on us: the rest of this batch is lost now.
                let left: u64 = requests.by_ref().map(|r| r.len() as u64).sum();
                tally.pending_lost(left, Loss::Abandoned);
            }
        }
    }

    /// Shuts the exporter down within what is left of the deadline, drops it
    /// (both may panic: caught here), and says the worker is gone.
    fn finish(&mut self) {
        let deadline = self.shared.lock().deadline;
        if let Some(exporter) = self.exporter.take() {
            let left = deadline.map_or(Duration::ZERO, |d| d.saturating_duration_since(Instant::now()));
            let label = self.shared.tally.label().to_owned();
            match catch_unwind(AssertUnwindSafe(|| exporter.shutdown_with_timeout(left))) {
                Ok(Ok(())) | Ok(Err(OTelSdkError::AlreadyShutdown)) => {}
                Ok(Err(error)) => self.say(format!("shutting down {label} failed: {error}")),
                Err(panic) => self.say(format!("{label} panicked in shutdown: {}", panic_message(&*panic))),
            }
            if let Err(panic) = catch_unwind(AssertUnwindSafe(move || drop(exporter))) {
                self.say(format!("{label} panicked when dropped: {}", panic_message(&*panic)));
            }
        }
        let mut queue = self.shared.lock();
        queue.worker_done = true;
        drop(queue);
        self.shared.wake_waiters.notify_all();
    }

    fn say(&self, line: String) {
        eprintln!("trace-runtime: {line}");
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic payload".to_owned())
}

/// Runs `future` to completion on this thread (exporters' futures are
/// driven from the pipeline's thread; the OTLP ones block or run on their
/// own runtime).
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Tracer, TracerProvider};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    /// Accepts everything, counting, a little slowly.
    #[derive(Debug, Clone, Default)]
    struct Counting(Arc<AtomicU64>);

    impl SpanExporter for Counting {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            thread::sleep(Duration::from_millis(1));
            self.0.fetch_add(batch.len() as u64, Ordering::SeqCst);
            Ok(())
        }
    }

    fn limits() -> Limits {
        Limits {
            max_queue: 256,
            max_batch: 32,
            delay: Duration::from_millis(5),
            max_bytes: split::DEFAULT_MAX_EXPORT_BYTES,
            flush_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn spans_racing_shutdown_are_counted_exactly_once() {
        let exporter = Counting::default();
        let tally = Tally::new("race test");
        let pipeline = Pipeline::start(exporter.clone(), Arc::clone(&tally), limits(), None);
        let provider = SdkTracerProvider::builder().with_span_processor(pipeline.clone()).build();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let tracer = provider.tracer("race");
                thread::spawn(move || {
                    let mut produced = 0_u64;
                    let until = Instant::now() + Duration::from_millis(60);
                    while Instant::now() < until {
                        tracer.in_span("work", |_| {});
                        produced += 1;
                    }
                    produced
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(20));
        // Shutdown begins while the threads are still ending spans, and a
        // second caller (the SDK provider) shuts down at the same time.
        let deadline = Instant::now() + Duration::from_secs(2);
        pipeline.begin_shutdown(deadline);
        let other = {
            let pipeline = pipeline.clone();
            thread::spawn(move || pipeline.shutdown_with_timeout(Duration::from_secs(2)))
        };
        assert!(pipeline.wait(deadline), "the worker finished");
        other.join().unwrap().unwrap();
        let produced: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        let delivered = exporter.0.load(Ordering::SeqCst);
        assert_eq!(tally.total_exported(), delivered);
        assert_eq!(tally.pending(), 0);
        assert_eq!(delivered + tally.total_lost(), produced, "delivered {delivered}, lost {}", tally.total_lost());
        assert!(tally.total_lost() > 0, "spans ended after shutdown began are lost");
    }

    #[test]
    fn record_only_spans_are_not_exported_nor_counted_lost() {
        let exporter = Counting::default();
        let tally = Tally::new("record-only test");
        let pipeline = Pipeline::start(exporter.clone(), Arc::clone(&tally), limits(), None);
        let record_only = crate::engine::FixedSampler {
            name: "RecordOnly",
            decision: opentelemetry_sdk::trace::SamplingDecision::RecordOnly,
        };
        let provider =
            SdkTracerProvider::builder().with_sampler(record_only).with_span_processor(pipeline.clone()).build();
        let tracer = provider.tracer("record-only");
        // On the SDK path (`on_end`) and the engine's (`enqueue_all`).
        tracer.in_span("recorded", |cx| {
            assert!(opentelemetry::trace::TraceContextExt::span(&cx).is_recording());
        });
        let unsampled = opentelemetry::trace::SpanContext::new(
            opentelemetry::trace::TraceId::from(1_u128),
            opentelemetry::trace::SpanId::from(1_u64),
            opentelemetry::trace::TraceFlags::default(),
            false,
            Default::default(),
        );
        let mut batch = vec![SpanData {
            span_context: unsampled,
            parent_span_id: opentelemetry::trace::SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: opentelemetry::trace::SpanKind::Internal,
            name: "recorded".into(),
            start_time: opentelemetry::time::now(),
            end_time: opentelemetry::time::now(),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: opentelemetry::trace::Status::Unset,
            instrumentation_scope: Default::default(),
        }];
        pipeline.enqueue_all(&mut batch);
        assert!(batch.is_empty());
        pipeline.flush(Instant::now() + Duration::from_secs(1)).unwrap();
        assert_eq!(exporter.0.load(Ordering::SeqCst), 0);
        assert_eq!((tally.total_exported(), tally.total_lost(), tally.pending()), (0, 0, 0));
        provider.shutdown().unwrap();
    }

    /// Holds spans back until its `force_flush`, as the console does.
    #[derive(Debug, Clone, Default)]
    struct Holding {
        held: Arc<AtomicU64>,
        flushed: Arc<AtomicU64>,
    }

    impl SpanExporter for Holding {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            self.held.fetch_add(batch.len() as u64, Ordering::SeqCst);
            Ok(())
        }
        fn force_flush(&self) -> OTelSdkResult {
            self.flushed.fetch_add(self.held.swap(0, Ordering::SeqCst), Ordering::SeqCst);
            Ok(())
        }
    }

    #[test]
    fn flush_flushes_the_exporter_after_exporting() {
        let exporter = Holding::default();
        let mut limits = limits();
        limits.delay = Duration::from_secs(3600); // only the flush exports
        let pipeline = Pipeline::start(exporter.clone(), Tally::new("holding test"), limits, None);
        let provider = SdkTracerProvider::builder().with_span_processor(pipeline.clone()).build();
        let tracer = provider.tracer("flush");
        for _ in 0..3 {
            tracer.in_span("work", |_| {});
        }
        pipeline.flush(Instant::now() + Duration::from_secs(5)).unwrap();
        assert_eq!(exporter.flushed.load(Ordering::SeqCst), 3, "the exporter's force_flush ran after the export");
        pipeline.begin_shutdown(Instant::now() + Duration::from_secs(1));
        assert!(pipeline.wait(Instant::now() + Duration::from_secs(1)));
    }

    #[test]
    fn flush_waits_for_the_queue_and_no_longer_than_its_deadline() {
        let exporter = Counting::default();
        let pipeline = Pipeline::start(exporter.clone(), Tally::new("flush test"), limits(), None);
        let provider = SdkTracerProvider::builder().with_span_processor(pipeline.clone()).build();
        let tracer = provider.tracer("flush");
        for _ in 0..10 {
            tracer.in_span("work", |_| {});
        }
        pipeline.flush(Instant::now() + Duration::from_secs(5)).unwrap();
        assert_eq!(exporter.0.load(Ordering::SeqCst), 10);
        pipeline.begin_shutdown(Instant::now());
        assert!(pipeline.flush(Instant::now()).is_ok(), "a closed pipeline has nothing to flush");
    }
}
