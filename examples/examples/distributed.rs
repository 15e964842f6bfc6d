//! Two services talking real HTTP on loopback, one trace across both.
//!
//! `frontend` (this process) handles a checkout and calls `backend` (this
//! example started again as a child process, with its own `init()` and
//! service name) over HTTP with axum and reqwest. Two lines do all the
//! tracing of HTTP: `.with(trace_runtime::http::client_middleware())` on
//! the client (a client span per request, its context in the request's
//! `traceparent`) and `.layer(trace_runtime::http::server_layer())` on the
//! backend's router (a server span per request, continuing the caller's
//! trace). No `parent =`, no headers by hand. Each process prints its part
//! of the one trace: the backend's server span hangs under the frontend's
//! client span (same trace id, its parent id is the client span's id).
//!
//! ```sh
//! cargo run -p traced-examples --features axum,reqwest --example distributed
//! # both services to one OTLP backend (e.g. Jaeger), no code change:
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run -p traced-examples --features axum,reqwest --example distributed
//! ```

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use opentelemetry::KeyValue;
use reqwest_middleware::ClientWithMiddleware;
use trace_runtime::{current_span, traced};

fn main() {
    if std::env::args().nth(1).as_deref() == Some("backend") {
        backend();
    } else {
        frontend();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => fail(format!("cannot start tokio: {e}")),
    }
}

fn fail(message: String) -> ! {
    eprintln!("distributed example: {message}");
    std::process::exit(1);
}

// ---------------------------------------------------------------- backend

/// The backend's route: the server layer's span (`GET /price/{sku}`,
/// continuing the caller's trace) is current here.
async fn price_handler(Path(sku): Path<String>) -> String {
    price(sku).await
}

#[traced(attrs(sku))]
async fn price(sku: String) -> String {
    let cents = tariff(&sku);
    current_span().add_event("priced", [KeyValue::new("price.cents", cents)]);
    format!("{cents}")
}

#[traced(service = "tariff-db", kind = client)]
fn tariff(sku: &str) -> i64 {
    sku.bytes().map(i64::from).sum::<i64>() * 10
}

/// Serves until its stdin closes, then flushes its spans and exits.
fn backend() {
    let guard = trace_runtime::init().service_name("backend").install().unwrap_or_else(|e| fail(e.to_string()));
    runtime().block_on(async {
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(e) => fail(format!("backend cannot listen: {e}")),
        };
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        // The first line tells the frontend where we are.
        println!("listening {port}");
        let _ = std::io::stdout().flush();
        let stop = async {
            // The frontend closes our stdin when it is done.
            let _ = tokio::task::spawn_blocking(|| std::io::stdin().lines().count()).await;
        };
        let app = Router::new().route("/price/{sku}", get(price_handler)).layer(trace_runtime::http::server_layer());
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
            fail(format!("backend server: {e}"));
        }
    });
    drop(guard); // prints the backend's part of the trace
}

// ---------------------------------------------------------------- frontend

/// Returns the total and the trace id.
#[traced(name = "checkout", attrs(cart.items = skus.len()))]
async fn checkout(client: &ClientWithMiddleware, backend: &str, skus: &[&str]) -> (i64, String) {
    let mut total = 0;
    for sku in skus {
        total += fetch_price(client, backend, sku).await;
    }
    current_span().set_attribute("cart.total_cents", total);
    (total, current_span().trace_id())
}

/// A plain call: the middleware makes the client span and injects it.
async fn fetch_price(client: &ClientWithMiddleware, backend: &str, sku: &str) -> i64 {
    let body = match client.get(format!("{backend}/price/{sku}")).send().await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(e) => {
            current_span().record_error(&e);
            String::new()
        }
    };
    body.trim().parse().unwrap_or(0)
}

fn frontend() {
    let exe = std::env::current_exe().unwrap_or_else(|e| fail(format!("cannot find this program: {e}")));
    let mut child = Command::new(exe)
        .arg("backend")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(format!("cannot start the backend: {e}")));
    let mut lines = BufReader::new(child.stdout.take().unwrap_or_else(|| fail("no backend stdout".into()))).lines();
    let port = match lines.next() {
        Some(Ok(line)) if line.starts_with("listening ") => line["listening ".len()..].to_owned(),
        other => fail(format!("the backend did not start: {other:?}")),
    };
    let backend = format!("http://127.0.0.1:{port}");
    // Everything else the backend prints (its trace) is shown after ours.
    let forward = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());

    let guard = trace_runtime::init().service_name("frontend").install().unwrap_or_else(|e| fail(e.to_string()));
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(trace_runtime::http::client_middleware())
        .build();
    let (total, trace_id) = runtime().block_on(checkout(&client, &backend, &["book", "pen"]));
    println!("checkout total: {total} cents");
    println!(
        "trace {trace_id} spans both services: frontend (pid {}) and backend (pid {})",
        std::process::id(),
        child.id()
    );

    println!("── frontend ──");
    drop(guard); // prints the frontend's part of the trace
    drop(child.stdin.take()); // stops the backend, which prints its part
    let _ = child.wait();
    println!("── backend ──");
    for line in forward.join().unwrap_or_default() {
        println!("{line}");
    }
}
