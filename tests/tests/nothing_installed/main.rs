//! Own binary: needs a process where nothing is ever installed or captured.
//!
//! With neither `init()` nor a user's provider nor a capture anywhere in the
//! process, traced code runs unchanged and records nothing. A binary of its
//! own: nothing else may install a provider or open a capture here.

mod api;
mod macro_shapes;
