//! A hostile OTLP/gRPC collector on loopback: a real tonic server whose
//! answer can be changed while it runs. It counts the spans of the requests
//! it answered `OK`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use tonic::{Request, Response, Status};

/// What the collector answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrpcFault {
    /// `OK`.
    Healthy,
    /// `UNAVAILABLE` (retryable).
    Unavailable,
    /// `INVALID_ARGUMENT` (not retryable).
    InvalidArgument,
    /// Never answers.
    NoAnswer,
    /// `OK` after this long.
    Slow(Duration),
}

/// The collector; its runtime lives until the process ends.
#[derive(Debug)]
pub struct GrpcCollector {
    addr: SocketAddr,
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    fault: Mutex<GrpcFault>,
    delivered: AtomicU64,
}

struct Service(Arc<State>);

#[tonic::async_trait]
impl TraceService for Service {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let fault = *self.0.fault.lock().unwrap_or_else(PoisonError::into_inner);
        let spans: u64 = request
            .get_ref()
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .map(|ss| ss.spans.len() as u64)
            .sum();
        match fault {
            GrpcFault::Healthy => {}
            GrpcFault::Unavailable => return Err(Status::unavailable("collector overloaded, try later")),
            GrpcFault::InvalidArgument => return Err(Status::invalid_argument("span 3 has an invalid trace id")),
            GrpcFault::NoAnswer => std::future::pending::<()>().await,
            GrpcFault::Slow(pause) => tokio::time::sleep(pause).await,
        }
        self.0.delivered.fetch_add(spans, Ordering::SeqCst);
        Ok(Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

impl GrpcCollector {
    /// Starts the server on a free loopback port, on a runtime of its own.
    pub fn start(fault: GrpcFault) -> Self {
        let state = Arc::new(State { fault: Mutex::new(fault), delivered: AtomicU64::new(0) });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the gRPC collector");
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let service = TraceServiceServer::new(Service(Arc::clone(&state)));
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let incoming = tonic::transport::server::TcpIncoming::from(listener);
                let _ = tonic::transport::Server::builder().add_service(service).serve_with_incoming(incoming).await;
            });
        });
        GrpcCollector { addr, state }
    }

    /// The collector's address, as the gRPC exporter wants it.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes the answer for the next requests.
    pub fn set(&self, fault: GrpcFault) {
        *self.state.fault.lock().unwrap_or_else(PoisonError::into_inner) = fault;
    }

    /// Spans in requests answered `OK`.
    pub fn delivered(&self) -> u64 {
        self.state.delivered.load(Ordering::SeqCst)
    }
}
