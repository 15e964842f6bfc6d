//! Samplers under the span engine decide exactly as the SDK would (issue 11,
//! point 2: "always on/off, ratio, parent-based, and a custom `ShouldSample`,
//! including its attributes and trace state").
//!
//! Each case runs the same calls twice with the same sampler: once through
//! the SDK's own span path (an `SdkTracerProvider` the test installs as the
//! global provider, which `#[traced]` honours) and once through traced's
//! engine (`init()`), under the same remote parent. What the code inside saw
//! (recording, sampled, trace state), what was exported, and what a custom
//! sampler was given must be the same on both paths.
//!
//! Its own file: the global provider is process-wide. One test, installs in
//! order; well under a second.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::trace::{
    Link, SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    Sampler, SamplingDecision, SamplingResult, SdkTracerProvider, ShouldSample, Span, SpanData, SpanProcessor,
};
use trace_runtime::testing::SpanDataExt;
use trace_runtime::{current_span, traced};
use traced_tests::memory::MemoryExporter;

/// What the code inside one span saw of it.
#[derive(Debug, Clone, PartialEq)]
struct Inside {
    name: &'static str,
    recording: bool,
    sampled: bool,
    trace_state: String,
}

fn inside(name: &'static str) -> Inside {
    let cx = Context::current();
    let span = cx.span();
    let sc = span.span_context();
    Inside {
        name,
        recording: current_span().is_recording() && span.is_recording(),
        sampled: sc.is_sampled(),
        trace_state: sc.trace_state().header(),
    }
}

#[traced]
fn outer() -> Vec<Inside> {
    let mut seen = vec![inside("outer")];
    seen.extend(inner());
    opentelemetry::global::tracer("raw-lib").in_span("raw", |_| seen.push(inside("raw")));
    let manual = trace_runtime::span("manual").enter();
    seen.push(inside("manual"));
    manual.finish();
    seen
}

#[traced]
fn inner() -> Vec<Inside> {
    vec![inside("inner")]
}

/// Kept by the custom sampler only for recording, not for export.
#[traced]
fn record_only() -> Vec<Inside> {
    let mut seen = vec![inside("record_only")];
    seen.extend(inner());
    seen
}

/// Dropped by the custom sampler.
#[traced]
fn dropped() -> Vec<Inside> {
    let mut seen = vec![inside("dropped")];
    seen.extend(inner());
    seen
}

/// A fixed span context to link to, the same on both paths.
fn link_target() -> SpanContext {
    SpanContext::new(
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
        SpanId::from_hex("b7ad6b7169203331").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    )
}

/// A server span with a link: the sampler is given its kind and link.
#[traced(kind = server, links = link_target())]
fn linked_server() -> Vec<Inside> {
    vec![inside("linked_server")]
}

/// A manual span and a raw one with attributes and a link given at start:
/// a sampler is given those too.
fn with_start_attributes() -> Vec<Inside> {
    let manual =
        trace_runtime::span("manual_root").attribute("given.at.start", 1).link(link_target()).kind(SpanKind::Consumer);
    let guard = manual.enter();
    let mut seen = vec![inside("manual_root")];
    guard.finish();
    let tracer = opentelemetry::global::tracer("raw-lib");
    let raw = tracer
        .span_builder("raw_root")
        .with_kind(SpanKind::Client)
        .with_attributes([KeyValue::new("given.at.start", 2)])
        .with_links(vec![Link::with_context(link_target())])
        .start(&tracer);
    let cx = Context::current_with_span(raw);
    let attached = cx.clone().attach();
    seen.push(inside("raw_root"));
    drop(attached);
    cx.span().end();
    seen
}

/// Every call of the scenario as a root (or under the remote parent).
fn scenario() -> Vec<Inside> {
    let mut seen = outer();
    seen.extend(record_only());
    seen.extend(dropped());
    seen.extend(linked_server());
    seen.extend(with_start_attributes());
    seen
}

/// What a sampler was given, in a form both paths can be compared on.
type Given = (String, String, Vec<String>, usize, bool);

/// A sampler of the user's own: decides by function name, adds an attribute
/// and trace state, and writes down every input it was given.
#[derive(Debug, Clone, Default)]
struct Custom {
    given: Arc<Mutex<Vec<Given>>>,
}

impl Custom {
    fn given(&self) -> Vec<Given> {
        std::mem::take(&mut *self.given.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl ShouldSample for Custom {
    fn should_sample(
        &self,
        parent: Option<&Context>,
        _trace_id: TraceId,
        name: &str,
        kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        let mut attrs: Vec<String> = attributes.iter().map(|kv| format!("{}={}", kv.key, kv.value)).collect();
        attrs.sort();
        let parent_valid = parent.is_some_and(|cx| cx.span().span_context().is_valid());
        self.given.lock().unwrap_or_else(PoisonError::into_inner).push((
            name.to_owned(),
            format!("{kind:?}"),
            attrs,
            links.len(),
            parent_valid,
        ));
        let decision = match name {
            "dropped" => SamplingDecision::Drop,
            "record_only" => SamplingDecision::RecordOnly,
            _ => SamplingDecision::RecordAndSample,
        };
        SamplingResult {
            decision,
            attributes: vec![KeyValue::new("sampler.custom", name.to_owned())],
            trace_state: TraceState::from_key_value([("custom", "yes")]).unwrap(),
        }
    }
}

/// An exported span, reduced to what sampling decides.
#[derive(Debug, PartialEq, PartialOrd, Eq, Ord)]
struct Kept {
    name: String,
    sampled: bool,
    trace_state: String,
    sampler_attribute: Option<String>,
    /// The parent is the remote caller (trace id and span id match).
    under_remote: bool,
    local_parent: bool,
}

fn kept(spans: &[SpanData], remote: Option<(TraceId, SpanId)>) -> Vec<Kept> {
    let mut kept: Vec<Kept> = spans
        .iter()
        .map(|s| Kept {
            name: s.name.to_string(),
            sampled: s.span_context.is_sampled(),
            trace_state: s.span_context.trace_state().header(),
            sampler_attribute: s.attribute("sampler.custom").map(|v| v.as_str().into_owned()),
            under_remote: remote.is_some_and(|(t, p)| {
                s.span_context.trace_id() == t && s.parent_span_id == p && s.parent_span_is_remote
            }),
            local_parent: spans.iter().any(|p| s.is_child_of(p)),
        })
        .collect();
    kept.sort();
    kept
}

/// One remote caller: a `traceparent` (sampled or not) and a `tracestate`;
/// or, with no headers, a current context that holds an invalid span (what
/// a bridge may leave current): the SDK's parent-based rule treats that as
/// an unsampled parent.
struct Remote {
    headers: HashMap<String, String>,
    ids: (TraceId, SpanId),
}

fn remote(trace_id: &str, sampled: bool) -> Remote {
    let span_id = "00f067aa0ba902b7";
    let flags = if sampled { "01" } else { "00" };
    let headers = HashMap::from([
        ("traceparent".to_owned(), format!("00-{trace_id}-{span_id}-{flags}")),
        ("tracestate".to_owned(), "vendor=remote".to_owned()),
    ]);
    Remote { headers, ids: (TraceId::from_hex(trace_id).unwrap(), SpanId::from_hex(span_id).unwrap()) }
}

/// Everything one path produced for a case.
#[derive(Debug, PartialEq)]
struct Outcome {
    inside: Vec<Inside>,
    kept: Vec<Kept>,
    /// What a processor of the user's own was given at the end (sorted).
    processed: Vec<String>,
}

/// A processor of the user's own: writes down the name of every span it is
/// given at the end (sampled or only recorded).
#[derive(Debug, Clone, Default)]
struct Names(Arc<Mutex<Vec<String>>>);

impl Names {
    fn sorted(&self) -> Vec<String> {
        let mut names = self.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
        names.sort();
        names
    }
}

impl SpanProcessor for Names {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}
    fn on_end(&self, span: SpanData) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(span.name.to_string());
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

fn invalid_span() -> Remote {
    Remote { headers: HashMap::new(), ids: (TraceId::INVALID, SpanId::INVALID) }
}

fn run(parent: Option<&Remote>) -> Vec<Inside> {
    match parent {
        Some(remote) if remote.headers.is_empty() => {
            let _invalid = Context::new().with_remote_span_context(SpanContext::empty_context()).attach();
            scenario()
        }
        Some(remote) => trace_runtime::propagation::in_remote_context(&remote.headers, scenario),
        None => scenario(),
    }
}

/// The calls on the SDK's path: a provider of the user's own, global, with
/// the SDK's default processor. Its batch processor hands record-only spans
/// to the exporter too; the specification (and the SDK's simple processor,
/// and traced's export pipeline) does not, so they are left out here.
fn on_sdk(sampler: &Sampler, parent: Option<&Remote>) -> Outcome {
    let exporter = MemoryExporter::default();
    let processor = Names::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(sampler.clone())
        .with_batch_exporter(exporter.clone())
        .with_span_processor(processor.clone())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    let inside = run(parent);
    provider.force_flush().unwrap();
    let exported: Vec<SpanData> = exporter.spans().into_iter().filter(|s| s.span_context.is_sampled()).collect();
    let outcome = Outcome { inside, kept: kept(&exported, parent.map(|r| r.ids)), processed: processor.sorted() };
    provider.shutdown().unwrap();
    outcome
}

/// The same calls on traced's engine.
fn on_engine(sampler: &Sampler, parent: Option<&Remote>) -> Outcome {
    let exporter = MemoryExporter::default();
    let processor = Names::default();
    let guard = trace_runtime::init()
        .env_lookup(|_| None)
        .sampler(sampler.clone())
        .exporter(exporter.clone())
        .span_processor(processor.clone())
        .install()
        .unwrap();
    let inside = run(parent);
    guard.flush().unwrap();
    let outcome =
        Outcome { inside, kept: kept(&exporter.spans(), parent.map(|r| r.ids)), processed: processor.sorted() };
    guard.shutdown().unwrap();
    outcome
}

fn names(outcome: &Outcome) -> Vec<&str> {
    outcome.kept.iter().map(|k| k.name.as_str()).collect()
}

#[test]
fn samplers_decide_on_the_engine_exactly_as_on_the_sdk() {
    // A trace id the ratio sampler keeps at 0.5, and one it drops (checked
    // below against the SDK's sampler, not assumed).
    let low = "00000000000000000000000000000001";
    let high = "ffffffffffffffffffffffffffffffff";
    let ratio = Sampler::TraceIdRatioBased(0.5);
    let decides = |id: &str| {
        ratio.should_sample(None, TraceId::from_hex(id).unwrap(), "x", &SpanKind::Internal, &[], &[]).decision
    };
    assert_eq!(decides(low), SamplingDecision::RecordAndSample);
    assert_eq!(decides(high), SamplingDecision::Drop);

    let parent_based = |root: Sampler| Sampler::ParentBased(Box::new(root));
    let cases: Vec<(&str, Sampler, Option<Remote>)> = vec![
        ("always on", Sampler::AlwaysOn, None),
        ("always off", Sampler::AlwaysOff, None),
        ("always on, unsampled remote parent", Sampler::AlwaysOn, Some(remote(high, false))),
        ("always off, sampled remote parent", Sampler::AlwaysOff, Some(remote(high, true))),
        ("parent-based off, sampled remote parent", parent_based(Sampler::AlwaysOff), Some(remote(high, true))),
        ("parent-based on, unsampled remote parent", parent_based(Sampler::AlwaysOn), Some(remote(high, false))),
        ("parent-based on, no parent", parent_based(Sampler::AlwaysOn), None),
        ("ratio, kept trace id", ratio.clone(), Some(remote(low, false))),
        ("ratio, dropped trace id", ratio.clone(), Some(remote(high, true))),
        ("parent-based ratio, unsampled parent", parent_based(ratio.clone()), Some(remote(low, false))),
        ("always on, invalid span current", Sampler::AlwaysOn, Some(invalid_span())),
        ("parent-based on, invalid span current", parent_based(Sampler::AlwaysOn), Some(invalid_span())),
        ("parent-based ratio, invalid span current", parent_based(ratio.clone()), Some(invalid_span())),
    ];
    for (case, sampler, parent) in &cases {
        let sdk = on_sdk(sampler, parent.as_ref());
        let engine = on_engine(sampler, parent.as_ref());
        assert_eq!(engine, sdk, "{case}: the engine decided differently from the SDK");
        if matches!(sampler, Sampler::AlwaysOn) && parent.is_none() {
            assert_eq!(sdk.kept.len(), 11, "the SDK's path did record: {sdk:?}");
        }
    }

    // The comparison is not vacuous: both paths kept and dropped something.
    let on = on_engine(&Sampler::AlwaysOn, None);
    assert_eq!(
        names(&on),
        [
            "dropped",
            "inner",
            "inner",
            "inner",
            "linked_server",
            "manual",
            "manual_root",
            "outer",
            "raw",
            "raw_root",
            "record_only"
        ]
    );
    assert!(on.inside.iter().all(|i| i.recording && i.sampled));
    let off = on_engine(&Sampler::AlwaysOff, None);
    assert!(off.kept.is_empty() && off.inside.iter().all(|i| !i.recording && !i.sampled));
    // Under a sampled remote parent, parent-based keeps the whole scenario,
    // continues the caller's trace and carries its trace state.
    let remote_parent = remote(high, true);
    let followed = on_engine(&parent_based(Sampler::AlwaysOff), Some(&remote_parent));
    assert_eq!(followed.kept.len(), 11);
    assert!(followed.kept.iter().all(|k| k.trace_state == "vendor=remote"));
    assert_eq!(followed.kept.iter().filter(|k| k.under_remote).count(), 6, "{:?}", followed.kept);

    // A custom sampler at the root position: given the same inputs on both
    // paths, its decisions (drop, record only, record and sample) applied
    // the same way, its attributes and trace state kept where the SDK keeps
    // them (`Sampler::ParentBased` keeps only the delegate's decision).
    for parent in [None, Some(remote(high, true))] {
        let custom = Custom::default();
        let sampler = Sampler::ParentBased(Box::new(custom.clone()));
        let sdk = on_sdk(&sampler, parent.as_ref());
        let sdk_given = custom.given();
        let engine = on_engine(&sampler, parent.as_ref());
        let engine_given = custom.given();
        assert_eq!(engine, sdk, "custom sampler, remote parent: {}", parent.is_some());
        assert_eq!(engine_given, sdk_given, "the custom sampler was given different inputs");
        if parent.is_none() {
            // It decided for the six roots, and was given their `code.*`
            // (traced functions), attributes given at start, kind and links.
            let roots: Vec<&str> = engine_given.iter().map(|g| g.0.as_str()).collect();
            assert_eq!(roots, ["outer", "record_only", "dropped", "linked_server", "manual_root", "raw_root"]);
            assert!(engine_given[..4].iter().all(|g| g.2.iter().any(|a| a.starts_with("code.function.name="))));
            assert_eq!((engine_given[3].1.as_str(), engine_given[3].3), ("Server", 1));
            assert_eq!((engine_given[4].1.as_str(), engine_given[4].3), ("Consumer", 1));
            assert!(engine_given[4].2.contains(&"given.at.start=1".to_owned()));
            assert_eq!((engine_given[5].1.as_str(), engine_given[5].3), ("Client", 1));
            assert_eq!(engine_given[5].2, ["given.at.start=2"]);
            // The user's processor was given the record-only span too.
            assert!(engine.processed.contains(&"record_only".to_owned()), "{:?}", engine.processed);
            // Record-only: recording inside, not sampled; its child follows
            // the unsampled parent and is dropped.
            let record_only = engine.inside.iter().find(|i| i.name == "record_only").unwrap();
            assert!(record_only.recording && !record_only.sampled);
            // Only sampled spans reach the exporter: not the record-only one.
            assert!(engine.kept.iter().all(|k| k.sampled), "{:?}", engine.kept);
            assert_eq!(names(&engine), ["inner", "linked_server", "manual", "manual_root", "outer", "raw", "raw_root"]);
        } else {
            assert!(engine_given.is_empty(), "a parent-based root sampler is not asked under a parent");
        }
    }
}
