//! A real OpenTelemetry agent between traced and the receiver: rotel (PyPI
//! package `rotel`, which ships its binary; installed by
//! `.ci/install-python-peers`), receiving OTLP over HTTP (protobuf and
//! JSON) and gRPC and forwarding every trace to another OTLP/HTTP endpoint.
//!
//! ```no_run
//! use traced_tests::agent::TestAgent;
//! use traced_tests::rotel::Rotel;
//!
//! let agent = TestAgent::start();
//! let rotel = Rotel::start(&agent.otlp_http_endpoint());
//! // export to rotel.otlp_http_endpoint() or rotel.otlp_grpc_endpoint(),
//! // then read what rotel forwarded from the agent.
//! ```

use std::fs::File;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use crate::loopback;
use crate::python::{peers, without_proxies};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running rotel agent on two free loopback ports; killed on drop.
#[derive(Debug)]
pub struct Rotel {
    child: Child,
    /// Closing it tells the wrapper shell to kill rotel (see `start`).
    stdin: Option<ChildStdin>,
    http_port: u16,
    grpc_port: u16,
    log_path: PathBuf,
}

impl Rotel {
    /// Starts rotel forwarding traces over OTLP/HTTP protobuf to
    /// `forward_to` (a base URL: rotel adds `/v1/traces`), and waits until
    /// both of its receivers accept connections.
    ///
    /// # Panics
    ///
    /// If rotel is not installed and cannot be, or does not come up within 30 s.
    pub fn start(forward_to: &str) -> Rotel {
        let mut last_err = String::new();
        // A port picked here may be taken before rotel binds it: then rotel
        // exits and we try again with new ports.
        for _ in 0..3 {
            match Self::spawn(forward_to) {
                Ok(rotel) => return rotel,
                Err(e) => last_err = e,
            }
        }
        panic!("rotel did not start: {last_err}");
    }

    fn spawn(forward_to: &str) -> Result<Rotel, String> {
        let bin = &peers().rotel;
        let [http_port, grpc_port] = loopback::free_ports::<2>();
        let tag = format!("{}-{http_port}", std::process::id());
        let log_path = std::env::temp_dir().join(format!("rotel-{tag}.log"));
        let pid_file = std::env::temp_dir().join(format!("rotel-{tag}.pid"));
        let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        // As for the test agent: a small shell kills rotel (and removes its
        // files) as soon as our end of its stdin closes, on drop and also when
        // this process dies without running destructors.
        let script = r#"exec 3<&0
"$0" "$@" </dev/null &
pid=$!
(read -r _ <&3; kill "$pid" 2>/dev/null; rm -f "$ROTEL_FILES_LOG" "$ROTEL_FILES_PID") &
wait "$pid""#;
        let mut child = without_proxies(&mut Command::new("sh"))
            .arg("-c")
            .arg(script)
            .arg(bin)
            .arg("start")
            .arg(format!("--otlp-http-endpoint=127.0.0.1:{http_port}"))
            .arg(format!("--otlp-grpc-endpoint=127.0.0.1:{grpc_port}"))
            .args(["--exporter=otlp", "--otlp-exporter-protocol=http"])
            .arg(format!("--otlp-exporter-endpoint={forward_to}"))
            // Forward promptly: the tests wait for what arrives.
            .arg("--batch-timeout=50ms")
            .arg(format!("--pid-file={}", pid_file.display()))
            .arg(format!("--log-file={}", log_path.display()))
            .env("ROTEL_FILES_LOG", &log_path)
            .env("ROTEL_FILES_PID", &pid_file)
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::piped())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let stdin = child.stdin.take();
        let mut rotel = Rotel { child, stdin, http_port, grpc_port, log_path };
        let up = |port| TcpStream::connect_timeout(&loopback::addr(port), Duration::from_secs(1)).is_ok();
        let log_path = rotel.log_path.clone();
        let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
        loopback::wait_until_ready(
            &mut rotel.child,
            STARTUP_TIMEOUT,
            Duration::from_millis(20),
            || up(http_port) && up(grpc_port),
            log,
        )?;
        Ok(rotel)
    }

    /// Base URL of rotel's OTLP/HTTP receiver (protobuf and JSON), e.g.
    /// `http://127.0.0.1:40123`; traces go to `…/v1/traces`.
    pub fn otlp_http_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// URL of rotel's OTLP/gRPC receiver.
    pub fn otlp_grpc_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    /// What rotel logged so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for Rotel {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
