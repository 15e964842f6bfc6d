//! `https://` endpoints speak TLS (features `tls` for HTTP, `grpc` for gRPC):
//! a listener standing in for the collector receives a TLS ClientHello that
//! names the host (SNI). No certificate is trusted here, so the handshake
//! then fails and the spans are reported lost: that path is the dead
//! endpoint one, and shutdown stays within its bound.
//!
//! One test, in steps: each step installs tracing (process-wide).

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::io::Read;
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use trace_runtime::{traced, Protocol};

#[traced]
fn work() {}

/// Installs against `https://localhost:<port>` and returns the first bytes
/// the exporter sent.
fn first_bytes(protocol: Protocol) -> Vec<u8> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = vec![0; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            buf.truncate(n);
            let _ = tx.send(buf);
        }
    });
    let path = if protocol == Protocol::Grpc { "" } else { "/v1/traces" };
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .otlp_protocol(protocol)
        .otlp_endpoint(format!("https://localhost:{port}{path}"))
        .otlp_timeout(Duration::from_secs(2))
        .shutdown_timeout(Duration::from_secs(1))
        .install()
        .unwrap();
    work();
    let started = Instant::now();
    let _ = guard.shutdown();
    assert!(started.elapsed() < Duration::from_secs(4), "shutdown took {:?}", started.elapsed());
    rx.recv_timeout(Duration::from_secs(10)).expect("the exporter connected")
}

fn assert_client_hello(bytes: &[u8], what: &str) {
    // TLS record: handshake (0x16), version 3.x, then a ClientHello (0x01).
    assert!(bytes.len() > 50, "{what}: too short: {bytes:?}");
    assert_eq!((bytes[0], bytes[1], bytes[5]), (0x16, 0x03, 0x01), "{what}: not a TLS ClientHello: {bytes:?}");
    assert!(bytes.windows(9).any(|w| w == b"localhost"), "{what}: no SNI for localhost");
}

#[test]
fn https_endpoints_speak_tls() {
    assert_client_hello(&first_bytes(Protocol::HttpProtobuf), "OTLP/HTTP");
    assert_client_hello(&first_bytes(Protocol::Grpc), "OTLP/gRPC");
}
