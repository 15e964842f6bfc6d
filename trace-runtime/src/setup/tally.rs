//! Counting spans that never reached their destination, and saying so once.
//!
//! Every exporter `install()` sets up is wrapped twice: a [`Managed`]
//! processor around its batch processor counts the spans handed to it and
//! keeps shutdown inside one shared deadline; a [`Tallied`] exporter counts
//! the spans each export delivered or failed. After shutdown, whatever was
//! handed over but not delivered (failed exports, a full queue, a shutdown
//! that gave up) is lost: it is added to [`lost_spans`] and reported in one
//! line.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

/// Spans lost since the process started, over every install: spans whose
/// export failed, and (counted at shutdown) spans dropped because the queue
/// was full or still queued when shutdown gave up.
static LOST: AtomicU64 = AtomicU64::new(0);

/// How many finished spans never reached their exporter's destination, in
/// this process so far: spans in failed exports (a dead or refusing
/// collector) as they fail, and, when a [`Guard`](crate::Guard) shuts down,
/// spans dropped because the queue was full or not sent before the shutdown
/// timeout. The same loss is also reported once on stderr at shutdown.
///
/// Poll it for a health check, or assert on it in a test.
///
/// ```
/// let before = trace_runtime::lost_spans();
/// // ... run with a collector that is down ...
/// assert!(trace_runtime::lost_spans() >= before);
/// ```
pub fn lost_spans() -> u64 {
    LOST.load(Ordering::Relaxed)
}

/// The books of one exporter.
#[derive(Debug)]
pub(crate) struct Tally {
    label: String,
    ended: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
    settled: AtomicBool,
}

impl Tally {
    pub(crate) fn new(label: impl Into<String>) -> Arc<Self> {
        Arc::new(Tally {
            label: label.into(),
            ended: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            first_error: Mutex::new(None),
            settled: AtomicBool::new(false),
        })
    }

    fn record(&self, spans: u64, result: &OTelSdkResult) {
        match result {
            Ok(()) => {
                self.delivered.fetch_add(spans, Ordering::Relaxed);
            }
            Err(error) => {
                self.failed.fetch_add(spans, Ordering::Relaxed);
                LOST.fetch_add(spans, Ordering::Relaxed);
                let mut first = self.first_error.lock().unwrap_or_else(PoisonError::into_inner);
                if first.is_none() {
                    *first = Some(error.to_string());
                }
            }
        }
    }

    /// Closes the books after shutdown: returns the loss report, if any,
    /// exactly once.
    pub(crate) fn settle(&self, shutdown_error: Option<&str>) -> Option<String> {
        if self.settled.swap(true, Ordering::AcqRel) {
            return None;
        }
        let ended = self.ended.load(Ordering::Relaxed);
        let delivered = self.delivered.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        let lost = ended.saturating_sub(delivered).max(failed);
        if lost == 0 {
            return None;
        }
        // Failed exports were counted as they failed; the rest only now.
        LOST.fetch_add(lost - failed, Ordering::Relaxed);
        let mut reasons = Vec::new();
        if failed > 0 {
            let first = self.first_error.lock().unwrap_or_else(PoisonError::into_inner).clone();
            reasons.push(format!("{failed} in failed exports ({})", first.as_deref().unwrap_or("unknown error")));
        }
        if lost > failed {
            let why = match shutdown_error {
                Some(error) => format!("not exported before shutdown ended ({error})"),
                None => "dropped because the queue was full".to_owned(),
            };
            reasons.push(format!("{} {why}", lost - failed));
        }
        Some(format!("{lost} of {ended} spans were not delivered to {}: {}", self.label, reasons.join("; ")))
    }
}

/// One deadline shared by every processor of a provider, so that shutting
/// down N exporters takes at most the guard's timeout, not N times it.
#[derive(Debug, Default)]
pub(crate) struct Deadline {
    at: Mutex<Option<Instant>>,
}

impl Deadline {
    pub(crate) fn start(&self, timeout: Duration) {
        *self.at.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now().checked_add(timeout);
    }

    fn remaining(&self, requested: Duration) -> Duration {
        match *self.at.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(at) => requested.min(at.saturating_duration_since(Instant::now())),
            None => requested,
        }
    }
}

/// A processor that counts what it is given and shuts down within the
/// shared deadline.
#[derive(Debug)]
pub(crate) struct Managed<P> {
    inner: P,
    tally: Option<Arc<Tally>>,
    deadline: Arc<Deadline>,
}

impl<P> Managed<P> {
    pub(crate) fn new(inner: P, tally: Option<Arc<Tally>>, deadline: Arc<Deadline>) -> Self {
        Managed { inner, tally, deadline }
    }
}

impl<P: SpanProcessor> SpanProcessor for Managed<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if let Some(tally) = &self.tally {
            tally.ended.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(self.deadline.remaining(timeout))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// An exporter that counts what each export delivered.
#[derive(Debug)]
pub(crate) struct Tallied<E> {
    inner: E,
    tally: Arc<Tally>,
}

impl<E> Tallied<E> {
    pub(crate) fn new(inner: E, tally: Arc<Tally>) -> Self {
        Tallied { inner, tally }
    }
}

impl<E: SpanExporter> SpanExporter for Tallied<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len() as u64;
        let result = self.inner.export(batch).await;
        self.tally.record(spans, &result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use opentelemetry_sdk::error::OTelSdkError;

    #[test]
    fn failed_exports_and_leftovers_are_lost_once() {
        let tally = Tally::new("otlp test");
        tally.ended.store(10, Ordering::Relaxed);
        tally.record(4, &Ok(()));
        tally.record(3, &Err(OTelSdkError::InternalFailure("connection refused".into())));
        let loss = tally.settle(Some("timed out")).unwrap();
        assert!(loss.contains("6 of 10 spans"), "{loss}");
        assert!(loss.contains("3 in failed exports (") && loss.contains("connection refused"), "{loss}");
        assert!(loss.contains("3 not exported before shutdown ended (timed out)"), "{loss}");
        assert!(tally.settle(None).is_none(), "reported once");
    }

    #[test]
    fn nothing_lost_nothing_said() {
        let tally = Tally::new("console");
        tally.ended.store(2, Ordering::Relaxed);
        tally.record(2, &Ok(()));
        assert!(tally.settle(None).is_none());
    }

    #[test]
    fn the_deadline_caps_every_shutdown() {
        let deadline = Deadline::default();
        assert_eq!(deadline.remaining(Duration::from_secs(3)), Duration::from_secs(3));
        deadline.start(Duration::from_millis(50));
        assert!(deadline.remaining(Duration::from_secs(3)) <= Duration::from_millis(50));
    }
}
