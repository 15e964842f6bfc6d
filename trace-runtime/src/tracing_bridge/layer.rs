//! The `tracing_subscriber::Layer`: a `tracing` span becomes a span started
//! through traced's own span path ([`start_span_or_skip`]), kept in the registry's
//! extensions, current (in OpenTelemetry's `Context`) while the `tracing`
//! span is entered, ended when it closes.

use opentelemetry::trace::{SpanKind, TraceContextExt};
use opentelemetry::{Context, Key, KeyValue};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Subscriber};
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::fields::{Overrides, SpanFields, Typed};
use super::{entered, events};
use crate::dispatch;
use crate::span::start::{start_span_or_skip, SpanSpec, Started};

/// A [`tracing_subscriber::Layer`] that turns `tracing` spans and events into
/// spans and span events of the current trace; made by
/// [`tracing_layer`](crate::tracing_layer), which documents what it records.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let subscriber = tracing_subscriber::registry().with(trace_runtime::TracingLayer::default());
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info_span!("load").in_scope(|| tracing::info!("loaded"));
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingLayer {
    _private: (),
}

/// The OpenTelemetry side of one `tracing` span, in its extensions.
struct Bridged {
    /// The context holding the span: made current on enter.
    cx: Context,
    /// False when the sampler was known to drop the span and `cx` is its
    /// (sampled-out) parent's: nothing of ours to end.
    owned: bool,
}

impl<S> Layer<S> for TracingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        // Nothing installed, or inside an exporter (its HTTP client's own
        // `tracing` spans must not become spans to export).
        if dispatch::is_off() || Context::is_current_telemetry_suppressed() {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let (parent, new_trace) = parent_of(attrs, &ctx);
        let meta = attrs.metadata();
        let mut attributes = Vec::with_capacity(3 + meta.fields().len());
        if let Some(file) = meta.file() {
            attributes.push(KeyValue::new(Key::from_static_str("code.file.path"), file));
        }
        if let Some(line) = meta.line() {
            attributes.push(KeyValue::new(Key::from_static_str("code.line.number"), i64::from(line)));
        }
        if let Some(module) = meta.module_path() {
            attributes.push(KeyValue::new(Key::from_static_str("code.module.name"), module));
        }
        let mut fields = SpanFields { attributes: &mut attributes, overrides: Overrides::default() };
        attrs.record(&mut Typed(&mut fields));
        let overrides = fields.overrides;
        let mut spec = SpanSpec::new(meta.name());
        if let Some(name) = &overrides.name {
            spec.name = name.clone().into();
        }
        spec.kind = overrides.kind.clone().unwrap_or(SpanKind::Internal);
        spec.attributes = attributes;
        spec.new_trace = new_trace;
        let status = overrides.status();
        let bridged = match start_span_or_skip(spec, &parent, |_| {}) {
            None => return,
            Some(Started::Skipped) => Bridged { cx: parent, owned: false },
            Some(Started::Span(cx)) => {
                if let Some(status) = status {
                    cx.span().set_status(status);
                }
                Bridged { cx, owned: true }
            }
        };
        span.extensions_mut().insert(bridged);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(cx) = context_of(id, &ctx) else { return };
        let span = cx.span();
        if !span.is_recording() {
            return;
        }
        let mut attributes = Vec::new();
        let mut fields = SpanFields { attributes: &mut attributes, overrides: Overrides::default() };
        values.record(&mut Typed(&mut fields));
        let overrides = fields.overrides;
        span.set_attributes(attributes);
        overrides.apply(&span);
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: LayerContext<'_, S>) {
        let (Some(cx), Some(cause)) = (context_of(id, &ctx), context_of(follows, &ctx)) else { return };
        let cause = cause.span().span_context().clone();
        if cause.is_valid() {
            cx.span().add_link(cause, Vec::new());
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        if dispatch::is_off() || Context::is_current_telemetry_suppressed() {
            return;
        }
        if let Some(parent) = event.parent() {
            // An explicit parent: its span, if it is one of ours.
            if let Some(cx) = context_of(parent, &ctx) {
                events::record(event, Some(&cx));
            }
        } else if event.is_contextual() {
            // The span current here, whoever made it current.
            events::record(event, Some(&Context::current()));
        } else {
            // `parent: None`: outside any span, a log record without ids.
            events::record(event, None);
        }
    }

    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        if let Some(cx) = context_of(id, &ctx) {
            entered::enter(id, cx);
        }
    }

    fn on_exit(&self, id: &Id, _ctx: LayerContext<'_, S>) {
        entered::exit(id);
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let bridged = span.extensions_mut().remove::<Bridged>();
        // Ended outside the extensions' lock: span processors run here.
        if let Some(Bridged { cx, owned: true }) = bridged {
            cx.span().end();
        }
    }
}

/// The context a new span starts under, and whether it starts a new trace.
fn parent_of<S>(attrs: &Attributes<'_>, ctx: &LayerContext<'_, S>) -> (Context, bool)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if let Some(parent) = attrs.parent() {
        // An explicit parent we know; one we do not (filtered out of this
        // layer, or started before anything was installed) leaves a root,
        // as tracing-opentelemetry does.
        return match context_of(parent, ctx) {
            Some(cx) => (cx, false),
            None => (Context::current(), true),
        };
    }
    // The current context, not `tracing`'s current span: entering a
    // `tracing` span makes its context current, and a `#[traced]` function
    // inside it is current too, so this is the innermost span of either.
    // A new trace (`parent: None`) still starts in the current context, so
    // that a test capture open here sees it.
    (Context::current(), attrs.is_root())
}

/// The context of a `tracing` span we bridged.
fn context_of<S>(id: &Id, ctx: &LayerContext<'_, S>) -> Option<Context>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let span = ctx.span(id)?;
    let extensions = span.extensions();
    extensions.get::<Bridged>().map(|bridged| bridged.cx.clone())
}
