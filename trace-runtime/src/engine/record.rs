//! A span the engine owns while it is open: its ids and a compact record of
//! what happened to it, pointing at the call site's `&'static` metadata
//! instead of copying it into attributes. Ending it hands the record to the
//! collector; nothing else happens on the application's thread.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::trace::{Event, Link, SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{InstrumentationScope, KeyValue};

use super::Engine;
use crate::callsite::Meta;
use crate::local_root;
use crate::tags::store::TagSnapshot;

/// What the collector needs to build the span's `SpanData`.
#[derive(Debug)]
pub(crate) struct Record {
    /// [`SpanId::INVALID`] for a root. Not an `Option` of a pair with the
    /// flag below: the flag fits in padding, and the record stays 8 bytes smaller.
    pub(crate) parent_span_id: SpanId,
    /// The parent came from another process.
    pub(crate) parent_remote: bool,
    pub(crate) name: Cow<'static, str>,
    pub(crate) kind: SpanKind,
    pub(crate) start: SystemTime,
    pub(crate) end: SystemTime,
    /// The traced function: its `code.*` attributes go first, built by the collector.
    pub(crate) code: Option<&'static Meta>,
    /// The span's own attributes at start (after `code.*`).
    pub(crate) attributes: Vec<KeyValue>,
    /// The global tags in force at start (after the own attributes, shadowed by them).
    pub(crate) tags: Option<TagSnapshot>,
    /// A raw span's own instrumentation scope; `None`: traced's. One word:
    /// the record is moved a few times per span.
    pub(crate) scope: Option<Arc<InstrumentationScope>>,
    /// Everything most spans never get, allocated on first use: the record
    /// stays small, and it is moved a few times per span.
    pub(crate) extra: Option<Box<Extra>>,
}

/// The rarer parts of a [`Record`].
#[derive(Debug, Default)]
pub(crate) struct Extra {
    /// Attributes the sampler added.
    pub(crate) sampler_attributes: Vec<KeyValue>,
    /// Attributes set while the span was open (after everything above).
    pub(crate) recorded: Vec<KeyValue>,
    pub(crate) events: Vec<Event>,
    pub(crate) links: Vec<Link>,
    pub(crate) status: Status,
    /// Set while open past the span limits, as the SDK counts them: kept
    /// from the first the limit refuses, memory stays bounded.
    pub(crate) dropped: Dropped,
}

/// What a span dropped while open, past its limits.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Dropped {
    pub(crate) attributes: u32,
    pub(crate) events: u32,
    pub(crate) links: u32,
}

impl Record {
    fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }
}

/// An engine span: what `Context::current()` readers see while it is open.
#[derive(Debug)]
pub(crate) struct EngineSpan {
    context: SpanContext,
    /// A local root written down in [`local_root`]'s table while open, so
    /// `current_root_span()` finds it from anywhere in its trace.
    registered_root: bool,
    /// `None` once ended, and for spans that record nothing. Inline, not
    /// boxed: the span is boxed once, into the `Context`, and that is all.
    open: Option<(Record, Arc<Engine>)>,
}

impl EngineSpan {
    /// A span that records; a local root (no parent, or a remote one) is
    /// written down in the local-root table until it ends.
    pub(crate) fn recording(context: SpanContext, record: Record, engine: Arc<Engine>) -> Self {
        let local_root = record.parent_span_id == SpanId::INVALID || record.parent_remote;
        let registered_root = local_root && local_root::open(&context);
        EngineSpan { context, registered_root, open: Some((record, engine)) }
    }

    /// A span the sampler dropped (or started where nothing records).
    pub(crate) fn dropped(context: SpanContext) -> Self {
        EngineSpan { context, registered_root: false, open: None }
    }

    fn record(&mut self) -> Option<&mut Record> {
        self.open.as_mut().map(|(record, _)| record)
    }

    /// The record and the engine's span limits.
    fn limited(&mut self) -> Option<(&mut Extra, &opentelemetry_sdk::trace::SpanLimits)> {
        self.open.as_mut().map(|(record, engine)| (record.extra(), &engine.limits))
    }

    fn finish(&mut self, mut end: SystemTime) {
        if self.registered_root {
            // What was set on this root from where it was not current.
            self.registered_root = false;
            let (asked_end, refused) = local_root::close(self);
            end = asked_end.unwrap_or(end);
            // Checked first: `limited` makes room for the rarer parts.
            if refused > 0 {
                if let Some((extra, _)) = self.limited() {
                    extra.dropped.attributes = extra.dropped.attributes.saturating_add(refused);
                }
            }
        }
        if let Some((mut record, engine)) = self.open.take() {
            record.end = end.max(record.start);
            engine.hand_off(self.context.clone(), record);
        }
    }
}

/// Keeps `item` under `limit` (the configured span limit), else counts it dropped.
fn push_bounded<T>(list: &mut Vec<T>, limit: u32, dropped: &mut u32, item: T) {
    if list.len() < limit as usize {
        list.push(item);
    } else {
        *dropped = dropped.saturating_add(1);
    }
}

impl opentelemetry::trace::Span for EngineSpan {
    fn add_event_with_timestamp<T>(&mut self, name: T, timestamp: SystemTime, attributes: Vec<KeyValue>)
    where
        T: Into<Cow<'static, str>>,
    {
        if let Some((extra, limits)) = self.limited() {
            let event = Event::new(name, timestamp, attributes, 0);
            push_bounded(&mut extra.events, limits.max_events_per_span, &mut extra.dropped.events, event);
        }
    }

    fn span_context(&self) -> &SpanContext {
        &self.context
    }

    fn is_recording(&self) -> bool {
        self.open.is_some()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        if let Some((extra, limits)) = self.limited() {
            push_bounded(&mut extra.recorded, limits.max_attributes_per_span, &mut extra.dropped.attributes, attribute);
        }
    }

    fn set_status(&mut self, status: Status) {
        if let Some(record) = self.record() {
            // As the SDK: Ok > Error > Unset, and only ever upgraded.
            if status > record.extra.as_ref().map_or(Status::Unset, |extra| extra.status.clone()) {
                record.extra().status = status;
            }
        }
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        if let Some(record) = self.record() {
            record.name = new_name.into();
        }
    }

    fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        if let Some((extra, limits)) = self.limited() {
            let link = Link::new(span_context, attributes, 0);
            push_bounded(&mut extra.links, limits.max_links_per_span, &mut extra.dropped.links, link);
        }
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        self.finish(timestamp);
    }
}

impl Drop for EngineSpan {
    fn drop(&mut self) {
        // A span dropped without `end` ends now, as the SDK's does.
        if self.open.is_some() || self.registered_root {
            self.finish(opentelemetry::time::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Record;

    #[test]
    fn the_record_stays_small() {
        // Moved a few times per span on the application's thread: every
        // byte is copied each time (152 bytes with an `SdkTracer` in it).
        assert!(std::mem::size_of::<Record>() <= 136, "{} bytes", std::mem::size_of::<Record>());
    }
}
