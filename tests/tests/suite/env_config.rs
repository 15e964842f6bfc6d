//! Every `OTEL_*` variable `init()` reads, through `Builder::env_lookup` and
//! `Builder::resolve`: what it sets, what code overrides it, what its default
//! is, and the error a bad value gives (naming the variable, the value and
//! what is accepted). No test here touches the process environment, so they
//! all run in parallel.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry::Value;
use opentelemetry_sdk::trace::Sampler;
use trace_runtime::{Builder, Compression, Config, Error, Protocol};

/// A builder reading only `vars`.
fn with_env(vars: &[(&str, &str)]) -> Builder {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    trace_runtime::init().env_lookup(move |name| vars.get(name).cloned())
}

fn resolve(vars: &[(&str, &str)]) -> Config {
    with_env(vars).resolve().expect("valid configuration")
}

/// The error for `vars`, checked to name the variable and the value.
fn env_error(vars: &[(&str, &str)], variable: &str, value: &str) -> String {
    let err = with_env(vars).resolve().expect_err("invalid configuration");
    match &err {
        Error::InvalidEnv { variable: v, value: got, accepted } => {
            assert_eq!(*v, variable, "{err}");
            assert_eq!(got, value, "{err}");
            assert!(!accepted.is_empty());
        }
        other => panic!("expected InvalidEnv for {variable}, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains(variable) && text.contains(value), "{text}");
    text
}

fn attr<'a>(config: &'a Config, key: &str) -> Option<&'a str> {
    match config.resource_attribute(key) {
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    }
}

// ---------------------------------------------------------------- defaults

#[test]
fn no_configuration_means_console_parent_based_always_on() {
    let config = resolve(&[]);
    assert!(!config.disabled);
    assert!(config.console);
    assert!(config.otlp.is_none());
    assert_eq!(format!("{:?}", config.sampler), "ParentBased(AlwaysOn)");
    assert!(config.service_name().starts_with("unknown_service"), "{}", config.service_name());
    assert_eq!(attr(&config, "telemetry.sdk.language"), Some("rust"));
    let batch = config.batch;
    assert_eq!(
        (batch.max_queue_size, batch.schedule_delay, batch.max_export_batch_size, batch.export_timeout),
        (2048, Duration::from_millis(5000), 512, Duration::from_millis(30000))
    );
}

// ---------------------------------------------------------------- OTEL_SDK_DISABLED

#[test]
fn sdk_disabled() {
    assert!(resolve(&[("OTEL_SDK_DISABLED", "true")]).disabled);
    assert!(resolve(&[("OTEL_SDK_DISABLED", "TRUE")]).disabled);
    assert!(!resolve(&[("OTEL_SDK_DISABLED", "false")]).disabled);
    // Disabled, nothing else is read: a stale bad value elsewhere is harmless.
    assert!(resolve(&[("OTEL_SDK_DISABLED", "true"), ("OTEL_TRACES_SAMPLER", "bogus")]).disabled);
    // Code wins.
    assert!(!with_env(&[("OTEL_SDK_DISABLED", "true")]).disabled(false).resolve().unwrap().disabled);
    assert!(with_env(&[]).disabled(true).resolve().unwrap().disabled);
    // The specification: anything but `true` is false (with a warning on
    // stderr), never a failed startup.
    for odd in ["yes", "1", "on", "maybe"] {
        let config = with_env(&[("OTEL_SDK_DISABLED", odd)]).resolve().expect("a boolean never fails");
        assert!(!config.disabled, "{odd}");
    }
}

// ---------------------------------------------------------------- resource

#[test]
fn service_name_from_env_and_code() {
    assert_eq!(resolve(&[("OTEL_SERVICE_NAME", "checkout")]).service_name(), "checkout");
    let config = with_env(&[("OTEL_SERVICE_NAME", "from-env")]).service_name("from-code").resolve().unwrap();
    assert_eq!(config.service_name(), "from-code");
    // OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES.
    let config = resolve(&[("OTEL_SERVICE_NAME", "named"), ("OTEL_RESOURCE_ATTRIBUTES", "service.name=attr")]);
    assert_eq!(config.service_name(), "named");
    assert_eq!(resolve(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=attr")]).service_name(), "attr");
}

#[test]
fn resource_attributes_from_env_and_code() {
    let config = with_env(&[(
        "OTEL_RESOURCE_ATTRIBUTES",
        "service.version=1.2.3,deployment.environment.name=staging, team = pay%20ments ,region=eu",
    )])
    .resource_attribute("region", "us")
    .resolve()
    .unwrap();
    assert_eq!(attr(&config, "service.version"), Some("1.2.3"));
    assert_eq!(attr(&config, "deployment.environment.name"), Some("staging"));
    assert_eq!(attr(&config, "team"), Some("pay ments"), "values are percent-decoded and trimmed");
    assert_eq!(attr(&config, "region"), Some("us"), "code wins");
    // The dedicated builder methods win too.
    let config = with_env(&[("OTEL_RESOURCE_ATTRIBUTES", "service.version=1,deployment.environment.name=dev")])
        .service_version("2")
        .environment("prod")
        .resolve()
        .unwrap();
    assert_eq!(attr(&config, "service.version"), Some("2"));
    assert_eq!(attr(&config, "deployment.environment.name"), Some("prod"));
    // Each key once.
    assert_eq!(config.resource.iter().filter(|kv| kv.key.as_str() == "service.version").count(), 1);
}

#[test]
fn bad_resource_attributes_are_errors() {
    for bad in ["novalue", "=x", "a=%zz", "a=1,b"] {
        let text = env_error(&[("OTEL_RESOURCE_ATTRIBUTES", bad)], "OTEL_RESOURCE_ATTRIBUTES", bad);
        assert!(text.contains("key=value"), "{text}");
    }
}

// ---------------------------------------------------------------- sampler

#[test]
fn sampler_from_env() {
    let cases = [
        ("always_on", None, "AlwaysOn"),
        ("always_off", None, "AlwaysOff"),
        ("traceidratio", Some("0.25"), "TraceIdRatioBased(0.25)"),
        ("traceidratio", None, "TraceIdRatioBased(1.0)"),
        ("parentbased_always_on", None, "ParentBased(AlwaysOn)"),
        ("parentbased_always_off", None, "ParentBased(AlwaysOff)"),
        ("parentbased_traceidratio", Some("0"), "ParentBased(TraceIdRatioBased(0.0))"),
    ];
    for (name, arg, expected) in cases {
        let mut vars = vec![("OTEL_TRACES_SAMPLER", name)];
        if let Some(arg) = arg {
            vars.push(("OTEL_TRACES_SAMPLER_ARG", arg));
        }
        assert_eq!(format!("{:?}", resolve(&vars).sampler), expected, "{name} {arg:?}");
    }
    // Code wins, and then the variables are not even read.
    let config = with_env(&[("OTEL_TRACES_SAMPLER", "bogus")]).sampler(Sampler::AlwaysOff).resolve().unwrap();
    assert_eq!(format!("{:?}", config.sampler), "AlwaysOff");
}

#[test]
fn unknown_sampler_is_an_error_listing_the_accepted_ones() {
    let text = env_error(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")], "OTEL_TRACES_SAMPLER", "jaeger_remote");
    for accepted in ["always_on", "always_off", "traceidratio", "parentbased_traceidratio"] {
        assert!(text.contains(accepted), "{text}");
    }
}

#[test]
fn sampler_arg_out_of_range_is_an_error() {
    for bad in ["2", "-0.5", "abc", "NaN"] {
        let text = env_error(
            &[("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", bad)],
            "OTEL_TRACES_SAMPLER_ARG",
            bad,
        );
        assert!(text.contains("from 0 to 1"), "{text}");
    }
}

// ---------------------------------------------------------------- exporters

#[test]
fn traces_exporter_selects_destinations() {
    let pick = |value| {
        let c = resolve(&[("OTEL_TRACES_EXPORTER", value)]);
        (c.console, c.otlp.is_some())
    };
    assert_eq!(pick("otlp"), (false, true));
    assert_eq!(pick("console"), (true, false));
    assert_eq!(pick("otlp, console"), (true, true));
    assert_eq!(pick("none"), (false, false));
    env_error(&[("OTEL_TRACES_EXPORTER", "zipkin")], "OTEL_TRACES_EXPORTER", "zipkin");
    env_error(&[("OTEL_TRACES_EXPORTER", "none,otlp")], "OTEL_TRACES_EXPORTER", "none,otlp");
    // A list that names nothing is a mistake, not a silent `none`.
    for empty in [",", " , ,"] {
        let text = env_error(&[("OTEL_TRACES_EXPORTER", empty)], "OTEL_TRACES_EXPORTER", empty.trim());
        assert!(text.contains("none"), "{text}");
    }
    // Exporters chosen in code win over the variable.
    let config = with_env(&[("OTEL_TRACES_EXPORTER", "none")]).console().resolve().unwrap();
    assert!(config.console && config.otlp.is_none());
}

#[test]
fn an_otlp_endpoint_in_the_environment_switches_to_otlp() {
    // No code change needed: the endpoint alone selects OTLP (and drops the
    // default console).
    let config = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")]);
    assert!(!config.console);
    let otlp = config.otlp.expect("otlp");
    assert_eq!(otlp.endpoint, "http://collector:4318/v1/traces");
    assert_eq!(otlp.protocol, Protocol::HttpProtobuf);
    let config = resolve(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/custom")]);
    assert_eq!(config.otlp.expect("otlp").endpoint, "http://collector:4318/custom");
}

// ---------------------------------------------------------------- OTLP endpoint

#[test]
fn otlp_endpoint_precedence_and_paths() {
    let endpoint = |b: Builder| b.resolve().unwrap().otlp.expect("otlp").endpoint;
    // Default.
    assert_eq!(endpoint(with_env(&[("OTEL_TRACES_EXPORTER", "otlp")])), "http://localhost:4318/v1/traces");
    // The general variable is a base URL: /v1/traces is appended, slash-safe.
    assert_eq!(endpoint(with_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")])), "http://c:4318/v1/traces");
    assert_eq!(endpoint(with_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c/otlp")])), "http://c/otlp/v1/traces");
    // The signal variable is used as-is and wins over the general one.
    assert_eq!(
        endpoint(with_env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://signal:4318/v1/traces"),
        ])),
        "http://signal:4318/v1/traces"
    );
    // Code wins; a bare address gets the traces path.
    let b = with_env(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://env:4318/v1/traces")]);
    assert_eq!(endpoint(b.otlp_endpoint("http://code:4318")), "http://code:4318/v1/traces");
    assert_eq!(endpoint(with_env(&[]).otlp_endpoint("http://code:4318/x/y")), "http://code:4318/x/y");
}

#[test]
fn an_endpoint_that_is_not_a_url_is_an_error() {
    for bad in ["not a url", "localhost:4318", "ftp://c:21", "http://"] {
        let text = env_error(&[("OTEL_EXPORTER_OTLP_ENDPOINT", bad)], "OTEL_EXPORTER_OTLP_ENDPOINT", bad);
        assert!(text.contains("http://"), "{text}");
        env_error(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", bad)], "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", bad);
    }
    // A port that does not fit in 16 bits, or 0, or empty.
    for bad in ["http://host:99999", "http://host:0", "http://host:", "http://[::1]:70000/v1/traces"] {
        let text = env_error(&[("OTEL_EXPORTER_OTLP_ENDPOINT", bad)], "OTEL_EXPORTER_OTLP_ENDPOINT", bad);
        assert!(text.contains("port from 1 to 65535"), "{text}");
    }
    for good in ["http://host:65535", "http://[::1]:4318", "http://[::1]", "http://user@host:1"] {
        assert!(resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", good)]).otlp.is_some(), "{good}");
    }
    let err = with_env(&[]).otlp_endpoint("http://host:99999").resolve().unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { setting: "otlp_endpoint", .. }), "{err}");
    let err = with_env(&[]).otlp_endpoint("nope").resolve().unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { setting: "otlp_endpoint", .. }), "{err}");
}

#[test]
fn https_endpoints_are_accepted() {
    // (This package enables trace-runtime's `tls` and `grpc` features.)
    let config = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.example:4318")]);
    assert_eq!(config.otlp.unwrap().endpoint, "https://collector.example:4318/v1/traces");
    let config = resolve(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.example"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ]);
    assert_eq!(config.otlp.unwrap().endpoint, "https://collector.example");
}

// ---------------------------------------------------------------- OTLP protocol

#[test]
fn otlp_protocol() {
    let protocol = |vars: &[(&str, &str)]| resolve(vars).otlp.expect("otlp").protocol;
    assert_eq!(
        protocol(&[("OTEL_TRACES_EXPORTER", "otlp"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]),
        Protocol::HttpProtobuf
    );
    env_error(
        &[("OTEL_TRACES_EXPORTER", "otlp"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/xml")],
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "http/xml",
    );
    // The signal variable wins over the general one.
    env_error(
        &[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "smoke-signals"),
        ],
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "smoke-signals",
    );
    let otlp = resolve(&[("OTEL_TRACES_EXPORTER", "otlp"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).otlp.unwrap();
    assert_eq!(otlp.protocol, Protocol::Grpc);
    assert_eq!(otlp.endpoint, "http://localhost:4317", "gRPC default endpoint");
    // For gRPC the general endpoint is used as-is.
    let otlp = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "GRPC")])
        .otlp
        .unwrap();
    assert_eq!(otlp.endpoint, "http://c:4317");
    // Code wins.
    let config = with_env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "bogus")])
        .otlp()
        .otlp_protocol(Protocol::HttpProtobuf)
        .resolve()
        .unwrap();
    assert_eq!(config.otlp.unwrap().protocol, Protocol::HttpProtobuf);
}

// ---------------------------------------------------------------- OTLP headers

#[test]
fn otlp_headers() {
    let headers = |b: Builder| b.otlp().resolve().unwrap().otlp.unwrap().headers;
    assert_eq!(
        headers(with_env(&[("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=abc%3D%3D,x-team=pay")])),
        vec![("x-api-key".to_owned(), "abc==".to_owned()), ("x-team".to_owned(), "pay".to_owned())]
    );
    // The signal variable replaces the general one.
    assert_eq!(
        headers(with_env(&[("OTEL_EXPORTER_OTLP_HEADERS", "a=1"), ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "b=2")])),
        vec![("b".to_owned(), "2".to_owned())]
    );
    // Code headers win per header name (case-insensitively) and add to the rest.
    assert_eq!(
        headers(with_env(&[("OTEL_EXPORTER_OTLP_HEADERS", "X-Key=env,x-other=1")]).otlp_header("x-key", "code")),
        vec![("x-other".to_owned(), "1".to_owned()), ("x-key".to_owned(), "code".to_owned())]
    );
    env_error(
        &[("OTEL_TRACES_EXPORTER", "otlp"), ("OTEL_EXPORTER_OTLP_HEADERS", "novalue")],
        "OTEL_EXPORTER_OTLP_HEADERS",
        "novalue",
    );
    env_error(
        &[("OTEL_TRACES_EXPORTER", "otlp"), ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "bad name=1")],
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "bad name=1",
    );
    // Values are percent-decoded (W3C Baggage format, as the specification
    // says); one that is then not printable ASCII cannot go on the wire.
    for bad in ["k=caf%C3%A9", "k=caf\u{e9}"] {
        let text = env_error(
            &[("OTEL_TRACES_EXPORTER", "otlp"), ("OTEL_EXPORTER_OTLP_HEADERS", bad)],
            "OTEL_EXPORTER_OTLP_HEADERS",
            &bad.replace("%C3%A9", "\u{e9}"),
        );
        assert!(text.contains("printable ASCII"), "{text}");
    }
    let err = with_env(&[]).otlp_header("k", "caf\u{e9}").otlp().resolve().unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { setting: "otlp_header", .. }), "{err}");
    // Header values never show in Debug output.
    let config = with_env(&[("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cret")]).otlp().resolve().unwrap();
    assert!(!format!("{config:?}").contains("s3cret"));
}

// ---------------------------------------------------------------- OTLP timeout

#[test]
fn otlp_timeout() {
    let timeout = |b: Builder| b.otlp().resolve().unwrap().otlp.unwrap().timeout;
    assert_eq!(timeout(with_env(&[])), Duration::from_secs(10));
    assert_eq!(timeout(with_env(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "2500")])), Duration::from_millis(2500));
    assert_eq!(
        timeout(with_env(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"), ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700")])),
        Duration::from_millis(700)
    );
    assert_eq!(
        timeout(with_env(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "2500")]).otlp_timeout(Duration::from_secs(1))),
        Duration::from_secs(1)
    );
    for bad in ["10s", "0", "-1"] {
        env_error(
            &[("OTEL_TRACES_EXPORTER", "otlp"), ("OTEL_EXPORTER_OTLP_TIMEOUT", bad)],
            "OTEL_EXPORTER_OTLP_TIMEOUT",
            bad,
        );
    }
    env_error(
        &[("OTEL_TRACES_EXPORTER", "otlp"), ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "soon")],
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "soon",
    );
}

// ---------------------------------------------------------------- OTLP compression

#[test]
fn otlp_compression() {
    let compression = |b: Builder| b.otlp().resolve().unwrap().otlp.unwrap().compression;
    assert_eq!(compression(with_env(&[])), None);
    assert_eq!(compression(with_env(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")])), Some(Compression::Gzip));
    assert_eq!(compression(with_env(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "none")])), None);
    assert_eq!(
        compression(with_env(&[
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "GZIP")
        ])),
        Some(Compression::Gzip)
    );
    assert_eq!(
        compression(with_env(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "bogus")]).otlp_compression(Compression::Gzip)),
        Some(Compression::Gzip)
    );
    assert_eq!(compression(with_env(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd")])), Some(Compression::Zstd));
    env_error(
        &[("OTEL_TRACES_EXPORTER", "otlp"), ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "brotli")],
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
        "brotli",
    );
}

// ---------------------------------------------------------------- OTEL_BSP_*

#[test]
fn batch_span_processor_settings() {
    let batch = resolve(&[
        ("OTEL_BSP_SCHEDULE_DELAY", "250"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "4000"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"),
    ])
    .batch;
    assert_eq!(batch.schedule_delay, Duration::from_millis(250));
    assert_eq!(batch.export_timeout, Duration::from_millis(4000));
    assert_eq!(batch.max_queue_size, 100);
    assert_eq!(batch.max_export_batch_size, 10);
    // A queue smaller than the default batch shrinks the batch.
    assert_eq!(resolve(&[("OTEL_BSP_MAX_QUEUE_SIZE", "64")]).batch.max_export_batch_size, 64);
    // Code wins.
    let batch = with_env(&[("OTEL_BSP_MAX_QUEUE_SIZE", "100"), ("OTEL_BSP_SCHEDULE_DELAY", "250")])
        .batch_max_queue_size(5000)
        .batch_schedule_delay(Duration::from_millis(10))
        .batch_max_export_batch_size(1000)
        .batch_export_timeout(Duration::from_secs(1))
        .resolve()
        .unwrap()
        .batch;
    assert_eq!(
        (batch.max_queue_size, batch.schedule_delay, batch.max_export_batch_size, batch.export_timeout),
        (5000, Duration::from_millis(10), 1000, Duration::from_secs(1))
    );
}

#[test]
fn bad_batch_settings_are_errors() {
    for var in [
        "OTEL_BSP_SCHEDULE_DELAY",
        "OTEL_BSP_EXPORT_TIMEOUT",
        "OTEL_BSP_MAX_QUEUE_SIZE",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    ] {
        env_error(&[(var, "lots")], var, "lots");
        env_error(&[(var, "0")], var, "0");
        env_error(&[(var, "18446744073709551615")], var, "18446744073709551615");
    }
    // Sizes of memory are bounded: the queue is reserved up front.
    for var in ["OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"] {
        let text = env_error(&[(var, "65537")], var, "65537");
        assert!(text.contains("from 1 to 65536"), "{text}");
        env_error(&[(var, "68719476736")], var, "68719476736");
    }
    let batch = resolve(&[("OTEL_BSP_MAX_QUEUE_SIZE", "65536"), ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "65536")]).batch;
    assert_eq!((batch.max_queue_size, batch.max_export_batch_size), (65_536, 65_536));
    // Delays and timeouts: at most a day.
    for var in ["OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT"] {
        let text = env_error(&[(var, "86400001")], var, "86400001");
        assert!(text.contains("one day"), "{text}");
    }
    env_error(
        &[("OTEL_TRACES_EXPORTER", "otlp"), ("OTEL_EXPORTER_OTLP_TIMEOUT", "99999999999")],
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "99999999999",
    );
    let text = env_error(
        &[("OTEL_BSP_MAX_QUEUE_SIZE", "10"), ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "20")],
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        "20",
    );
    assert!(text.contains("queue size"), "{text}");
}

#[test]
fn bad_batch_settings_in_code_are_errors_not_panics() {
    let setting = |b: Builder| match b.resolve() {
        Err(Error::InvalidConfig { setting, .. }) => setting,
        other => panic!("expected InvalidConfig, got {other:?}"),
    };
    assert_eq!(setting(with_env(&[]).batch_max_queue_size(usize::MAX)), "batch_max_queue_size");
    assert_eq!(setting(with_env(&[]).batch_max_queue_size(65_537)), "batch_max_queue_size");
    assert_eq!(setting(with_env(&[]).batch_max_export_batch_size(usize::MAX)), "batch_max_export_batch_size");
    assert_eq!(setting(with_env(&[]).batch_schedule_delay(Duration::MAX)), "batch_schedule_delay");
    assert_eq!(setting(with_env(&[]).batch_export_timeout(Duration::MAX)), "batch_export_timeout");
    assert_eq!(setting(with_env(&[]).otlp().otlp_timeout(Duration::MAX)), "otlp_timeout");
    let err = with_env(&[]).batch_max_queue_size(usize::MAX).install().expect_err("refused");
    assert!(err.to_string().contains("batch_max_queue_size") && err.to_string().contains("65536"), "{err}");
    assert_eq!(with_env(&[]).batch_max_queue_size(65_536).resolve().unwrap().batch.max_queue_size, 65_536);
}

// ---------------------------------------------------------------- hygiene

#[test]
fn blank_variables_count_as_unset() {
    let config = resolve(&[("OTEL_SERVICE_NAME", "  "), ("OTEL_TRACES_SAMPLER", ""), ("OTEL_TRACES_EXPORTER", " ")]);
    assert!(config.service_name().starts_with("unknown_service"));
    assert!(config.console);
}

#[test]
fn install_reports_the_same_errors() {
    // install() resolves first: a bad value fails before anything is set up.
    let err = with_env(&[("OTEL_TRACES_SAMPLER", "sometimes")]).install().expect_err("bad sampler");
    assert!(err.to_string().contains("OTEL_TRACES_SAMPLER"), "{err}");
}
