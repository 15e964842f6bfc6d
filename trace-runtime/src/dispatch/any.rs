//! One tracer and one span type over the three places spans can go: our own
//! SDK provider (fast, no boxing), a provider the user installed globally, or
//! nowhere.

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::global::{BoxedSpan, BoxedTracer};
use opentelemetry::trace::noop::{NoopSpan, NoopTracer};
use opentelemetry::trace::{SpanBuilder, SpanContext, Status, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SdkTracer, Span as SdkSpan};

use crate::engine::{EngineSpan, EngineTracer};

/// A tracer from whichever provider is in charge.
#[derive(Debug)]
pub(crate) enum AnyTracer {
    /// traced's own engine (`init()` owns the provider).
    Own(EngineTracer),
    Sdk(SdkTracer),
    Global(BoxedTracer),
    Noop(NoopTracer),
}

/// The span made by an [`AnyTracer`].
// The engine's variant is the hot one and is moved into the context right
// away; boxing it would cost an allocation per span.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum AnySpan {
    Own(EngineSpan),
    /// Boxed: the SDK's span is several times the size of the engine's, and
    /// every span of either kind is moved a few times on its way into the
    /// context (captures and user-installed providers pay one allocation).
    Sdk(Box<SdkSpan>),
    Global(BoxedSpan),
    Noop(NoopSpan),
}

impl AnyTracer {
    pub(crate) fn build(&self, builder: SpanBuilder, parent: &Context) -> AnySpan {
        match self {
            AnyTracer::Own(t) => AnySpan::Own(t.build(builder, parent)),
            AnyTracer::Sdk(t) => AnySpan::Sdk(Box::new(t.build_with_context(builder, parent))),
            AnyTracer::Global(t) => AnySpan::Global(t.build_with_context(builder, parent)),
            AnyTracer::Noop(t) => AnySpan::Noop(t.build_with_context(builder, parent)),
        }
    }
}

macro_rules! each_span {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnySpan::Own($s) => $e,
            AnySpan::Sdk($s) => $e,
            AnySpan::Global($s) => $e,
            AnySpan::Noop($s) => $e,
        }
    };
}

impl opentelemetry::trace::Span for AnySpan {
    fn add_event_with_timestamp<T>(&mut self, name: T, timestamp: SystemTime, attributes: Vec<KeyValue>)
    where
        T: Into<Cow<'static, str>>,
    {
        each_span!(self, s => s.add_event_with_timestamp(name, timestamp, attributes))
    }

    fn span_context(&self) -> &SpanContext {
        each_span!(self, s => s.span_context())
    }

    fn is_recording(&self) -> bool {
        each_span!(self, s => s.is_recording())
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        each_span!(self, s => s.set_attribute(attribute))
    }

    fn set_attributes(&mut self, attributes: impl IntoIterator<Item = KeyValue>) {
        each_span!(self, s => s.set_attributes(attributes))
    }

    fn set_status(&mut self, status: Status) {
        each_span!(self, s => s.set_status(status))
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        each_span!(self, s => s.update_name(new_name))
    }

    fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        each_span!(self, s => s.add_link(span_context, attributes))
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        each_span!(self, s => s.end_with_timestamp(timestamp))
    }
}
