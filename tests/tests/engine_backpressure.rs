//! A burst the export queue cannot hold waits in the span engine's hand-off
//! for the exporter to make room, instead of being dropped at the queue: the
//! engine's collector stops taking spans while every export queue is full
//! and the hand-off is under three quarters full.
//! Past both bounds, spans are still refused and counted, exactly (issue 11:
//! "under overload memory stays bounded and produced = exported + lost").
//!
//! Its own file: it installs the process-wide provider. One test; about a
//! second (the exporter is slow on purpose).

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Takes its time over each batch, as a backend far away does.
#[derive(Debug, Clone, Default)]
struct SlowExporter {
    exported: Arc<AtomicU64>,
}

impl SpanExporter for SlowExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        std::thread::sleep(Duration::from_millis(20));
        self.exported.fetch_add(batch.len() as u64, Ordering::SeqCst);
        Ok(())
    }
}

/// Export queue and engine hand-off both hold this many spans.
const QUEUE: usize = 64;

#[test]
fn a_burst_waits_for_a_slow_exporter_and_overload_is_counted_exactly() {
    let exporter = SlowExporter::default();
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .exporter(exporter.clone())
        .batch_max_queue_size(QUEUE)
        .batch_max_export_batch_size(16)
        .install()
        .unwrap();
    let lost_at_start = trace_runtime::lost_spans();

    // A first burst fills the export queue; once the exporter is busy with
    // it, a second one that the queue has no room for, within three
    // quarters of the hand-off (where the collector stops waiting).
    for _ in 0..QUEUE {
        trace_runtime::span("burst").start().end();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while exporter.exported.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let second = QUEUE * 3 / 4 - 1;
    for _ in 0..second {
        trace_runtime::span("burst").start().end();
    }
    let burst = QUEUE + second;
    guard.flush().unwrap();
    assert_eq!(exporter.exported.load(Ordering::SeqCst), burst as u64, "the whole burst reached the exporter");
    assert_eq!(trace_runtime::lost_spans(), lost_at_start, "nothing lost");

    // Far past both bounds: refused, and every span either exported or
    // counted lost, once.
    let flood = 20 * QUEUE;
    for _ in 0..flood {
        trace_runtime::span("flood").start().end();
    }
    guard.flush().unwrap();
    let exported = exporter.exported.load(Ordering::SeqCst) - burst as u64;
    let lost = trace_runtime::lost_spans() - lost_at_start;
    assert!(lost > 0, "a flood this size cannot all wait");
    assert_eq!(exported + lost, flood as u64, "exported {exported} + lost {lost}");
    // And shutdown says so: the numbers it gives add up to the loss.
    let report = guard.shutdown().unwrap_err().to_string();
    let said: u64 =
        report.split(';').filter_map(|part| part.split_whitespace().find_map(|word| word.parse::<u64>().ok())).sum();
    assert_eq!(said, lost, "{report}");
}
