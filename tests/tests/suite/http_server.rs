//! `trace_runtime::http::server_layer()` on a real axum app served by hyper
//! on loopback, called by reqwest through `client_middleware()`: one trace
//! from the client to the handler, the HTTP semantic conventions, statuses,
//! cancellation, streaming bodies and hostile headers.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::http_common::{client, plain_client, serve, DropSignal, StreamedBody, USER_AGENT};
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{any, get};
use axum::Router;
use bytes::Bytes;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;
use trace_runtime::testing::{capture_async, SpanDataExt};
use trace_runtime::{propagation, traced};

/// Generous bound for a signal that normally comes within milliseconds.
const SIGNAL: Duration = Duration::from_secs(10);

#[traced]
async fn load_order(id: u64) -> String {
    format!("order {id}")
}

async fn get_order(Path(id): Path<u64>) -> String {
    load_order(id).await
}

#[traced]
async fn checkout(client: &reqwest_middleware::ClientWithMiddleware, url: String) -> (u16, String) {
    let response = client.get(url).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn one_trace_from_the_client_through_the_server_span_to_the_handler() {
    let captured = capture_async(async {
        let app = Router::new().route("/orders/{id}", get(get_order)).layer(trace_runtime::http::server_layer());
        let address = serve(app).await;
        (address, checkout(&client(), format!("http://{address}/orders/7")).await)
    })
    .await;
    let (address, (status, body)) = captured.result().clone();
    assert_eq!((status, body.as_str()), (200, "order 7"));

    let root = captured.span("checkout");
    let client_span = captured.span("GET");
    let server = captured.span("GET /orders/{id}");
    let handler = captured.span("load_order");
    assert!(client_span.is_child_of(root), "{}", captured.tree());
    assert!(server.is_child_of(client_span), "{}", captured.tree());
    assert!(server.parent_span_is_remote, "the server continues the client's span from the headers");
    assert!(handler.is_child_of(server), "{}", captured.tree());
    let trace_id = root.span_context.trace_id();
    assert!(captured.spans().iter().all(|s| s.span_context.trace_id() == trace_id), "{}", captured.tree());
    assert_eq!((client_span.span_kind.clone(), server.span_kind.clone()), (SpanKind::Client, SpanKind::Server));

    assert_eq!(server.attribute_str("http.request.method"), Some("GET"));
    assert_eq!(server.attribute_str("http.route"), Some("/orders/{id}"));
    assert_eq!(server.attribute_str("url.path"), Some("/orders/7"));
    assert_eq!(server.attribute_str("url.scheme"), Some("http"));
    assert_eq!(server.attribute_str("server.address"), Some("127.0.0.1"));
    assert_eq!(server.attribute("server.port"), Some(&Value::I64(i64::from(address.port()))));
    assert_eq!(server.attribute_str("user_agent.original"), Some(USER_AGENT));
    assert_eq!(server.attribute_str("network.protocol.version"), Some("1.1"));
    assert_eq!(server.attribute("http.response.status_code"), Some(&Value::I64(200)));
    assert_eq!(server.attribute("error.type"), None);
    assert_eq!(server.status, Status::Unset);
    assert_eq!(client_span.attribute("http.response.status_code"), Some(&Value::I64(200)));
    assert_eq!(client_span.status, Status::Unset);
}

/// A handler that still continues the caller itself, as before the layer.
#[traced(kind = server, name = "extracting handler", parent = propagation::extract(&headers))]
async fn extracting_handler(headers: HeaderMap) -> &'static str {
    "ok"
}

#[tokio::test]
async fn extracting_in_a_handler_under_the_layer_nests_instead_of_a_sibling() {
    let captured = capture_async(async {
        let app = Router::new().route("/extract", get(extracting_handler)).layer(trace_runtime::http::server_layer());
        let address = serve(app).await;
        checkout(&client(), format!("http://{address}/extract")).await
    })
    .await;
    assert_eq!(captured.result().0, 200);
    let client_span = captured.span("GET");
    let server = captured.span("GET /extract");
    let handler = captured.span("extracting handler");
    assert!(server.is_child_of(client_span), "{}", captured.tree());
    assert!(handler.is_child_of(server), "one nested pair, never siblings:\n{}", captured.tree());
    assert_eq!(captured.children_of(client_span).len(), 1, "{}", captured.tree());
}

#[tokio::test]
async fn not_found_leaves_the_server_span_unset_and_marks_the_client_span() {
    let captured = capture_async(async {
        let app = Router::new().route("/orders/{id}", get(get_order)).layer(trace_runtime::http::server_layer());
        let address = serve(app).await;
        checkout(&client(), format!("http://{address}/no/such/route")).await
    })
    .await;
    assert_eq!(captured.result().0, 404);
    let client_span = captured.span("checkout");
    let client_span = captured.children_of(client_span)[0];
    assert_eq!(client_span.span_kind, SpanKind::Client);
    // No route matched: the server span is named for its method alone.
    let server = captured
        .spans()
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap_or_else(|| panic!("no server span:\n{}", captured.tree()));
    assert_eq!(server.name, "GET");
    assert_eq!(server.attribute("http.route"), None);
    assert_eq!(server.attribute("http.response.status_code"), Some(&Value::I64(404)));
    assert_eq!(server.status, Status::Unset, "a 4xx is the client's mistake");
    assert_eq!(server.attribute("error.type"), None);
    assert!(client_span.is_error(), "{}", captured.tree());
    assert_eq!(client_span.attribute_str("error.type"), Some("404"));
    assert_eq!(client_span.attribute("http.response.status_code"), Some(&Value::I64(404)));
}

#[tokio::test]
async fn a_server_error_marks_both_spans() {
    let captured = capture_async(async {
        let app = Router::new()
            .route("/fail", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
            .layer(trace_runtime::http::server_layer());
        let address = serve(app).await;
        checkout(&client(), format!("http://{address}/fail")).await
    })
    .await;
    assert_eq!(captured.result().0, 500);
    for name in ["GET", "GET /fail"] {
        let span = captured.span(name);
        assert!(span.is_error(), "{name}:\n{}", captured.tree());
        assert_eq!(span.attribute_str("error.type"), Some("500"));
        assert_eq!(span.attribute("http.response.status_code"), Some(&Value::I64(500)));
    }
}

#[tokio::test]
async fn a_cancelled_request_still_ends_the_server_span() {
    let (cancelled, on_cancel) = tokio::sync::oneshot::channel();
    let cancelled = Arc::new(Mutex::new(Some(cancelled)));
    let captured = capture_async(async move {
        let app = Router::new()
            .route(
                "/slow",
                get(move || {
                    let signal = DropSignal(cancelled.lock().unwrap().take());
                    async move {
                        let _signal = signal;
                        std::future::pending::<()>().await;
                    }
                }),
            )
            .layer(trace_runtime::http::server_layer());
        let address = serve(app).await;
        // The client gives up: its request future is dropped, and the
        // connection with it.
        let request = client().get(format!("http://{address}/slow")).send();
        assert!(tokio::time::timeout(Duration::from_millis(300), request).await.is_err());
        tokio::time::timeout(SIGNAL, on_cancel).await.expect("the server dropped the handler").unwrap();
    })
    .await;
    let server = captured.span("GET /slow");
    assert_eq!(server.attribute("traced.cancelled"), Some(&Value::Bool(true)), "{}", captured.tree());
    assert!(server.event("cancelled").is_some());
    assert_eq!(server.attribute("http.response.status_code"), None);
    let client_span = captured.span("GET");
    assert_eq!(client_span.attribute("traced.cancelled"), Some(&Value::Bool(true)), "{}", captured.tree());
}

#[tokio::test]
async fn a_streamed_body_ends_the_span_when_it_ends_or_is_dropped() {
    let streams = Arc::new(Mutex::new(Vec::new()));
    let senders = Arc::clone(&streams);
    let captured = capture_async(async move {
        let app = Router::new()
            .route(
                "/stream",
                get(move || {
                    let (body, send, dropped) = StreamedBody::new();
                    senders.lock().unwrap().push((send, dropped));
                    async move { Body::new(body) }
                }),
            )
            .layer(trace_runtime::http::server_layer());
        let address = serve(app).await;
        let client = plain_client();

        // Read to the end: the span ends with the last chunk.
        let mut finished = client.get(format!("http://{address}/stream?case=finished")).send().await.unwrap();
        let (send, _dropped) = streams.lock().unwrap().pop().unwrap();
        send.send(Bytes::from_static(b"one ")).await.unwrap();
        send.send(Bytes::from_static(b"two")).await.unwrap();
        drop(send);
        let mut read = Vec::new();
        while let Some(chunk) = finished.chunk().await.unwrap() {
            read.extend_from_slice(&chunk);
        }
        assert_eq!(read, b"one two");

        // Dropped after one chunk: the client closes the connection.
        let mut dropped = client.get(format!("http://{address}/stream?case=dropped")).send().await.unwrap();
        let (send, on_drop) = streams.lock().unwrap().pop().unwrap();
        send.send(Bytes::from_static(b"first")).await.unwrap();
        assert_eq!(dropped.chunk().await.unwrap().as_deref(), Some(&b"first"[..]));
        drop(dropped);
        tokio::time::timeout(SIGNAL, on_drop).await.expect("the server dropped the body").unwrap();
        drop(send);
    })
    .await;
    let spans = captured.all("GET /stream");
    assert_eq!(spans.len(), 2, "{}", captured.tree());
    let (finished, dropped) = (spans[0], spans[1]);
    assert_eq!(finished.attribute("traced.cancelled"), None, "{}", captured.tree());
    assert_eq!(finished.attribute("http.response.status_code"), Some(&Value::I64(200)));
    assert_eq!(dropped.attribute("traced.cancelled"), Some(&Value::Bool(true)), "{}", captured.tree());
    assert_eq!(dropped.attribute("http.response.status_code"), Some(&Value::I64(200)));
    // Timed to the end of the body, not to the handler's return.
    assert!(finished.end_time > finished.start_time);
}

#[tokio::test]
async fn a_hostile_traceparent_starts_a_new_root_and_the_request_is_served() {
    let hostile = [
        "00-zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-00f067aa0ba902b7-01".to_owned(),
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01".to_owned(),
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
        format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01{}", "-x".repeat(10_000)),
        "garbage".to_owned(),
    ];
    let captured = capture_async(async move {
        let app = Router::new().route("/orders/{id}", get(get_order)).layer(trace_runtime::http::server_layer());
        let address = serve(app).await;
        let client = plain_client();
        let mut statuses = Vec::new();
        for value in &hostile {
            let response = client.get(format!("http://{address}/orders/1")).header("traceparent", value).send().await;
            statuses.push(response.unwrap().status().as_u16());
        }
        statuses
    })
    .await;
    assert_eq!(captured.result(), &[200; 5]);
    let servers = captured.all("GET /orders/{id}");
    assert_eq!(servers.len(), 5, "{}", captured.tree());
    for server in &servers {
        assert!(server.is_root(), "a new trace, nothing of the header used:\n{}", captured.tree());
        assert_ne!(server.span_context.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(captured.children_of(server).len(), 1, "the handler still nests: {}", captured.tree());
    }
}

#[tokio::test]
async fn an_unknown_method_is_other_and_names_the_span_http() {
    let captured = capture_async(async {
        let app = Router::new().route("/cache", any(|| async { "purged" })).layer(trace_runtime::http::server_layer());
        let address = serve(app).await;
        let method = reqwest::Method::from_bytes(b"PURGE").unwrap();
        client().request(method, format!("http://{address}/cache")).send().await.unwrap().status().as_u16()
    })
    .await;
    assert_eq!(*captured.result(), 200);
    let server = captured.span("HTTP /cache");
    assert_eq!(server.attribute_str("http.request.method"), Some("_OTHER"));
    assert_eq!(server.attribute_str("http.request.method_original"), Some("PURGE"));
    let client_span = captured.span("HTTP");
    assert_eq!(client_span.attribute_str("http.request.method"), Some("_OTHER"));
}
