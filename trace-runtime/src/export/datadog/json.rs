//! The JSON the Agent keeps in string tags: span links (`_dd.span_links`)
//! and span events (`events`), in the shapes Datadog's own OTLP ingestion
//! writes. A few lines of std instead of a JSON dependency.

use std::fmt::Write;

use opentelemetry::{Array, Value};

/// Appends `s` as a JSON string literal.
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends an attribute value with its JSON type (a non-finite double,
/// which JSON cannot hold, as its text).
pub(crate) fn value(out: &mut String, v: &Value) {
    match v {
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::I64(i) => {
            let _ = write!(out, "{i}");
        }
        Value::F64(f) => number(out, *f),
        Value::String(s) => string(out, s.as_str()),
        Value::Array(array) => {
            out.push('[');
            match array {
                Array::Bool(items) => list(out, items, |out, b| out.push_str(if *b { "true" } else { "false" })),
                Array::I64(items) => list(out, items, |out, i| {
                    let _ = write!(out, "{i}");
                }),
                Array::F64(items) => list(out, items, |out, f| number(out, *f)),
                Array::String(items) => list(out, items, |out, s| string(out, s.as_str())),
                // A kind added to the API later: its text rather than nothing.
                other => string(out, &other.to_string()),
            }
            out.push(']');
        }
        other => string(out, &other.to_string()),
    }
}

fn number(out: &mut String, f: f64) {
    if f.is_finite() {
        let _ = write!(out, "{f}");
    } else {
        string(out, &f.to_string());
    }
}

fn list<T>(out: &mut String, items: &[T], mut each: impl FnMut(&mut String, &T)) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(out, item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
    }

    #[test]
    fn values_keep_their_json_type() {
        let render = |v: Value| {
            let mut out = String::new();
            value(&mut out, &v);
            out
        };
        assert_eq!(render(Value::I64(-3)), "-3");
        assert_eq!(render(Value::F64(1.5)), "1.5");
        assert_eq!(render(Value::F64(f64::NAN)), "\"NaN\"");
        assert_eq!(render(Value::Bool(true)), "true");
        assert_eq!(render(Value::Array(Array::String(vec!["a".into(), "b".into()]))), r#"["a","b"]"#);
        assert_eq!(render(Value::Array(Array::I64(vec![1, 2]))), "[1,2]");
    }
}
