//! Where log records go: code settings, then `OTEL_LOGS_EXPORTER` and the
//! OTLP logs variables, then defaults.
//!
//! With nothing said about logs, they follow the traces: to the OTLP
//! endpoint when one is configured (in code, or `OTEL_EXPORTER_OTLP_ENDPOINT`
//! / `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`), as metrics do; to the console when
//! the traces are printed there (inside the trace tree they belong to).

use std::time::Duration;

use opentelemetry_sdk::logs::LogExporter;

use super::env::{self, invalid, Env};
use super::settings::{self, join_path, ExportQueueConfig, OtlpConfig, OtlpSettings, Protocol, Settings, Signal};
use super::{Builder, Error};
use crate::export::logs::pipeline::LogPipeline;
use crate::logs::Filter;

pub(crate) const LOGS: Signal = Signal {
    endpoint: env::OTLP_LOGS_ENDPOINT,
    protocol: env::OTLP_LOGS_PROTOCOL,
    headers: env::OTLP_LOGS_HEADERS,
    timeout: env::OTLP_LOGS_TIMEOUT,
    compression: env::OTLP_LOGS_COMPRESSION,
    path: "/v1/logs",
    tls: super::tls::TlsVariables {
        certificate: [env::OTLP_LOGS_CERTIFICATE, env::OTLP_CERTIFICATE],
        client_certificate: [env::OTLP_LOGS_CLIENT_CERTIFICATE, env::OTLP_CLIENT_CERTIFICATE],
        client_key: [env::OTLP_LOGS_CLIENT_KEY, env::OTLP_CLIENT_KEY],
        insecure: [env::OTLP_LOGS_INSECURE, env::OTLP_INSECURE],
    },
};

/// How log records are exported, resolved like the rest of
/// [`Config`](super::Config).
///
/// ```
/// let config = trace_runtime::init()
///     .env_lookup(|name| match name {
///         "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://collector:4318".to_owned()),
///         "OTEL_BLRP_MAX_QUEUE_SIZE" => Some("4096".to_owned()),
///         _ => None,
///     })
///     .resolve()
///     .unwrap();
/// let otlp = config.logs.otlp.as_ref().expect("logs follow the OTLP endpoint");
/// assert_eq!(otlp.endpoint, "http://collector:4318/v1/logs");
/// assert_eq!(config.logs.batch.max_queue_size, 4096);
/// assert_eq!(config.logs.filter, "info");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LogsConfig {
    /// Records printed on stderr: inside their trace's tree when the
    /// traces are printed too, on a line of their own otherwise.
    pub console: bool,
    /// The OTLP logs exporter, when one is used.
    pub otlp: Option<OtlpConfig>,
    /// Batching of the log exporters (`OTEL_BLRP_*`, bounded as `OTEL_BSP_*`;
    /// default delay 1 s, as the specification says).
    pub batch: ExportQueueConfig,
    /// Which records are exported: `RUST_LOG`'s directives (default `info`).
    pub filter: String,
    /// How many log exporters the code added itself.
    pub custom_exporters: usize,
    pub(crate) parsed_filter: Filter,
}

impl LogsConfig {
    pub(crate) fn off() -> Self {
        LogsConfig {
            console: false,
            otlp: None,
            batch: default_batch(),
            filter: "off".to_owned(),
            custom_exporters: 0,
            parsed_filter: Filter::info(),
        }
    }

    /// True when records are exported somewhere.
    ///
    /// ```
    /// let config = trace_runtime::init().env_lookup(|_| None).logs_off().resolve().unwrap();
    /// assert!(!config.logs.is_enabled());
    /// ```
    pub fn is_enabled(&self) -> bool {
        self.console || self.otlp.is_some() || self.custom_exporters > 0
    }
}

fn default_batch() -> ExportQueueConfig {
    ExportQueueConfig { schedule_delay: Duration::from_millis(1000), ..ExportQueueConfig::default() }
}

/// What the code said about logs.
#[derive(Debug, Default, Clone)]
pub(crate) struct LogsSettings {
    pub(crate) console: bool,
    pub(crate) otlp_selected: bool,
    pub(crate) off: bool,
    pub(crate) endpoint: Option<String>,
    pub(crate) protocol: Option<Protocol>,
    pub(crate) filter: Option<String>,
    pub(crate) max_queue_size: Option<usize>,
    pub(crate) schedule_delay: Option<Duration>,
    pub(crate) custom_exporters: usize,
}

/// `traces_console`: whether the traces are printed (logs follow them).
pub(crate) fn resolve(code: &Settings, env: &Env<'_>, traces_console: bool) -> Result<LogsConfig, Error> {
    let l = &code.logs;
    if l.off {
        return Ok(LogsConfig::off());
    }
    let (console, otlp) = destinations(code, env, traces_console)?;
    if !console && !otlp && l.custom_exporters == 0 {
        return Ok(LogsConfig::off());
    }
    let (filter, parsed_filter) = match &l.filter {
        Some(text) => match Filter::parse(text) {
            Some(parsed) => (text.clone(), parsed),
            None => {
                return Err(Error::InvalidConfig {
                    setting: "log_filter",
                    value: text.clone(),
                    accepted: "RUST_LOG directives: `level` or `target=level`, comma-separated (levels: off, error, warn, info, debug, trace)",
                })
            }
        },
        None => match env.get(env::RUST_LOG)? {
            None => ("info".to_owned(), Filter::info()),
            // Shared with other libraries' richer syntaxes: what cannot be
            // read is skipped, and said, rather than failing the install.
            Some(text) => {
                let (parsed, skipped) = Filter::parse_lenient(&text);
                if !skipped.is_empty() {
                    eprintln!(
                        "trace-runtime: RUST_LOG directives not understood for log export, skipped: {} \
                         (accepted: `level` or `target=level`, levels off, error, warn, info, debug, trace)",
                        skipped.join(", ")
                    );
                }
                (text, parsed)
            }
        },
    };
    let batch = batch(l, env)?;
    let otlp = if otlp { Some(otlp_config(code, env)?) } else { None };
    Ok(LogsConfig { console, otlp, batch, filter, custom_exporters: l.custom_exporters, parsed_filter })
}

/// Console and/or OTLP.
fn destinations(code: &Settings, env: &Env<'_>, traces_console: bool) -> Result<(bool, bool), Error> {
    let l = &code.logs;
    if l.console || l.otlp_selected || l.custom_exporters > 0 {
        return Ok((l.console, l.otlp_selected));
    }
    if let Some(chosen) = env::console_or_otlp(env, env::LOGS_EXPORTER)? {
        return Ok(chosen);
    }
    let endpoint_set = code.otlp.selected
        || env.first(&[env::OTLP_LOGS_ENDPOINT, env::OTLP_ENDPOINT])?.is_some()
        || (code.custom_exporters == 0
            && env.get(env::OTLP_TRACES_ENDPOINT)?.is_some()
            && env.get(env::TRACES_EXPORTER)?.is_none_or(|v| v.to_ascii_lowercase().contains("otlp")));
    Ok((traces_console, endpoint_set && cfg!(feature = "otlp")))
}

/// `OTEL_BLRP_*`, with the bounds of `OTEL_BSP_*`.
fn batch(l: &LogsSettings, env: &Env<'_>) -> Result<ExportQueueConfig, Error> {
    let default = default_batch();
    let max_queue_size = match l.max_queue_size {
        Some(n) if n > env::MAX_QUEUE_SIZE => {
            return Err(Error::InvalidConfig {
                setting: "logs_max_queue_size",
                value: n.to_string(),
                accepted: "a number of records from 1 to 65536",
            })
        }
        Some(n) => n,
        None => env.count(env::BLRP_MAX_QUEUE_SIZE)?.unwrap_or(default.max_queue_size),
    };
    let max_export_batch_size = match env.count(env::BLRP_MAX_EXPORT_BATCH_SIZE)? {
        Some(n) if n > max_queue_size => {
            return Err(invalid(
                env::BLRP_MAX_EXPORT_BATCH_SIZE,
                n.to_string(),
                "a whole number from 1 to the queue size (OTEL_BLRP_MAX_QUEUE_SIZE, default 2048)",
            ))
        }
        Some(n) => n,
        None => default.max_export_batch_size.min(max_queue_size),
    };
    let schedule_delay = match l.schedule_delay {
        Some(d) if d > Duration::from_millis(env::MAX_MILLIS) => {
            return Err(Error::InvalidConfig {
                setting: "logs_schedule_delay",
                value: format!("{d:?}"),
                accepted: "a duration of at most one day",
            })
        }
        Some(d) => d.max(Duration::from_millis(1)),
        None => env.millis(env::BLRP_SCHEDULE_DELAY)?.unwrap_or(default.schedule_delay),
    };
    let export_timeout = env.millis(env::BLRP_EXPORT_TIMEOUT)?.unwrap_or(default.export_timeout);
    Ok(ExportQueueConfig { max_queue_size, schedule_delay, max_export_batch_size, export_timeout })
}

/// The OTLP logs exporter's settings: the code's OTLP settings apply to
/// logs too; a traces endpoint given in code becomes its logs path.
fn otlp_config(code: &Settings, env: &Env<'_>) -> Result<OtlpConfig, Error> {
    let l = &code.logs;
    let endpoint = l.endpoint.clone().or_else(|| {
        if env.get(env::OTLP_LOGS_ENDPOINT).ok().flatten().is_some() {
            return None;
        }
        // `…/v1/traces` becomes `…/v1/logs`; a bare address stays bare
        // (HTTP then gets `/v1/logs`, gRPC keeps the address).
        code.otlp.endpoint.as_deref().map(|url| match url.trim_end_matches('/').strip_suffix(settings::TRACES.path) {
            Some(base) => join_path(base, LOGS.path),
            None => url.to_owned(),
        })
    });
    let settings = OtlpSettings {
        selected: true,
        endpoint,
        protocol: l.protocol.or(code.otlp.protocol),
        headers: code.otlp.headers.clone(),
        timeout: code.otlp.timeout,
        compression: code.otlp.compression,
        tls: code.otlp.tls.clone(),
    };
    settings::otlp(&settings, env, &LOGS)
}

/// The builder's logs settings (see [`LogsConfig`] for how they combine
/// with the environment).
impl Builder {
    /// Exports log records to `exporter` too (a pipeline of its own, as
    /// OTLP has: bounded queue, batches, a thread; e.g. the SDK's
    /// `InMemoryLogExporter` in tests). Adding one in code means
    /// `OTEL_LOGS_EXPORTER` is not read.
    ///
    /// ```
    /// use opentelemetry_sdk::logs::InMemoryLogExporter;
    /// let config = trace_runtime::init()
    ///     .env_lookup(|_| None)
    ///     .logs_exporter(InMemoryLogExporter::default())
    ///     .resolve()
    ///     .unwrap();
    /// assert_eq!(config.logs.custom_exporters, 1);
    /// assert!(config.logs.otlp.is_none()); // OTEL_LOGS_EXPORTER is not read
    /// ```
    pub fn logs_exporter<E: LogExporter + 'static>(mut self, exporter: E) -> Self {
        self.settings.logs.custom_exporters += 1;
        let label = format!("log exporter {}", std::any::type_name::<E>());
        self.log_exporters
            .push(Box::new(move |batch, resource| LogPipeline::start(exporter, label, batch, resource, None)));
        self
    }

    /// Prints log records on stderr (else `OTEL_LOGS_EXPORTER=console`):
    /// inside their trace's tree when the traces are printed too.
    ///
    /// ```
    /// let config = trace_runtime::init().otlp().logs_console().resolve().unwrap();
    /// assert!(config.logs.console && config.logs.otlp.is_none());
    /// ```
    pub fn logs_console(mut self) -> Self {
        self.settings.logs.console = true;
        self
    }

    /// Sends log records to this OTLP URL (else
    /// `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`, else the OTLP endpoint of the
    /// traces with path `/v1/logs`); for HTTP a URL with no path gets
    /// `/v1/logs`. Headers, timeout and compression are those of
    /// [`otlp_header`](Self::otlp_header) and friends (else
    /// `OTEL_EXPORTER_OTLP_LOGS_HEADERS`, ...).
    ///
    /// ```
    /// let config = trace_runtime::init().logs_otlp_endpoint("http://collector:4318").resolve().unwrap();
    /// assert_eq!(config.logs.otlp.unwrap().endpoint, "http://collector:4318/v1/logs");
    /// ```
    #[cfg(feature = "otlp")]
    pub fn logs_otlp_endpoint(mut self, url: impl Into<String>) -> Self {
        self.settings.logs.otlp_selected = true;
        self.settings.logs.endpoint = Some(url.into());
        self
    }

    /// The OTLP transport of log records (else
    /// `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`,
    /// else the one given for the traces in code).
    ///
    /// ```
    /// use trace_runtime::Protocol;
    /// let config = trace_runtime::init()
    ///     .env_lookup(|_| None)
    ///     .logs_otlp_endpoint("http://collector:4318")
    ///     .logs_otlp_protocol(Protocol::HttpJson)
    ///     .resolve()
    ///     .unwrap();
    /// assert_eq!(config.logs.otlp.unwrap().protocol, Protocol::HttpJson);
    /// ```
    #[cfg(feature = "otlp")]
    pub fn logs_otlp_protocol(mut self, protocol: Protocol) -> Self {
        self.settings.logs.protocol = Some(protocol);
        self
    }

    /// No log records exported, whatever the environment says; the `log`
    /// crate is left alone.
    ///
    /// ```
    /// let config = trace_runtime::init().otlp().logs_off().resolve().unwrap();
    /// assert!(!config.logs.is_enabled());
    /// ```
    pub fn logs_off(mut self) -> Self {
        self.settings.logs.off = true;
        self
    }

    /// Which records are exported, in `RUST_LOG`'s syntax (else `RUST_LOG`,
    /// else `info`): `level` for every target, `target=level` for a target
    /// and its modules (the longest wins), comma-separated. A bad value makes
    /// [`install`](Self::install) return [`Error::InvalidConfig`] naming
    /// `log_filter`.
    ///
    /// ```
    /// let config = trace_runtime::init().log_filter("warn,my_app=debug").resolve().unwrap();
    /// assert_eq!(config.logs.filter, "warn,my_app=debug");
    /// assert!(trace_runtime::init().log_filter("my_app=loud").resolve().is_err());
    /// ```
    pub fn log_filter(mut self, directives: impl Into<String>) -> Self {
        self.settings.logs.filter = Some(directives.into());
        self
    }

    /// At most this many log records wait for export, per exporter; more
    /// are dropped and counted in [`lost_logs`](crate::lost_logs) (else
    /// `OTEL_BLRP_MAX_QUEUE_SIZE`; default 2048; at most 65,536).
    ///
    /// ```
    /// let config = trace_runtime::init().logs_max_queue_size(8192).resolve().unwrap();
    /// assert_eq!(config.logs.batch.max_queue_size, 8192);
    /// assert!(trace_runtime::init().logs_max_queue_size(1 << 20).resolve().is_err());
    /// ```
    pub fn logs_max_queue_size(mut self, records: usize) -> Self {
        self.settings.logs.max_queue_size = Some(records.max(1));
        self
    }

    /// Time between two log exports (else `OTEL_BLRP_SCHEDULE_DELAY`;
    /// default 1 s; at most one day).
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = trace_runtime::init().logs_schedule_delay(Duration::from_millis(200)).resolve().unwrap();
    /// assert_eq!(config.logs.batch.schedule_delay, Duration::from_millis(200));
    /// ```
    pub fn logs_schedule_delay(mut self, delay: Duration) -> Self {
        self.settings.logs.schedule_delay = Some(delay);
        self
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn resolve_with(vars: &'static [(&'static str, &'static str)]) -> Result<LogsConfig, Error> {
        let lookup = move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned());
        super::super::init().env_lookup(lookup).resolve().map(|c| c.logs)
    }

    #[test]
    fn logs_follow_the_traces_unless_told() {
        let console = resolve_with(&[]).unwrap();
        assert!(console.console && console.otlp.is_none());
        let otlp = resolve_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")]).unwrap();
        assert!(!otlp.console);
        assert_eq!(otlp.otlp.unwrap().endpoint, "http://c:4318/v1/logs");
        let own = resolve_with(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://logs:4318/custom"),
        ])
        .unwrap();
        assert_eq!(own.otlp.unwrap().endpoint, "http://logs:4318/custom");
        let none =
            resolve_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), ("OTEL_LOGS_EXPORTER", "none")]).unwrap();
        assert!(!none.is_enabled());
        #[cfg(feature = "grpc")]
        {
            let grpc = super::super::init()
                .env_lookup(|_| None)
                .otlp_protocol(Protocol::Grpc)
                .otlp_endpoint("http://c:4317")
                .resolve()
                .unwrap();
            assert_eq!(grpc.logs.otlp.unwrap().endpoint, "http://c:4317", "a gRPC address gets no path");
        }
        let path =
            super::super::init().env_lookup(|_| None).otlp_endpoint("http://c/otel/v1/traces").resolve().unwrap();
        assert_eq!(path.logs.otlp.unwrap().endpoint, "http://c/otel/v1/logs");
        let shared = resolve_with(&[("RUST_LOG", "warn,app[span{id=1}]=debug")]).unwrap();
        assert_eq!(shared.filter, "warn,app[span{id=1}]=debug", "another library's syntax is skipped, not an error");
        let both = resolve_with(&[("OTEL_LOGS_EXPORTER", "console,otlp")]).unwrap();
        assert!(both.console && both.otlp.is_some());
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (vars, variable) in [
            (&[("OTEL_LOGS_EXPORTER", "stdout")][..], "OTEL_LOGS_EXPORTER"),
            (&[("OTEL_LOGS_EXPORTER", "none,otlp")][..], "OTEL_LOGS_EXPORTER"),
            (&[("OTEL_BLRP_MAX_QUEUE_SIZE", "1000000")][..], "OTEL_BLRP_MAX_QUEUE_SIZE"),
            (&[("OTEL_BLRP_SCHEDULE_DELAY", "soon")][..], "OTEL_BLRP_SCHEDULE_DELAY"),
            (
                &[("OTEL_BLRP_MAX_QUEUE_SIZE", "8"), ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "9")][..],
                "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
            ),
            (
                &[("OTEL_LOGS_EXPORTER", "otlp"), ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "smoke")][..],
                "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
            ),
        ] {
            let vars: &'static [(&'static str, &'static str)] = Box::leak(vars.to_vec().into_boxed_slice());
            match resolve_with(vars) {
                Err(Error::InvalidEnv { variable: v, .. }) => assert_eq!(v, variable),
                other => panic!("{vars:?}: expected InvalidEnv, got {other:?}"),
            }
        }
    }
}
