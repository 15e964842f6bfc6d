//! Which provider a new span goes to, decided in a few nanoseconds.
//!
//! `WORD` says whether anything is installed (its low byte, the mode) and how
//! many test captures are open (the rest), so that the check a traced call
//! makes when nothing is installed is one load and one compare. The mode
//! starts `UNRESOLVED`; the
//! first span (or `init()`, or a test capture) resolves it once under a lock:
//! it probes the global provider, and puts a [`router::Router`] in the global
//! slot so that raw OpenTelemetry spans follow the same rules as traced ones.
//! When the user later replaces the global provider, the router's `Drop` sets
//! the mode back to `UNRESOLVED`. Each thread caches the current target and
//! refreshes it when `GENERATION` moves, so the span path takes no lock.

mod any;
mod redirect;
mod rooted;
mod router;

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use opentelemetry::global::{self, GlobalTracerProvider};
use opentelemetry::trace::{
    SpanBuilder, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer, TracerProvider,
};
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

pub(crate) use any::{AnySpan, AnyTracer};
pub(crate) use redirect::Redirect;
#[cfg(feature = "testing")]
pub(crate) use redirect::{Claims, RedirectScope};
pub(crate) use rooted::RootedSpan;
use router::{Destination, Router};

use crate::engine::{Engine, EngineTracer};

const UNRESOLVED: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

/// Low byte: the mode (`UNRESOLVED`, `OFF`, `ON`) and [`METRICS_ON`]. Above
/// it: the number of open redirects (test captures), in units of
/// [`REDIRECT_ONE`].
static WORD: AtomicU32 = AtomicU32::new(UNRESOLVED as u32);
/// The RED metrics of `#[traced]` are on: a traced call has work to do even
/// with no provider, so [`nothing_to_do`] reads it in the same load.
const METRICS_ON: u32 = 0x80;
/// The published target's sampler drops every span under a sampled-out
/// parent ([`Sampling::follows_parent`]).
static FOLLOWS_PARENT: AtomicBool = AtomicBool::new(false);
/// One open redirect in [`WORD`].
const REDIRECT_ONE: u32 = 1 << 8;
const MODE_MASK: u32 = 0x7F;
static GENERATION: AtomicU64 = AtomicU64::new(1);
/// Id of the router we last put in the global slot (0: none of ours is there).
static ROUTER_ID: AtomicU64 = AtomicU64::new(0);
static NEXT_ROUTER_ID: AtomicU64 = AtomicU64::new(1);

static STATE: Mutex<State> = Mutex::new(State { own: None, wrapped: None, own_sampling: Sampling::ASK });
static TARGET: RwLock<Option<Arc<Target>>> = RwLock::new(None);

thread_local! {
    static CACHE: RefCell<Option<(u64, Arc<Target>)>> = const { RefCell::new(None) };
}

struct State {
    /// The provider `init()` installed, with its resource's service name
    /// and the engine that owns its spans.
    own: Option<(SdkTracerProvider, Arc<str>, Option<Arc<Engine>>)>,
    /// The user's global provider that our router forwards to, if any.
    wrapped: Option<GlobalTracerProvider>,
    /// What is known of the sampler of `own` ([`install_own_sampled`]).
    own_sampling: Sampling,
}

/// Where traced spans go: a tracer and the service name of its resource.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) tracer: AnyTracer,
    pub(crate) service: Option<Arc<str>>,
    pub(crate) sampling: Sampling,
}

/// What the target's sampler is known to decide without being asked, so that
/// a span it would drop can skip the SDK (ids, sampler call, span object).
/// Only `init()`'s own provider declares it; anything else is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sampling {
    /// A span under a sampled-out parent is sampled out (parent-based, always-off).
    pub(crate) follows_parent: bool,
    /// A span with no parent is sampled out (always-off).
    pub(crate) drops_roots: bool,
}

impl Sampling {
    /// Nothing known: ask the sampler every time.
    pub(crate) const ASK: Sampling = Sampling { follows_parent: false, drops_roots: false };

    /// What `sampler` decides on its own. Other samplers (custom ones, the
    /// Jaeger remote one) may look at anything, so they are always asked.
    pub(crate) fn of(sampler: &Sampler) -> Sampling {
        match sampler {
            Sampler::AlwaysOff => Sampling { follows_parent: true, drops_roots: true },
            // Its root sampler is a `dyn ShouldSample`: roots are asked.
            Sampler::ParentBased(_) => Sampling { follows_parent: true, drops_roots: false },
            _ => Sampling::ASK,
        }
    }
}

/// The instrumentation scope of every span `traced` starts.
pub(crate) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("trace-runtime").with_version(env!("CARGO_PKG_VERSION")).build()
}

/// True when a span started now would go nowhere: the one check a traced call
/// makes when nothing is installed (mode `OFF` and no capture open).
#[inline(always)]
pub(crate) fn is_off() -> bool {
    WORD.load(Ordering::Relaxed) & !METRICS_ON == OFF as u32
}

/// True when a traced call has nothing to do: no span would go anywhere
/// ([`is_off`]) and the RED metrics are off. One relaxed load and one
/// compare, the whole cost of a traced call when nothing is installed.
#[inline(always)]
pub(crate) fn nothing_to_do() -> bool {
    WORD.load(Ordering::Relaxed) == OFF as u32
}

/// Turns the RED metrics' part of [`nothing_to_do`] on or off.
pub(crate) fn set_metrics_on(on: bool) {
    if on {
        WORD.fetch_or(METRICS_ON, Ordering::AcqRel);
    } else {
        WORD.fetch_and(!METRICS_ON, Ordering::AcqRel);
    }
}

#[inline]
fn mode(order: Ordering) -> u8 {
    (WORD.load(order) & MODE_MASK) as u8
}

fn set_mode(mode: u8) {
    // Keeps the redirect count; the closure never fails.
    let _ = WORD.fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| Some((word & !MODE_MASK) | u32::from(mode)));
}

/// True when the sampler is known to drop a span started now under the
/// current context: its span is sampled out (and records nothing) and the
/// sampler follows the parent. A sync traced function then runs its body
/// as a plain call. One relaxed load unless the sampler was declared.
#[inline]
pub(crate) fn drops_under_current() -> bool {
    if !FOLLOWS_PARENT.load(Ordering::Relaxed) || any_redirect() {
        return false;
    }
    Context::map_current(|cx| {
        let span = cx.span();
        let sc = span.span_context();
        sc.is_valid() && !sc.is_sampled() && !span.is_recording()
    })
}

/// The global-tag scope of the test capture the current context belongs to:
/// `set_global_tag` inside a capture changes that capture's spans only.
pub(crate) fn current_tag_scope() -> Option<Arc<crate::tags::ScopedTags>> {
    if !any_redirect() {
        return None;
    }
    Context::map_current(|cx| Redirect::find(cx).map(|redirect| Arc::clone(redirect.tags())))
}

/// Counts a redirect as open (`true`) or closed.
pub(super) fn count_redirect(open: bool) {
    if open {
        WORD.fetch_add(REDIRECT_ONE, Ordering::AcqRel);
    } else {
        WORD.fetch_sub(REDIRECT_ONE, Ordering::AcqRel);
    }
}

/// True while a test capture is open somewhere in the process.
#[inline]
pub(super) fn any_redirect() -> bool {
    WORD.load(Ordering::Relaxed) >= REDIRECT_ONE
}

/// Runs `f` with the tracer a span under `parent` should use, or returns
/// `None` when nothing would record it.
#[inline]
pub(crate) fn with_tracer<R>(parent: &Context, f: impl FnOnce(&AnyTracer, Option<&Arc<str>>) -> R) -> Option<R> {
    with_target(parent, |tracer, service, _| f(tracer, service))
}

/// [`with_tracer`], also passing what is known of the sampler's decisions.
// Inlined so that `f`, which carries the whole span description, is not
// moved (copied) through each call on the way.
#[inline(always)]
pub(crate) fn with_target<R>(
    parent: &Context,
    f: impl FnOnce(&AnyTracer, Option<&Arc<str>>, Sampling) -> R,
) -> Option<R> {
    if let Some(redirect) = Redirect::find(parent) {
        let tracer = AnyTracer::Sdk(redirect.tracer().clone());
        // The capture's own global tags, for the span built in `f`.
        return Some(crate::tags::building_in(redirect.tags(), || f(&tracer, redirect.service(), Sampling::ASK)));
    }
    let mut mode = mode(Ordering::Acquire);
    if mode == UNRESOLVED {
        resolve();
        mode = self::mode(Ordering::Acquire);
    }
    if mode != ON {
        return None;
    }
    with_current_target(f)
}

/// Runs `f` with this thread's cached target, borrowed in place: cloning the
/// `Arc` would make every span on every thread touch one shared reference
/// count. The borrow is shared, so spans started inside `f` (attribute
/// expressions calling traced functions) borrow it again; the cache is only
/// refreshed when nothing borrows it, else the shared slot is read.
#[inline(always)]
fn with_current_target<R>(f: impl FnOnce(&AnyTracer, Option<&Arc<str>>, Sampling) -> R) -> Option<R> {
    let generation = GENERATION.load(Ordering::Acquire);
    let mut f = Some(f);
    let cached = CACHE.try_with(|cache| {
        if let Ok(cached) = cache.try_borrow() {
            if let Some((g, target)) = &*cached {
                if *g == generation {
                    return f.take().map(|f| f(&target.tracer, target.service.as_ref(), target.sampling));
                }
            }
        }
        if let Ok(mut stale) = cache.try_borrow_mut() {
            let target = TARGET.read().unwrap_or_else(PoisonError::into_inner).clone();
            *stale = target.map(|target| (generation, target));
        }
        let cached = cache.try_borrow().ok()?;
        match &*cached {
            Some((g, target)) if *g == generation => {
                f.take().map(|f| f(&target.tracer, target.service.as_ref(), target.sampling))
            }
            _ => None,
        }
    });
    if let Ok(Some(out)) = cached {
        return Some(out);
    }
    // No usable cache (thread exiting, or refreshed under a borrow): the slot.
    let f = f?;
    let target = TARGET.read().unwrap_or_else(PoisonError::into_inner).clone()?;
    Some(f(&target.tracer, target.service.as_ref(), target.sampling))
}

/// Makes sure our router is in the global slot (a capture needs it to see raw spans).
pub(crate) fn ensure_router() {
    if mode(Ordering::Acquire) == UNRESOLVED {
        resolve();
    }
}

fn resolve() {
    let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
    if mode(Ordering::Acquire) != UNRESOLVED {
        return;
    }
    match &state.own {
        // The user replaced the global provider after `init()`: traced spans
        // stay with ours, raw spans go where the user said.
        Some((provider, service, engine)) => {
            publish(Some(Target {
                tracer: own_tracer(provider, engine.as_ref()),
                service: Some(Arc::clone(service)),
                sampling: state.own_sampling,
            }));
        }
        None => {
            let previous = global::tracer_provider();
            let destination = if is_noop(&previous) { Destination::Nowhere } else { Destination::Foreign(previous) };
            install_router(&mut state, destination);
        }
    }
}

/// Puts a router for `destination` in the global slot and publishes the target.
fn install_router(state: &mut State, destination: Destination) {
    let target = match &destination {
        Destination::Nowhere => None,
        Destination::Own(provider, engine) => Some(Target {
            tracer: own_tracer(provider, engine.as_ref()),
            service: state.own.as_ref().map(|(_, s, _)| Arc::clone(s)).or_else(|| Some(resource_service(provider))),
            sampling: state.own_sampling,
        }),
        Destination::Foreign(_) => {
            Some(Target { tracer: destination.tracer(scope()), service: None, sampling: Sampling::ASK })
        }
    };
    state.wrapped = match &destination {
        Destination::Foreign(p) => Some(p.clone()),
        _ => None,
    };
    let id = NEXT_ROUTER_ID.fetch_add(1, Ordering::Relaxed);
    // Set the id first: replacing the old router runs its Drop, which must see
    // that it is no longer the current one.
    ROUTER_ID.store(id, Ordering::Release);
    global::set_tracer_provider(Router { id, destination });
    publish(target);
}

fn publish(target: Option<Target>) {
    let on = target.is_some();
    FOLLOWS_PARENT.store(target.as_ref().is_some_and(|t| t.sampling.follows_parent), Ordering::Release);
    *TARGET.write().unwrap_or_else(PoisonError::into_inner) = target.map(Arc::new);
    GENERATION.fetch_add(1, Ordering::AcqRel);
    set_mode(if on { ON } else { OFF });
    // This thread's cache may hold the old target, and through it an engine
    // whose hand-off slots stay allocated while anything holds it: drop it
    // now (other threads replace theirs at their next span).
    let _ = CACHE.try_with(|cache| cache.try_borrow_mut().map(|mut cache| cache.take()));
}

pub(super) fn router_dropped(id: u64) {
    if ROUTER_ID.compare_exchange(id, 0, Ordering::AcqRel, Ordering::Acquire).is_ok() {
        FOLLOWS_PARENT.store(false, Ordering::Release);
        GENERATION.fetch_add(1, Ordering::AcqRel);
        set_mode(UNRESOLVED);
    }
}

/// Makes `provider` the destination of every traced and raw span.
/// Returns false when a provider is already installed by `init()`.
/// Makes `provider`, built with `sampler`, the destination of every traced
/// and raw span; returns false when one is already installed by `init()`.
/// Spans the sampler is known to drop (under a sampled-out parent with a
/// parent-based sampler; everything with always-off) skip the SDK and cost
/// next to nothing.
pub(crate) fn install_own_sampled(provider: SdkTracerProvider, service: Arc<str>, sampler: &Sampler) -> bool {
    install_own_with(provider, service, Sampling::of(sampler), None)
}

/// [`install_own_sampled`], with `engine` owning every span that goes to
/// `provider` (traced's and raw ones): the provider only sees them at export.
pub(crate) fn install_own_engine(
    provider: SdkTracerProvider,
    service: Arc<str>,
    sampler: &Sampler,
    engine: Arc<Engine>,
) -> bool {
    install_own_with(provider, service, Sampling::of(sampler), Some(engine))
}

/// The tracer of traced's own spans on `init()`'s provider.
fn own_tracer(provider: &SdkTracerProvider, engine: Option<&Arc<Engine>>) -> AnyTracer {
    match engine {
        Some(engine) => AnyTracer::Own(EngineTracer::new(engine, None)),
        None => AnyTracer::Sdk(provider.tracer_with_scope(scope())),
    }
}

/// The engine of the provider `init()` installed, if any.
pub(crate) fn own_engine() -> Option<Arc<Engine>> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner).own.as_ref().and_then(|(_, _, engine)| engine.clone())
}

fn install_own_with(
    provider: SdkTracerProvider,
    service: Arc<str>,
    sampling: Sampling,
    engine: Option<Arc<Engine>>,
) -> bool {
    let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
    if state.own.is_some() {
        return false;
    }
    state.own_sampling = sampling;
    // Remember what the user had, to restore it on shutdown.
    let wrapped = if ROUTER_ID.load(Ordering::Acquire) != 0 {
        state.wrapped.take()
    } else {
        let previous = global::tracer_provider();
        (!is_noop(&previous)).then_some(previous)
    };
    state.own = Some((provider.clone(), service, engine.clone()));
    install_router(&mut state, Destination::Own(provider, engine));
    state.wrapped = wrapped;
    true
}

/// Undoes [`install_own_sampled`]: the global slot goes back to what the
/// user had. Returns the engine that owned the spans, for the caller to
/// deliver what it holds.
pub(crate) fn uninstall_own() -> Option<Arc<Engine>> {
    let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
    let (_, _, engine) = state.own.take()?;
    state.own_sampling = Sampling::ASK;
    let destination = match state.wrapped.take() {
        Some(previous) => Destination::Foreign(previous),
        None => Destination::Nowhere,
    };
    install_router(&mut state, destination);
    engine
}

/// The resource's `service.name` of an SDK provider we did not configure.
fn resource_service(_provider: &SdkTracerProvider) -> Arc<str> {
    Arc::from("unknown_service")
}

/// True when `provider` is OpenTelemetry's no-op provider.
///
/// The no-op tracer hands back its parent's span context unchanged, while an
/// SDK tracer under a telemetry-suppressed context returns an empty one and
/// records nothing. So the probe never produces a span anywhere.
fn is_noop(provider: &GlobalTracerProvider) -> bool {
    let probe = SpanContext::new(
        TraceId::from(0x7472_6163_6564_5f70_726f_6265_0000_0001_u128),
        SpanId::from(0x7472_6163_6564_0001_u64),
        TraceFlags::NOT_SAMPLED,
        true,
        TraceState::default(),
    );
    let cx = Context::new().with_remote_span_context(probe.clone()).with_telemetry_suppressed();
    let tracer = provider.tracer_with_scope(scope());
    let span = tracer.build_with_context(SpanBuilder::from_name("trace-runtime.probe"), &cx);
    opentelemetry::trace::Span::span_context(&span) == &probe
}
