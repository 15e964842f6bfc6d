//! Zipkin B3: the single `b3` header (`{trace}-{span}[-{sampled}[-{parent}]]`)
//! and the multi-header form (`x-b3-traceid`, `x-b3-spanid`,
//! `x-b3-sampled`, `x-b3-flags`). A header with no sampling decision
//! ("defer") is continued as sampled, so the trace is not lost downstream.

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::SpanContext;

use super::ids::{remote, span_id_hex, trace_id_hex};

pub(crate) const SINGLE: &str = "b3";
pub(crate) const TRACE_ID: &str = "x-b3-traceid";
pub(crate) const SPAN_ID: &str = "x-b3-spanid";
pub(crate) const SAMPLED: &str = "x-b3-sampled";
pub(crate) const FLAGS: &str = "x-b3-flags";
pub(crate) const SINGLE_FIELDS: &[&str] = &[SINGLE];
pub(crate) const MULTI_FIELDS: &[&str] = &[TRACE_ID, SPAN_ID, SAMPLED, FLAGS];

/// `b3: {trace}-{span}[-{1|0|d}[-{parent}]]`; a lone `0`/`1`/`d` carries no span to continue.
pub(crate) fn extract_single(get: &dyn Extractor) -> Option<SpanContext> {
    let value = get.get(SINGLE)?.trim();
    let mut parts = value.split('-');
    let trace = trace_id_hex(parts.next()?, &[16, 32])?;
    let span = span_id_hex(parts.next()?, &[16])?;
    let sampled = match parts.next() {
        None => true,
        Some("1" | "d") => true,
        Some("0") => false,
        Some(_) => return None,
    };
    if let Some(parent) = parts.next() {
        span_id_hex(parent, &[16])?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(remote(trace, span, sampled))
}

/// The multi-header form.
pub(crate) fn extract_multi(get: &dyn Extractor) -> Option<SpanContext> {
    let trace = trace_id_hex(get.get(TRACE_ID)?.trim(), &[16, 32])?;
    let span = span_id_hex(get.get(SPAN_ID)?.trim(), &[16])?;
    let debug = get.get(FLAGS).is_some_and(|f| f.trim() == "1");
    let sampled = match get.get(SAMPLED).map(str::trim) {
        None => true,
        Some("1" | "true") => true,
        Some("0" | "false") => debug,
        Some(_) => return None,
    };
    Some(remote(trace, span, sampled))
}

pub(crate) fn inject_single(sc: &SpanContext, set: &mut dyn Injector) {
    let sampled = if sc.is_sampled() { "1" } else { "0" };
    set.set(SINGLE, format!("{}-{}-{sampled}", sc.trace_id(), sc.span_id()));
}

pub(crate) fn inject_multi(sc: &SpanContext, set: &mut dyn Injector) {
    set.set(TRACE_ID, sc.trace_id().to_string());
    set.set(SPAN_ID, sc.span_id().to_string());
    set.set(SAMPLED, if sc.is_sampled() { "1" } else { "0" }.to_owned());
}
