//! A context value that sends every span started under it to another provider.
//!
//! This is what makes `testing::capture` isolated: the capture's provider
//! travels in the OpenTelemetry `Context`, so spans started inside the closure
//! (and on threads or tasks that inherited the context) go to it, and spans of
//! a test running next to it do not.
//!
//! Some tasks lose the context although their work belongs to the capture: a
//! server started inside it accepts connections on tasks of its own, and only
//! the request's `traceparent` says which trace the work is part of. So a
//! capture also claims the traces it starts, and a span with no capture in its
//! context goes to the capture that claimed its parent's trace.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};

use opentelemetry::trace::{TraceContextExt, TraceId, TracerProvider};
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

use super::any::AnyTracer;
use crate::tags::ScopedTags;

/// Traces started inside an open capture, and the capture they belong to.
static CLAIMS: RwLock<Option<HashMap<TraceId, Weak<Redirect>>>> = RwLock::new(None);
/// How many entries `CLAIMS` holds: 0 (the common case) skips its lock.
static CLAIMED: AtomicUsize = AtomicUsize::new(0);
/// Traces one capture may claim; past it, later traces are not routed by id
/// (their spans still reach the capture through the context).
const MAX_CLAIMS_PER_CAPTURE: usize = 10_000;

#[derive(Debug)]
pub(crate) struct Redirect {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    service: Option<Arc<str>>,
    tags: Arc<ScopedTags>,
    claimed: Mutex<HashSet<TraceId>>,
}

impl Redirect {
    // Only `testing` opens redirects today.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn open(provider: SdkTracerProvider, service: Option<Arc<str>>) -> RedirectScope {
        // Counted in the dispatch word: while any redirect is open, the span
        // path looks for one in the context.
        super::count_redirect(true);
        super::ensure_router();
        let tracer = provider.tracer_with_scope(super::scope());
        let redirect = Redirect { provider, tracer, service, tags: Arc::default(), claimed: Mutex::default() };
        RedirectScope { redirect: Arc::new(redirect) }
    }

    #[inline]
    pub(crate) fn any_active() -> bool {
        super::any_redirect()
    }

    /// The capture a span started under `cx` belongs to: the one in the
    /// context, else the one that claimed the trace of the context's span.
    pub(crate) fn find(cx: &Context) -> Option<Arc<Redirect>> {
        if !Self::any_active() {
            return None;
        }
        if let Some(handle) = cx.get::<RedirectHandle>() {
            return Some(Arc::clone(&handle.0));
        }
        if CLAIMED.load(Ordering::Acquire) == 0 || !cx.has_active_span() {
            return None;
        }
        let trace_id = cx.span().span_context().trace_id();
        let claims = CLAIMS.read().unwrap_or_else(PoisonError::into_inner);
        claims.as_ref()?.get(&trace_id)?.upgrade()
    }

    pub(crate) fn tracer(&self) -> &SdkTracer {
        &self.tracer
    }

    pub(crate) fn service(&self) -> Option<&Arc<str>> {
        self.service.as_ref()
    }

    /// Global tags set inside this capture.
    pub(crate) fn tags(&self) -> &Arc<ScopedTags> {
        &self.tags
    }

    pub(crate) fn tracer_for(&self, scope: InstrumentationScope) -> AnyTracer {
        AnyTracer::Sdk(self.provider.tracer_with_scope(scope))
    }
}

/// The context entry; a newtype so nothing else can collide with its TypeId.
struct RedirectHandle(Arc<Redirect>);

/// Keeps a redirect counted as active; put its context around the work.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
#[derive(Debug)]
pub(crate) struct RedirectScope {
    redirect: Arc<Redirect>,
}

#[cfg_attr(not(feature = "testing"), allow(dead_code))]
impl RedirectScope {
    /// `base` with this redirect added.
    pub(crate) fn context(&self, base: &Context) -> Context {
        base.with_value(RedirectHandle(Arc::clone(&self.redirect)))
    }

    /// A handle that claims traces for this capture (held by its collector,
    /// which sees every span the capture starts).
    pub(crate) fn claims(&self) -> Claims {
        Claims(Arc::downgrade(&self.redirect))
    }
}

impl Drop for RedirectScope {
    fn drop(&mut self) {
        let claimed = std::mem::take(&mut *self.redirect.claimed.lock().unwrap_or_else(PoisonError::into_inner));
        if !claimed.is_empty() {
            let mut claims = CLAIMS.write().unwrap_or_else(PoisonError::into_inner);
            if let Some(map) = claims.as_mut() {
                let me = Arc::as_ptr(&self.redirect);
                for trace_id in &claimed {
                    if map.get(trace_id).is_some_and(|w| std::ptr::eq(w.as_ptr(), me)) {
                        map.remove(trace_id);
                    }
                }
                CLAIMED.store(map.len(), Ordering::Release);
            }
        }
        self.redirect.tags.release();
        super::count_redirect(false);
    }
}

/// Claims traces for one capture; does nothing once the capture is closed.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
#[derive(Debug, Clone)]
pub(crate) struct Claims(Weak<Redirect>);

#[cfg_attr(not(feature = "testing"), allow(dead_code))]
impl Claims {
    /// Routes spans of `trace_id` that lost the context to this capture.
    pub(crate) fn claim(&self, trace_id: TraceId) {
        let Some(redirect) = self.0.upgrade() else { return };
        let mut claimed = redirect.claimed.lock().unwrap_or_else(PoisonError::into_inner);
        if claimed.len() >= MAX_CLAIMS_PER_CAPTURE || !claimed.insert(trace_id) {
            return;
        }
        let mut claims = CLAIMS.write().unwrap_or_else(PoisonError::into_inner);
        let map = claims.get_or_insert_with(HashMap::new);
        map.insert(trace_id, Weak::clone(&self.0));
        CLAIMED.store(map.len(), Ordering::Release);
    }
}
