//! Rendering finished spans as an indented tree: what the console exporter
//! prints and what `testing` shows when an assertion fails.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::time::Duration;

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

/// What to include besides names and structure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    /// Durations and event offsets: useful on a console, noise in a test.
    pub(crate) timings: bool,
    /// One `trace <id>` header line per trace.
    pub(crate) trace_ids: bool,
}

/// Renders `spans` as trees, one per trace, roots in start order. Spans whose
/// parent is not among `spans` are shown as roots.
pub(crate) fn render(spans: &[SpanData], style: Style) -> String {
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
    for root in roots {
        let trace_id = root.span_context.trace_id();
        if style.trace_ids && last_trace != Some(trace_id) {
            let _ = writeln!(out, "trace {trace_id}");
            last_trace = Some(trace_id);
        }
        write_span(&mut out, root, &children, "", "", style);
    }
    out
}

fn write_span(
    out: &mut String,
    span: &SpanData,
    children: &HashMap<SpanId, Vec<&SpanData>>,
    first_prefix: &str,
    rest_prefix: &str,
    style: Style,
) {
    let _ = write!(out, "{first_prefix}{}", span.name);
    let mut notes = Vec::new();
    if style.timings {
        let took = span.end_time.duration_since(span.start_time).unwrap_or_default();
        notes.push(format_duration(took));
    }
    if span.span_kind != SpanKind::Internal {
        notes.push(kind_name(&span.span_kind).to_owned());
    }
    match &span.status {
        Status::Error { description } if description.is_empty() => notes.push("ERROR".to_owned()),
        Status::Error { description } => notes.push(format!("ERROR: {description}")),
        Status::Ok => notes.push("OK".to_owned()),
        Status::Unset => {}
    }
    if !notes.is_empty() {
        let _ = write!(out, " ({})", notes.join(", "));
    }
    out.push('\n');

    let kids = children.get(&span.span_context.span_id()).map(Vec::as_slice).unwrap_or(&[]);
    let detail_prefix = format!("{rest_prefix}{}", if kids.is_empty() { "   " } else { "│  " });
    for kv in span.attributes.iter().filter(|kv| !kv.key.as_str().starts_with("code.")) {
        let _ = writeln!(out, "{detail_prefix}{} = {}", kv.key, format_value(&kv.value));
    }
    for event in span.events.iter() {
        let mut line = format!("{detail_prefix}event {}", event.name);
        if style.timings {
            let at = event.timestamp.duration_since(span.start_time).unwrap_or_default();
            let _ = write!(line, " +{}", format_duration(at));
        }
        for kv in &event.attributes {
            let _ = write!(line, " {}={}", kv.key, format_value(&kv.value));
        }
        let _ = writeln!(out, "{line}");
    }
    for link in span.links.iter() {
        let sc = &link.span_context;
        let _ = writeln!(out, "{detail_prefix}link {}:{}", sc.trace_id(), sc.span_id());
    }
    for (i, child) in kids.iter().enumerate() {
        let last = i + 1 == kids.len();
        let first = format!("{rest_prefix}{}", if last { "└─ " } else { "├─ " });
        let rest = format!("{rest_prefix}{}", if last { "   " } else { "│  " });
        write_span(out, child, children, &first, &rest, style);
    }
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

fn format_duration(d: Duration) -> String {
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
/// visible, so `"42"` and `42` do not look alike.
pub(crate) fn format_value(value: &Value) -> String {
    fn list<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
        format!("[{}]", items.iter().map(f).collect::<Vec<_>>().join(", "))
    }
    match value {
        Value::String(s) => format!("{:?}", s.as_str()),
        Value::Array(Array::String(items)) => list(items, |s| format!("{:?}", s.as_str())),
        Value::Array(Array::Bool(items)) => list(items, ToString::to_string),
        Value::Array(Array::I64(items)) => list(items, ToString::to_string),
        Value::Array(Array::F64(items)) => list(items, ToString::to_string),
        other => other.to_string(),
    }
}

/// `key = value` pairs on one line, for messages.
#[allow(dead_code)]
pub(crate) fn format_attributes(attributes: &[KeyValue]) -> String {
    attributes.iter().map(|kv| format!("{} = {}", kv.key, format_value(&kv.value))).collect::<Vec<_>>().join(", ")
}
