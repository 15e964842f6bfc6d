//! Continuing a trace across processes: W3C Trace Context (`traceparent`,
//! `tracestate`) and W3C Baggage (`baggage`), injected into outgoing and
//! extracted from incoming headers.
//!
//! A client puts the current span into its request headers with [`inject`];
//! a server continues the caller's trace with [`extract`] (a parent for a
//! span), [`attach`] (a guard), [`in_remote_context`] (a closure) or
//! [`with_remote_parent`] (a future).
//!
//! ```
//! use trace_runtime::{propagation, traced};
//!
//! // Client side: headers for the outgoing request.
//! #[traced(kind = client)]
//! fn call_backend() -> http::HeaderMap {
//!     let mut headers = http::HeaderMap::new();
//!     propagation::inject(&mut headers);
//!     headers // send them with the request
//! }
//!
//! // Server side: the handler's span continues the caller's trace.
//! #[traced(kind = server)]
//! fn handle() {}
//!
//! # let _guard = trace_runtime::init().env_lookup(|_| None).exporter(trace_runtime::ConsoleExporter::to_writer(std::io::sink())).install().unwrap();
//! let headers = call_backend();
//! propagation::in_remote_context(&headers, handle);
//! ```
//!
//! The formats spoken are set by `OTEL_PROPAGATORS` or
//! [`Builder::propagators`](crate::Builder::propagators): `tracecontext`,
//! `baggage`, `b3`, `b3multi`, `jaeger`, `datadog` or `none` (default
//! `tracecontext,baggage`); see [`Propagator`]. Extraction tries them in
//! order and the first valid one wins; injection writes them all.
//!
//! Headers that are missing, malformed, oversized or hostile never fail and
//! never panic, and nothing of them is used: the work starts a new trace
//! (or, if a span is current where the headers are extracted, stays in that
//! local trace), and baggage that cannot be read is dropped. W3C Trace
//! Context is parsed exactly: `traceparent` (Level 1) must be lowercase hex
//! fields of 2, 32, 16 and 2 digits, version `ff` and all-zero ids are
//! invalid, a repeated `traceparent` is invalid; a `tracestate` that breaks
//! the current (Level 2) key or value grammar or has more than 32 members is
//! discarded whole, while the trace is continued; a repeated `tracestate`
//! key keeps its first entry; an empty `tracestate` is never sent; values
//! over 8 KiB are ignored.
//!
//! When the application set its own propagator with
//! `opentelemetry::global::set_text_map_propagator`, that one is used instead.

mod b3;
mod baggage;
mod carrier;
pub(crate) mod datadog;
pub(crate) mod dd_member;
mod formats;
pub(crate) mod handled;
mod ids;
mod jaeger;
mod tracestate;
mod w3c;

use std::collections::HashMap;
use std::future::Future;

use opentelemetry::baggage::{BaggageExt, KeyValueMetadata};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry::{Context, ContextGuard};

pub use carrier::{Extract, Inject};
pub(crate) use formats::{parse_list, set_active, Configured, ACCEPTED};
pub use formats::{Propagator, Propagators, UnknownPropagator};

use crate::context::{CurrentSpanExt, InSpan};
use crate::local_root::LocalTrace;
use crate::SpanHandle;

/// Longest header value read; longer ones are ignored (W3C asks receivers to
/// handle 512 characters of `tracestate` and 8192 bytes of baggage).
const MAX_HEADER_LEN: usize = 8192;

/// The context to run a request's work in: the caller's span as remote
/// parent (when the headers carry a valid one) and the caller's baggage, on
/// top of the current context. Use it as the parent of the handler's span.
///
/// With no valid `traceparent` nothing of the caller's trace is used: the
/// context is the current one (plus the caller's baggage, if readable), so
/// the next span starts a new trace, or, when a span is current here,
/// stays in that local trace.
///
/// ```
/// use opentelemetry::trace::TraceContextExt;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
/// let cx = trace_runtime::propagation::extract(&headers);
/// assert_eq!(cx.span().span_context().trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
///
/// // A span with this parent continues the caller's trace.
/// let span = trace_runtime::span("GET /orders").parent(cx).start();
/// # span.end();
/// ```
pub fn extract(carrier: &impl Extract) -> Context {
    extract_onto(&Context::current(), carrier)
}

/// Like [`extract`], on top of `base` instead of the current context.
///
/// ```
/// use opentelemetry::trace::TraceContextExt;
///
/// let headers = std::collections::HashMap::<String, String>::new();
/// let cx = trace_runtime::propagation::extract_onto(&opentelemetry::Context::new(), &headers);
/// assert!(!cx.span().span_context().is_valid()); // nothing to continue: a new trace
/// ```
pub fn extract_onto(base: &Context, carrier: &impl Extract) -> Context {
    let fresh = extract_fields(&read_fields(carrier));
    let remote = fresh.span().span_context().clone();
    let incoming: Vec<KeyValueMetadata> = fresh
        .baggage()
        .iter()
        .map(|(key, (value, metadata))| KeyValueMetadata::new(key.clone(), value.clone(), metadata.clone()))
        .collect();
    if remote.is_valid() && handled::already_continued(base, &remote) {
        // A server layer already continued this caller: stay in its span.
        return base.clone();
    }
    if !remote.is_valid() {
        // Nothing to continue: the work stays in the current trace, or
        // starts a new one when no span is current.
        return if incoming.is_empty() { base.clone() } else { base.with_baggage(incoming) };
    }
    let mut cx = base.with_remote_span_context(remote).with_baggage(incoming);
    if let Some(raw) = fresh.get::<w3c::RawTraceState>() {
        cx = cx.with_value(raw.clone());
    }
    if let Some(error) = fresh.get::<datadog::PropagationError>() {
        cx = cx.with_value(*error);
    }
    // Descendants must not inherit the service of whatever was current
    // here: this is the start of another request's work.
    cx.with_value(LocalTrace { service: None })
}

/// Only the caller's span context, if the headers carry a valid one: for a
/// link (a consumer linking the message's producer) rather than a parent.
///
/// ```
/// let mut headers = std::collections::HashMap::new();
/// headers.insert("traceparent".to_owned(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned());
/// let producer = trace_runtime::propagation::remote_span_context(&headers).unwrap();
/// assert!(producer.is_remote());
/// let span = trace_runtime::span("process").link(producer).start();
/// # span.end();
/// ```
pub fn remote_span_context(carrier: &impl Extract) -> Option<SpanContext> {
    let cx = extract_fields(&read_fields(carrier));
    let sc = cx.span().span_context().clone();
    sc.is_valid().then_some(sc)
}

/// Writes the current span (and baggage) into outgoing headers. With no
/// span current nothing is written for the trace, so the receiver starts
/// its own.
///
/// ```
/// use trace_runtime::traced;
///
/// #[traced(kind = client)]
/// fn fetch() -> std::collections::HashMap<String, String> {
///     let mut headers = std::collections::HashMap::new();
///     trace_runtime::propagation::inject(&mut headers);
///     headers
/// }
/// let _headers = fetch();
/// ```
pub fn inject(carrier: &mut impl Inject) {
    inject_context(&Context::current(), carrier);
}

/// Writes the span and baggage of `cx` into outgoing headers.
///
/// ```
/// let span = trace_runtime::span("enqueue").start();
/// let mut headers = http::HeaderMap::new();
/// trace_runtime::propagation::inject_context(span.context(), &mut headers);
/// # span.end();
/// ```
pub fn inject_context(cx: &Context, carrier: &mut impl Inject) {
    let mut adapter = InjectAdapter(carrier);
    opentelemetry::global::get_text_map_propagator(|p| {
        let p: &dyn TextMapPropagator = if is_set(p) { p } else { &Configured };
        p.inject_context(cx, &mut adapter);
    });
}

/// Makes the caller's context current on this thread until the guard drops:
/// spans started meanwhile continue the caller's trace.
///
/// ```
/// # let headers = http::HeaderMap::new();
/// let _remote = trace_runtime::propagation::attach(&headers);
/// let span = trace_runtime::span("handle").enter(); // child of the caller's span
/// # drop(span);
/// ```
#[must_use = "the remote context is current only while the guard lives"]
pub fn attach(carrier: &impl Extract) -> ContextGuard {
    extract(carrier).attach()
}

/// Runs `f` with the caller's context current: spans started inside continue
/// the caller's trace.
///
/// ```
/// use trace_runtime::traced;
///
/// #[traced(kind = server)]
/// fn get_order(id: u64) -> u64 { id }
///
/// # let headers = http::HeaderMap::new();
/// let order = trace_runtime::propagation::in_remote_context(&headers, || get_order(7));
/// assert_eq!(order, 7);
/// ```
pub fn in_remote_context<R>(carrier: &impl Extract, f: impl FnOnce() -> R) -> R {
    let _attached = attach(carrier);
    f()
}

/// Runs `future` with the caller's context current on every poll: for async
/// handlers.
///
/// ```
/// use trace_runtime::traced;
///
/// #[traced(kind = server)]
/// async fn list_orders() -> usize { 3 }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let headers = http::HeaderMap::new();
/// let n = trace_runtime::propagation::with_remote_parent(&headers, list_orders()).await;
/// assert_eq!(n, 3);
/// # }
/// ```
pub fn with_remote_parent<F: Future>(carrier: &impl Extract, future: F) -> InSpan<F> {
    future.in_span(&SpanHandle::from_context(extract(carrier)))
}

/// True for a propagator that does something (the global default is a no-op
/// with no fields).
fn is_set(propagator: &dyn TextMapPropagator) -> bool {
    propagator.fields().next().is_some()
}

fn extract_fields(fields: &Fields) -> Context {
    opentelemetry::global::get_text_map_propagator(|p| {
        let p: &dyn TextMapPropagator = if is_set(p) { p } else { &Configured };
        p.extract_with_context(&Context::new(), fields)
    })
}

/// The propagation fields from the carrier, length-limited, in a map the
/// propagators can read.
fn read_fields(carrier: &impl Extract) -> Fields {
    let mut map = HashMap::new();
    let names: Vec<String> = opentelemetry::global::get_text_map_propagator(|p| {
        if is_set(p) {
            p.fields().map(str::to_owned).collect()
        } else {
            Configured.fields().map(str::to_owned).collect()
        }
    });
    for name in names {
        let name = name.to_ascii_lowercase();
        if let Some(value) = carrier.get_header(&name) {
            let value = value.trim();
            if value.len() <= MAX_HEADER_LEN {
                map.insert(name, value.to_owned());
            }
        }
    }
    Fields(map)
}

struct Fields(HashMap<String, String>);

impl Extractor for Fields {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(&key.to_ascii_lowercase()).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

struct InjectAdapter<'a, C: Inject + ?Sized>(&'a mut C);

impl<C: Inject + ?Sized> Injector for InjectAdapter<'_, C> {
    fn set(&mut self, key: &str, value: String) {
        self.0.set_header(&key.to_ascii_lowercase(), value);
    }
}
