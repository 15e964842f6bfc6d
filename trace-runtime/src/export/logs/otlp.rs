//! The OTLP logs exporter from a resolved [`OtlpConfig`]: HTTP (protobuf or JSON) on a
//! blocking reqwest client, or gRPC on a small runtime of its own (feature
//! `grpc`), as for spans: the pipeline's thread drives each export.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::Resource;

use crate::config::settings::{OtlpConfig, Protocol};
use crate::config::Error;
#[cfg(feature = "grpc")]
use crate::export::grpc;
use crate::export::otlp;
use crate::export::report::LastCause;

/// One OTLP logs exporter, whichever transport.
pub(crate) enum OtlpLogs {
    Http(opentelemetry_otlp::LogExporter),
    #[cfg(feature = "grpc")]
    Grpc {
        inner: opentelemetry_otlp::LogExporter,
        runtime: Option<tokio::runtime::Runtime>,
    },
}

impl fmt::Debug for OtlpLogs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OtlpLogs::Http(_) => "OtlpLogs::Http",
            #[cfg(feature = "grpc")]
            OtlpLogs::Grpc { .. } => "OtlpLogs::Grpc",
        })
    }
}

/// How reports name this exporter.
pub(crate) fn label(config: &OtlpConfig) -> String {
    format!("OTLP {} {}", config.protocol, config.endpoint)
}

/// Builds the exporter; `export_timeout` (the batch's) caps the request
/// timeout. The HTTP client leaves the real cause of each failure in `cause`.
pub(crate) fn build(config: &OtlpConfig, export_timeout: Duration, cause: Arc<LastCause>) -> Result<OtlpLogs, Error> {
    let timeout = config.timeout.min(export_timeout);
    match config.protocol {
        #[cfg(feature = "grpc")]
        Protocol::Grpc => grpc(config, timeout),
        #[cfg(not(feature = "grpc"))]
        Protocol::Grpc => Err(Error::Exporter("gRPC needs the `grpc` cargo feature of trace-runtime".to_owned())),
        // HTTP, protobuf or JSON.
        #[allow(unreachable_patterns)]
        _ => http(config, timeout, cause),
    }
}

/// On the same client as the span exporter (`otlp.rs`): the configured
/// headers only, TLS, protocol (protobuf or JSON) and compression.
fn http(config: &OtlpConfig, timeout: Duration, cause: Arc<LastCause>) -> Result<OtlpLogs, Error> {
    let mut builder = opentelemetry_otlp::LogExporter::builder()
        .with_http()
        .with_protocol(otlp::http_protocol(config))
        .with_endpoint(config.endpoint.clone())
        .with_timeout(timeout)
        .with_http_client(otlp::http_client(config, timeout, cause)?);
    if let Some(compression) = otlp::compression(config) {
        builder = builder.with_compression(compression);
    }
    builder.build().map(OtlpLogs::Http).map_err(|e| Error::Exporter(format!("the OTLP logs exporter: {e}")))
}

/// As the span exporter (`grpc.rs`): its own small runtime, the configured
/// metadata only, TLS and compression.
#[cfg(feature = "grpc")]
fn grpc(config: &OtlpConfig, timeout: Duration) -> Result<OtlpLogs, Error> {
    use opentelemetry_otlp::WithTonicConfig;

    let runtime = grpc::runtime("trace-runtime-otlp-grpc-logs")?;
    let metadata = grpc::metadata(&config.headers)?;
    let inner = {
        let _entered = runtime.enter();
        let mut builder = opentelemetry_otlp::LogExporter::builder()
            .with_tonic()
            .with_protocol(opentelemetry_otlp::Protocol::Grpc)
            .with_endpoint(config.endpoint.clone())
            .with_timeout(timeout)
            .with_interceptor(grpc::OwnMetadata::new(metadata));
        if let Some(compression) = otlp::compression(config) {
            builder = builder.with_compression(compression);
        }
        if let Some(tls) = grpc::tls_config(config)? {
            builder = builder.with_tls_config(tls);
        }
        builder.build().map_err(|e| Error::Exporter(format!("the OTLP logs exporter: {e}")))?
    };
    Ok(OtlpLogs::Grpc { inner, runtime: Some(runtime) })
}

impl LogExporter for OtlpLogs {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        match self {
            OtlpLogs::Http(e) => e.export(batch).await,
            // Run on the exporter's runtime from the pipeline's plain thread.
            #[cfg(feature = "grpc")]
            OtlpLogs::Grpc { inner, runtime: Some(runtime) } => runtime.block_on(inner.export(batch)),
            #[cfg(feature = "grpc")]
            OtlpLogs::Grpc { runtime: None, .. } => Err(opentelemetry_sdk::error::OTelSdkError::AlreadyShutdown),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            OtlpLogs::Http(e) => e.shutdown_with_timeout(timeout),
            #[cfg(feature = "grpc")]
            OtlpLogs::Grpc { inner, runtime } => {
                let _entered = runtime.as_ref().map(tokio::runtime::Runtime::enter);
                inner.shutdown_with_timeout(timeout)
            }
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        match self {
            OtlpLogs::Http(e) => e.set_resource(resource),
            #[cfg(feature = "grpc")]
            OtlpLogs::Grpc { inner, .. } => inner.set_resource(resource),
        }
    }
}

#[cfg(feature = "grpc")]
impl Drop for OtlpLogs {
    fn drop(&mut self) {
        // Never block (or panic, inside an async context) on the way out.
        if let OtlpLogs::Grpc { runtime, .. } = self {
            if let Some(runtime) = runtime.take() {
                runtime.shutdown_background();
            }
        }
    }
}
