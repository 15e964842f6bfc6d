//! HTTP and gRPC, traced without glue code: a server span per request with
//! [`server_layer`], a client span per request (its context injected into
//! the request's headers) with [`client_middleware`] for reqwest and
//! [`client_layer`] for tower clients (hyper, tonic).
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use trace_runtime::traced;
//!
//! #[traced]
//! async fn load_order(id: u64) -> String {
//!     format!("order {id}") // a child of the server span
//! }
//!
//! # async fn serve() -> std::io::Result<()> {
//! let app = Router::new()
//!     .route("/orders/{id}", get(|axum::extract::Path(id): axum::extract::Path<u64>| load_order(id)))
//!     .layer(trace_runtime::http::server_layer()); // span "GET /orders/{id}"
//!
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(trace_runtime::http::client_middleware()) // span "GET", traceparent injected
//!     .build();
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # tokio::spawn(async move { axum::serve(listener, app).await });
//! let _ = client.get("http://127.0.0.1:3000/orders/7").send().await;
//! # Ok(()) }
//! ```
//!
//! The spans follow the OpenTelemetry semantic conventions for
//! [HTTP](https://opentelemetry.io/docs/specs/semconv/http/http-spans/) and
//! [gRPC](https://opentelemetry.io/docs/specs/semconv/rpc/grpc/):
//!
//! - Server spans are named `METHOD route` (`GET /orders/{id}`, the route
//!   from axum's `MatchedPath` with feature `axum`), else `METHOD`; their
//!   parent is the caller's span from the request headers (the configured
//!   propagators, W3C by default; a malformed `traceparent` starts a new
//!   trace). Attributes: `http.request.method` (`_OTHER` plus
//!   `http.request.method_original` for unknown methods), `http.route`,
//!   `url.path`, `url.scheme`, `server.address`, `server.port`,
//!   `user_agent.original`, `network.protocol.version`,
//!   `http.response.status_code`, and `error.type` on failure. Status
//!   ERROR for 5xx, not for 4xx (the client's mistake).
//! - Client spans are named `METHOD`, with `http.request.method`,
//!   `url.full` (credentials and query values replaced by `REDACTED`),
//!   `server.address`, `server.port`, `http.response.status_code`; status
//!   ERROR for 4xx, 5xx and for requests that got no response (`error.type`
//!   says why: `timeout`, `connect`, ...).
//! - gRPC requests (`content-type: application/grpc`) through the same
//!   layers are named `package.Service/Method` with `rpc.system = "grpc"`,
//!   `rpc.service`, `rpc.method` and `rpc.grpc.status_code` (from the
//!   response headers or trailers). A server span is ERROR for `UNKNOWN`,
//!   `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`, `UNAVAILABLE` and
//!   `DATA_LOSS`; a client span for every code but `OK`.
//!
//! The span is current while the handler (or the rest of the client stack)
//! runs, and ends when the response's body has been read to its end, so a
//! streamed response is timed whole. A request dropped before its response
//! (the client went away, a timeout) or a body dropped before its end still
//! ends the span, with `traced.cancelled = true` and a `cancelled` event.
//!
//! Under the server layer, a handler that still extracts the headers itself
//! (`#[traced(parent = propagation::extract(&headers))]`) nests under the
//! server span instead of becoming its sibling.

// The reqwest middleware alone uses only part of the shared pieces.
#![cfg_attr(not(feature = "tower"), allow(dead_code))]

mod exchange;
mod grpc;
mod semconv;

#[cfg(feature = "tower")]
mod body;
#[cfg(feature = "tower")]
mod client;
#[cfg(feature = "reqwest-middleware")]
mod client_middleware;
#[cfg(feature = "tower")]
mod future;
#[cfg(feature = "tower")]
mod layer;
#[cfg(feature = "tower")]
mod server;

#[cfg(feature = "tower")]
pub use body::TracedBody;
#[cfg(feature = "reqwest-middleware")]
pub use client_middleware::ClientMiddleware;
#[cfg(feature = "tower")]
pub use future::ResponseFuture;
#[cfg(feature = "tower")]
pub use layer::{TracedLayer, TracedService};

/// The layer [`server_layer`] makes: a [`TracedLayer`] for the server side.
#[cfg(feature = "tower")]
pub type ServerLayer = TracedLayer;
/// The layer [`client_layer`] makes: a [`TracedLayer`] for the client side.
#[cfg(feature = "tower")]
pub type ClientLayer = TracedLayer;
/// A service traced by [`server_layer`].
#[cfg(feature = "tower")]
pub type ServerService<S> = TracedService<S>;
/// A client traced by [`client_layer`].
#[cfg(feature = "tower")]
pub type ClientService<S> = TracedService<S>;

/// A `tower::Layer` that traces every request of an HTTP service (axum,
/// hyper, tonic) as a server span: see the [module docs](self).
///
/// ```
/// use tower_layer::Layer;
///
/// let hello = tower::service_fn(|_request: http::Request<String>| async {
///     trace_runtime::current_span().set_attribute("handled", true); // the server span
///     Ok::<_, std::convert::Infallible>(http::Response::new(String::from("hello")))
/// });
/// let service = trace_runtime::http::server_layer().layer(hello);
/// # let _ = service;
/// ```
#[cfg(feature = "tower")]
pub fn server_layer() -> ServerLayer {
    TracedLayer::new(exchange::Side::Server)
}

/// A `tower::Layer` that traces every request sent through an HTTP client
/// service (hyper-util's `Client`, a tonic `Channel`) as a client span, and
/// injects it into the request's headers: see the [module docs](self).
///
/// ```
/// use tower::{Service, ServiceExt};
/// use tower_layer::Layer;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let _guard = trace_runtime::init().env_lookup(|_| None).exporter(trace_runtime::ConsoleExporter::to_writer(std::io::sink())).install().unwrap();
/// // Stands in for the network: answers with the traceparent it was sent.
/// let send = tower::service_fn(|request: http::Request<String>| async move {
///     let traceparent = request.headers().get("traceparent").map(|v| v.to_str().unwrap_or("").to_owned());
///     Ok::<_, std::convert::Infallible>(http::Response::new(traceparent.unwrap_or_default()))
/// });
/// // With tonic: HealthClient::new(trace_runtime::http::client_layer().layer(channel))
/// let mut client = trace_runtime::http::client_layer().layer(send);
///
/// let request = http::Request::new(String::new());
/// let response = client.ready().await.unwrap().call(request).await.unwrap();
/// # use http_body_util::BodyExt;
/// let sent = response.into_body().collect().await.unwrap().to_bytes();
/// assert!(sent.starts_with(b"00-")); // the client span's traceparent went along
/// # }
/// ```
#[cfg(feature = "tower")]
pub fn client_layer() -> ClientLayer {
    TracedLayer::new(exchange::Side::Client)
}

/// A `reqwest_middleware::Middleware` that traces every request as a client
/// span and injects it into the request's headers: see the
/// [module docs](self).
///
/// ```
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(trace_runtime::http::client_middleware())
///     .build();
/// # let _ = client;
/// ```
#[cfg(feature = "reqwest-middleware")]
pub fn client_middleware() -> ClientMiddleware {
    ClientMiddleware::new()
}
