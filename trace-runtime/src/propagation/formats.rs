//! Which header formats are spoken: [`Propagator`], chosen with
//! `OTEL_PROPAGATORS` or [`Builder::propagators`](crate::Builder::propagators)
//! (default `tracecontext,baggage`). Extraction tries the trace formats in
//! the configured order and the first valid one wins; baggage is read in
//! addition. Injection writes every configured format.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::LazyLock;

use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry::Context;

use super::{b3, baggage, datadog, jaeger, w3c};

/// One propagation format (a value of `OTEL_PROPAGATORS`).
///
/// ```
/// use trace_runtime::propagation::Propagator;
///
/// assert_eq!("b3multi".parse::<Propagator>().unwrap(), Propagator::B3Multi);
/// assert_eq!(Propagator::Datadog.to_string(), "datadog");
/// assert!("xray".parse::<Propagator>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Propagator {
    /// W3C Trace Context: `traceparent`, `tracestate` (`tracecontext`).
    TraceContext,
    /// W3C Baggage: `baggage` (`baggage`).
    Baggage,
    /// Zipkin B3, single header `b3` (`b3`).
    B3,
    /// Zipkin B3, `x-b3-*` headers (`b3multi`).
    B3Multi,
    /// Jaeger's `uber-trace-id` (`jaeger`).
    Jaeger,
    /// Datadog's `x-datadog-*` headers (`datadog`).
    Datadog,
}

/// The values `OTEL_PROPAGATORS` accepts, for error messages.
pub(crate) const ACCEPTED: &str =
    "a comma-separated list of tracecontext, baggage, b3, b3multi, jaeger, datadog, or none";

const ALL: [Propagator; 6] = [
    Propagator::TraceContext,
    Propagator::Baggage,
    Propagator::B3,
    Propagator::B3Multi,
    Propagator::Jaeger,
    Propagator::Datadog,
];

impl Propagator {
    fn name(self) -> &'static str {
        match self {
            Propagator::TraceContext => "tracecontext",
            Propagator::Baggage => "baggage",
            Propagator::B3 => "b3",
            Propagator::B3Multi => "b3multi",
            Propagator::Jaeger => "jaeger",
            Propagator::Datadog => "datadog",
        }
    }

    fn fields(self) -> &'static [&'static str] {
        match self {
            Propagator::TraceContext => w3c::FIELDS,
            Propagator::Baggage => baggage::FIELDS,
            Propagator::B3 => b3::SINGLE_FIELDS,
            Propagator::B3Multi => b3::MULTI_FIELDS,
            Propagator::Jaeger => jaeger::FIELDS,
            Propagator::Datadog => datadog::FIELDS,
        }
    }

    fn code(self) -> u32 {
        ALL.iter().position(|&p| p == self).map_or(0, |i| i as u32 + 1)
    }
}

impl fmt::Display for Propagator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing an unknown propagator name.
///
/// ```
/// let err = "zipkin".parse::<trace_runtime::propagation::Propagator>().unwrap_err();
/// assert!(err.to_string().contains("b3multi"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPropagator(pub String);

impl fmt::Display for UnknownPropagator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown propagator {:?}; expected {ACCEPTED}", self.0)
    }
}

impl std::error::Error for UnknownPropagator {}

impl FromStr for Propagator {
    type Err = UnknownPropagator;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL.into_iter().find(|p| p.name() == s.trim()).ok_or_else(|| UnknownPropagator(s.trim().to_owned()))
    }
}

/// Parses `OTEL_PROPAGATORS`: names separated by commas, duplicates kept
/// once, `none` alone for no propagation. `None` for an unknown name or
/// `none` mixed with others.
pub(crate) fn parse_list(value: &str) -> Option<Vec<Propagator>> {
    let names: Vec<&str> = value.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
    if names == ["none"] {
        return Some(Vec::new());
    }
    let mut list = Vec::new();
    for name in names {
        let propagator = name.parse::<Propagator>().ok()?;
        if !list.contains(&propagator) {
            list.push(propagator);
        }
    }
    Some(list)
}

/// The process-wide list, packed 3 bits per entry (0 ends it), so the
/// header path reads it with one relaxed load and no lock.
static ACTIVE: AtomicU32 = AtomicU32::new(pack(&[Propagator::TraceContext, Propagator::Baggage]));

const fn pack(list: &[Propagator]) -> u32 {
    let mut packed = 0;
    let mut i = 0;
    while i < list.len() && i < ALL.len() {
        let code = match list[i] {
            Propagator::TraceContext => 1,
            Propagator::Baggage => 2,
            Propagator::B3 => 3,
            Propagator::B3Multi => 4,
            Propagator::Jaeger => 5,
            Propagator::Datadog => 6,
        };
        packed |= code << (3 * i);
        i += 1;
    }
    packed
}

fn unpack(mut packed: u32) -> impl Iterator<Item = Propagator> + Clone {
    std::iter::from_fn(move || {
        let code = packed & 0b111;
        packed >>= 3;
        (code != 0).then(|| ALL[code as usize - 1])
    })
}

/// Makes `list` the formats [`inject`](super::inject) and
/// [`extract`](super::extract) use (called by `install()`).
pub(crate) fn set_active(list: &[Propagator]) {
    debug_assert!(list.iter().all(|p| p.code() != 0));
    ACTIVE.store(pack(list), Ordering::Relaxed);
}

/// The caller's context from the first trace format that holds a valid
/// span, plus baggage when `baggage` is listed.
pub(crate) fn extract_list(
    list: impl Iterator<Item = Propagator> + Clone,
    cx: &Context,
    get: &dyn Extractor,
) -> Context {
    let mut found: Option<(SpanContext, Option<w3c::RawTraceState>)> = None;
    let mut dd_error = None;
    for propagator in list.clone() {
        found = match propagator {
            Propagator::TraceContext => w3c::extract(get),
            Propagator::B3 => b3::extract_single(get).map(|sc| (sc, None)),
            Propagator::B3Multi => b3::extract_multi(get).map(|sc| (sc, None)),
            Propagator::Jaeger => jaeger::extract(get).map(|sc| (sc, None)),
            Propagator::Datadog => datadog::extract(get).map(|(sc, error)| {
                dd_error = error;
                (sc, None)
            }),
            Propagator::Baggage => None,
        };
        if found.is_some() {
            break;
        }
    }
    let mut cx = match found {
        Some((sc, raw)) => {
            let mut cx = cx.with_remote_span_context(sc);
            if let Some(error) = dd_error {
                cx = cx.with_value(error);
            }
            match raw {
                Some(raw) => cx.with_value(raw),
                None => cx,
            }
        }
        None => cx.clone(),
    };
    if list.clone().any(|p| p == Propagator::Baggage) {
        cx = baggage::extract(&cx, get);
    }
    cx
}

/// Writes `cx`'s span in every listed format (nothing for a context with
/// no valid span) and its baggage when `baggage` is listed.
pub(crate) fn inject_list(list: impl Iterator<Item = Propagator>, cx: &Context, set: &mut dyn Injector) {
    let span = cx.span();
    let sc = span.span_context();
    for propagator in list {
        match propagator {
            Propagator::Baggage => baggage::inject(cx, set),
            _ if !sc.is_valid() => {}
            Propagator::TraceContext => w3c::inject(cx, sc, set),
            Propagator::B3 => b3::inject_single(sc, set),
            Propagator::B3Multi => b3::inject_multi(sc, set),
            Propagator::Jaeger => jaeger::inject(sc, set),
            Propagator::Datadog => datadog::inject(cx, sc, set),
        }
    }
}

/// A fixed list of formats as an OpenTelemetry propagator, for code that
/// wants other formats than the process-wide ones (e.g. one per outgoing
/// integration), or to hand to `opentelemetry::global`.
///
/// ```
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
/// use std::collections::HashMap;
/// use trace_runtime::propagation::{Propagator, Propagators};
///
/// let datadog = Propagators::new([Propagator::Datadog]);
/// let headers = HashMap::from([
///     ("x-datadog-trace-id".to_owned(), "1234".to_owned()),
///     ("x-datadog-parent-id".to_owned(), "5678".to_owned()),
/// ]);
/// let cx = datadog.extract(&headers);
/// assert_eq!(cx.span().span_context().span_id().to_string(), format!("{:016x}", 5678));
/// ```
#[derive(Debug, Clone)]
pub struct Propagators {
    list: Vec<Propagator>,
    fields: Vec<String>,
}

impl Propagators {
    /// The formats in `list`, in order (duplicates once; empty = none).
    ///
    /// ```
    /// use trace_runtime::propagation::{Propagator, Propagators};
    /// let p = Propagators::new([Propagator::B3, Propagator::TraceContext]);
    /// assert_eq!(p.list(), &[Propagator::B3, Propagator::TraceContext]);
    /// ```
    pub fn new(list: impl IntoIterator<Item = Propagator>) -> Self {
        let mut unique: Vec<Propagator> = Vec::new();
        for p in list {
            if !unique.contains(&p) {
                unique.push(p);
            }
        }
        let fields = unique.iter().flat_map(|p| p.fields()).map(|&f| f.to_owned()).collect();
        Propagators { list: unique, fields }
    }

    /// The formats, in order.
    ///
    /// ```
    /// let p = trace_runtime::propagation::Propagators::new([]);
    /// assert!(p.list().is_empty());
    /// ```
    pub fn list(&self) -> &[Propagator] {
        &self.list
    }
}

impl TextMapPropagator for Propagators {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        inject_list(self.list.iter().copied(), cx, injector);
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        extract_list(self.list.iter().copied(), cx, extractor)
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

/// The process-wide formats (`OTEL_PROPAGATORS`, `init().propagators(..)`),
/// read at each call: what `install()` makes the global OpenTelemetry
/// propagator, and what `propagation::inject`/`extract` use.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Configured;

/// Every field any format reads: what `Configured` reports (a superset is
/// harmless; the list can change after it is asked).
static ALL_FIELDS: LazyLock<Vec<String>> =
    LazyLock::new(|| ALL.iter().flat_map(|p| p.fields()).map(|&f| f.to_owned()).collect());

impl TextMapPropagator for Configured {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        inject_list(unpack(ACTIVE.load(Ordering::Relaxed)), cx, injector);
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        extract_list(unpack(ACTIVE.load(Ordering::Relaxed)), cx, extractor)
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&ALL_FIELDS)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test reports
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_pack() {
        assert_eq!(parse_list("tracecontext, baggage").unwrap(), [Propagator::TraceContext, Propagator::Baggage]);
        assert_eq!(parse_list("none").unwrap(), []);
        assert_eq!(parse_list("b3,b3").unwrap(), [Propagator::B3]);
        assert!(parse_list("none,b3").is_none());
        assert!(parse_list("xray").is_none());
        assert!(parse_list("B3").is_none());
        let all = ALL.to_vec();
        assert_eq!(unpack(pack(&all)).collect::<Vec<_>>(), all);
        assert_eq!(unpack(pack(&[])).count(), 0);
    }
}
