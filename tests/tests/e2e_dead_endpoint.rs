//! Own binary: installs the runtime, once per child process.
//!
//! A collector that is down or hangs: the application carries on (spans
//! never wait on export), shutdown returns within its bound, and the loss is
//! counted (`lost_spans()`, or `pending_spans()` while an export is still
//! running), returned by `shutdown()` and reported once on stderr; the first
//! failed export is reported at once with its real cause.
//!
//! Each scenario runs in a child process (this test binary again, one test
//! selected) so that its stderr can be read and its install is its own.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use trace_runtime::traced;

const CHILD: &str = "TRACED_DEAD_ENDPOINT_CHILD";
const SHUTDOWN_BOUND: Duration = Duration::from_secs(1);
/// Generous slack over the bound for a loaded CI machine.
const SLACK: Duration = Duration::from_secs(3);

#[traced(attrs(i = i))]
fn request(i: u32) -> u32 {
    i * 2
}

/// Runs the scenario test `name` in a child process and returns its stderr.
fn run_child(name: &str) -> String {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "child {name} failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "child {name} ran no test:\n{stdout}");
    stderr
}

/// The scenario: install against `endpoint`, trace 200 requests, shut down
/// within `bound`.
fn scenario(endpoint: &str, bound: Duration) -> (Result<(), trace_runtime::Error>, Duration) {
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .service_name("dead-endpoint")
        .otlp_endpoint(endpoint)
        .otlp_timeout(Duration::from_secs(10))
        .batch_schedule_delay(Duration::from_millis(50))
        .shutdown_timeout(bound)
        .install()
        .unwrap();
    let started = Instant::now();
    let total: u32 = (0..200).map(request).sum();
    assert_eq!(total, 39800, "the application carries on");
    // Never blocked on export: 200 spans take nowhere near one export timeout.
    assert!(started.elapsed() < Duration::from_secs(5), "spans waited on the exporter: {:?}", started.elapsed());
    // Give the batch thread time to try (and fail) a few exports.
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let result = guard.shutdown();
    (result, started.elapsed())
}

fn assert_reported_once(stderr: &str, why: &str) {
    let reports: Vec<&str> = stderr.lines().filter(|l| l.contains("spans were not delivered")).collect();
    assert_eq!(reports.len(), 1, "one loss report expected, stderr:\n{stderr}");
    assert!(reports[0].starts_with("trace-runtime: "), "{}", reports[0]);
    assert!(
        reports[0].contains("of 200 spans were not delivered to OTLP http/protobuf http://127.0.0.1:"),
        "{}",
        reports[0]
    );
    assert!(reports[0].contains(why), "{}", reports[0]);
}

// ------------------------------------------------------------ refused

#[test]
fn child_refused() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    // A port nobody listens on: connections are refused at once.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // A bound longer than the exporter's retries (about 1 s), so that every
    // span is lost to a failed export rather than to the deadline.
    let bound = Duration::from_secs(4);
    let (result, took) = scenario(&format!("http://127.0.0.1:{port}/v1/traces"), bound);
    assert!(took < bound + SLACK, "shutdown took {took:?}");
    let err = result.expect_err("the loss is returned");
    assert!(err.to_string().contains("200 of 200 spans were not delivered"), "{err}");
    assert_eq!(trace_runtime::lost_spans(), 200);
    assert_eq!(trace_runtime::pending_spans(), 0);
}

#[test]
fn a_refusing_collector_loses_spans_but_nothing_else() {
    let stderr = run_child("child_refused");
    assert_reported_once(&stderr, "in failed exports");
    // The first failure is said as it happens, with its real cause.
    let first = stderr.lines().find(|l| l.contains("failed, ")).unwrap_or_else(|| panic!("no failure line:\n{stderr}"));
    assert!(first.starts_with("trace-runtime: export to OTLP http/protobuf http://127.0.0.1:"), "{first}");
    assert!(first.to_lowercase().contains("connection refused"), "{first}");
    assert_eq!(stderr.lines().filter(|l| l.contains("failed, ")).count(), 1, "then quiet for a minute:\n{stderr}");
}

// ------------------------------------------------------------ hanging

#[test]
fn child_hanging() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    // Accepts connections and never answers: every export hangs until its
    // 10 s timeout, far past the 1 s shutdown bound.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let (result, took) = scenario(&format!("http://127.0.0.1:{port}/v1/traces"), SHUTDOWN_BOUND);
    assert!(took < SHUTDOWN_BOUND + SLACK, "shutdown took {took:?}");
    assert!(took >= SHUTDOWN_BOUND / 2, "shutdown gave up at once: {took:?}");
    let err = result.expect_err("the loss is returned");
    assert!(err.to_string().contains("200 of 200 spans were not delivered"), "{err}");
    // The export under way is neither delivered nor lost yet: pending, and
    // counted once when it returns (here: when its 10 s timeout fails it).
    assert_eq!(trace_runtime::lost_spans() + trace_runtime::pending_spans(), 200);
    assert!(trace_runtime::pending_spans() > 0);
}

#[test]
fn a_hanging_collector_cannot_hold_shutdown_past_its_bound() {
    let stderr = run_child("child_hanging");
    assert_reported_once(&stderr, "still in an export that outlived the shutdown timeout");
}

// ------------------------------------------------------------ doubled path

#[test]
fn a_general_endpoint_that_already_ends_in_the_traces_path_does_not_get_it_twice() {
    for url in ["http://collector:4318/v1/traces", "http://collector:4318/v1/traces/"] {
        let config = trace_runtime::init()
            .env_lookup(move |name| (name == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| url.to_owned()))
            .resolve()
            .unwrap();
        assert_eq!(config.otlp.unwrap().endpoint, "http://collector:4318/v1/traces", "from {url}");
    }
    let config = trace_runtime::init()
        .env_lookup(|name| (name == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "http://collector:4318/base".to_owned()))
        .resolve()
        .unwrap();
    assert_eq!(config.otlp.unwrap().endpoint, "http://collector:4318/base/v1/traces", "a base URL gets the path");
}
