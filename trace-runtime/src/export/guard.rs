//! [`Guard`]: flushes and shuts tracing down when dropped.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

use std::sync::Arc;

use super::tally::Tally;
use super::worker::Pipeline;
use crate::config::Error;
use crate::dispatch;

/// Keeps tracing installed; dropping it flushes the spans still buffered,
/// shuts the exporters down and restores whatever global provider was there
/// before.
///
/// Shutdown is bounded: every exporter shuts down on its own thread, side by
/// side with the others, and each gets the whole `shutdown_timeout`; the
/// guard returns when they are done or the timeout is over, whatever an
/// exporter does (hangs, fails, panics).
///
/// Every span that ended is counted once, as delivered or in
/// [`lost_spans`](crate::lost_spans); spans in an export that outlives the
/// timeout are counted when it returns (see
/// [`pending_spans`](crate::pending_spans)). The loss is reported once on
/// stderr when the guard shuts down.
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
    pipelines: Vec<Pipeline>,
    /// Processors added with `span_processor()`, which only the SDK drives.
    others: bool,
    /// False for the guard of a disabled SDK, which installed nothing.
    installed: bool,
    shut_down: bool,
    /// The meter provider, when metrics are exported.
    meters: Option<SdkMeterProvider>,
    /// The books of the span engine's hand-off (spans it could not deliver).
    engine: Option<Arc<Tally>>,
    /// The logs pipelines, when log records are exported.
    logs: Option<super::logs::Logs>,
}

impl Guard {
    pub(crate) fn new(
        provider: SdkTracerProvider,
        timeout: Duration,
        pipelines: Vec<Pipeline>,
        others: bool,
        meters: Option<SdkMeterProvider>,
    ) -> Self {
        Guard {
            provider,
            timeout,
            pipelines,
            others,
            installed: true,
            shut_down: false,
            meters,
            engine: None,
            logs: None,
        }
    }

    /// Also settles the span engine's books at shutdown.
    pub(crate) fn with_engine(mut self, tally: Arc<Tally>) -> Self {
        self.engine = Some(tally);
        self
    }

    /// Adds the logs of this install (flushed and shut down with the spans).
    pub(crate) fn with_logs(mut self, logs: Option<super::logs::Logs>) -> Self {
        self.logs = logs;
        self
    }

    /// The guard of `OTEL_SDK_DISABLED=true`: nothing installed, nothing to do.
    pub(crate) fn disabled() -> Self {
        Guard {
            provider: SdkTracerProvider::builder().build(),
            timeout: Duration::ZERO,
            pipelines: Vec::new(),
            others: false,
            installed: false,
            shut_down: false,
            meters: None,
            engine: None,
            logs: None,
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

    /// Exports every finished span now, and the metrics and log records
    /// when they are exported, without shutting down; waits at most the
    /// builder's `shutdown_timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Shutdown`] when an exporter did not finish in time (its
    /// spans stay queued or in flight and are counted when they are done).
    ///
    /// ```
    /// let guard = trace_runtime::init().install().unwrap();
    /// guard.flush().unwrap();
    /// ```
    pub fn flush(&self) -> Result<(), Error> {
        let deadline = Instant::now() + self.timeout;
        // Spans the engine holds reach the pipelines first.
        let engine = dispatch::own_engine().filter(|_| self.engine.is_some());
        if engine.is_some_and(|engine| !engine.flush(deadline)) {
            return Err(Error::Shutdown("the span engine did not deliver its spans in time".to_owned()));
        }
        let mut errors: Vec<String> = self.pipelines.iter().filter_map(|p| p.flush(deadline).err()).collect();
        if self.others {
            let provider = self.provider.clone();
            if let Err(error) = bounded(deadline, move || provider.force_flush()) {
                errors.push(error);
            }
        }
        if let Some(meters) = self.meters.clone() {
            if let Err(error) = bounded(deadline, move || meters.force_flush()) {
                errors.push(format!("metrics: {error}"));
            }
        }
        if let Some(logs) = &self.logs {
            errors.extend(logs.flush(deadline).into_iter().map(|e| format!("logs: {e}")));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Shutdown(errors.join("; ")))
        }
    }

    /// The underlying SDK provider, for APIs that need one (e.g. a
    /// `tracing-opentelemetry` layer).
    ///
    /// Spans reach this provider's processors only once traced's span
    /// engine has handed them over, off the calling thread: the provider's
    /// own `force_flush()` flushes its processors but not the spans still in
    /// the engine's hand-off. (Draining the engine from there would take a
    /// processor of ours in the provider, and with two or more processors
    /// the SDK clones every span for each of them.) To export everything
    /// that ended so far, call [`Guard::flush`], which drains the engine
    /// first.
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
        // New spans go back to what was installed before; then drain ours,
        // every exporter at once, each with the whole timeout.
        let engine = dispatch::uninstall_own();
        let deadline = Instant::now() + self.timeout;
        // The engine delivers what it holds before the pipelines close.
        if let Some(engine) = engine {
            engine.close(deadline);
        }
        // Metrics export a last time and shut down side by side with the spans.
        let metrics = self.meters.take().map(|meters| {
            crate::metrics::uninstall();
            let timeout = self.timeout;
            spawn(move || meters.shutdown_with_timeout(timeout))
        });
        // Log records too (no more taken from here on).
        let logs = self.logs.take();
        if let Some(logs) = &logs {
            logs.begin_shutdown(deadline);
        }
        for pipeline in &self.pipelines {
            pipeline.begin_shutdown(deadline);
        }
        // The SDK provider too (later spans become no-ops, and processors
        // added with `span_processor()` shut down), on a thread of its own so
        // that none of them can hold or panic the caller.
        let provider = self.provider.clone();
        let timeout = self.timeout;
        let sdk = bounded(deadline, move || provider.shutdown_with_timeout(timeout));
        for pipeline in &self.pipelines {
            pipeline.wait(deadline);
        }
        if let Some(Err(error)) = metrics.map(|pending| wait(pending, deadline)) {
            // Metrics never fail the spans' shutdown, but are never lost silently.
            eprintln!("trace-runtime: the last metrics export failed: {error}");
        }
        let mut losses: Vec<String> =
            self.engine.iter().chain(self.pipelines.iter().map(Pipeline::tally)).filter_map(|t| t.settle()).collect();
        // After the trace console printed its trees (and their records).
        if let Some(logs) = logs {
            losses.extend(logs.finish(deadline));
        }
        if !losses.is_empty() {
            let text = losses.join("; ");
            // Reported once, whether or not the caller looks at the result.
            eprintln!("trace-runtime: {text}");
            return Err(Failure { error: Error::Shutdown(text), printed: true });
        }
        match sdk {
            Err(error) if self.others => Err(Failure { error: Error::Shutdown(error), printed: false }),
            _ => Ok(()),
        }
    }
}

/// Runs `work` on a thread of its own and waits for it until `deadline`.
fn bounded(deadline: Instant, work: impl FnOnce() -> Result<(), OTelSdkError> + Send + 'static) -> Result<(), String> {
    wait(spawn(work), deadline)
}

type Pending = Result<mpsc::Receiver<Result<(), OTelSdkError>>, String>;

/// Starts `work` on a thread of its own.
fn spawn(work: impl FnOnce() -> Result<(), OTelSdkError> + Send + 'static) -> Pending {
    let (done, result) = mpsc::channel();
    std::thread::Builder::new()
        .name("trace-runtime-shutdown".to_owned())
        .spawn(move || {
            let _ = done.send(work());
        })
        .map_err(|e| format!("could not start a thread to shut the span processors down: {e}"))?;
    Ok(result)
}

/// Waits for spawned work until `deadline`.
fn wait(pending: Pending, deadline: Instant) -> Result<(), String> {
    let result = pending?;
    match result.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(Ok(())) | Ok(Err(OTelSdkError::AlreadyShutdown)) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(mpsc::RecvTimeoutError::Timeout) => Err("a span processor did not finish in time".to_owned()),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err("a span processor panicked".to_owned()),
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
