//! `tracing` events as span events on the span current where they happen,
//! whichever library made it current (a `tracing` span, `#[traced]`,
//! [`span`](crate::span), raw OpenTelemetry).
//!
//! The choices, documented on [`tracing_layer`](super::tracing_layer):
//! the `message` field is the event's name (else the callsite's name);
//! the level goes in a `level` attribute (`ERROR` … `TRACE`, as
//! tracing-opentelemetry writes it) next to `target` (the module, which
//! says where it came from without a file path per event); an `ERROR` event sets the span's status to ERROR; an event with
//! an `error` field and no message (what `#[instrument(err)]` emits) is an
//! `exception` event with `exception.message`.

use std::borrow::Cow;

use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::{Context, Key, KeyValue, Value};
use tracing_core::field::Field;
use tracing_core::{Event, Level};

use super::fields::{FieldSink, Typed};

/// Adds `event` to the span in `cx` (when it records).
pub(super) fn record(event: &Event<'_>, cx: &Context) {
    let span = cx.span();
    if !span.is_recording() {
        return;
    }
    let meta = event.metadata();
    let mut fields =
        EventFields { message: None, error: None, attributes: Vec::with_capacity(2 + meta.fields().len()) };
    fields.attributes.push(KeyValue::new(Key::from_static_str("level"), Value::from(meta.level().as_str())));
    fields.attributes.push(KeyValue::new(Key::from_static_str("target"), Value::from(meta.target())));
    event.record(&mut Typed(&mut fields));
    let EventFields { message, error, mut attributes } = fields;
    let is_error = *meta.level() == Level::ERROR;
    let description = if is_error { message.clone().or_else(|| error.clone()) } else { None };
    let name: Cow<'static, str> = match (message, error) {
        (Some(message), error) => {
            attributes.extend(error.map(|error| KeyValue::new(Key::from_static_str("error"), error)));
            message.into()
        }
        (None, Some(error)) => {
            attributes.push(KeyValue::new(Key::from_static_str("exception.message"), error));
            "exception".into()
        }
        (None, None) => meta.name().into(),
    };
    span.add_event(name, attributes);
    if let Some(description) = description {
        span.set_status(Status::error(description));
    }
}

/// Collects an event's fields; `message` and `error` are kept apart.
struct EventFields {
    message: Option<String>,
    error: Option<String>,
    attributes: Vec<KeyValue>,
}

impl FieldSink for EventFields {
    fn typed(&mut self, field: &Field, value: Value) {
        self.attributes.push(KeyValue::new(Key::from_static_str(field.name()), value));
    }

    fn text(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = Some(value),
            "error" => self.error = Some(value),
            _ => self.typed(field, Value::String(value.into())),
        }
    }
}
