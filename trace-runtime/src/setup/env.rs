//! Reading `OTEL_*` variables through a lookup function, so that the whole
//! configuration can be resolved (and tested) without touching the process
//! environment.
//!
//! Every reader treats an unset or empty (after trimming) variable as absent,
//! as the OpenTelemetry specification asks, and turns a value it cannot use
//! into [`Error::InvalidEnv`] naming the variable, the value and what is
//! accepted.

use std::sync::Arc;
use std::time::Duration;

use super::Error;

pub(crate) const SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
pub(crate) const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
pub(crate) const RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
pub(crate) const TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
pub(crate) const TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
pub(crate) const TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
pub(crate) const OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
pub(crate) const OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
pub(crate) const OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
pub(crate) const OTLP_TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
pub(crate) const OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
pub(crate) const OTLP_TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
pub(crate) const OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
pub(crate) const OTLP_TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
pub(crate) const OTLP_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
pub(crate) const OTLP_TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
pub(crate) const BSP_SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
pub(crate) const BSP_EXPORT_TIMEOUT: &str = "OTEL_BSP_EXPORT_TIMEOUT";
pub(crate) const BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
pub(crate) const BSP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";

/// Where variables come from: the process environment or a function.
pub(crate) type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process environment. A value that is not valid Unicode is passed on
/// lossily, so that validation names it instead of silently skipping it.
pub(crate) fn process_lookup(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

/// Typed readers over a lookup.
pub(crate) struct Env<'a> {
    lookup: &'a (dyn Fn(&str) -> Option<String> + Send + Sync),
}

impl<'a> Env<'a> {
    pub(crate) fn new(lookup: &'a (dyn Fn(&str) -> Option<String> + Send + Sync)) -> Self {
        Env { lookup }
    }

    /// The trimmed value; `None` when unset or blank.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        let value = (self.lookup)(name)?;
        let trimmed = value.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    }

    /// The first of `names` that is set, with its name.
    pub(crate) fn first(&self, names: &[&'static str]) -> Option<(&'static str, String)> {
        names.iter().find_map(|name| self.get(name).map(|v| (*name, v)))
    }

    /// `true` or `false`, any case.
    pub(crate) fn bool(&self, name: &'static str) -> Result<Option<bool>, Error> {
        let Some(value) = self.get(name) else { return Ok(None) };
        match value.to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(invalid(name, value, "true or false")),
        }
    }

    /// A whole number of milliseconds, at least 1.
    pub(crate) fn millis(&self, name: &'static str) -> Result<Option<Duration>, Error> {
        let Some(value) = self.get(name) else { return Ok(None) };
        match value.parse::<u64>() {
            Ok(ms) if ms >= 1 => Ok(Some(Duration::from_millis(ms))),
            _ => Err(invalid(name, value, "a whole number of milliseconds, at least 1 (e.g. 10000)")),
        }
    }

    /// A whole number, at least 1.
    pub(crate) fn count(&self, name: &'static str) -> Result<Option<usize>, Error> {
        let Some(value) = self.get(name) else { return Ok(None) };
        match value.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => Err(invalid(name, value, "a whole number, at least 1 (e.g. 2048)")),
        }
    }

    /// A `key=value,key=value` list with percent-encoded values (the format
    /// of `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS`).
    pub(crate) fn pairs(&self, name: &'static str) -> Result<Option<Vec<(String, String)>>, Error> {
        let Some(value) = self.get(name) else { return Ok(None) };
        parse_pairs(&value).map(Some).ok_or_else(|| {
            invalid(name, value, "comma-separated key=value pairs, values percent-encoded (e.g. a=1,b=x%20y)")
        })
    }
}

pub(crate) fn invalid(variable: &'static str, value: impl Into<String>, accepted: &'static str) -> Error {
    Error::InvalidEnv { variable, value: value.into(), accepted }
}

/// `k1=v1,k2=v2`: keys trimmed and non-empty, values trimmed and
/// percent-decoded. Empty members (`a=1,,b=2`) are skipped. `None` when a
/// member has no `=`, an empty key, or a bad escape.
pub(crate) fn parse_pairs(input: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for member in input.split(',') {
        if member.trim().is_empty() {
            continue;
        }
        let (key, value) = member.split_once('=')?;
        let key = key.trim();
        if key.is_empty() {
            return None;
        }
        pairs.push((key.to_owned(), percent_decode(value.trim())?));
    }
    Some(pairs)
}

/// Decodes `%XX` escapes; `None` on a malformed escape or invalid UTF-8.
pub(crate) fn percent_decode(input: &str) -> Option<String> {
    if !input.contains('%') {
        return Some(input.to_owned());
    }
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> + Send + Sync {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn blank_values_count_as_unset() {
        let lookup = env_of(&[("A", "  "), ("B", " x ")]);
        let env = Env::new(&lookup);
        assert_eq!(env.get("A"), None);
        assert_eq!(env.get("B").as_deref(), Some("x"));
        assert_eq!(env.first(&["A", "B"]), Some(("B", "x".to_owned())));
    }

    #[test]
    fn pairs_are_percent_decoded() {
        assert_eq!(
            parse_pairs("a=1, b = x%20y ,,c=%E2%9C%93"),
            Some(vec![("a".into(), "1".into()), ("b".into(), "x y".into()), ("c".into(), "✓".into())])
        );
        assert_eq!(parse_pairs("a=b=c"), Some(vec![("a".into(), "b=c".into())]));
        assert_eq!(parse_pairs("novalue"), None);
        assert_eq!(parse_pairs("=v"), None);
        assert_eq!(parse_pairs("a=%zz"), None);
        assert_eq!(parse_pairs("a=%4"), None);
        assert_eq!(parse_pairs("a=%ff"), None);
    }

    #[test]
    fn numbers_and_bools_are_checked() {
        let lookup = env_of(&[("T", "TRUE"), ("N", "0"), ("M", "1.5"), ("Q", "12")]);
        let env = Env::new(&lookup);
        assert_eq!(env.bool("T").unwrap(), Some(true));
        assert!(env.bool("N").is_err());
        assert!(env.millis("N").is_err());
        assert!(env.millis("M").is_err());
        assert_eq!(env.count("Q").unwrap(), Some(12));
        assert_eq!(env.millis("unset").unwrap(), None);
    }
}
