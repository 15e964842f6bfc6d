//! Recording failures on spans: `Err` returns, panics and explicit
//! [`SpanHandle::record_error`](crate::SpanHandle::record_error), all in the
//! shape OpenTelemetry's exception conventions (and ddtrace) use: status ERROR
//! with the message as description, plus an `exception` event.

pub(crate) mod outcome;
pub(crate) mod panic;

use std::error::Error as StdError;

use opentelemetry::trace::{SpanRef, Status};
use opentelemetry::KeyValue;

/// A failure ready to be put on a span.
pub(crate) struct Exception {
    pub(crate) type_name: String,
    pub(crate) message: String,
    /// The `source()` chain below the error itself, outermost first.
    pub(crate) causes: Vec<String>,
}

impl Exception {
    pub(crate) fn from_error(type_name: &str, error: &(dyn StdError + 'static)) -> Self {
        let mut causes = Vec::new();
        let mut source = error.source();
        while let Some(cause) = source {
            causes.push(cause.to_string());
            source = cause.source();
        }
        Exception { type_name: type_name.to_owned(), message: error.to_string(), causes }
    }

    /// Puts status ERROR and an `exception` event on `span`.
    pub(crate) fn record(self, span: &SpanRef<'_>) {
        if !span.is_recording() {
            return;
        }
        let mut attributes = vec![
            KeyValue::new("exception.type", self.type_name),
            KeyValue::new("exception.message", self.message.clone()),
        ];
        if !self.causes.is_empty() {
            let stack = std::iter::once(self.message.as_str())
                .chain(self.causes.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join("\ncaused by: ");
            attributes.push(KeyValue::new("exception.stacktrace", stack));
        }
        span.add_event("exception", attributes);
        span.set_status(Status::error(self.message));
    }
}
