//! `https://` OTLP endpoints with the certificate variables, over HTTP
//! (feature `tls`) and gRPC (feature `grpc`), against the real receiver.
//!
//! The test makes its own certificates (rcgen): a CA, a server certificate
//! for `localhost` and a client certificate it signed, and a second CA that
//! signed nothing here. A TLS server on loopback (tokio-rustls) stands in
//! front of the receiver (ddapm-test-agent): it finishes the handshake,
//! optionally asking for a client certificate signed by the CA, then relays
//! the bytes to the receiver's plain OTLP/HTTP or OTLP/gRPC port.
//!
//! * `OTEL_EXPORTER_OTLP_CERTIFICATE` naming the CA: spans arrive.
//! * Mutual TLS, the server requiring a client certificate:
//!   `OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE` and `…_CLIENT_KEY`: spans arrive.
//! * The other CA, or no client certificate for the server that requires
//!   one: the handshake fails; in a child process (to read its stderr) the
//!   first-failure report names the certificate problem, shutdown stays
//!   within its bound and the span is counted lost.
//!
//! One test, in steps: each step installs tracing (process-wide).

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use trace_runtime::traced;
use traced_tests::agent::{AttrValue, TestAgent};

/// Set in the child process that runs a failing case: `http` or `grpc`,
/// then `-wrong-ca` or `-no-client-cert`.
const CHILD: &str = "TRACED_TLS_FAILING_CHILD";
const SHUTDOWN: Duration = Duration::from_secs(1);

#[traced(attrs(case))]
fn tls_work(case: &str) {}

/// The PEM files of one test run, and what the TLS server needs.
struct Pki {
    dir: PathBuf,
    ca: CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: Vec<u8>,
}

impl Pki {
    fn make() -> Pki {
        let dir = std::env::temp_dir().join(format!("traced-e2e-https-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = make_ca("traced test CA");
        let other_ca = make_ca("some other CA").pem();
        let (server, server_key) = leaf(&ca, "localhost");
        let (client, client_key) = leaf(&ca, "traced test client");
        let write = |name: &str, pem: String| std::fs::write(dir.join(name), pem).unwrap();
        write("ca.pem", ca.pem());
        write("other-ca.pem", other_ca);
        write("client.pem", client.pem());
        write("client.key", client_key.serialize_pem());
        Pki {
            ca: ca.der().clone(),
            server_chain: vec![server.der().clone()],
            server_key: server_key.serialize_der(),
            dir,
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// A TLS server for `localhost` relaying to `upstream` (when given),
    /// requiring a client certificate signed by the CA when `mutual`.
    fn serve(&self, runtime: &tokio::runtime::Runtime, upstream: Option<SocketAddr>, mutual: bool) -> u16 {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider)).with_safe_default_protocol_versions();
        let builder = builder.unwrap();
        let builder = if mutual {
            let mut roots = RootCertStore::empty();
            roots.add(self.ca.clone()).unwrap();
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone()));
        let mut config = builder.with_single_cert(self.server_chain.clone(), key).unwrap();
        // gRPC needs HTTP/2 by ALPN; the HTTP exporter offers only HTTP/1.1.
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        runtime.spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    let Some(upstream) = upstream else { return };
                    if let Ok(mut plain) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    }
                });
            }
        });
        port
    }
}

fn make_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn leaf(ca: &CertifiedIssuer<'static, KeyPair>, name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    (params.signed_by(&key, ca).unwrap(), key)
}

fn port_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").parse().unwrap()
}

fn endpoint(grpc: bool, port: u16) -> String {
    if grpc {
        format!("https://localhost:{port}")
    } else {
        format!("https://localhost:{port}/v1/traces")
    }
}

/// Installs with `variables` (and the agent session's header), sends one
/// span of `case`, shuts down and waits for it at the receiver.
fn deliver(agent: &TestAgent, grpc: bool, case: &str, variables: Vec<(&'static str, String)>) {
    let session = agent.session();
    let (header, token) = session.header();
    let protocol = if grpc { "grpc" } else { "http/protobuf" };
    let lookup = move |name: &str| match name {
        "OTEL_EXPORTER_OTLP_PROTOCOL" => Some(protocol.to_owned()),
        _ => variables.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()),
    };
    let guard = trace_runtime::init()
        .env_lookup(lookup)
        .otlp_header(header, token)
        .otlp_timeout(Duration::from_secs(5))
        .install()
        .unwrap();
    tls_work(case);
    guard.shutdown().unwrap();
    let spans = session.wait_for_spans(1, Duration::from_secs(10));
    assert!(
        spans.iter().any(|s| s.name == "tls_work" && s.attr("case").and_then(AttrValue::as_str) == Some(case)),
        "{case}: the span arrived through TLS: {spans:#?}"
    );
}

#[test]
fn certificate_variables_secure_http_and_grpc_export() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let pki = Pki::make();
    let agent = TestAgent::shared();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    for grpc in [false, true] {
        let upstream = port_of(&if grpc { agent.otlp_grpc_endpoint() } else { agent.otlp_http_endpoint() });
        let kind = if grpc { "grpc" } else { "http" };

        let port = pki.serve(&runtime, Some(upstream), false);
        deliver(
            agent,
            grpc,
            &format!("{kind}-ca"),
            vec![
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint(grpc, port)),
                ("OTEL_EXPORTER_OTLP_CERTIFICATE", pki.path("ca.pem")),
            ],
        );

        let port = pki.serve(&runtime, Some(upstream), true);
        deliver(
            agent,
            grpc,
            &format!("{kind}-mutual"),
            vec![
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint(grpc, port)),
                ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", pki.path("ca.pem")),
                ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", pki.path("client.pem")),
                ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", pki.path("client.key")),
            ],
        );

        // The failing cases, each in a child process whose stderr is read.
        for case in ["wrong-ca", "no-client-cert"] {
            let output = Command::new(std::env::current_exe().unwrap())
                .args(["failing_child", "--exact", "--nocapture", "--test-threads=1"])
                .env(CHILD, format!("{kind}-{case}"))
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success(), "{kind}-{case}: the child failed:\n{stdout}\n{stderr}");
            // The span exporter's report (metrics go to the same collector and fail too).
            let report = stderr.lines().find(|l| l.starts_with("trace-runtime: export to") && l.contains("localhost"));
            let report = report.unwrap_or_else(|| panic!("{kind}-{case}: no failure report on stderr:\n{stderr}"));
            let report = report.to_lowercase();
            if case == "wrong-ca" {
                assert!(report.contains("unknownissuer"), "{kind}-{case}: says why: {report}");
                assert!(
                    report.contains("otel_exporter_otlp_certificate"),
                    "{kind}-{case}: says how to fix it: {report}"
                );
            } else {
                // With TLS 1.3 the server refuses a missing client certificate
                // after the client has finished its side of the handshake: the
                // client sees either the server's alert or the connection
                // closing under it, depending on timing. Both are reported.
                let why = ["certificate", "broken pipe", "connection reset", "connection error", "connection closed"];
                assert!(why.iter().any(|w| report.contains(w)), "{kind}-{case}: says why: {report}");
            }
        }
    }
}

/// Run by the test above in a child process: export to a server whose
/// certificate the configured CA did not sign, or to one that requires a
/// client certificate, without one.
#[test]
fn failing_child() {
    let Some(case) = std::env::var(CHILD).ok() else { return };
    let grpc = case.starts_with("grpc");
    let wrong_ca = case.ends_with("wrong-ca");
    let pki = Pki::make();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let port = pki.serve(&runtime, None, !wrong_ca);
    let ca = pki.path(if wrong_ca { "other-ca.pem" } else { "ca.pem" });
    let guard = trace_runtime::init()
        .env_lookup(move |name| match name {
            "OTEL_EXPORTER_OTLP_CERTIFICATE" => Some(ca.clone()),
            _ => None,
        })
        .otlp_protocol(if grpc { trace_runtime::Protocol::Grpc } else { trace_runtime::Protocol::HttpProtobuf })
        .otlp_endpoint(endpoint(grpc, port))
        .otlp_timeout(Duration::from_secs(2))
        .shutdown_timeout(SHUTDOWN)
        .install()
        .unwrap();
    let lost = trace_runtime::lost_spans();
    tls_work("failing");
    let started = Instant::now();
    let _ = guard.shutdown();
    let took = started.elapsed();
    assert!(took < SHUTDOWN + Duration::from_secs(3), "shutdown took {took:?}");
    assert_eq!(trace_runtime::lost_spans(), lost + 1, "the span is counted lost");
}
