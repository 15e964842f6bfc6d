//! The provider `traced` places in OpenTelemetry's global slot.
//!
//! It forwards raw `opentelemetry::global::tracer(..)` spans to whichever
//! provider is in charge (ours after `init()`, else the one the user had
//! installed), sends them to a test capture when one is active, and adds the
//! global tags. Its `Drop` is how we learn, for free, that the user replaced
//! the global provider: the span path then re-checks what is installed instead
//! of polling the global lock on every call.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::global::GlobalTracerProvider;
use opentelemetry::trace::noop::NoopTracer;
use opentelemetry::trace::{SpanBuilder, Tracer, TracerProvider};
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::trace::SdkTracerProvider;

use super::any::AnyTracer;
use super::redirect::Redirect;
use super::RootedSpan;
use crate::engine::{Engine, EngineTracer};
use crate::tags;

/// Where the router sends spans that no capture claims.
#[derive(Debug, Clone)]
pub(crate) enum Destination {
    /// `init()`'s provider, with the engine that owns its spans.
    Own(SdkTracerProvider, Option<Arc<Engine>>),
    Foreign(GlobalTracerProvider),
    Nowhere,
}

impl Destination {
    pub(crate) fn tracer(&self, scope: InstrumentationScope) -> AnyTracer {
        match self {
            // Raw spans keep their own instrumentation scope at export.
            Destination::Own(_, Some(engine)) => AnyTracer::Own(EngineTracer::new(engine, Some(Arc::new(scope)))),
            Destination::Own(p, None) => AnyTracer::Sdk(p.tracer_with_scope(scope)),
            Destination::Foreign(p) => AnyTracer::Global(p.tracer_with_scope(scope)),
            Destination::Nowhere => AnyTracer::Noop(NoopTracer::new()),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Router {
    pub(crate) id: u64,
    pub(crate) destination: Destination,
}

impl TracerProvider for Router {
    type Tracer = RouterTracer;

    fn tracer_with_scope(&self, scope: InstrumentationScope) -> RouterTracer {
        RouterTracer { inner: self.destination.tracer(scope.clone()), scope }
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        // Runs inside `set_tracer_provider`, under the global lock: atomics only.
        super::router_dropped(self.id);
    }
}

#[derive(Debug)]
pub(crate) struct RouterTracer {
    inner: AnyTracer,
    scope: InstrumentationScope,
}

impl Tracer for RouterTracer {
    type Span = RootedSpan;

    fn build_with_context(&self, mut builder: SpanBuilder, parent_cx: &Context) -> RootedSpan {
        let span = match Redirect::find(parent_cx) {
            Some(redirect) => {
                // The capture's own global tags, not the process-wide ones.
                tags::building_in(redirect.tags(), || tags::append_to(builder.attributes.get_or_insert_with(Vec::new)));
                let name: Cow<'static, str> = Cow::Owned(self.scope.name().to_owned());
                let scope = InstrumentationScope::builder(name).build();
                redirect.tracer_for(scope).build(builder, parent_cx)
            }
            None => {
                tags::append_to(builder.attributes.get_or_insert_with(Vec::new));
                self.inner.build(builder, parent_cx)
            }
        };
        // A raw local root is written down too, so that traced spans under
        // it find it (the engine's spans do that themselves).
        RootedSpan::under(span, parent_cx)
    }
}
