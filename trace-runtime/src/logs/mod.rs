//! Logs that carry their trace.
//!
//! Once [`init`](crate::init) installed export, records of the `log` crate
//! (feature `log`, on by default) and `tracing` events (through
//! [`tracing_layer`](crate::tracing_layer), feature `tracing`) become
//! OpenTelemetry log records: severity, body, `code.*` attributes, their
//! key-values, and the trace id, span id and flags of the span current
//! where they were made. A record outside any span is exported without
//! ids. They go where `OTEL_LOGS_EXPORTER` says (by default where the spans
//! go: the console, or the OTLP endpoint) — see
//! [`LogsConfig`](crate::LogsConfig).
//!
//! With a logger of your own (`env_logger`, …), wrap it with [`logger`] so
//! that it keeps printing and the records are exported too:
//!
//! ```ignore
//! trace_runtime::logger(env_logger::Builder::from_default_env().build()).install()?;
//! ```
//!
//! To only stamp the ids on the lines of a logger that is not exported,
//! [`log_ids`] gives them:
//!
//! ```ignore
//! use std::io::Write;
//! env_logger::Builder::from_default_env()
//!     .format(|buf, record| {
//!         writeln!(buf, "{} {} {}", record.level(), trace_runtime::log_ids(), record.args())
//!     })
//!     .init();
//! ```
//!
//! One job per file: `ids` (the current span's ids for a log line),
//! `filter` (which records are kept: `RUST_LOG` syntax), `active` (the
//! logger `install()` set up, and emitting into it), `bridge` (the `log`
//! crate's records), `capture` (records kept for a test capture), `lost`
//! (records that could not be exported).

// Without a bridge (`log`, `tracing`) nothing makes records: what only
// the bridges use is unused then.
#[cfg_attr(not(any(feature = "log", feature = "tracing")), allow(dead_code))]
mod active;
#[cfg(feature = "log")]
mod bridge;
#[cfg_attr(not(all(feature = "testing", any(feature = "log", feature = "tracing"))), allow(dead_code))]
mod capture;
#[cfg_attr(not(any(feature = "log", feature = "tracing")), allow(dead_code))]
mod filter;
mod ids;
mod lost;

#[cfg(feature = "tracing")]
pub(crate) use active::{emit, is_wanted, Ids};
pub(crate) use active::{install, uninstall};
#[cfg(feature = "log")]
pub(crate) use bridge::install_default as install_log_bridge;
#[cfg(feature = "log")]
pub use bridge::{logger, Logger};
#[cfg(feature = "testing")]
pub(crate) use capture::CaptureSink;
pub(crate) use filter::Filter;
#[cfg(feature = "tracing")]
pub(crate) use filter::Level;
pub use ids::{log_ids, LogIds};
pub(crate) use lost::count_lost;
pub use lost::lost_logs;
