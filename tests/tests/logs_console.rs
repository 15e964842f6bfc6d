//! With no configuration, log records print on the console inside the tree
//! of the trace they belong to, and a record outside any span on a line of
//! its own; a `tracing` event is printed once, as its record. Runs this test binary again as a child process with a clean
//! `OTEL_*` environment and reads its stderr.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::process::Command;

#[trace_runtime::traced]
fn checkout() {
    log::info!(items = 3; "cart priced");
    reserve();
}

#[trace_runtime::traced]
fn reserve() {
    tracing::warn!(sku = "A-1", "low stock");
}

const CHILD: &str = "TRACED_LOGS_CONSOLE_CHILD";

#[test]
fn records_print_inside_their_trace_tree() {
    if std::env::var_os(CHILD).is_some() {
        let guard = trace_runtime::init().service_name("shop").install().unwrap();
        log::warn!("starting up");
        checkout();
        guard.shutdown().unwrap();
        return;
    }
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(["--exact", "records_print_inside_their_trace_tree", "--nocapture", "--test-threads=1"]);
    for (name, _) in std::env::vars_os() {
        let name_text = name.to_string_lossy();
        if name_text.starts_with("OTEL_") || name_text == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    let output = command.env(CHILD, "1").env("NO_COLOR", "1").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let outside = lines.iter().find(|l| l.contains("starting up")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(outside.contains("WARN  logs_console: starting up"), "{outside}");
    assert!(!outside.contains("trace_id"), "outside any span: no ids: {outside}");

    let tree = stderr.split_once(" · shop · 2 spans · ").unwrap_or_else(|| panic!("no tree:\n{stderr}")).1;
    let priced = tree.lines().position(|l| l.contains("log INFO  logs_console: cart priced items=3"));
    let child = tree.lines().position(|l| l.contains("└─ reserve"));
    let low = tree.lines().position(|l| l.contains("log WARN  logs_console: low stock sku=\"A-1\""));
    assert!(
        matches!((priced, child, low), (Some(p), Some(c), Some(w)) if p < c && c < w),
        "records under their spans:\n{stderr}"
    );
    assert!(!tree.contains("event low stock"), "a tracing event is printed once, as its record:\n{stderr}");
}
