//! The OTLP exporter from a resolved [`OtlpConfig`]: HTTP (protobuf or
//! JSON) on a blocking reqwest client (no async runtime needed: the batch
//! processor exports from its own thread), or gRPC (see `grpc.rs`).
//!
//! The transport settings (protocol, compression, TLS, headers) are applied
//! by helpers that take only an [`OtlpConfig`], so the exporter of every
//! signal (traces, metrics, logs) is set up the same way:
//! [`http_client`], [`http_protocol`] and [`compression`].
//!
//! `opentelemetry-otlp` also reads `OTEL_EXPORTER_OTLP_*` itself; every
//! setting is passed to it explicitly, and the headers are set by our own
//! client wrapper, so what is sent is exactly what [`OtlpConfig`] says,
//! whichever lookup it was resolved from.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use super::report::{source_chain, LastCause};
use crate::config::settings::{Compression, OtlpConfig, Protocol};
use crate::config::Error;

/// Headers the exporter itself sets and that must survive our override.
const OWN_HEADERS: [&str; 3] = ["content-type", "content-encoding", "user-agent"];

/// One OTLP exporter, whichever transport.
#[derive(Debug)]
pub(crate) enum OtlpExporter {
    Http(Box<opentelemetry_otlp::SpanExporter>),
    #[cfg(feature = "grpc")]
    Grpc(super::grpc::GrpcExporter),
}

impl SpanExporter for OtlpExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match self {
            OtlpExporter::Http(e) => e.export(batch).await,
            #[cfg(feature = "grpc")]
            OtlpExporter::Grpc(e) => e.export(batch).await,
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            OtlpExporter::Http(e) => e.shutdown_with_timeout(timeout),
            #[cfg(feature = "grpc")]
            OtlpExporter::Grpc(e) => e.shutdown_with_timeout(timeout),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        match self {
            OtlpExporter::Http(e) => e.force_flush(),
            #[cfg(feature = "grpc")]
            OtlpExporter::Grpc(e) => e.force_flush(),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        match self {
            OtlpExporter::Http(e) => e.set_resource(resource),
            #[cfg(feature = "grpc")]
            OtlpExporter::Grpc(e) => e.set_resource(resource),
        }
    }
}

/// Builds the exporter; `export_timeout` (the batch processor's) caps the
/// request timeout. The HTTP client leaves the real cause of each failure in
/// `cause`.
pub(crate) fn build(
    config: &OtlpConfig,
    export_timeout: Duration,
    cause: Arc<LastCause>,
) -> Result<OtlpExporter, Error> {
    let timeout = config.timeout.min(export_timeout);
    match config.protocol {
        Protocol::HttpProtobuf | Protocol::HttpJson => {
            http(config, timeout, cause).map(|e| OtlpExporter::Http(Box::new(e)))
        }
        #[cfg(feature = "grpc")]
        Protocol::Grpc => super::grpc::build(config, timeout).map(OtlpExporter::Grpc),
        #[cfg(not(feature = "grpc"))]
        Protocol::Grpc => Err(Error::Exporter("gRPC needs the `grpc` cargo feature of trace-runtime".to_owned())),
    }
}

/// How the loss report names this exporter.
pub(crate) fn label(config: &OtlpConfig) -> String {
    format!("OTLP {} {}", config.protocol, config.endpoint)
}

fn http(
    config: &OtlpConfig,
    timeout: Duration,
    cause: Arc<LastCause>,
) -> Result<opentelemetry_otlp::SpanExporter, Error> {
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(http_protocol(config))
        .with_endpoint(config.endpoint.clone())
        .with_timeout(timeout)
        .with_http_client(http_client(config, timeout, cause)?);
    if let Some(compression) = compression(config) {
        builder = builder.with_compression(compression);
    }
    builder.build().map_err(|e| Error::Exporter(e.to_string()))
}

/// `opentelemetry-otlp`'s protocol for an OTLP/HTTP exporter of any signal.
pub(crate) fn http_protocol(config: &OtlpConfig) -> opentelemetry_otlp::Protocol {
    match config.protocol {
        Protocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
        Protocol::HttpProtobuf | Protocol::Grpc => opentelemetry_otlp::Protocol::HttpBinary,
    }
}

/// `opentelemetry-otlp`'s compression, for HTTP and gRPC exporters of any signal.
pub(crate) fn compression(config: &OtlpConfig) -> Option<opentelemetry_otlp::Compression> {
    config.compression.map(|compression| match compression {
        Compression::Gzip => opentelemetry_otlp::Compression::Gzip,
        Compression::Zstd => opentelemetry_otlp::Compression::Zstd,
    })
}

/// The HTTP client of an OTLP/HTTP exporter of any signal: our headers
/// only, the TLS settings, a request timeout, and the real cause of each
/// failure left in `cause`.
pub(crate) fn http_client(
    config: &OtlpConfig,
    timeout: Duration,
    cause: Arc<LastCause>,
) -> Result<HeaderClient, Error> {
    let builder = crate::config::tls::http_client(reqwest::blocking::Client::builder().timeout(timeout), &config.tls)?;
    Ok(HeaderClient { inner: blocking_client(builder)?, headers: header_map(&config.headers)?, cause })
}

/// The blocking client starts its own runtime thread; building it inside an
/// async runtime would panic, so it is built on a thread of its own.
pub(crate) fn blocking_client(builder: reqwest::blocking::ClientBuilder) -> Result<reqwest::blocking::Client, Error> {
    std::thread::Builder::new()
        .name("trace-runtime-otlp-setup".to_owned())
        .spawn(move || builder.build())
        .map_err(|e| Error::Exporter(format!("could not start a thread to build the HTTP client: {e}")))?
        .join()
        .map_err(|_| Error::Exporter("building the HTTP client panicked".to_owned()))?
        .map_err(|e| Error::Exporter(format!("could not build the HTTP client: {e}")))
}

pub(crate) fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let bad = || Error::InvalidConfig {
            setting: "otlp_header",
            value: name.clone(),
            accepted: "a valid HTTP header name and value",
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_str(value).map_err(|_| bad())?;
        map.insert(name, value);
    }
    Ok(map)
}

/// The reqwest client with our headers, and only ours, on every request;
/// it also notes why a request failed, which the exporter's own error
/// reduces to "network error" or a bare status code.
pub(crate) struct HeaderClient {
    inner: reqwest::blocking::Client,
    headers: HeaderMap,
    cause: Arc<LastCause>,
}

impl fmt::Debug for HeaderClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeaderClient").field("headers", &self.headers.keys().collect::<Vec<_>>()).finish()
    }
}

#[async_trait]
impl HttpClient for HeaderClient {
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
            // reqwest's message names the URL; its sources say what failed.
            Err(error) => self.cause.set(with_tls_hint(source_chain(error.as_ref()))),
            Ok(response) if !response.status().is_success() => {
                self.cause.set(format!(
                    "the collector answered HTTP {}{}",
                    response.status(),
                    first_line(response.body())
                ));
            }
            Ok(_) => self.cause.clear(),
        }
        result
    }
}

/// A failure that names a certificate gets the fix appended.
pub(crate) fn with_tls_hint(cause: String) -> String {
    if !cause.to_ascii_lowercase().contains("certificate") {
        return cause;
    }
    format!(
        "{cause} (check that OTEL_EXPORTER_OTLP_CERTIFICATE, or otlp_certificate(), names the CA that signed the \
         collector's certificate, and the client certificate and key if the collector asks for one)"
    )
}

/// The first line of a response body, cut short, for an error message.
fn first_line(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(512)]);
    match text.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(line) if line.chars().count() > 200 => format!(": {}…", line.chars().take(200).collect::<String>()),
        Some(line) => format!(": {line}"),
        None => String::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_validated() {
        assert!(header_map(&[("x-api-key".into(), "abc".into())]).is_ok());
        assert!(header_map(&[("bad header".into(), "abc".into())]).is_err());
        assert!(header_map(&[("x".into(), "line\nbreak".into())]).is_err());
    }

    #[test]
    fn the_first_line_of_a_body_explains_a_status() {
        assert_eq!(first_line(b"\n  not found here\nmore"), ": not found here");
        assert_eq!(first_line(b""), "");
        assert!(first_line("x".repeat(1000).as_bytes()).ends_with('…'));
        assert_eq!(first_line(&[0xff, b'a']), ": \u{fffd}a");
    }
}
