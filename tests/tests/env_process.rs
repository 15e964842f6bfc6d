//! Own binary: sets process environment variables.
//!
//! `install()` reading the real process environment: a bad value anywhere
//! makes it fail with an error naming the variable, the value and what is
//! accepted, and nothing is installed; `OTEL_SDK_DISABLED=true` installs
//! nothing at all.
//!
//! One test, run in steps: environment variables are process-wide and the
//! tests of one file run in parallel threads.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use trace_runtime::testing::capture;
use trace_runtime::{traced, Error};

#[traced]
fn work() {}

fn install_error() -> String {
    match trace_runtime::init().install() {
        Err(err @ Error::InvalidEnv { .. }) => err.to_string(),
        Err(other) => panic!("expected InvalidEnv, got {other:?}"),
        Ok(_) => panic!("expected install() to fail"),
    }
}

#[test]
fn the_process_environment_is_validated_and_honoured() {
    let bad = [
        ("OTEL_TRACES_SAMPLER", "sometimes", "parentbased_always_on"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", "http://"),
        ("OTEL_TRACES_EXPORTER", "jaeger", "otlp"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "-1", "whole number"),
        // Once a panic inside install(), an abort, and 351 MiB before a span.
        ("OTEL_BSP_MAX_QUEUE_SIZE", "18446744073709551615", "from 1 to 65536"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "68719476736", "from 1 to 65536"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "1000000", "from 1 to 65536"),
        ("OTEL_TRACES_EXPORTER", ",", "none"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://host:99999", "port from 1 to 65535"),
    ];
    for (variable, value, accepted) in bad {
        std::env::set_var(variable, value);
        let text = install_error();
        assert!(text.contains(variable) && text.contains(value) && text.contains(accepted), "{text}");
        std::env::remove_var(variable);
    }
    std::env::set_var("OTEL_TRACES_SAMPLER", "traceidratio");
    std::env::set_var("OTEL_TRACES_SAMPLER_ARG", "2");
    let text = install_error();
    assert!(
        text.contains("OTEL_TRACES_SAMPLER_ARG") && text.contains("\"2\"") && text.contains("from 0 to 1"),
        "{text}"
    );
    std::env::remove_var("OTEL_TRACES_SAMPLER");
    std::env::remove_var("OTEL_TRACES_SAMPLER_ARG");

    // A byte that is not UTF-8 is named, not replaced by U+FFFD and used.
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::env::set_var("OTEL_RESOURCE_ATTRIBUTES", std::ffi::OsStr::from_bytes(b"team=pay\xffments"));
        let text = install_error();
        assert!(text.contains("OTEL_RESOURCE_ATTRIBUTES") && text.contains("UTF-8"), "{text}");
        std::env::remove_var("OTEL_RESOURCE_ATTRIBUTES");
    }

    // A boolean other than true/false is false (with a warning on stderr),
    // as the specification says: startup goes on.
    std::env::set_var("OTEL_SDK_DISABLED", "yes");
    let guard = trace_runtime::init()
        .exporter(trace_runtime::ConsoleExporter::to_writer(std::io::sink()))
        .install()
        .expect("OTEL_SDK_DISABLED=yes does not abort startup");
    assert!(guard.is_enabled(), "yes is not true");
    drop(guard);
    std::env::remove_var("OTEL_SDK_DISABLED");

    // Disabled: install() succeeds, installs nothing, and a second install
    // (once enabled) is not refused.
    std::env::set_var("OTEL_SDK_DISABLED", "true");
    let guard = trace_runtime::init().install().expect("disabled install");
    assert!(!guard.is_enabled());
    assert!(!trace_runtime::span("nothing").start().is_recording(), "no provider is installed");
    // Tests still see spans: a capture does not depend on install().
    assert_eq!(capture(work).names(), ["work"]);
    std::env::remove_var("OTEL_SDK_DISABLED");
    let enabled = trace_runtime::init().exporter(trace_runtime::ConsoleExporter::to_writer(std::io::sink())).install();
    assert!(enabled.expect("install after a disabled one").is_enabled());
    drop(guard);

    // The largest queue allowed costs tens of MiB before any span, not
    // hundreds (1,000,000 once cost 351 MiB).
    #[cfg(target_os = "linux")]
    {
        let before = resident_kib();
        let guard = trace_runtime::init()
            .env_lookup(|_| None)
            .batch_max_queue_size(65_536)
            .batch_max_export_batch_size(65_536)
            .exporter(trace_runtime::ConsoleExporter::to_writer(std::io::sink()))
            .install()
            .expect("the largest queue is accepted");
        let grown_mib = resident_kib().saturating_sub(before) / 1024;
        eprintln!("resident memory grown by installing a 65,536-span queue: {grown_mib} MiB");
        assert!(grown_mib < 48, "installing with the largest queue took {grown_mib} MiB");
        drop(guard);
    }
}

/// This process's resident memory (`VmRSS` of /proc/self/status), in KiB.
#[cfg(target_os = "linux")]
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}
