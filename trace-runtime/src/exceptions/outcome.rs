//! Recording what a traced function returned, chosen at compile time.
//!
//! The macro cannot tell from syntax alone whether a return type is a
//! `Result` (aliases like `io::Result<T>` or `anyhow::Result<T>` hide it), so
//! it calls `(&&&Outcome(&value)).traced_record(span)` and lets method
//! resolution pick the most specific impl ("autoref specialization"):
//! `Result<_, E: Error>` (message and `source()` chain), then
//! `Result<_, E: Display>` (e.g. `anyhow::Error`), then `Result<_, E: Debug>`,
//! and finally anything else, which records nothing. Method probing tries the
//! receiver types `&&&O`, `&&&&O`, `&&O`, `&O` in that order, which is why the
//! impls sit on `&&O`, `&&&O`, `&O` and `O` respectively.

use std::error::Error as StdError;
use std::fmt::{Debug, Display};

use opentelemetry::trace::SpanRef;

use super::{backtrace, Exception};

/// Wraps a returned value for [`RecordErrorSource`] and friends.
#[doc(hidden)]
pub struct Outcome<'a, T: ?Sized>(pub &'a T);

/// `Err` of a type implementing [`std::error::Error`].
#[doc(hidden)]
pub trait RecordErrorSource {
    fn traced_record(&self, span: &SpanRef<'_>);
}

/// `Err` of a type implementing [`Display`] only.
#[doc(hidden)]
pub trait RecordErrorDisplay {
    fn traced_record(&self, span: &SpanRef<'_>);
}

/// `Err` of a type implementing [`Debug`] only.
#[doc(hidden)]
pub trait RecordErrorDebug {
    fn traced_record(&self, span: &SpanRef<'_>);
}

/// Anything else: nothing to record.
#[doc(hidden)]
pub trait RecordNothing {
    fn traced_record(&self, span: &SpanRef<'_>);
}

impl<T, E: StdError + 'static> RecordErrorSource for &&Outcome<'_, Result<T, E>> {
    fn traced_record(&self, span: &SpanRef<'_>) {
        if let Err(error) = self.0 {
            let mut exception = Exception::from_error(std::any::type_name::<E>(), error);
            exception.backtrace = backtrace::for_err();
            exception.record(span);
        }
    }
}

impl<T, E: Display> RecordErrorDisplay for &&&Outcome<'_, Result<T, E>> {
    fn traced_record(&self, span: &SpanRef<'_>) {
        if let Err(error) = self.0 {
            Exception {
                type_name: std::any::type_name::<E>().to_owned(),
                // `{:#}` is the convention (anyhow, eyre) for "with its causes".
                message: format!("{error:#}"),
                causes: Vec::new(),
                backtrace: backtrace::for_err(),
            }
            .record(span);
        }
    }
}

impl<T, E: Debug> RecordErrorDebug for &Outcome<'_, Result<T, E>> {
    fn traced_record(&self, span: &SpanRef<'_>) {
        if let Err(error) = self.0 {
            Exception {
                type_name: std::any::type_name::<E>().to_owned(),
                message: format!("{error:?}"),
                causes: Vec::new(),
                backtrace: backtrace::for_err(),
            }
            .record(span);
        }
    }
}

impl<T: ?Sized> RecordNothing for Outcome<'_, T> {
    fn traced_record(&self, _span: &SpanRef<'_>) {}
}

/// `result = error` in the RED metrics: a `Result` that is `Err`. Called as
/// `(&&Outcome(&value)).traced_is_err()`: this impl, on `&Outcome`, is found
/// one dereference before [`NeverErr`]'s.
#[doc(hidden)]
pub trait IsErr {
    fn traced_is_err(&self) -> bool;
}

/// Anything that is not a `Result` never fails.
#[doc(hidden)]
pub trait NeverErr {
    fn traced_is_err(&self) -> bool;
}

impl<T, E> IsErr for &Outcome<'_, Result<T, E>> {
    #[inline]
    fn traced_is_err(&self) -> bool {
        self.0.is_err()
    }
}

impl<T: ?Sized> NeverErr for Outcome<'_, T> {
    #[inline]
    fn traced_is_err(&self) -> bool {
        false
    }
}
