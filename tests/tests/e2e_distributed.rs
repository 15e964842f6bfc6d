//! Own binary: installs the runtime, here and in a child process.
//!
//! Two services, two processes, real HTTP on loopback, one trace: the
//! frontend (this test) injects its client span into the request; the
//! backend (this test binary again, as a child process configured only by
//! `OTEL_*` variables) continues it from the request headers. Both export to
//! one real receiver, which must see a single trace whose backend half hangs
//! under the frontend's client span.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use trace_runtime::{current_span, propagation, traced};
use traced_tests::agent::{AttrValue, TestAgent};

const CHILD: &str = "TRACED_DISTRIBUTED_BACKEND";

// ------------------------------------------------------------ backend

#[traced(kind = server, name = "GET /price")]
fn price() -> i64 {
    tariff() * 2
}

#[traced(service = "tariff-db", kind = client)]
fn tariff() -> i64 {
    21
}

/// Reads one HTTP/1.1 request head into a header map.
fn read_request(stream: &mut TcpStream) -> http::HeaderMap {
    let mut reader = BufReader::new(stream);
    let mut headers = http::HeaderMap::new();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap(); // request line
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let Some((name, value)) = line.trim_end().split_once(':') else { break };
        if let (Ok(name), Ok(value)) =
            (http::HeaderName::from_bytes(name.trim().as_bytes()), http::HeaderValue::from_str(value.trim()))
        {
            headers.append(name, value);
        }
    }
    headers
}

#[test]
fn child_backend() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let guard = trace_runtime::init().install().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    // Written to the real stdout (print! would be captured by the harness).
    let mut stdout = std::io::stdout();
    writeln!(stdout, "PORT {}", listener.local_addr().unwrap().port()).unwrap();
    stdout.flush().unwrap();
    let (mut stream, _) = listener.accept().unwrap();
    let headers = read_request(&mut stream);
    // The handler continues the caller's trace in one line.
    let body = propagation::in_remote_context(&headers, price).to_string();
    write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    guard.shutdown().unwrap();
}

// ------------------------------------------------------------ frontend

#[traced(kind = client, name = "GET /price")]
fn call_backend(port: u16) -> String {
    let mut headers = http::HeaderMap::new();
    propagation::inject(&mut headers);
    let mut request = format!("GET /price HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for (name, value) in &headers {
        request.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    request.push_str("\r\n");
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    current_span().set_attribute("http.response.status_code", 200);
    response.rsplit("\r\n\r\n").next().unwrap_or_default().to_owned()
}

#[traced]
fn checkout(port: u16) -> String {
    call_backend(port)
}

#[test]
fn one_trace_spans_two_processes() {
    let agent = TestAgent::start();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_backend", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("OTEL_SERVICE_NAME", "backend")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", agent.otlp_http_endpoint())
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines.next().expect("the backend printed its port").unwrap();
        // The harness may have written "test child_backend ... " on the same line.
        if let Some((_, port)) = line.split_once("PORT ") {
            break port.trim().parse().unwrap();
        }
    };

    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .service_name("frontend")
        .otlp_endpoint(agent.otlp_http_endpoint())
        .install()
        .unwrap();
    assert_eq!(checkout(port), "42");
    guard.shutdown().unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(child.wait().unwrap().success(), "backend failed: {rest:#?}");

    let spans = agent.wait_for_spans(4, Duration::from_secs(30));
    let find = |service: &str, name: &str| {
        spans
            .iter()
            .find(|s| s.name == name && s.resource_attr("service.name").and_then(AttrValue::as_str) == Some(service))
            .unwrap_or_else(|| panic!("no {name} from {service}: {spans:#?}"))
    };
    let root = find("frontend", "checkout");
    let client = find("frontend", "GET /price");
    let server = find("backend", "GET /price");
    let db = find("backend", "tariff");
    for span in [client, server, db] {
        assert_eq!(span.trace_id, root.trace_id, "one trace across both services: {}", span.name);
    }
    assert_eq!(root.parent_span_id, None);
    assert_eq!(client.parent_span_id.as_deref(), Some(root.span_id.as_str()));
    assert_eq!(
        server.parent_span_id.as_deref(),
        Some(client.span_id.as_str()),
        "the backend continues the client span"
    );
    assert_eq!(server.flags & 0x300, 0x300, "its parent is remote");
    assert_eq!(db.parent_span_id.as_deref(), Some(server.span_id.as_str()));
    assert_eq!((client.kind.as_str(), server.kind.as_str()), ("client", "server"));
    assert_eq!(db.attr("service.name").and_then(AttrValue::as_str), Some("tariff-db"));
}
