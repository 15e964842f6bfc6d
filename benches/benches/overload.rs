//! Memory under sustained overload: two threads produce `#[traced]` spans
//! far faster than the exporter takes them (it sleeps per batch), for a few
//! seconds. Resident memory is sampled from `/proc/self/statm` all along.
//!
//! What should hold: memory stays bounded (the batch processor's queue is
//! bounded; spans that do not fit are dropped, never buffered without end),
//! the producers are never blocked by the exporter, and every span is
//! accounted for: produced = exported + dropped.
//!
//! Prints a summary and, with `TRACED_BENCH_DIR` set, writes
//! `traced-overload.json` there for `benches/report`. Nothing is asserted:
//! the numbers are for reading. `TRACED_OVERLOAD_SECS` sets the duration.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use traced_benches::cases::traced;
use traced_benches::export::SlowExporter;
use traced_benches::mem::rss_bytes;

/// How long the exporter takes per batch: at most 512 spans per 20 ms, about
/// 25 000 spans/s, against millions produced.
const EXPORT_DELAY: Duration = Duration::from_millis(20);
const PRODUCERS: usize = 2;

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    let secs: u64 = std::env::var("TRACED_OVERLOAD_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(4);
    let duration = Duration::from_secs(secs);

    let exporter = SlowExporter::new(EXPORT_DELAY);
    let guard = trace_runtime::init()
        .service_name("overload")
        .exporter(exporter.clone())
        .install()
        .expect("nothing else installed");

    let rss_start = rss_bytes().unwrap_or(0);
    let produced = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    // (seconds since start, RSS bytes)
    let samples: Vec<(f64, u64)> = std::thread::scope(|s| {
        for _ in 0..PRODUCERS {
            s.spawn(|| {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for i in 0..1_000 {
                        std::hint::black_box(traced::attrs3(i));
                    }
                    n += 1_000;
                }
                produced.fetch_add(n, Ordering::Relaxed);
            });
        }
        let mut samples = Vec::new();
        while started.elapsed() < duration {
            std::thread::sleep(Duration::from_millis(50));
            samples.push((started.elapsed().as_secs_f64(), rss_bytes().unwrap_or(0)));
        }
        stop.store(true, Ordering::Relaxed);
        samples
    });
    let elapsed = started.elapsed().as_secs_f64();
    let exported_before_shutdown = exporter.exported();
    let shutdown_started = Instant::now();
    drop(guard);
    let shutdown_secs = shutdown_started.elapsed().as_secs_f64();

    let produced = produced.load(Ordering::Relaxed);
    let exported = exporter.exported();
    let dropped = produced.saturating_sub(exported);
    let peak = samples.iter().map(|s| s.1).max().unwrap_or(rss_start);
    let after_first_second: Vec<u64> = samples.iter().filter(|s| s.0 >= 1.0).map(|s| s.1).collect();
    let (late_min, late_max) = (
        after_first_second.iter().copied().min().unwrap_or(peak),
        after_first_second.iter().copied().max().unwrap_or(peak),
    );

    println!("overload: {PRODUCERS} producer threads for {elapsed:.1} s, exporter sleeps {EXPORT_DELAY:?} per batch");
    println!("  produced         {produced:>12}  ({:.0} spans/s)", produced as f64 / elapsed);
    println!("  exported         {exported:>12}  ({exported_before_shutdown} before shutdown)");
    println!(
        "  dropped          {dropped:>12}  ({:.2} % of produced)",
        100.0 * dropped as f64 / produced.max(1) as f64
    );
    println!("  RSS at start     {:>12.1} MiB", mib(rss_start));
    println!("  RSS peak         {:>12.1} MiB", mib(peak));
    println!("  RSS after 1 s    {:>12.1} .. {:.1} MiB (min .. max: flat = bounded)", mib(late_min), mib(late_max));
    println!("  shutdown took    {shutdown_secs:>12.2} s");

    if let Some(dir) = std::env::var_os("TRACED_BENCH_DIR").map(PathBuf::from) {
        let json = format!(
            "{{\n  \"producers\": {PRODUCERS},\n  \"seconds\": {elapsed:.3},\n  \"export_delay_ms\": {},\n  \"produced\": {produced},\n  \"exported\": {exported},\n  \"dropped\": {dropped},\n  \"rss_start\": {rss_start},\n  \"rss_peak\": {peak},\n  \"rss_late_min\": {late_min},\n  \"rss_late_max\": {late_max},\n  \"shutdown_seconds\": {shutdown_secs:.3}\n}}\n",
            EXPORT_DELAY.as_millis()
        );
        let path = dir.join("traced-overload.json");
        std::fs::create_dir_all(&dir).expect("bench output directory");
        std::fs::write(&path, json).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}
