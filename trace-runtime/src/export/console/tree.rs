//! Rendering finished spans as an indented tree: what the console exporter
//! prints and what `testing` shows when an assertion fails.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::time::Duration;

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::{Array, Key, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

/// What to include besides names and structure.
#[derive(Debug, Clone, Default)]
pub(crate) struct Style {
    /// Durations and event offsets: useful on a console, noise in a test.
    pub(crate) timings: bool,
    /// One `trace <id>` header line per trace.
    pub(crate) trace_ids: bool,
    /// Names only: no kinds, statuses, attributes, events or links.
    pub(crate) names_only: bool,
    /// ANSI colours (only ever on a terminal).
    pub(crate) colour: bool,
    /// Strings longer than this many characters are cut, their length shown.
    pub(crate) max_value_chars: Option<usize>,
    /// Attribute keys not shown on spans (shown once for the block instead).
    pub(crate) hidden: HashSet<Key>,
}

/// ANSI escapes, applied only when [`Style::colour`] is set.
pub(crate) struct Paint {
    on: bool,
}

impl Paint {
    pub(crate) fn new(on: bool) -> Self {
        Paint { on }
    }

    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub(crate) fn bold(&self, text: &str) -> String {
        self.wrap("1", text)
    }

    pub(crate) fn dim(&self, text: &str) -> String {
        self.wrap("2", text)
    }

    pub(crate) fn red(&self, text: &str) -> String {
        self.wrap("31", text)
    }

    pub(crate) fn cyan(&self, text: &str) -> String {
        self.wrap("36", text)
    }
}

/// Renders `spans` as trees, one per trace, roots in start order. A span is
/// placed under its parent whenever the parent is among `spans`, local or
/// remote (a service calling itself over HTTP is one tree); the others are
/// roots.
pub(crate) fn render(spans: &[SpanData], style: &Style) -> String {
    render_with_logs(spans, &HashMap::new(), style)
}

/// [`render`], with log records (one line each) under the span they were
/// made in, after its events.
pub(crate) fn render_with_logs(spans: &[SpanData], logs: &HashMap<SpanId, Vec<String>>, style: &Style) -> String {
    let ids: HashSet<SpanId> = spans.iter().map(|s| s.span_context.span_id()).collect();
    let mut children: HashMap<SpanId, Vec<&SpanData>> = HashMap::new();
    let mut roots = Vec::new();
    for span in spans {
        if span.parent_span_id != SpanId::INVALID && ids.contains(&span.parent_span_id) {
            children.entry(span.parent_span_id).or_default().push(span);
        } else {
            roots.push(span);
        }
    }
    roots.sort_by_key(|s| s.start_time);
    for list in children.values_mut() {
        list.sort_by_key(|s| s.start_time);
    }
    let mut out = String::new();
    let mut last_trace = None;
    let writer = Writer { children: &children, logs, style, paint: Paint::new(style.colour) };
    for root in roots {
        let trace_id = root.span_context.trace_id();
        if style.trace_ids && last_trace != Some(trace_id) {
            let _ = writeln!(out, "trace {trace_id}");
            last_trace = Some(trace_id);
        }
        writer.span(&mut out, root, "", "");
    }
    out
}

struct Writer<'a> {
    children: &'a HashMap<SpanId, Vec<&'a SpanData>>,
    logs: &'a HashMap<SpanId, Vec<String>>,
    style: &'a Style,
    paint: Paint,
}

impl Writer<'_> {
    fn span(&self, out: &mut String, span: &SpanData, first_prefix: &str, rest_prefix: &str) {
        let style = self.style;
        let _ = write!(out, "{first_prefix}{}", self.paint.bold(&span.name));
        let kids = self.children.get(&span.span_context.span_id()).map(Vec::as_slice).unwrap_or(&[]);
        if !style.names_only {
            self.notes(out, span);
        }
        out.push('\n');
        if !style.names_only {
            let detail_prefix = format!("{rest_prefix}{}", if kids.is_empty() { "   " } else { "│  " });
            self.details(out, span, &detail_prefix);
        }
        for (i, child) in kids.iter().enumerate() {
            let last = i + 1 == kids.len();
            let first = format!("{rest_prefix}{}", if last { "└─ " } else { "├─ " });
            let rest = format!("{rest_prefix}{}", if last { "   " } else { "│  " });
            self.span(out, child, &first, &rest);
        }
    }

    fn notes(&self, out: &mut String, span: &SpanData) {
        let mut notes = Vec::new();
        if self.style.timings {
            let took = span.end_time.duration_since(span.start_time).unwrap_or_default();
            notes.push(self.paint.dim(&format_duration(took)));
        }
        if span.span_kind != SpanKind::Internal {
            notes.push(kind_name(&span.span_kind).to_owned());
        }
        match &span.status {
            Status::Error { description } if description.is_empty() => notes.push(self.paint.red("ERROR")),
            Status::Error { description } => {
                let text = format!("ERROR: {}", cut(description, self.style.max_value_chars));
                notes.push(self.paint.red(&text));
            }
            Status::Ok => notes.push("OK".to_owned()),
            Status::Unset => {}
        }
        if !notes.is_empty() {
            let _ = write!(out, " ({})", notes.join(", "));
        }
    }

    fn details(&self, out: &mut String, span: &SpanData, prefix: &str) {
        let style = self.style;
        let shown = span
            .attributes
            .iter()
            .filter(|kv| !kv.key.as_str().starts_with("code.") && !style.hidden.contains(&kv.key));
        for kv in shown {
            let _ = writeln!(out, "{prefix}{} = {}", kv.key, value_text(&kv.value, style.max_value_chars));
        }
        for event in span.events.iter() {
            let mut line = format!("{prefix}event {}", event.name);
            if style.timings {
                let at = event.timestamp.duration_since(span.start_time).unwrap_or_default();
                let _ = write!(line, " +{}", self.paint.dim(&format_duration(at)));
            }
            for kv in &event.attributes {
                let _ = write!(line, " {}={}", kv.key, value_text(&kv.value, style.max_value_chars));
            }
            let _ = writeln!(out, "{line}");
        }
        for link in span.links.iter() {
            let sc = &link.span_context;
            let _ = writeln!(out, "{prefix}link {}:{}", sc.trace_id(), sc.span_id());
        }
        for line in self.logs.get(&span.span_context.span_id()).into_iter().flatten() {
            let _ = writeln!(out, "{prefix}log {line}");
        }
    }
}

#[cfg_attr(not(feature = "testing"), allow(dead_code))] // used by `testing`
/// The names of `spans` as a tree, nothing else: the shape of a trace.
pub(crate) fn names_tree(spans: &[SpanData]) -> String {
    render(spans, &Style { names_only: true, ..Style::default() })
}

fn kind_name(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Client => "client",
        SpanKind::Server => "server",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        SpanKind::Internal => "internal",
    }
}

pub(crate) fn format_duration(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.1}µs")
    } else if micros < 1e6 {
        format!("{:.2}ms", micros / 1e3)
    } else {
        format!("{:.2}s", micros / 1e6)
    }
}

/// Strings quoted, everything else as written, arrays in brackets: types stay
/// visible, so `"42"` and `42` do not look alike. Strings longer than
/// `max_chars` characters are cut, their full length shown:
/// `"SELECT …"… (4210 chars)`.
pub(crate) fn value_text(value: &Value, max_chars: Option<usize>) -> String {
    fn list<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
        format!("[{}]", items.iter().map(f).collect::<Vec<_>>().join(", "))
    }
    let text = match value {
        Value::String(s) => return quoted(s.as_str(), max_chars),
        Value::Array(Array::String(items)) => list(items, |s| format!("{:?}", s.as_str())),
        Value::Array(Array::Bool(items)) => list(items, ToString::to_string),
        Value::Array(Array::I64(items)) => list(items, ToString::to_string),
        Value::Array(Array::F64(items)) => list(items, ToString::to_string),
        other => other.to_string(),
    };
    cut(&text, max_chars)
}

fn quoted(s: &str, max_chars: Option<usize>) -> String {
    match max_chars {
        Some(max) if s.chars().count() > max => {
            let head: String = s.chars().take(max).collect();
            format!("{:?}… ({} chars)", head, s.chars().count())
        }
        _ => format!("{s:?}"),
    }
}

fn cut(s: &str, max_chars: Option<usize>) -> String {
    match max_chars {
        Some(max) if s.chars().count() > max => {
            let head: String = s.chars().take(max).collect();
            format!("{head}… ({} chars)", s.chars().count())
        }
        _ => s.to_owned(),
    }
}

/// `key = value` pairs on one line, for messages.
pub(crate) fn format_attributes(attributes: &[KeyValue], max_chars: Option<usize>) -> String {
    attributes.iter().map(|kv| format!("{}={}", kv.key, value_text(&kv.value, max_chars))).collect::<Vec<_>>().join(" ")
}

#[cfg_attr(not(feature = "testing"), allow(dead_code))] // used by `testing`
/// A line diff of `expected` against `actual`: `-` lines only expected, `+`
/// lines only found, the others indented (a longest-common-subsequence diff,
/// fine for trees of a few hundred lines).
pub(crate) fn line_diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // Bounded: a quadratic table for trees far larger than a test's would be
    // wasted work; fall back to listing both.
    if a.len().saturating_mul(b.len()) > 4_000_000 {
        return format!("--- expected\n{expected}\n+++ actual\n{actual}\n");
    }
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            let _ = writeln!(out, "  {}", a[i]);
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            let _ = writeln!(out, "- {}", a[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "+ {}", b[j]);
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_strings_are_cut_with_their_length() {
        let long = "x".repeat(300);
        assert_eq!(value_text(&Value::from(long), Some(4)), "\"xxxx\"… (300 chars)");
        assert_eq!(value_text(&Value::from("short"), Some(10)), "\"short\"");
    }

    #[test]
    fn diff_marks_missing_and_extra_lines() {
        let diff = line_diff("a\nb\nc\n", "a\nx\nc\n");
        assert_eq!(diff, "  a\n- b\n+ x\n  c\n");
    }
}
