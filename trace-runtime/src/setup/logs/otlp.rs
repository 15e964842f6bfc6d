//! The OTLP logs exporter from a resolved [`OtlpConfig`]: HTTP/protobuf on a
//! blocking reqwest client, or gRPC on a small runtime of its own (feature
//! `grpc`), as for spans: the pipeline's thread drives each export.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::Resource;

use super::super::config::{Compression, OtlpConfig, Protocol};
use super::super::report::{source_chain, LastCause};
use super::super::Error;

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
        // HTTP (protobuf) for every HTTP flavour.
        #[allow(unreachable_patterns)]
        _ => http(config, timeout, cause),
    }
}

fn http(config: &OtlpConfig, timeout: Duration, cause: Arc<LastCause>) -> Result<OtlpLogs, Error> {
    let client = ExactHeaders { inner: blocking_client(timeout)?, headers: header_map(&config.headers)?, cause };
    let mut builder = opentelemetry_otlp::LogExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(config.endpoint.clone())
        .with_timeout(timeout)
        .with_http_client(client);
    if let Some(Compression::Gzip) = config.compression {
        builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    builder.build().map(OtlpLogs::Http).map_err(|e| Error::Exporter(format!("the OTLP logs exporter: {e}")))
}

fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let bad = || Error::InvalidConfig {
            setting: "otlp_header",
            value: name.clone(),
            accepted: "a valid HTTP header name and value",
        };
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?,
            HeaderValue::from_str(value).map_err(|_| bad())?,
        );
    }
    Ok(map)
}

/// The HTTP client with our headers and only ours: `opentelemetry-otlp`
/// adds those of the process's `OTEL_EXPORTER_OTLP_*HEADERS` over the ones
/// it is given, and what is sent must be what [`OtlpConfig`] says, whatever
/// lookup it was resolved from.
/// It also notes why a request failed, which the exporter's own error
/// reduces to "network error" or a bare status.
#[derive(Debug)]
struct ExactHeaders {
    inner: reqwest::blocking::Client,
    headers: HeaderMap,
    cause: Arc<LastCause>,
}

/// Headers the exporter sets itself and that must survive.
const OWN_HEADERS: [&str; 3] = ["content-type", "content-encoding", "user-agent"];

#[async_trait::async_trait]
impl HttpClient for ExactHeaders {
    async fn send_bytes(&self, mut request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let headers = request.headers_mut();
        let keep: Vec<(HeaderName, HeaderValue)> = OWN_HEADERS
            .iter()
            .filter_map(|name| headers.get(*name).map(|v| (HeaderName::from_static(name), v.clone())))
            .collect();
        headers.clear();
        headers.extend(keep);
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        let result = self.inner.send_bytes(request).await;
        match &result {
            Err(error) => self.cause.set(source_chain(error.as_ref())),
            Ok(response) if !response.status().is_success() => {
                self.cause.set(format!("the collector answered HTTP {}", response.status()));
            }
            Ok(_) => self.cause.clear(),
        }
        result
    }
}

/// The blocking client starts its own runtime thread; building it inside an
/// async runtime would panic, so it is built on a thread of its own.
fn blocking_client(timeout: Duration) -> Result<reqwest::blocking::Client, Error> {
    std::thread::Builder::new()
        .name("trace-runtime-otlp-setup".to_owned())
        .spawn(move || reqwest::blocking::Client::builder().timeout(timeout).build())
        .map_err(|e| Error::Exporter(format!("could not start a thread to build the HTTP client: {e}")))?
        .join()
        .map_err(|_| Error::Exporter("building the HTTP client panicked".to_owned()))?
        .map_err(|e| Error::Exporter(format!("could not build the HTTP client: {e}")))
}

#[cfg(feature = "grpc")]
fn grpc(config: &OtlpConfig, timeout: Duration) -> Result<OtlpLogs, Error> {
    use opentelemetry_otlp::WithTonicConfig;
    use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};

    let mut metadata = MetadataMap::new();
    for (name, value) in &config.headers {
        let bad = || Error::InvalidConfig {
            setting: "otlp_header",
            value: name.clone(),
            accepted: "a valid gRPC metadata name and ASCII value",
        };
        let key = MetadataKey::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|_| bad())?;
        metadata.insert(key, MetadataValue::try_from(value.as_str()).map_err(|_| bad())?);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("trace-runtime-otlp-grpc-logs")
        .enable_all()
        .build()
        .map_err(|e| Error::Exporter(format!("could not start the gRPC runtime: {e}")))?;
    let inner = {
        let _entered = runtime.enter();
        let mut builder = opentelemetry_otlp::LogExporter::builder()
            .with_tonic()
            .with_protocol(opentelemetry_otlp::Protocol::Grpc)
            .with_endpoint(config.endpoint.clone())
            .with_timeout(timeout)
            .with_interceptor(ExactMetadata(Arc::new(metadata)));
        if let Some(Compression::Gzip) = config.compression {
            builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
        }
        builder.build().map_err(|e| Error::Exporter(format!("the OTLP logs exporter: {e}")))?
    };
    Ok(OtlpLogs::Grpc { inner, runtime: Some(runtime) })
}

/// Replaces the request metadata (which `opentelemetry-otlp` fills from the
/// process environment over what it is given) with ours, keeping its
/// user-agent.
#[cfg(feature = "grpc")]
#[derive(Clone)]
struct ExactMetadata(Arc<tonic::metadata::MetadataMap>);

#[cfg(feature = "grpc")]
impl tonic::service::Interceptor for ExactMetadata {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let user_agent = request.metadata().get("user-agent").cloned();
        let metadata = request.metadata_mut();
        *metadata = (*self.0).clone();
        if let Some(user_agent) = user_agent {
            metadata.insert("user-agent", user_agent);
        }
        Ok(request)
    }
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
