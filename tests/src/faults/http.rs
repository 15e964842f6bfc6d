//! A hostile OTLP/HTTP collector on loopback: a plain `std` HTTP/1.1 server
//! whose behaviour can be changed while it runs (to check recovery). It
//! decodes every request and counts the spans of those it answered with a
//! clean `200`, the only ones the exporter can consider delivered.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// What the collector does with each request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpFault {
    /// Reads the request, answers `200` with an empty OTLP response.
    Healthy,
    /// Accepts the connection and never answers.
    Hang,
    /// Answers this status, with this `Retry-After` and this body.
    Status(u16, Option<&'static str>, &'static str),
    /// Answers bytes that are not HTTP, then closes.
    Garbage,
    /// Answers `200` with a body of this many bytes.
    HugeBody(usize),
    /// Sends half a status line, then closes.
    CloseMidResponse,
    /// Reads the request 1 KiB at a time with this pause, then answers `200`.
    SlowRead(Duration),
}

/// The collector; dropping it leaves its thread running until the process
/// ends (tests are short-lived processes).
#[derive(Debug)]
pub struct HttpCollector {
    addr: SocketAddr,
    fault: Arc<Mutex<HttpFault>>,
    delivered: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
    /// The spans delivered (answered `200`), decoded, for cases that check
    /// what arrived as well as how many.
    received: Arc<Mutex<Vec<Span>>>,
}

/// What the serving threads share.
#[derive(Debug, Clone)]
struct Books {
    fault: Arc<Mutex<HttpFault>>,
    delivered: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
    received: Arc<Mutex<Vec<Span>>>,
}

impl HttpCollector {
    /// Starts listening on a free loopback port.
    pub fn start(fault: HttpFault) -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").expect("bind a loopback port"), fault)
    }

    /// Starts listening on `endpoint`'s port (given by
    /// [`refused_endpoint`](Self::refused_endpoint)): the refusing
    /// collector comes up.
    pub fn start_at(endpoint: &str, fault: HttpFault) -> Self {
        let addr = endpoint.trim_start_matches("http://").trim_end_matches("/v1/traces").to_owned();
        Self::start_on(TcpListener::bind(addr).expect("the refused port is still free"), fault)
    }

    fn start_on(listener: TcpListener, fault: HttpFault) -> Self {
        let addr = listener.local_addr().expect("local address");
        let collector = HttpCollector {
            addr,
            fault: Arc::new(Mutex::new(fault)),
            delivered: Arc::default(),
            requests: Arc::default(),
            received: Arc::default(),
        };
        let books = Books {
            fault: Arc::clone(&collector.fault),
            delivered: Arc::clone(&collector.delivered),
            requests: Arc::clone(&collector.requests),
            received: Arc::clone(&collector.received),
        };
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let books = books.clone();
                thread::spawn(move || serve(stream, &books));
            }
        });
        collector
    }

    /// A URL on a port nobody listens on: connections are refused.
    pub fn refused_endpoint() -> String {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        format!("http://127.0.0.1:{port}/v1/traces")
    }

    /// The traces URL.
    pub fn endpoint(&self) -> String {
        format!("http://{}/v1/traces", self.addr)
    }

    /// Changes the behaviour for the next requests.
    pub fn set(&self, fault: HttpFault) {
        *self.fault.lock().unwrap_or_else(PoisonError::into_inner) = fault;
    }

    /// Spans in requests answered with a clean `200`.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::SeqCst)
    }

    /// The spans delivered so far, as decoded.
    pub fn spans(&self) -> Vec<Span> {
        self.received.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Requests received (whatever the answer).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve(stream: TcpStream, books: &Books) {
    let Books { fault, delivered, requests, received } = books;
    let mut held = Vec::new();
    let mut reader = BufReader::new(stream);
    loop {
        let Some(content_length) = read_head(&mut reader) else { return };
        // The behaviour is read per request, so a kept-alive connection
        // recovers too.
        let fault = fault.lock().unwrap_or_else(PoisonError::into_inner).clone();
        requests.fetch_add(1, Ordering::SeqCst);
        let mut body = vec![0_u8; content_length];
        let read = match &fault {
            HttpFault::SlowRead(pause) => read_slowly(&mut reader, &mut body, *pause),
            _ => reader.read_exact(&mut body).is_ok(),
        };
        if !read {
            return;
        }
        let decoded: Vec<Span> = match ExportTraceServiceRequest::decode(body.as_slice()) {
            Ok(r) => r.resource_spans.into_iter().flat_map(|rs| rs.scope_spans).flat_map(|ss| ss.spans).collect(),
            Err(error) => {
                // Counted as nothing delivered: the case's books will say so.
                eprintln!("fault collector: a request of {content_length} bytes does not decode: {error}");
                Vec::new()
            }
        };
        let spans = decoded.len() as u64;
        let stream = reader.get_mut();
        match fault {
            HttpFault::Healthy | HttpFault::SlowRead(_) => {
                // Counted before answering: once the exporter has its 200
                // (and shutdown may return), the count must already be
                // there. Taken back if the answer cannot be written.
                delivered.fetch_add(spans, Ordering::SeqCst);
                if answer(stream, 200, None, b"").is_ok() {
                    received.lock().unwrap_or_else(PoisonError::into_inner).extend(decoded);
                } else {
                    delivered.fetch_sub(spans, Ordering::SeqCst);
                }
            }
            HttpFault::Hang => {
                // Keep the connection open and never answer.
                held.push(stream.try_clone());
                thread::sleep(Duration::from_secs(3600));
            }
            HttpFault::Status(code, retry_after, text) => {
                let _ = answer(stream, code, retry_after, text.as_bytes());
            }
            HttpFault::Garbage => {
                let _ = stream.write_all(b"\x00\x01garbage, not HTTP\r\n\r\n");
                return;
            }
            HttpFault::HugeBody(bytes) => {
                let _ = answer(stream, 200, None, &vec![b'x'; bytes]);
            }
            HttpFault::CloseMidResponse => {
                let _ = stream.write_all(b"HTTP/1.1 200 O");
                return;
            }
        }
    }
}

/// Reads a request head; returns its `Content-Length`, `None` at the end.
fn read_head(reader: &mut BufReader<TcpStream>) -> Option<usize> {
    let mut content_length = 0;
    let mut first = true;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() && !first {
            return Some(content_length);
        }
        first = false;
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse().ok()?;
            }
        }
    }
}

fn read_slowly(reader: &mut BufReader<TcpStream>, body: &mut [u8], pause: Duration) -> bool {
    for chunk in body.chunks_mut(1024) {
        thread::sleep(pause);
        if reader.read_exact(chunk).is_err() {
            return false;
        }
    }
    true
}

fn answer(stream: &mut TcpStream, code: u16, retry_after: Option<&str>, body: &[u8]) -> std::io::Result<()> {
    let mut head =
        format!("HTTP/1.1 {code} Fault\r\ncontent-type: application/x-protobuf\r\ncontent-length: {}\r\n", body.len());
    if let Some(after) = retry_after {
        head.push_str(&format!("retry-after: {after}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}
