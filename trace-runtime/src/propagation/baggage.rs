//! W3C Baggage (`baggage`), by the SDK's propagator: its parser already
//! bounds the header (8192 bytes, 180 members) and percent-decodes values.

use std::sync::LazyLock;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::BaggagePropagator;

pub(crate) const FIELDS: &[&str] = &["baggage"];

static PROPAGATOR: LazyLock<BaggagePropagator> = LazyLock::new(BaggagePropagator::new);

/// `cx` with the caller's baggage added.
pub(crate) fn extract(cx: &Context, get: &dyn Extractor) -> Context {
    PROPAGATOR.extract_with_context(cx, get)
}

/// Writes `baggage` when `cx` has any.
pub(crate) fn inject(cx: &Context, set: &mut dyn Injector) {
    PROPAGATOR.inject_context(cx, set);
}
