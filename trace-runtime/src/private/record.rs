//! Recording arguments (`args`) and return values (`ret`), chosen at compile
//! time by autoref specialization (see `exceptions/outcome.rs` for the trick).
//!
//! - `args`: `(&&Arg(&value)).traced_arg(recorder, key)` records a value
//!   whose type implements [`AttributeValue`] and silently skips any other.
//! - `ret`: `(&&Ret(&value)).traced_ret_kind()` gives [`ResultTag`] for a
//!   `Result` (record the `Ok` value) and [`ValueTag`] for anything else
//!   (record the value). The tags' methods carry the bounds, so a value with
//!   no conversion is a compile error that says what to write instead.

use std::fmt::{Debug, Display};

use opentelemetry::trace::SpanRef;
use opentelemetry::{Key, KeyValue, Value};

use super::Recorder;
use crate::values::{debug, display, AttributeValue};

/// An argument offered to `args`.
pub struct Arg<'a, T: ?Sized>(pub &'a T);

/// `args`: an argument whose type converts is recorded.
pub trait RecordArg {
    fn traced_arg(&self, recorder: &mut Recorder<'_>, key: &'static str);
}

/// `args`: an argument whose type does not convert is left out.
pub trait SkipArg {
    fn traced_arg(&self, recorder: &mut Recorder<'_>, key: &'static str);
}

impl<T: AttributeValue + ?Sized> RecordArg for &Arg<'_, T> {
    #[inline]
    fn traced_arg(&self, recorder: &mut Recorder<'_>, key: &'static str) {
        recorder.record(key, self.0);
    }
}

impl<T: ?Sized> SkipArg for Arg<'_, T> {
    #[inline]
    fn traced_arg(&self, _recorder: &mut Recorder<'_>, _key: &'static str) {}
}

/// A returned value offered to `ret`.
pub struct Ret<'a, T: ?Sized>(pub &'a T);

/// `ret` on a `Result`: the `Ok` value is recorded.
pub trait RetResultKind {
    fn traced_ret_kind(&self) -> ResultTag;
}

/// `ret` on anything else: the value is recorded.
pub trait RetValueKind {
    fn traced_ret_kind(&self) -> ValueTag;
}

impl<T, E> RetResultKind for &Ret<'_, Result<T, E>> {
    #[inline]
    fn traced_ret_kind(&self) -> ResultTag {
        ResultTag
    }
}

impl<T: ?Sized> RetValueKind for Ret<'_, T> {
    #[inline]
    fn traced_ret_kind(&self) -> ValueTag {
        ValueTag
    }
}

/// A return value `ret` can record as it is.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no conversion to an OpenTelemetry attribute value, so `ret` cannot record it",
    label = "`ret` records the value returned here",
    note = "write `ret(%)` to record its Display output or `ret(?)` to record its Debug output",
    note = "values that convert as they are: bool, integers, floats, strings, slices/arrays/Vecs of those, and Option of any of them"
)]
pub trait ReturnValue {
    fn traced_value(&self) -> Option<Value>;
}

impl<T: AttributeValue + ?Sized> ReturnValue for T {
    #[inline]
    fn traced_value(&self) -> Option<Value> {
        self.to_attribute_value()
    }
}

fn set(span: &SpanRef<'_>, key: &'static str, value: Option<Value>) {
    if let Some(value) = value {
        span.set_attribute(KeyValue::new(Key::from_static_str(key), value));
    }
}

/// Records the `Ok` value of a `Result`; an `Err` is left to error recording.
pub struct ResultTag;

impl ResultTag {
    #[inline]
    pub fn typed<T: ReturnValue, E>(self, span: &SpanRef<'_>, key: &'static str, value: &Result<T, E>) {
        if let Ok(ok) = value {
            set(span, key, ok.traced_value());
        }
    }

    #[inline]
    pub fn display<T: Display, E>(self, span: &SpanRef<'_>, key: &'static str, value: &Result<T, E>) {
        if let Ok(ok) = value {
            set(span, key, display(ok).to_attribute_value());
        }
    }

    #[inline]
    pub fn debug<T: Debug, E>(self, span: &SpanRef<'_>, key: &'static str, value: &Result<T, E>) {
        if let Ok(ok) = value {
            set(span, key, debug(ok).to_attribute_value());
        }
    }
}

/// Records a returned value that is not a `Result`.
pub struct ValueTag;

impl ValueTag {
    #[inline]
    pub fn typed<T: ReturnValue + ?Sized>(self, span: &SpanRef<'_>, key: &'static str, value: &T) {
        set(span, key, value.traced_value());
    }

    #[inline]
    pub fn display<T: Display + ?Sized>(self, span: &SpanRef<'_>, key: &'static str, value: &T) {
        set(span, key, display(value).to_attribute_value());
    }

    #[inline]
    pub fn debug<T: Debug + ?Sized>(self, span: &SpanRef<'_>, key: &'static str, value: &T) {
        set(span, key, debug(value).to_attribute_value());
    }
}

/// `Ok(())` and unit returns have nothing to record.
impl ReturnValue for () {
    #[inline]
    fn traced_value(&self) -> Option<Value> {
        None
    }
}
