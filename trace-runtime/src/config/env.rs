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
pub(crate) const METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";
pub(crate) const METRIC_EXPORT_INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
pub(crate) const OTLP_METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
pub(crate) const OTLP_METRICS_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL";
pub(crate) const OTLP_METRICS_HEADERS: &str = "OTEL_EXPORTER_OTLP_METRICS_HEADERS";
pub(crate) const OTLP_METRICS_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT";
pub(crate) const OTLP_METRICS_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION";
pub(crate) const OTLP_METRICS_TEMPORALITY: &str = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
pub(crate) const BSP_SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
pub(crate) const BSP_EXPORT_TIMEOUT: &str = "OTEL_BSP_EXPORT_TIMEOUT";
pub(crate) const BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
pub(crate) const BSP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
pub(crate) const PROPAGATORS: &str = "OTEL_PROPAGATORS";
// OTLP TLS (any signal) and span limits.
pub(crate) const OTLP_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
pub(crate) const OTLP_TRACES_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE";
pub(crate) const OTLP_METRICS_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE";
pub(crate) const OTLP_CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
pub(crate) const OTLP_TRACES_CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE";
pub(crate) const OTLP_METRICS_CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE";
pub(crate) const OTLP_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_CLIENT_KEY";
pub(crate) const OTLP_TRACES_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY";
pub(crate) const OTLP_METRICS_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY";
pub(crate) const OTLP_INSECURE: &str = "OTEL_EXPORTER_OTLP_INSECURE";
pub(crate) const OTLP_TRACES_INSECURE: &str = "OTEL_EXPORTER_OTLP_TRACES_INSECURE";
pub(crate) const OTLP_METRICS_INSECURE: &str = "OTEL_EXPORTER_OTLP_METRICS_INSECURE";
pub(crate) const SPAN_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT";
pub(crate) const SPAN_EVENT_COUNT_LIMIT: &str = "OTEL_SPAN_EVENT_COUNT_LIMIT";
pub(crate) const SPAN_LINK_COUNT_LIMIT: &str = "OTEL_SPAN_LINK_COUNT_LIMIT";
pub(crate) const ATTRIBUTE_VALUE_LENGTH_LIMIT: &str = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT";
pub(crate) const SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: &str = "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT";
pub(crate) const ERR_BACKTRACE: &str = "TRACED_ERR_BACKTRACE";
// Logs (config/logs.rs).
pub(crate) const LOGS_EXPORTER: &str = "OTEL_LOGS_EXPORTER";
pub(crate) const OTLP_LOGS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT";
pub(crate) const OTLP_LOGS_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL";
pub(crate) const OTLP_LOGS_HEADERS: &str = "OTEL_EXPORTER_OTLP_LOGS_HEADERS";
pub(crate) const OTLP_LOGS_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT";
pub(crate) const OTLP_LOGS_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION";
pub(crate) const OTLP_LOGS_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE";
pub(crate) const OTLP_LOGS_CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE";
pub(crate) const OTLP_LOGS_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY";
pub(crate) const OTLP_LOGS_INSECURE: &str = "OTEL_EXPORTER_OTLP_LOGS_INSECURE";
pub(crate) const BLRP_SCHEDULE_DELAY: &str = "OTEL_BLRP_SCHEDULE_DELAY";
pub(crate) const BLRP_EXPORT_TIMEOUT: &str = "OTEL_BLRP_EXPORT_TIMEOUT";
pub(crate) const BLRP_MAX_QUEUE_SIZE: &str = "OTEL_BLRP_MAX_QUEUE_SIZE";
pub(crate) const BLRP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE";
pub(crate) const RUST_LOG: &str = "RUST_LOG";

/// Where variables come from: the process environment or a function.
pub(crate) type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Marks a value that was not valid UTF-8 in the process environment. An
/// environment value is a C string and can never hold a NUL, so no real
/// value starts with it.
const NOT_UTF8: char = '\0';

/// The largest number of spans a queue may hold. The SDK's batch processor
/// (one per exporter) fills one slot (360 bytes) per queued span up front,
/// before any span exists, and reserves (without touching) a batch buffer of
/// 352 bytes per span: at 65,536, 22.5 MiB resident per exporter, 32 times
/// the default and far beyond what a process ends between two exports. At
/// 1,000,000 it was 343 MiB; larger values panicked or aborted in `install()`.
pub(crate) const MAX_QUEUE_SIZE: usize = 65_536;

/// The longest delay or timeout, in milliseconds (one day): longer is a
/// typo, and an unbounded one overflows deadline arithmetic.
pub(crate) const MAX_MILLIS: u64 = 86_400_000;

/// The process environment. A value that is not valid UTF-8 comes back
/// marked with [`NOT_UTF8`], so that [`Env::get`] reports it (naming the
/// variable) instead of using a lossy copy.
pub(crate) fn process_lookup(name: &str) -> Option<String> {
    let value = std::env::var_os(name)?;
    Some(match value.into_string() {
        Ok(text) => text,
        Err(raw) => format!("{NOT_UTF8}{}", raw.to_string_lossy()),
    })
}

/// Typed readers over a lookup.
pub(crate) struct Env<'a> {
    lookup: &'a (dyn Fn(&str) -> Option<String> + Send + Sync),
}

impl<'a> Env<'a> {
    pub(crate) fn new(lookup: &'a (dyn Fn(&str) -> Option<String> + Send + Sync)) -> Self {
        Env { lookup }
    }

    /// The trimmed value; `None` when unset or blank; an error when the
    /// value is not valid UTF-8.
    pub(crate) fn get(&self, name: &'static str) -> Result<Option<String>, Error> {
        let Some(value) = (self.lookup)(name) else { return Ok(None) };
        if let Some(lossy) = value.strip_prefix(NOT_UTF8) {
            return Err(invalid(name, lossy, "UTF-8 text (the value has bytes that are not UTF-8)"));
        }
        let trimmed = value.trim();
        Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
    }

    /// The first of `names` that is set, with its name.
    pub(crate) fn first(&self, names: &[&'static str]) -> Result<Option<(&'static str, String)>, Error> {
        for name in names {
            if let Some(value) = self.get(name)? {
                return Ok(Some((name, value)));
            }
        }
        Ok(None)
    }

    /// A boolean as the specification reads one: `true` in any case is true,
    /// anything else false. A value other than `false` (or unset/blank) is
    /// almost certainly a mistake, so it is reported on stderr, never an
    /// error: the specification forbids failing startup over it.
    pub(crate) fn bool(&self, name: &'static str) -> bool {
        let raw = (self.lookup)(name);
        let (value, warning) = read_bool(name, raw.as_deref());
        if let Some(warning) = warning {
            eprintln!("trace-runtime: {warning}");
        }
        value
    }

    /// A whole number of milliseconds, from 1 to [`MAX_MILLIS`].
    pub(crate) fn millis(&self, name: &'static str) -> Result<Option<Duration>, Error> {
        let Some(value) = self.get(name)? else { return Ok(None) };
        match value.parse::<u64>() {
            Ok(ms) if (1..=MAX_MILLIS).contains(&ms) => Ok(Some(Duration::from_millis(ms))),
            _ => Err(invalid(name, value, "a whole number of milliseconds from 1 to 86400000 (one day), e.g. 10000")),
        }
    }

    /// A number of spans, from 1 to [`MAX_QUEUE_SIZE`].
    pub(crate) fn count(&self, name: &'static str) -> Result<Option<usize>, Error> {
        let Some(value) = self.get(name)? else { return Ok(None) };
        match value.parse::<usize>() {
            Ok(n) if (1..=MAX_QUEUE_SIZE).contains(&n) => Ok(Some(n)),
            _ => Err(invalid(name, value, "a whole number from 1 to 65536 (e.g. 2048)")),
        }
    }

    /// A `key=value,key=value` list with percent-encoded values (the format
    /// of `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS`).
    pub(crate) fn pairs(&self, name: &'static str) -> Result<Option<Vec<(String, String)>>, Error> {
        let Some(value) = self.get(name)? else { return Ok(None) };
        parse_pairs(&value).map(Some).ok_or_else(|| {
            invalid(name, value, "comma-separated key=value pairs, values percent-encoded UTF-8 (e.g. a=1,b=x%20y)")
        })
    }
}

/// A boolean variable's value and, for a value that is neither `true` nor
/// `false` (any case) nor blank, the warning to print.
pub(crate) fn read_bool(name: &str, raw: Option<&str>) -> (bool, Option<String>) {
    let Some(raw) = raw else { return (false, None) };
    let shown = raw.strip_prefix(NOT_UTF8).unwrap_or(raw);
    let value = raw.trim();
    if value.eq_ignore_ascii_case("true") {
        (true, None)
    } else if value.is_empty() || value.eq_ignore_ascii_case("false") {
        (false, None)
    } else {
        let warning = format!(
            "environment variable {name} has value {shown:?}, read as false: only true (any case) means \
             true; set it to true or false"
        );
        (false, Some(warning))
    }
}

pub(crate) fn invalid(variable: &'static str, value: impl Into<String>, accepted: &'static str) -> Error {
    Error::InvalidEnv { variable, value: value.into(), accepted }
}

/// `OTEL_METRICS_EXPORTER` / `OTEL_LOGS_EXPORTER` (`variable`): a
/// comma-separated list of `otlp` and `console` (or `logging`), or `none`.
/// `Some((console, otlp))` when the variable is set.
pub(crate) fn console_or_otlp(env: &Env<'_>, variable: &'static str) -> Result<Option<(bool, bool)>, Error> {
    const ACCEPTED: &str = "a comma-separated list of otlp and console, or none";
    let Some(value) = env.get(variable)? else {
        return Ok(None);
    };
    let (mut console, mut otlp, mut none) = (false, false, false);
    let mut names = value.split(',').map(str::trim).filter(|s| !s.is_empty()).peekable();
    if names.peek().is_none() {
        return Err(invalid(variable, value, ACCEPTED));
    }
    for name in names {
        match name.to_ascii_lowercase().as_str() {
            "console" | "logging" => console = true,
            "otlp" => otlp = true,
            "none" => none = true,
            _ => return Err(invalid(variable, value, ACCEPTED)),
        }
    }
    if none && (console || otlp) {
        return Err(invalid(variable, value, ACCEPTED));
    }
    if otlp && !cfg!(feature = "otlp") {
        return Err(invalid(variable, value, "console or none (otlp needs the `otlp` cargo feature of trace-runtime)"));
    }
    Ok(Some((console, otlp)))
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
        assert_eq!(env.get("A").unwrap(), None);
        assert_eq!(env.get("B").unwrap().as_deref(), Some("x"));
        assert_eq!(env.first(&["A", "B"]).unwrap(), Some(("B", "x".to_owned())));
    }

    #[test]
    fn values_that_were_not_utf8_are_errors() {
        let lookup = env_of(&[("R", "\0a=\u{fffd}")]);
        let err = Env::new(&lookup).get("R").unwrap_err();
        assert!(matches!(&err, Error::InvalidEnv { variable: "R", value, .. } if value == "a=\u{fffd}"), "{err}");
        assert!(err.to_string().contains("UTF-8"), "{err}");
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
    fn numbers_are_checked_and_bounded() {
        let lookup = env_of(&[
            ("N", "0"),
            ("M", "1.5"),
            ("Q", "12"),
            ("BIG", "65537"),
            ("MAX", "65536"),
            ("HUGE", "18446744073709551615"),
            ("DAY", "86400000"),
            ("LONGER", "86400001"),
        ]);
        let env = Env::new(&lookup);
        assert!(env.millis("N").is_err());
        assert!(env.millis("M").is_err());
        assert_eq!(env.count("Q").unwrap(), Some(12));
        assert_eq!(env.count("MAX").unwrap(), Some(MAX_QUEUE_SIZE));
        assert!(env.count("BIG").is_err());
        assert!(env.count("HUGE").is_err());
        assert_eq!(env.millis("DAY").unwrap(), Some(Duration::from_secs(86_400)));
        assert!(env.millis("LONGER").is_err());
        assert!(env.millis("HUGE").is_err());
        assert_eq!(env.millis("unset").unwrap(), None);
    }

    #[test]
    fn booleans_read_as_the_specification_says() {
        assert_eq!(read_bool("B", Some("TRUE")), (true, None));
        assert_eq!(read_bool("B", Some(" true ")), (true, None));
        assert_eq!(read_bool("B", Some("False")), (false, None));
        assert_eq!(read_bool("B", Some("")), (false, None));
        assert_eq!(read_bool("B", None), (false, None));
        for odd in ["yes", "1", "on", "\0\u{fffd}"] {
            let (value, warning) = read_bool("OTEL_SDK_DISABLED", Some(odd));
            assert!(!value, "{odd:?} is false");
            let warning = warning.expect("a warning");
            assert!(warning.contains("OTEL_SDK_DISABLED") && warning.contains("read as false"), "{warning}");
        }
    }
}
