//! Own binary: installs the runtime, once per child process.
//!
//! Fault injection on the export side: hostile OTLP/HTTP and OTLP/gRPC
//! collectors on loopback, hostile exporters, oversized spans, spans that
//! end after shutdown, a concurrent provider shutdown, a hung exporter next
//! to a healthy one.
//!
//! Every case asserts that a traced call never waits on export, that flush
//! and shutdown keep their bound, that the destination gets spans again once
//! healed, and that produced = delivered + lost (+ pending, only for an
//! exporter that never returns) exactly.
//!
//! Only one `install()` can be live in a process, so each case runs in a
//! child process (this binary again, one case selected); the parent runs
//! them all at once and checks their figures and stderr.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::time::{Duration, Instant};

use trace_runtime::{ConsoleExporter, Protocol};
use traced_tests::faults::case::{self, Figures, Healing, PER_PHASE, SHUTDOWN, SLACK};
use traced_tests::faults::grpc::{GrpcCollector, GrpcFault};
use traced_tests::faults::hostile::{HostileExporter, Hostility};
use traced_tests::faults::http::{HttpCollector, HttpFault};

const CHILD: &str = "TRACED_FAULTS_CHILD";
/// The OTLP exporters' own request timeout in these cases.
const OTLP_TIMEOUT: Duration = Duration::from_secs(2);

/// A case: runs only in a child process, and prints its figures.
macro_rules! child {
    ($name:ident, $body:block) => {
        #[test]
        fn $name() {
            if std::env::var_os(CHILD).is_none() {
                return;
            }
            let figures: Figures = $body;
            println!("{}", figures.line());
        }
    };
}

// ------------------------------------------------------------ OTLP/HTTP

fn http_case(name: &str, fault: HttpFault) -> Figures {
    let fails = !matches!(fault, HttpFault::SlowRead(_));
    let collector = HttpCollector::start(fault);
    let builder = trace_runtime::init().otlp_endpoint(collector.endpoint()).otlp_timeout(OTLP_TIMEOUT);
    let healing = Healing::new(|| collector.set(HttpFault::Healthy), || collector.delivered());
    case::run(name, builder, if fails { healing } else { healing.succeeding() })
}

child!(http_refused, {
    let endpoint = HttpCollector::refused_endpoint();
    let builder = trace_runtime::init().otlp_endpoint(&endpoint).otlp_timeout(OTLP_TIMEOUT);
    let collector = std::cell::OnceCell::new();
    let healing = Healing::new(
        || drop(collector.set(HttpCollector::start_at(&endpoint, HttpFault::Healthy))),
        || collector.get().map_or(0, HttpCollector::delivered),
    );
    case::run("http_refused", builder, healing)
});
child!(http_hang, { http_case("http_hang", HttpFault::Hang) });
child!(http_500, { http_case("http_500", HttpFault::Status(500, None, "internal error: disk full\nmore")) });
child!(http_429_retry_after, { http_case("http_429_retry_after", HttpFault::Status(429, Some("1"), "slow down")) });
child!(http_429, { http_case("http_429", HttpFault::Status(429, None, "slow down")) });
child!(http_400, { http_case("http_400", HttpFault::Status(400, None, "bad request: unknown field 99")) });
child!(http_garbage, { http_case("http_garbage", HttpFault::Garbage) });
child!(http_huge_body, { http_case("http_huge_body", HttpFault::HugeBody(8 * 1024 * 1024)) });
child!(http_close_mid_response, { http_case("http_close_mid_response", HttpFault::CloseMidResponse) });
child!(http_404_doubled_path, {
    // A full traces URL given where a base URL was expected, in code.
    let collector = HttpCollector::start(HttpFault::Status(404, None, "404 page not found"));
    let endpoint = format!("{}/v1/traces", collector.endpoint());
    let builder = trace_runtime::init().otlp_endpoint(endpoint).otlp_timeout(OTLP_TIMEOUT);
    case::run(
        "http_404_doubled_path",
        builder,
        Healing::new(|| collector.set(HttpFault::Healthy), || collector.delivered()),
    )
});
child!(http_slow_read, { http_case("http_slow_read", HttpFault::SlowRead(Duration::from_millis(5))) });

/// 100 ordinary spans, one with a 5 MB attribute (cut to 32 KiB, then
/// sent), one that cannot fit in 4 MiB even alone (dropped, named).
fn oversized_spans() -> u64 {
    {
        let span = trace_runtime::span("big_attribute").enter();
        span.set_attribute("payload", "x".repeat(5_000_000));
    }
    {
        let span = trace_runtime::span("never_fits").enter();
        for i in 0..128 {
            span.set_attribute(format!("blob.{i}"), "y".repeat(40_000));
        }
    }
    2
}

child!(http_oversized_span, {
    let collector = HttpCollector::start(HttpFault::Healthy);
    let builder = trace_runtime::init().otlp_endpoint(collector.endpoint()).otlp_timeout(OTLP_TIMEOUT);
    case::run("http_oversized_span", builder, Healing::never(|| collector.delivered()).with_extra(oversized_spans))
});

// ------------------------------------------------------------ OTLP/gRPC

fn grpc_case(name: &str, fault: GrpcFault) -> Figures {
    let collector = GrpcCollector::start(fault);
    let builder = trace_runtime::init()
        .otlp_protocol(Protocol::Grpc)
        .otlp_endpoint(collector.endpoint())
        .otlp_timeout(OTLP_TIMEOUT);
    let healing = Healing::new(|| collector.set(GrpcFault::Healthy), || collector.delivered());
    case::run(name, builder, if matches!(fault, GrpcFault::Slow(_)) { healing.succeeding() } else { healing })
}

child!(grpc_unavailable, { grpc_case("grpc_unavailable", GrpcFault::Unavailable) });
child!(grpc_invalid_argument, { grpc_case("grpc_invalid_argument", GrpcFault::InvalidArgument) });
child!(grpc_no_answer, { grpc_case("grpc_no_answer", GrpcFault::NoAnswer) });
child!(grpc_slow_success, { grpc_case("grpc_slow_success", GrpcFault::Slow(Duration::from_millis(300))) });
child!(grpc_oversized_span, {
    // tonic's server refuses messages over 4 MiB, like the Collector.
    let collector = GrpcCollector::start(GrpcFault::Healthy);
    let builder = trace_runtime::init()
        .otlp_protocol(Protocol::Grpc)
        .otlp_endpoint(collector.endpoint())
        .otlp_timeout(OTLP_TIMEOUT);
    case::run("grpc_oversized_span", builder, Healing::never(|| collector.delivered()).with_extra(oversized_spans))
});

// ------------------------------------------------------------ hostile exporters

fn hostile_case(name: &str, hostility: Hostility) -> Figures {
    let exporter = HostileExporter::new(hostility);
    let builder = trace_runtime::init().exporter(exporter.to_install());
    case::run(name, builder, Healing::never(|| exporter.accepted()))
}

child!(exporter_panics_in_export, { hostile_case("exporter_panics_in_export", Hostility::PanicInExport) });
child!(exporter_panics_in_shutdown, { hostile_case("exporter_panics_in_shutdown", Hostility::PanicInShutdown) });
child!(exporter_panics_in_drop, { hostile_case("exporter_panics_in_drop", Hostility::PanicInDrop) });
child!(exporter_blocks_forever, { hostile_case("exporter_blocks_forever", Hostility::BlockForever) });
child!(exporter_returns_errors, { hostile_case("exporter_returns_errors", Hostility::ReturnErrors) });
child!(exporter_is_flaky, { hostile_case("exporter_is_flaky", Hostility::Flaky) });

// ------------------------------------------------------------ shutdown races

child!(hung_exporter_next_to_a_healthy_one, {
    // The healthy exporter keeps its own deadline: all its spans delivered.
    let hung = HostileExporter::new(Hostility::BlockForever);
    let ok = HostileExporter::new(Hostility::PanicInShutdown);
    let builder = trace_runtime::init().exporter(hung.to_install()).exporter(ok.to_install());
    let mut figures = case::run("hung_exporter_next_to_a_healthy_one", builder, Healing::never(|| ok.accepted()));
    assert_eq!(ok.accepted(), figures.produced, "the healthy exporter got every span");
    // Two pipelines, each saw every span: the books of both together.
    figures.produced *= 2;
    figures.delivered += hung.accepted();
    figures
});

child!(spans_ending_after_shutdown, {
    let exporter = HostileExporter::new(Hostility::PanicInShutdown);
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .exporter(exporter.to_install())
        .shutdown_timeout(SHUTDOWN)
        .install()
        .unwrap();
    let lost_before = trace_runtime::lost_spans();
    let first = trace_runtime::span("started before, ended after").enter();
    let second = trace_runtime::span("nested, also after").enter();
    let started = Instant::now();
    let err = guard.shutdown().expect_err("the open spans are a loss");
    let shutdown = started.elapsed();
    assert!(err.to_string().contains("2 ended after shutdown began"), "{err}");
    drop(second);
    drop(first);
    Figures {
        case: "spans_ending_after_shutdown".into(),
        produced: 2,
        delivered: exporter.accepted(),
        lost: trace_runtime::lost_spans() - lost_before,
        pending: trace_runtime::pending_spans(),
        max_call_us: 0,
        flush_ms: 0,
        shutdown_ms: shutdown.as_millis() as u64,
    }
});

child!(concurrent_provider_shutdown, {
    let exporter = HostileExporter::new(Hostility::PanicInShutdown);
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .exporter(exporter.to_install())
        .batch_schedule_delay(Duration::from_millis(20))
        .shutdown_timeout(SHUTDOWN)
        .install()
        .unwrap();
    let lost_before = trace_runtime::lost_spans();
    let produced = 500;
    for i in 0..produced {
        let span = trace_runtime::span("work").enter();
        span.set_attribute("i", i as i64);
    }
    let provider = guard.provider().clone();
    let other = std::thread::spawn(move || provider.shutdown());
    let started = Instant::now();
    let _ = guard.shutdown();
    let shutdown = started.elapsed();
    let _ = other.join().expect("the other shutdown returns");
    Figures {
        case: "concurrent_provider_shutdown".into(),
        produced,
        delivered: exporter.accepted(),
        lost: trace_runtime::lost_spans() - lost_before,
        pending: trace_runtime::pending_spans(),
        max_call_us: 0,
        flush_ms: 0,
        shutdown_ms: shutdown.as_millis() as u64,
    }
});

child!(console_exporter_to_a_sink, {
    // A well-behaved exporter: nothing lost, nothing said.
    let builder = trace_runtime::init().exporter(ConsoleExporter::to_writer(std::io::sink()));
    let mut figures = case::run("console_exporter_to_a_sink", builder, Healing::never(|| 0));
    figures.delivered = figures.produced - figures.lost;
    assert_eq!(figures.lost, 0);
    figures
});

// ------------------------------------------------------------ the parent

const CASES: &[&str] = &[
    "http_refused",
    "http_hang",
    "http_500",
    "http_429_retry_after",
    "http_429",
    "http_400",
    "http_garbage",
    "http_huge_body",
    "http_close_mid_response",
    "http_slow_read",
    "http_404_doubled_path",
    "http_oversized_span",
    "grpc_unavailable",
    "grpc_invalid_argument",
    "grpc_no_answer",
    "grpc_slow_success",
    "grpc_oversized_span",
    "exporter_panics_in_export",
    "exporter_panics_in_shutdown",
    "exporter_panics_in_drop",
    "exporter_blocks_forever",
    "exporter_returns_errors",
    "exporter_is_flaky",
    "hung_exporter_next_to_a_healthy_one",
    "spans_ending_after_shutdown",
    "concurrent_provider_shutdown",
];

/// Cases whose exporter never returns: its last export stays pending.
const NEVER_RETURNS: &[&str] = &["exporter_blocks_forever", "hung_exporter_next_to_a_healthy_one"];

#[test]
fn every_fault_case_keeps_its_bounds_and_its_books() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let (outputs, took) = case::run_in_children(CASES, CHILD);

    let mut failures = Vec::new();
    println!(
        "{:<40} {:>8} {:>9} {:>6} {:>7} {:>12} {:>8} {:>11}",
        "case", "produced", "delivered", "lost", "pending", "max call µs", "flush ms", "shutdown ms"
    );
    let mut all = Vec::new();
    for (name, output) in &outputs {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let figures = stdout.lines().find_map(Figures::parse);
        let Some(figures) = figures.filter(|_| output.status.success()) else {
            failures.push(format!("{name} failed:\n{stdout}\n{stderr}"));
            continue;
        };
        if let Err(why) = check(name, &figures, &stderr) {
            failures.push(format!("{name}: {why}\n{}\nstderr:\n{stderr}", figures.line()));
        }
        println!(
            "{:<40} {:>8} {:>9} {:>6} {:>7} {:>12} {:>8} {:>11}",
            figures.case,
            figures.produced,
            figures.delivered,
            figures.lost,
            figures.pending,
            figures.max_call_us,
            figures.flush_ms,
            figures.shutdown_ms
        );
        all.push(figures);
    }
    let longest_call = all.iter().map(|f| f.max_call_us).max().unwrap_or(0);
    let longest_flush = all.iter().map(|f| f.flush_ms).max().unwrap_or(0);
    let longest_shutdown = all.iter().map(|f| f.shutdown_ms).max().unwrap_or(0);
    let error: i64 = all.iter().map(|f| f.accounting_error().abs()).sum();
    println!(
        "fault cases: {} in {:.1} s; longest traced call {} µs, longest flush {} ms, longest shutdown {} ms, accounting error {}",
        outputs.len(),
        took.as_secs_f64(),
        longest_call,
        longest_flush,
        longest_shutdown,
        error
    );
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), CASES.len(), failures.join("\n\n"));
}

/// The case-specific checks on top of the bounds the case asserted itself.
fn check(name: &str, f: &Figures, stderr: &str) -> Result<(), String> {
    if f.accounting_error() != 0 {
        return Err(format!("produced {} != delivered + lost + pending", f.produced));
    }
    if f.shutdown_ms > (SHUTDOWN + SLACK).as_millis() as u64 {
        return Err(format!("shutdown took {} ms", f.shutdown_ms));
    }
    let never_returns = NEVER_RETURNS.contains(&name);
    if f.pending > 0 && !never_returns {
        return Err(format!("{} spans still pending", f.pending));
    }
    if never_returns && (f.pending == 0 || f.pending > 64) {
        return Err(format!("the hung export holds one batch (at most 64 spans), not {}", f.pending));
    }
    if stderr.contains("panicked at") && !stderr.contains("hostile exporter") {
        return Err("a panic escaped".into());
    }
    let failed_line = || stderr.lines().find(|l| l.contains("failed, ") && l.starts_with("trace-runtime: export to"));
    let first_failure_says = |words: &str| match failed_line() {
        Some(line) if line.to_lowercase().contains(&words.to_lowercase()) => Ok(()),
        other => Err(format!("the first failure should say {words:?}: {other:?}")),
    };
    match name {
        "http_refused" => first_failure_says("connection refused")?,
        "http_500" => first_failure_says("HTTP 500 Internal Server Error: internal error: disk full")?,
        "http_400" => first_failure_says("HTTP 400 Bad Request: bad request: unknown field 99")?,
        "http_404_doubled_path" => {
            first_failure_says("404 Not Found: 404 page not found; the endpoint ends in /v1/traces/v1/traces")?
        }
        "grpc_invalid_argument" => first_failure_says("InvalidArgument")?,
        "grpc_unavailable" => first_failure_says("Unavailable")?,
        "exporter_panics_in_export" => {
            first_failure_says("the exporter panicked: hostile exporter: panic in export")?;
            if f.delivered != 0 {
                return Err("nothing can be delivered".into());
            }
        }
        "http_oversized_span" | "grpc_oversized_span" => {
            if f.delivered != 2 * PER_PHASE + 1 || f.lost != 1 {
                return Err("the span that cannot fit, and only it, is lost".into());
            }
            if !stderr.contains("span \"never_fits\" dropped") {
                return Err("the dropped span is named".into());
            }
        }
        "exporter_returns_errors" if f.delivered != 0 => {
            return Err("nothing can be delivered".into());
        }
        "exporter_panics_in_shutdown" | "exporter_panics_in_drop" | "http_slow_read" | "grpc_slow_success"
            if f.lost != 0 =>
        {
            return Err("nothing should be lost".into());
        }
        _ => {}
    }
    if failed_line().is_some() && stderr.lines().filter(|l| l.contains("failed, ")).count() > 1 {
        return Err("failures after the first are summarised at most once a minute".into());
    }
    Ok(())
}

#[test]
fn the_fault_suite_lists_every_case() {
    // A case added above but not to CASES would never run.
    let source = include_str!("faults_export.rs");
    let defined = source.matches("\nchild!(").count();
    assert_eq!(defined, CASES.len() + 1, "CASES is missing a case (console_exporter_to_a_sink runs on its own)");
}

#[test]
fn a_well_behaved_exporter_loses_nothing() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let (mut outputs, _) = case::run_in_children(&["console_exporter_to_a_sink"], CHILD);
    let output = outputs.remove("console_exporter_to_a_sink").unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let figures = stdout.lines().find_map(Figures::parse).unwrap();
    assert_eq!((figures.lost, figures.pending, figures.accounting_error()), (0, 0, 0), "{}", figures.line());
}
