//! Own binary: installs the runtime, in a child process with a clean `OTEL_*` environment.
//!
//! With no configuration, `init()` prints trace trees to stderr and never to
//! stdout, which stays the program's own. The check runs this test binary
//! again as a child process with a clean `OTEL_*` environment.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::process::Command;

#[trace_runtime::traced]
fn handle_request() {
    step();
}

#[trace_runtime::traced]
fn step() {}

const CHILD: &str = "TRACED_CONSOLE_DEFAULT_CHILD";

#[test]
fn with_no_configuration_trees_go_to_stderr_not_stdout() {
    if std::env::var_os(CHILD).is_some() {
        let guard = trace_runtime::init().service_name("quiet-service").install().unwrap();
        handle_request();
        println!("program output");
        guard.shutdown().unwrap();
        return;
    }
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(["--exact", "with_no_configuration_trees_go_to_stderr_not_stdout", "--nocapture", "--test-threads=1"]);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OTEL_") {
            command.env_remove(name);
        }
    }
    let output = command.env(CHILD, "1").env("NO_COLOR", "1").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("program output"), "{stdout}");
    assert!(!stdout.contains("trace ") && !stdout.contains("handle_request"), "no tree on stdout:\n{stdout}");
    assert!(stderr.contains(" · quiet-service · 2 spans · "), "the tree is on stderr:\n{stderr}");
    assert!(stderr.contains("└─ step"), "{stderr}");
}
