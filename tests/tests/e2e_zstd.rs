//! zstd compression (`OTEL_EXPORTER_OTLP_COMPRESSION=zstd`) over OTLP/HTTP
//! and OTLP/gRPC.
//!
//! The real receiver (ddapm-test-agent) cannot take zstd: its HTTP server
//! (aiohttp) decodes zstd only with the optional `backports.zstd` module,
//! and Python's grpcio has no zstd codec. So the receivers here are real
//! servers that decode: an axum server that refuses any body not marked
//! `content-encoding: zstd`, unpacks it with the `zstd` crate and decodes
//! the protobuf; a tonic server that accepts only zstd-compressed requests.
//! Each checks the spans arrive with their attributes intact, also when a
//! batch is split under the request limit.
//!
//! One test, in steps: each step installs tracing (process-wide).

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;
use tonic::codec::CompressionEncoding;
use trace_runtime::{traced, Compression};

/// `(span name, its `payload` attribute)` of every span received, and the
/// number of requests.
#[derive(Default)]
struct Received {
    spans: Vec<(String, String)>,
    requests: usize,
}

type Shared = Arc<Mutex<Received>>;

fn record(received: &Shared, request: &ExportTraceServiceRequest) {
    let mut received = received.lock().unwrap();
    received.requests += 1;
    for span in request.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
        let payload = span
            .attributes
            .iter()
            .find(|kv| kv.key == "payload")
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
            .map(|v| match v {
                Value::StringValue(s) => s.clone(),
                other => format!("{other:?}"),
            })
            .unwrap_or_default();
        received.spans.push((span.name.clone(), payload));
    }
}

/// An OTLP/HTTP receiver that takes zstd bodies only.
fn http_receiver(runtime: &tokio::runtime::Runtime, received: Shared) -> SocketAddr {
    let handler = move |headers: HeaderMap, body: Bytes| {
        let received = Arc::clone(&received);
        async move {
            if headers.get("content-encoding").and_then(|v| v.to_str().ok()) != Some("zstd") {
                return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "only zstd bodies here".to_owned());
            }
            let decoded = match zstd::decode_all(&body[..]) {
                Ok(decoded) => decoded,
                Err(e) => return (StatusCode::BAD_REQUEST, format!("not zstd: {e}")),
            };
            match ExportTraceServiceRequest::decode(&decoded[..]) {
                Ok(request) => {
                    record(&received, &request);
                    (StatusCode::OK, String::new())
                }
                Err(e) => (StatusCode::BAD_REQUEST, format!("not OTLP protobuf: {e}")),
            }
        }
    };
    let app = axum::Router::new().route("/v1/traces", axum::routing::post(handler));
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, app).await });
    addr
}

struct Grpc(Shared);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let encoding = request.metadata().get("grpc-encoding").and_then(|v| v.to_str().ok());
        if encoding != Some("zstd") {
            return Err(tonic::Status::invalid_argument(format!("expected zstd, got {encoding:?}")));
        }
        record(&self.0, request.get_ref());
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

/// An OTLP/gRPC receiver that accepts zstd-compressed requests only.
fn grpc_receiver(runtime: &tokio::runtime::Runtime, received: Shared) -> SocketAddr {
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let service = TraceServiceServer::new(Grpc(received)).accept_compressed(CompressionEncoding::Zstd);
    runtime.spawn(async move {
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        tonic::transport::Server::builder().add_service(service).serve_with_incoming(incoming).await
    });
    addr
}

#[traced(attrs(payload))]
fn zstd_work(payload: &str) {}

/// Sends 30 spans with a 22 KB attribute each through an exporter set up
/// from the environment (zstd), and waits for the receiver.
fn send(protocol: &'static str, endpoint: String, received: &Shared) {
    let lookup = move |name: &str| match name {
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" => Some(endpoint.clone()),
        "OTEL_EXPORTER_OTLP_PROTOCOL" => Some(protocol.to_owned()),
        "OTEL_EXPORTER_OTLP_COMPRESSION" => Some("zstd".to_owned()),
        "OTEL_BSP_SCHEDULE_DELAY" => Some("50".to_owned()),
        _ => None,
    };
    let builder = trace_runtime::init().env_lookup(lookup).batch_max_export_bytes(128 * 1024);
    let config = builder.resolve().unwrap();
    assert_eq!(config.otlp.as_ref().unwrap().compression, Some(Compression::Zstd));
    let guard = builder.install().unwrap();
    let payload = "zstd makes this small ".repeat(1000);
    for _ in 0..30 {
        zstd_work(&payload);
    }
    guard.shutdown().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.lock().unwrap().spans.len() < 30 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let received = received.lock().unwrap();
    assert_eq!(received.spans.len(), 30, "{protocol}: every span arrived");
    assert!(received.spans.iter().all(|(name, p)| name == "zstd_work" && *p == payload), "{protocol}: intact");
    // 30 spans of 22 KB under a 128 KiB limit: split into several requests.
    assert!(received.requests >= 6, "{protocol}: {} requests", received.requests);
}

#[test]
fn zstd_bodies_reach_decoding_servers_over_http_and_grpc() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let over_http = Shared::default();
    let addr = http_receiver(&runtime, Arc::clone(&over_http));
    send("http/protobuf", format!("http://{addr}/v1/traces"), &over_http);

    let over_grpc = Shared::default();
    let addr = grpc_receiver(&runtime, Arc::clone(&over_grpc));
    send("grpc", format!("http://{addr}"), &over_grpc);
}
