//! Reading ids in the shapes the header formats use, and the remote span
//! context they make.

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

/// A remote span context (callers have already refused zero ids).
pub(crate) fn remote(trace: TraceId, span: SpanId, sampled: bool) -> SpanContext {
    let flags = if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
    SpanContext::new(trace, span, flags, true, TraceState::NONE)
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b.to_ascii_lowercase()))
}

/// A trace id of exactly one of `lens` hex digits (a 16-digit id is the low half); not zero.
pub(crate) fn trace_id_hex(s: &str, lens: &[usize]) -> Option<TraceId> {
    (lens.contains(&s.len()) && is_hex(s)).then_some(())?;
    let id = u128::from_str_radix(s, 16).ok()?;
    (id != 0).then(|| TraceId::from(id))
}

/// A span id of exactly one of `lens` hex digits; not zero.
pub(crate) fn span_id_hex(s: &str, lens: &[usize]) -> Option<SpanId> {
    (lens.contains(&s.len()) && is_hex(s)).then_some(())?;
    let id = u64::from_str_radix(s, 16).ok()?;
    (id != 0).then(|| SpanId::from(id))
}

/// A trace id of 1 to 32 hex digits (left-padded); not zero.
pub(crate) fn padded_trace_id(s: &str) -> Option<TraceId> {
    (!s.is_empty() && s.len() <= 32 && is_hex(s)).then_some(())?;
    let id = u128::from_str_radix(s, 16).ok()?;
    (id != 0).then(|| TraceId::from(id))
}

/// A span id of 1 to 16 hex digits (left-padded); not zero.
pub(crate) fn padded_span_id(s: &str) -> Option<SpanId> {
    (!s.is_empty() && s.len() <= 16 && is_hex(s)).then_some(())?;
    let id = u64::from_str_radix(s, 16).ok()?;
    (id != 0).then(|| SpanId::from(id))
}
