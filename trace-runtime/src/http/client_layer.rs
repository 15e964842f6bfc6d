//! [`ClientLayer`]: one client span per request for tower HTTP clients
//! (hyper-util's `Client`, a tonic `Channel`), with the span injected into
//! the request's headers.

use std::fmt::Display;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use http_body::Body;
use opentelemetry::{Context, KeyValue};
use tower_layer::Layer;
use tower_service::Service;

use super::body::TracedBody;
use super::exchange::{Exchange, Side};
use super::future::ResponseFuture;
use super::{grpc, semconv};
use crate::propagation;

/// Traces every request sent through the service it wraps as a client
/// span; made by [`client_layer`](super::client_layer).
///
/// ```
/// let layer = trace_runtime::http::client_layer();
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientLayer {
    _private: (),
}

impl ClientLayer {
    pub(crate) fn new() -> Self {
        ClientLayer { _private: () }
    }
}

impl<S> Layer<S> for ClientLayer {
    type Service = ClientService<S>;

    fn layer(&self, inner: S) -> ClientService<S> {
        ClientService { inner }
    }
}

/// A client whose requests are traced as client spans: see
/// [`client_layer`](super::client_layer).
///
/// ```
/// use tower_layer::Layer;
///
/// let echo = tower::service_fn(|request: http::Request<String>| async move {
///     Ok::<_, std::convert::Infallible>(http::Response::new(request.into_body()))
/// });
/// let client: trace_runtime::http::ClientService<_> = trace_runtime::http::client_layer().layer(echo);
/// # let _ = client;
/// ```
#[derive(Debug, Clone)]
pub struct ClientService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ClientService<S>
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

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let exchange = start(&request);
        // With nothing recording here, the caller's trace still travels on.
        let cx = exchange.as_ref().map_or_else(Context::current, |exchange| exchange.context().clone());
        propagation::inject_context(&cx, request.headers_mut());
        let future = {
            let _attached = exchange.as_ref().map(|exchange| exchange.context().clone().attach());
            self.inner.call(request)
        };
        ResponseFuture::new(future, exchange)
    }
}

/// The client span of `request`, under the current span.
fn start<B>(request: &Request<B>) -> Option<Exchange> {
    let headers = request.headers();
    let grpc = grpc::is_grpc(headers);
    let mut attributes = Vec::with_capacity(8);
    let name = if grpc {
        grpc::rpc_attributes(request.uri().path(), &mut attributes)
    } else {
        semconv::method_attributes(request.method(), &mut attributes);
        if request.uri().scheme().is_some() {
            attributes.push(KeyValue::new("url.full", semconv::redacted_url(&request.uri().to_string())));
        }
        semconv::method_name(request.method()).to_owned()
    };
    let (address, port) = semconv::server_address(request.uri(), headers);
    if let Some(address) = address {
        attributes.push(KeyValue::new("server.address", address));
    }
    let default_port = match request.uri().scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    };
    if let Some(port) = port.or(default_port) {
        attributes.push(KeyValue::new("server.port", i64::from(port)));
    }
    Exchange::start(name, Side::Client, grpc, None, attributes)
}
