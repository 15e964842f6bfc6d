//! Datadog's headers, as ddtrace sends them: `x-datadog-trace-id` (the low
//! 64 bits, decimal), `x-datadog-parent-id` (decimal),
//! `x-datadog-sampling-priority`, `x-datadog-origin`, and `x-datadog-tags`,
//! the trace's propagated `_dd.p.*` tags, whose `_dd.p.tid` holds the upper
//! 64 bits of a 128-bit trace id in 16 hex digits.
//!
//! The priority (user keep `2` and user reject `-1` included), the origin and
//! every other `_dd.p.*` tag (`_dd.p.dm`, `_dd.p.usr.id`, ...) travel in the
//! span context's `tracestate` under `dd`, in Datadog's W3C encoding
//! ([`dd_member`](super::dd_member)), as ddtrace keeps them: children inherit
//! them, tracecontext injection carries them, and injection here reads them
//! back. A priority above 0 means sampled, 0 or below not sampled; when the
//! sampling decision disagrees with the kept priority, `1` or `0` is sent.
//!
//! `x-datadog-tags` is bounded as Datadog specifies: over 512 bytes it is
//! not read (`_dd.propagation_error=extract_max_size`); a malformed list
//! (`decoding_error`) is not read either, and a bad `_dd.p.tid`
//! (`malformed_tid`) or `_dd.p.dm` (`decoding_error`) alone is dropped; tags
//! not starting with `_dd.p.` are not propagated. The trace is still
//! continued from the ids.

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;

use super::dd_member::{DdMember, KEY, TAG_PREFIX};
use super::tracestate;
use super::w3c::RawTraceState;

pub(crate) const TRACE_ID: &str = "x-datadog-trace-id";
pub(crate) const PARENT_ID: &str = "x-datadog-parent-id";
pub(crate) const SAMPLING_PRIORITY: &str = "x-datadog-sampling-priority";
pub(crate) const ORIGIN: &str = "x-datadog-origin";
pub(crate) const TAGS: &str = "x-datadog-tags";
pub(crate) const FIELDS: &[&str] = &[TRACE_ID, PARENT_ID, SAMPLING_PRIORITY, ORIGIN, TAGS];

/// Datadog's limit on `x-datadog-tags`, both ways.
const MAX_TAGS_LEN: usize = 512;

/// The longest origin kept (Datadog's are short words: `synthetics`, `rum`).
const MAX_ORIGIN_LEN: usize = 64;

/// The upper half of the trace id, in `x-datadog-tags`.
const TID: &str = "_dd.p.tid";

/// The sampling decision maker, in `x-datadog-tags`.
const DM: &str = "_dd.p.dm";

fn decimal_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    (!s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())).then_some(())?;
    s.parse().ok().filter(|&id| id != 0)
}

/// A sampling priority: an optional `-` and 1 to 3 digits (Datadog's are
/// -1, 0, 1 and 2; others are kept as they come).
fn priority(s: &str) -> Option<i32> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    (!digits.is_empty() && digits.len() <= 3 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(())?;
    s.parse().ok()
}

/// `_dd.p.` and at least one more of printable ASCII but space, `,` and `=`.
fn valid_tag_key(key: &str) -> bool {
    key.strip_prefix(TAG_PREFIX)
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_graphic() && b != b',' && b != b'='))
}

/// At least one of printable ASCII (space included) but `,`.
fn valid_tag_value(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b',')
}

/// The `_dd.p.*` tags of an `x-datadog-tags` value, and the
/// `_dd.propagation_error` Datadog names when some or all were refused.
pub(crate) fn parse_tags(header: &str) -> (Vec<(String, String)>, Option<&'static str>) {
    if header.len() > MAX_TAGS_LEN {
        return (Vec::new(), Some("extract_max_size"));
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    for pair in header.split(',') {
        let pair = pair.trim_matches(' ');
        if pair.is_empty() && header.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = pair.split_once('=') else { return (Vec::new(), Some("decoding_error")) };
        let key_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_graphic() && b != b',' && b != b'=');
        if !key_ok || !valid_tag_value(value) {
            return (Vec::new(), Some("decoding_error"));
        }
        if valid_tag_key(key) && !tags.iter().any(|(k, _)| k == key) {
            tags.push((key.to_owned(), value.to_owned()));
        }
    }
    let mut error = None;
    let bad = |key: &str, value: &str| match key {
        TID => (!valid_tid(value)).then_some("malformed_tid"),
        // `-<mechanism>`: ddtrace's decision makers are `-0` to `-12` and on.
        DM => {
            let ok = value.strip_prefix('-').is_some_and(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()));
            (!ok).then_some("decoding_error")
        }
        _ => None,
    };
    tags.retain(|(key, value)| match bad(key, value) {
        Some(why) => {
            error = Some(why);
            false
        }
        None => true,
    });
    (tags, error)
}

/// 16 lowercase hex digits.
fn valid_tid(tid: &str) -> bool {
    tid.len() == 16 && tid.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The upper 64 bits from `_dd.p.tid`, when the tags carry a valid one.
fn upper_bits(tags: &[(String, String)]) -> Option<u64> {
    let tid = tags.iter().find(|(k, _)| k == TID)?;
    u64::from_str_radix(&tid.1, 16).ok()
}

/// Printable ASCII, not empty, not too long.
fn valid_origin(origin: &str) -> bool {
    !origin.is_empty() && origin.len() <= MAX_ORIGIN_LEN && origin.bytes().all(|b| (b' '..=b'~').contains(&b))
}

/// Why some or all of the caller's `x-datadog-tags` were not used: recorded
/// as `_dd.propagation_error` on the local root span, as Datadog does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PropagationError(pub(crate) &'static str);

impl PropagationError {
    /// The span attribute's key.
    pub(crate) const KEY: &'static str = "_dd.propagation_error";
}

/// The caller's span, and what was wrong with its tags, if anything.
pub(crate) fn extract(get: &dyn Extractor) -> Option<(SpanContext, Option<PropagationError>)> {
    let low = decimal_u64(get.get(TRACE_ID)?)?;
    let parent = decimal_u64(get.get(PARENT_ID)?)?;
    let priority = match get.get(SAMPLING_PRIORITY).map(str::trim) {
        // No priority: continued as kept, the decision left to the next one.
        None => None,
        Some(value) => Some(priority(value)?),
    };
    let (mut tags, error) = get.get(TAGS).map(parse_tags).unwrap_or_default();
    let high = upper_bits(&tags).unwrap_or(0);
    tags.retain(|(k, _)| k != TID);
    let origin = get.get(ORIGIN).map(str::trim).filter(|o| valid_origin(o)).map(str::to_owned);
    let member = DdMember { priority, origin, tags };
    let state = member.encode().and_then(|dd| TraceState::from_key_value([(KEY, dd)]).ok()).unwrap_or_default();
    let flags = if priority.is_none_or(|p| p > 0) { TraceFlags::SAMPLED } else { TraceFlags::default() };
    let trace = TraceId::from((u128::from(high) << 64) | u128::from(low));
    Some((SpanContext::new(trace, SpanId::from(parent), flags, true, state), error.map(PropagationError)))
}

/// The trace's `dd` member: from the span context's `tracestate`, or from a
/// valid incoming one that `opentelemetry`'s `TraceState` refused and that
/// is carried aside in the context ([`RawTraceState`]).
fn dd_value(cx: &Context, sc: &SpanContext) -> Option<String> {
    if let Some(dd) = sc.trace_state().get(KEY) {
        return Some(dd.to_owned());
    }
    let raw = cx.get::<RawTraceState>().filter(|raw| raw.trace_id == sc.trace_id())?;
    tracestate::parse(&raw.header)?.into_iter().find(|(k, _)| k == KEY).map(|(_, v)| v)
}

pub(crate) fn inject(cx: &Context, sc: &SpanContext, set: &mut dyn Injector) {
    let id = u128::from_be_bytes(sc.trace_id().to_bytes());
    let (high, low) = ((id >> 64) as u64, id as u64);
    if low == 0 {
        // Datadog cannot represent a trace whose low 64 bits are zero.
        return;
    }
    let member = dd_value(cx, sc).as_deref().map(DdMember::parse).unwrap_or_default();
    // The kept priority when it agrees with the decision (which a local
    // sampler may have changed), else the plain keep or drop: the rule the
    // native exporter uses too.
    let priority = member.priority_for(sc.is_sampled());
    set.set(TRACE_ID, low.to_string());
    set.set(PARENT_ID, u64::from_be_bytes(sc.span_id().to_bytes()).to_string());
    set.set(SAMPLING_PRIORITY, priority.to_string());
    if let Some(origin) = member.origin.filter(|o| valid_origin(o)) {
        set.set(ORIGIN, origin);
    }
    let mut tags: Vec<String> = member
        .tags
        .iter()
        .filter(|(k, v)| k != TID && valid_tag_key(k) && valid_tag_value(v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if high != 0 {
        tags.push(format!("{TID}={high:016x}"));
    }
    let header = tags.join(",");
    // Over the limit, Datadog sends no tags at all (`inject_max_size`); the
    // `dd` member's 256 characters keep this from happening.
    if !header.is_empty() && header.len() <= MAX_TAGS_LEN {
        set.set(TAGS, header);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test reports
mod tests {
    use super::*;

    fn pairs(tags: &[(String, String)]) -> Vec<String> {
        tags.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    #[test]
    fn decimal_ids_are_strict() {
        assert_eq!(decimal_u64("18446744073709551615"), Some(u64::MAX));
        for bad in ["", "0", "-1", "+1", "1a", "18446744073709551616", "0x10"] {
            assert_eq!(decimal_u64(bad), None, "{bad}");
        }
    }

    #[test]
    fn priorities_are_small_integers() {
        assert_eq!([priority("2"), priority("-1"), priority("0")], [Some(2), Some(-1), Some(0)]);
        for bad in ["", "-", "+1", "1.0", "keep", "1234"] {
            assert_eq!(priority(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_upper_bits_come_from_dd_p_tid() {
        let (tags, error) = parse_tags("_dd.p.dm=-1,_dd.p.tid=640cfd8d00000000");
        assert_eq!((upper_bits(&tags), error), (Some(0x640c_fd8d_0000_0000), None));
        for bad in ["_dd.p.tid=640CFD8D00000000", "_dd.p.tid=640cfd8d"] {
            let (tags, error) = parse_tags(bad);
            assert_eq!((upper_bits(&tags), error), (None, Some("malformed_tid")), "{bad}");
        }
    }

    #[test]
    fn tags_are_bounded_and_validated() {
        let (tags, error) = parse_tags(" _dd.p.dm=-4 ,_dd.p.usr.id=baz64==,other=1,_dd.p.dm=-9");
        assert_eq!((pairs(&tags), error), (vec!["_dd.p.dm=-4".to_owned(), "_dd.p.usr.id=baz64==".to_owned()], None));
        let long = format!("_dd.p.a={}", "x".repeat(505));
        assert_eq!(long.len(), 513);
        assert_eq!(parse_tags(&long), (Vec::new(), Some("extract_max_size")));
        assert_eq!(parse_tags(&long[..512]).0.len(), 1);
        for bad in ["_dd.p.a", "_dd.p.a=", "=1", "_dd.p.a=1,,_dd.p.b=2", "_dd.p.a b=1", "_dd.p.a=caf\u{e9}"] {
            assert_eq!(parse_tags(bad), (Vec::new(), Some("decoding_error")), "{bad}");
        }
        let (tags, error) = parse_tags("_dd.p.dm=4,_dd.p.x=1");
        assert_eq!((pairs(&tags), error), (vec!["_dd.p.x=1".to_owned()], Some("decoding_error")));
        assert_eq!(parse_tags(""), (Vec::new(), None));
    }
}
