//! Turning a panic payload into an exception, without touching the payload:
//! the panic is resumed unchanged after it is recorded.

use std::any::Any;

use super::Exception;

/// The message a panic was raised with (`panic!("..")` gives `&str` or `String`).
pub(crate) fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// The panic as an exception: type `panic` (a payload's concrete type is
/// not knowable from `dyn Any`), its message and the panic site's backtrace.
pub(crate) fn exception(payload: &(dyn Any + Send)) -> Exception {
    Exception {
        type_name: "panic".to_owned(),
        message: message(payload),
        causes: Vec::new(),
        backtrace: Some(super::backtrace::for_panic()),
    }
}
