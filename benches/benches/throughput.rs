//! End-to-end throughput: the highest span rate the application can sustain
//! for `TRACED_THROUGHPUT_SECS` (default 10) seconds with zero spans lost,
//! `#[traced]` (`init()`'s pipeline at its defaults) against the raw SDK
//! with its `BatchSpanProcessor` at default settings, both into the same
//! discarding exporter ([`NullExporter`]).
//!
//! One thread produces spans at a fixed rate, paced in 1 ms slots. A trial
//! is sustained when the producer kept the pace (it ended within 1% of the
//! planned time) and every span it produced reached the exporter: exported
//! = produced after shutdown, and for traced `lost_spans()` did not move.
//! A rate is sustained when one of two trials at it is (the same second
//! chance for both peers: on a shared machine one scheduling stall in ten
//! seconds would otherwise decide the figure). The rate doubles from `TRACED_THROUGHPUT_START` (default 50 000/s) until
//! a trial fails, then is bisected a few times between the last sustained
//! rate and the first failed one.
//!
//! Prints one line per trial and the result; with `TRACED_BENCH_DIR` set,
//! writes `traced-throughput.json` there. Nothing is asserted: the numbers
//! are for reading. Run: `cargo bench -p traced-benches --bench throughput`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use opentelemetry::trace::TracerProvider as _;
use traced_benches::cases::{raw, traced};
use traced_benches::export::{sdk_provider, NullExporter};
use traced_benches::setup::sampled;

/// Bisection steps after the first failed rate.
const BISECT: usize = 4;
/// Doubling stops here even if every trial was sustained.
const MAX_RATE: u64 = 64_000_000;

/// Who produces the spans.
#[derive(Debug, Clone, Copy)]
enum Peer {
    Traced,
    Raw,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Traced => "traced",
            Peer::Raw => "raw SDK",
        }
    }
}

/// What one trial at a fixed rate gave.
#[derive(Debug)]
struct Trial {
    produced: u64,
    exported: u64,
    lost: u64,
    /// The producer's actual time over the planned one.
    late: f64,
}

impl Trial {
    fn sustained(&self) -> bool {
        self.lost == 0 && self.exported == self.produced && self.late <= 1.01
    }
}

/// Produces `rate` spans per second for `duration` with `span`, in 1 ms
/// slots; returns the spans produced and how late the producer ended.
fn produce(rate: u64, duration: Duration, span: impl Fn(u64) -> u64) -> (u64, f64) {
    let slots = duration.as_millis() as u64;
    let per_slot = (rate / 1000).max(1);
    let start = Instant::now();
    let mut produced = 0;
    for slot in 0..slots {
        for i in 0..per_slot {
            black_box(span(black_box(i)));
        }
        produced += per_slot;
        let due = start + Duration::from_millis(slot + 1);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    (produced, start.elapsed().as_secs_f64() / duration.as_secs_f64())
}

fn trial(peer: Peer, rate: u64, duration: Duration) -> Trial {
    let exporter = NullExporter::default();
    match peer {
        Peer::Traced => {
            let lost_before = trace_runtime::lost_spans();
            let guard = trace_runtime::init()
                .service_name("throughput")
                .env_lookup(|_| None)
                .exporter(exporter.clone())
                .install()
                .expect("nothing else installed");
            let (produced, late) = produce(rate, duration, traced::root);
            // Shutdown delivers what is queued; anything it cannot is lost.
            let _ = guard.shutdown();
            let lost = trace_runtime::lost_spans() - lost_before;
            Trial { produced, exported: exporter.exported(), lost, late }
        }
        Peer::Raw => {
            let provider = sdk_provider(exporter.clone(), sampled());
            let tracer = provider.tracer("throughput");
            let (produced, late) = produce(rate, duration, |x| raw::root(&tracer, x));
            // The batch processor drops what does not fit its queue, silently:
            // the exporter's count tells.
            let _ = provider.shutdown();
            let exported = exporter.exported();
            Trial { produced, exported, lost: produced.saturating_sub(exported), late }
        }
    }
}

/// The highest rate `peer` sustained; prints every trial on the way.
fn highest_rate(peer: Peer, duration: Duration, start: u64) -> u64 {
    let once = |rate: u64| {
        let t = trial(peer, rate, duration);
        let verdict = if t.sustained() { "sustained" } else { "NOT sustained" };
        println!(
            "{:>8} {:>10} spans/s: produced {}, exported {}, lost {}, producer took {:.3}x the time: {verdict}",
            peer.name(),
            rate,
            t.produced,
            t.exported,
            t.lost,
            t.late
        );
        t.sustained()
    };
    // A second trial at a rate the first one failed: one scheduling stall of
    // a shared machine does not decide the figure, for either peer.
    let run = |rate: u64| once(rate) || once(rate);
    let mut good = 0;
    let mut bad = start;
    while bad <= MAX_RATE && run(bad) {
        good = bad;
        bad *= 2;
    }
    if bad > MAX_RATE {
        return good;
    }
    for _ in 0..BISECT {
        let mid = good + (bad - good) / 2;
        if run(mid) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    good
}

fn main() {
    let env_u64 = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let duration = Duration::from_secs(env_u64("TRACED_THROUGHPUT_SECS", 10));
    let start = env_u64("TRACED_THROUGHPUT_START", 50_000);
    let traced_rate = highest_rate(Peer::Traced, duration, start);
    let raw_rate = highest_rate(Peer::Raw, duration, start);
    let ratio = if raw_rate == 0 { f64::NAN } else { traced_rate as f64 / raw_rate as f64 };
    println!(
        "highest rate sustained {}s with zero loss: traced {traced_rate}/s, raw SDK {raw_rate}/s ({ratio:.2}x)",
        duration.as_secs()
    );
    if let Some(dir) = std::env::var_os("TRACED_BENCH_DIR").map(PathBuf::from) {
        let json = format!(
            "{{\n  \"seconds\": {},\n  \"traced\": {traced_rate},\n  \"raw\": {raw_rate}\n}}\n",
            duration.as_secs()
        );
        let path = dir.join("traced-throughput.json");
        std::fs::write(&path, json).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}
