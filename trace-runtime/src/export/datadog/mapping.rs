//! One OpenTelemetry span as a Datadog span, following the rules of
//! Datadog's own OTLP ingestion (the Agent's OTLP receiver):
//!
//! | Datadog field | from |
//! |---|---|
//! | `service` | the span's `service.name` attribute, else the resource's |
//! | `name` (operation) | `operation.name`, else `<scope>.<kind>` (the Agent's first naming scheme, e.g. `trace_runtime.server`) |
//! | `resource` | `resource.name`, else `METHOD route` for HTTP servers (`METHOD` for clients), `messaging.operation destination`, `rpc.method rpc.service`, the database query, else the span name |
//! | `type` | `span.type`, else `web` (server), `sql`/`redis`/`memcached` (database client), `http` (client), `custom` |
//! | `error` | 1 when the status is ERROR; `error.message`, `error.type`, `error.stack` from the last `exception` event |
//! | ids | the low 64 bits of the trace id; the high 64 in `_dd.p.tid` (hex) |
//! | `meta` / `metrics` | resource then span attributes: numbers in `metrics`, everything else (bools, arrays as JSON) in `meta` |
//! | links / events | JSON in `_dd.span_links` / `events` |
//!
//! The trace-level decisions Datadog carries (the `dd` member of the span
//! context's `tracestate`, see `propagation::dd_member`) go where Datadog's
//! tracers put them, on each chunk's root span ([`mark_chunk_root`]):
//! `_sampling_priority_v1` from `s:` (else 1, the sampled flag's keep),
//! the `_dd.p.*` tags from `t.*`, and `_dd.p.dm` = `-0` (Datadog's default
//! mechanism) when the decision was taken here; `_dd.origin` from `o:` on
//! every span of the chunk.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::{Key, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

use super::json;
use crate::propagation::dd_member::{self, DdMember};

/// The decision maker of a trace sampled here: Datadog's `DEFAULT`
/// mechanism (0), written as tracers write it.
const LOCAL_DECISION_MAKER: &str = "-0";

/// Span attributes that become top-level Datadog fields instead of tags.
const TOP_LEVEL_KEYS: [&str; 4] = ["service.name", "resource.name", "operation.name", "span.type"];

/// A span in the Agent's v0.4 shape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DdSpan {
    pub(crate) service: String,
    pub(crate) name: String,
    pub(crate) resource: String,
    pub(crate) span_type: String,
    pub(crate) trace_id_low: u64,
    pub(crate) trace_id_high: u64,
    pub(crate) span_id: u64,
    pub(crate) parent_id: u64,
    pub(crate) start: i64,
    pub(crate) duration: i64,
    pub(crate) error: i32,
    /// Sorted, so that payloads (and snapshots) do not depend on hash order.
    pub(crate) meta: BTreeMap<String, String>,
    pub(crate) metrics: BTreeMap<String, f64>,
    /// Whether the parent lives in another process (or there is none).
    pub(crate) local_root: bool,
    kind: SpanKind,
    /// The span context's sampled flag.
    sampled: bool,
    /// The `dd` member of the span context's `tracestate`, if any.
    dd: Option<String>,
}

/// What every span takes from the resource, computed once per exporter.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResourceTags {
    service: String,
    meta: BTreeMap<String, String>,
    metrics: BTreeMap<String, f64>,
}

impl ResourceTags {
    pub(crate) fn new(resource: &Resource) -> Self {
        let mut tags = ResourceTags { service: "unknown_service".to_owned(), ..ResourceTags::default() };
        for (key, value) in resource.iter() {
            match (key.as_str(), value) {
                ("service.name", value) => tags.service = value.as_str().into_owned(),
                ("deployment.environment.name" | "deployment.environment", value) => {
                    tags.meta.insert("env".to_owned(), value.as_str().into_owned());
                }
                ("service.version", value) => {
                    tags.meta.insert("version".to_owned(), value.as_str().into_owned());
                }
                _ => {}
            }
            if key.as_str() != "service.name" {
                put(&mut tags.meta, &mut tags.metrics, key, value);
            }
        }
        tags
    }
}

/// A tag by value type: numbers are metrics, the rest meta strings.
fn put(meta: &mut BTreeMap<String, String>, metrics: &mut BTreeMap<String, f64>, key: &Key, value: &Value) {
    let key = key.as_str().to_owned();
    match value {
        Value::I64(i) => {
            meta.remove(&key);
            // Datadog metrics are doubles; ids beyond 2^53 would lose digits.
            if i.unsigned_abs() <= 1 << 53 {
                metrics.insert(key, *i as f64);
            } else {
                meta.insert(key, i.to_string());
            }
        }
        Value::F64(f) => {
            meta.remove(&key);
            metrics.insert(key, *f);
        }
        Value::String(s) => {
            metrics.remove(&key);
            meta.insert(key, s.as_str().to_owned());
        }
        Value::Bool(b) => {
            metrics.remove(&key);
            meta.insert(key, b.to_string());
        }
        other => {
            metrics.remove(&key);
            let mut out = String::new();
            json::value(&mut out, other);
            meta.insert(key, out);
        }
    }
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

fn attr_str(span: &SpanData, key: &str) -> Option<String> {
    attr(span, key).map(|v| v.as_str().into_owned()).filter(|s| !s.is_empty())
}

fn first_str(span: &SpanData, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| attr_str(span, k))
}

fn kind_name(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        SpanKind::Internal => "internal",
    }
}

/// `<scope>.<kind>`, in the characters Datadog keeps in operation names.
fn derived_operation(span: &SpanData) -> String {
    let scope = span.instrumentation_scope.name();
    let scope = if scope.is_empty() { "opentelemetry" } else { scope };
    format!("{scope}.{}", kind_name(&span.span_kind))
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_' | '.') => c,
            _ => '_',
        })
        .collect()
}

fn derived_resource(span: &SpanData) -> String {
    let method = first_str(span, &["http.request.method", "http.method"]);
    match (&span.span_kind, method) {
        (SpanKind::Server, Some(method)) => match attr_str(span, "http.route") {
            Some(route) => format!("{method} {route}"),
            None => method,
        },
        (SpanKind::Client, Some(method)) => method,
        _ => {
            let messaging = (
                first_str(span, &["messaging.operation.type", "messaging.operation"]),
                first_str(span, &["messaging.destination.name", "messaging.destination"]),
            );
            if let (Some(operation), Some(destination)) = messaging {
                return format!("{operation} {destination}");
            }
            if let (Some(method), Some(service)) = (attr_str(span, "rpc.method"), attr_str(span, "rpc.service")) {
                return format!("{method} {service}");
            }
            first_str(span, &["db.query.text", "db.statement"]).unwrap_or_else(|| span.name.to_string())
        }
    }
}

fn derived_type(span: &SpanData) -> String {
    match span.span_kind {
        SpanKind::Server => "web".to_owned(),
        SpanKind::Client => match attr_str(span, "db.system.name").or_else(|| attr_str(span, "db.system")) {
            Some(db) if db == "redis" || db == "memcached" => db,
            Some(_) => "sql".to_owned(),
            None => "http".to_owned(),
        },
        _ => "custom".to_owned(),
    }
}

fn nanos(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
}

/// Maps one span; `resource` holds what the process's resource gives every span.
pub(crate) fn map(span: &SpanData, resource: &ResourceTags) -> DdSpan {
    let trace_id = u128::from_be_bytes(span.span_context.trace_id().to_bytes());
    let mut meta = resource.meta.clone();
    let mut metrics = resource.metrics.clone();
    for KeyValue { key, value, .. } in &span.attributes {
        if !TOP_LEVEL_KEYS.contains(&key.as_str()) {
            put(&mut meta, &mut metrics, key, value);
        }
    }
    meta.insert("span.kind".to_owned(), kind_name(&span.span_kind).to_owned());
    let mut full_id = String::with_capacity(32);
    hex(&mut full_id, &span.span_context.trace_id().to_bytes());
    meta.insert("_dd.p.tid".to_owned(), full_id[..16].to_owned());
    meta.insert("otel.trace_id".to_owned(), full_id);
    let scope = &span.instrumentation_scope;
    meta.insert("otel.library.name".to_owned(), scope.name().to_owned());
    if let Some(version) = scope.version() {
        meta.insert("otel.library.version".to_owned(), version.to_owned());
    }

    let mut error = 0;
    match &span.status {
        Status::Error { description } => {
            error = 1;
            meta.insert("otel.status_code".to_owned(), "Error".to_owned());
            if !description.is_empty() {
                meta.insert("otel.status_description".to_owned(), description.to_string());
                meta.insert("error.message".to_owned(), description.to_string());
            }
            let exception = span.events.iter().rev().find(|e| e.name == "exception");
            for (from, to) in [
                ("exception.message", "error.message"),
                ("exception.type", "error.type"),
                ("exception.stacktrace", "error.stack"),
            ] {
                let value = exception.and_then(|e| e.attributes.iter().find(|kv| kv.key.as_str() == from));
                if let Some(kv) = value {
                    meta.insert(to.to_owned(), kv.value.as_str().into_owned());
                }
            }
        }
        Status::Ok => {
            meta.insert("otel.status_code".to_owned(), "Ok".to_owned());
        }
        Status::Unset => {
            meta.insert("otel.status_code".to_owned(), "Unset".to_owned());
        }
    }
    if !span.links.is_empty() {
        meta.insert("_dd.span_links".to_owned(), links_json(span));
    }
    if !span.events.is_empty() {
        meta.insert("events".to_owned(), events_json(span));
    }

    let parent = span.parent_span_id;
    let local_root = parent == SpanId::INVALID || span.parent_span_is_remote;
    let start = nanos(span.start_time);
    DdSpan {
        service: attr_str(span, "service.name").unwrap_or_else(|| resource.service.clone()),
        name: attr_str(span, "operation.name").unwrap_or_else(|| derived_operation(span)),
        resource: attr_str(span, "resource.name").unwrap_or_else(|| derived_resource(span)),
        span_type: attr_str(span, "span.type").unwrap_or_else(|| derived_type(span)),
        trace_id_low: trace_id as u64,
        trace_id_high: (trace_id >> 64) as u64,
        span_id: u64::from_be_bytes(span.span_context.span_id().to_bytes()),
        parent_id: u64::from_be_bytes(parent.to_bytes()),
        start,
        duration: nanos(span.end_time).saturating_sub(start).max(0),
        error,
        meta,
        metrics,
        local_root,
        kind: span.span_kind.clone(),
        sampled: span.span_context.is_sampled(),
        dd: span.span_context.trace_state().get(dd_member::KEY).map(str::to_owned),
    }
}

/// Puts the trace's Datadog decisions on the root of one trace chunk (the
/// local root when the chunk has it, else the first span whose parent is
/// not in the chunk, as the Agent finds a chunk's root): the sampling
/// priority, the `_dd.p.*` tags and, for a trace decided here, `_dd.p.dm`;
/// `_dd.origin` goes on every span of the chunk.
pub(crate) fn mark_chunk_root(chunk: &mut [DdSpan]) {
    let ids: std::collections::BTreeSet<u64> = chunk.iter().map(|s| s.span_id).collect();
    let root = chunk
        .iter()
        .position(|s| s.local_root)
        .or_else(|| chunk.iter().position(|s| !ids.contains(&s.parent_id)))
        .unwrap_or(0);
    let Some(span) = chunk.get(root) else { return };
    let member = span.dd.as_deref().map(DdMember::parse).unwrap_or_default();
    let priority = member.priority_for(span.sampled);
    let decided_here = member.priority.is_none();
    if let Some(origin) = &member.origin {
        for span in chunk.iter_mut() {
            span.meta.insert("_dd.origin".to_owned(), origin.clone());
        }
    }
    let span = &mut chunk[root];
    span.metrics.insert("_sampling_priority_v1".to_owned(), f64::from(priority));
    for (key, value) in member.tags {
        span.meta.entry(key).or_insert(value);
    }
    if decided_here {
        span.meta.entry("_dd.p.dm".to_owned()).or_insert_with(|| LOCAL_DECISION_MAKER.to_owned());
    }
}

/// Marks the spans the Agent computes stats for, among the spans of one
/// trace chunk: `_dd.top_level` on local roots, on spans whose parent is
/// not in the chunk or has another service, and on server and consumer
/// spans (the Agent's "top level by span kind"); `_dd.measured` on client
/// and producer spans.
pub(crate) fn mark_top_level(chunk: &mut [DdSpan]) {
    let services: BTreeMap<u64, String> = chunk.iter().map(|s| (s.span_id, s.service.clone())).collect();
    for span in chunk.iter_mut() {
        let parent_service = services.get(&span.parent_id);
        let top = span.local_root
            || parent_service.is_none_or(|service| *service != span.service)
            || matches!(span.kind, SpanKind::Server | SpanKind::Consumer);
        if top {
            span.metrics.insert("_dd.top_level".to_owned(), 1.0);
        } else if matches!(span.kind, SpanKind::Client | SpanKind::Producer) {
            span.metrics.insert("_dd.measured".to_owned(), 1.0);
        }
    }
}

fn links_json(span: &SpanData) -> String {
    let mut out = String::from("[");
    for (i, link) in span.links.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"trace_id\":\"");
        hex(&mut out, &link.span_context.trace_id().to_bytes());
        out.push_str("\",\"span_id\":\"");
        hex(&mut out, &link.span_context.span_id().to_bytes());
        out.push('"');
        let state = link.span_context.trace_state().header();
        if !state.is_empty() {
            out.push_str(",\"tracestate\":");
            json::string(&mut out, &state);
        }
        if !link.attributes.is_empty() {
            // Datadog reads link attributes as strings.
            out.push_str(",\"attributes\":{");
            for (j, kv) in link.attributes.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                json::string(&mut out, kv.key.as_str());
                out.push(':');
                json::string(&mut out, &kv.value.as_str());
            }
            out.push('}');
        }
        if link.dropped_attributes_count > 0 {
            let _ = write!(out, ",\"dropped_attributes_count\":{}", link.dropped_attributes_count);
        }
        out.push('}');
    }
    out.push(']');
    out
}

fn events_json(span: &SpanData) -> String {
    let mut out = String::from("[");
    for (i, event) in span.events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        json::string(&mut out, &event.name);
        let _ = write!(out, ",\"time_unix_nano\":{}", nanos(event.timestamp));
        if !event.attributes.is_empty() {
            out.push_str(",\"attributes\":{");
            for (j, kv) in event.attributes.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                json::string(&mut out, kv.key.as_str());
                out.push(':');
                json::value(&mut out, &kv.value);
            }
            out.push('}');
        }
        if event.dropped_attributes_count > 0 {
            let _ = write!(out, ",\"dropped_attributes_count\":{}", event.dropped_attributes_count);
        }
        out.push('}');
    }
    out.push(']');
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::borrow::Cow;
    use std::time::Duration;

    use opentelemetry::trace::{SpanContext, TraceFlags, TraceId, TraceState};
    use opentelemetry::InstrumentationScope;
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    use super::*;

    fn span(kind: SpanKind, name: &'static str, attributes: Vec<KeyValue>) -> SpanData {
        let trace_id = TraceId::from_hex("5b8efff798038103d269b633813fc60c").unwrap();
        SpanData {
            span_context: SpanContext::new(
                trace_id,
                SpanId::from_hex("00000000000000aa").unwrap(),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::from_hex("00000000000000bb").unwrap(),
            parent_span_is_remote: false,
            span_kind: kind,
            name: Cow::Borrowed(name),
            start_time: UNIX_EPOCH + Duration::from_secs(10),
            end_time: UNIX_EPOCH + Duration::from_secs(11),
            attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::builder("trace-runtime").build(),
        }
    }

    fn resource() -> ResourceTags {
        ResourceTags::new(&Resource::builder_empty().with_service_name("shop").build())
    }

    #[test]
    fn names_resources_and_types_are_derived_as_the_agent_does() {
        let server = map(
            &span(
                SpanKind::Server,
                "handler",
                vec![KeyValue::new("http.request.method", "POST"), KeyValue::new("http.route", "/cart/{id}")],
            ),
            &resource(),
        );
        assert_eq!(server.name, "trace_runtime.server");
        assert_eq!(server.resource, "POST /cart/{id}");
        assert_eq!(server.span_type, "web");
        assert_eq!(server.service, "shop");

        let client =
            map(&span(SpanKind::Client, "call", vec![KeyValue::new("http.request.method", "GET")]), &resource());
        assert_eq!((client.resource.as_str(), client.span_type.as_str()), ("GET", "http"));

        let redis = map(&span(SpanKind::Client, "get", vec![KeyValue::new("db.system", "redis")]), &resource());
        assert_eq!(redis.span_type, "redis");
        let producer = map(
            &span(
                SpanKind::Producer,
                "send",
                vec![
                    KeyValue::new("messaging.operation.type", "send"),
                    KeyValue::new("messaging.destination.name", "orders"),
                ],
            ),
            &resource(),
        );
        assert_eq!((producer.resource.as_str(), producer.span_type.as_str()), ("send orders", "custom"));

        let plain = map(&span(SpanKind::Internal, "work", vec![]), &resource());
        assert_eq!((plain.name.as_str(), plain.resource.as_str()), ("trace_runtime.internal", "work"));
        assert_eq!((plain.start, plain.duration), (10_000_000_000, 1_000_000_000));
        assert_eq!(plain.trace_id_low, 0xd269b633813fc60c);
        assert_eq!(plain.meta["_dd.p.tid"], "5b8efff798038103");
        assert!(!plain.local_root && !plain.metrics.contains_key("_sampling_priority_v1"));
    }

    #[test]
    fn explicit_attributes_win_and_leave_the_tags() {
        let explicit = map(
            &span(
                SpanKind::Server,
                "handler",
                vec![
                    KeyValue::new("operation.name", "rack.request"),
                    KeyValue::new("resource.name", "home"),
                    KeyValue::new("span.type", "worker"),
                    KeyValue::new("service.name", "front"),
                    KeyValue::new("big", i64::MAX),
                ],
            ),
            &resource(),
        );
        assert_eq!(explicit.name, "rack.request");
        assert_eq!(explicit.resource, "home");
        assert_eq!(explicit.span_type, "worker");
        assert_eq!(explicit.service, "front");
        for key in TOP_LEVEL_KEYS {
            assert!(!explicit.meta.contains_key(key), "{key}");
        }
        assert_eq!(explicit.meta["big"], i64::MAX.to_string(), "beyond a double's integers: kept as text");
    }

    #[test]
    fn top_level_follows_service_changes_and_kinds() {
        let mut root = span(SpanKind::Server, "root", vec![]);
        root.parent_span_id = SpanId::INVALID;
        let mut child = span(SpanKind::Internal, "child", vec![]);
        child.parent_span_id = root.span_context.span_id();
        let mut client = span(SpanKind::Client, "client", vec![]);
        client.parent_span_id = root.span_context.span_id();
        let mut chunk = vec![map(&root, &resource()), map(&child, &resource()), map(&client, &resource())];
        // Distinct ids for the three spans.
        chunk[1].span_id = 2;
        chunk[2].span_id = 3;
        mark_top_level(&mut chunk);
        mark_chunk_root(&mut chunk);
        assert_eq!(chunk[0].metrics.get("_dd.top_level"), Some(&1.0));
        assert_eq!(chunk[0].metrics.get("_sampling_priority_v1"), Some(&1.0));
        assert_eq!(chunk[0].meta.get("_dd.p.dm").map(String::as_str), Some("-0"), "decided here");
        assert_eq!(chunk[1].metrics.get("_sampling_priority_v1"), None);
        assert_eq!(chunk[1].metrics.get("_dd.top_level"), None);
        assert_eq!(chunk[2].metrics.get("_dd.measured"), Some(&1.0));
    }

    fn with_dd(mut span: SpanData, dd: &str) -> SpanData {
        let state = TraceState::from_key_value([("dd", dd)]).unwrap();
        let sc = &span.span_context;
        span.span_context = SpanContext::new(sc.trace_id(), sc.span_id(), sc.trace_flags(), false, state);
        span
    }

    #[test]
    fn the_callers_decisions_go_on_the_chunk_root() {
        let mut root = with_dd(span(SpanKind::Server, "root", vec![]), "s:2;o:rum;t.dm:-3;t.usr.id:baz64~~");
        root.parent_span_is_remote = true;
        let mut child = with_dd(span(SpanKind::Internal, "child", vec![]), "s:2;o:rum;t.dm:-3;t.usr.id:baz64~~");
        child.parent_span_id = root.span_context.span_id();
        let mut chunk = vec![map(&child, &resource()), map(&root, &resource())];
        chunk[0].span_id = 2;
        mark_chunk_root(&mut chunk);
        let (child, root) = (&chunk[0], &chunk[1]);
        assert_eq!(root.metrics.get("_sampling_priority_v1"), Some(&2.0), "the caller's priority, not 1");
        assert_eq!(root.meta["_dd.p.dm"], "-3", "the caller's decision maker, not ours");
        assert_eq!(root.meta["_dd.p.usr.id"], "baz64==");
        assert_eq!(root.meta["_dd.p.tid"], "5b8efff798038103", "the trace id's upper half is not overwritten");
        assert_eq!((root.meta["_dd.origin"].as_str(), child.meta["_dd.origin"].as_str()), ("rum", "rum"));
        assert!(!child.metrics.contains_key("_sampling_priority_v1") && !child.meta.contains_key("_dd.p.dm"));
    }

    #[test]
    fn without_its_local_root_a_chunk_uses_the_span_whose_parent_is_elsewhere() {
        // The local root went out in an earlier batch: the chunk's root is
        // the span whose parent is not in it.
        let parent = map(&with_dd(span(SpanKind::Internal, "parent", vec![]), "s:-1"), &resource());
        let mut child = parent.clone();
        (child.span_id, child.parent_id) = (7, parent.span_id);
        let mut chunk = vec![child, parent];
        mark_chunk_root(&mut chunk);
        assert_eq!(chunk[1].metrics.get("_sampling_priority_v1"), Some(&1.0), "sampled: `s:-1` disagrees, keep");
        assert!(!chunk[1].meta.contains_key("_dd.p.dm"), "the caller decided: no local decision maker");
        assert!(!chunk[0].metrics.contains_key("_sampling_priority_v1"));
    }
}
