//! [`Error`]: everything that can go wrong while setting up.

use std::fmt;

/// Why [`Builder::install`](crate::Builder::install) or
/// [`Guard::shutdown`](crate::Guard::shutdown) failed. Each message says what
/// was wrong and how to fix it.
///
/// ```
/// let first = trace_runtime::init().install().unwrap();
/// let second = trace_runtime::init().install();
/// assert!(matches!(second, Err(trace_runtime::Error::AlreadyInstalled)));
/// drop(first);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// `install()` was called while the guard of an earlier install is alive.
    AlreadyInstalled,
    /// An environment variable has a value that is not accepted.
    InvalidEnv {
        /// The variable, e.g. `OTEL_TRACES_SAMPLER`.
        variable: &'static str,
        /// The value found.
        value: String,
        /// What the variable accepts.
        accepted: &'static str,
    },
    /// A value given in code is not accepted.
    InvalidConfig {
        /// The setting, e.g. `endpoint`.
        setting: &'static str,
        /// The value given.
        value: String,
        /// What the setting accepts.
        accepted: &'static str,
    },
    /// The exporter could not be built (bad endpoint, TLS setup, ...).
    Exporter(String),
    /// Flushing or shutting down did not complete.
    Shutdown(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::AlreadyInstalled => f.write_str(
                "tracing is already installed: keep the Guard from the first init().install() \
                 and drop it before installing again",
            ),
            Error::InvalidEnv { variable, value, accepted } => {
                write!(f, "environment variable {variable} has invalid value {value:?}; accepted: {accepted}")
            }
            Error::InvalidConfig { setting, value, accepted } => {
                write!(f, "invalid {setting} {value:?}; accepted: {accepted}")
            }
            Error::Exporter(reason) => write!(f, "could not build the span exporter: {reason}"),
            Error::Shutdown(reason) => write!(f, "tracing did not shut down cleanly: {reason}"),
        }
    }
}

impl std::error::Error for Error {}
