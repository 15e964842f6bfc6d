//! [`TracedLayer`] and [`TracedService`]: the tower plumbing both sides
//! share. The side decides the span (`server::start`, `client::start`); the
//! service runs the inner call with that span current and hands it to the
//! response ([`ResponseFuture`]).

use std::fmt::Display;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use super::body::TracedBody;
use super::exchange::Side;
use super::future::ResponseFuture;
use super::{client, server};

/// Traces every request of the service it wraps: as a server span (made by
/// [`server_layer`](super::server_layer)) or as a client span injected into
/// the request (made by [`client_layer`](super::client_layer)).
///
/// ```
/// use tower::{Service, ServiceExt};
/// use tower_layer::Layer;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let handler = tower::service_fn(|_request: http::Request<String>| async {
///     let in_span = trace_runtime::current_span().is_recording();
///     Ok::<_, std::convert::Infallible>(http::Response::new(in_span.to_string()))
/// });
/// let mut service = trace_runtime::http::server_layer().layer(handler);
/// let capture = trace_runtime::testing::capture_async(async {
///     service.ready().await.unwrap().call(http::Request::new(String::new())).await.unwrap();
/// })
/// .await;
/// assert_eq!(capture.spans()[0].name, "GET"); // the server span, current in the handler
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TracedLayer {
    side: Side,
}

impl TracedLayer {
    pub(crate) fn new(side: Side) -> Self {
        TracedLayer { side }
    }
}

impl<S> Layer<S> for TracedLayer {
    type Service = TracedService<S>;

    fn layer(&self, inner: S) -> TracedService<S> {
        TracedService { inner, side: self.side }
    }
}

/// A service whose requests are traced, made by [`TracedLayer`]: see
/// [`server_layer`](super::server_layer) and [`client_layer`](super::client_layer).
///
/// ```
/// use tower_layer::Layer;
///
/// let hello = tower::service_fn(|_request: http::Request<String>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(String::from("hello")))
/// });
/// // `ServerService` and `ClientService` name this same type.
/// let service: trace_runtime::http::ServerService<_> = trace_runtime::http::server_layer().layer(hello);
/// # let _ = service;
/// ```
#[derive(Debug, Clone)]
pub struct TracedService<S> {
    inner: S,
    side: Side,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TracedService<S>
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
        let exchange = match self.side {
            Side::Server => server::start(&request),
            Side::Client => client::start(&mut request),
        };
        let future = {
            let _attached = exchange.as_ref().map(|exchange| exchange.context().clone().attach());
            self.inner.call(request)
        };
        ResponseFuture::new(future, exchange)
    }
}
