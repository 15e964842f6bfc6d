//! The Python peers of the cross-language tests: ddtrace, OpenTelemetry
//! Python and rotel, installed by `.ci/install-python-peers` into
//! `<repo>/.venv-python-peers`, and the small services in `tests/python/`.
//!
//! ```no_run
//! use traced_tests::python::PythonService;
//!
//! let service = PythonService::start("otel_service.py", &[("OTEL_SERVICE_NAME", "py")]);
//! let url = format!("{}/stock", service.url());
//! // ... call it; then stop it, which flushes its spans:
//! service.stop();
//! ```

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// Paths of the installed peers.
#[derive(Debug, Clone)]
pub struct Peers {
    /// The venv's interpreter, with ddtrace and OpenTelemetry Python.
    pub python: PathBuf,
    /// rotel's agent binary (shipped in its wheel).
    pub rotel: PathBuf,
}

/// The peers, as installed by the project's setup step
/// (`bash .ci/install-python-peers`); a test never installs them itself.
///
/// # Panics
///
/// When they are not installed: tests fail, they never skip, and the
/// message names the command to run.
pub fn peers() -> &'static Peers {
    static PEERS: OnceLock<Peers> = OnceLock::new();
    PEERS.get_or_init(|| {
        let script = repo_root().join(".ci/install-python-peers");
        let out = Command::new("bash")
            .arg(&script)
            .arg("--check")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let path = |key: &str| {
            stdout.lines().find_map(|l| l.strip_prefix(key)).map(|p| PathBuf::from(p.trim())).filter(|p| p.is_file())
        };
        match (out.status.success(), path("python="), path("rotel=")) {
            (true, Some(python), Some(rotel)) => Peers { python, rotel },
            _ => panic!(
                "the Python peers (ddtrace, OpenTelemetry Python, rotel) are not installed: \
                 run `bash .ci/install-python-peers` from the repository root (needs python3 >= 3.9 \
                 with venv/pip and access to PyPI).\n{} --check exited with {}:\n{stdout}{}",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    })
}

/// Clears the proxy variables: the peers talk only to loopback, where a
/// proxy from the environment must not intercept.
pub(crate) fn without_proxies(command: &mut Command) -> &mut Command {
    for var in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
        command.env_remove(var);
    }
    command
}

fn repo_root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).to_path_buf()
}

/// A service from `tests/python/` running in the peers' venv on a free
/// loopback port. It exits (flushing its spans) when its stdin closes: on
/// [`stop`](Self::stop), on drop, or when the test process dies.
#[derive(Debug)]
pub struct PythonService {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    script: String,
}

impl PythonService {
    /// Starts `tests/python/<script>` with `env` added to the environment
    /// and waits for it to print its port.
    ///
    /// # Panics
    ///
    /// If it cannot start or does not print its port within 60 s.
    pub fn start(script: &str, env: &[(&str, &str)]) -> PythonService {
        let path = repo_root().join("tests/python").join(script);
        let mut child = without_proxies(&mut Command::new(&peers().python))
            .arg("-u")
            .arg(&path)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        // Read the port on a thread, so a service that hangs cannot hang the test.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line.strip_prefix("PORT ").and_then(|p| p.trim().parse::<u16>().ok()) {
                    let _ = tx.send(port);
                }
            }
        });
        let port = rx.recv_timeout(STARTUP_TIMEOUT).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("{script} did not print its port within {STARTUP_TIMEOUT:?} (its stderr is above)")
        });
        PythonService { child, stdin, port, script: script.to_owned() }
    }

    /// Its base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Closes its stdin and waits until it has flushed its spans and exited.
    ///
    /// # Panics
    ///
    /// If it exits with a failure, or is still running after 20 s (then it
    /// is killed).
    pub fn stop(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    assert!(status.success(), "{} exited with {status} (its stderr is above)", self.script);
                    return;
                }
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = self.child.kill();
                    panic!("{} did not exit within {STOP_TIMEOUT:?} of its stdin closing", self.script);
                }
            }
        }
    }
}

impl Drop for PythonService {
    fn drop(&mut self) {
        if self.stdin.take().is_some() {
            // Not stopped (a failing test): do not wait for a flush.
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
