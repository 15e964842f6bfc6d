//! Datadog's `dd` member of W3C `tracestate`: where the sampling priority,
//! the origin and the `_dd.p.*` propagated tags of a trace are kept, in
//! Datadog's own encoding, so that tracecontext injection carries them as
//! ddtrace does and the `datadog` injector reads them back:
//!
//! ```text
//! dd=s:2;o:rum;t.dm:-4;t.usr.id:baz64~~
//! ```
//!
//! `s:` is the priority, `o:` the origin, `t.<k>:<v>` the tag `_dd.p.<k>`
//! (its `=` written `~`). Characters the encoding cannot carry (`,` `;` `~`
//! and, in keys, `:` `=` and space) become `_`, as ddtrace does. The member
//! is at most 256 characters: tags that do not fit are left out, in order.
//! `p:` (the last parent id: the span id of the last span that injected
//! the member) is not kept in [`DdMember`]; W3C injection writes the
//! current span's id there instead of forwarding the caller's
//! ([`with_last_parent`]), as Datadog's W3C format asks.

/// The `tracestate` key.
pub(crate) const KEY: &str = "dd";

/// The longest `dd` value (W3C's value limit).
const MAX_LEN: usize = 256;

/// The propagated tags' common prefix in `x-datadog-tags`.
pub(crate) const TAG_PREFIX: &str = "_dd.p.";

/// What the `dd` member holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct DdMember {
    /// `x-datadog-sampling-priority`.
    pub(crate) priority: Option<i32>,
    /// `x-datadog-origin`.
    pub(crate) origin: Option<String>,
    /// The `_dd.p.*` tags, full keys (`_dd.p.dm`), in order.
    pub(crate) tags: Vec<(String, String)>,
}

impl DdMember {
    /// Reads a `dd` value; unknown or malformed parts are skipped.
    pub(crate) fn parse(value: &str) -> DdMember {
        let mut member = DdMember::default();
        for part in value.split(';') {
            let Some((key, val)) = part.split_once(':') else { continue };
            if val.is_empty() {
                continue;
            }
            match key {
                "s" => member.priority = val.parse().ok().or(member.priority),
                "o" => member.origin = Some(val.replace('~', "=")),
                _ => {
                    if let Some(suffix) = key.strip_prefix("t.").filter(|s| !s.is_empty()) {
                        let key = format!("{TAG_PREFIX}{suffix}");
                        if !member.tags.iter().any(|(k, _)| *k == key) {
                            member.tags.push((key, val.replace('~', "=")));
                        }
                    }
                }
            }
        }
        member
    }

    /// The `dd` value, at most 256 characters; `None` when there is nothing
    /// to carry.
    pub(crate) fn encode(&self) -> Option<String> {
        let mut out = String::new();
        let mut push = |part: String| {
            let sep = usize::from(!out.is_empty());
            if out.len() + sep + part.len() <= MAX_LEN {
                if sep == 1 {
                    out.push(';');
                }
                out.push_str(&part);
                true
            } else {
                false
            }
        };
        if let Some(priority) = self.priority {
            push(format!("s:{priority}"));
        }
        if let Some(origin) = &self.origin {
            push(format!("o:{}", encode_value(origin)));
        }
        for (key, value) in &self.tags {
            let Some(suffix) = key.strip_prefix(TAG_PREFIX) else { continue };
            // `_dd.p.tid` is the trace id's upper half: `traceparent` has it.
            if suffix == "tid" || suffix.is_empty() || value.is_empty() {
                continue;
            }
            if !push(format!("t.{}:{}", encode_key(suffix), encode_value(value))) {
                break;
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

impl DdMember {
    /// The sampling priority of a trace whose sampled flag is `sampled`:
    /// the carried `s:` when it agrees with the flag (a positive priority
    /// for a sampled trace), else the plain keep (1) or drop (0), as
    /// Datadog's tracers reconcile `s:` with `traceparent`.
    pub(crate) fn priority_for(&self, sampled: bool) -> i32 {
        match self.priority {
            Some(p) if (p > 0) == sampled => p,
            _ => i32::from(sampled),
        }
    }
}

/// `value` (a `dd` member's value) with `p:` set to `span_id` (16 lowercase
/// hex digits): an incoming `p:` is dropped, the new one goes right after
/// `s:` (or first), and trailing parts are left out while the value would
/// exceed 256 characters. Other parts are kept as received.
pub(crate) fn with_last_parent(value: &str, span_id: [u8; 8]) -> String {
    let parent = format!("p:{:016x}", u64::from_be_bytes(span_id));
    let mut parts: Vec<&str> = value.split(';').filter(|p| !p.is_empty() && !p.starts_with("p:")).collect();
    let at = usize::from(parts.first().is_some_and(|p| p.starts_with("s:")));
    parts.insert(at, &parent);
    while parts.iter().map(|p| p.len() + 1).sum::<usize>() - 1 > MAX_LEN && parts.len() > 1 {
        parts.pop();
    }
    parts.join(";")
}

fn encode_key(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_graphic() && !matches!(c, ',' | ';' | ':' | '=' | '~') { c } else { '_' })
        .collect()
}

/// Printable ASCII with `,` `;` `~` replaced by `_` and `=` written `~`; a
/// trailing space (invalid in `tracestate`) becomes `_`.
fn encode_value(value: &str) -> String {
    let mut out: String = value
        .chars()
        .map(|c| match c {
            '=' => '~',
            ',' | ';' | '~' => '_',
            ' '..='~' => c,
            _ => '_',
        })
        .collect();
    if out.ends_with(' ') {
        out.pop();
        out.push('_');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test reports
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn round_trips_datadog_encoding() {
        let member = DdMember {
            priority: Some(-1),
            origin: Some("synthetics".into()),
            tags: tags(&[("_dd.p.dm", "-4"), ("_dd.p.usr.id", "baz64==")]),
        };
        let value = member.encode().unwrap();
        assert_eq!(value, "s:-1;o:synthetics;t.dm:-4;t.usr.id:baz64~~");
        assert_eq!(DdMember::parse(&value), member);
    }

    #[test]
    fn unencodable_characters_become_underscores() {
        let member = DdMember { priority: None, origin: Some("a;b,c".into()), tags: tags(&[("_dd.p.k:x", "v~w ")]) };
        assert_eq!(member.encode().unwrap(), "o:a_b_c;t.k_x:v_w_");
    }

    #[test]
    fn the_value_stays_within_256_characters() {
        let many: Vec<_> = (0..40).map(|i| (format!("_dd.p.k{i}"), "vvvv".to_owned())).collect();
        let value = DdMember { priority: Some(1), origin: None, tags: many }.encode().unwrap();
        assert!(value.len() <= 256 && value.starts_with("s:1;t.k0:vvvv;"), "{value}");
        assert!(value.ends_with(":vvvv"));
    }

    #[test]
    fn the_last_parent_is_replaced_not_forwarded() {
        let id = 0x00f0_67aa_0ba9_02b7_u64.to_be_bytes();
        assert_eq!(
            with_last_parent("s:2;p:1111111111111111;o:rum;t.dm:-3", id),
            "s:2;p:00f067aa0ba902b7;o:rum;t.dm:-3"
        );
        assert_eq!(with_last_parent("t.dm:-4", id), "p:00f067aa0ba902b7;t.dm:-4");
        let long = format!("s:1;t.a:{}", "x".repeat(248));
        assert_eq!(with_last_parent(&long, id), "s:1;p:00f067aa0ba902b7", "the tag that no longer fits is left out");
    }

    #[test]
    fn the_priority_agrees_with_the_sampled_flag() {
        let keep = DdMember { priority: Some(2), ..DdMember::default() };
        assert_eq!((keep.priority_for(true), keep.priority_for(false)), (2, 0));
        let drop = DdMember { priority: Some(-1), ..DdMember::default() };
        assert_eq!((drop.priority_for(true), drop.priority_for(false)), (1, -1));
        assert_eq!(DdMember::default().priority_for(true), 1);
    }

    #[test]
    fn parsing_skips_what_it_does_not_know() {
        let member = DdMember::parse("s:x;p:00f067aa0ba902b7;z;t.:1;t.dm:-0;o:rum");
        assert_eq!(member, DdMember { priority: None, origin: Some("rum".into()), tags: tags(&[("_dd.p.dm", "-0")]) });
        assert_eq!(DdMember::default().encode(), None);
    }
}
