//! Looking at the spans your code emits, from your own tests
//! (cargo feature `testing`).
//!
//! [`capture`] runs a closure and returns every span started inside it —
//! by `#[traced]`, [`span`](crate::span) or raw OpenTelemetry calls — and on
//! threads or tasks that inherited its context. Captures are isolated from
//! each other, so tests keep running in parallel: no `#[serial]`, no reset.
//!
//! ```
//! use trace_runtime::testing::{capture, SpanDataExt};
//! use trace_runtime::traced;
//!
//! #[traced(attrs(order.id = id))]
//! fn place_order(id: u64) {
//!     charge();
//! }
//!
//! #[traced]
//! fn charge() {}
//!
//! let captured = capture(|| place_order(7));
//! let order = captured.span("place_order");
//! assert_eq!(order.attribute("order.id"), Some(&7.into()));
//! assert!(captured.span("charge").is_child_of(order));
//! ```

mod assert;
mod capture;
mod collector;
mod ext;

pub use capture::{capture, capture_async, Capture, Capturer};
pub use ext::SpanDataExt;
