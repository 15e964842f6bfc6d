//! Which provider a new span goes to, decided in a few nanoseconds.
//!
//! `MODE` says whether anything is installed. It starts `UNRESOLVED`; the
//! first span (or `init()`, or a test capture) resolves it once under a lock:
//! it probes the global provider, and puts a [`router::Router`] in the global
//! slot so that raw OpenTelemetry spans follow the same rules as traced ones.
//! When the user later replaces the global provider, the router's `Drop` sets
//! `MODE` back to `UNRESOLVED`. Each thread caches the current target and
//! refreshes it when `GENERATION` moves, so the span path takes no lock.

mod any;
mod redirect;
mod router;

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use opentelemetry::global::{self, GlobalTracerProvider};
use opentelemetry::trace::{
    SpanBuilder, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer, TracerProvider,
};
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::trace::SdkTracerProvider;

pub(crate) use any::{AnySpan, AnyTracer};
pub(crate) use redirect::Redirect;
#[cfg(feature = "testing")]
pub(crate) use redirect::RedirectScope;
use router::{Destination, Router};

const UNRESOLVED: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(UNRESOLVED);
static GENERATION: AtomicU64 = AtomicU64::new(1);
/// Id of the router we last put in the global slot (0: none of ours is there).
static ROUTER_ID: AtomicU64 = AtomicU64::new(0);
static NEXT_ROUTER_ID: AtomicU64 = AtomicU64::new(1);

static STATE: Mutex<State> = Mutex::new(State { own: None, wrapped: None });
static TARGET: RwLock<Option<Arc<Target>>> = RwLock::new(None);

thread_local! {
    static CACHE: RefCell<Option<(u64, Arc<Target>)>> = const { RefCell::new(None) };
}

struct State {
    /// The provider `init()` installed, with its resource's service name.
    own: Option<(SdkTracerProvider, Arc<str>)>,
    /// The user's global provider that our router forwards to, if any.
    wrapped: Option<GlobalTracerProvider>,
}

/// Where traced spans go: a tracer and the service name of its resource.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) tracer: AnyTracer,
    pub(crate) service: Option<Arc<str>>,
}

/// The instrumentation scope of every span `traced` starts.
pub(crate) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("trace-runtime").with_version(env!("CARGO_PKG_VERSION")).build()
}

/// True when a span started now would go nowhere: the one check a traced call
/// makes when nothing is installed.
#[inline]
pub(crate) fn is_off() -> bool {
    MODE.load(Ordering::Relaxed) == OFF && !Redirect::any_active()
}

/// Runs `f` with the tracer a span under `parent` should use, or returns
/// `None` when nothing would record it.
#[inline]
pub(crate) fn with_tracer<R>(parent: &Context, f: impl FnOnce(&AnyTracer, Option<&Arc<str>>) -> R) -> Option<R> {
    if let Some(redirect) = Redirect::find(parent) {
        let tracer = AnyTracer::Sdk(redirect.tracer().clone());
        return Some(f(&tracer, redirect.service()));
    }
    let mut mode = MODE.load(Ordering::Acquire);
    if mode == UNRESOLVED {
        resolve();
        mode = MODE.load(Ordering::Acquire);
    }
    if mode != ON {
        return None;
    }
    let target = current_target()?;
    Some(f(&target.tracer, target.service.as_ref()))
}

fn current_target() -> Option<Arc<Target>> {
    let generation = GENERATION.load(Ordering::Acquire);
    let cached = CACHE.try_with(|cache| {
        let mut cache = cache.borrow_mut();
        match &*cache {
            Some((g, target)) if *g == generation => Some(Arc::clone(target)),
            _ => {
                let target = TARGET.read().unwrap_or_else(PoisonError::into_inner).clone()?;
                *cache = Some((generation, Arc::clone(&target)));
                Some(target)
            }
        }
    });
    match cached {
        Ok(target) => target,
        Err(_) => TARGET.read().unwrap_or_else(PoisonError::into_inner).clone(),
    }
}

/// Makes sure our router is in the global slot (a capture needs it to see raw spans).
pub(crate) fn ensure_router() {
    if MODE.load(Ordering::Acquire) == UNRESOLVED {
        resolve();
    }
}

fn resolve() {
    let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
    if MODE.load(Ordering::Acquire) != UNRESOLVED {
        return;
    }
    match &state.own {
        // The user replaced the global provider after `init()`: traced spans
        // stay with ours, raw spans go where the user said.
        Some((provider, service)) => {
            publish(Some(Target {
                tracer: AnyTracer::Sdk(provider.tracer_with_scope(scope())),
                service: Some(Arc::clone(service)),
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
        Destination::Own(provider) => Some(Target {
            tracer: destination.tracer(scope()),
            service: state.own.as_ref().map(|(_, s)| Arc::clone(s)).or_else(|| Some(resource_service(provider))),
        }),
        Destination::Foreign(_) => Some(Target { tracer: destination.tracer(scope()), service: None }),
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
    *TARGET.write().unwrap_or_else(PoisonError::into_inner) = target.map(Arc::new);
    GENERATION.fetch_add(1, Ordering::AcqRel);
    MODE.store(if on { ON } else { OFF }, Ordering::Release);
}

pub(super) fn router_dropped(id: u64) {
    if ROUTER_ID.compare_exchange(id, 0, Ordering::AcqRel, Ordering::Acquire).is_ok() {
        GENERATION.fetch_add(1, Ordering::AcqRel);
        MODE.store(UNRESOLVED, Ordering::Release);
    }
}

/// Makes `provider` the destination of every traced and raw span.
/// Returns false when a provider is already installed by `init()`.
pub(crate) fn install_own(provider: SdkTracerProvider, service: Arc<str>) -> bool {
    let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
    if state.own.is_some() {
        return false;
    }
    // Remember what the user had, to restore it on shutdown.
    let wrapped = if ROUTER_ID.load(Ordering::Acquire) != 0 {
        state.wrapped.take()
    } else {
        let previous = global::tracer_provider();
        (!is_noop(&previous)).then_some(previous)
    };
    state.own = Some((provider.clone(), service));
    install_router(&mut state, Destination::Own(provider));
    state.wrapped = wrapped;
    true
}

/// Undoes [`install_own`]: the global slot goes back to what the user had.
pub(crate) fn uninstall_own() {
    let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
    if state.own.take().is_none() {
        return;
    }
    let destination = match state.wrapped.take() {
        Some(previous) => Destination::Foreign(previous),
        None => Destination::Nowhere,
    };
    install_router(&mut state, destination);
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
