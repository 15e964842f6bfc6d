//! [`Guard`]: flushes and shuts tracing down when dropped.

use std::time::Duration;

use opentelemetry_sdk::trace::SdkTracerProvider;

use super::Error;
use crate::dispatch;

/// Keeps tracing installed; dropping it flushes the spans still buffered,
/// shuts the exporters down (waiting at most the builder's
/// `shutdown_timeout`), and restores whatever global provider was there before.
///
/// Keep it alive for as long as the program should be traced, typically as
/// `let _guard = ...` in `main`.
///
/// ```
/// let guard = trace_runtime::init().service_name("tool").install().unwrap();
/// // ...
/// guard.shutdown().expect("spans flushed");
/// ```
#[must_use = "tracing is shut down as soon as the guard is dropped"]
#[derive(Debug)]
pub struct Guard {
    provider: SdkTracerProvider,
    timeout: Duration,
    shut_down: bool,
}

impl Guard {
    pub(crate) fn new(provider: SdkTracerProvider, timeout: Duration) -> Self {
        Guard { provider, timeout, shut_down: false }
    }

    /// Exports every finished span now, without shutting down.
    ///
    /// # Errors
    ///
    /// [`Error::Shutdown`] when an exporter failed or timed out.
    ///
    /// ```
    /// let guard = trace_runtime::init().install().unwrap();
    /// guard.flush().unwrap();
    /// ```
    pub fn flush(&self) -> Result<(), Error> {
        self.provider.force_flush().map_err(|e| Error::Shutdown(e.to_string()))
    }

    /// The underlying SDK provider, for APIs that need one (e.g. a
    /// `tracing-opentelemetry` layer).
    ///
    /// ```
    /// use opentelemetry::trace::TracerProvider;
    /// let guard = trace_runtime::init().install().unwrap();
    /// let tracer = guard.provider().tracer("my-component");
    /// # drop(tracer);
    /// ```
    pub fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }

    /// Flushes and shuts down now, reporting failures instead of ignoring them.
    ///
    /// # Errors
    ///
    /// [`Error::Shutdown`] when the exporters did not finish within the timeout.
    ///
    /// ```
    /// trace_runtime::init().install().unwrap().shutdown().unwrap();
    /// ```
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> Result<(), Error> {
        if std::mem::replace(&mut self.shut_down, true) {
            return Ok(());
        }
        // New spans go back to what was installed before; then drain ours.
        dispatch::uninstall_own();
        self.provider.shutdown_with_timeout(self.timeout).map_err(|e| Error::Shutdown(e.to_string()))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Err(error) = self.shutdown_inner() {
            eprintln!("trace-runtime: {error}");
        }
    }
}
