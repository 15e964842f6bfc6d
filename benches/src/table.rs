//! Every benchmark case, as one table: scenarios × peers. A scenario is
//! defined once ([`SCENARIOS`]: its sampler, its tags, the function each
//! peer runs); how a peer is installed and removed is defined once
//! ([`install`]). `benches/span_cost.rs` (criterion), `src/bin/profile.rs`
//! (callgrind) and `benches/report` all take their cases from here.

use opentelemetry::global::BoxedTracer;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};

use crate::cases::{fastrace as ft, raw, traced, tracing as tr, work, CHILDREN};
use crate::export::NullExporter;
use crate::setup::{self, sampled, set_five_tags, TracingLayer, TracingOtel};

/// What a scenario installs (for every peer that installs anything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// Nothing installed anywhere: what a library pays when the
    /// application enabled nothing. Runs before anything is installed.
    Nothing,
    /// Installed, and the sampler drops every span (always off).
    Dropped,
    /// Installed with the default sampler (parent-based, always on).
    Sampled,
}

impl Sampling {
    fn sampler(self) -> Sampler {
        match self {
            Sampling::Dropped | Sampling::Nothing => Sampler::AlwaysOff,
            Sampling::Sampled => sampled(),
        }
    }
}

/// Who makes the span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// The body alone.
    Plain,
    /// `#[traced]` through `init()`.
    Traced,
    /// `#[traced]` with the scenario's global tags not set (same group).
    TracedNoTags,
    /// Raw OpenTelemetry API spans through traced's global slot.
    TracedRaw,
    /// A `#[traced]` span whose context raw OpenTelemetry calls read.
    TracedCtx,
    /// The raw SDK's `in_span`, default batch processor.
    Raw,
    /// The raw SDK with the `code.*` attributes `#[traced]` records.
    RawCode,
    /// tracing's `#[instrument]`, no subscriber.
    Tracing,
    /// tracing + tracing-opentelemetry on its own SDK provider.
    TracingOtel,
    /// tracing + `trace_runtime::tracing_layer()`.
    TracingLayer,
    /// fastrace.
    Fastrace,
}

impl Peer {
    /// The case id's second half (`scenario/peer`).
    pub fn id(self) -> &'static str {
        match self {
            Peer::Plain => "plain",
            Peer::Traced => "traced",
            Peer::TracedNoTags => "traced_no_tags",
            Peer::TracedRaw => "traced_raw",
            Peer::TracedCtx => "traced_ctx",
            Peer::Raw => "raw",
            Peer::RawCode => "raw_code",
            Peer::Tracing => "tracing",
            Peer::TracingOtel => "tracing_otel",
            Peer::TracingLayer => "tracing_layer",
            Peer::Fastrace => "fastrace",
        }
    }
}

/// What a case function gets: the tracers its peer installed.
#[derive(Debug)]
pub struct Env {
    raw: Option<SdkTracer>,
    /// OpenTelemetry's global tracer (traced's router once installed, the
    /// no-op tracer before).
    pub global: BoxedTracer,
}

impl Env {
    /// The raw SDK tracer of a `Raw`/`RawCode` peer.
    pub fn raw(&self) -> &SdkTracer {
        self.raw.as_ref().expect("only raw peers use the raw tracer, and they install one")
    }
}

/// One call of a case.
pub type CaseFn = fn(&Env, u64) -> u64;

/// A scenario: what is installed and what each peer runs.
#[derive(Debug)]
pub struct Scenario {
    /// The case id's first half.
    pub name: &'static str,
    /// What is installed.
    pub sampling: Sampling,
    /// Five global tags are set for the `traced` peer (raw peers get the
    /// same attributes on their builders).
    pub tags: bool,
    /// Each peer's function, in run order.
    pub cases: &'static [(Peer, CaseFn)],
}

fn on<F: std::future::Future<Output = u64>>(f: F) -> u64 {
    crate::block_on(f)
}

/// Every scenario, in run order (`off` first: see [`Sampling::Nothing`]).
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "off",
        sampling: Sampling::Nothing,
        tags: false,
        cases: &[
            (Peer::Plain, |_, x| work(x)),
            (Peer::Raw, |e, x| raw::root(&e.global, x)),
            (Peer::Tracing, |_, x| tr::root(x)),
            (Peer::Fastrace, |_, x| ft::traced(x)),
            (Peer::Traced, |_, x| traced::root(x)),
        ],
    },
    Scenario {
        name: "sampled_out",
        sampling: Sampling::Dropped,
        tags: false,
        cases: &[
            (Peer::Traced, |_, x| traced::root(x)),
            (Peer::Raw, |e, x| raw::root(e.raw(), x)),
            (Peer::RawCode, |e, x| raw::root_code(e.raw(), x)),
            (Peer::TracingOtel, |_, x| tr::root(x)),
            (Peer::TracingLayer, |_, x| tr::root(x)),
            (Peer::Fastrace, |_, x| ft::root_unsampled(x)),
        ],
    },
    Scenario {
        name: "sampled",
        sampling: Sampling::Sampled,
        tags: false,
        cases: &[
            (Peer::Plain, |_, x| work(x)),
            (Peer::Traced, |_, x| traced::root(x)),
            (Peer::TracedRaw, |e, x| raw::root(&e.global, x)),
            (Peer::TracedCtx, |_, x| traced::reads_context(x)),
            (Peer::Raw, |e, x| raw::root(e.raw(), x)),
            (Peer::RawCode, |e, x| raw::root_code(e.raw(), x)),
            (Peer::TracingOtel, |_, x| tr::root(x)),
            (Peer::TracingLayer, |_, x| tr::root(x)),
            (Peer::Fastrace, |_, x| ft::root(x)),
        ],
    },
    Scenario {
        name: "attrs3",
        sampling: Sampling::Sampled,
        tags: false,
        cases: &[
            (Peer::Traced, |_, x| traced::attrs3(x)),
            (Peer::Raw, |e, x| raw::attrs3(e.raw(), x)),
            (Peer::RawCode, |e, x| raw::attrs3_code(e.raw(), x)),
            (Peer::TracingOtel, |_, x| tr::attrs3(x)),
            (Peer::TracingLayer, |_, x| tr::attrs3(x)),
            (Peer::Fastrace, |_, x| ft::attrs3(x)),
        ],
    },
    Scenario {
        name: "tags5",
        sampling: Sampling::Sampled,
        tags: true,
        cases: &[
            (Peer::TracedNoTags, |_, x| traced::root(x)),
            (Peer::Traced, |_, x| traced::root(x)),
            (Peer::Raw, |e, x| raw::tags5(e.raw(), x)),
            (Peer::RawCode, |e, x| raw::tags5_code(e.raw(), x)),
        ],
    },
    Scenario {
        name: "async",
        sampling: Sampling::Sampled,
        tags: false,
        cases: &[
            (Peer::Plain, |_, x| on(async move { work(x) })),
            (Peer::Traced, |_, x| on(traced::run_async(x))),
            (Peer::Raw, |e, x| on(raw::run_async(e.raw(), x))),
            (Peer::TracingOtel, |_, x| on(tr::run_async(x))),
            (Peer::TracingLayer, |_, x| on(tr::run_async(x))),
            (Peer::Fastrace, |_, x| on(ft::run_async(x))),
        ],
    },
    // A parent with CHILDREN children: the report derives one child's cost
    // as (nested - sampled) / CHILDREN.
    Scenario {
        name: "nested",
        sampling: Sampling::Sampled,
        tags: false,
        cases: &[
            (Peer::Traced, |_, x| traced::parent(x)),
            (Peer::Raw, |e, x| raw::parent(e.raw(), x)),
            (Peer::RawCode, |e, x| raw::parent_code(e.raw(), x)),
            (Peer::TracingOtel, |_, x| tr::parent(x)),
            (Peer::TracingLayer, |_, x| tr::parent(x)),
            (Peer::Fastrace, |_, x| ft::parent(x)),
        ],
    },
    // Where knowing the sampler pays most: a parent-based or always-off
    // sampler drops every child of a dropped parent.
    Scenario {
        name: "nested_out",
        sampling: Sampling::Dropped,
        tags: false,
        cases: &[
            (Peer::Traced, |_, x| traced::parent(x)),
            (Peer::Raw, |e, x| raw::parent(e.raw(), x)),
            (Peer::RawCode, |e, x| raw::parent_code(e.raw(), x)),
        ],
    },
];

/// Spans per call of a scenario (a nested call makes a parent and its children).
pub fn spans_per_call(scenario: &Scenario) -> u64 {
    if scenario.name.starts_with("nested") {
        1 + CHILDREN
    } else {
        1
    }
}

/// Every case id, `scenario/peer`, in run order.
pub fn case_ids() -> impl Iterator<Item = String> {
    SCENARIOS.iter().flat_map(|s| s.cases.iter().map(move |(peer, _)| format!("{}/{}", s.name, peer.id())))
}

/// The scenario and function of a case id.
pub fn find(id: &str) -> Option<(&'static Scenario, Peer, CaseFn)> {
    let (scenario, peer) = id.split_once('/')?;
    let scenario = SCENARIOS.iter().find(|s| s.name == scenario)?;
    let (peer, f) = scenario.cases.iter().find(|(p, _)| p.id() == peer)?;
    Some((scenario, *peer, *f))
}

/// What a peer installed for a scenario; [`Installed::finish`] removes it.
#[derive(Debug)]
pub struct Installed {
    /// The tracers the case function uses.
    pub env: Env,
    traced: Option<(trace_runtime::Guard, NullExporter)>,
    raw: Option<(SdkTracerProvider, NullExporter)>,
    otel: Option<TracingOtel>,
    layer: Option<TracingLayer>,
}

/// Installs what `peer` needs for `scenario` (nothing under
/// [`Sampling::Nothing`]). fastrace's reporter is process-wide and set once
/// by the caller, after the `off` scenario.
pub fn install(scenario: &Scenario, peer: Peer) -> Installed {
    let installs = scenario.sampling != Sampling::Nothing;
    let sampler = || scenario.sampling.sampler();
    let (mut traced, mut raw, mut otel, mut layer, mut raw_tracer) = (None, None, None, None, None);
    match peer {
        Peer::Traced | Peer::TracedNoTags | Peer::TracedRaw | Peer::TracedCtx if installs => {
            if scenario.tags && peer != Peer::TracedNoTags {
                set_five_tags();
            }
            traced = Some(setup::traced(sampler()));
        }
        Peer::Raw | Peer::RawCode if installs => {
            let (provider, tracer, exporter) = setup::raw(sampler());
            raw_tracer = Some(tracer);
            raw = Some((provider, exporter));
        }
        Peer::TracingOtel if installs => otel = Some(TracingOtel::new(sampler())),
        Peer::TracingLayer if installs => layer = Some(TracingLayer::new(sampler())),
        _ => {}
    }
    // Taken after installing: for traced peers, traced's router.
    let env = Env { raw: raw_tracer, global: opentelemetry::global::tracer("bench") };
    Installed { env, traced, raw, otel, layer }
}

impl Installed {
    /// Removes what was installed; returns how many spans its exporter
    /// received, if it has one.
    pub fn finish(self) -> Option<u64> {
        let Installed { env, traced, raw, otel, layer } = self;
        drop(env);
        let exported = if let Some((guard, exporter)) = traced {
            drop(guard);
            Some(exporter.exported())
        } else if let Some((provider, exporter)) = raw {
            let _ = provider.shutdown();
            Some(exporter.exported())
        } else if let Some(otel) = otel {
            Some(otel.finish())
        } else {
            layer.map(TracingLayer::finish)
        };
        trace_runtime::clear_global_tags();
        exported
    }
}
