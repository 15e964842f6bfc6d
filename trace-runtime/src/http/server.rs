//! [`ServerLayer`]: one server span per request for any tower service of
//! `http::Request` → `http::Response` (axum, hyper, tonic).

use std::fmt::Display;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use http_body::Body;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::KeyValue;
use tower_layer::Layer;
use tower_service::Service;

use super::body::TracedBody;
use super::exchange::{Exchange, Side};
use super::future::ResponseFuture;
use super::{grpc, semconv};
use crate::propagation;

/// Traces every request of the service it wraps as a server span; made by
/// [`server_layer`](super::server_layer).
///
/// ```
/// let layer = trace_runtime::http::server_layer();
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerLayer {
    _private: (),
}

impl ServerLayer {
    pub(crate) fn new() -> Self {
        ServerLayer { _private: () }
    }
}

impl<S> Layer<S> for ServerLayer {
    type Service = ServerService<S>;

    fn layer(&self, inner: S) -> ServerService<S> {
        ServerService { inner }
    }
}

/// A service whose requests are traced as server spans: see
/// [`server_layer`](super::server_layer).
///
/// ```
/// use tower_layer::Layer;
///
/// let hello = tower::service_fn(|_request: http::Request<String>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(String::from("hello")))
/// });
/// let service: trace_runtime::http::ServerService<_> = trace_runtime::http::server_layer().layer(hello);
/// # let _ = service;
/// ```
#[derive(Debug, Clone)]
pub struct ServerService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ServerService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Display,
    ResBody: Body,
{
    type Response = Response<TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let exchange = start(&request);
        let future = {
            let _attached = exchange.as_ref().map(|exchange| exchange.context().clone().attach());
            self.inner.call(request)
        };
        ResponseFuture::new(future, exchange)
    }
}

/// The server span of `request`, under the caller's span from its headers.
fn start<B>(request: &Request<B>) -> Option<Exchange> {
    let headers = request.headers();
    let parent = propagation::extract(headers);
    let remote = parent.span().span_context().clone();
    let grpc = grpc::is_grpc(headers);
    let mut attributes = Vec::with_capacity(10);
    let name = if grpc {
        grpc::rpc_attributes(request.uri().path(), &mut attributes)
    } else {
        semconv::method_attributes(request.method(), &mut attributes);
        let method = semconv::method_name(request.method());
        let name = match route(request) {
            Some(route) => {
                let route = semconv::bounded(route).into_owned();
                let name = format!("{method} {route}");
                attributes.push(KeyValue::new("http.route", route));
                name
            }
            None => method.to_owned(),
        };
        attributes.push(KeyValue::new("url.path", semconv::bounded(request.uri().path()).into_owned()));
        attributes.push(KeyValue::new("url.scheme", request.uri().scheme_str().unwrap_or("http").to_owned()));
        if let Some(agent) = semconv::user_agent(headers) {
            attributes.push(KeyValue::new("user_agent.original", agent));
        }
        name
    };
    let (address, port) = semconv::server_address(request.uri(), headers);
    if let Some(address) = address {
        attributes.push(KeyValue::new("server.address", address));
    }
    if let Some(port) = port {
        attributes.push(KeyValue::new("server.port", i64::from(port)));
    }
    if let Some(version) = semconv::protocol_version(request.version()) {
        attributes.push(KeyValue::new("network.protocol.version", version));
    }
    let mut exchange = Exchange::start(name, Side::Server, grpc, Some(parent), attributes)?;
    if remote.is_valid() && remote.is_remote() {
        // A handler that extracts the same headers again nests under this span.
        let marked = propagation::handled::mark(exchange.context().clone(), remote);
        exchange.set_context(marked);
    }
    Some(exchange)
}

/// The low-cardinality route the request matched, when the framework says.
fn route<B>(request: &Request<B>) -> Option<&str> {
    #[cfg(feature = "axum")]
    if let Some(matched) = request.extensions().get::<axum::extract::MatchedPath>() {
        return Some(matched.as_str());
    }
    let _ = request;
    None
}
