//! Builds the logger provider `install()` sets up: one pipeline (bounded
//! queue, thread of its own) per log exporter (OTLP, the code's own), the
//! console's processor, on the same resource as the spans; and the
//! builder's logs settings.

mod console;
#[cfg(feature = "otlp")]
mod otlp;
mod pipeline;

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_sdk::logs::{LogExporter, SdkLoggerProvider};
use opentelemetry_sdk::Resource;

use console::ConsoleLogs;
pub(crate) use console::{HeldLine, Shelf};
use pipeline::LogPipeline;

use crate::config::logs::LogsConfig;
use crate::config::settings::ExportQueueConfig;
#[cfg(feature = "otlp")]
use crate::config::settings::Protocol;
use crate::config::{Builder, Error};
use crate::logs::Filter;

/// Starts the pipeline of an exporter the code gave.
pub(crate) type AddExporter = Box<dyn FnOnce(&ExportQueueConfig, &Resource) -> Result<LogPipeline, String> + Send>;

/// The logs part of an install: what the guard flushes and shuts down.
#[derive(Debug)]
pub(crate) struct Logs {
    provider: SdkLoggerProvider,
    pipelines: Vec<LogPipeline>,
    console: Option<Arc<ConsoleLogs>>,
    filter: Filter,
    /// Records leave the process (OTLP or the code's exporters).
    #[cfg_attr(not(feature = "log"), allow(dead_code))]
    exported: bool,
}

/// The provider, or `None` when logs are off. `shelf`: the trace console's,
/// when the traces are printed too.
pub(crate) fn build(
    config: &LogsConfig,
    resource: Resource,
    exporters: Vec<AddExporter>,
    shelf: Option<Arc<Shelf>>,
) -> Result<Option<Logs>, Error> {
    if !config.is_enabled() {
        return Ok(None);
    }
    let mut pipelines = Vec::new();
    for add in exporters {
        pipelines.push(add(&config.batch, &resource).map_err(Error::Exporter)?);
    }
    #[cfg(feature = "otlp")]
    if let Some(otlp) = &config.otlp {
        let cause = Arc::new(super::report::LastCause::default());
        let exporter = otlp::build(otlp, config.batch.export_timeout, Arc::clone(&cause))?;
        let pipeline = LogPipeline::start(exporter, otlp::label(otlp), &config.batch, &resource, Some(cause));
        pipelines.push(pipeline.map_err(Error::Exporter)?);
    }
    let mut builder = SdkLoggerProvider::builder().with_resource(resource);
    for pipeline in &pipelines {
        builder = builder.with_log_processor(pipeline.clone());
    }
    let console = config.console.then(|| Arc::new(ConsoleLogs::new(shelf)));
    if let Some(console) = &console {
        builder = builder.with_log_processor(SharedConsole(Arc::clone(console)));
    }
    let exported = !pipelines.is_empty();
    Ok(Some(Logs { provider: builder.build(), pipelines, console, filter: config.parsed_filter.clone(), exported }))
}

/// The console processor, shared with the guard (which prints what it
/// still holds after the traces printed theirs).
#[derive(Debug)]
struct SharedConsole(Arc<ConsoleLogs>);

impl opentelemetry_sdk::logs::LogProcessor for SharedConsole {
    fn emit(&self, record: &mut opentelemetry_sdk::logs::SdkLogRecord, _scope: &opentelemetry::InstrumentationScope) {
        self.0.emit(record);
    }

    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        // The guard prints the leftovers once the traces are printed.
        Ok(())
    }
}

impl Logs {
    /// Records go to this provider from now on; the `log` crate's records
    /// too, unless the application set a logger of its own.
    pub(crate) fn activate(&self) {
        crate::logs::install(&self.provider, self.filter.clone());
        #[cfg(feature = "log")]
        if !crate::logs::install_log_bridge(&self.filter) && self.exported {
            eprintln!(
                "trace-runtime: the `log` crate already has a logger, so its records are not exported; \
                 to export them, set yours with `trace_runtime::logger(your_logger).install()` instead"
            );
        }
    }

    /// Exports what is queued, until `deadline` at most.
    pub(crate) fn flush(&self, deadline: Instant) -> Vec<String> {
        self.pipelines.iter().filter_map(|p| p.flush(deadline).err()).collect()
    }

    /// Stops taking records and starts the last exports.
    pub(crate) fn begin_shutdown(&self, deadline: Instant) {
        crate::logs::uninstall();
        for pipeline in &self.pipelines {
            pipeline.begin_shutdown(deadline);
        }
    }

    /// Waits for the last exports until `deadline`; prints the console's
    /// leftovers; returns the losses to report.
    pub(crate) fn finish(self, deadline: Instant) -> Vec<String> {
        let mut problems = Vec::new();
        for pipeline in &self.pipelines {
            if !pipeline.wait(deadline) {
                problems.push("a log exporter did not finish in time".to_owned());
            }
        }
        if let Some(console) = &self.console {
            console.print_leftovers();
        }
        // Every pipeline is done or given up on: this returns at once.
        let _ = self.provider.shutdown_with_timeout(Duration::ZERO);
        problems.extend(self.pipelines.iter().filter_map(LogPipeline::losses));
        problems
    }
}

/// The builder's logs settings (see [`LogsConfig`] for how they combine
/// with the environment).
impl Builder {
    /// Exports log records to `exporter` too (a pipeline of its own, as
    /// OTLP has: bounded queue, batches, a thread; e.g. the SDK's
    /// `InMemoryLogExporter` in tests). Adding one in code means
    /// `OTEL_LOGS_EXPORTER` is not read.
    ///
    /// ```
    /// use opentelemetry_sdk::logs::InMemoryLogExporter;
    /// let b = trace_runtime::init().logs_exporter(InMemoryLogExporter::default());
    /// # drop(b);
    /// ```
    pub fn logs_exporter<E: LogExporter + 'static>(mut self, exporter: E) -> Self {
        self.settings.logs.custom_exporters += 1;
        let label = format!("log exporter {}", std::any::type_name::<E>());
        self.log_exporters
            .push(Box::new(move |batch, resource| LogPipeline::start(exporter, label, batch, resource, None)));
        self
    }

    /// Prints log records on stderr (else `OTEL_LOGS_EXPORTER=console`):
    /// inside their trace's tree when the traces are printed too.
    ///
    /// ```
    /// let config = trace_runtime::init().otlp().logs_console().resolve().unwrap();
    /// assert!(config.logs.console && config.logs.otlp.is_none());
    /// ```
    pub fn logs_console(mut self) -> Self {
        self.settings.logs.console = true;
        self
    }

    /// Sends log records to this OTLP URL (else
    /// `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`, else the OTLP endpoint of the
    /// traces with path `/v1/logs`); for HTTP a URL with no path gets
    /// `/v1/logs`. Headers, timeout and compression are those of
    /// [`otlp_header`](Self::otlp_header) and friends (else
    /// `OTEL_EXPORTER_OTLP_LOGS_HEADERS`, ...).
    ///
    /// ```
    /// let config = trace_runtime::init().logs_otlp_endpoint("http://collector:4318").resolve().unwrap();
    /// assert_eq!(config.logs.otlp.unwrap().endpoint, "http://collector:4318/v1/logs");
    /// ```
    #[cfg(feature = "otlp")]
    pub fn logs_otlp_endpoint(mut self, url: impl Into<String>) -> Self {
        self.settings.logs.otlp_selected = true;
        self.settings.logs.endpoint = Some(url.into());
        self
    }

    /// The OTLP transport of log records (else
    /// `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`,
    /// else the one given for the traces in code).
    ///
    /// ```
    /// let b = trace_runtime::init().logs_otlp_protocol(trace_runtime::Protocol::HttpProtobuf);
    /// # drop(b);
    /// ```
    #[cfg(feature = "otlp")]
    pub fn logs_otlp_protocol(mut self, protocol: Protocol) -> Self {
        self.settings.logs.protocol = Some(protocol);
        self
    }

    /// No log records exported, whatever the environment says; the `log`
    /// crate is left alone.
    ///
    /// ```
    /// let config = trace_runtime::init().otlp().logs_off().resolve().unwrap();
    /// assert!(!config.logs.is_enabled());
    /// ```
    pub fn logs_off(mut self) -> Self {
        self.settings.logs.off = true;
        self
    }

    /// Which records are exported, in `RUST_LOG`'s syntax (else `RUST_LOG`,
    /// else `info`): `level` for every target, `target=level` for a target
    /// and its modules (the longest wins), comma-separated. A bad value makes
    /// [`install`](Self::install) return [`Error::InvalidConfig`] naming
    /// `log_filter`.
    ///
    /// ```
    /// let config = trace_runtime::init().log_filter("warn,my_app=debug").resolve().unwrap();
    /// assert_eq!(config.logs.filter, "warn,my_app=debug");
    /// assert!(trace_runtime::init().log_filter("my_app=loud").resolve().is_err());
    /// ```
    pub fn log_filter(mut self, directives: impl Into<String>) -> Self {
        self.settings.logs.filter = Some(directives.into());
        self
    }

    /// At most this many log records wait for export, per exporter; more
    /// are dropped and counted in [`lost_logs`](crate::lost_logs) (else
    /// `OTEL_BLRP_MAX_QUEUE_SIZE`; default 2048; at most 65,536).
    ///
    /// ```
    /// let config = trace_runtime::init().logs_max_queue_size(8192).resolve().unwrap();
    /// assert_eq!(config.logs.batch.max_queue_size, 8192);
    /// assert!(trace_runtime::init().logs_max_queue_size(1 << 20).resolve().is_err());
    /// ```
    pub fn logs_max_queue_size(mut self, records: usize) -> Self {
        self.settings.logs.max_queue_size = Some(records.max(1));
        self
    }

    /// Time between two log exports (else `OTEL_BLRP_SCHEDULE_DELAY`;
    /// default 1 s; at most one day).
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = trace_runtime::init().logs_schedule_delay(Duration::from_millis(200)).resolve().unwrap();
    /// assert_eq!(config.logs.batch.schedule_delay, Duration::from_millis(200));
    /// ```
    pub fn logs_schedule_delay(mut self, delay: Duration) -> Self {
        self.settings.logs.schedule_delay = Some(delay);
        self
    }
}
