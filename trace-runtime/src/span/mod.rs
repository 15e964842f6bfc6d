//! Spans as values: the handle every API returns, the guard that keeps a
//! manual span current, the builder for spans that cannot take an attribute,
//! and the single path that starts them all.

mod builder;
mod guard;
mod handle;
pub(crate) mod start;

pub use builder::{span, NewSpan};
pub use guard::SpanGuard;
pub use handle::SpanHandle;
