//! The exact `traceparent` grammar of W3C Trace Context, checked before the
//! SDK parses the header (its parser accepts short ids and a leading `+`).

/// True when `value` is a `traceparent` this implementation may continue:
/// `version-traceid-parentid-flags` in lowercase hex of 2, 32, 16 and 2
/// digits; version `ff` is forbidden; version `00` has exactly these four
/// fields, a later version may append more after a `-`. All-zero ids are
/// rejected later, by the span context's validity check.
pub(super) fn valid_traceparent(value: &str) -> bool {
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

/// `tracestate` with each key once, or `None` when no key repeats (the
/// common case costs no allocation beyond the set).
///
/// W3C Trace Context: "only one entry per key is allowed", a sender must not
/// create duplicates, and a receiver may drop them (trace-context#477). The
/// first entry of a key is kept: entries are added on the left, so the first
/// is the one its vendor wrote last, and it is also the one `TraceState::get`
/// returns. The other vendors' entries are kept rather than discarding the
/// whole header.
pub(super) fn dedupe_tracestate(value: &str) -> Option<String> {
    let members = || value.split(',').map(|m| m.trim_matches([' ', '\t'])).filter(|m| !m.is_empty());
    let key = |member: &'_ str| member.split('=').next().unwrap_or(member).to_owned();
    let mut seen = std::collections::HashSet::new();
    if members().all(|m| seen.insert(key(m))) {
        return None;
    }
    seen.clear();
    Some(members().filter(|m| seen.insert(key(m))).collect::<Vec<_>>().join(","))
}

#[cfg(test)]
mod tests {
    use super::{dedupe_tracestate, valid_traceparent};

    #[test]
    fn a_repeated_tracestate_key_keeps_its_first_entry() {
        assert_eq!(dedupe_tracestate("a=1,b=2,a=3").as_deref(), Some("a=1,b=2"));
        assert_eq!(dedupe_tracestate(" a=1 , a=2 ,\tb=3").as_deref(), Some("a=1,b=3"));
        assert_eq!(dedupe_tracestate("a=1,b=2"), None);
        assert_eq!(dedupe_tracestate("a=1,,b=2"), None);
        assert_eq!(dedupe_tracestate(""), None);
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
