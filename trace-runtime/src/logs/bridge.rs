//! The `log` crate's records as OpenTelemetry log records (feature `log`).
//!
//! `install()` sets this bridge as the `log` logger when the application set
//! none; an application with its own logger wraps it with [`logger`]. Each
//! record becomes: severity and its text from the level, the message as
//! body, the target as the record's target (OTLP exporters make it the
//! instrumentation scope), `code.module.name`, `code.file.path`,
//! `code.line.number`, and the record's key-values as attributes (numbers
//! and booleans typed, the rest as strings); plus the current span's ids.

use std::sync::atomic::{AtomicBool, Ordering};

use log::kv::{Key, Value, VisitSource};
use log::{LevelFilter, Log, Metadata, Record, SetLoggerError};
use opentelemetry::logs::{AnyValue, LogRecord as _};
use opentelemetry_sdk::logs::SdkLogRecord;

use super::active::{self, Ids};
use super::filter::{Filter, Level};

/// Set once a [`Logger`] of ours is the `log` crate's logger.
static OURS: AtomicBool = AtomicBool::new(false);
/// Whether ours wraps the application's logger (which then has its own filter).
static WRAPS: AtomicBool = AtomicBool::new(false);

/// Your `log` logger, with its records also exported as OpenTelemetry log
/// records carrying the current span's ids: the one line for an
/// application that sets a logger of its own (with none, `init()` installs
/// the bridge itself). Your logger sees every record as before and keeps
/// its own filter; the export keeps those the logs filter keeps
/// (`RUST_LOG`, see [`Builder::log_filter`](crate::Builder::log_filter)).
///
/// ```
/// // Any logger: env_logger's `Builder::from_default_env().build()`, ...
/// struct Stderr;
/// impl log::Log for Stderr {
///     fn enabled(&self, m: &log::Metadata<'_>) -> bool { m.level() <= log::Level::Warn }
///     fn log(&self, r: &log::Record<'_>) { if self.enabled(r.metadata()) { eprintln!("{}", r.args()) } }
///     fn flush(&self) {}
/// }
///
/// trace_runtime::logger(Stderr).install().expect("no other logger was set");
/// let _guard = trace_runtime::init().env_lookup(|_| None).install().unwrap();
/// log::warn!("printed by Stderr, and exported with the current span's ids");
/// ```
pub fn logger<L: Log + 'static>(yours: L) -> Logger {
    Logger { yours: Some(Box::new(yours)) }
}

/// The `log` logger made by [`logger`] (or by `install()` when the
/// application has none): the application's logger, if any, plus export.
///
/// ```
/// let logger: trace_runtime::Logger = trace_runtime::logger(NoOp);
/// # struct NoOp;
/// # impl log::Log for NoOp {
/// #     fn enabled(&self, _: &log::Metadata<'_>) -> bool { false }
/// #     fn log(&self, _: &log::Record<'_>) {}
/// #     fn flush(&self) {}
/// # }
/// # drop(logger);
/// ```
pub struct Logger {
    yours: Option<Box<dyn Log>>,
}

impl std::fmt::Debug for Logger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logger").field("wraps", &self.yours.is_some()).finish()
    }
}

impl Logger {
    /// Makes this the `log` crate's logger (`log::set_boxed_logger`) and
    /// lets every level through `log::max_level` (`trace`): your logger's
    /// `enabled` and the export filter then decide per record. Call
    /// `log::set_max_level` afterwards to cut verbose levels before either
    /// sees them.
    ///
    /// # Errors
    ///
    /// `log`'s [`SetLoggerError`] when a logger was already set.
    ///
    /// ```
    /// # struct NoOp;
    /// # impl log::Log for NoOp {
    /// #     fn enabled(&self, _: &log::Metadata<'_>) -> bool { false }
    /// #     fn log(&self, _: &log::Record<'_>) {}
    /// #     fn flush(&self) {}
    /// # }
    /// trace_runtime::logger(NoOp).install().unwrap();
    /// assert!(trace_runtime::logger(NoOp).install().is_err(), "only one logger per process");
    /// ```
    pub fn install(self) -> Result<(), SetLoggerError> {
        let wraps = self.yours.is_some();
        log::set_boxed_logger(Box::new(self))?;
        OURS.store(true, Ordering::Release);
        WRAPS.store(wraps, Ordering::Release);
        log::set_max_level(LevelFilter::Trace);
        Ok(())
    }
}

/// Called by `install()`: sets the bridge when no logger is set, and the
/// `log` crate's max level from `filter` when the bridge is alone. Returns
/// false when the application has a logger of its own that is not ours.
pub(crate) fn install_default(filter: &Filter) -> bool {
    if !OURS.load(Ordering::Acquire) && (Logger { yours: None }).install().is_err() {
        return false;
    }
    if !WRAPS.load(Ordering::Acquire) {
        log::set_max_level(match filter.most_verbose() {
            None => LevelFilter::Off,
            Some(Level::Error) => LevelFilter::Error,
            Some(Level::Warn) => LevelFilter::Warn,
            Some(Level::Info) => LevelFilter::Info,
            Some(Level::Debug) => LevelFilter::Debug,
            Some(Level::Trace) => LevelFilter::Trace,
        });
    }
    true
}

/// Called when a test capture opens: sets the bridge when the process has
/// no logger yet, letting every level through, so captures see `log`
/// records; a logger the application set is left alone.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub(crate) fn install_for_captures() {
    if !OURS.load(Ordering::Acquire) {
        let _ = (Logger { yours: None }).install();
    }
}

fn level(level: log::Level) -> Level {
    match level {
        log::Level::Error => Level::Error,
        log::Level::Warn => Level::Warn,
        log::Level::Info => Level::Info,
        log::Level::Debug => Level::Debug,
        log::Level::Trace => Level::Trace,
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.yours.as_ref().is_some_and(|l| l.enabled(metadata))
            || active::enabled(level(metadata.level()), metadata.target())
    }

    fn log(&self, record: &Record<'_>) {
        if let Some(yours) = &self.yours {
            yours.log(record);
        }
        active::emit(level(record.level()), record.target(), Ids::Current, |out| fill(out, record));
    }

    fn flush(&self) {
        if let Some(yours) = &self.yours {
            yours.flush();
        }
    }
}

fn fill(out: &mut SdkLogRecord, record: &Record<'_>) {
    let body = match record.args().as_str() {
        Some(text) => AnyValue::from(text),
        None => AnyValue::from(record.args().to_string()),
    };
    out.set_body(body);
    out.set_target(record.target().to_owned());
    if let Some(module) = record.module_path() {
        out.add_attribute("code.module.name", module.to_owned());
    }
    if let Some(file) = record.file() {
        out.add_attribute("code.file.path", file.to_owned());
    }
    if let Some(line) = record.line() {
        out.add_attribute("code.line.number", i64::from(line));
    }
    // A key-value source that fails part-way keeps what it gave.
    let _ = record.key_values().visit(&mut Attributes(out));
}

/// The record's key-values, typed where `log` can say the type.
struct Attributes<'a>(&'a mut SdkLogRecord);

impl<'kvs> VisitSource<'kvs> for Attributes<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        let value = if let Some(b) = value.to_bool() {
            AnyValue::Boolean(b)
        } else if let Some(i) = value.to_i64() {
            AnyValue::Int(i)
        } else if let Some(u) = value.to_u64() {
            // Above i64::MAX: as text, nothing lost.
            AnyValue::from(u.to_string())
        } else if let Some(f) = value.to_f64() {
            AnyValue::Double(f)
        } else if let Some(s) = value.to_borrowed_str() {
            AnyValue::from(s.to_owned())
        } else {
            AnyValue::from(value.to_string())
        };
        self.0.add_attribute(key.as_str().to_owned(), value);
        Ok(())
    }
}
