//! W3C Trace Context (`traceparent`, `tracestate`), parsed exactly.
//!
//! `traceparent` must be lowercase hex fields of 2, 32, 16 and 2 digits;
//! version `ff` and all-zero ids are invalid; a repeated `traceparent` (read
//! as values joined by `,`) is invalid. `tracestate` follows
//! [`tracestate`](super::tracestate)'s grammar; an invalid one is discarded
//! while the trace is still continued. Level 1: only the `sampled` flag is
//! propagated (Level 2's `random` flag is not claimed, so not sent).
//!
//! Datadog's `dd` member is the one member traced rewrites: its `p:` (last
//! parent id) becomes the injecting span's id instead of the caller's, and
//! the member moves to the front, as W3C asks of a vendor that updates its
//! member.

use std::sync::Arc;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;

use super::dd_member::{self, KEY as DD};
use super::tracestate;

pub(crate) const TRACEPARENT: &str = "traceparent";
pub(crate) const TRACESTATE: &str = "tracestate";
pub(crate) const FIELDS: &[&str] = &[TRACEPARENT, TRACESTATE];

/// A valid incoming `tracestate` that `opentelemetry`'s `TraceState` cannot
/// hold (its key check is stricter than the specification), kept in the
/// context so it is forwarded unchanged within the same trace.
#[derive(Clone, Debug)]
pub(crate) struct RawTraceState {
    pub(crate) trace_id: TraceId,
    pub(crate) header: Arc<str>,
}

/// The caller's span from `traceparent` (and `tracestate`), if valid.
pub(crate) fn extract(get: &dyn Extractor) -> Option<(SpanContext, Option<RawTraceState>)> {
    let value = get.get(TRACEPARENT)?.trim();
    if !valid_traceparent(value) {
        return None;
    }
    let trace_id = TraceId::from_hex(&value[3..35]).ok()?;
    let span_id = SpanId::from_hex(&value[36..52]).ok()?;
    let flags = u8::from_str_radix(&value[53..55], 16).ok()?;
    if trace_id == TraceId::INVALID || span_id == SpanId::INVALID {
        return None;
    }
    // Level 1: unknown flags are not propagated.
    let flags = TraceFlags::new(flags) & TraceFlags::SAMPLED;
    let members = get.get(TRACESTATE).and_then(tracestate::parse).unwrap_or_default();
    let (state, raw) = match TraceState::from_key_value(members.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        Ok(state) => (state, None),
        // Valid by the specification, refused by the crate: carried aside.
        Err(_) => (
            TraceState::NONE,
            tracestate::format(&members).map(|header| RawTraceState { trace_id, header: Arc::from(header) }),
        ),
    };
    Some((SpanContext::new(trace_id, span_id, flags, true, state), raw))
}

/// Writes `traceparent` and, when there is one, `tracestate` (never empty).
pub(crate) fn inject(cx: &Context, sc: &SpanContext, set: &mut dyn Injector) {
    let flags = sc.trace_flags() & TraceFlags::SAMPLED;
    set.set(TRACEPARENT, format!("00-{}-{}-{:02x}", sc.trace_id(), sc.span_id(), flags.to_u8()));
    let id = sc.span_id().to_bytes();
    let state = sc.trace_state();
    let header = match state.get(DD) {
        Some(dd) => state.insert(DD, dd_member::with_last_parent(dd, id)).unwrap_or_else(|_| state.clone()).header(),
        None => state.header(),
    };
    if !header.is_empty() {
        set.set(TRACESTATE, header);
    } else if let Some(raw) = cx.get::<RawTraceState>().filter(|raw| raw.trace_id == sc.trace_id()) {
        set.set(TRACESTATE, raw_with_last_parent(&raw.header, id));
    }
}

/// A carried-aside `tracestate` with its `dd` member's `p:` rewritten (and
/// the member moved to the front); unchanged when it has no `dd` member.
fn raw_with_last_parent(header: &str, id: [u8; 8]) -> String {
    let Some(mut members) = tracestate::parse(header) else { return header.to_owned() };
    let Some(at) = members.iter().position(|(k, _)| k == DD) else { return header.to_owned() };
    let (key, value) = members.remove(at);
    members.insert(0, (key, dd_member::with_last_parent(&value, id)));
    tracestate::format(&members).unwrap_or_else(|| header.to_owned())
}

/// True when `value` is a `traceparent` this implementation may continue:
/// `version-traceid-parentid-flags` in lowercase hex of 2, 32, 16 and 2
/// digits; version `ff` is forbidden; version `00` has exactly these four
/// fields, a later version may append more after a `-`. All-zero ids are
/// rejected by [`extract`].
pub(crate) fn valid_traceparent(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() < 55 {
        return false;
    }
    let hex =
        |range: std::ops::Range<usize>| bytes[range].iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
    let dashes = bytes[2] == b'-' && bytes[35] == b'-' && bytes[52] == b'-';
    if !(dashes && hex(0..2) && hex(3..35) && hex(36..52) && hex(53..55)) {
        return false;
    }
    match &value[..2] {
        "ff" => false,
        "00" => bytes.len() == 55,
        _ => bytes.len() == 55 || bytes[55] == b'-',
    }
}

#[cfg(test)]
mod tests {
    use super::{raw_with_last_parent, valid_traceparent};

    #[test]
    fn a_carried_aside_dd_member_gets_the_new_last_parent() {
        let id = 0x00f0_67aa_0ba9_02b7_u64.to_be_bytes();
        let header = "a=1,dd=s:2;p:1111111111111111;t.dm:-3,abcdefghij@abcdefghijklmn=2";
        assert_eq!(
            raw_with_last_parent(header, id),
            "dd=s:2;p:00f067aa0ba902b7;t.dm:-3,a=1,abcdefghij@abcdefghijklmn=2"
        );
        assert_eq!(raw_with_last_parent("a=1", id), "a=1");
    }

    #[test]
    fn the_grammar_is_exact() {
        assert!(valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        assert!(valid_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later"));
        for bad in [
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "",
        ] {
            assert!(!valid_traceparent(bad), "{bad}");
        }
    }
}
