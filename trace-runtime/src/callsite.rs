//! What the macro knows about a traced function at compile time: its
//! name, kind, service and source location, as one `&'static` value per call
//! site. Spans point at it instead of copying it into attributes, so the
//! `code.*` attributes are only built where a span is exported.
//!
//! At the bottom of the runtime's layers: it imports nothing from the
//! runtime. `__private::Site` pairs it with the function's RED metrics
//! state for the macro's `static`.

use opentelemetry::trace::SpanKind;
use opentelemetry::{Key, KeyValue};

/// What the macro knows about a traced function at compile time.
#[doc(hidden)]
#[derive(Debug)]
pub struct Meta {
    /// The span's name (`name = ".."` or the function's identifier).
    pub name: &'static str,
    /// The span's kind (`kind = ..`).
    pub kind: SpanKind,
    /// An explicit `service = ".."`.
    pub service: Option<&'static str>,
    /// `file!()` at the function.
    pub file: &'static str,
    /// `line!()` at the function.
    pub line: u32,
    /// Returns `type_name` of a marker fn nested in the traced function:
    /// `crate::module::Type::function::__traced_marker`.
    pub marker: fn() -> &'static str,
}

impl Meta {
    /// `code.function.name`, `code.file.path` and `code.line.number`.
    pub(crate) fn code_attributes(&self) -> [KeyValue; 3] {
        [
            KeyValue::new(Key::from_static_str("code.function.name"), self.function_path()),
            KeyValue::new(Key::from_static_str("code.file.path"), self.file),
            KeyValue::new(Key::from_static_str("code.line.number"), i64::from(self.line)),
        ]
    }

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
