//! Conversions from Rust values to typed OpenTelemetry attribute values.
//!
//! One trait, [`AttributeValue`], serves every place that records a value:
//! `#[traced(attrs(..))]`, [`SpanHandle::set_attribute`](crate::SpanHandle::set_attribute)
//! and [`set_global_tag`](crate::set_global_tag). Values keep their type (an
//! `i64` stays an integer in the backend, a `Vec<bool>` stays a boolean array);
//! `None` records nothing; anything else goes through [`display`] or [`debug`].

use std::borrow::Cow;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use opentelemetry::{Array, StringValue, Value};

/// A value that can be recorded as an OpenTelemetry attribute.
///
/// Implemented for `bool`, every integer type, `f32`/`f64`, every string type,
/// slices, arrays and `Vec`s of those, `Option` of any of them (where `None`
/// records nothing), references to any of them, and OpenTelemetry's own
/// [`Value`], [`StringValue`] and [`Array`]. Integers wider than `i64` that do
/// not fit are recorded as their decimal string rather than truncated.
///
/// Other types are recorded through [`display`] (`%expr` in the macro) or
/// [`debug`] (`?expr`).
///
/// ```
/// use trace_runtime::AttributeValue;
/// use opentelemetry::Value;
///
/// assert_eq!(42u8.to_attribute_value(), Some(Value::I64(42)));
/// assert_eq!(None::<i32>.to_attribute_value(), None);
/// assert_eq!(u64::MAX.to_attribute_value(), Some(Value::from("18446744073709551615".to_string())));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no conversion to an OpenTelemetry attribute value",
    label = "this value cannot be recorded as it is",
    note = "record its Display output with `%` (e.g. `attrs(key = %value)`) or its Debug output with `?` (e.g. `attrs(key = ?value)`)",
    note = "values that convert as they are: bool, integers, floats, strings, slices/arrays/Vecs of those, and Option of any of them"
)]
pub trait AttributeValue {
    /// The typed value to record, or `None` to record nothing.
    fn to_attribute_value(&self) -> Option<Value>;
}

impl<T: AttributeValue + ?Sized> AttributeValue for &T {
    fn to_attribute_value(&self) -> Option<Value> {
        (**self).to_attribute_value()
    }
}

impl<T: AttributeValue + ?Sized> AttributeValue for &mut T {
    fn to_attribute_value(&self) -> Option<Value> {
        (**self).to_attribute_value()
    }
}

impl<T: AttributeValue + ?Sized> AttributeValue for Box<T> {
    fn to_attribute_value(&self) -> Option<Value> {
        (**self).to_attribute_value()
    }
}

impl<T: AttributeValue> AttributeValue for Option<T> {
    fn to_attribute_value(&self) -> Option<Value> {
        self.as_ref().and_then(AttributeValue::to_attribute_value)
    }
}

impl AttributeValue for bool {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::Bool(*self))
    }
}

macro_rules! lossless_ints {
    ($($t:ty),*) => {$(
        impl AttributeValue for $t {
            fn to_attribute_value(&self) -> Option<Value> {
                Some(Value::I64(i64::from(*self)))
            }
        }
    )*};
}
lossless_ints!(i8, i16, i32, i64, u8, u16, u32);

// Wider integers: an i64 when it fits, else the exact decimal text, because a
// silently wrapped id or counter is worse than a string.
macro_rules! wide_ints {
    ($($t:ty),*) => {$(
        impl AttributeValue for $t {
            fn to_attribute_value(&self) -> Option<Value> {
                Some(match i64::try_from(*self) {
                    Ok(v) => Value::I64(v),
                    Err(_) => Value::String(self.to_string().into()),
                })
            }
        }
    )*};
}
wide_ints!(isize, usize, u64, i128, u128);

impl AttributeValue for f64 {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::F64(*self))
    }
}

impl AttributeValue for f32 {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::F64(f64::from(*self)))
    }
}

impl AttributeValue for str {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::String(self.to_owned().into()))
    }
}

impl AttributeValue for String {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::String(self.clone().into()))
    }
}

impl AttributeValue for Cow<'_, str> {
    fn to_attribute_value(&self) -> Option<Value> {
        self.as_ref().to_attribute_value()
    }
}

impl AttributeValue for Arc<str> {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::String(Arc::clone(self).into()))
    }
}

impl AttributeValue for Rc<str> {
    fn to_attribute_value(&self) -> Option<Value> {
        self.as_ref().to_attribute_value()
    }
}

impl AttributeValue for char {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::String(self.to_string().into()))
    }
}

impl AttributeValue for Value {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(self.clone())
    }
}

impl AttributeValue for StringValue {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::String(self.clone()))
    }
}

impl AttributeValue for Array {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::Array(self.clone()))
    }
}

/// An element type of a homogeneous attribute array (`[bool]`, `[i64]`, `[f64]`, `[String]`).
///
/// OpenTelemetry arrays hold one primitive type; this trait maps a Rust slice
/// onto the matching [`Array`] variant.
///
/// ```
/// use trace_runtime::AttributeValue;
/// use opentelemetry::{Array, Value};
///
/// let v = vec![1u16, 2, 3].to_attribute_value();
/// assert_eq!(v, Some(Value::Array(Array::I64(vec![1, 2, 3]))));
/// ```
pub trait ArrayElement: Sized {
    /// Builds the typed array from a slice of elements.
    fn to_array(items: &[Self]) -> Array;
}

impl ArrayElement for bool {
    fn to_array(items: &[Self]) -> Array {
        Array::Bool(items.to_vec())
    }
}

macro_rules! int_elements {
    ($($t:ty),*) => {$(
        impl ArrayElement for $t {
            fn to_array(items: &[Self]) -> Array {
                Array::I64(items.iter().map(|v| i64::from(*v)).collect())
            }
        }
    )*};
}
int_elements!(i8, i16, i32, i64, u8, u16, u32);

impl ArrayElement for f64 {
    fn to_array(items: &[Self]) -> Array {
        Array::F64(items.to_vec())
    }
}

impl ArrayElement for f32 {
    fn to_array(items: &[Self]) -> Array {
        Array::F64(items.iter().map(|v| f64::from(*v)).collect())
    }
}

macro_rules! string_elements {
    ($($t:ty),*) => {$(
        impl ArrayElement for $t {
            fn to_array(items: &[Self]) -> Array {
                Array::String(items.iter().map(|s| StringValue::from(s.to_string())).collect())
            }
        }
    )*};
}
string_elements!(String, &str, Cow<'_, str>, Arc<str>, Box<str>);

impl<T: ArrayElement> AttributeValue for [T] {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::Array(T::to_array(self)))
    }
}

impl<T: ArrayElement, const N: usize> AttributeValue for [T; N] {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::Array(T::to_array(self)))
    }
}

impl<T: ArrayElement> AttributeValue for Vec<T> {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::Array(T::to_array(self)))
    }
}

/// Records a value by its [`Display`](fmt::Display) output, as `%expr` does in the macro.
///
/// ```
/// use std::net::Ipv4Addr;
/// use trace_runtime::{display, AttributeValue};
///
/// let ip = Ipv4Addr::LOCALHOST;
/// assert_eq!(display(&ip).to_attribute_value(), Some("127.0.0.1".to_string().into()));
/// ```
pub fn display<T: fmt::Display + ?Sized>(value: &T) -> DisplayValue<'_, T> {
    DisplayValue(value)
}

/// Records a value by its [`Debug`](fmt::Debug) output, as `?expr` does in the macro.
///
/// ```
/// use trace_runtime::{debug, AttributeValue};
///
/// #[derive(Debug)]
/// struct Order { id: u32 }
/// assert_eq!(debug(&Order { id: 7 }).to_attribute_value(), Some("Order { id: 7 }".to_string().into()));
/// ```
pub fn debug<T: fmt::Debug + ?Sized>(value: &T) -> DebugValue<'_, T> {
    DebugValue(value)
}

/// A value recorded through its `Display` output; made by [`display`].
///
/// ```
/// let shown = trace_runtime::display(&1.5);
/// # let _ = shown;
/// ```
pub struct DisplayValue<'a, T: ?Sized>(&'a T);

/// A value recorded through its `Debug` output; made by [`debug`].
///
/// ```
/// let value = vec![Some(1), None];
/// let shown = trace_runtime::debug(&value);
/// # let _ = shown;
/// ```
pub struct DebugValue<'a, T: ?Sized>(&'a T);

impl<T: fmt::Display + ?Sized> AttributeValue for DisplayValue<'_, T> {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::String(self.0.to_string().into()))
    }
}

impl<T: fmt::Debug + ?Sized> AttributeValue for DebugValue<'_, T> {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::String(format!("{:?}", self.0).into()))
    }
}

impl<T: ?Sized> fmt::Debug for DisplayValue<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DisplayValue(..)")
    }
}

impl<T: ?Sized> fmt::Debug for DebugValue<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DebugValue(..)")
    }
}
