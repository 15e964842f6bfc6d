//! OTLP/gRPC without asking the application for an async runtime.
//!
//! tonic needs a Tokio runtime to connect and to drive its channel. The
//! batch processor exports from its own plain thread, so the exporter owns
//! a small runtime (one worker thread): it is built inside it, and every
//! export runs on it while the batch thread waits for the result.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use tokio::runtime::Runtime;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};

use crate::config::settings::OtlpConfig;
use crate::config::Error;

pub(crate) struct GrpcExporter {
    inner: Arc<opentelemetry_otlp::SpanExporter>,
    runtime: Option<Runtime>,
}

impl fmt::Debug for GrpcExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GrpcExporter")
    }
}

/// The small runtime each gRPC exporter (spans, metrics, logs) runs its
/// tonic client on: one worker thread named `thread_name`, so that exporting
/// never needs (or blocks) a runtime of the application's.
pub(crate) fn runtime(thread_name: &str) -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(thread_name)
        .enable_all()
        .build()
        .map_err(|e| Error::Exporter(format!("could not start the gRPC runtime ({thread_name}): {e}")))
}

pub(crate) fn build(config: &OtlpConfig, timeout: Duration) -> Result<GrpcExporter, Error> {
    let runtime = runtime("trace-runtime-otlp-grpc")?;
    let metadata = metadata(&config.headers)?;
    let exporter = {
        let _entered = runtime.enter();
        let mut builder = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_protocol(opentelemetry_otlp::Protocol::Grpc)
            .with_endpoint(config.endpoint.clone())
            .with_timeout(timeout)
            .with_interceptor(OwnMetadata(Arc::new(metadata)));
        if let Some(compression) = super::otlp::compression(config) {
            builder = builder.with_compression(compression);
        }
        if let Some(tls) = tls_config(config)? {
            builder = builder.with_tls_config(tls);
        }
        builder.build().map_err(|e| Error::Exporter(e.to_string()))?
    };
    Ok(GrpcExporter { inner: Arc::new(exporter), runtime: Some(runtime) })
}

/// The TLS settings of a gRPC exporter of any signal: for an `https://`
/// endpoint, the given CA (else the system's roots) and client identity;
/// none for `http://`.
pub(crate) fn tls_config(config: &OtlpConfig) -> Result<Option<tonic::transport::ClientTlsConfig>, Error> {
    if !config.endpoint.starts_with("https://") {
        return Ok(None);
    }
    crate::config::tls::grpc(&config.tls).map(Some)
}

/// The gRPC metadata of an exporter of any signal, from its headers.
pub(crate) fn metadata(headers: &[(String, String)]) -> Result<MetadataMap, Error> {
    let mut map = MetadataMap::new();
    for (name, value) in headers {
        let bad = || Error::InvalidConfig {
            setting: "otlp_header",
            value: name.clone(),
            accepted: "a valid gRPC metadata name and ASCII value",
        };
        let key = MetadataKey::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|_| bad())?;
        let value = MetadataValue::try_from(value.as_str()).map_err(|_| bad())?;
        map.insert(key, value);
    }
    Ok(map)
}

/// Replaces the request metadata (which `opentelemetry-otlp` fills from the
/// process environment) with ours, keeping its user-agent.
#[derive(Clone)]
pub(crate) struct OwnMetadata(Arc<MetadataMap>);

impl OwnMetadata {
    pub(crate) fn new(metadata: MetadataMap) -> Self {
        OwnMetadata(Arc::new(metadata))
    }
}

impl tonic::service::Interceptor for OwnMetadata {
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

impl SpanExporter for GrpcExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let Some(runtime) = &self.runtime else { return Err(OTelSdkError::AlreadyShutdown) };
        let inner = Arc::clone(&self.inner);
        let task = runtime.spawn(async move { inner.export(batch).await });
        match task.await {
            Ok(Err(OTelSdkError::InternalFailure(why))) => {
                Err(OTelSdkError::InternalFailure(super::otlp::with_tls_hint(why)))
            }
            Ok(result) => result,
            Err(e) => Err(OTelSdkError::InternalFailure(format!("gRPC export task failed: {e}"))),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let _entered = self.runtime.as_ref().map(Runtime::enter);
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        // Called by the batch thread before or between exports, when no
        // export task holds a reference.
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.set_resource(resource);
        }
    }
}

impl Drop for GrpcExporter {
    fn drop(&mut self) {
        // Never block (or panic, inside an async context) on the way out.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
