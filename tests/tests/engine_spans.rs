//! The span engine behind `init()`: what users rely on holds when traced owns
//! its spans. A file of its own (the provider is process-wide), one test
//! with its installs in order. Runs in well under a second.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{get_active_span, Link, SpanKind, TraceContextExt, TraceId, TraceState, Tracer};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    Sampler, SamplingDecision, SamplingResult, ShouldSample, Span, SpanData, SpanProcessor,
};
use trace_runtime::testing::SpanDataExt;
use trace_runtime::{current_root_span, current_span, traced};
use traced_tests::memory::MemoryExporter;

/// Counts what a processor added with `.span_processor(..)` is given.
#[derive(Debug, Clone, Default)]
struct Counting {
    started: Arc<AtomicUsize>,
    ended: Arc<AtomicUsize>,
}

impl SpanProcessor for Counting {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {
        self.started.fetch_add(1, Ordering::SeqCst);
    }
    fn on_end(&self, _span: SpanData) {
        self.ended.fetch_add(1, Ordering::SeqCst);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// What raw OpenTelemetry calls saw inside a traced function.
#[derive(Debug, Default)]
struct Seen {
    current: (String, String),
    active_recording: bool,
    traceparent: String,
}

#[traced]
fn handler() -> Seen {
    let cx = Context::current();
    let sc = cx.span().span_context().clone();
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    get_active_span(|span| {
        span.set_attribute(KeyValue::new("via.active_span", true));
        span.add_event("via.active_span", vec![]);
    });
    cx.span().set_attribute(KeyValue::new("via.context", 1));
    // A raw span under this one, and a traced one under the raw span.
    opentelemetry::global::tracer("raw-lib").in_span("raw.child", |_| leaf());
    // On another thread, with this context.
    let carried = Context::current();
    std::thread::spawn(move || {
        let _attached = carried.attach();
        leaf();
    })
    .join()
    .expect("the thread ran");
    Seen {
        current: (format!("{:032x}", sc.trace_id()), format!("{:016x}", sc.span_id())),
        active_recording: get_active_span(|span| span.is_recording()),
        traceparent: carrier.remove("traceparent").unwrap_or_default(),
    }
}

#[traced]
fn leaf() {
    deeper();
}

#[traced]
fn deeper() {
    current_root_span().set_attribute("from.deep", "yes");
}

#[traced]
fn dropped_by_custom_sampler() {}

/// Drops the function above (by its `code.function.name`, which the SDK path
/// gives samplers too), and marks what it keeps.
#[derive(Debug, Clone)]
struct Custom;

impl ShouldSample for Custom {
    fn should_sample(
        &self,
        _parent: Option<&Context>,
        _trace_id: TraceId,
        name: &str,
        _kind: &SpanKind,
        attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let function = attributes.iter().find(|kv| kv.key.as_str() == "code.function.name");
        let drop = function.is_some_and(|kv| kv.value.as_str().ends_with("dropped_by_custom_sampler"));
        SamplingResult {
            decision: if drop { SamplingDecision::Drop } else { SamplingDecision::RecordAndSample },
            attributes: vec![KeyValue::new("sampler.name_seen", name.to_owned())],
            trace_state: TraceState::from_key_value([("engine", "yes")]).unwrap_or_default(),
        }
    }
}

#[traced]
fn ratio_root() -> TraceId {
    TraceId::from_hex(&current_span().trace_id()).unwrap_or(TraceId::INVALID)
}

fn by_name<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

#[test]
fn the_engine_keeps_every_promise_of_the_sdk_path() {
    // 1. The default sampler, an exporter and a processor of the user's own.
    let exporter = MemoryExporter::default();
    let counting = Counting::default();
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .exporter(exporter.clone())
        .span_processor(counting.clone())
        .install()
        .expect("install");
    let before = SystemTime::now();
    let seen = handler();
    let after = SystemTime::now();
    // Raw spans around traced ones: a raw root with a traced child.
    opentelemetry::global::tracer("raw-lib").in_span("raw.root", |_| leaf());
    guard.flush().expect("flush");
    let spans = exporter.spans();

    let root = by_name(&spans, "handler")[0];
    // Raw OpenTelemetry calls saw the traced span: same ids, recording, and
    // what they recorded landed on it.
    assert_eq!(
        seen.current,
        (format!("{:032x}", root.span_context.trace_id()), format!("{:016x}", root.span_context.span_id()))
    );
    assert!(seen.active_recording);
    assert_eq!(seen.traceparent, format!("00-{}-{}-01", seen.current.0, seen.current.1));
    assert_eq!(root.attribute("via.active_span"), Some(&Value::Bool(true)));
    assert_eq!(root.attribute("via.context"), Some(&Value::I64(1)));
    assert!(root.event("via.active_span").is_some());
    assert!(root.attribute("code.function.name").is_some_and(|v| v.as_str().ends_with("engine_spans::handler")));
    // The local root, found from two levels down, on this thread and another.
    assert_eq!(root.attribute("from.deep"), Some(&Value::from("yes")));
    // Nesting both ways with raw spans; the thread's spans under the root.
    let raw_child = by_name(&spans, "raw.child")[0];
    assert!(raw_child.is_child_of(root));
    assert_eq!(raw_child.instrumentation_scope.name(), "raw-lib");
    let leaves = by_name(&spans, "leaf");
    assert_eq!(leaves.len(), 3);
    assert!(leaves.iter().any(|l| l.is_child_of(raw_child)));
    assert_eq!(leaves.iter().filter(|l| l.is_child_of(root)).count(), 1, "the thread's leaf");
    let raw_root = by_name(&spans, "raw.root")[0];
    assert!(leaves.iter().any(|l| l.is_child_of(raw_root)));
    assert_eq!(raw_root.attribute("from.deep"), Some(&Value::from("yes")));
    // Timestamps: within the call, children inside their parents.
    let ms = Duration::from_millis(1);
    assert!(root.start_time + ms >= before && root.end_time <= after + ms);
    for span in &spans {
        assert!(span.start_time <= span.end_time);
        if let Some(parent) = spans.iter().find(|p| span.is_child_of(p)) {
            assert!(parent.start_time <= span.start_time && span.end_time <= parent.end_time, "{}", span.name);
        }
    }
    // The user's processor got `on_end` for every span, and no `on_start`:
    // engine spans are not SDK spans (documented on `Builder::span_processor`,
    // with the way for those who need it: tests/tests/engine_on_start.rs).
    assert_eq!(counting.ended.load(Ordering::SeqCst), spans.len());
    assert_eq!(counting.started.load(Ordering::SeqCst), 0);
    guard.shutdown().expect("shutdown");

    // 2. A custom sampler decides as on the SDK path: it is given the
    //    `code.*` attributes. (Under `ParentBased`, the only way `init()`
    //    takes one, the SDK keeps its decision and drops its attributes and
    //    trace state; so does the engine.)
    let exporter = MemoryExporter::default();
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .sampler(Sampler::ParentBased(Box::new(Custom)))
        .exporter(exporter.clone())
        .install()
        .expect("install");
    leaf();
    dropped_by_custom_sampler();
    guard.flush().expect("flush");
    let spans = exporter.spans();
    assert!(by_name(&spans, "dropped_by_custom_sampler").is_empty());
    let kept = by_name(&spans, "leaf")[0];
    assert_eq!(kept.attribute("sampler.name_seen"), None);
    assert_eq!(kept.span_context.trace_state().get("engine"), None);
    // Children follow the parent (parent-based).
    let child = by_name(&spans, "deeper")[0];
    assert!(child.is_child_of(kept));
    guard.shutdown().expect("shutdown");

    // 3. A ratio sampler keeps exactly the traces the SDK's would.
    let exporter = MemoryExporter::default();
    let ratio = Sampler::TraceIdRatioBased(0.5);
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .sampler(ratio.clone())
        .exporter(exporter.clone())
        .install()
        .expect("install");
    let ids: Vec<TraceId> = (0..200).map(|_| ratio_root()).collect();
    guard.flush().expect("flush");
    let exported: Vec<TraceId> = exporter.spans().iter().map(|s| s.span_context.trace_id()).collect();
    let expected: Vec<TraceId> = ids
        .iter()
        .copied()
        .filter(|id| {
            let result = ratio.should_sample(None, *id, "ratio_root", &SpanKind::Internal, &[], &[]);
            result.decision == SamplingDecision::RecordAndSample
        })
        .collect();
    assert!(!expected.is_empty() && expected.len() < ids.len());
    assert_eq!(exported, expected);
    guard.shutdown().expect("shutdown");
}
