//! The OTLP metrics exporter, over HTTP (protobuf or JSON) or gRPC, with
//! the same compression and TLS settings as the span exporters.
//!
//! Its own rather than `opentelemetry-otlp`'s, for one reason: the SDK's
//! data types cannot carry exemplars it did not make, so the request is
//! built here (`opentelemetry-proto`'s conversion), the exemplars of
//! `#[traced]`'s duration histogram are added to it, and then it is sent.
//! HTTP goes on a blocking reqwest client (the periodic reader exports
//! from its own thread); gRPC on tonic (`grpc_metrics.rs`).

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use http::header::{CONTENT_ENCODING, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, HeaderValue};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use prost::Message as _;

use super::report::source_chain;
use crate::config::settings::{Compression, OtlpConfig, Protocol};
use crate::config::Error;

/// Sends metrics, with exemplars, to an OTLP endpoint.
#[derive(Debug)]
pub(crate) struct OtlpMetricExporter {
    transport: Transport,
    temporality: Temporality,
    /// Where the metrics go, for error messages.
    label: String,
    /// The first failure is said on stderr; later ones only in the result.
    reported: AtomicBool,
}

#[derive(Debug)]
enum Transport {
    Http(Http),
    #[cfg(feature = "grpc")]
    Grpc(super::grpc_metrics::GrpcMetrics),
}

#[derive(Debug)]
struct Http {
    client: reqwest::blocking::Client,
    endpoint: String,
    headers: HeaderMap,
    json: bool,
    compression: Option<Compression>,
}

/// Builds the exporter for `config`'s protocol.
pub(crate) fn build(config: &OtlpConfig, temporality: Temporality) -> Result<OtlpMetricExporter, Error> {
    let transport = match config.protocol {
        Protocol::HttpProtobuf | Protocol::HttpJson => {
            let json = config.protocol == Protocol::HttpJson;
            let mut headers = super::otlp::header_map(&config.headers)?;
            let content_type = if json { "application/json" } else { "application/x-protobuf" };
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            headers.insert(USER_AGENT, HeaderValue::from_static(concat!("trace-runtime/", env!("CARGO_PKG_VERSION"))));
            let client = crate::config::tls::http_client(
                reqwest::blocking::Client::builder().timeout(config.timeout),
                &config.tls,
            )?;
            Transport::Http(Http {
                client: super::otlp::blocking_client(client)?,
                endpoint: config.endpoint.clone(),
                headers,
                json,
                compression: config.compression,
            })
        }
        #[cfg(feature = "grpc")]
        Protocol::Grpc => Transport::Grpc(super::grpc_metrics::build(config)?),
        #[cfg(not(feature = "grpc"))]
        Protocol::Grpc => {
            return Err(Error::Exporter("OTLP metrics over gRPC need the `grpc` cargo feature of trace-runtime".into()))
        }
    };
    let label = format!("OTLP {} {}", config.protocol, config.endpoint);
    Ok(OtlpMetricExporter { transport, temporality, label, reported: AtomicBool::new(false) })
}

impl PushMetricExporter for OtlpMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let mut request = ExportMetricsServiceRequest::from(metrics);
        crate::metrics::attach_exemplars(&mut request);
        let sent = match &self.transport {
            Transport::Http(http) => http.send(&request),
            #[cfg(feature = "grpc")]
            Transport::Grpc(grpc) => grpc.send(request).await,
        };
        sent.map_err(|cause| {
            // A certificate problem names its fix, as the span exporter's report does.
            let message = format!("metrics export to {} failed: {}", self.label, super::otlp::with_tls_hint(cause));
            if !self.reported.swap(true, Relaxed) {
                eprintln!("trace-runtime: {message} (later failures are returned by Guard::flush and shutdown)");
            }
            OTelSdkError::InternalFailure(message)
        })
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}

impl Http {
    fn send(&self, request: &ExportMetricsServiceRequest) -> Result<(), String> {
        let body = if self.json {
            serde_json::to_vec(request).map_err(|e| format!("encoding OTLP/JSON: {e}"))?
        } else {
            request.encode_to_vec()
        };
        let mut headers = self.headers.clone();
        let body = match self.compression {
            None => body,
            Some(Compression::Gzip) => {
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                encoder.write_all(&body).and_then(|()| encoder.finish()).map_err(|e| format!("gzip: {e}"))?
            }
            Some(Compression::Zstd) => {
                headers.insert(CONTENT_ENCODING, HeaderValue::from_static("zstd"));
                zstd::encode_all(body.as_slice(), 0).map_err(|e| format!("zstd: {e}"))?
            }
        };
        let response = self
            .client
            .post(&self.endpoint)
            .headers(headers)
            .body(body)
            .send()
            .map_err(|error| super::otlp::with_tls_hint(source_chain(&error)))?;
        let status = response.status();
        if status.is_success() {
            let body = response.bytes().unwrap_or_default();
            let answer = if self.json {
                serde_json::from_slice(&body).ok()
            } else {
                ExportMetricsServiceResponse::decode(body).ok()
            };
            return rejected(answer);
        }
        let text = response.text().unwrap_or_default();
        let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
        Err(format!("the collector answered HTTP {status}: {}", first.chars().take(200).collect::<String>()))
    }
}

/// A response that says some data points were refused is a failure: they
/// are lost, and the collector's message says why.
pub(crate) fn rejected(response: Option<ExportMetricsServiceResponse>) -> Result<(), String> {
    match response.and_then(|r| r.partial_success) {
        Some(partial) if partial.rejected_data_points > 0 => Err(format!(
            "the collector rejected {} data points: {}",
            partial.rejected_data_points, partial.error_message
        )),
        _ => Ok(()),
    }
}
