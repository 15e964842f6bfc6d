//! The logger [`install`] set up, where the bridges (`log`, `tracing`)
//! send their records: one read lock per record kept, nothing at all when
//! no logs are exported.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock};

use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLogger, SdkLoggerProvider};

use super::capture;
use super::filter::{Filter, Level};

/// Whether records are exported at all: the bridges' first, relaxed, check.
static ON: AtomicBool = AtomicBool::new(false);
static ACTIVE: RwLock<Option<Active>> = RwLock::new(None);

struct Active {
    logger: SdkLogger,
    filter: Filter,
}

/// Records go to `provider` from now on, those `filter` keeps.
pub(crate) fn install(provider: &SdkLoggerProvider, filter: Filter) {
    let logger = provider.logger("trace-runtime");
    *ACTIVE.write().unwrap_or_else(PoisonError::into_inner) = Some(Active { logger, filter });
    ON.store(true, Ordering::Release);
}

/// No more records (the guard is shutting down).
pub(crate) fn uninstall() {
    ON.store(false, Ordering::Release);
    ACTIVE.write().unwrap_or_else(PoisonError::into_inner).take();
}

/// True while logs are exported.
pub(crate) fn is_on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Whether a record of `level` from `target` would be exported or captured.
#[cfg_attr(not(feature = "log"), allow(dead_code))]
pub(crate) fn enabled(level: Level, target: &str) -> bool {
    capture::any()
        || is_on()
            && ACTIVE
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .is_some_and(|active| active.filter.enabled(level, target))
}

/// Whose ids a record carries.
#[cfg_attr(not(all(feature = "log", feature = "tracing")), allow(dead_code))]
pub(crate) enum Ids<'a> {
    /// The span current on this thread, if any.
    Current,
    /// The span in this context (a `tracing` event's explicit parent).
    Of(&'a Context),
    /// None: the record is outside any span (`parent: None`).
    Nothing,
}

/// Emits one record of `level` from `target`, filled by `fill`, to the
/// installed logger when its filter keeps it, and to the test capture whose
/// context it was made in. Records made by the export threads themselves
/// (the HTTP and gRPC clients' own logs) are not exported: they would feed
/// themselves.
pub(crate) fn emit(level: Level, target: &str, ids: Ids<'_>, fill: impl FnOnce(&mut SdkLogRecord)) {
    if !is_wanted() || is_export_thread() {
        return;
    }
    let sink = match &ids {
        Ids::Of(cx) => capture::sink_in(cx),
        Ids::Current | Ids::Nothing => {
            if capture::any() {
                Context::map_current(|cx| cx.get::<capture::CaptureSink>().cloned())
            } else {
                None
            }
        }
    };
    let active = is_on().then(|| ACTIVE.read().unwrap_or_else(PoisonError::into_inner));
    let installed = active.as_ref().and_then(|a| a.as_ref()).filter(|a| a.filter.enabled(level, target));
    if installed.is_none() && sink.is_none() {
        return;
    }
    let mut record = match installed {
        Some(active) => active.logger.create_log_record(),
        None => capture::blank_record(),
    };
    let (severity, text) = level.severity();
    record.set_severity_number(severity);
    record.set_severity_text(text);
    record.set_timestamp(std::time::SystemTime::now());
    fill(&mut record);
    if let Some(sink) = sink {
        let span = match &ids {
            Ids::Current => Some(Context::map_current(capture::span_of)),
            Ids::Of(cx) => Some(capture::span_of(cx)),
            Ids::Nothing => None,
        };
        sink.keep(record.clone(), span);
    }
    let Some(active) = installed else { return };
    match ids {
        // The SDK stamps the current span's ids.
        Ids::Current => active.logger.emit(record),
        Ids::Of(cx) => {
            let span = cx.span();
            let sc = span.span_context();
            if sc.is_valid() {
                record.set_trace_context(sc.trace_id(), sc.span_id(), Some(sc.trace_flags()));
                active.logger.emit(record);
            } else {
                let _outside = Context::new().attach();
                active.logger.emit(record);
            }
        }
        Ids::Nothing => {
            let _outside = Context::new().attach();
            active.logger.emit(record);
        }
    }
}

/// Whether a record would go anywhere: logs exported, or a capture open.
pub(crate) fn is_wanted() -> bool {
    is_on() || capture::any()
}

fn is_export_thread() -> bool {
    std::thread::current()
        .name()
        .is_some_and(|name| name.starts_with("trace-runtime-") || name.starts_with("reqwest-internal-sync-runtime"))
}
