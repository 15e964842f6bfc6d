//! Jaeger's `uber-trace-id: {trace}:{span}:{parent}:{flags}` (ids in hex of
//! up to 32 and 16 digits, left-padded; flags bit 1 = sampled, bit 2 =
//! debug, which implies sampled). The value may arrive URL-encoded (`%3A`).

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::SpanContext;

use super::ids::{padded_span_id, padded_trace_id, remote};

pub(crate) const HEADER: &str = "uber-trace-id";
pub(crate) const FIELDS: &[&str] = &[HEADER];

pub(crate) fn extract(get: &dyn Extractor) -> Option<SpanContext> {
    let raw = get.get(HEADER)?.trim();
    let decoded;
    let value = if raw.contains('%') {
        decoded = raw.replace("%3A", ":").replace("%3a", ":");
        decoded.as_str()
    } else {
        raw
    };
    let parts: Vec<&str> = value.split(':').collect();
    let [trace, span, parent, flags] = parts[..] else { return None };
    let trace = padded_trace_id(trace)?;
    let span = padded_span_id(span)?;
    // The parent id is deprecated ("0"), but must still be hex.
    if parent.is_empty() || parent.len() > 16 || !parent.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if flags.is_empty() || flags.len() > 2 {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some(remote(trace, span, flags & 0b11 != 0))
}

pub(crate) fn inject(sc: &SpanContext, set: &mut dyn Injector) {
    let flags = if sc.is_sampled() { "1" } else { "0" };
    set.set(HEADER, format!("{}:{}:0:{flags}", sc.trace_id(), sc.span_id()));
}
