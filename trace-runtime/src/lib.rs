//! One attribute, [`#[traced]`](traced), turns a function into an
//! OpenTelemetry span; this crate is the thin runtime behind it, on
//! `opentelemetry` + `opentelemetry_sdk`.
//!
//! ```
//! use trace_runtime::{current_span, traced};
//!
//! #[traced(attrs(user.id = user_id))]
//! fn load_profile(user_id: u64) -> Result<String, std::io::Error> {
//!     current_span().add_event("cache.miss", []);
//!     Ok(format!("user {user_id}"))
//! }
//!
//! let _guard = trace_runtime::init().service_name("profiles").install().unwrap();
//! load_profile(42).unwrap();
//! // the guard flushes on drop and the trace is printed as a tree
//! ```
//!
//! - [`init`] sets up export (console by default) and returns a [`Guard`].
//! - [`current_span`], [`current_root_span`] and [`span`] give [`SpanHandle`]s.
//! - [`set_global_tag`] adds attributes to every span.
//! - [`CurrentSpanExt`] and [`bind_current_span`] carry the current span into
//!   spawned tasks and threads.
//! - `testing` (feature `testing`) captures spans in your tests.
//!
//! With nothing installed, a traced function costs about as much as a plain
//! call; a provider set with `opentelemetry::global::set_tracer_provider` is
//! honoured without `init()`.
//!
//! Items behind a cargo feature (`testing`, `grpc`, `tls`, `otlp`) say so
//! in these docs; docs.rs builds them with every feature on.

// On docs.rs (nightly, `--cfg docsrs`), `doc_cfg` labels every item behind a
// cargo feature with the feature it needs, from its `#[cfg]`.
#![cfg_attr(docsrs, feature(doc_cfg))]

// Modules in the order a span's data flows, bottom-up (README "Layout").

// Call-site metadata, attribute values, global tags.
mod callsite;
mod values;
// (global tags join each span's record)
mod tags;
// (where each span's local root is, which every span carries)
mod local_root;

// The span engine, then the dispatch of each span to a provider.
mod engine;
// (which provider: the engine, a test capture, or one set by the user)
mod dispatch;

// Spans as values (handles, guards, the one start path), then on top: the
// current span and carrying it (context), exceptions recorded on spans.
mod span;
// (context reads the current span through span handles)
mod context;
mod exceptions;

// Configuration (builder, environment, samplers, errors), then export.
mod config;
mod export;

// Across processes; metrics and logs beside the spans.
mod logs;
pub mod metrics;
pub mod propagation;

// Integrations, each behind the cargo feature named after its crate.
#[cfg(any(feature = "tower", feature = "reqwest-middleware"))]
pub mod http;
#[cfg(feature = "tracing")]
mod tracing_bridge;

// Tests, and the only thing the macro calls.
#[doc(hidden)]
#[path = "private/mod.rs"]
#[allow(rustdoc::private_intra_doc_links)] // hidden; its docs are for maintainers (`--document-private-items`)
pub mod __private;
// `__private_<version>` and the `__traced_runtime_version!` check, generated
// from this crate's version by build.rs.
include!(concat!(env!("OUT_DIR"), "/private_version.rs"));
#[cfg(feature = "testing")]
pub mod testing;

pub use config::{
    init, Builder, Compression, Config, Error, ExportQueueConfig, LogsConfig, MetricsConfig, OtlpConfig, Protocol,
    SpanLimits, TlsConfig,
};
pub use context::{
    bind_current_span, current_root_span, current_span, in_current_span, run_in_span, CurrentSpanExt, InSpan,
};
pub use export::{lost_spans, pending_spans, ConsoleExporter, DatadogConfig, Guard};
pub use logs::{log_ids, lost_logs, LogIds};
#[cfg(feature = "log")]
pub use logs::{logger, Logger};
pub use metrics::meter;
pub use span::{span, NewSpan, SpanGuard, SpanHandle};
pub use tags::{clear_global_tags, global_tags, set_global_tag};
pub use trace_macros::traced;
#[cfg(feature = "tracing")]
pub use tracing_bridge::{tracing_layer, TracingLayer};
pub use values::{debug, display, ArrayElement, AttributeValue, DebugValue, DisplayValue};
#[allow(deprecated)] // the old names stay public until the next major version
pub use {config::BatchConfig, context::spawn_context};

/// Re-exported so that generated code and users agree on one version.
pub use opentelemetry;

/// The OpenTelemetry SDK this crate is built on, re-exported so that
/// [`Sampler`](opentelemetry_sdk::trace::Sampler),
/// [`SpanExporter`](opentelemetry_sdk::trace::SpanExporter) and
/// [`SpanData`](opentelemetry_sdk::trace::SpanData) need no dependency of
/// your own (and never one of a different version).
///
/// ```
/// use trace_runtime::opentelemetry_sdk::trace::Sampler;
///
/// // Keep a quarter of the traces that start here; follow the caller's choice otherwise.
/// let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.25)));
/// let config = trace_runtime::init().env_lookup(|_| None).sampler(sampler).resolve().unwrap();
/// assert!(format!("{:?}", config.sampler).contains("TraceIdRatioBased(0.25)"));
/// ```
pub use opentelemetry_sdk;

/// The README's tour, compiled and run as doctests so it stays true.
#[cfg(all(doctest, feature = "testing", feature = "axum", feature = "reqwest-middleware"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
