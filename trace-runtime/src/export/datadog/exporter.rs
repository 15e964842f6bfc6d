//! The exporter: mapped spans, msgpack-encoded, POSTed to the Agent's
//! `/v0.4/traces` on a blocking reqwest client (the pipeline exports from
//! its own thread, so no async runtime is needed), as the OTLP/HTTP
//! exporter does.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use super::mapping::{self, ResourceTags};
use super::payload;
use super::DatadogConfig;
use crate::config::Error;
use crate::export::report::{source_chain, LastCause};

/// Sends spans to a Datadog Agent's trace intake.
pub(crate) struct DatadogExporter {
    client: reqwest::blocking::Client,
    endpoint: String,
    resource: ResourceTags,
    cause: Arc<LastCause>,
}

impl fmt::Debug for DatadogExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatadogExporter").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

/// How the loss report names this exporter.
pub(crate) fn label(config: &DatadogConfig) -> String {
    format!("Datadog Agent {}", config.endpoint)
}

/// Builds the exporter; one request may take at most `timeout`. The real
/// cause of each failure is left in `cause` for the report.
pub(crate) fn build(
    config: &DatadogConfig,
    timeout: Duration,
    cause: Arc<LastCause>,
) -> Result<DatadogExporter, Error> {
    // The blocking client starts a runtime thread of its own, which panics
    // inside an async runtime: build it on a plain thread.
    let client = std::thread::Builder::new()
        .name("trace-runtime-datadog-setup".to_owned())
        .spawn(move || reqwest::blocking::Client::builder().timeout(timeout).build())
        .map_err(|e| Error::Exporter(format!("could not start a thread to build the HTTP client: {e}")))?
        .join()
        .map_err(|_| Error::Exporter("building the HTTP client panicked".to_owned()))?
        .map_err(|e| Error::Exporter(format!("could not build the HTTP client: {e}")))?;
    Ok(DatadogExporter {
        client,
        endpoint: config.endpoint.clone(),
        resource: ResourceTags::new(&Resource::builder_empty().build()),
        cause,
    })
}

impl DatadogExporter {
    fn send(&self, batch: &[SpanData]) -> Result<(), String> {
        let spans = batch.iter().map(|span| mapping::map(span, &self.resource)).collect();
        let chunks = payload::chunks(spans);
        let body = payload::encode(&chunks);
        let response = self
            .client
            .post(&self.endpoint)
            .header("Content-Type", "application/msgpack")
            .header("Datadog-Meta-Lang", "rust")
            .header("Datadog-Meta-Tracer-Version", env!("CARGO_PKG_VERSION"))
            .header("Datadog-Client-Computed-Top-Level", "yes")
            .header("X-Datadog-Trace-Count", chunks.len().to_string())
            .body(body)
            .send()
            .map_err(|e| source_chain(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.text().unwrap_or_default();
        let line = body.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
        let line: String = line.chars().take(200).collect();
        Err(if line.is_empty() {
            format!("the Agent answered HTTP {status}")
        } else {
            format!("the Agent answered HTTP {status}: {line}")
        })
    }
}

impl SpanExporter for DatadogExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match self.send(&batch) {
            Ok(()) => {
                self.cause.clear();
                Ok(())
            }
            Err(cause) => {
                self.cause.set(cause.clone());
                Err(OTelSdkError::InternalFailure(cause))
            }
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = ResourceTags::new(resource);
    }
}
