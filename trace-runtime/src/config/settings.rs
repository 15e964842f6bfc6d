//! Combining what the code said, what the environment says and the defaults
//! into the one [`Config`] that `install()` applies.
//!
//! Precedence, setting by setting: a value given to the [`Builder`](super::Builder)
//! wins; else the `OTEL_*` variable; else the default. A variable is read
//! only when the code left its setting open, and a variable that is read and
//! holds a value that cannot be used is an error naming it.

use std::fmt;
use std::time::Duration;

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::Sampler;

use super::env::{self, invalid, Env};
pub use super::limits::SpanLimits;
use super::limits::SpanLimitsSettings;
pub use super::logs::LogsConfig;
use super::logs::LogsSettings;
pub use super::metrics::MetricsConfig;
use super::metrics::MetricsSettings;
pub use super::tls::TlsConfig;
use super::tls::{TlsSettings, TlsVariables};
use super::{sampler, Error};
use crate::export::datadog::{self, DatadogConfig, DatadogSettings};

/// How OTLP data is sent.
///
/// ```
/// use trace_runtime::Protocol;
///
/// let config = trace_runtime::init().otlp_protocol(Protocol::HttpProtobuf).otlp().resolve().unwrap();
/// assert_eq!(config.otlp.unwrap().protocol.to_string(), "http/protobuf");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP/HTTP with protobuf bodies (`http/protobuf`), port 4318: the default.
    HttpProtobuf,
    /// OTLP/HTTP with JSON bodies (`http/json`), port 4318.
    ///
    /// ```
    /// let config = trace_runtime::init()
    ///     .env_lookup(|name| (name == "OTEL_EXPORTER_OTLP_PROTOCOL").then(|| "http/json".to_owned()))
    ///     .otlp()
    ///     .resolve()
    ///     .unwrap();
    /// let otlp = config.otlp.unwrap();
    /// assert_eq!(otlp.protocol, trace_runtime::Protocol::HttpJson);
    /// assert_eq!(otlp.endpoint, "http://localhost:4318/v1/traces");
    /// ```
    HttpJson,
    /// OTLP/gRPC (`grpc`), port 4317; needs the cargo feature `grpc`.
    Grpc,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
            Protocol::Grpc => "grpc",
        })
    }
}

impl Protocol {
    /// Whether this is OTLP/HTTP (protobuf or JSON), which appends the
    /// signal's path (`/v1/traces`) to a base endpoint.
    ///
    /// ```
    /// use trace_runtime::Protocol;
    /// assert!(Protocol::HttpJson.is_http() && !Protocol::Grpc.is_http());
    /// ```
    pub fn is_http(self) -> bool {
        matches!(self, Protocol::HttpProtobuf | Protocol::HttpJson)
    }
}

/// Compression of OTLP request bodies (default: none).
///
/// ```
/// use trace_runtime::Compression;
///
/// let config = trace_runtime::init().otlp().otlp_compression(Compression::Gzip).resolve().unwrap();
/// assert_eq!(config.otlp.unwrap().compression, Some(Compression::Gzip));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// gzip (`OTEL_EXPORTER_OTLP_COMPRESSION=gzip`).
    Gzip,
    /// zstd (`OTEL_EXPORTER_OTLP_COMPRESSION=zstd`), for HTTP and gRPC.
    ///
    /// ```
    /// let config = trace_runtime::init()
    ///     .otlp_endpoint("http://collector:4318")
    ///     .otlp_compression(trace_runtime::Compression::Zstd)
    ///     .resolve()
    ///     .unwrap();
    /// assert_eq!(config.otlp.unwrap().compression, Some(trace_runtime::Compression::Zstd));
    /// ```
    Zstd,
}

/// The configuration [`Builder::install`](super::Builder::install) applies:
/// code settings, then `OTEL_*` variables, then defaults, already combined.
/// Get it with [`Builder::resolve`](super::Builder::resolve) to log or check
/// the effective setup.
///
/// ```
/// let config = trace_runtime::init()
///     .service_name("billing")
///     .env_lookup(|name| (name == "OTEL_TRACES_SAMPLER").then(|| "always_off".to_owned()))
///     .resolve()
///     .unwrap();
/// assert_eq!(config.service_name(), "billing");
/// assert_eq!(format!("{:?}", config.sampler), "AlwaysOff");
/// assert!(config.console && config.otlp.is_none());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// `OTEL_SDK_DISABLED`: when true, `install()` installs nothing and the
    /// other fields keep their defaults.
    pub disabled: bool,
    /// Every resource attribute, `service.name` included.
    pub resource: Vec<KeyValue>,
    /// The sampler.
    pub sampler: Sampler,
    /// Whether traces are printed to stdout as trees.
    pub console: bool,
    /// The OTLP exporter, when one is used.
    pub otlp: Option<OtlpConfig>,
    /// The native Datadog exporter, when one is used.
    pub datadog: Option<DatadogConfig>,
    /// Batching of every exporter.
    pub batch: ExportQueueConfig,
    /// How many exporters or processors the code added itself.
    pub custom_exporters: usize,
    /// The header formats spoken (`OTEL_PROPAGATORS`), in extraction order.
    pub propagators: Vec<crate::propagation::Propagator>,
    /// Whether an `Err` return records a backtrace (`TRACED_ERR_BACKTRACE`).
    pub backtraces_on_err: bool,
    /// Metrics export (the OpenTelemetry metrics API and `#[traced]`'s RED metrics).
    pub metrics: MetricsConfig,
    /// Span limits (`OTEL_SPAN_*_COUNT_LIMIT`, `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`).
    pub span_limits: SpanLimits,
    /// Logs export (the `log` crate and `tracing` events as log records).
    pub logs: LogsConfig,
}

impl Config {
    /// The resource's `service.name`.
    ///
    /// ```
    /// let config = trace_runtime::init().service_name("api").resolve().unwrap();
    /// assert_eq!(config.service_name(), "api");
    /// ```
    pub fn service_name(&self) -> &str {
        match self.resource_attribute("service.name") {
            Some(Value::String(s)) => s.as_str(),
            _ => "unknown_service",
        }
    }

    /// One resource attribute.
    ///
    /// ```
    /// let config = trace_runtime::init().service_version("2.1.0").resolve().unwrap();
    /// assert_eq!(config.resource_attribute("service.version"), Some(&"2.1.0".into()));
    /// ```
    pub fn resource_attribute(&self, key: &str) -> Option<&Value> {
        self.resource.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
    }
}

/// Where and how the OTLP exporter sends spans.
///
/// `Debug` shows header names but not their values (they are often API keys).
///
/// ```
/// let config = trace_runtime::init()
///     .otlp_endpoint("http://collector:4318")
///     .otlp_header("x-api-key", "secret")
///     .resolve()
///     .unwrap();
/// let otlp = config.otlp.unwrap();
/// assert_eq!(otlp.endpoint, "http://collector:4318/v1/traces");
/// assert!(!format!("{otlp:?}").contains("secret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtlpConfig {
    /// The full URL spans are sent to (`…/v1/traces` for HTTP).
    pub endpoint: String,
    /// HTTP/protobuf or gRPC.
    pub protocol: Protocol,
    /// Extra request headers (gRPC metadata), e.g. an API key.
    pub headers: Vec<(String, String)>,
    /// How long one export request may take (also capped by
    /// [`ExportQueueConfig::export_timeout`]).
    pub timeout: Duration,
    /// Body compression.
    pub compression: Option<Compression>,
    /// TLS: trusted CA, client certificate and key, `insecure`.
    pub tls: TlsConfig,
}

impl fmt::Debug for OtlpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<String> = self.headers.iter().map(|(k, _)| format!("{k}: <redacted>")).collect();
        f.debug_struct("OtlpConfig")
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .field("headers", &headers)
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .field("tls", &self.tls)
            .finish()
    }
}

/// How finished spans are batched before export (`OTEL_BSP_*`).
///
/// ```
/// let config = trace_runtime::init().resolve().unwrap();
/// assert_eq!(config.batch.max_queue_size, 2048);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportQueueConfig {
    /// Spans kept waiting for export; more are dropped (and counted). At
    /// most 65,536: the queue is reserved up front.
    pub max_queue_size: usize,
    /// Delay between two exports.
    pub schedule_delay: Duration,
    /// Spans per export request, at most `max_queue_size`.
    pub max_export_batch_size: usize,
    /// How long one export may take.
    pub export_timeout: Duration,
}

impl Default for ExportQueueConfig {
    fn default() -> Self {
        ExportQueueConfig {
            max_queue_size: 2048,
            schedule_delay: Duration::from_millis(5000),
            max_export_batch_size: 512,
            export_timeout: Duration::from_millis(30000),
        }
    }
}

/// The former name of [`ExportQueueConfig`], renamed so that it no longer
/// reads as `opentelemetry_sdk::trace::BatchConfig` (a different type).
///
/// ```
/// #[allow(deprecated)]
/// let batch: trace_runtime::BatchConfig = trace_runtime::init().resolve().unwrap().batch;
/// assert_eq!(batch, trace_runtime::ExportQueueConfig::default());
/// ```
#[deprecated(note = "renamed to `ExportQueueConfig`; `BatchConfig` read as the SDK's type of that name")]
pub type BatchConfig = ExportQueueConfig;

/// What the code said, each setting optional.
#[derive(Debug, Default, Clone)]
pub(crate) struct Settings {
    pub(crate) service_name: Option<String>,
    pub(crate) service_version: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) resource: Vec<KeyValue>,
    pub(crate) sampler: Option<Sampler>,
    pub(crate) console: bool,
    pub(crate) custom_exporters: usize,
    pub(crate) otlp: OtlpSettings,
    pub(crate) datadog: DatadogSettings,
    pub(crate) batch: BatchSettings,
    pub(crate) disabled: Option<bool>,
    pub(crate) propagators: Option<Vec<crate::propagation::Propagator>>,
    pub(crate) backtraces_on_err: Option<bool>,
    pub(crate) metrics: MetricsSettings,
    pub(crate) span_limits: SpanLimitsSettings,
    pub(crate) logs: LogsSettings,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct OtlpSettings {
    /// The code asked for the OTLP exporter.
    pub(crate) selected: bool,
    pub(crate) endpoint: Option<String>,
    pub(crate) protocol: Option<Protocol>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) compression: Option<Compression>,
    pub(crate) tls: TlsSettings,
}

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct BatchSettings {
    pub(crate) max_queue_size: Option<usize>,
    pub(crate) schedule_delay: Option<Duration>,
    pub(crate) max_export_batch_size: Option<usize>,
    pub(crate) export_timeout: Option<Duration>,
}

const DEFAULT_HTTP_BASE: &str = "http://localhost:4318";
const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";
const DEFAULT_OTLP_TIMEOUT: Duration = Duration::from_secs(10);

/// The variables and URL path of one OTLP signal (traces, metrics).
pub(crate) struct Signal {
    pub(crate) endpoint: &'static str,
    pub(crate) protocol: &'static str,
    pub(crate) headers: &'static str,
    pub(crate) timeout: &'static str,
    pub(crate) compression: &'static str,
    pub(crate) path: &'static str,
    pub(crate) tls: TlsVariables,
}

pub(crate) const TRACES: Signal = Signal {
    endpoint: env::OTLP_TRACES_ENDPOINT,
    protocol: env::OTLP_TRACES_PROTOCOL,
    headers: env::OTLP_TRACES_HEADERS,
    timeout: env::OTLP_TRACES_TIMEOUT,
    compression: env::OTLP_TRACES_COMPRESSION,
    path: "/v1/traces",
    tls: TlsVariables {
        certificate: [env::OTLP_TRACES_CERTIFICATE, env::OTLP_CERTIFICATE],
        client_certificate: [env::OTLP_TRACES_CLIENT_CERTIFICATE, env::OTLP_CLIENT_CERTIFICATE],
        client_key: [env::OTLP_TRACES_CLIENT_KEY, env::OTLP_CLIENT_KEY],
        insecure: [env::OTLP_TRACES_INSECURE, env::OTLP_INSECURE],
    },
};

/// Resolves `code` against the variables `lookup` returns.
pub(crate) fn resolve(
    code: &Settings,
    lookup: &(dyn Fn(&str) -> Option<String> + Send + Sync),
) -> Result<Config, Error> {
    let env = Env::new(lookup);
    let disabled = match code.disabled {
        Some(disabled) => disabled,
        None => env.bool(env::SDK_DISABLED),
    };
    if disabled {
        // A disabled SDK reads nothing else: a stale bad value elsewhere must
        // not stop an application whose tracing is switched off.
        return Ok(Config {
            disabled,
            resource: Vec::new(),
            sampler: sampler::default_sampler(),
            console: false,
            otlp: None,
            datadog: None,
            batch: ExportQueueConfig::default(),
            custom_exporters: 0,
            propagators: Vec::new(),
            backtraces_on_err: false,
            metrics: MetricsConfig::off(),
            span_limits: SpanLimits::default(),
            logs: LogsConfig::off(),
        });
    }
    let resource = resource(code, &env)?;
    let sampler = match &code.sampler {
        Some(sampler) => sampler.clone(),
        None => sampler::from_env(&env)?.unwrap_or_else(sampler::default_sampler),
    };
    let batch = batch(&code.batch, &env)?;
    let (console, otlp_selected, datadog_selected) = destinations(code, &env)?;
    let otlp = if otlp_selected { Some(otlp(&code.otlp, &env, &TRACES)?) } else { None };
    let datadog = if datadog_selected { Some(datadog::resolve(&code.datadog, &env)?) } else { None };
    let metrics = super::metrics::resolve(code, &env)?;
    let logs = super::logs::resolve(code, &env, console)?;
    let propagators = propagators(code, &env)?;
    let backtraces_on_err = backtraces_on_err(code, &env)?;
    let span_limits = super::limits::resolve(&code.span_limits, &env)?;
    Ok(Config {
        disabled,
        resource,
        sampler,
        console,
        otlp,
        datadog,
        batch,
        custom_exporters: code.custom_exporters,
        propagators,
        backtraces_on_err,
        metrics,
        span_limits,
        logs,
    })
}

/// `OTEL_PROPAGATORS` (default `tracecontext,baggage`), unless the code chose.
fn propagators(code: &Settings, env: &Env<'_>) -> Result<Vec<crate::propagation::Propagator>, Error> {
    use crate::propagation::{parse_list, Propagator, ACCEPTED};
    if let Some(list) = &code.propagators {
        return Ok(list.clone());
    }
    match env.get(env::PROPAGATORS)? {
        None => Ok(vec![Propagator::TraceContext, Propagator::Baggage]),
        Some(value) => parse_list(&value).ok_or_else(|| invalid(env::PROPAGATORS, value, ACCEPTED)),
    }
}

/// `TRACED_ERR_BACKTRACE` (like `RUST_BACKTRACE`: `1`, `full` or `true` on;
/// `0` or `false` off; default off), unless the code chose.
fn backtraces_on_err(code: &Settings, env: &Env<'_>) -> Result<bool, Error> {
    if let Some(on) = code.backtraces_on_err {
        return Ok(on);
    }
    match env.get(env::ERR_BACKTRACE)? {
        None => Ok(false),
        Some(value) => match value.to_ascii_lowercase().as_str() {
            "1" | "full" | "true" => Ok(true),
            "0" | "false" => Ok(false),
            _ => Err(invalid(env::ERR_BACKTRACE, value, "1, full or true (on); 0 or false (off)")),
        },
    }
}

fn resource(code: &Settings, env: &Env<'_>) -> Result<Vec<KeyValue>, Error> {
    let mut attributes: Vec<KeyValue> = Vec::new();
    let mut set = |kv: KeyValue| {
        attributes.retain(|existing| existing.key != kv.key);
        attributes.push(kv);
    };
    for (key, value) in env.pairs(env::RESOURCE_ATTRIBUTES)?.unwrap_or_default() {
        set(KeyValue::new(key, value));
    }
    if let Some(name) = env.get(env::SERVICE_NAME)? {
        set(KeyValue::new("service.name", name));
    }
    for kv in &code.resource {
        set(kv.clone());
    }
    if let Some(name) = &code.service_name {
        set(KeyValue::new("service.name", name.clone()));
    }
    if let Some(version) = &code.service_version {
        set(KeyValue::new("service.version", version.clone()));
    }
    if let Some(environment) = &code.environment {
        set(KeyValue::new("deployment.environment.name", environment.clone()));
    }
    // Datadog's unified service tags fill only what nothing above set.
    for kv in datadog::resource_defaults(env)? {
        if !attributes.iter().any(|existing| existing.key == kv.key) {
            attributes.push(kv);
        }
    }
    for kv in sdk_attributes() {
        attributes.retain(|existing| existing.key != kv.key);
        attributes.push(kv);
    }
    if !attributes.iter().any(|kv| kv.key.as_str() == "service.name") {
        attributes.insert(0, KeyValue::new("service.name", default_service_name()));
    }
    // service.name first: it is what people look for when printing the config.
    if let Some(i) = attributes.iter().position(|kv| kv.key.as_str() == "service.name") {
        let kv = attributes.remove(i);
        attributes.insert(0, kv);
    }
    Ok(attributes)
}

/// `unknown_service:<executable>`, as the OpenTelemetry specification asks.
fn default_service_name() -> String {
    let exe = std::env::current_exe().ok().and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()));
    match exe {
        Some(exe) => format!("unknown_service:{exe}"),
        None => "unknown_service".to_owned(),
    }
}

fn sdk_attributes() -> [KeyValue; 3] {
    [
        KeyValue::new("telemetry.sdk.name", "opentelemetry"),
        KeyValue::new("telemetry.sdk.language", "rust"),
        KeyValue::new("telemetry.sdk.version", "0.33"),
    ]
}

fn batch(code: &BatchSettings, env: &Env<'_>) -> Result<ExportQueueConfig, Error> {
    let default = ExportQueueConfig::default();
    let max_queue_size = match code.max_queue_size {
        Some(n) if n > env::MAX_QUEUE_SIZE => {
            return Err(Error::InvalidConfig {
                setting: "batch_max_queue_size",
                value: n.to_string(),
                accepted: "a number of spans from 1 to 65536 (the queue is reserved up front)",
            })
        }
        Some(n) => n,
        None => env.count(env::BSP_MAX_QUEUE_SIZE)?.unwrap_or(default.max_queue_size),
    };
    let (max_export_batch_size, from_env) = match code.max_export_batch_size {
        Some(n) => (n, false),
        None => match env.count(env::BSP_MAX_EXPORT_BATCH_SIZE)? {
            Some(n) => (n, true),
            None => (default.max_export_batch_size.min(max_queue_size), false),
        },
    };
    if max_export_batch_size > max_queue_size {
        let value = max_export_batch_size.to_string();
        let accepted = "a whole number from 1 to the queue size (OTEL_BSP_MAX_QUEUE_SIZE, default 2048)";
        return Err(if from_env {
            invalid(env::BSP_MAX_EXPORT_BATCH_SIZE, value, accepted)
        } else {
            Error::InvalidConfig { setting: "batch_max_export_batch_size", value, accepted }
        });
    }
    let schedule_delay = match code.schedule_delay {
        Some(d) => bounded(d, "batch_schedule_delay")?,
        None => env.millis(env::BSP_SCHEDULE_DELAY)?.unwrap_or(default.schedule_delay),
    };
    let export_timeout = match code.export_timeout {
        Some(d) => bounded(d, "batch_export_timeout")?,
        None => env.millis(env::BSP_EXPORT_TIMEOUT)?.unwrap_or(default.export_timeout),
    };
    Ok(ExportQueueConfig { max_queue_size, schedule_delay, max_export_batch_size, export_timeout })
}

/// A delay or timeout given in code, at most a day (as in the environment).
fn bounded(duration: Duration, setting: &'static str) -> Result<Duration, Error> {
    if duration > Duration::from_millis(env::MAX_MILLIS) {
        return Err(Error::InvalidConfig {
            setting,
            value: format!("{duration:?}"),
            accepted: "a duration of at most one day",
        });
    }
    Ok(duration)
}

/// Console and/or OTLP. The code's choice wins; else `OTEL_TRACES_EXPORTER`;
/// else OTLP when an OTLP endpoint variable is set, the console otherwise.
fn destinations(code: &Settings, env: &Env<'_>) -> Result<(bool, bool, bool), Error> {
    if code.console || code.otlp.selected || code.datadog.selected || code.custom_exporters > 0 {
        return Ok((code.console, code.otlp.selected, code.datadog.selected));
    }
    const ACCEPTED: &str = "a comma-separated list of otlp, datadog and console, or none";
    match env.get(env::TRACES_EXPORTER)? {
        Some(value) => {
            let (mut console, mut otlp, mut datadog, mut none) = (false, false, false, false);
            let mut names = value.split(',').map(str::trim).filter(|s| !s.is_empty()).peekable();
            // "," names no exporter: silence nobody asked for (`none` says it).
            if names.peek().is_none() {
                return Err(invalid(env::TRACES_EXPORTER, value, ACCEPTED));
            }
            for name in names {
                match name.to_ascii_lowercase().as_str() {
                    "console" | "logging" => console = true,
                    "otlp" => otlp = true,
                    "datadog" => datadog = true,
                    "none" => none = true,
                    _ => return Err(invalid(env::TRACES_EXPORTER, value, ACCEPTED)),
                }
            }
            if none && (console || otlp || datadog) {
                return Err(invalid(env::TRACES_EXPORTER, value, ACCEPTED));
            }
            if otlp && !cfg!(feature = "otlp") {
                return Err(invalid(
                    env::TRACES_EXPORTER,
                    value,
                    "console or none (otlp needs the `otlp` cargo feature of trace-runtime)",
                ));
            }
            if datadog && !cfg!(feature = "datadog") {
                return Err(invalid(
                    env::TRACES_EXPORTER,
                    value,
                    "otlp, console or none (datadog needs the `datadog` cargo feature of trace-runtime)",
                ));
            }
            Ok((console, otlp, datadog))
        }
        None => match env.first(&[env::OTLP_TRACES_ENDPOINT, env::OTLP_ENDPOINT])? {
            Some((variable, value)) if !cfg!(feature = "otlp") => {
                Err(invalid(variable, value, "nothing: this build of trace-runtime has no `otlp` cargo feature"))
            }
            Some(_) => Ok((false, true, false)),
            None => Ok((true, false, false)),
        },
    }
}

pub(crate) fn otlp(code: &OtlpSettings, env: &Env<'_>, signal: &Signal) -> Result<OtlpConfig, Error> {
    let protocol = match code.protocol {
        Some(protocol) => {
            if protocol == Protocol::Grpc && !cfg!(feature = "grpc") {
                return Err(Error::InvalidConfig {
                    setting: "otlp_protocol",
                    value: protocol.to_string(),
                    accepted: "HttpProtobuf or HttpJson (Grpc needs the `grpc` cargo feature of trace-runtime)",
                });
            }
            protocol
        }
        None => match env.first(&[signal.protocol, env::OTLP_PROTOCOL])? {
            None => Protocol::HttpProtobuf,
            Some((variable, value)) => match value.to_ascii_lowercase().as_str() {
                "http/protobuf" => Protocol::HttpProtobuf,
                "http/json" => Protocol::HttpJson,
                "grpc" if cfg!(feature = "grpc") => Protocol::Grpc,
                "grpc" => {
                    return Err(invalid(
                        variable,
                        value,
                        "http/protobuf or http/json (grpc needs the `grpc` cargo feature of trace-runtime)",
                    ))
                }
                _ => return Err(invalid(variable, value, ACCEPTED_PROTOCOLS)),
            },
        },
    };

    let tls = super::tls::resolve(&code.tls, env, &signal.tls)?;
    let endpoint = match &code.endpoint {
        Some(url) => {
            let url = &with_grpc_scheme(url, protocol, tls.insecure);
            let uri = check_url(url, protocol).map_err(|accepted| Error::InvalidConfig {
                setting: "otlp_endpoint",
                value: url.clone(),
                accepted,
            })?;
            // A bare collector address means its traces path, as people expect.
            if protocol.is_http() && matches!(uri.path(), "" | "/") {
                join_path(url, signal.path)
            } else {
                url.clone()
            }
        }
        None => match env.first(&[signal.endpoint, env::OTLP_ENDPOINT])? {
            Some((variable, url)) => {
                let url = with_grpc_scheme(&url, protocol, tls.insecure);
                check_url(&url, protocol).map_err(|accepted| invalid(variable, url.clone(), accepted))?;
                // The signal-specific variable is used as-is; the general one
                // is a base URL for HTTP (specification: append v1/traces).
                if variable == env::OTLP_ENDPOINT && protocol.is_http() {
                    join_path(&url, signal.path)
                } else {
                    url
                }
            }
            None => match protocol {
                Protocol::HttpProtobuf | Protocol::HttpJson => format!("{DEFAULT_HTTP_BASE}{}", signal.path),
                Protocol::Grpc => DEFAULT_GRPC_ENDPOINT.to_owned(),
            },
        },
    };

    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some((variable, _)) = env.first(&[signal.headers, env::OTLP_HEADERS])? {
        for (name, value) in env.pairs(variable)?.unwrap_or_default() {
            if !valid_header(&name, &value) {
                return Err(invalid(variable, format!("{name}={value}"), ACCEPTED_HEADERS));
            }
            headers.retain(|(existing, _)| !existing.eq_ignore_ascii_case(&name));
            headers.push((name, value));
        }
    }
    for (name, value) in &code.headers {
        if !valid_header(name, value) {
            return Err(Error::InvalidConfig {
                setting: "otlp_header",
                value: format!("{name}: {value}"),
                accepted: ACCEPTED_HEADERS,
            });
        }
        headers.retain(|(existing, _)| !existing.eq_ignore_ascii_case(name));
        headers.push((name.clone(), value.clone()));
    }

    let timeout = match code.timeout {
        Some(timeout) => bounded(timeout, "otlp_timeout")?,
        None => match env.first(&[signal.timeout, env::OTLP_TIMEOUT])? {
            Some((variable, _)) => env.millis(variable)?.unwrap_or(DEFAULT_OTLP_TIMEOUT),
            None => DEFAULT_OTLP_TIMEOUT,
        },
    };

    let compression = match code.compression {
        Some(compression) => Some(compression),
        None => match env.first(&[signal.compression, env::OTLP_COMPRESSION])? {
            None => None,
            Some((variable, value)) => match value.to_ascii_lowercase().as_str() {
                "gzip" => Some(Compression::Gzip),
                "zstd" => Some(Compression::Zstd),
                "none" => None,
                _ => return Err(invalid(variable, value, "gzip, zstd or none")),
            },
        },
    };

    Ok(OtlpConfig { endpoint, protocol, headers, timeout, compression, tls })
}

/// A gRPC endpoint written without a scheme (`collector:4317`) gets one:
/// `http://` when `OTEL_EXPORTER_OTLP_INSECURE` is true, else `https://`,
/// as the specification says.
fn with_grpc_scheme(url: &str, protocol: Protocol, insecure: bool) -> String {
    if protocol != Protocol::Grpc || url.contains("://") {
        return url.to_owned();
    }
    format!("{}://{url}", if insecure { "http" } else { "https" })
}

const ACCEPTED_PROTOCOLS: &str = "http/protobuf, http/json or grpc";
const ACCEPTED_HEADERS: &str = "name=value pairs with header names of letters, digits and -_. and values that are \
                                printable ASCII once percent-decoded (e.g. x-api-key=abc); encode other text, e.g. \
                                in base64";

/// Checks an OTLP endpoint; the error is what is accepted.
pub(crate) fn check_url(url: &str, protocol: Protocol) -> Result<http::Uri, &'static str> {
    let (https_ok, accepted) = match protocol {
        Protocol::HttpProtobuf | Protocol::HttpJson if cfg!(feature = "tls") => (
            true,
            "an http:// or https:// URL with a host and an optional port from 1 to 65535 (e.g. http://localhost:4318)",
        ),
        Protocol::HttpProtobuf | Protocol::HttpJson => (
            false,
            "an http:// URL with a host and an optional port from 1 to 65535, e.g. http://localhost:4318 (https:// \
             needs the `tls` cargo feature of trace-runtime)",
        ),
        Protocol::Grpc => (
            true,
            "an http:// or https:// URL with a host and an optional port from 1 to 65535 (e.g. http://localhost:4317)",
        ),
    };
    let uri: http::Uri = url.parse().map_err(|_| accepted)?;
    let scheme_ok = uri.scheme_str() == Some("http") || (https_ok && uri.scheme_str() == Some("https"));
    if !scheme_ok || uri.host().is_none_or(str::is_empty) || !port_ok(&uri) {
        return Err(accepted);
    }
    Ok(uri)
}

/// No port, or one from 1 to 65535. `Uri` parses `host:99999` and then
/// reports no port at all, which would send to the scheme's default port.
pub(crate) fn port_ok(uri: &http::Uri) -> bool {
    let Some(authority) = uri.authority() else { return false };
    let host_port = authority.as_str().rsplit('@').next().unwrap_or_default();
    // After an IPv6 literal's `]`, or anywhere in a name or IPv4 address.
    let after_host = host_port.rfind(']').map_or(host_port, |end| &host_port[end + 1..]);
    match after_host.rfind(':') {
        None => true,
        Some(colon) => after_host[colon + 1..].parse::<u16>().is_ok_and(|port| port != 0),
    }
}

pub(crate) fn join_path(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    // A full signal URL given where a base was expected: not twice.
    if base.ends_with(path) {
        return base.to_owned();
    }
    format!("{base}{path}")
}

/// A header both HTTP and gRPC can carry. `HeaderValue` alone accepts any
/// byte from 0x80 up (obsolete `obs-text`), which gRPC metadata refuses and
/// servers read in differing charsets, so values are held to printable ASCII.
fn valid_header(name: &str, value: &str) -> bool {
    http::HeaderName::from_bytes(name.as_bytes()).is_ok()
        && value.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
        && http::HeaderValue::from_str(value).is_ok()
}
