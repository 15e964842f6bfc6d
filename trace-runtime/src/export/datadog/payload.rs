//! A batch of mapped spans as the body of a `/v0.4/traces` request: an
//! array of trace chunks (the spans of one trace, in the order they ended),
//! each an array of span maps; each chunk's root carries the trace's
//! Datadog decisions (`mapping::mark_chunk_root`).

use std::collections::BTreeMap;

use super::mapping::{mark_chunk_root, mark_top_level, DdSpan};
use super::msgpack::Writer;

/// Groups `spans` by trace, in the order each trace first appears.
pub(crate) fn chunks(spans: Vec<DdSpan>) -> Vec<Vec<DdSpan>> {
    let mut index: BTreeMap<(u64, u64), usize> = BTreeMap::new();
    let mut chunks: Vec<Vec<DdSpan>> = Vec::new();
    for span in spans {
        let key = (span.trace_id_high, span.trace_id_low);
        let i = *index.entry(key).or_insert_with(|| {
            chunks.push(Vec::new());
            chunks.len() - 1
        });
        chunks[i].push(span);
    }
    for chunk in &mut chunks {
        mark_top_level(chunk);
        mark_chunk_root(chunk);
    }
    chunks
}

/// The msgpack body for `chunks`.
pub(crate) fn encode(chunks: &[Vec<DdSpan>]) -> Vec<u8> {
    let mut w = Writer::new();
    w.array(chunks.len());
    for chunk in chunks {
        w.array(chunk.len());
        for span in chunk {
            span_map(&mut w, span);
        }
    }
    w.into_bytes()
}

fn span_map(w: &mut Writer, span: &DdSpan) {
    w.map(12);
    for (key, value) in
        [("service", &span.service), ("name", &span.name), ("resource", &span.resource), ("type", &span.span_type)]
    {
        w.str(key);
        w.str(value);
    }
    for (key, value) in [("trace_id", span.trace_id_low), ("span_id", span.span_id), ("parent_id", span.parent_id)] {
        w.str(key);
        w.uint(value);
    }
    w.str("start");
    w.int(span.start);
    w.str("duration");
    w.int(span.duration);
    w.str("error");
    w.int(i64::from(span.error));
    w.str("meta");
    w.map(span.meta.len());
    for (k, v) in &span.meta {
        w.str(k);
        w.str(v);
    }
    w.str("metrics");
    w.map(span.metrics.len());
    for (k, v) in &span.metrics {
        w.str(k);
        w.f64(*v);
    }
}
