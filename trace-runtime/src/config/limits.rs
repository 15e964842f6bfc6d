//! Span limits: how many attributes, events and links a span keeps (the
//! SDK drops the rest and counts them), and how long an attribute value may
//! be.
//!
//! Value lengths are cut off the caller's thread: by the export pipeline
//! just before each export, and by `testing::capture` when it hands its
//! spans over, so a test sees what a collector would receive. A value is cut
//! to at most the limit in characters (never inside one), as the
//! specification says; string arrays element by element.

use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use super::env::{self, invalid, Env};
use super::Error;

/// The largest count limit: each kept attribute, event or link costs memory
/// in every open span.
const MAX_COUNT: u32 = 65_536;

/// The largest value length limit, in characters: the export path cuts any
/// string over 32 KiB anyway, so a larger limit would promise what is not
/// sent.
const MAX_VALUE_LENGTH: usize = 32 * 1024;

const COUNT_ACCEPTED: &str = "a whole number from 0 to 65536 (default 128)";
const LENGTH_ACCEPTED: &str = "a whole number of characters from 1 to 32768 (default: no limit; the export path \
                               cuts any string over 32 KiB)";

/// Span limits (`OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`, `OTEL_SPAN_EVENT_COUNT_LIMIT`,
/// `OTEL_SPAN_LINK_COUNT_LIMIT`, `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT` or
/// `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`), as resolved.
///
/// ```
/// let config = trace_runtime::init()
///     .env_lookup(|name| (name == "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT").then(|| "64".to_owned()))
///     .span_event_count_limit(16)
///     .resolve()
///     .unwrap();
/// assert_eq!(config.span_limits.attribute_value_length, Some(64));
/// assert_eq!(config.span_limits.event_count, 16);
/// assert_eq!(config.span_limits.attribute_count, 128);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpanLimits {
    /// Attributes kept per span (default 128); more are dropped and counted.
    pub attribute_count: u32,
    /// Events kept per span (default 128).
    pub event_count: u32,
    /// Links kept per span (default 128).
    pub link_count: u32,
    /// Longest string attribute value, in characters (default: no limit).
    pub attribute_value_length: Option<usize>,
}

impl SpanLimits {
    const DEFAULT: SpanLimits =
        SpanLimits { attribute_count: 128, event_count: 128, link_count: 128, attribute_value_length: None };

    /// The SDK's limits (attributes per event and link stay at its 128).
    pub(crate) fn sdk(&self) -> opentelemetry_sdk::trace::SpanLimits {
        opentelemetry_sdk::trace::SpanLimits {
            max_attributes_per_span: self.attribute_count,
            max_events_per_span: self.event_count,
            max_links_per_span: self.link_count,
            ..opentelemetry_sdk::trace::SpanLimits::default()
        }
    }
}

impl Default for SpanLimits {
    fn default() -> Self {
        SpanLimits::DEFAULT
    }
}

/// What the code said, each setting optional.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SpanLimitsSettings {
    pub(crate) attribute_count: Option<u32>,
    pub(crate) event_count: Option<u32>,
    pub(crate) link_count: Option<u32>,
    pub(crate) attribute_value_length: Option<usize>,
}

pub(crate) fn resolve(code: &SpanLimitsSettings, env: &Env<'_>) -> Result<SpanLimits, Error> {
    let default = SpanLimits::DEFAULT;
    let count = |code: Option<u32>, setting: &'static str, variable: &'static str, default: u32| match code {
        Some(n) if n > MAX_COUNT => {
            Err(Error::InvalidConfig { setting, value: n.to_string(), accepted: COUNT_ACCEPTED })
        }
        Some(n) => Ok(n),
        None => match env.get(variable)? {
            None => Ok(default),
            Some(value) => match value.parse::<u32>() {
                Ok(n) if n <= MAX_COUNT => Ok(n),
                _ => Err(invalid(variable, value, COUNT_ACCEPTED)),
            },
        },
    };
    let attribute_count = count(
        code.attribute_count,
        "span_attribute_count_limit",
        env::SPAN_ATTRIBUTE_COUNT_LIMIT,
        default.attribute_count,
    )?;
    let event_count =
        count(code.event_count, "span_event_count_limit", env::SPAN_EVENT_COUNT_LIMIT, default.event_count)?;
    let link_count = count(code.link_count, "span_link_count_limit", env::SPAN_LINK_COUNT_LIMIT, default.link_count)?;
    let attribute_value_length = match code.attribute_value_length {
        Some(n) if n == 0 || n > MAX_VALUE_LENGTH => {
            return Err(Error::InvalidConfig {
                setting: "attribute_value_length_limit",
                value: n.to_string(),
                accepted: LENGTH_ACCEPTED,
            })
        }
        Some(n) => Some(n),
        // The span-specific variable wins over the general one.
        None => match env.first(&[env::SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, env::ATTRIBUTE_VALUE_LENGTH_LIMIT])? {
            None => None,
            Some((variable, value)) => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_VALUE_LENGTH).contains(&n) => Some(n),
                _ => return Err(invalid(variable, value, LENGTH_ACCEPTED)),
            },
        },
    };
    Ok(SpanLimits { attribute_count, event_count, link_count, attribute_value_length })
}

/// The limits of the installed configuration, which `testing::capture` applies too.
static ACTIVE: RwLock<SpanLimits> = RwLock::new(SpanLimits::DEFAULT);

/// Makes `limits` the ones captures apply.
pub(crate) fn set_active(limits: SpanLimits) {
    *ACTIVE.write().unwrap_or_else(PoisonError::into_inner) = limits;
}

/// The limits of the installed configuration (defaults when none is).
#[cfg(feature = "testing")]
pub(crate) fn active() -> SpanLimits {
    *ACTIVE.read().unwrap_or_else(PoisonError::into_inner)
}

/// Cuts every string attribute value of `span` (span, event and link
/// attributes; string arrays element by element) to `max_chars` characters.
pub(crate) fn truncate_values(span: &mut SpanData, max_chars: usize) {
    let cut_all = |attributes: &mut [KeyValue]| attributes.iter_mut().for_each(|kv| cut_value(kv, max_chars));
    cut_all(&mut span.attributes);
    for event in &mut span.events.events {
        cut_all(&mut event.attributes);
    }
    for link in &mut span.links.links {
        cut_all(&mut link.attributes);
    }
}

fn cut_value(kv: &mut KeyValue, max_chars: usize) {
    match &mut kv.value {
        Value::String(s) => cut(s, max_chars),
        Value::Array(Array::String(items)) => items.iter_mut().for_each(|s| cut(s, max_chars)),
        _ => {}
    }
}

fn cut(s: &mut StringValue, max_chars: usize) {
    // Fewer bytes than the limit means fewer characters: nothing to count.
    if s.as_str().len() <= max_chars {
        return;
    }
    if let Some((end, _)) = s.as_str().char_indices().nth(max_chars) {
        *s = StringValue::from(s.as_str()[..end].to_owned());
    }
}

/// An exporter that cuts attribute values before handing a batch on; it
/// runs on the export thread.
#[derive(Debug)]
pub(crate) struct Truncating<E> {
    pub(crate) inner: E,
    pub(crate) max_chars: usize,
}

impl<E: SpanExporter> SpanExporter for Truncating<E> {
    async fn export(&self, mut batch: Vec<SpanData>) -> OTelSdkResult {
        for span in &mut batch {
            truncate_values(span, self.max_chars);
        }
        self.inner.export(batch).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn resolve_env(pairs: &'static [(&'static str, &'static str)]) -> Result<SpanLimits, Error> {
        let lookup = move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned());
        resolve(&SpanLimitsSettings::default(), &Env::new(&lookup))
    }

    #[test]
    fn variables_are_read_and_bounded() {
        assert_eq!(resolve_env(&[]).unwrap(), SpanLimits::DEFAULT);
        let limits = resolve_env(&[
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "3"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "0"),
            ("OTEL_SPAN_LINK_COUNT_LIMIT", "65536"),
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "10"),
            ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "5"),
        ])
        .unwrap();
        assert_eq!((limits.attribute_count, limits.event_count, limits.link_count), (3, 0, 65_536));
        assert_eq!(limits.attribute_value_length, Some(5), "the span variable wins");
        for (variable, value) in [
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "-1"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "65537"),
            ("OTEL_SPAN_LINK_COUNT_LIMIT", "many"),
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "0"),
            ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "32769"),
        ] {
            let pairs: &'static [(&str, &str)] = Box::leak(Box::new([(variable, value)]));
            match resolve_env(pairs) {
                Err(Error::InvalidEnv { variable: v, value: got, .. }) => {
                    assert_eq!((v, got.as_str()), (variable, value))
                }
                other => panic!("{variable}={value}: {other:?}"),
            }
        }
    }

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn code_values_are_bounded_too() {
        let code = SpanLimitsSettings { attribute_value_length: Some(0), ..SpanLimitsSettings::default() };
        let err = resolve(&code, &Env::new(&none)).unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { setting: "attribute_value_length_limit", .. }), "{err}");
        let code = SpanLimitsSettings { link_count: Some(MAX_COUNT + 1), ..SpanLimitsSettings::default() };
        assert!(resolve(&code, &Env::new(&none)).is_err());
    }

    #[test]
    fn values_are_cut_on_a_character_boundary() {
        let mut kv = KeyValue::new("k", "héllo wörld");
        cut_value(&mut kv, 2);
        assert_eq!(kv.value.as_str(), "hé");
        let mut kv = KeyValue::new("k", "ab");
        cut_value(&mut kv, 2);
        assert_eq!(kv.value.as_str(), "ab");
        let mut kv = KeyValue::new("k", Value::Array(Array::String(vec!["ñññ".into(), "x".into()])));
        cut_value(&mut kv, 1);
        assert_eq!(kv.value, Value::Array(Array::String(vec!["ñ".into(), "x".into()])));
        let mut kv = KeyValue::new("k", 123_456_789_i64);
        cut_value(&mut kv, 1);
        assert_eq!(kv.value, Value::I64(123_456_789));
    }
}
