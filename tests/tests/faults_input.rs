//! Own binary: installs the runtime, once per child process.
//!
//! Fault injection on the input side: hostile incoming trace headers, odd
//! and oversized span names, keys and values, 10,000-deep recursion, and
//! global tags changing on many threads while spans are exported.
//!
//! As in `faults_export.rs`, every case asserts that a traced call never
//! waits on export, that flush and shutdown keep their bound, and that
//! produced = delivered + lost exactly; here the destination is a healthy
//! counting collector on loopback (tests/src/faults/http.rs) that also keeps
//! what it received, so each case checks that the hostile input cost
//! nothing else: every span arrives, in the right trace.
//!
//! One `install()` per process: each case runs in a child process (this
//! binary again, one case selected); the parent runs them all at once.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::cell::Cell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_proto::tonic::common::v1::any_value;
use trace_runtime::{propagation, traced};
use traced_tests::faults::case::{self, Figures, Healing, CALL_BOUND, PER_PHASE, SHUTDOWN, SLACK};
use traced_tests::faults::http::{HttpCollector, HttpFault};

const CHILD: &str = "TRACED_FAULTS_INPUT_CHILD";
const OTLP_TIMEOUT: Duration = Duration::from_secs(2);
const MIB: usize = 1 << 20;

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

/// Runs a case against a healthy counting collector: the case's own spans
/// come from `extra` (it returns how many it made and its longest call),
/// then `check` looks at what arrived.
fn input_case(
    name: &str,
    builder: impl FnOnce(trace_runtime::Builder) -> trace_runtime::Builder,
    extra: impl FnOnce() -> (u64, Duration),
    check: impl FnOnce(&[Span]),
) -> Figures {
    let collector = HttpCollector::start(HttpFault::Healthy);
    let builder = builder(trace_runtime::init().otlp_endpoint(collector.endpoint()).otlp_timeout(OTLP_TIMEOUT));
    let longest = Cell::new(Duration::ZERO);
    let healing = Healing::never(|| collector.delivered()).with_extra(|| {
        let before = collector.delivered();
        let (made, call) = extra();
        longest.set(call);
        // A burst (10,000 spans at once) takes longer to send than the
        // shutdown timeout allows: a healthy collector gets it all first.
        let deadline = Instant::now() + Duration::from_secs(20);
        while collector.delivered() < before + made && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        made
    });
    let mut figures = case::run(name, builder, healing);
    assert!(longest.get() < CALL_BOUND, "{name}: a traced call waited {:?}", longest.get());
    figures.max_call_us = figures.max_call_us.max(longest.get().as_micros() as u64);
    // The collector stores what it decoded just after answering.
    let deadline = Instant::now() + Duration::from_secs(2);
    while (collector.spans().len() as u64) < collector.delivered() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    check(&collector.spans());
    figures
}

type Span = opentelemetry_proto::tonic::trace::v1::Span;

fn spans_named<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.name == name).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ------------------------------------------------------------ hostile headers

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// What the handler saw of its trace.
struct Served {
    trace_id: String,
    trace_state: String,
    baggage: usize,
}

#[traced(attrs(case = case))]
fn handle(case: &str) -> Served {
    let cx = opentelemetry::Context::current();
    let span = trace_runtime::current_span();
    Served {
        trace_id: span.trace_id(),
        trace_state: cx.span().span_context().trace_state().header(),
        baggage: opentelemetry::baggage::BaggageExt::baggage(&cx).len(),
    }
}

/// Serves one request with `headers`; returns what the handler saw and how
/// long the whole request (extract included) took.
fn serve(case: &str, headers: &[(&'static str, HeaderValue)]) -> (Served, Duration) {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(*name, value.clone());
    }
    let started = Instant::now();
    let served = {
        let _attached = propagation::extract(&map).attach();
        handle(case)
    };
    (served, started.elapsed())
}

fn value(bytes: &[u8]) -> HeaderValue {
    HeaderValue::from_bytes(bytes).unwrap()
}

fn hostile_headers() -> (u64, Duration) {
    let huge = "0".repeat(MIB);
    let caller = || ("traceparent", value(CALLER.as_bytes()));
    // 1000 members in under 8 KiB (the longest header read), so that the
    // member limit itself is what is tested.
    let thousand: String = (0..1000).map(|i| format!("k{i}=v")).collect::<Vec<_>>().join(",");
    assert!(thousand.len() < 8192);
    let mut longest = Duration::ZERO;
    let mut served = 0;
    let mut run = |case: &str, headers: &[(&'static str, HeaderValue)], check: &dyn Fn(&Served)| {
        let (seen, took) = serve(case, headers);
        check(&seen);
        longest = longest.max(took);
        served += 1;
    };
    let new_root = |s: &Served| {
        // (No span is current here: a new trace, whose root the handler's
        // span is; the collector checks it has no parent.)
        assert_ne!(s.trace_id, CALLER_TRACE, "an unreadable traceparent continues nothing");
    };
    let continued = |s: &Served| {
        assert_eq!(s.trace_id, CALLER_TRACE, "a valid traceparent is kept whatever else came with it");
    };
    // traceparent: 1 MB, and bytes that are not UTF-8.
    run("huge traceparent", &[("traceparent", value(huge.as_bytes()))], &new_root);
    run(
        "non-UTF-8 traceparent",
        &[("traceparent", value(b"00-\xff\xfe4bf92f3577b34da6a3ce929d0e0e4736-01"))],
        &new_root,
    );
    // tracestate: 1 MB, not UTF-8, 1000 members; the traceparent next to it is kept.
    run("huge tracestate", &[caller(), ("tracestate", value(format!("a={huge}").as_bytes()))], &|s| {
        continued(s);
        assert_eq!(s.trace_state, "", "a tracestate over the length limit is dropped");
    });
    run("non-UTF-8 tracestate", &[caller(), ("tracestate", value(b"a=\xe9t\xe9"))], &|s| {
        continued(s);
        assert_eq!(s.trace_state, "");
    });
    run("1000-member tracestate", &[caller(), ("tracestate", value(thousand.as_bytes()))], &|s| {
        continued(s);
        // W3C: at most 32 members are propagated, each key once.
        let members = s.trace_state.split(',').filter(|m| !m.is_empty()).count();
        assert!(members <= 32, "{members} tracestate members kept");
    });
    // baggage: 1 MB, not UTF-8; the trace is kept, the baggage dropped.
    run("huge baggage", &[caller(), ("baggage", value(format!("k={huge}").as_bytes()))], &|s| {
        continued(s);
        assert_eq!(s.baggage, 0, "baggage over the length limit is dropped");
    });
    run("non-UTF-8 baggage", &[caller(), ("baggage", value(b"user=\xff\xfe"))], &|s| {
        continued(s);
        assert_eq!(s.baggage, 0);
    });
    // Everything hostile at once, headers repeated: still served.
    run(
        "all at once",
        &[
            ("traceparent", value(huge.as_bytes())),
            ("traceparent", value(b"\xff")),
            ("tracestate", value(thousand.as_bytes())),
            ("baggage", value(huge.as_bytes())),
            ("baggage", value(b"\x80")),
        ],
        &new_root,
    );
    (served, longest)
}

child!(hostile_headers_are_served, {
    input_case(
        "hostile_headers_are_served",
        |b| b,
        hostile_headers,
        |spans| {
            let handled = spans_named(spans, "handle");
            assert_eq!(handled.len(), 8, "every request was served and its span arrived");
            for span in handled {
                let continued = hex(&span.trace_id) == CALLER_TRACE;
                assert_eq!(continued, !span.parent_span_id.is_empty(), "a continued trace keeps its remote parent");
            }
        },
    )
});

// ------------------------------------------------------------ odd and huge values

#[traced(attrs(nan = f64::NAN, plus = f64::INFINITY, minus = f64::NEG_INFINITY))]
fn odd_numbers() {
    trace_runtime::current_span().set_attribute("set.nan", f64::NAN);
}

fn odd_values() -> (u64, Duration) {
    let mut longest = Duration::ZERO;
    let mut timed = |f: &dyn Fn()| {
        let started = Instant::now();
        f();
        longest = longest.max(started.elapsed());
    };
    timed(&odd_numbers);
    timed(&|| drop(trace_runtime::span("").enter()));
    timed(&|| drop(trace_runtime::span("N".repeat(MIB)).enter()));
    timed(&|| trace_runtime::span("empty key").enter().handle().set_attribute("", 1_i64));
    timed(&|| trace_runtime::span("huge key").enter().handle().set_attribute("k".repeat(MIB), "v"));
    timed(&|| trace_runtime::span("huge value").attribute("v", "V".repeat(MIB)).start().end());
    (6, longest)
}

fn double(span: &Span, key: &str) -> f64 {
    let kv = span.attributes.iter().find(|kv| kv.key == key).unwrap_or_else(|| panic!("{key} missing"));
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::DoubleValue(d)) => *d,
        other => panic!("{key}: not a double: {other:?}"),
    }
}

child!(odd_and_huge_names_keys_and_values_arrive, {
    input_case(
        "odd_and_huge_names_keys_and_values_arrive",
        |b| b,
        odd_values,
        |spans| {
            let odd = spans_named(spans, "odd_numbers");
            assert_eq!(odd.len(), 1);
            assert!(double(odd[0], "nan").is_nan() && double(odd[0], "set.nan").is_nan());
            assert_eq!(double(odd[0], "plus"), f64::INFINITY);
            assert_eq!(double(odd[0], "minus"), f64::NEG_INFINITY);
            assert_eq!(spans_named(spans, "").len(), 1, "an empty name is a name");
            let long_name = spans.iter().find(|s| s.name.starts_with("NNNN")).expect("the 1 MB name arrives");
            assert!(long_name.name.len() < 40 * 1024 && long_name.name.contains("more bytes cut"), "cut to 32 KiB");
            let empty_key = spans_named(spans, "empty key");
            assert!(empty_key[0].attributes.iter().any(|kv| kv.key.is_empty()));
            let huge_key = spans_named(spans, "huge key");
            assert!(huge_key[0].attributes.iter().any(|kv| kv.key.starts_with("kkkk")), "the 1 MB key arrives");
            let huge_value = spans_named(spans, "huge value");
            assert_eq!(huge_value.len(), 1, "a 1 MB value is cut, not lost");
        },
    )
});

// ------------------------------------------------------------ deep recursion

const DEPTH: u32 = 10_000;

/// When the last traced call's body ended, and the longest wait from there
/// back into its caller (the span's end: its hand-off for export).
struct Clock {
    last: Cell<Instant>,
    longest: Cell<Duration>,
}

#[traced]
fn descend(depth: u32, clock: &Clock) -> u64 {
    let below = if depth == 0 {
        0
    } else {
        let n = descend(depth - 1, clock);
        clock.longest.set(clock.longest.get().max(clock.last.get().elapsed()));
        n
    };
    clock.last.set(Instant::now());
    below + 1
}

fn deep_recursion() -> (u64, Duration) {
    std::thread::scope(|scope| {
        let deep = std::thread::Builder::new()
            .name("deep recursion".to_owned())
            .stack_size(1 << 30) // reserved, not touched: a debug frame is large
            .spawn_scoped(scope, || {
                let clock = Clock { last: Cell::new(Instant::now()), longest: Cell::new(Duration::ZERO) };
                let spans = descend(DEPTH - 1, &clock);
                (spans, clock.longest.get())
            })
            .unwrap();
        deep.join().unwrap()
    })
}

child!(ten_thousand_deep_recursion, {
    input_case(
        "ten_thousand_deep_recursion",
        // Room for the whole burst: the deepest spans end all at once.
        |b| b.batch_max_queue_size(4 * DEPTH as usize),
        deep_recursion,
        |spans| {
            let descents = spans_named(spans, "descend");
            assert_eq!(descents.len(), DEPTH as usize, "every span arrived");
            let parents: HashMap<&[u8], &[u8]> =
                descents.iter().map(|s| (s.span_id.as_slice(), s.parent_span_id.as_slice())).collect();
            let roots: Vec<_> = descents.iter().filter(|s| s.parent_span_id.is_empty()).collect();
            assert_eq!(roots.len(), 1, "one root");
            assert!(descents.iter().all(|s| s.trace_id == roots[0].trace_id), "one trace");
            // From a leaf up: every parent is there, DEPTH spans to the root.
            let has_child: std::collections::HashSet<&[u8]> = parents.values().copied().collect();
            let leaf = descents.iter().find(|s| !has_child.contains(s.span_id.as_slice())).unwrap();
            let (mut at, mut chain) = (leaf.span_id.as_slice(), 1);
            while let Some(parent) = parents.get(at).filter(|p| !p.is_empty()) {
                at = parent;
                chain += 1;
                assert!(chain <= DEPTH, "the chain loops");
            }
            assert_eq!(chain, DEPTH, "the parent chain is intact");
        },
    )
});

// ------------------------------------------------------------ tags churning

const TAGGERS: usize = 4;
const PRODUCERS: usize = 4;
const PER_PRODUCER: u64 = 500;

#[traced(attrs(producer = producer))]
fn produce(producer: i64) -> i64 {
    producer
}

fn tags_churning() -> (u64, Duration) {
    let done = std::sync::atomic::AtomicBool::new(false);
    let longest = std::thread::scope(|scope| {
        for tagger in 0..TAGGERS {
            let done = &done;
            scope.spawn(move || {
                let mut i = 0_i64;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    trace_runtime::set_global_tag(format!("churn.{tagger}"), i);
                    trace_runtime::set_global_tag("churn.shared", format!("tagger {tagger} #{i}"));
                    if i % 7 == 0 {
                        trace_runtime::set_global_tag(format!("churn.{tagger}"), None::<i64>);
                    }
                    i += 1;
                }
            });
        }
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                scope.spawn(move || {
                    let mut longest = Duration::ZERO;
                    for _ in 0..PER_PRODUCER {
                        let started = Instant::now();
                        std::hint::black_box(produce(p as i64));
                        longest = longest.max(started.elapsed());
                    }
                    longest
                })
            })
            .collect();
        let longest = producers.into_iter().map(|p| p.join().unwrap()).max().unwrap_or_default();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        longest
    });
    trace_runtime::clear_global_tags();
    (PRODUCERS as u64 * PER_PRODUCER, longest)
}

child!(global_tags_changing_on_many_threads, {
    input_case(
        "global_tags_changing_on_many_threads",
        |b| b.batch_max_queue_size(8 * PRODUCERS * PER_PRODUCER as usize),
        tags_churning,
        |spans| {
            let produced = spans_named(spans, "produce");
            assert_eq!(produced.len(), PRODUCERS * PER_PRODUCER as usize, "every span arrived");
            for span in produced {
                let mut keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
                let all = keys.len();
                keys.sort_unstable();
                keys.dedup();
                assert_eq!(keys.len(), all, "each key once: {keys:?}");
            }
        },
    )
});

// ------------------------------------------------------------ the parent

const CASES: &[&str] = &[
    "hostile_headers_are_served",
    "odd_and_huge_names_keys_and_values_arrive",
    "ten_thousand_deep_recursion",
    "global_tags_changing_on_many_threads",
];

#[test]
fn every_input_case_keeps_its_bounds_and_its_books() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let (outputs, took) = case::run_in_children(CASES, CHILD);

    let mut failures = Vec::new();
    let mut all = Vec::new();
    for (name, output) in &outputs {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let Some(figures) = stdout.lines().find_map(Figures::parse).filter(|_| output.status.success()) else {
            failures.push(format!("{name} failed:\n{stdout}\n{stderr}"));
            continue;
        };
        println!("{}", figures.line());
        if figures.accounting_error() != 0 || figures.lost != 0 || figures.pending != 0 {
            failures.push(format!("{name}: produced != delivered, nothing lost\n{}", figures.line()));
        }
        if figures.shutdown_ms > (SHUTDOWN + SLACK).as_millis() as u64 {
            failures.push(format!("{name}: shutdown took {} ms", figures.shutdown_ms));
        }
        assert!(figures.produced > 2 * PER_PHASE, "{name}: the case's own spans are counted");
        all.push(figures);
    }
    println!(
        "input fault cases: {} in {:.1} s; longest traced call {} µs, longest flush {} ms, longest shutdown {} ms, \
         accounting error {}",
        outputs.len(),
        took.as_secs_f64(),
        all.iter().map(|f| f.max_call_us).max().unwrap_or(0),
        all.iter().map(|f| f.flush_ms).max().unwrap_or(0),
        all.iter().map(|f| f.shutdown_ms).max().unwrap_or(0),
        all.iter().map(|f| f.accounting_error().abs()).sum::<i64>()
    );
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), CASES.len(), failures.join("\n\n"));
}

#[test]
fn the_input_suite_lists_every_case() {
    let source = include_str!("faults_input.rs");
    assert_eq!(source.matches("\nchild!(").count(), CASES.len(), "CASES is missing a case");
}
