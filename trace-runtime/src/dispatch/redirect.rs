//! A context value that sends every span started under it to another provider.
//!
//! This is what makes `testing::capture` isolated: the capture's provider
//! travels in the OpenTelemetry `Context`, so spans started inside the closure
//! (and on threads or tasks that inherited the context) go to it, and spans of
//! a test running next to it do not.

use std::sync::Arc;

use opentelemetry::trace::TracerProvider;
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

use super::any::AnyTracer;

#[derive(Debug)]
pub(crate) struct Redirect {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    service: Option<Arc<str>>,
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
        RedirectScope { redirect: Arc::new(Redirect { provider, tracer, service }) }
    }

    #[inline]
    pub(crate) fn any_active() -> bool {
        super::any_redirect()
    }

    pub(crate) fn find(cx: &Context) -> Option<&Redirect> {
        if !Self::any_active() {
            return None;
        }
        cx.get::<RedirectHandle>().map(|h| &*h.0)
    }

    pub(crate) fn tracer(&self) -> &SdkTracer {
        &self.tracer
    }

    pub(crate) fn service(&self) -> Option<&Arc<str>> {
        self.service.as_ref()
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
}

impl Drop for RedirectScope {
    fn drop(&mut self) {
        super::count_redirect(false);
    }
}
