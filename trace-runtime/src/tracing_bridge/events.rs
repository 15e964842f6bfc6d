//! `tracing` events as span events on the span current where they happen,
//! whichever library made it current (a `tracing` span, `#[traced]`,
//! [`span`](crate::span), raw OpenTelemetry); and, while logs are exported,
//! as log records with that span's ids (outside any span: without ids).
//! Both, as an application using tracing-opentelemetry (span events) and
//! opentelemetry-appender-tracing (log records) side by side gets them: the
//! trace view keeps its events, the logs keep every record.
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
use crate::logs::{self, Ids, Level as LogLevel};

/// Adds `event` to the span in `cx` (when it records), and makes it a log
/// record while logs are exported; `cx` is `None` for an event outside any
/// span (`parent: None`).
pub(super) fn record(event: &Event<'_>, cx: Option<&Context>) {
    if logs::is_wanted() {
        log_record(event, cx);
    }
    let Some(cx) = cx else { return };
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

/// The event as a log record: message as body (else the callsite's name),
/// fields as typed attributes, `code.*` from the callsite.
fn log_record(event: &Event<'_>, cx: Option<&Context>) {
    let meta = event.metadata();
    let level = match *meta.level() {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO => LogLevel::Info,
        Level::DEBUG => LogLevel::Debug,
        _ => LogLevel::Trace,
    };
    let ids = match cx {
        Some(cx) => Ids::Of(cx),
        None => Ids::Nothing,
    };
    logs::emit(level, meta.target(), ids, |record| {
        use opentelemetry::logs::{AnyValue, LogRecord as _};
        let mut fields = LogFields { body: None, attributes: Vec::with_capacity(meta.fields().len() + 3) };
        event.record(&mut Typed(&mut fields));
        record.set_body(AnyValue::from(fields.body.unwrap_or_else(|| meta.name().to_owned())));
        record.set_target(meta.target().to_owned());
        if let Some(module) = meta.module_path() {
            record.add_attribute("code.module.name", module.to_owned());
        }
        if let Some(file) = meta.file() {
            record.add_attribute("code.file.path", file.to_owned());
        }
        if let Some(line) = meta.line() {
            record.add_attribute("code.line.number", i64::from(line));
        }
        record.add_attributes(fields.attributes.into_iter().map(|kv| (kv.key, any_value(kv.value))));
    });
}

/// An attribute value as a log record value.
fn any_value(value: Value) -> opentelemetry::logs::AnyValue {
    use opentelemetry::logs::AnyValue;
    use opentelemetry::Array;
    match value {
        Value::Bool(b) => AnyValue::Boolean(b),
        Value::I64(i) => AnyValue::Int(i),
        Value::F64(f) => AnyValue::Double(f),
        Value::String(s) => AnyValue::String(s),
        Value::Array(Array::Bool(v)) => v.into_iter().map(AnyValue::Boolean).collect(),
        Value::Array(Array::I64(v)) => v.into_iter().map(AnyValue::Int).collect(),
        Value::Array(Array::F64(v)) => v.into_iter().map(AnyValue::Double).collect(),
        Value::Array(Array::String(v)) => v.into_iter().map(AnyValue::String).collect(),
        other => AnyValue::from(other.to_string()),
    }
}

/// Collects an event's fields for a log record: `message` is the body.
struct LogFields {
    body: Option<String>,
    attributes: Vec<KeyValue>,
}

impl FieldSink for LogFields {
    fn typed(&mut self, field: &Field, value: Value) {
        self.attributes.push(KeyValue::new(Key::from_static_str(field.name()), value));
    }

    fn text(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.body = Some(value),
            _ => self.typed(field, Value::String(value.into())),
        }
    }
}
