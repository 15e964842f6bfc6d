//! Log records for a test capture (`testing::capture`): records made in a
//! context that carries a [`CaptureSink`] are kept for it, whether or not
//! logs are exported, at every level the bridges deliver.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry::Context;
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLogger, SdkLoggerProvider};

/// Live captures: while none, records skip the context lookup.
static CAPTURES: AtomicUsize = AtomicUsize::new(0);

/// Where one capture keeps its records; a value in the capture's context.
#[derive(Debug, Clone)]
pub(crate) struct CaptureSink {
    records: Arc<Mutex<Vec<SdkLogRecord>>>,
    _live: Arc<Live>,
}

/// Counts the capture as live until its last sink is gone.
#[derive(Debug)]
struct Live;

impl Drop for Live {
    fn drop(&mut self) {
        CAPTURES.fetch_sub(1, Ordering::Relaxed);
    }
}

impl CaptureSink {
    /// A new capture's sink; `log` records reach it once the bridge is set
    /// (done here when the process has no logger yet).
    pub(crate) fn open() -> Self {
        CAPTURES.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "log")]
        super::bridge::install_for_captures();
        CaptureSink { records: Arc::default(), _live: Arc::new(Live) }
    }

    /// The records kept so far, in the order they were made.
    pub(crate) fn take(&self) -> Vec<SdkLogRecord> {
        std::mem::take(&mut *self.records.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Keeps `record`, stamped with the ids of `span` when it is valid.
    pub(crate) fn keep(&self, mut record: SdkLogRecord, span: Option<SpanContext>) {
        if let Some(sc) = span.filter(SpanContext::is_valid) {
            record.set_trace_context(sc.trace_id(), sc.span_id(), Some(sc.trace_flags()));
        }
        self.records.lock().unwrap_or_else(PoisonError::into_inner).push(record);
    }
}

/// True while some capture is open.
pub(crate) fn any() -> bool {
    CAPTURES.load(Ordering::Relaxed) > 0
}

/// The sink in `cx`, if a capture is open.
pub(crate) fn sink_in(cx: &Context) -> Option<CaptureSink> {
    if any() {
        cx.get::<CaptureSink>().cloned()
    } else {
        None
    }
}

/// Makes a blank record when no logger is installed (the SDK makes records
/// only through a logger).
pub(crate) fn blank_record() -> SdkLogRecord {
    static LOGGER: OnceLock<SdkLogger> = OnceLock::new();
    LOGGER.get_or_init(|| SdkLoggerProvider::builder().build().logger("trace-runtime")).create_log_record()
}

/// The span a record made in `cx` belongs to.
pub(crate) fn span_of(cx: &Context) -> SpanContext {
    cx.span().span_context().clone()
}
