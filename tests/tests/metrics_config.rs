//! How `init()` resolves the metrics variables: where metrics go, the
//! interval and temporality, and bad values as `Error::InvalidEnv`.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry_sdk::metrics::Temporality;
use trace_runtime::Error;

fn resolve(vars: &[(&str, &str)]) -> Result<trace_runtime::Config, Error> {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    trace_runtime::init().env_lookup(move |name| vars.get(name).cloned()).resolve()
}

#[test]
fn metrics_are_off_unless_an_exporter_or_an_otlp_endpoint_is_configured() {
    assert!(!resolve(&[]).unwrap().metrics.is_enabled());
    let config = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")]).unwrap();
    assert_eq!(config.metrics.otlp.unwrap().endpoint, "http://collector:4318/v1/metrics");
    let config = resolve(&[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:9000/custom")]).unwrap();
    assert_eq!(config.metrics.otlp.unwrap().endpoint, "http://m:9000/custom");
    let config =
        resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), ("OTEL_METRICS_EXPORTER", "none")]).unwrap();
    assert!(!config.metrics.is_enabled());
    let config = resolve(&[("OTEL_METRICS_EXPORTER", "console")]).unwrap();
    assert!(config.metrics.console && config.metrics.otlp.is_none());
    let config = trace_runtime::init().env_lookup(|_| None).otlp_endpoint("http://c:4318/v1/traces").resolve().unwrap();
    assert_eq!(config.metrics.otlp.unwrap().endpoint, "http://c:4318/v1/metrics");
}

#[test]
fn interval_temporality_and_headers_are_read() {
    let config = resolve(&[
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "5000"),
        ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "LowMemory"),
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-key=abc"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
    ])
    .unwrap();
    assert_eq!(config.metrics.interval, Duration::from_secs(5));
    assert_eq!(config.metrics.temporality, Temporality::LowMemory);
    let otlp = config.metrics.otlp.unwrap();
    assert_eq!(otlp.endpoint, "http://localhost:4318/v1/metrics");
    assert_eq!(otlp.headers, vec![("x-key".to_owned(), "abc".to_owned())]);
    assert_eq!(resolve(&[]).unwrap().metrics.interval, Duration::from_secs(60));
}

#[test]
fn bad_values_name_the_variable() {
    for (variable, value) in [
        ("OTEL_METRICS_EXPORTER", "prometheus"),
        ("OTEL_METRICS_EXPORTER", "none,otlp"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "soon"),
        ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "sometimes"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "collector:4318"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/xml"),
    ] {
        let vars = [("OTEL_METRICS_EXPORTER", "otlp"), (variable, value)];
        let vars = if variable == "OTEL_METRICS_EXPORTER" { &vars[1..] } else { &vars[..] };
        match resolve(vars) {
            Err(Error::InvalidEnv { variable: named, value: got, .. }) => {
                assert_eq!((named, got.as_str()), (variable, value));
            }
            other => panic!("{variable}={value}: {other:?}"),
        }
    }
}

#[test]
fn metrics_go_over_grpc_when_the_protocol_says_so() {
    use trace_runtime::Protocol;
    let config = resolve(&[("OTEL_METRICS_EXPORTER", "otlp"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap();
    let otlp = config.metrics.otlp.unwrap();
    assert_eq!((otlp.protocol, otlp.endpoint.as_str()), (Protocol::Grpc, "http://localhost:4317"));
    // Following gRPC traces: the same collector address, no HTTP path.
    let config =
        resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap();
    let otlp = config.metrics.otlp.unwrap();
    assert_eq!((otlp.protocol, otlp.endpoint.as_str()), (Protocol::Grpc, "http://c:4317"));
    let config = resolve(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:4317"),
    ])
    .unwrap();
    assert_eq!(config.otlp.unwrap().protocol, Protocol::HttpProtobuf, "traces stay on HTTP");
    let otlp = config.metrics.otlp.unwrap();
    assert_eq!((otlp.protocol, otlp.endpoint.as_str()), (Protocol::Grpc, "http://m:4317"));
}
