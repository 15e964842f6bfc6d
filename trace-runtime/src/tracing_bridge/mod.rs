//! `tracing`, built in (feature `tracing`): [`tracing_layer`] makes the spans
//! and events of every crate that uses `tracing` part of traced's traces,
//! with no tracing-opentelemetry.
//!
//! One job per file: `layer` (spans: start, enter, record, close), `fields`
//! (span fields to attributes, `otel.*` fields), `events` (events to span
//! events), `entered` (which contexts this thread's entered spans made
//! current), `install` (the subscriber `init()` sets when there is none).

mod entered;
mod events;
mod fields;
mod install;
mod layer;

pub(crate) use install::install_default;
pub use layer::TracingLayer;

/// A [`tracing_subscriber::Layer`] that puts `tracing` spans and events in
/// the same traces as `#[traced]` spans, through traced's own span path
/// (same provider, sampler, global tags, service and test captures).
///
/// ```
/// use trace_runtime::testing::{capture, SpanDataExt};
/// use tracing_subscriber::layer::SubscriberExt;
///
/// #[trace_runtime::traced]
/// fn checkout() {
///     // A dependency's `tracing` code, called from a traced function:
///     let span = tracing::info_span!("db.query", db.rows = 3_u64);
///     span.in_scope(|| tracing::info!(cached = false, "query done"));
/// }
///
/// let subscriber = tracing_subscriber::registry().with(trace_runtime::tracing_layer());
/// let c = tracing::subscriber::with_default(subscriber, || capture(checkout));
/// let query = c.span("db.query");
/// assert!(query.is_child_of(c.span("checkout")));
/// assert_eq!(query.attribute("db.rows"), Some(&3_i64.into()));
/// assert_eq!(query.event_attribute("query done", "cached"), Some(&false.into()));
/// ```
///
/// # Spans
///
/// A `tracing` span (`info_span!`, `#[instrument]`, a dependency's such as
/// tower-http's `TraceLayer`) starts a span when it is created, under the
/// span current then — a `tracing` span or a `#[traced]` one, whichever is
/// innermost — or under its explicit `parent:`; `parent: None` starts a new
/// trace. While the `tracing` span is entered (on every poll of an
/// `.instrument()`ed future) its span is OpenTelemetry's current span, so
/// `#[traced]` functions, [`current_span`](crate::current_span) and raw
/// OpenTelemetry calls inside it nest under it. It ends when the `tracing`
/// span closes (its last handle is dropped).
///
/// - Name: the `tracing` span's name, or its `otel.name` field.
/// - Fields, including those `record()`ed later: typed attributes (`i64`,
///   `u64` — above `i64::MAX` as a string —, `f64`, `bool`, strings; `%`
///   and `?` values as strings; errors as their message).
/// - `code.file.path`, `code.line.number`, `code.module.name` from the callsite.
/// - `otel.kind` (`server`, `client`, `producer`, `consumer`, `internal`;
///   at creation only: a started span's kind cannot change),
///   `otel.status_code` (`ok`, `error`, `unset`) and
///   `otel.status_description` (status ERROR with that message) are read
///   as tracing-opentelemetry reads them, and are not attributes.
/// - `follows_from` becomes a link.
///
/// # Events
///
/// A `tracing` event (`info!`, …) becomes an event on the span current
/// where it happens, whichever library made it current: directly inside a
/// `#[traced]` function it lands on that function's span. Its name is its
/// message (else the callsite's name); its fields are typed attributes,
/// plus `level` (`ERROR`, `WARN`, `INFO`, `DEBUG`, `TRACE`) and `target`.
/// An `ERROR` event sets the span's
/// status to ERROR (description: its message, else its `error` field); an
/// event with an `error` field and no message — what `#[instrument(err)]`
/// emits — is named `exception`, with `exception.message`.
///
/// While logs are exported (see [`LogsConfig`](crate::LogsConfig)), every
/// event is also a log record: severity from the level, its message as
/// body, fields as attributes, `code.*` from the callsite, and the ids of
/// the span it happened in; an event outside any span is a record without
/// ids.
///
/// # Beside your own layers
///
/// Add it to the subscriber you already build; filters apply as usual:
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::util::SubscriberInitExt;
///
/// let _guard = tracing_subscriber::registry()
///     .with(tracing_subscriber::fmt::layer())
///     .with(trace_runtime::tracing_layer())
///     .set_default(); // in an application: `.init()`, before `install()`
/// let _tracing = trace_runtime::init().service_name("shop").install().unwrap();
/// ```
///
/// # What `init()` does
///
/// With this feature on, [`Builder::install`](crate::Builder::install) sets
/// `registry()` + `tracing_layer()`, recording up to `INFO`, as the global
/// `tracing` subscriber when none is set yet, so dependencies' spans and
/// events appear with no code. A subscriber set before `install()` is left
/// as it is (add `tracing_layer()` to it). Set yours first: `tracing` has
/// one global subscriber, so one set after `install()` fails
/// (`try_init()` returns the error; `init()` panics).
pub fn tracing_layer() -> TracingLayer {
    TracingLayer::default()
}
