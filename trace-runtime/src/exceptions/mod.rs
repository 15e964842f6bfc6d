//! Recording failures on spans: `Err` returns, panics and explicit
//! [`SpanHandle::record_error`](crate::SpanHandle::record_error), all in the
//! shape OpenTelemetry's exception conventions (and ddtrace) use: status ERROR
//! with the message as description, plus an `exception` event.

pub(crate) mod backtrace;
pub(crate) mod outcome;
pub(crate) mod panic;
pub(crate) mod panic_hook;

use std::error::Error as StdError;

use opentelemetry::trace::{SpanRef, Status};
use opentelemetry::KeyValue;

/// How many causes of an error's `source()` chain are recorded at most;
/// real chains are a handful deep, and the walk must end on a looping one.
pub(crate) const MAX_CAUSES: usize = 32;

/// The data address of an error, to recognise one met again in its chain.
fn address(error: &(dyn StdError + 'static)) -> *const () {
    (error as *const dyn StdError).cast::<()>()
}

/// A failure ready to be put on a span.
pub(crate) struct Exception {
    pub(crate) type_name: String,
    pub(crate) message: String,
    /// The `source()` chain below the error itself, outermost first.
    pub(crate) causes: Vec<String>,
    /// A captured backtrace (panics; `Err` returns when asked).
    pub(crate) backtrace: Option<String>,
}

impl Exception {
    /// Reads the error and at most [`MAX_CAUSES`] of its `source()` chain.
    ///
    /// The chain is user code and may loop (an error whose `source()` is
    /// itself, or two that point at each other), so the walk stops at the
    /// first cause already seen (compared by address) and after
    /// [`MAX_CAUSES`] steps, noting either in the recorded chain.
    pub(crate) fn from_error(type_name: &str, error: &(dyn StdError + 'static)) -> Self {
        let message = error.to_string();
        let mut causes: Vec<String> = Vec::new();
        // The address of each error visited, the error itself first; its
        // message is `message` or `causes[i - 1]`.
        let mut seen: Vec<*const ()> = vec![address(error)];
        let mut source = error.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            // Same address *and* same message: distinct zero-sized errors may
            // share an address, but then they differ in what they say.
            let looped = seen
                .iter()
                .enumerate()
                .any(|(i, &at)| at == address(cause) && &text == if i == 0 { &message } else { &causes[i - 1] });
            if looped {
                causes.push("(the source chain loops back here; stopped)".to_owned());
                break;
            }
            if causes.len() == MAX_CAUSES {
                causes.push(format!("(source chain longer than {MAX_CAUSES}; rest omitted)"));
                break;
            }
            seen.push(address(cause));
            causes.push(text);
            source = cause.source();
        }
        Exception { type_name: type_name.to_owned(), message, causes, backtrace: None }
    }

    /// Puts status ERROR and an `exception` event on `span`.
    pub(crate) fn record(self, span: &SpanRef<'_>) {
        if !span.is_recording() {
            return;
        }
        let mut attributes = vec![
            KeyValue::new("exception.type", self.type_name.clone()),
            KeyValue::new("exception.message", self.message.clone()),
        ];
        // The cause chain, then the stack: what a Rust error report shows.
        let mut stack = String::new();
        if !self.causes.is_empty() {
            stack = std::iter::once(self.message.as_str())
                .chain(self.causes.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join("\ncaused by: ");
        }
        if let Some(backtrace) = self.backtrace {
            if !stack.is_empty() {
                stack.push_str("\n\nstack backtrace:\n");
            }
            stack.push_str(&backtrace);
        }
        if !stack.is_empty() {
            attributes.push(KeyValue::new("exception.stacktrace", stack));
        }
        span.add_event("exception", attributes);
        // Semantic conventions (recording errors): `error.type` on the span,
        // the error's type name, or `panic`.
        span.set_attribute(KeyValue::new("error.type", self.type_name));
        span.set_status(Status::error(self.message));
    }
}
