//! Own binary: installs the runtime (tonic's tasks inherit no capture).
//!
//! gRPC through the same layers, with tonic on both sides: tonic's own
//! server (`Server::builder().layer(server_layer())`) serving tonic-health's
//! generated Health service, and a tonic client on a `Channel` wrapped in
//! `client_layer()`. Plus one HTTP request through `axum::serve`.
//!
//! tonic and `axum::serve` run connections in tasks of their own, which
//! inherit no test capture: this file installs `trace_runtime::init()` once
//! for the process, exporting both to an in-memory exporter (the exact
//! checks) and to the real OTLP receiver (the check that it all arrives),
//! and tells its tests' spans apart by trace id.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

mod e2e_common;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use e2e_common::Setup;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Server};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use trace_runtime::testing::SpanDataExt;
use trace_runtime::{current_span, traced};
use traced_tests::agent::AttrValue;
use traced_tests::memory::MemoryExporter;

struct Installed {
    setup: Setup,
    memory: MemoryExporter,
}

fn installed() -> &'static Installed {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let memory = MemoryExporter::default();
        let exporter = memory.clone();
        let setup = e2e_common::install(move |builder, agent| {
            builder.otlp_endpoint(agent.otlp_http_endpoint()).exporter(exporter)
        });
        Installed { setup, memory }
    })
}

/// The spans of `trace_id` once `expected` of them have been exported.
fn trace(trace_id: &str, expected: usize) -> Vec<SpanData> {
    let installed = installed();
    installed.setup.guard.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let spans: Vec<SpanData> = installed
            .memory
            .spans()
            .into_iter()
            .filter(|s| s.span_context.trace_id().to_string() == trace_id)
            .collect();
        if spans.len() >= expected || Instant::now() > deadline {
            return spans;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn find<'a>(spans: &'a [SpanData], name: &str, kind: SpanKind) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name && s.span_kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} span {name:?} in {spans:#?}"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// tonic's server with the server layer, serving the Health service.
async fn start_grpc_server() -> SocketAddr {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_service_status("shop.Orders", tonic_health::ServingStatus::Serving).await;
    let incoming = tonic::transport::server::TcpIncoming::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let address = incoming.local_addr().unwrap();
    let server = Server::builder().layer(trace_runtime::http::server_layer()).add_service(health);
    tokio::spawn(server.serve_with_incoming(incoming));
    address
}

/// Three calls: OK, NOT_FOUND (an unknown service name) and UNIMPLEMENTED
/// (a method the service does not have). Returns the trace id and codes.
#[traced]
async fn health_checks(address: SocketAddr) -> (String, Vec<i32>) {
    let channel = Channel::from_shared(format!("http://{address}")).unwrap().connect().await.unwrap();
    let traced = tower::ServiceBuilder::new().layer(trace_runtime::http::client_layer()).service(channel);
    let mut client = HealthClient::new(traced.clone());
    let mut codes = Vec::new();
    for service in ["shop.Orders", "shop.Missing"] {
        let request = HealthCheckRequest { service: service.to_owned() };
        codes.push(match client.check(request).await {
            Ok(response) => {
                assert_eq!(response.into_inner().status, ServingStatus::Serving as i32);
                0
            }
            Err(status) => status.code() as i32,
        });
    }
    let mut grpc = tonic::client::Grpc::new(traced);
    grpc.ready().await.unwrap();
    let unimplemented = grpc
        .unary::<HealthCheckRequest, HealthCheckResponse, _>(
            tonic::Request::new(HealthCheckRequest::default()),
            PathAndQuery::from_static("/grpc.health.v1.Health/Nope"),
            tonic_prost::ProstCodec::default(),
        )
        .await;
    codes.push(unimplemented.map_or_else(|status| status.code() as i32, |_| 0));
    (current_span().trace_id(), codes)
}

#[test]
fn grpc_calls_follow_the_rpc_conventions_on_both_sides() {
    let installed = installed();
    let (trace_id, codes) = runtime().block_on(async {
        let address = start_grpc_server().await;
        health_checks(address).await
    });
    assert_eq!(codes, [0, 5, 12]);
    let spans = trace(&trace_id, 7);
    let root = find(&spans, "health_checks", SpanKind::Internal);
    let clients: Vec<&SpanData> = {
        let mut clients: Vec<&SpanData> = spans.iter().filter(|s| s.span_kind == SpanKind::Client).collect();
        clients.sort_by_key(|s| s.start_time);
        clients
    };
    assert_eq!(clients.len(), 3, "{spans:#?}");
    for (client, (method, code)) in clients.iter().zip([("Check", 0), ("Check", 5), ("Nope", 12)]) {
        let name = format!("grpc.health.v1.Health/{method}");
        assert_eq!(client.name, name);
        assert!(client.is_child_of(root));
        let server = spans
            .iter()
            .find(|s| s.span_kind == SpanKind::Server && s.is_child_of(client))
            .unwrap_or_else(|| panic!("no server span under {name}: {spans:#?}"));
        assert_eq!(server.name, name);
        assert!(server.parent_span_is_remote);
        for span in [*client, server] {
            assert_eq!(span.attribute_str("rpc.system"), Some("grpc"));
            assert_eq!(span.attribute_str("rpc.service"), Some("grpc.health.v1.Health"));
            assert_eq!(span.attribute_str("rpc.method"), Some(method));
            assert_eq!(span.attribute("rpc.grpc.status_code"), Some(&Value::I64(code)), "{span:#?}");
        }
        // A client span is ERROR for every code but OK; a server span only
        // for codes that mean the server failed (not NOT_FOUND).
        assert_eq!(client.is_error(), code != 0, "{client:#?}");
        assert_eq!(server.is_error(), code == 12, "{server:#?}");
    }
    let unimplemented = find(&spans, "grpc.health.v1.Health/Nope", SpanKind::Server);
    assert_eq!(unimplemented.attribute_str("error.type"), Some("UNIMPLEMENTED"));

    // The real receiver got the same trace: a server span under each client span.
    let deadline = Instant::now() + e2e_common::WAIT;
    let received = loop {
        let received: Vec<_> = installed.setup.session.spans().into_iter().filter(|s| s.trace_id == trace_id).collect();
        if received.len() >= 7 || Instant::now() > deadline {
            break received;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(received.len(), 7, "{received:#?}");
    let servers: Vec<_> = received.iter().filter(|s| s.kind == "server").collect();
    assert_eq!(servers.len(), 3, "{received:#?}");
    for server in servers {
        let client = received
            .iter()
            .find(|s| Some(s.span_id.as_str()) == server.parent_span_id.as_deref())
            .unwrap_or_else(|| panic!("the parent of {} did not arrive: {received:#?}", server.name));
        assert_eq!((client.kind.as_str(), client.name.as_str()), ("client", server.name.as_str()));
        assert_eq!(server.attr("rpc.system").and_then(AttrValue::as_str), Some("grpc"));
    }
    assert!(received.iter().any(|s| s.kind == "server" && s.status_code == "error"));
}

#[traced]
async fn call_axum_serve(address: SocketAddr) -> (String, u16) {
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::builder().no_proxy().build().unwrap())
        .with(trace_runtime::http::client_middleware())
        .build();
    let response = client.get(format!("http://{address}/health")).send().await.unwrap();
    (current_span().trace_id(), response.status().as_u16())
}

#[test]
fn the_server_layer_works_under_axum_serve() {
    installed();
    let (trace_id, status) = runtime().block_on(async {
        let app = Router::new().route("/health", get(|| async { "ok" })).layer(trace_runtime::http::server_layer());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        call_axum_serve(address).await
    });
    assert_eq!(status, 200);
    let spans = trace(&trace_id, 3);
    let root = find(&spans, "call_axum_serve", SpanKind::Internal);
    let client = find(&spans, "GET", SpanKind::Client);
    let server = find(&spans, "GET /health", SpanKind::Server);
    assert!(client.is_child_of(root) && server.is_child_of(client), "{spans:#?}");
    assert_eq!(server.status, Status::Unset);
    assert_eq!(server.attribute("http.response.status_code"), Some(&Value::I64(200)));
}
