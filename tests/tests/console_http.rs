//! Own binary: installs the runtime (the provider is process-wide).
//!
//! A service calling itself over HTTP (real axum server, real reqwest
//! client, `traceparent` between them) prints ONE block for the trace, with
//! the service in the header and the global tags once.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::routing::get;
use axum::Router;
use http::HeaderMap;
use trace_runtime::{propagation, set_global_tag, traced, ConsoleExporter};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn price_handler(headers: HeaderMap) -> String {
    propagation::with_remote_parent(&headers, serve_price()).await
}

#[traced(kind = server, name = "GET /price handler")]
async fn serve_price() -> String {
    tariff();
    "7".to_owned()
}

#[traced]
fn tariff() {}

#[traced(kind = server, name = "GET /checkout")]
async fn checkout(base: &str) -> i64 {
    let mut total = 0;
    for _ in 0..3 {
        total += fetch_price(base).await;
    }
    total
}

#[traced(kind = client, name = "GET /price")]
async fn fetch_price(base: &str) -> i64 {
    let mut headers = HeaderMap::new();
    propagation::inject(&mut headers);
    let response = reqwest::Client::new().get(format!("{base}/price")).headers(headers).send().await.unwrap();
    response.text().await.unwrap().parse().unwrap()
}

#[test]
fn a_service_calling_itself_prints_one_tree() {
    let buffer = Buffer::default();
    set_global_tag("deployment.region", "eu-west-1");
    let guard = trace_runtime::init()
        .service_name("shop")
        .exporter(ConsoleExporter::to_writer(buffer.clone()))
        .install()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let total = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, Router::new().route("/price", get(price_handler))).await;
        });
        let total = checkout(&base).await;
        server.abort();
        total
    });
    assert_eq!(total, 21);
    guard.shutdown().unwrap();
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("trace ")).collect();
    assert_eq!(headers.len(), 1, "one block for the whole trace:\n{text}");
    assert!(headers[0].contains(" · shop · 10 spans · "), "{text}");
    assert_eq!(text.matches("deployment.region").count(), 1, "the tag once, not per span:\n{text}");
    assert!(text.contains("  tags: deployment.region=\"eu-west-1\""), "{text}");
    let names: Vec<&str> = text
        .lines()
        .skip(2) // the header and the tags line
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(" (").next().unwrap_or(l))
        .collect();
    assert_eq!(
        names,
        [
            "GET /checkout",
            "├─ GET /price",
            "│  └─ GET /price handler",
            "│     └─ tariff",
            "├─ GET /price",
            "│  └─ GET /price handler",
            "│     └─ tariff",
            "└─ GET /price",
            "   └─ GET /price handler",
            "      └─ tariff",
        ],
        "{text}"
    );
}
