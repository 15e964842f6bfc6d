//! What the HTTP integrations cost per request, against the usual
//! `tracing` stacks, in one run, on in-process services (no sockets):
//!
//! - `http_server`: `trace_runtime::http::server_layer()` vs tower-http's
//!   `TraceLayer` + tracing-opentelemetry, around the same `service_fn`,
//!   the tower `Service` called directly, its response body read to the end.
//! - `http_client`: `trace_runtime::http::client_middleware()` vs
//!   reqwest-tracing's `TracingMiddleware` + tracing-opentelemetry, in
//!   reqwest-middleware chains whose last middleware answers in process.
//!
//! Every peer exports through the same default `BatchSpanProcessor` to a
//! discarding exporter (`traced_benches::setup`). The traced cases do more
//! work than their peers: the server layer extracts `traceparent` and
//! records the semantic-convention attributes, the client middleware injects
//! its context (reqwest-tracing 0.7 has no OpenTelemetry 0.33 feature, so it
//! injects nothing here).
//!
//! Run: `cargo bench -p traced-benches --bench http_layers`.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use criterion::Criterion;
use http::{Extensions, Request, Response};
use http_body::Body;
use http_body_util::Full;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use tower::{Layer, Service};
use traced_benches::setup::{self, sampled, TracingOtel};

/// Polls a future that never waits (every service here answers at once).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// Reads a body to its end (where the server spans end).
fn drain<B: Body + Unpin>(mut body: B) -> usize {
    let mut cx = Context::from_waker(Waker::noop());
    let mut frames = 0;
    while let Poll::Ready(Some(_)) = std::pin::Pin::new(&mut body).poll_frame(&mut cx) {
        frames += 1;
    }
    frames
}

fn request() -> Request<Full<Bytes>> {
    Request::get("/orders/7")
        .header("host", "shop.example:8080")
        .header("user-agent", "bench/1.0")
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .body(Full::new(Bytes::new()))
        .expect("a valid request")
}

async fn handler(_request: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"order 7"))))
}

/// One request through `service`, body read to the end.
fn serve<S, B>(service: &mut S) -> usize
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    B: Body + Unpin,
{
    let response = ready(service.call(request())).expect("the handler answers");
    drain(response.into_body())
}

fn server(c: &mut Criterion) {
    let mut group = c.benchmark_group("http_server");
    let mut plain = tower::service_fn(handler);
    group.bench_function("none", |b| b.iter(|| black_box(serve(&mut plain))));

    let (guard, _exported) = setup::traced(sampled());
    let mut traced = trace_runtime::http::server_layer().layer(tower::service_fn(handler));
    group.bench_function("server_layer", |b| b.iter(|| black_box(serve(&mut traced))));
    drop(guard);

    let otel = TracingOtel::new(sampled());
    let mut tower_http = tower_http::trace::TraceLayer::new_for_http().layer(tower::service_fn(handler));
    group.bench_function("tower_http_tracing_otel", |b| b.iter(|| black_box(serve(&mut tower_http))));
    otel.finish();
    group.finish();
}

/// The end of every client chain: answers in process instead of the network.
struct Answer;

#[async_trait::async_trait]
impl Middleware for Answer {
    async fn handle(
        &self,
        _request: reqwest::Request,
        _extensions: &mut Extensions,
        _next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        Ok(reqwest::Response::from(Response::new("order 7")))
    }
}

fn call(client: &ClientWithMiddleware) -> u16 {
    let response = ready(client.get("http://shop.example:8080/orders/7?page=2").send()).expect("answered");
    response.status().as_u16()
}

fn client(c: &mut Criterion) {
    let mut group = c.benchmark_group("http_client");
    let reqwest = reqwest::Client::new();
    let plain = ClientBuilder::new(reqwest.clone()).with(Answer).build();
    group.bench_function("none", |b| b.iter(|| black_box(call(&plain))));

    let (guard, _exported) = setup::traced(sampled());
    let traced =
        ClientBuilder::new(reqwest.clone()).with(trace_runtime::http::client_middleware()).with(Answer).build();
    group.bench_function("client_middleware", |b| b.iter(|| black_box(call(&traced))));
    drop(guard);

    let otel = TracingOtel::new(sampled());
    let reqwest_tracing =
        ClientBuilder::new(reqwest).with(reqwest_tracing::TracingMiddleware::default()).with(Answer).build();
    group.bench_function("reqwest_tracing_otel", |b| b.iter(|| black_box(call(&reqwest_tracing))));
    otel.finish();
    group.finish();
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    server(&mut c);
    client(&mut c);
    c.final_summary();
}
