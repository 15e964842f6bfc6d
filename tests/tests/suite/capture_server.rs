//! A real axum server started inside `capture_async`: its connection tasks
//! do not inherit the capture's context, but the request carries the
//! capture's trace in `traceparent`, so its spans are collected too — and
//! only those of traces the capture started.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use axum::routing::get;
use axum::Router;
use http::HeaderMap;
use trace_runtime::testing::{capture_async, SpanDataExt};
use trace_runtime::{propagation, set_global_tag, traced};

async fn price_handler(headers: HeaderMap) -> String {
    propagation::with_remote_parent(&headers, serve_price()).await
}

#[traced(kind = server, name = "GET /price handler")]
async fn serve_price() -> String {
    lookup();
    "42".to_owned()
}

#[traced]
fn lookup() {}

#[traced]
async fn checkout(base: &str) -> i64 {
    fetch_price(base, true).await
}

#[traced(kind = client, name = "GET /price")]
async fn fetch_price(base: &str, propagate: bool) -> i64 {
    let mut headers = HeaderMap::new();
    if propagate {
        propagation::inject(&mut headers);
    }
    let response = reqwest::Client::new().get(format!("{base}/price")).headers(headers).send().await.unwrap();
    response.text().await.unwrap().parse().unwrap()
}

/// Starts the server on a plain `tokio::spawn`: no capture context on it.
async fn start_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().route("/price", get(price_handler));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_started_inside_a_capture_has_its_spans_collected() {
    let c = capture_async(async {
        set_global_tag("test.case", "server");
        let (base, server) = start_server().await;
        let total = checkout(&base).await;
        server.abort();
        total
    })
    .await;
    assert_eq!(*c.result(), 42);
    c.assert_names_tree(
        "
        checkout
        └─ GET /price
           └─ GET /price handler
              └─ lookup
        ",
    );
    // The server's spans are the capture's: its global tag too.
    assert_eq!(c.span("lookup").attr_str("test.case"), Some("server"));
    assert!(c.span("GET /price handler").parent_span_is_remote);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_of_traces_the_capture_did_not_start_are_not_collected() {
    let c = capture_async(async {
        let (base, server) = start_server().await;
        // No traceparent: the server starts a trace of its own.
        let total = fetch_price(&base, false).await;
        server.abort();
        total
    })
    .await;
    assert_eq!(*c.result(), 42);
    c.assert_names_tree("GET /price\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_captures_with_servers_keep_their_own_spans() {
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            tokio::spawn(async move {
                let c = capture_async(async move {
                    set_global_tag("worker", i);
                    let (base, server) = start_server().await;
                    checkout(&base).await;
                    server.abort();
                })
                .await;
                assert_eq!(c.spans().len(), 4, "{}", c.tree());
                for span in c.spans() {
                    assert_eq!(span.attr_i64("worker"), Some(i), "{}", c.tree());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}
