//! One log exporter's pipeline: a bounded queue filled by the caller and a
//! thread of its own that exports batches, so that a record never waits on
//! the network. Every record is counted once, as exported or as lost
//! ([`lost_logs`](crate::lost_logs)), and losses are said on stderr: the
//! first at once, then at most once a minute, and a summary at shutdown.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, LogProcessor, SdkLogRecord};
use opentelemetry_sdk::Resource;

use crate::config::settings::ExportQueueConfig;
use crate::export::report::LastCause;
use crate::export::wait;
use crate::export::worker::block_on;
use crate::logs::count_lost;

/// How often repeated export failures are summarised.
const EVERY: Duration = Duration::from_secs(60);

type Item = Box<(SdkLogRecord, InstrumentationScope)>;

/// The caller's side: a [`LogProcessor`] that queues records for the thread.
#[derive(Debug, Clone)]
pub(crate) struct LogPipeline {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    label: String,
    max_queue: usize,
    max_batch: usize,
    delay: Duration,
    state: Mutex<State>,
    /// Wakes the thread: a full batch, a flush, shutdown.
    wake: Condvar,
    /// Wakes those waiting for a flush or for the end.
    done: Condvar,
    books: Books,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Item>,
    flush_asked: u64,
    flushed: u64,
    /// The deadline of shutdown, once it began.
    closing: Option<Instant>,
    finished: bool,
}

/// Counts by fate; each record lands in exactly one.
#[derive(Debug, Default)]
struct Books {
    exported: AtomicU64,
    queue_full: AtomicU64,
    failed: AtomicU64,
    abandoned: AtomicU64,
    after_shutdown: AtomicU64,
    said_full: AtomicBool,
    first_error: Mutex<Option<String>>,
}

impl LogPipeline {
    /// Starts the export thread for `exporter`, named `label` in reports.
    /// `cause`: where the transport leaves the real cause of a failure.
    pub(crate) fn start<E: LogExporter + 'static>(
        mut exporter: E,
        label: String,
        batch: &ExportQueueConfig,
        resource: &Resource,
        cause: Option<Arc<LastCause>>,
    ) -> Result<Self, String> {
        exporter.set_resource(resource);
        let shared = Arc::new(Shared {
            label,
            max_queue: batch.max_queue_size.max(1),
            max_batch: batch.max_export_batch_size.clamp(1, batch.max_queue_size.max(1)),
            delay: batch.schedule_delay.max(Duration::from_millis(1)),
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            done: Condvar::new(),
            books: Books::default(),
        });
        let worker = Worker { shared: Arc::clone(&shared), exporter, cause, last_report: None, failures: 0, lost: 0 };
        std::thread::Builder::new()
            .name("trace-runtime-logs".to_owned())
            .spawn(move || worker.run())
            .map_err(|e| format!("could not start the log export thread: {e}"))?;
        Ok(LogPipeline { shared })
    }

    /// Exports everything queued now; waits until `deadline` at most.
    pub(crate) fn flush(&self, deadline: Instant) -> Result<(), String> {
        let s = &self.shared;
        let mut state = s.lock();
        if state.finished {
            return Ok(());
        }
        state.flush_asked += 1;
        let ticket = state.flush_asked;
        s.wake.notify_all();
        let (_state, done) = wait::until(state, &s.done, deadline, |state| state.flushed >= ticket || state.finished);
        if !done {
            return Err(format!("log records for {} were not all exported in time", s.label));
        }
        Ok(())
    }

    /// Refuses new records and tells the thread to export what is queued
    /// until `deadline`, then shut the exporter down.
    pub(crate) fn begin_shutdown(&self, deadline: Instant) {
        let mut state = self.shared.lock();
        if state.closing.is_none() {
            state.closing = Some(deadline);
        }
        self.shared.wake.notify_all();
    }

    /// Waits until the thread is done or `deadline`; true when done.
    pub(crate) fn wait(&self, deadline: Instant) -> bool {
        let s = &self.shared;
        wait::until(s.lock(), &s.done, deadline, |state| state.finished).1
    }

    /// The loss summary, if records were lost.
    pub(crate) fn losses(&self) -> Option<String> {
        let b = &self.shared.books;
        let counts = [
            (b.queue_full.load(Ordering::Relaxed), "the queue was full (OTEL_BLRP_MAX_QUEUE_SIZE)"),
            (b.failed.load(Ordering::Relaxed), "the export failed"),
            (b.abandoned.load(Ordering::Relaxed), "still queued when the shutdown timeout ran out"),
            (b.after_shutdown.load(Ordering::Relaxed), "made after shutdown began"),
        ];
        let total: u64 = counts.iter().map(|(n, _)| n).sum();
        if total == 0 {
            return None;
        }
        let parts: Vec<String> =
            counts.iter().filter(|(n, _)| *n > 0).map(|(n, why)| format!("{n} because {why}")).collect();
        let first = b.first_error.lock().unwrap_or_else(PoisonError::into_inner).clone();
        Some(format!(
            "{total} log records lost exporting to {} ({}){}",
            self.shared.label,
            parts.join(", "),
            first.map(|e| format!("; first error: {e}")).unwrap_or_default()
        ))
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lost(&self, counter: &AtomicU64, records: u64) {
        counter.fetch_add(records, Ordering::Relaxed);
        count_lost(records);
    }
}

impl LogProcessor for LogPipeline {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        let s = &self.shared;
        let mut state = s.lock();
        if state.closing.is_some() {
            drop(state);
            s.lost(&s.books.after_shutdown, 1);
        } else if state.queue.len() >= s.max_queue {
            drop(state);
            s.lost(&s.books.queue_full, 1);
            if !s.books.said_full.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "trace-runtime: the log export queue of {} is full ({} records): records are dropped \
                     and counted (see lost_logs()); raise OTEL_BLRP_MAX_QUEUE_SIZE or log less",
                    s.label, s.max_queue
                );
            }
        } else {
            state.queue.push_back(Box::new((record.clone(), scope.clone())));
            if state.queue.len() >= s.max_batch {
                s.wake.notify_all();
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flush(Instant::now() + Duration::from_secs(5)).map_err(OTelSdkError::InternalFailure)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        wait::shutdown_within(timeout, |deadline| self.begin_shutdown(deadline), |deadline| self.wait(deadline))
    }
}

/// The thread's side.
struct Worker<E> {
    shared: Arc<Shared>,
    exporter: E,
    cause: Option<Arc<LastCause>>,
    last_report: Option<Instant>,
    /// Failed exports and records lost since the last report.
    failures: u64,
    lost: u64,
}

impl<E: LogExporter> Worker<E> {
    fn run(mut self) {
        // The exporter's own work (HTTP client, gRPC) makes no records.
        let _suppressed = Context::enter_telemetry_suppressed_scope();
        let deadline = loop {
            let (batch, ticket, closing) = self.next();
            if let Some(deadline) = closing {
                if Instant::now() >= deadline {
                    let rest = self.shared.lock().queue.drain(..).count() as u64;
                    self.shared.lost(&self.shared.books.abandoned, rest + batch.len() as u64);
                    break deadline;
                }
            }
            if !batch.is_empty() {
                self.export(batch);
            }
            let mut state = self.shared.lock();
            if state.queue.is_empty() {
                if ticket > state.flushed {
                    state.flushed = ticket;
                    self.shared.done.notify_all();
                }
                if let Some(deadline) = state.closing {
                    break deadline;
                }
            }
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = catch_unwind(AssertUnwindSafe(|| self.exporter.shutdown_with_timeout(left)));
        let mut state = self.shared.lock();
        state.finished = true;
        self.shared.done.notify_all();
    }

    /// Waits for a full batch, a flush, shutdown or the delay; takes a batch.
    fn next(&self) -> (Vec<Item>, u64, Option<Instant>) {
        let s = &self.shared;
        let mut state = s.lock();
        let until = Instant::now() + s.delay;
        loop {
            if state.queue.len() >= s.max_batch || state.flush_asked > state.flushed || state.closing.is_some() {
                break;
            }
            let now = Instant::now();
            if now >= until {
                break;
            }
            state = s.wake.wait_timeout(state, until - now).unwrap_or_else(PoisonError::into_inner).0;
        }
        let n = state.queue.len().min(s.max_batch);
        (state.queue.drain(..n).collect(), state.flush_asked, state.closing)
    }

    fn export(&mut self, batch: Vec<Item>) {
        let n = batch.len() as u64;
        let refs: Vec<(&SdkLogRecord, &InstrumentationScope)> = batch.iter().map(|item| (&item.0, &item.1)).collect();
        let outcome = catch_unwind(AssertUnwindSafe(|| block_on(self.exporter.export(LogBatch::new(&refs)))));
        let error = match outcome {
            Ok(Ok(())) => {
                self.shared.books.exported.fetch_add(n, Ordering::Relaxed);
                return;
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => "the exporter panicked".to_owned(),
        };
        let error = match self.cause.as_ref().and_then(|cause| cause.take()) {
            Some(cause) => cause,
            None => error.strip_prefix("Operation failed: ").unwrap_or(&error).to_owned(),
        };
        self.shared.lost(&self.shared.books.failed, n);
        self.shared.books.first_error.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(error.clone());
        self.failures += 1;
        self.lost += n;
        let now = Instant::now();
        match self.last_report {
            None => eprintln!(
                "trace-runtime: log export to {} failed, {n} records lost: {error} (further failures are \
                 summarised at most once a minute; see lost_logs())",
                self.shared.label
            ),
            Some(at) if now.duration_since(at) >= EVERY => eprintln!(
                "trace-runtime: {} more log exports to {} failed in the last {} s, {} records lost; last error: {error}",
                self.failures,
                self.shared.label,
                now.duration_since(at).as_secs(),
                self.lost
            ),
            Some(_) => return,
        }
        self.last_report = Some(now);
        self.failures = 0;
        self.lost = 0;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use opentelemetry::logs::{Logger as _, LoggerProvider as _};
    use opentelemetry_sdk::logs::SdkLoggerProvider;

    /// Counts what it is given; fails when told to.
    #[derive(Debug, Clone, Default)]
    struct Counting {
        records: Arc<AtomicU64>,
        fail: Arc<AtomicBool>,
    }

    impl LogExporter for Counting {
        async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
            if self.fail.load(Ordering::Relaxed) {
                return Err(OTelSdkError::InternalFailure("collector down".to_owned()));
            }
            self.records.fetch_add(batch.iter().count() as u64, Ordering::Relaxed);
            Ok(())
        }
    }

    fn batch(max_queue_size: usize) -> ExportQueueConfig {
        ExportQueueConfig {
            max_queue_size,
            schedule_delay: Duration::from_secs(3600),
            max_export_batch_size: 4,
            export_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn every_record_is_exported_or_counted_lost_once() {
        let exporter = Counting::default();
        let pipeline = LogPipeline::start(
            exporter.clone(),
            "test".to_owned(),
            &batch(64),
            &Resource::builder_empty().build(),
            None,
        )
        .unwrap();
        let provider = SdkLoggerProvider::builder().with_log_processor(pipeline.clone()).build();
        let logger = provider.logger("t");
        for _ in 0..10 {
            logger.emit(logger.create_log_record());
        }
        pipeline.flush(Instant::now() + Duration::from_secs(5)).unwrap();
        assert_eq!(exporter.records.load(Ordering::Relaxed), 10, "a flush exports everything queued");

        exporter.fail.store(true, Ordering::Relaxed);
        for _ in 0..3 {
            logger.emit(logger.create_log_record());
        }
        pipeline.flush(Instant::now() + Duration::from_secs(5)).unwrap();
        pipeline.begin_shutdown(Instant::now() + Duration::from_secs(5));
        assert!(pipeline.wait(Instant::now() + Duration::from_secs(5)));
        logger.emit(logger.create_log_record());
        let losses = pipeline.losses().unwrap();
        assert!(losses.starts_with("4 log records lost exporting to test"), "{losses}");
        assert!(losses.contains("3 because the export failed") && losses.contains("1 because made after shutdown"));
        assert!(losses.contains("first error: collector down"), "{losses}");
        assert_eq!(pipeline.flush(Instant::now()), Ok(()), "a finished pipeline has nothing to flush");
    }

    /// Says when an export starts, then holds it until released.
    #[derive(Debug)]
    struct Gate {
        entered: Mutex<std::sync::mpsc::Sender<()>>,
        release: Mutex<std::sync::mpsc::Receiver<()>>,
        records: Arc<AtomicU64>,
    }

    impl LogExporter for Gate {
        async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
            let _ = self.entered.lock().unwrap().send(());
            let _ = self.release.lock().unwrap().recv();
            self.records.fetch_add(batch.iter().count() as u64, Ordering::Relaxed);
            Ok(())
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_and_never_blocks() {
        let (entered_tx, entered) = std::sync::mpsc::channel();
        let (release, release_rx) = std::sync::mpsc::channel();
        let records = Arc::new(AtomicU64::new(0));
        let gate =
            Gate { entered: Mutex::new(entered_tx), release: Mutex::new(release_rx), records: Arc::clone(&records) };
        let pipeline =
            LogPipeline::start(gate, "small".to_owned(), &batch(2), &Resource::builder_empty().build(), None).unwrap();
        let provider = SdkLoggerProvider::builder().with_log_processor(pipeline.clone()).build();
        let logger = provider.logger("t");
        // Two records make a batch (the batch size is capped by the queue's 2):
        // its export is held, and the queue of 2 fills behind it.
        logger.emit(logger.create_log_record());
        logger.emit(logger.create_log_record());
        entered.recv_timeout(Duration::from_secs(5)).unwrap();
        for _ in 0..5 {
            logger.emit(logger.create_log_record());
        }
        let losses = pipeline.losses().unwrap();
        assert!(losses.starts_with("3 log records lost exporting to small (3 because the queue was full"), "{losses}");
        for _ in 0..2 {
            release.send(()).unwrap();
        }
        pipeline.flush(Instant::now() + Duration::from_secs(5)).unwrap();
        assert_eq!(records.load(Ordering::Relaxed), 4);
    }
}
