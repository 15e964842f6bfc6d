//! Real servers and clients on loopback for the HTTP integration tests: an
//! axum app served by hyper, and reqwest through reqwest-middleware.
//!
//! The server's accept loop and connection tasks are spawned with
//! `.in_current_span()`, so a server started inside `capture_async` sends
//! its spans to that capture: a capture sees the spans of tasks that
//! inherited its context, and hyper's own connection tasks (as `axum::serve`
//! spawns them) would not.

#![allow(dead_code)] // each test file uses a part

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use bytes::Bytes;
use http_body::{Body, Frame};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use tokio::sync::{mpsc, oneshot};
use trace_runtime::CurrentSpanExt;

pub(crate) const USER_AGENT: &str = "traced-tests/1.0";

/// Serves `app` on 127.0.0.1 (a free port) until the test's runtime stops.
pub(crate) async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let address = listener.local_addr().expect("bound address");
    let accept = async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = TowerToHyperService::new(app.clone());
            let connection = async move {
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            };
            tokio::spawn(connection.in_current_span());
        }
    };
    tokio::spawn(accept.in_current_span());
    address
}

/// reqwest through reqwest-middleware with the client middleware.
pub(crate) fn client() -> ClientWithMiddleware {
    ClientBuilder::new(plain_client()).with(trace_runtime::http::client_middleware()).build()
}

/// reqwest with no middleware at all.
pub(crate) fn plain_client() -> reqwest::Client {
    reqwest::Client::builder().user_agent(USER_AGENT).no_proxy().build().expect("a reqwest client")
}

/// A streamed response body: the chunks sent on the channel, and a signal
/// when the body is dropped (the layer's body wrapper ends the server span
/// right after, in the same drop).
pub(crate) struct StreamedBody {
    chunks: mpsc::Receiver<Bytes>,
    dropped: Option<oneshot::Sender<()>>,
}

impl StreamedBody {
    pub(crate) fn new() -> (StreamedBody, mpsc::Sender<Bytes>, oneshot::Receiver<()>) {
        let (send, chunks) = mpsc::channel(4);
        let (dropped, on_drop) = oneshot::channel();
        (StreamedBody { chunks, dropped: Some(dropped) }, send, on_drop)
    }
}

impl Body for StreamedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.chunks.poll_recv(cx).map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}

impl Drop for StreamedBody {
    fn drop(&mut self) {
        if let Some(dropped) = self.dropped.take() {
            let _ = dropped.send(());
        }
    }
}

/// Signals when dropped: a handler holds one to tell the test it was cancelled.
pub(crate) struct DropSignal(pub(crate) Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(signal) = self.0.take() {
            let _ = signal.send(());
        }
    }
}
