//! [`TracedBody`]: a response body that ends its request's span when it
//! finishes, fails or is dropped, and reads gRPC's status from its trailers.

use std::fmt::Display;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::exchange::Exchange;
use super::semconv::error_type_of;

pin_project! {
    /// The body of a response that went through
    /// [`server_layer`](super::server_layer) or
    /// [`client_layer`](super::client_layer): the same bytes, and the
    /// request's span ends when the last frame is read, when reading fails,
    /// or when the body is dropped (a client that went away), so a
    /// streamed response is timed to its end.
    ///
    /// ```
    /// use http_body::Body;
    /// use trace_runtime::http::TracedBody;
    ///
    /// fn assert_body<B: Body>() {}
    /// assert_body::<TracedBody<String>>();
    /// ```
    #[derive(Debug)]
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        exchange: Option<Exchange>,
    }
}

impl<B: Body> TracedBody<B> {
    /// Ends the span at once when the body is already complete (hyper
    /// never polls an empty body).
    pub(crate) fn new(inner: B, mut exchange: Option<Exchange>) -> Self {
        if inner.is_end_stream() {
            if let Some(exchange) = exchange.as_mut() {
                exchange.end();
            }
        }
        TracedBody { inner, exchange }
    }
}

impl<B> Body for TracedBody<B>
where
    B: Body,
    B::Error: Display,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let mut this = self.project();
        // Work that produces a streamed body runs inside the request's span.
        let _attached = this.exchange.as_ref().map(|exchange| exchange.context().clone().attach());
        let polled = this.inner.as_mut().poll_frame(cx);
        if let Some(exchange) = this.exchange.as_mut() {
            match &polled {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(trailers) = frame.trailers_ref() {
                        exchange.trailers(trailers);
                    }
                    if this.inner.is_end_stream() {
                        exchange.end();
                    }
                }
                Poll::Ready(Some(Err(error))) => {
                    exchange.fail(error_type_of::<B::Error>(), error.to_string());
                    exchange.end();
                }
                Poll::Ready(None) => exchange.end(),
                Poll::Pending => {}
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
