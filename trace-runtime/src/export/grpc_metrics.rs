//! OTLP/gRPC transport of the metrics exporter (`otlp_metrics.rs`).
//!
//! Like the span exporter (`grpc.rs`), it owns a small Tokio runtime (one
//! worker thread) to drive tonic, so the application needs none: the
//! periodic reader's thread hands each request to it and waits for the answer.

use std::fmt;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use tokio::runtime::Runtime;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::transport::{Channel, Endpoint};

use super::report::source_chain;
use crate::config::settings::{Compression, OtlpConfig};
use crate::config::Error;

pub(crate) struct GrpcMetrics {
    channel: Channel,
    metadata: Arc<MetadataMap>,
    compression: Option<CompressionEncoding>,
    runtime: Option<Runtime>,
}

impl fmt::Debug for GrpcMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcMetrics").field("compression", &self.compression).finish_non_exhaustive()
    }
}

pub(crate) fn build(config: &OtlpConfig) -> Result<GrpcMetrics, Error> {
    let bad_endpoint = |why: String| Error::InvalidConfig {
        setting: "metrics_otlp_endpoint",
        value: format!("{} ({why})", config.endpoint),
        accepted: "an http:// or https:// URL of an OTLP/gRPC collector, e.g. http://localhost:4317",
    };
    let mut endpoint = Endpoint::from_shared(config.endpoint.clone()).map_err(|e| bad_endpoint(source_chain(&e)))?;
    // The same CA and client identity as the span exporter (`grpc.rs`).
    if let Some(tls) = super::grpc::tls_config(config)? {
        endpoint = endpoint.tls_config(tls).map_err(|e| bad_endpoint(source_chain(&e)))?;
    }
    let endpoint = endpoint.timeout(config.timeout);
    let metadata = Arc::new(super::grpc::metadata(&config.headers)?);
    let runtime = super::grpc::runtime("trace-runtime-otlp-grpc-metrics")?;
    // The channel connects when first used, on this runtime.
    let channel = {
        let _entered = runtime.enter();
        endpoint.connect_lazy()
    };
    let compression = config.compression.map(|compression| match compression {
        Compression::Gzip => CompressionEncoding::Gzip,
        Compression::Zstd => CompressionEncoding::Zstd,
    });
    Ok(GrpcMetrics { channel, metadata, compression, runtime: Some(runtime) })
}

impl GrpcMetrics {
    pub(crate) async fn send(&self, request: ExportMetricsServiceRequest) -> Result<(), String> {
        let Some(runtime) = &self.runtime else { return Err("the exporter is shut down".to_owned()) };
        let mut client = MetricsServiceClient::new(self.channel.clone());
        if let Some(compression) = self.compression {
            client = client.send_compressed(compression);
        }
        let mut request = tonic::Request::new(request);
        *request.metadata_mut() = (*self.metadata).clone();
        let task = runtime.spawn(async move { client.export(request).await });
        match task.await {
            Ok(Ok(response)) => super::otlp_metrics::rejected(Some(response.into_inner())),
            // The source says what failed under a bare status (a closed connection, a TLS alert).
            Ok(Err(status)) => Err(match std::error::Error::source(&status) {
                Some(source) => format!("gRPC {:?}: {}: {}", status.code(), status.message(), source_chain(source)),
                None => format!("the collector answered gRPC {:?}: {}", status.code(), status.message()),
            }),
            Err(e) => Err(format!("the gRPC export task failed: {e}")),
        }
    }
}

impl Drop for GrpcMetrics {
    fn drop(&mut self) {
        // Never block (or panic, inside an async context) on the way out.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
