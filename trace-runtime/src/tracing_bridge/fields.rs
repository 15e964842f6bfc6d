//! `tracing` span fields as typed OpenTelemetry attributes, and the
//! `otel.*` fields that change the span itself (as tracing-opentelemetry
//! reads them, so spans written for it keep their meaning).

use std::fmt;

use opentelemetry::trace::{SpanKind, SpanRef, Status};
use opentelemetry::{Key, KeyValue, Value};
use tracing_core::field::{Field, Visit};

/// Renames the span.
const NAME: &str = "otel.name";
/// `server`, `client`, `producer`, `consumer` or `internal` (at creation only).
const KIND: &str = "otel.kind";
/// `ok`, `error` or `unset`.
const STATUS_CODE: &str = "otel.status_code";
/// An error description: status ERROR with this message.
const STATUS_DESCRIPTION: &str = "otel.status_description";

/// What the `otel.*` fields of a span asked for.
#[derive(Debug, Default)]
pub(super) struct Overrides {
    pub(super) name: Option<String>,
    pub(super) kind: Option<SpanKind>,
    status_code: Option<Code>,
    description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Code {
    Unset,
    Ok,
    Error,
}

impl Overrides {
    /// The status the fields ask for, if any: a description means an error
    /// unless the code says `ok`.
    pub(super) fn status(&self) -> Option<Status> {
        match (self.status_code, &self.description) {
            (Some(Code::Ok), _) => Some(Status::Ok),
            (Some(Code::Unset), None) => Some(Status::Unset),
            (_, Some(description)) => Some(Status::error(description.clone())),
            (Some(Code::Error), None) => Some(Status::error("")),
            (None, None) => None,
        }
    }

    /// Applies what can change on a started span (its kind cannot).
    pub(super) fn apply(self, span: &SpanRef<'_>) {
        if let Some(status) = self.status() {
            span.set_status(status);
        }
        if let Some(name) = self.name {
            span.update_name(name);
        }
    }

    /// Takes `value` when `name` is an `otel.*` field; gives it back otherwise.
    fn special(&mut self, name: &str, value: String) -> Option<String> {
        match name {
            NAME => self.name = Some(value),
            KIND => self.kind = parse_kind(&value),
            STATUS_CODE => self.status_code = parse_code(&value),
            STATUS_DESCRIPTION => self.description = Some(value),
            _ => return Some(value),
        }
        None
    }
}

fn parse_kind(value: &str) -> Option<SpanKind> {
    Some(match value.to_ascii_lowercase().as_str() {
        "server" => SpanKind::Server,
        "client" => SpanKind::Client,
        "producer" => SpanKind::Producer,
        "consumer" => SpanKind::Consumer,
        "internal" => SpanKind::Internal,
        _ => return None,
    })
}

fn parse_code(value: &str) -> Option<Code> {
    Some(match value.to_ascii_lowercase().as_str() {
        "ok" => Code::Ok,
        "error" => Code::Error,
        "unset" => Code::Unset,
        _ => return None,
    })
}

/// An integer OpenTelemetry has no type for (above `i64::MAX`) is kept
/// exactly, as a string, like [`AttributeValue`](crate::AttributeValue) does.
pub(super) fn wide_int<T: TryInto<i64> + fmt::Display + Copy>(value: T) -> Value {
    match value.try_into() {
        Ok(small) => Value::I64(small),
        Err(_) => Value::String(value.to_string().into()),
    }
}

/// Where a [`Typed`] visitor puts fields: typed values as they are, text
/// (strings, errors, `Debug`) for the sink to read first.
pub(super) trait FieldSink {
    fn typed(&mut self, field: &Field, value: Value);
    fn text(&mut self, field: &Field, value: String);
}

/// The one mapping of `tracing` field values to OpenTelemetry values, for
/// span fields and event fields alike.
pub(super) struct Typed<'s, S>(pub(super) &'s mut S);

impl<S: FieldSink> Visit for Typed<'_, S> {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.typed(field, Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.typed(field, wide_int(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.0.typed(field, wide_int(value));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.0.typed(field, wide_int(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.typed(field, Value::F64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.typed(field, Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.text(field, value.to_owned());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.text(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `message` is `format_args!(..)`, whose Debug is the formatted text.
        self.0.text(field, format!("{value:?}"));
    }
}

/// Collects the fields of a span (at creation or `record()`ed later).
pub(super) struct SpanFields<'a> {
    pub(super) attributes: &'a mut Vec<KeyValue>,
    pub(super) overrides: Overrides,
}

impl FieldSink for SpanFields<'_> {
    fn typed(&mut self, field: &Field, value: Value) {
        // Field names are `&'static str`: the key allocates nothing.
        self.attributes.push(KeyValue::new(Key::from_static_str(field.name()), value));
    }

    fn text(&mut self, field: &Field, value: String) {
        if let Some(value) = self.overrides.special(field.name(), value) {
            self.typed(field, Value::String(value.into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otel_fields_map_like_tracing_opentelemetry() {
        let mut o = Overrides::default();
        assert_eq!(o.special(KIND, "Server".to_owned()), None);
        assert_eq!(o.special(STATUS_CODE, "ERROR".to_owned()), None);
        assert_eq!(o.kind, Some(SpanKind::Server));
        assert_eq!(o.status(), Some(Status::error("")));
        assert_eq!(o.special(STATUS_DESCRIPTION, "boom".to_owned()), None);
        assert_eq!(o.status(), Some(Status::error("boom")));
        assert_eq!(o.special("http.route", "/a".to_owned()), Some("/a".to_owned()));
        let ok = Overrides { status_code: Some(Code::Ok), ..Overrides::default() };
        assert_eq!(ok.status(), Some(Status::Ok));
        assert_eq!(Overrides::default().status(), None);
    }

    #[test]
    fn wide_integers_stay_exact() {
        assert_eq!(wide_int(7_u64), Value::I64(7));
        assert_eq!(wide_int(u64::MAX), Value::String("18446744073709551615".to_owned().into()));
        assert_eq!(wide_int(-3_i128), Value::I64(-3));
    }
}
