//! Looking at the spans your code emits, from your own tests
//! (cargo feature `testing`).
//!
//! [`capture`] runs a closure and returns every span started inside it —
//! by `#[traced]`, [`span`](crate::span) or raw OpenTelemetry calls — and on
//! threads or tasks that inherited its context. Captures are isolated from
//! each other, so tests keep running in parallel: no `#[serial]`, no reset.
//!
//! Two things make that hold in real tests:
//!
//! - [`set_global_tag`](crate::set_global_tag) called inside a capture
//!   applies to that capture's spans only;
//! - a capture claims every trace it starts, so spans of those traces that
//!   start on tasks that lost its context — a server started inside
//!   [`capture_async`], whose connection tasks do not inherit it, serving a
//!   request that carries the capture's `traceparent` — are collected too.
//!
//! [`Capture::logs`] gives the log records made inside the capture (`log`
//! records and `tracing` events) with the ids of their span.
//!
//! Failures show what was emitted: lookups print the whole capture,
//! [`Capture::assert_tree`] a line diff, [`Capture::assert_child_of`] the
//! spans involved and the tree.
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
