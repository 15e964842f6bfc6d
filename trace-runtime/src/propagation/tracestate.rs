//! W3C Trace Context `tracestate`, parsed and validated here rather than by
//! `opentelemetry` 0.33 (whose `TraceState` rejects a valid key with 14
//! characters after `@`, keeps the first 32 of a longer list and forwards
//! empty values).
//!
//! Grammar: the current specification's (Trace Context Level 2), which
//! accepts every Level 1 key and is what the W3C test harness checks:
//!
//! ```text
//! list        = list-member 0*31( OWS "," OWS list-member )   (empty members allowed)
//! list-member = key "=" value
//! key         = ( lcalpha / DIGIT ) 0*255( keychar )
//! keychar     = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
//! value       = 0*255( %x20-2B / %x2D-3C / %x3E-7E ) ( %x21-2B / %x2D-3C / %x3E-7E )
//! ```
//!
//! A bad key or value (`@foo`, `Foo`, `foo=`) or more than 32 members
//! discards the whole header (the trace itself, from `traceparent`, is still
//! continued). A key given twice keeps its first entry (the most recently
//! written: entries are added on the left) and drops the others, as the
//! specification allows a receiver to do.

/// The most members a `tracestate` may have.
pub(crate) const MAX_MEMBERS: usize = 32;

/// The members of a valid `tracestate` header, in order; `Some(empty)` for a
/// header with no members; `None` when the header is invalid and must be
/// discarded.
pub(crate) fn parse(header: &str) -> Option<Vec<(String, String)>> {
    let mut members: Vec<(String, String)> = Vec::new();
    for member in header.split(',') {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            continue;
        }
        let (key, value) = member.split_once('=')?;
        if !valid_key(key) || !valid_value(value) {
            return None;
        }
        if members.iter().any(|(k, _)| k == key) {
            continue;
        }
        if members.len() == MAX_MEMBERS {
            return None;
        }
        members.push((key.to_owned(), value.to_owned()));
    }
    Some(members)
}

/// The header value for `members`; `None` when there are none (an empty
/// `tracestate` is never sent).
pub(crate) fn format(members: &[(String, String)]) -> Option<String> {
    if members.is_empty() {
        return None;
    }
    Some(members.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
}

/// `( lcalpha / DIGIT ) 0*255( keychar )`, `keychar` including `@`.
pub(crate) fn valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    let keychar = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'*' | b'/' | b'@');
    !bytes.is_empty()
        && bytes.len() <= 256
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes.iter().all(|&b| keychar(b))
}

/// 1 to 256 printable ASCII characters except `,` and `=`, not ending in a space.
pub(crate) fn valid_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    let allowed = |b: u8| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=';
    !bytes.is_empty() && bytes.len() <= 256 && bytes.iter().all(|&b| allowed(b)) && bytes[bytes.len() - 1] != b' '
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test reports
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_grammar() {
        for good in
            ["rojo", "0rojo", "a0_-*/", "tenant@system", "t@abcdefghijklmn", "t@abcdefghijklmno", "foo@", "foo@@bar"]
        {
            assert!(valid_key(good), "{good}");
        }
        assert!(valid_key(&"a".repeat(256)));
        assert!(!valid_key(&"a".repeat(257)));
        assert!(valid_key(&format!("{}@{}", "t".repeat(241), "v".repeat(14))));
        for bad in ["", "@foo", "Foo", "a b", "a.b", "_a"] {
            assert!(!valid_key(bad), "{bad}");
        }
    }

    #[test]
    fn values_follow_the_grammar() {
        assert!(valid_value("1"));
        assert!(valid_value(" leading space ok"));
        assert!(valid_value(&"v".repeat(256)));
        for bad in ["", "trailing ", "a,b", "a=b", "caf\u{e9}", "tab\t", &"v".repeat(257)] {
            assert!(!valid_value(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_bad_member_discards_the_header() {
        assert_eq!(parse("foo=1, bar=2 ,\tbaz=3").unwrap().len(), 3);
        assert_eq!(parse("a=1,,b=2").unwrap().len(), 2);
        assert_eq!(parse("").unwrap().len(), 0);
        for bad in ["foo=,bar=3", "@foo=1", "foo", "=1", "foo=bar=baz", "foo =1"] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_repeated_key_keeps_its_first_entry() {
        let kept = |h: &str| parse(h).unwrap().into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>();
        assert_eq!(kept("a=1,b=2,a=3"), ["a=1", "b=2"]);
        assert_eq!(kept("foo=1,foo=1"), ["foo=1"]);
    }

    #[test]
    fn more_than_32_members_discards_the_header() {
        let members = |n: usize| (0..n).map(|i| format!("k{i}=v")).collect::<Vec<_>>().join(",");
        assert_eq!(parse(&members(32)).unwrap().len(), 32);
        assert!(parse(&members(33)).is_none());
    }

    #[test]
    fn an_empty_list_is_never_formatted() {
        assert_eq!(format(&[]), None);
        assert_eq!(format(&[("a".into(), "1".into()), ("b@c".into(), "2".into())]).as_deref(), Some("a=1,b@c=2"));
    }
}
