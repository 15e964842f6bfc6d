//! Client spans from `trace_runtime::http::client_middleware()` (reqwest
//! through reqwest-middleware, with reqwest-retry) and
//! `trace_runtime::http::client_layer()` (hyper-util's client), against a
//! real axum server on loopback.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::http_common::{client, plain_client, serve};
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_retry::RetryTransientMiddleware;
use tower::{Service, ServiceExt};
use trace_runtime::testing::{capture_async, SpanDataExt};
use trace_runtime::traced;

fn traceparent_of(span: &SpanData) -> String {
    format!("00-{}-{}-01", span.span_context.trace_id(), span.span_context.span_id())
}

/// Answers with the `traceparent` the request carried.
async fn echo_traceparent(headers: HeaderMap) -> String {
    headers.get("traceparent").map(|v| v.to_str().unwrap_or_default().to_owned()).unwrap_or_default()
}

#[traced]
async fn call(url: String) -> String {
    client().get(url).send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn the_client_span_is_injected_and_url_full_is_redacted() {
    let captured = capture_async(async {
        let address = serve(Router::new().route("/echo", get(echo_traceparent))).await;
        let port = address.port();
        (port, call(format!("http://ada:secret@127.0.0.1:{port}/echo?token=abc&page=2#top")).await)
    })
    .await;
    let (port, received) = captured.result().clone();
    let span = captured.span("GET");
    assert!(span.is_child_of(captured.span("call")));
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(received, traceparent_of(span), "the server received the client span's context");
    // reqwest moves the credentials into an Authorization header before any
    // middleware runs; query values are redacted, the fragment never sent.
    assert_eq!(
        span.attribute_str("url.full"),
        Some(format!("http://127.0.0.1:{port}/echo?token=REDACTED&page=REDACTED").as_str())
    );
    assert!(!format!("{:?}", span.attributes).contains("secret"));
    assert_eq!(span.attribute_str("http.request.method"), Some("GET"));
    assert_eq!(span.attribute_str("server.address"), Some("127.0.0.1"));
    assert_eq!(span.attribute("server.port"), Some(&Value::I64(i64::from(port))));
    assert_eq!(span.attribute("http.response.status_code"), Some(&Value::I64(200)));
    assert_eq!(span.status, Status::Unset);
}

#[traced]
async fn fetch_with_retries(url: String) -> u16 {
    let policy = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(1), Duration::from_millis(5))
        .build_with_max_retries(3);
    let client = reqwest_middleware::ClientBuilder::new(plain_client())
        .with(RetryTransientMiddleware::new_with_policy(policy))
        .with(trace_runtime::http::client_middleware())
        .build();
    client.get(url).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn each_retry_is_a_span_of_its_own() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let (record, count) = (Arc::clone(&seen), Arc::clone(&calls));
    let captured = capture_async(async move {
        // Unavailable twice, then fine.
        let flaky = get(move |headers: HeaderMap| {
            record.lock().unwrap().push(headers.get("traceparent").map(|v| v.to_str().unwrap().to_owned()));
            let unavailable = count.fetch_add(1, Ordering::SeqCst) < 2;
            async move {
                if unavailable {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        });
        let address = serve(Router::new().route("/flaky", flaky)).await;
        fetch_with_retries(format!("http://{address}/flaky")).await
    })
    .await;
    assert_eq!(*captured.result(), 200);
    let attempts = captured.all("GET");
    assert_eq!(attempts.len(), 3, "{}", captured.tree());
    let root = captured.span("fetch_with_retries");
    let statuses: Vec<Option<&Value>> = attempts.iter().map(|s| s.attribute("http.response.status_code")).collect();
    assert_eq!(statuses, [Some(&Value::I64(503)), Some(&Value::I64(503)), Some(&Value::I64(200))]);
    assert!(attempts[0].is_error() && attempts[1].is_error() && !attempts[2].is_error());
    let sent: Vec<Option<String>> = attempts.iter().map(|s| Some(traceparent_of(s))).collect();
    assert_eq!(*seen.lock().unwrap(), sent, "each attempt carried its own span");
    assert!(attempts.iter().all(|s| s.is_child_of(root)));
}

#[tokio::test]
async fn a_transport_error_marks_the_client_span() {
    let captured = capture_async(async {
        // A port nothing listens on any more.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        client().get(format!("http://127.0.0.1:{port}/")).send().await.is_err()
    })
    .await;
    assert!(*captured.result());
    let span = captured.span("GET");
    assert!(span.is_error(), "{}", captured.tree());
    assert_eq!(span.attribute_str("error.type"), Some("connect"));
    assert_eq!(span.attribute("http.response.status_code"), None);
}

#[traced]
async fn load_order(id: u64) -> String {
    format!("order {id}")
}

#[traced]
async fn through_hyper(url: String) -> (u16, Bytes) {
    let hyper_client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut traced = tower::ServiceBuilder::new().layer(trace_runtime::http::client_layer()).service(hyper_client);
    let request = http::Request::get(url).body(Full::new(Bytes::new())).unwrap();
    let response = traced.ready().await.unwrap().call(request).await.unwrap();
    let status = response.status().as_u16();
    (status, response.into_body().collect().await.unwrap().to_bytes())
}

#[tokio::test]
async fn the_tower_client_layer_on_hyper_makes_one_trace_with_the_server_layer() {
    let captured = capture_async(async {
        let app = Router::new()
            .route("/orders/{id}", get(|Path(id): Path<u64>| load_order(id)))
            .layer(trace_runtime::http::server_layer());
        let address = serve(app).await;
        let found = through_hyper(format!("http://{address}/orders/3")).await;
        let missing = through_hyper(format!("http://{address}/nothing")).await;
        (address.port(), found, missing)
    })
    .await;
    let (port, (status, body), (missing, _)) = captured.result().clone();
    assert_eq!((status, &body[..], missing), (200, &b"order 3"[..], 404));

    let roots = captured.all("through_hyper");
    let clients: Vec<&SpanData> = roots.iter().map(|root| captured.children_of(root)[0]).collect();
    let client_span = clients[0];
    let server = captured.span("GET /orders/{id}");
    let handler = captured.span("load_order");
    assert_eq!((client_span.name.as_ref(), client_span.span_kind.clone()), ("GET", SpanKind::Client));
    assert!(server.is_child_of(client_span), "{}", captured.tree());
    assert!(handler.is_child_of(server), "{}", captured.tree());
    assert_eq!(client_span.attribute_str("url.full"), Some(format!("http://127.0.0.1:{port}/orders/3").as_str()));
    assert_eq!(client_span.attribute("server.port"), Some(&Value::I64(i64::from(port))));
    assert_eq!(client_span.attribute("http.response.status_code"), Some(&Value::I64(200)));
    assert_eq!(client_span.status, Status::Unset);
    // The span ends when the body has been read, after the server's.
    assert!(client_span.end_time >= server.end_time);

    let not_found = clients[1];
    assert!(not_found.is_error(), "{}", captured.tree());
    assert_eq!(not_found.attribute_str("error.type"), Some("404"));
}
