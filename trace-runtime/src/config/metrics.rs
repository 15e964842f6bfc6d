//! Where metrics go: code settings, then `OTEL_METRICS_EXPORTER` and the
//! OTLP metrics variables, then defaults.
//!
//! With nothing said about metrics, they follow the OTLP traces: an OTLP
//! endpoint configured (in code, or `OTEL_EXPORTER_OTLP_ENDPOINT` /
//! `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`) sends metrics there too; otherwise
//! metrics are off, and a traced call pays one relaxed load for them (the
//! console default prints traces, not a metrics dump every minute).

use std::time::Duration;

use opentelemetry_sdk::metrics::Temporality;

use super::env::{self, invalid, Env};
use super::settings::{self, join_path, OtlpConfig, OtlpSettings, Protocol, Settings, Signal};
use super::Error;

pub(crate) const METRICS: Signal = Signal {
    endpoint: env::OTLP_METRICS_ENDPOINT,
    protocol: env::OTLP_METRICS_PROTOCOL,
    headers: env::OTLP_METRICS_HEADERS,
    timeout: env::OTLP_METRICS_TIMEOUT,
    compression: env::OTLP_METRICS_COMPRESSION,
    path: "/v1/metrics",
    tls: super::tls::TlsVariables {
        certificate: [env::OTLP_METRICS_CERTIFICATE, env::OTLP_CERTIFICATE],
        client_certificate: [env::OTLP_METRICS_CLIENT_CERTIFICATE, env::OTLP_CLIENT_CERTIFICATE],
        client_key: [env::OTLP_METRICS_CLIENT_KEY, env::OTLP_CLIENT_KEY],
        insecure: [env::OTLP_METRICS_INSECURE, env::OTLP_INSECURE],
    },
};

/// The default `OTEL_METRIC_EXPORT_INTERVAL`: one minute, as the specification says.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// How metrics are exported, resolved like the rest of [`Config`](super::Config).
///
/// ```
/// let config = trace_runtime::init()
///     .env_lookup(|name| match name {
///         "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://collector:4318".to_owned()),
///         "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE" => Some("delta".to_owned()),
///         _ => None,
///     })
///     .resolve()
///     .unwrap();
/// let otlp = config.metrics.otlp.as_ref().expect("metrics follow the OTLP endpoint");
/// assert_eq!(otlp.endpoint, "http://collector:4318/v1/metrics");
/// assert_eq!(config.metrics.temporality, opentelemetry_sdk::metrics::Temporality::Delta);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// Readable lines on stderr at every interval and at shutdown.
    pub console: bool,
    /// The OTLP metrics exporter, when one is used.
    pub otlp: Option<OtlpConfig>,
    /// Time between two exports (`OTEL_METRIC_EXPORT_INTERVAL`, default 60 s).
    pub interval: Duration,
    /// Cumulative (default), delta or low-memory, for OTLP and the console.
    pub temporality: Temporality,
    /// How many metric exporters the code added itself.
    pub custom_exporters: usize,
}

impl MetricsConfig {
    pub(crate) fn off() -> Self {
        MetricsConfig {
            console: false,
            otlp: None,
            interval: DEFAULT_INTERVAL,
            temporality: Temporality::Cumulative,
            custom_exporters: 0,
        }
    }

    /// True when metrics are exported somewhere (then `#[traced]` functions
    /// are measured).
    ///
    /// ```
    /// let config = trace_runtime::init().env_lookup(|_| None).resolve().unwrap();
    /// assert!(!config.metrics.is_enabled());
    /// ```
    pub fn is_enabled(&self) -> bool {
        self.console || self.otlp.is_some() || self.custom_exporters > 0
    }
}

/// What the code said about metrics.
#[derive(Debug, Default, Clone)]
pub(crate) struct MetricsSettings {
    pub(crate) console: bool,
    pub(crate) otlp_selected: bool,
    pub(crate) off: bool,
    pub(crate) endpoint: Option<String>,
    pub(crate) protocol: Option<Protocol>,
    pub(crate) interval: Option<Duration>,
    pub(crate) temporality: Option<Temporality>,
    pub(crate) custom_exporters: usize,
}

pub(crate) fn resolve(code: &Settings, env: &Env<'_>) -> Result<MetricsConfig, Error> {
    let m = &code.metrics;
    if m.off {
        return Ok(MetricsConfig::off());
    }
    let (console, otlp) = destinations(code, env)?;
    let interval = match m.interval {
        Some(interval) if interval.is_zero() || interval > Duration::from_millis(env::MAX_MILLIS) => {
            return Err(Error::InvalidConfig {
                setting: "metric_export_interval",
                value: format!("{interval:?}"),
                accepted: "a duration from 1 ms to one day",
            })
        }
        Some(interval) => interval,
        None => env.millis(env::METRIC_EXPORT_INTERVAL)?.unwrap_or(DEFAULT_INTERVAL),
    };
    let temporality = match m.temporality {
        Some(temporality) => temporality,
        None => match env.get(env::OTLP_METRICS_TEMPORALITY)? {
            None => Temporality::Cumulative,
            Some(value) => match value.to_ascii_lowercase().as_str() {
                "cumulative" => Temporality::Cumulative,
                "delta" => Temporality::Delta,
                "lowmemory" => Temporality::LowMemory,
                _ => return Err(invalid(env::OTLP_METRICS_TEMPORALITY, value, "cumulative, delta or lowmemory")),
            },
        },
    };
    let otlp = if otlp { Some(otlp_config(code, env)?) } else { None };
    Ok(MetricsConfig { console, otlp, interval, temporality, custom_exporters: m.custom_exporters })
}

/// Console and/or OTLP.
fn destinations(code: &Settings, env: &Env<'_>) -> Result<(bool, bool), Error> {
    let m = &code.metrics;
    if m.console || m.otlp_selected || m.custom_exporters > 0 {
        return Ok((m.console, m.otlp_selected));
    }
    if let Some(chosen) = env::console_or_otlp(env, env::METRICS_EXPORTER)? {
        return Ok(chosen);
    }
    let endpoint_set = code.otlp.selected
        || env.first(&[env::OTLP_METRICS_ENDPOINT, env::OTLP_ENDPOINT])?.is_some()
        || (code.custom_exporters == 0 && env.get(env::OTLP_TRACES_ENDPOINT)?.is_some() && traces_to_otlp(env)?);
    Ok((false, endpoint_set && cfg!(feature = "otlp")))
}

/// Whether `OTEL_TRACES_EXPORTER` leaves traces on OTLP (unset, or naming it).
fn traces_to_otlp(env: &Env<'_>) -> Result<bool, Error> {
    Ok(env.get(env::TRACES_EXPORTER)?.is_none_or(|v| v.to_ascii_lowercase().contains("otlp")))
}

/// The OTLP metrics exporter's settings: HTTP/protobuf, or gRPC with the
/// `grpc` cargo feature (without it, `settings::otlp` refuses `grpc` with an
/// error naming the feature).
fn otlp_config(code: &Settings, env: &Env<'_>) -> Result<OtlpConfig, Error> {
    let m = &code.metrics;
    // The code's OTLP settings apply to metrics too; a traces endpoint
    // given in code becomes its metrics path (over HTTP; a gRPC collector
    // takes every signal at the same address).
    let from_traces = m.endpoint.is_none() && env.get(env::OTLP_METRICS_ENDPOINT).ok().flatten().is_none();
    let endpoint = m.endpoint.clone().or_else(|| {
        if !from_traces {
            return None;
        }
        code.otlp.endpoint.as_deref().map(|url| {
            let base = url.trim_end_matches('/');
            let base = base.strip_suffix(settings::TRACES.path).unwrap_or(base);
            join_path(base, METRICS.path)
        })
    });
    let settings = OtlpSettings {
        selected: true,
        endpoint,
        protocol: m.protocol.or(code.otlp.protocol),
        headers: code.otlp.headers.clone(),
        timeout: code.otlp.timeout,
        compression: code.otlp.compression,
        tls: code.otlp.tls.clone(),
    };
    let mut resolved = settings::otlp(&settings, env, &METRICS)?;
    if resolved.protocol == Protocol::Grpc && from_traces {
        if let Some(url) = &code.otlp.endpoint {
            resolved.endpoint = url.clone();
        }
    }
    Ok(resolved)
}
