//! [`ResponseFuture`]: the response of a traced request, server or client
//! side, handing the span over to the response's body.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http::Response;
use http_body::Body;
use pin_project_lite::pin_project;

use super::body::TracedBody;
use super::exchange::Exchange;
use super::semconv;

pin_project! {
    /// The response future of a [`TracedService`](super::TracedService): the request's span is current
    /// while it runs (a handler's `#[traced]` spans nest under the server
    /// span), and the response's body carries the span on. Dropped before the
    /// response (the client went away, a timeout), it ends the span as
    /// cancelled.
    ///
    /// ```
    /// fn assert_future<F: std::future::Future>() {}
    /// assert_future::<trace_runtime::http::ResponseFuture<std::future::Ready<Result<http::Response<String>, std::convert::Infallible>>>>();
    /// ```
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        exchange: Option<Exchange>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, exchange: Option<Exchange>) -> Self {
        ResponseFuture { inner, exchange }
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: Body,
    E: Display,
{
    type Output = Result<Response<TracedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = {
            let _attached = this.exchange.as_ref().map(|exchange| exchange.context().clone().attach());
            this.inner.poll(cx)
        };
        let result = match polled {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        let mut exchange = this.exchange.take();
        Poll::Ready(match result {
            Ok(response) => {
                if let Some(exchange) = exchange.as_mut() {
                    exchange.response_head(response.status(), response.headers());
                }
                Ok(response.map(|body| TracedBody::new(body, exchange)))
            }
            Err(error) => {
                if let Some(exchange) = exchange.as_mut() {
                    exchange.fail(semconv::error_type_of::<E>(), error.to_string());
                    exchange.end();
                }
                Err(error)
            }
        })
    }
}
