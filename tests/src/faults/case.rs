//! One fault case, start to finish, and the figures it measured.
//!
//! A case installs the runtime against a hostile destination, traces spans
//! (timing every call), flushes, heals the destination (when it can heal)
//! and checks that spans get through again, shuts down, waits for exports
//! still running to be counted, and returns [`Figures`]: what was produced,
//! delivered (counted by the destination itself), lost and still pending,
//! and how long the caller, flush and shutdown waited.

use std::time::{Duration, Instant};

use trace_runtime::{traced, Builder};

/// The shutdown timeout every case installs (also the flush bound).
pub const SHUTDOWN: Duration = Duration::from_millis(500);
/// Slack over a bound for a loaded CI machine.
pub const SLACK: Duration = Duration::from_secs(2);
/// A traced call never waits on export: far above the microseconds a call
/// takes (even with 25 cases sharing two cores), below the suite's export
/// timeout (2 s) and far below a hang (forever).
pub const CALL_BOUND: Duration = Duration::from_secs(1);
/// Spans traced before and after healing.
pub const PER_PHASE: u64 = 100;

/// What a case measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    /// The case's name.
    pub case: String,
    /// Spans that ended.
    pub produced: u64,
    /// Spans the destination accepted.
    pub delivered: u64,
    /// Growth of `lost_spans()`.
    pub lost: u64,
    /// Spans still in an export that never returned.
    pub pending: u64,
    /// The longest traced call, in microseconds.
    pub max_call_us: u64,
    /// The longest flush, in milliseconds.
    pub flush_ms: u64,
    /// Shutdown, in milliseconds.
    pub shutdown_ms: u64,
}

impl Figures {
    /// `produced - (delivered + lost + pending)`: zero when every span is
    /// counted exactly once.
    pub fn accounting_error(&self) -> i64 {
        self.produced as i64 - (self.delivered + self.lost + self.pending) as i64
    }

    /// One line a parent process can read back with [`Figures::parse`].
    pub fn line(&self) -> String {
        format!(
            "FIGURES case={} produced={} delivered={} lost={} pending={} max_call_us={} flush_ms={} shutdown_ms={}",
            self.case,
            self.produced,
            self.delivered,
            self.lost,
            self.pending,
            self.max_call_us,
            self.flush_ms,
            self.shutdown_ms
        )
    }

    /// Reads a line written by [`Figures::line`].
    pub fn parse(line: &str) -> Option<Figures> {
        // The test harness may print its own words before ours.
        let rest = &line[line.find("FIGURES ")? + "FIGURES ".len()..];
        let rest = rest.trim();
        let field = |name: &str| {
            rest.split(' ').find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('='))).map(str::to_owned)
        };
        let number = |name: &str| field(name).and_then(|v| v.parse::<u64>().ok());
        Some(Figures {
            case: field("case")?,
            produced: number("produced")?,
            delivered: number("delivered")?,
            lost: number("lost")?,
            pending: number("pending")?,
            max_call_us: number("max_call_us")?,
            flush_ms: number("flush_ms")?,
            shutdown_ms: number("shutdown_ms")?,
        })
    }
}

#[traced(attrs(i = i))]
fn request(i: u64) -> u64 {
    i + 1
}

/// Traces `spans` calls; returns the longest.
fn trace_calls(spans: u64) -> Duration {
    let mut longest = Duration::ZERO;
    for i in 0..spans {
        let started = Instant::now();
        std::hint::black_box(request(i));
        longest = longest.max(started.elapsed());
    }
    longest
}

/// How a case heals its destination, and how to tell it got through.
pub struct Healing<'a> {
    /// Heals the destination; `None` when it cannot heal.
    pub heal: Option<Box<dyn FnOnce() + 'a>>,
    /// Spans the destination accepted so far.
    pub delivered: Box<dyn Fn() -> u64 + 'a>,
    /// How long exports under way may keep going after shutdown before
    /// they must all be counted (the exporter's own timeout, and more).
    pub settle: Duration,
    /// Traces more spans of the case's own after the first phase; returns
    /// how many.
    pub extra: Option<Box<dyn FnOnce() -> u64 + 'a>>,
    /// Whether exports fail before healing (then healing waits for the
    /// first loss, so that retries do not hide the fault).
    pub fails: bool,
}

impl<'a> Healing<'a> {
    /// A destination that heals with `heal` and counts with `delivered`.
    pub fn new(heal: impl FnOnce() + 'a, delivered: impl Fn() -> u64 + 'a) -> Self {
        Healing {
            heal: Some(Box::new(heal)),
            delivered: Box::new(delivered),
            settle: Duration::from_secs(5),
            extra: None,
            fails: true,
        }
    }

    /// A destination that cannot heal.
    pub fn never(delivered: impl Fn() -> u64 + 'a) -> Self {
        Healing {
            heal: None,
            delivered: Box::new(delivered),
            settle: Duration::from_secs(5),
            extra: None,
            fails: false,
        }
    }

    /// A destination that is slow but never fails.
    pub fn succeeding(mut self) -> Self {
        self.fails = false;
        self
    }

    /// Also traces the spans `extra` makes (it returns how many).
    pub fn with_extra(mut self, extra: impl FnOnce() -> u64 + 'a) -> Self {
        self.extra = Some(Box::new(extra));
        self
    }
}

/// Runs one case with `builder` (its exporter set up by the caller).
///
/// Panics (fails the test) when a bound is broken; the accounting itself is
/// returned for the caller to check.
pub fn run(case: &str, builder: Builder, healing: Healing<'_>) -> Figures {
    let lost_before = trace_runtime::lost_spans();
    let pending_before = trace_runtime::pending_spans();
    let guard = builder
        .env_lookup(|_| None)
        .service_name("faults")
        .batch_schedule_delay(Duration::from_millis(20))
        .batch_max_export_batch_size(64)
        .shutdown_timeout(SHUTDOWN)
        .install()
        .expect("install");

    let mut max_call = trace_calls(PER_PHASE);
    std::thread::sleep(Duration::from_millis(150)); // exports are tried, and fail
    let started = Instant::now();
    let _ = guard.flush();
    let mut flush = started.elapsed();
    assert!(flush < SHUTDOWN + SLACK, "{case}: flush took {flush:?}");

    let mut produced = PER_PHASE;
    if let Some(extra) = healing.extra {
        produced += extra();
    }
    if let Some(heal) = healing.heal {
        if healing.fails {
            let deadline = Instant::now() + Duration::from_secs(5);
            while trace_runtime::lost_spans() == lost_before {
                assert!(Instant::now() < deadline, "{case}: no export failed before healing");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        heal();
        let before = (healing.delivered)();
        max_call = max_call.max(trace_calls(PER_PHASE));
        produced += PER_PHASE;
        // Spans get through again, soon.
        let deadline = Instant::now() + Duration::from_secs(8);
        while (healing.delivered)() < before + PER_PHASE {
            assert!(
                Instant::now() < deadline,
                "{case}: no recovery: {} delivered after healing",
                (healing.delivered)() - before
            );
            let started = Instant::now();
            let _ = guard.flush();
            flush = flush.max(started.elapsed());
            std::thread::sleep(Duration::from_millis(20));
        }
    } else {
        max_call = max_call.max(trace_calls(PER_PHASE));
        produced += PER_PHASE;
    }
    assert!(max_call < CALL_BOUND, "{case}: a traced call waited {max_call:?}");

    let started = Instant::now();
    let _ = guard.shutdown();
    let shutdown = started.elapsed();
    assert!(shutdown < SHUTDOWN + SLACK, "{case}: shutdown took {shutdown:?}");

    // Exports still running are counted when they return.
    let deadline = Instant::now() + healing.settle;
    while trace_runtime::pending_spans() > pending_before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    Figures {
        case: case.to_owned(),
        produced,
        delivered: (healing.delivered)(),
        lost: trace_runtime::lost_spans() - lost_before,
        pending: trace_runtime::pending_spans() - pending_before,
        max_call_us: max_call.as_micros() as u64,
        flush_ms: flush.as_millis() as u64,
        shutdown_ms: shutdown.as_millis() as u64,
    }
}

/// Runs each case of the calling test binary in a child process of its own
/// (one `install()` per process), all at once, with `child_var` set so that
/// the children run the case and not this parent. Returns each case's
/// output and how long they took together.
pub fn run_in_children<'a>(
    cases: &[&'a str],
    child_var: &str,
) -> (std::collections::BTreeMap<&'a str, std::process::Output>, Duration) {
    let started = Instant::now();
    let children: Vec<(&str, std::process::Child)> = cases
        .iter()
        .map(|name| {
            let child = std::process::Command::new(std::env::current_exe().expect("the test binary's path"))
                .args(["--exact", name, "--nocapture", "--test-threads=1"])
                .env(child_var, "1")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("a child test process");
            (*name, child)
        })
        .collect();
    let outputs = children
        .into_iter()
        .map(|(name, child)| (name, child.wait_with_output().expect("the child's output")))
        .collect();
    (outputs, started.elapsed())
}
