//! The only items `#[traced]` expands to, re-exported as
//! `__private_<version>` so that only the trace-macros of the same version
//! finds them. Not public API: names and signatures change without notice.
//!
//! A span starts through one of four entry points, one per body shape:
//! [`enter_sync`] (a sync body, which runs right there), [`start_async`] (an
//! `async` body, on its first poll), and for a function returning a future
//! [`prepare_future`] (at the call) then [`start_future`] (on the first poll).
//! Each is past [`nothing_to_do`] (one relaxed load: no provider, no test
//! capture, no metrics; the expansion of a sync function checks it itself)
//! and the closures the macro passes (argument recording, `parent`,
//! `links`) run only once a span may record.

mod entered;
mod instrumented;
mod options;
mod record;

use opentelemetry::{Context, Key, KeyValue};

pub use crate::callsite::Meta;
pub use crate::exceptions::outcome::{
    IsErr, NeverErr, Outcome, RecordErrorDebug, RecordErrorDisplay, RecordErrorSource, RecordNothing,
};
pub use crate::metrics::CallSite;
pub use crate::values::{debug, display, AttributeValue};
pub use entered::Entered;
pub use instrumented::{Finished, Instrumented};
pub use opentelemetry::trace::SpanKind;
pub use options::{IntoLinks, IntoParent, Options, Parent};
pub use record::{Arg, RecordArg, ResultTag, Ret, RetResultKind, RetValueKind, ReturnValue, SkipArg, ValueTag};

use crate::dispatch;
use crate::metrics::Call;
use crate::span::start::{start_span, start_span_or_skip, RecordAttribute, SpanSpec, Started};

/// One `static` per traced function, emitted by the macro: what is known
/// of it at compile time ([`Meta`], which spans point at) and its RED
/// metrics ([`CallSite`]). Kept together here, at the top of the runtime,
/// so neither layer below imports the other.
#[derive(Debug)]
pub struct Site {
    /// Name, kind, service and source location: what spans point at.
    pub meta: Meta,
    /// The function's RED metrics (`function.calls`, ...).
    pub calls: CallSite,
}

/// Records the `attrs(..)` and `args` of a traced function; only called when
/// the span is recording (or, for a function returning a future, when it is
/// called and something is installed).
pub struct Recorder<'a> {
    target: Target<'a>,
}

enum Target<'a> {
    Span(&'a mut dyn RecordAttribute),
    List(&'a mut Vec<KeyValue>),
}

impl Recorder<'_> {
    #[inline]
    pub fn record<V: AttributeValue + ?Sized>(&mut self, key: &'static str, value: &V) {
        if let Some(value) = value.to_attribute_value() {
            let kv = KeyValue::new(Key::from_static_str(key), value);
            match &mut self.target {
                Target::Span(span) => span.record_attribute(kv),
                Target::List(list) => list.push(kv),
            }
        }
    }
}

/// True when a traced call has nothing to do: no provider, no test capture,
/// no RED metrics. One relaxed load; the expansion checks it first and then
/// runs the body as a plain call with nothing after it.
#[inline(always)]
pub fn nothing_to_do() -> bool {
    dispatch::nothing_to_do()
}

/// Starts the span of a sync traced function and makes it current (called
/// past [`nothing_to_do`]).
#[inline(never)]
pub fn enter_sync(
    site: &'static Site,
    setup: impl FnOnce(&mut Options),
    record: impl FnOnce(&mut Recorder<'_>),
) -> Entered {
    let (meta, call) = (&site.meta, Call::begin(&site.calls, true));
    // No provider, or a span the sampler is known to drop (under a
    // sampled-out parent): only the metrics, if on.
    if dispatch::is_off() || dispatch::drops_under_current() {
        return Entered::disabled(call);
    }
    Entered::new(start_with(meta, setup, record, Body::Sync), call)
}

/// Starts the span of an async traced function (on its first poll); it is
/// made current on each poll by [`Instrumented`].
#[inline]
pub fn start_async(
    site: &'static Site,
    setup: impl FnOnce(&mut Options),
    record: impl FnOnce(&mut Recorder<'_>),
) -> AsyncStart {
    if dispatch::nothing_to_do() {
        return AsyncStart { cx: None, call: None };
    }
    let (meta, call) = (&site.meta, Call::begin(&site.calls, false));
    if dispatch::is_off() {
        return AsyncStart { cx: None, call };
    }
    AsyncStart { cx: start_with(meta, setup, record, Body::Async), call }
}

/// Where a traced body runs, which decides how its span is made current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// Right here, under the current context, until the call returns.
    Sync,
    /// In a future, current on each poll wherever it is polled.
    Async,
}

/// The span and the metrics of an async traced call, once it started.
#[derive(Debug)]
pub struct AsyncStart {
    cx: Option<Context>,
    call: Option<Call>,
}

/// What a function returning a future knows when it is called: its
/// arguments are recorded then, the span starts when the future is first
/// polled ([`start_future`]).
#[derive(Debug)]
pub struct Prepared {
    meta: &'static Meta,
    options: Options,
    attributes: Vec<KeyValue>,
}

/// Evaluates `attrs`, `args`, `parent` and `links` of a function returning a
/// future whose body is not a lone `async move` block, at call time, while
/// the arguments are still there.
///
/// Whether there is a span at all is decided here too, by whether a span
/// started here would be recorded: a future made outside a test capture and
/// awaited inside it has none, whatever else runs in the process.
#[inline]
pub fn prepare_future(
    site: &'static Site,
    setup: impl FnOnce(&mut Options),
    record: impl FnOnce(&mut Recorder<'_>),
) -> Option<Prepared> {
    if dispatch::is_off() {
        return None;
    }
    dispatch::with_tracer(&Context::current(), |_, _| ())?;
    let mut options = Options::default();
    setup(&mut options);
    let mut attributes = Vec::new();
    record(&mut Recorder { target: Target::List(&mut attributes) });
    Some(Prepared { meta: &site.meta, options, attributes })
}

/// Starts the span [`prepare_future`]d at call time, on the future's first
/// poll, under the span current then.
#[inline]
pub fn start_future(site: &'static Site, prepared: Option<Prepared>) -> AsyncStart {
    if prepared.is_none() && dispatch::nothing_to_do() {
        return AsyncStart { cx: None, call: None };
    }
    let call = Call::begin(&site.calls, false);
    let cx = prepared.and_then(|Prepared { meta, options, attributes }| {
        start_span_of(meta, options, attributes, |_| {}, Body::Async)
    });
    AsyncStart { cx, call }
}

/// Evaluates `parent` and `links` and starts the span, recording `attrs`
/// and `args` on it if it records.
fn start_with(
    meta: &'static Meta,
    setup: impl FnOnce(&mut Options),
    record: impl FnOnce(&mut Recorder<'_>),
    body: Body,
) -> Option<Context> {
    // The first span of the process resolves what is installed: the user's
    // `parent` and `links` run only once something may record.
    dispatch::ensure_router();
    if dispatch::is_off() {
        return None;
    }
    let mut options = Options::default();
    setup(&mut options);
    start_span_of(meta, options, Vec::new(), |span| record(&mut Recorder { target: Target::Span(span) }), body)
}

/// The span of `meta` with what the options and recorded attributes say,
/// through the span engine's `start_span_or_skip` / `start_span`.
fn start_span_of(
    meta: &'static Meta,
    options: Options,
    recorded: Vec<KeyValue>,
    record: impl FnOnce(&mut dyn RecordAttribute),
    body: Body,
) -> Option<Context> {
    // The `code.*` attributes are added by `start_span` once it knows the
    // span will be built (none for a span the sampler is known to drop).
    let mut spec = SpanSpec {
        name: meta.name.into(),
        kind: meta.kind.clone(),
        service: meta.service.map(Into::into),
        attributes: recorded,
        links: options.links,
        code: Some(meta),
        new_trace: false,
    };
    match options.parent {
        // A sync body under the current context, whose span the sampler is
        // known to drop: nothing to attach, the current context stays (a
        // future, by contrast, must carry the context to wherever it is polled).
        options::Parent::Current if body == Body::Sync => {
            match start_span_or_skip(spec, &Context::current(), record)? {
                Started::Span(cx) => Some(cx),
                Started::Skipped => None,
            }
        }
        options::Parent::Current => start_span(spec, &Context::current(), record),
        options::Parent::Explicit(parent) => start_span(spec, &parent, record),
        options::Parent::Root => {
            spec.new_trace = true;
            start_span(spec, &Context::current(), record)
        }
    }
}

/// Runs the body of a sync traced function as a plain call, when there is
/// nothing to do. By value, as `FnOnce`: the closure may capture `&mut`
/// arguments (an `FnMut` called in place would need a `mut` binding).
#[inline(always)]
pub fn run<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// `catch_unwind` for the body of a sync traced function. The closure is only
/// run once and the panic is resumed right after it is recorded, so no broken
/// invariant can be observed: asserting unwind safety is sound.
#[inline(always)]
pub fn catch_unwind<R>(body: impl FnOnce() -> R) -> std::thread::Result<R> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
}
