//! Builds the logger provider `install()` sets up: one pipeline (bounded
//! queue, thread of its own) per log exporter (OTLP, the code's own), the
//! console's processor, on the same resource as the spans. (The builder's
//! logs settings are in `config/logs.rs`.)

mod console;
#[cfg(feature = "otlp")]
mod otlp;
pub(crate) mod pipeline;

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::Resource;

use console::ConsoleLogs;
pub(crate) use console::{HeldLine, Shelf};
use pipeline::LogPipeline;

use crate::config::logs::LogsConfig;
use crate::config::settings::ExportQueueConfig;
use crate::config::Error;
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
