//! Datadog's headers, as ddtrace sends them: `x-datadog-trace-id` (the low
//! 64 bits, decimal), `x-datadog-parent-id` (decimal),
//! `x-datadog-sampling-priority` (> 0 keeps the trace; absent is continued
//! as kept), `x-datadog-origin`, and `x-datadog-tags` whose `_dd.p.tid`
//! holds the upper 64 bits of a 128-bit trace id in 16 hex digits.
//!
//! The origin travels in `tracestate` under `dd` (`o:<origin>`), as ddtrace
//! does, so it reaches every outgoing request of the trace.

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{SpanContext, SpanId, TraceId, TraceState};

use super::ids::remote;
use super::tracestate;

pub(crate) const TRACE_ID: &str = "x-datadog-trace-id";
pub(crate) const PARENT_ID: &str = "x-datadog-parent-id";
pub(crate) const SAMPLING_PRIORITY: &str = "x-datadog-sampling-priority";
pub(crate) const ORIGIN: &str = "x-datadog-origin";
pub(crate) const TAGS: &str = "x-datadog-tags";
pub(crate) const FIELDS: &[&str] = &[TRACE_ID, PARENT_ID, SAMPLING_PRIORITY, ORIGIN, TAGS];

/// ddtrace's limit on `x-datadog-tags`; longer ones are ignored.
const MAX_TAGS_LEN: usize = 512;

fn decimal_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    (!s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())).then_some(())?;
    s.parse().ok().filter(|&id| id != 0)
}

/// The upper 64 bits from `_dd.p.tid`, when the tags carry a valid one.
fn upper_bits(tags: &str) -> Option<u64> {
    if tags.len() > MAX_TAGS_LEN {
        return None;
    }
    let tid = tags.split(',').find_map(|tag| tag.trim().strip_prefix("_dd.p.tid="))?;
    let valid = tid.len() == 16 && tid.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    valid.then(|| u64::from_str_radix(tid, 16).ok()).flatten()
}

pub(crate) fn extract(get: &dyn Extractor) -> Option<SpanContext> {
    let low = decimal_u64(get.get(TRACE_ID)?)?;
    let parent = decimal_u64(get.get(PARENT_ID)?)?;
    let high = get.get(TAGS).and_then(upper_bits).unwrap_or(0);
    let sampled = match get.get(SAMPLING_PRIORITY).map(str::trim) {
        None => true,
        Some(priority) => priority.parse::<i32>().ok()? > 0,
    };
    let trace = TraceId::from((u128::from(high) << 64) | u128::from(low));
    let sc = remote(trace, SpanId::from(parent), sampled);
    let origin = get.get(ORIGIN).map(str::trim).filter(|o| valid_origin(o));
    Some(match origin {
        Some(origin) => {
            let state = TraceState::from_key_value([("dd", format!("o:{origin}"))]).unwrap_or_default();
            SpanContext::new(sc.trace_id(), sc.span_id(), sc.trace_flags(), true, state)
        }
        None => sc,
    })
}

/// An origin that fits a `tracestate` value (and ddtrace's `;`/`:` syntax there).
fn valid_origin(origin: &str) -> bool {
    origin.len() <= 64 && tracestate::valid_value(origin) && !origin.contains([';', ':', ' ', '~'])
}

pub(crate) fn inject(sc: &SpanContext, set: &mut dyn Injector) {
    let id = u128::from_be_bytes(sc.trace_id().to_bytes());
    let (high, low) = ((id >> 64) as u64, id as u64);
    if low == 0 {
        // Datadog cannot represent a trace whose low 64 bits are zero.
        return;
    }
    set.set(TRACE_ID, low.to_string());
    set.set(PARENT_ID, u64::from_be_bytes(sc.span_id().to_bytes()).to_string());
    set.set(SAMPLING_PRIORITY, if sc.is_sampled() { "1" } else { "0" }.to_owned());
    if high != 0 {
        set.set(TAGS, format!("_dd.p.tid={high:016x}"));
    }
    if let Some(origin) = sc.trace_state().get("dd").and_then(|dd| dd.split(';').find_map(|p| p.strip_prefix("o:"))) {
        set.set(ORIGIN, origin.to_owned());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test reports
mod tests {
    use super::*;

    #[test]
    fn decimal_ids_are_strict() {
        assert_eq!(decimal_u64("18446744073709551615"), Some(u64::MAX));
        for bad in ["", "0", "-1", "+1", "1a", "18446744073709551616", "0x10"] {
            assert_eq!(decimal_u64(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_upper_bits_come_from_dd_p_tid() {
        assert_eq!(upper_bits("_dd.p.dm=-1,_dd.p.tid=640cfd8d00000000"), Some(0x640c_fd8d_0000_0000));
        assert_eq!(upper_bits("_dd.p.tid=640CFD8D00000000"), None);
        assert_eq!(upper_bits("_dd.p.tid=640cfd8d"), None);
        assert_eq!(upper_bits(&format!("_dd.p.tid=640cfd8d00000000,{}", "x".repeat(600))), None);
    }
}
