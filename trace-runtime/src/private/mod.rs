//! The only items `#[traced]` expands to. Not public API: names and
//! signatures change without notice.

mod entered;
mod instrumented;

use opentelemetry::trace::Span as _;
use opentelemetry::{Context, Key, KeyValue};

pub use crate::errors::outcome::{Outcome, RecordErrorDebug, RecordErrorDisplay, RecordErrorSource, RecordNothing};
pub use crate::values::{debug, display, AttributeValue};
pub use entered::Entered;
pub use instrumented::{Finished, Instrumented};
pub use opentelemetry::trace::SpanKind;

use crate::dispatch::{self, AnySpan};
use crate::span::start::{start_span, SpanSpec};

/// What the macro knows about a traced function at compile time.
#[derive(Debug)]
pub struct Meta {
    pub name: &'static str,
    pub kind: SpanKind,
    pub service: Option<&'static str>,
    pub file: &'static str,
    pub line: u32,
    /// Returns `type_name` of a marker fn nested in the traced function:
    /// `crate::module::Type::function::__traced_marker`.
    pub marker: fn() -> &'static str,
}

impl Meta {
    fn function_path(&self) -> &'static str {
        let mut path = (self.marker)();
        path = path.strip_suffix("::__traced_marker").unwrap_or(path);
        // The body of an `async fn` is a closure-like generator to type_name.
        while let Some(outer) = path.strip_suffix("::{{closure}}") {
            path = outer;
        }
        path
    }
}

/// Records the `attrs(..)` of a traced function; only called when the span
/// is recording.
pub struct Recorder<'a> {
    span: &'a mut AnySpan,
}

impl Recorder<'_> {
    #[inline]
    pub fn record<V: AttributeValue + ?Sized>(&mut self, key: &'static str, value: &V) {
        if let Some(value) = value.to_attribute_value() {
            self.span.set_attribute(KeyValue::new(Key::from_static_str(key), value));
        }
    }
}

/// Starts the span of a sync traced function and makes it current.
#[inline]
pub fn enter(meta: &'static Meta, record: impl FnOnce(&mut Recorder<'_>)) -> Entered {
    if dispatch::is_off() {
        return Entered::disabled();
    }
    Entered::new(begin(meta, &Context::current(), record))
}

/// Starts the span of an async traced function (on its first poll); it is
/// made current on each poll by [`Instrumented`].
#[inline]
pub fn start(meta: &'static Meta, record: impl FnOnce(&mut Recorder<'_>)) -> Option<Context> {
    if dispatch::is_off() {
        return None;
    }
    begin(meta, &Context::current(), record)
}

fn begin(meta: &'static Meta, parent: &Context, record: impl FnOnce(&mut Recorder<'_>)) -> Option<Context> {
    let spec = SpanSpec {
        name: meta.name.into(),
        kind: meta.kind.clone(),
        service: meta.service.map(Into::into),
        attributes: vec![
            KeyValue::new(Key::from_static_str("code.function.name"), meta.function_path()),
            KeyValue::new(Key::from_static_str("code.file.path"), meta.file),
            KeyValue::new(Key::from_static_str("code.line.number"), i64::from(meta.line)),
        ],
        links: Vec::new(),
    };
    start_span(spec, parent, |span| record(&mut Recorder { span }))
}

/// `catch_unwind` for the body of a sync traced function. The closure is only
/// run once and the panic is resumed right after it is recorded, so no broken
/// invariant can be observed: asserting unwind safety is sound.
#[inline(always)]
pub fn catch_unwind<R>(body: impl FnOnce() -> R) -> std::thread::Result<R> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
}
