//! Keeping every export request under the transport's size limit, so that a
//! span that cannot be sent loses only itself.
//!
//! Strings longer than [`MAX_VALUE_BYTES`] (attribute values, array
//! elements, span, event and status texts) are cut there first. Then each
//! span's OTLP/protobuf size is bounded from above ([`encoded_len`]: every
//! length prefix and tag counted at its widest) and batches are split so that
//! no request exceeds the limit. A span that is over the limit on its own
//! (thousands of long attributes) can never be sent: it is set aside for the
//! caller to count and name.
//!
//! Before any of that, a key set twice on a span (a global tag the span
//! later set itself, or `set_attribute` called twice) is kept once, with its
//! latest value: the SDK appends every `set_attribute`, where the
//! OpenTelemetry specification says setting an existing key overwrites it.

use std::borrow::Cow;
use std::collections::HashSet;

use opentelemetry::trace::Status;
use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;

/// The longest string kept in an exported span, in bytes (32 KiB): longer
/// values are cut at a character boundary and marked with how much was cut.
pub(crate) const MAX_VALUE_BYTES: usize = 32 * 1024;

/// Default size limit of one export request: gRPC servers (tonic, grpc-go,
/// the OpenTelemetry Collector) refuse messages over 4 MiB by default, and
/// OTLP/HTTP collectors accept at least as much.
pub(crate) const DEFAULT_MAX_EXPORT_BYTES: usize = 4 * 1024 * 1024;

/// How many times larger than [`encoded_len`]'s protobuf bound a span can be
/// in OTLP/JSON as `opentelemetry-otlp` writes it (pretty-printed): field
/// names, deep indentation, hex ids, 64-bit numbers as strings and up to 6
/// bytes per escaped string byte. Measured on hostile shapes (the tests):
/// 6 to 8 times for most, about 12.4 for boolean arrays in event attributes
/// (the smallest values, the deepest indentation); 16 leaves room. See
/// [`json_max_bytes`].
#[cfg(feature = "otlp")]
const JSON_EXPANSION: usize = 16;

/// The byte limit the OTLP/JSON pipeline splits with, for a request limit of
/// `max_bytes`: the same room for the envelope, the spans' share divided by
/// [`JSON_EXPANSION`].
#[cfg(feature = "otlp")]
pub(crate) fn json_max_bytes(max_bytes: usize) -> usize {
    ENVELOPE_BYTES + max_bytes.saturating_sub(ENVELOPE_BYTES) / JSON_EXPANSION
}

/// Room kept in every request for the resource and the envelope.
const ENVELOPE_BYTES: usize = 16 * 1024;

/// Field tag plus the widest length prefix of a nested message or string.
const FIELD: usize = 1 + 5;

/// Up to this many attributes, duplicates are looked for pairwise (no
/// allocation); beyond it, with a hash set.
const PAIRWISE_UP_TO: usize = 16;

/// Keeps each key of `attributes` once, with its latest (last) value, where
/// that last one stands. Returns how many were removed. Costs nothing when
/// there are fewer than two attributes, and allocates nothing when no key
/// repeats in a span of at most [`PAIRWISE_UP_TO`] attributes.
pub(crate) fn dedupe_attributes(attributes: &mut Vec<KeyValue>) -> usize {
    let n = attributes.len();
    if n < 2 {
        return 0;
    }
    let repeats = if n <= PAIRWISE_UP_TO {
        (1..n).any(|j| attributes[..j].iter().any(|kv| kv.key == attributes[j].key))
    } else {
        let mut seen = HashSet::with_capacity(n);
        !attributes.iter().all(|kv| seen.insert(kv.key.as_str()))
    };
    if !repeats {
        return 0;
    }
    // From the end: the first time a key is seen there is its latest value.
    let keep: Vec<bool> = {
        let mut seen = HashSet::with_capacity(n);
        let mut keep: Vec<bool> = attributes.iter().rev().map(|kv| seen.insert(kv.key.as_str())).collect();
        keep.reverse();
        keep
    };
    let mut keep = keep.into_iter();
    attributes.retain(|_| keep.next().unwrap_or(true));
    n - attributes.len()
}

/// Cuts every string of `span` longer than [`MAX_VALUE_BYTES`].
pub(crate) fn truncate(span: &mut SpanData) {
    cut_cow(&mut span.name);
    for kv in &mut span.attributes {
        cut_value(kv);
    }
    for event in &mut span.events.events {
        cut_cow(&mut event.name);
        event.attributes.iter_mut().for_each(cut_value);
    }
    for link in &mut span.links.links {
        link.attributes.iter_mut().for_each(cut_value);
    }
    if let Status::Error { description } = &mut span.status {
        cut_cow(description);
    }
}

fn cut_value(kv: &mut KeyValue) {
    match &mut kv.value {
        Value::String(s) => {
            if let Some(cut) = cut(s.as_str()) {
                *s = StringValue::from(cut);
            }
        }
        Value::Array(Array::String(items)) => {
            for s in items {
                if let Some(cut) = cut(s.as_str()) {
                    *s = StringValue::from(cut);
                }
            }
        }
        _ => {}
    }
}

fn cut_cow(text: &mut Cow<'static, str>) {
    if let Some(cut) = cut(text) {
        *text = Cow::Owned(cut);
    }
}

/// `text` cut to [`MAX_VALUE_BYTES`] with a marker, if it is longer.
fn cut(text: &str) -> Option<String> {
    if text.len() <= MAX_VALUE_BYTES {
        return None;
    }
    let mut end = MAX_VALUE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(format!("{}…[{} more bytes cut]", &text[..end], text.len() - end))
}

/// An upper bound of the size of `span` in an OTLP/protobuf request, its
/// instrumentation scope included (shared scopes are counted per span).
pub(crate) fn encoded_len(span: &SpanData) -> usize {
    let scope = &span.instrumentation_scope;
    let mut len = FIELD + 16 + FIELD + 8 + FIELD + 8; // ids
    len += FIELD + span.span_context.trace_state().header().len();
    len += FIELD + span.name.len() + 2 * 9 + 3 * 6; // times, kind, counts, flags
    len += attributes_len(&span.attributes);
    for event in span.events.iter() {
        len += FIELD + 9 + FIELD + event.name.len() + attributes_len(&event.attributes) + 6;
    }
    for link in span.links.iter() {
        len += FIELD + FIELD + 16 + FIELD + 8 + FIELD + link.span_context.trace_state().header().len();
        len += attributes_len(&link.attributes) + 12;
    }
    if let Status::Error { description } = &span.status {
        len += FIELD + description.len();
    }
    len += FIELD + 2; // status
    len += FIELD + FIELD + scope.name().len() + FIELD + scope.version().map_or(0, str::len);
    len += FIELD + scope.schema_url().map_or(0, str::len);
    len += scope.attributes().map(kv_len).sum::<usize>();
    FIELD + len
}

fn attributes_len(attributes: &[KeyValue]) -> usize {
    attributes.iter().map(kv_len).sum()
}

fn kv_len(kv: &KeyValue) -> usize {
    FIELD + FIELD + kv.key.as_str().len() + FIELD + value_len(&kv.value)
}

fn value_len(value: &Value) -> usize {
    match value {
        Value::Bool(_) => 2,
        Value::I64(_) => 11,
        Value::F64(_) => 9,
        Value::String(s) => FIELD + s.as_str().len(),
        Value::Array(array) => {
            FIELD
                + match array {
                    Array::Bool(v) => v.len() * (FIELD + 2),
                    Array::I64(v) => v.len() * (FIELD + 11),
                    Array::F64(v) => v.len() * (FIELD + 9),
                    Array::String(v) => v.iter().map(|s| FIELD + FIELD + s.as_str().len()).sum(),
                    _ => value.as_str().len() + FIELD,
                }
        }
        _ => FIELD + value.as_str().len(),
    }
}

/// `batch` in requests of at most `max_bytes` each (in order), and the spans
/// that do not fit even alone, with their size.
pub(crate) fn split(batch: Vec<SpanData>, max_bytes: usize) -> (Vec<Vec<SpanData>>, Vec<(SpanData, usize)>) {
    let budget = max_bytes.saturating_sub(ENVELOPE_BYTES).max(1);
    let mut requests: Vec<Vec<SpanData>> = Vec::new();
    let mut too_large = Vec::new();
    let mut current: Vec<SpanData> = Vec::new();
    let mut used = 0;
    for mut span in batch {
        dedupe_attributes(&mut span.attributes);
        truncate(&mut span);
        let len = encoded_len(&span);
        if len > budget {
            too_large.push((span, len));
            continue;
        }
        if used + len > budget && !current.is_empty() {
            requests.push(std::mem::take(&mut current));
            used = 0;
        }
        used += len;
        current.push(span);
    }
    if !current.is_empty() {
        requests.push(current);
    }
    (requests, too_large)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanKind};
    use opentelemetry::InstrumentationScope;
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use std::time::SystemTime;

    fn span(name: &str, attributes: Vec<KeyValue>) -> SpanData {
        SpanData {
            span_context: SpanContext::empty_context(),
            parent_span_id: opentelemetry::trace::SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: name.to_owned().into(),
            start_time: SystemTime::now(),
            end_time: SystemTime::now(),
            attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::builder("test").build(),
        }
    }

    /// Spans made of what OTLP/JSON inflates most: many tiny fields, empty
    /// and escaped strings, extreme numbers, events and links.
    #[cfg(feature = "otlp")]
    fn json_hostile_spans() -> Vec<SpanData> {
        use opentelemetry::trace::{Event, Link, SpanId, TraceFlags, TraceId, TraceState};
        let each = |f: &dyn Fn(usize) -> Value| (0..100).map(|i| KeyValue::new("k", f(i))).collect::<Vec<_>>();
        let mut spans = vec![
            span("", Vec::new()),
            span("bools", each(&|_| Value::Bool(true))),
            span("ints", each(&|_| Value::I64(i64::MIN))),
            span("floats", each(&|_| Value::F64(-1.234_567_890_123_456_7e-300))),
            span("empty", each(&|_| Value::String("".into()))),
            span("escaped", each(&|_| Value::String("\u{1}\"\n\u{7f}".into()))),
            span("arrays", each(&|_| Value::Array(Array::String(vec!["".into(); 10])))),
            span("int arrays", each(&|_| Value::Array(Array::I64(vec![i64::MIN; 10])))),
            span("bool arrays", each(&|_| Value::Array(Array::Bool(vec![false; 10])))),
        ];
        let mut events = span("events", Vec::new());
        for _ in 0..100 {
            events.events.events.push(Event::new("", SystemTime::now(), vec![KeyValue::new("", "")], 0));
        }
        spans.push(events);
        // The deepest values: arrays in event and link attributes.
        let bools = || vec![KeyValue::new("", Value::Array(Array::Bool(vec![false; 100])))];
        let mut deep_events = span("event bool arrays", Vec::new());
        deep_events.events.events.push(Event::new("", SystemTime::now(), bools(), 0));
        let mut links = span("links", Vec::new());
        let remote = SpanContext::new(
            TraceId::from_bytes([0xff; 16]),
            SpanId::from_bytes([0xff; 8]),
            TraceFlags::SAMPLED,
            true,
            TraceState::from_key_value([("k", "v")]).unwrap(),
        );
        for _ in 0..100 {
            links.links.links.push(Link::new(remote.clone(), vec![KeyValue::new("", false)], 0));
        }
        spans.push(links);
        let mut deep_links = span("link bool arrays", Vec::new());
        deep_links.links.links.push(Link::new(remote, bools(), 0));
        spans.push(deep_events);
        spans.push(deep_links);
        let mut failed = span("\u{1}", Vec::new());
        failed.status = Status::error("\u{1}\u{2}\u{3}");
        spans.push(failed);
        spans
    }

    #[cfg(feature = "otlp")]
    #[test]
    fn json_requests_stay_within_the_json_bound() {
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
        let resource = (&opentelemetry_sdk::Resource::builder_empty().build()).into();
        // Written as opentelemetry-otlp writes OTLP/JSON.
        let json_len = |spans: Vec<SpanData>| {
            let request =
                ExportTraceServiceRequest { resource_spans: group_spans_by_resource_and_scope(spans, &resource) };
            serde_json::to_string_pretty(&request).unwrap().len()
        };
        let envelope = json_len(Vec::new());
        for span in json_hostile_spans() {
            let bound = encoded_len(&span) * JSON_EXPANSION;
            let name = span.name.to_string();
            let len = json_len(vec![span]) - envelope;
            assert!(len <= bound, "{name:?}: {len} bytes of JSON over the bound {bound}");
        }
        assert_eq!(json_max_bytes(64 * 1024), ENVELOPE_BYTES + 3 * 1024);
    }

    fn keys_and_values(attributes: &[KeyValue]) -> Vec<(String, Value)> {
        attributes.iter().map(|kv| (kv.key.as_str().to_owned(), kv.value.clone())).collect()
    }

    #[test]
    fn a_key_set_twice_is_kept_once_with_its_latest_value() {
        let mut attributes = vec![
            KeyValue::new("code.function.name", "f"),
            KeyValue::new("env", "prod"), // a global tag
            KeyValue::new("n", 1_i64),
            KeyValue::new("env", "canary"), // set later on the span
            KeyValue::new("n", 2_i64),
        ];
        assert_eq!(dedupe_attributes(&mut attributes), 2);
        assert_eq!(
            keys_and_values(&attributes),
            [
                ("code.function.name".to_owned(), Value::from("f")),
                ("env".to_owned(), Value::from("canary")),
                ("n".to_owned(), Value::I64(2)),
            ]
        );
    }

    #[test]
    fn without_repeats_nothing_changes_small_or_large() {
        let mut none: Vec<KeyValue> = Vec::new();
        assert_eq!(dedupe_attributes(&mut none), 0);
        let mut small: Vec<KeyValue> = (0..PAIRWISE_UP_TO).map(|i| KeyValue::new(format!("k{i}"), i as i64)).collect();
        let before = keys_and_values(&small);
        assert_eq!(dedupe_attributes(&mut small), 0);
        assert_eq!(keys_and_values(&small), before);
        let mut large: Vec<KeyValue> = (0..100).map(|i| KeyValue::new(format!("k{i}"), i as i64)).collect();
        assert_eq!(dedupe_attributes(&mut large), 0);
        assert_eq!(large.len(), 100);
    }

    #[test]
    fn repeats_among_many_attributes_keep_the_last() {
        let mut large: Vec<KeyValue> = (0..100).map(|i| KeyValue::new(format!("k{}", i % 40), i as i64)).collect();
        assert_eq!(dedupe_attributes(&mut large), 60);
        let values: Vec<i64> = large.iter().map(|kv| if let Value::I64(v) = kv.value { v } else { -1 }).collect();
        assert_eq!(values, (60..100).collect::<Vec<i64>>());
    }

    #[test]
    fn batches_are_deduplicated_before_they_are_sent() {
        let batch = vec![span("s", vec![KeyValue::new("k", 1_i64), KeyValue::new("k", 2_i64)])];
        let (requests, _) = split(batch, DEFAULT_MAX_EXPORT_BYTES);
        assert_eq!(keys_and_values(&requests[0][0].attributes), [("k".to_owned(), Value::I64(2))]);
    }

    #[test]
    fn long_values_are_cut_at_a_char_boundary() {
        let mut s = span("x", vec![KeyValue::new("blob", "é".repeat(MAX_VALUE_BYTES))]);
        truncate(&mut s);
        let value = s.attributes[0].value.as_str().into_owned();
        assert!(value.len() < MAX_VALUE_BYTES + 40, "{}", value.len());
        assert!(value.ends_with(&format!("…[{} more bytes cut]", MAX_VALUE_BYTES)), "{}", &value[value.len() - 40..]);
    }

    #[test]
    fn the_bound_is_above_the_real_encoding() {
        // A string value of n bytes takes n plus a few bytes of framing.
        let s = span("name", vec![KeyValue::new("k", "v".repeat(1000)), KeyValue::new("n", 5_i64)]);
        assert!(encoded_len(&s) > 1000 + 4 + 1 + 1);
        assert!(encoded_len(&s) < 1000 + 300);
    }

    #[test]
    fn batches_split_under_the_limit_and_oversized_spans_are_set_aside() {
        let big = || KeyValue::new("v", "x".repeat(30_000));
        let batch: Vec<SpanData> = (0..10)
            .map(|i| span(&format!("s{i}"), vec![big()]))
            .chain([span("huge", (0..200).map(|i| KeyValue::new(format!("k{i}"), "y".repeat(30_000))).collect())])
            .collect();
        let (requests, too_large) = split(batch, 100_000);
        assert_eq!(too_large.len(), 1);
        assert_eq!(too_large[0].0.name, "huge");
        assert_eq!(requests.iter().map(Vec::len).sum::<usize>(), 10);
        for request in &requests {
            assert!(request.iter().map(encoded_len).sum::<usize>() <= 100_000 - ENVELOPE_BYTES);
        }
        assert!(requests.len() >= 4, "{}", requests.len());
    }
}
