//! [`Guard`]: flushes and shuts tracing down when dropped.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::trace::SdkTracerProvider;

use super::tally::{Deadline, Tally};
use super::Error;
use crate::dispatch;

/// Keeps tracing installed; dropping it flushes the spans still buffered,
/// shuts the exporters down (waiting at most the builder's
/// `shutdown_timeout`, all exporters together), and restores whatever global
/// provider was there before.
///
/// Spans that could not be delivered (a dead collector, a full queue, a
/// shutdown that ran out of time) are reported once, on stderr, when it
/// shuts down, and counted in [`lost_spans`](crate::lost_spans).
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
    deadline: Arc<Deadline>,
    tallies: Vec<Arc<Tally>>,
    /// False for the guard of a disabled SDK, which installed nothing.
    installed: bool,
    shut_down: bool,
}

impl Guard {
    pub(crate) fn new(
        provider: SdkTracerProvider,
        timeout: Duration,
        deadline: Arc<Deadline>,
        tallies: Vec<Arc<Tally>>,
    ) -> Self {
        Guard { provider, timeout, deadline, tallies, installed: true, shut_down: false }
    }

    /// The guard of `OTEL_SDK_DISABLED=true`: nothing installed, nothing to do.
    pub(crate) fn disabled() -> Self {
        Guard {
            provider: SdkTracerProvider::builder().build(),
            timeout: Duration::ZERO,
            deadline: Arc::default(),
            tallies: Vec::new(),
            installed: false,
            shut_down: false,
        }
    }

    /// True unless the SDK was disabled (`OTEL_SDK_DISABLED=true` or
    /// [`Builder::disabled`](crate::Builder::disabled)), in which case
    /// nothing was installed.
    ///
    /// ```
    /// let guard = trace_runtime::init().disabled(true).install().unwrap();
    /// assert!(!guard.is_enabled());
    /// ```
    pub fn is_enabled(&self) -> bool {
        self.installed
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

    /// Flushes and shuts down now, within the shutdown timeout, reporting
    /// failures instead of ignoring them.
    ///
    /// # Errors
    ///
    /// [`Error::Shutdown`] when spans were lost (the message says how many,
    /// where to, and why: it is also printed once on stderr) or the
    /// exporters did not finish within the timeout.
    ///
    /// ```
    /// trace_runtime::init().install().unwrap().shutdown().unwrap();
    /// ```
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.shutdown_inner().map_err(|failure| failure.error)
    }

    fn shutdown_inner(&mut self) -> Result<(), Failure> {
        if std::mem::replace(&mut self.shut_down, true) || !self.installed {
            return Ok(());
        }
        // New spans go back to what was installed before; then drain ours.
        dispatch::uninstall_own();
        self.deadline.start(self.timeout);
        let result = self.provider.shutdown_with_timeout(self.timeout).map_err(|e| e.to_string());
        let shutdown_error = result.as_ref().err().map(String::as_str);
        let losses: Vec<String> = self.tallies.iter().filter_map(|t| t.settle(shutdown_error)).collect();
        if !losses.is_empty() {
            let text = losses.join("; ");
            // Reported once, whether or not the caller looks at the result.
            eprintln!("trace-runtime: {text}");
            return Err(Failure { error: Error::Shutdown(text), printed: true });
        }
        result.map_err(|e| Failure { error: Error::Shutdown(e), printed: false })
    }
}

/// A failed shutdown, and whether stderr already heard about it.
struct Failure {
    error: Error,
    printed: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Err(Failure { error, printed: false }) = self.shutdown_inner() {
            eprintln!("trace-runtime: {error}");
        }
    }
}
