//! [`init`] and the [`Builder`] it returns; [`Builder::install`] wires the
//! resolved [`Config`] into a provider, its export pipelines and a [`Guard`].

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::{Key, KeyValue};
use opentelemetry_sdk::trace::{
    Sampler, SdkTracerProvider, SpanData, SpanExporter, SpanProcessor, TracerProviderBuilder,
};
use opentelemetry_sdk::Resource;

use super::env::Lookup;
#[cfg(feature = "otlp")]
use super::settings::{Compression, Protocol};
use super::settings::{Config, Settings};
use super::Error;
use crate::dispatch;
use crate::engine::processors::{Processors, SharedProcessor};
use crate::engine::{Collect, Engine, Lost, HANDOFF_CAPACITY};
use crate::export::console::ConsoleExporter;
use crate::export::guard::Guard;
use crate::export::report::LastCause;
use crate::export::tally::Tally;
use crate::export::worker::{Limits, Pipeline};
use crate::values::AttributeValue;

/// What `install()` hands to each exporter the code added: how to batch,
/// and the pipelines made so far (the guard shuts them down).
struct ExportPipelines {
    limits: Limits,
    pipelines: Vec<Pipeline>,
    /// Whether the code added span processors of its own.
    others: bool,
    /// The attribute value length limit, applied before each export.
    value_length: Option<usize>,
    /// The provider's resource, given to each processor before it is shared.
    resource: Resource,
    /// Every processor, shared by the provider and the span engine's collector.
    shared: Processors,
}

impl ExportPipelines {
    /// An export pipeline (queue and thread) for `exporter`, counted under `label`.
    fn batched<E: SpanExporter + 'static>(
        &mut self,
        builder: TracerProviderBuilder,
        exporter: E,
        label: String,
        cause: Option<Arc<LastCause>>,
    ) -> TracerProviderBuilder {
        let mut pipeline = match self.value_length {
            Some(max_chars) => Pipeline::start(
                super::limits::Truncating { inner: exporter, max_chars },
                Tally::new(label),
                self.limits,
                cause,
            ),
            None => Pipeline::start(exporter, Tally::new(label), self.limits, cause),
        };
        pipeline.set_resource(&self.resource);
        self.pipelines.push(pipeline.clone());
        // The engine's spans never went through `on_start`: queued without
        // being counted open.
        let queue = pipeline.clone();
        let on_end = Box::new(move |spans: &mut Vec<SpanData>| {
            queue.enqueue_all(spans);
            0
        });
        let queue = pipeline.clone();
        let room: crate::engine::processors::Room = Box::new(move || queue.room());
        builder.with_span_processor(self.shared.share(Arc::new(pipeline), on_end, Some(room)))
    }

    /// `processor` for the provider, shared with the span engine's collector.
    fn share<P: SpanProcessor + 'static>(&mut self, mut processor: P) -> SharedProcessor {
        processor.set_resource(&self.resource);
        let processor: Arc<dyn SpanProcessor> = Arc::new(processor);
        self.shared.share(Arc::clone(&processor), crate::engine::processors::one_by_one(processor), None)
    }
}

type AddProcessor = Box<dyn FnOnce(TracerProviderBuilder, &mut ExportPipelines) -> TracerProviderBuilder + Send>;

/// Starts configuring tracing for this process; finish with [`Builder::install`].
///
/// Every setting can also come from the standard `OTEL_*` environment
/// variables (a setting made in code wins over its variable). With nothing
/// configured, every finished trace is printed to stderr as a readable tree
/// ([`ConsoleExporter`] says why stderr and not OTLP);
/// with `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans go to that OTLP endpoint
/// instead, with no code change.
///
/// ```
/// let _guard = trace_runtime::init()
///     .service_name("checkout")
///     .service_version("1.4.2")
///     .environment("staging")
///     .install()
///     .expect("tracing set up");
/// // ... the application; spans are flushed when `_guard` drops.
/// ```
pub fn init() -> Builder {
    Builder {
        settings: Settings::default(),
        processors: Vec::new(),
        shutdown_timeout: Duration::from_secs(5),
        max_export_bytes: crate::export::split::DEFAULT_MAX_EXPORT_BYTES,
        lookup: None,
        metric_readers: Vec::new(),
        log_exporters: Vec::new(),
    }
}

/// Configuration for [`init`]. Every setting is optional; see [`Config`] for
/// how code, environment and defaults combine.
///
/// ```
/// use opentelemetry_sdk::trace::Sampler;
///
/// let config = trace_runtime::init()
///     .service_name("billing")
///     .resource_attribute("team", "payments")
///     .sampler(Sampler::TraceIdRatioBased(0.25))
///     .resolve()
///     .unwrap();
/// assert_eq!(config.service_name(), "billing");
/// assert_eq!(config.resource_attribute("team"), Some(&"payments".into()));
/// ```
#[must_use = "nothing is installed until .install() is called"]
pub struct Builder {
    pub(crate) settings: Settings,
    processors: Vec<AddProcessor>,
    shutdown_timeout: Duration,
    max_export_bytes: usize,
    lookup: Option<Lookup>,
    pub(crate) metric_readers: Vec<crate::export::metrics::AddReader>,
    pub(crate) log_exporters: Vec<crate::export::logs::AddExporter>,
}

impl Builder {
    /// The `service.name` resource attribute: how backends name this process
    /// (else `OTEL_SERVICE_NAME`, else `service.name` in
    /// `OTEL_RESOURCE_ATTRIBUTES`, else `unknown_service:<executable>`).
    ///
    /// ```
    /// let config = trace_runtime::init().service_name("inventory").resolve().unwrap();
    /// assert_eq!(config.service_name(), "inventory");
    /// ```
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.settings.service_name = Some(name.into());
        self
    }

    /// The `service.version` resource attribute.
    ///
    /// ```
    /// let config = trace_runtime::init().service_version(env!("CARGO_PKG_VERSION")).resolve().unwrap();
    /// assert_eq!(config.resource_attribute("service.version"), Some(&env!("CARGO_PKG_VERSION").into()));
    /// ```
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.settings.service_version = Some(version.into());
        self
    }

    /// The `deployment.environment.name` resource attribute (ddtrace `env`).
    ///
    /// ```
    /// let config = trace_runtime::init().environment("production").resolve().unwrap();
    /// assert_eq!(config.resource_attribute("deployment.environment.name"), Some(&"production".into()));
    /// ```
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.settings.environment = Some(environment.into());
        self
    }

    /// Any other resource attribute (`host.name`, `service.namespace`, ...);
    /// it wins over the same key in `OTEL_RESOURCE_ATTRIBUTES`.
    ///
    /// ```
    /// let config = trace_runtime::init().resource_attribute("service.namespace", "shop").resolve().unwrap();
    /// assert_eq!(config.resource_attribute("service.namespace"), Some(&"shop".into()));
    /// ```
    pub fn resource_attribute(mut self, key: impl Into<Key>, value: impl AttributeValue) -> Self {
        if let Some(value) = value.to_attribute_value() {
            self.settings.resource.push(KeyValue::new(key, value));
        }
        self
    }

    /// The sampler (else `OTEL_TRACES_SAMPLER`; default: parent-based, always on).
    ///
    /// Whatever the sampler, a span with a parent under `ParentBased` follows
    /// its parent without a sampler call, as the SDK's rule says. For root
    /// spans the engine applies the default's rule itself (no call) only when
    /// traced chose the sampler (the default, or `OTEL_TRACES_SAMPLER`): a
    /// root sampler passed here is always asked, since it may be a type of
    /// your own whatever its `Debug` form says. Leave the default unset
    /// rather than passing it to keep roots at their cheapest.
    ///
    /// A span your sampler marks `RecordOnly` records (processors added
    /// with [`span_processor`](Self::span_processor) get it) but is not
    /// exported, as the OpenTelemetry specification says.
    ///
    /// ```
    /// use opentelemetry_sdk::trace::Sampler;
    /// let ten_percent = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.1)));
    /// let config = trace_runtime::init().sampler(ten_percent).resolve().unwrap();
    /// assert!(format!("{:?}", config.sampler).contains("TraceIdRatioBased(0.1)"));
    /// ```
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.settings.sampler = Some(sampler);
        self
    }

    /// Sends finished spans to `exporter` in batches, from a thread of its
    /// own (the caller never waits on the exporter): a bounded queue, batches
    /// split under [`batch_max_export_bytes`](Self::batch_max_export_bytes),
    /// and every call to the exporter (its `Drop` included) made on that
    /// thread, where a panic is caught and its spans counted as lost. Can be
    /// called more than once; each exporter gets a queue and thread of its own.
    /// Adding an exporter in code means `OTEL_TRACES_EXPORTER` is not read.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::sync::{Arc, Mutex};
    ///
    /// /// A writer the example can read back.
    /// #[derive(Clone, Default)]
    /// struct Buffer(Arc<Mutex<Vec<u8>>>);
    /// impl Write for Buffer {
    ///     fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
    ///         self.0.lock().unwrap().write(bytes)
    ///     }
    ///     fn flush(&mut self) -> std::io::Result<()> {
    ///         Ok(())
    ///     }
    /// }
    ///
    /// #[trace_runtime::traced]
    /// fn checkout() {}
    ///
    /// let printed = Buffer::default();
    /// let guard = trace_runtime::init()
    ///     .exporter(trace_runtime::ConsoleExporter::to_writer(printed.clone()))
    ///     .install()
    ///     .unwrap();
    /// checkout();
    /// drop(guard); // flushes
    /// assert!(String::from_utf8_lossy(&printed.0.lock().unwrap()).contains("checkout"));
    /// ```
    pub fn exporter<E: SpanExporter + 'static>(mut self, exporter: E) -> Self {
        self.settings.custom_exporters += 1;
        let label = format!("exporter {}", std::any::type_name::<E>());
        self.processors
            .push(Box::new(move |builder, pipes: &mut ExportPipelines| pipes.batched(builder, exporter, label, None)));
        self
    }

    /// Adds any span processor (for example a `SimpleSpanProcessor` in a
    /// short-lived tool, or your own). Its `on_end` gets every span once it
    /// has ended, as the SDK would build it (span limits applied), on the
    /// span engine's collector thread, which takes finished spans from the
    /// application's threads in batches: within about 10 ms of their end, at
    /// once on [`Guard::flush`]. Its `on_start` is **not called** for
    /// the spans of traced's span engine (`#[traced]`, `span(..)`, raw
    /// OpenTelemetry spans through the global provider): they are not SDK
    /// spans, and nothing of them reaches the processor while they are open.
    /// It is still called for spans of tracers taken from
    /// [`Guard::provider`], which are SDK spans. A processor that needs
    /// `on_start` takes the SDK's own span path: build an `SdkTracerProvider`
    /// with it and install it with `opentelemetry::global::set_tracer_provider`
    /// instead of `init()`; `#[traced]` spans then are SDK spans of that
    /// provider, and its `on_start` sees each one while it is open, on the
    /// thread that started it. Its losses are not in
    /// [`lost_spans`](crate::lost_spans), and only its flush and shutdown are
    /// bounded (run on a helper thread the guard stops waiting for at the
    /// timeout).
    ///
    /// ```
    /// use opentelemetry_sdk::trace::SimpleSpanProcessor;
    ///
    /// let processor = SimpleSpanProcessor::new(trace_runtime::ConsoleExporter::stdout());
    /// let config = trace_runtime::init().span_processor(processor).resolve().unwrap();
    /// // It replaces the default console, as an exporter added in code does.
    /// assert_eq!(config.custom_exporters, 1);
    /// assert!(!config.console);
    /// ```
    pub fn span_processor<P: SpanProcessor + 'static>(mut self, processor: P) -> Self {
        self.settings.custom_exporters += 1;
        self.processors.push(Box::new(move |builder, pipes: &mut ExportPipelines| {
            pipes.others = true;
            builder.with_span_processor(pipes.share(processor))
        }));
        self
    }

    /// Also prints finished traces to stderr as trees. This is the default
    /// when nothing else is configured; call it to keep the console next to
    /// another exporter.
    ///
    /// ```
    /// let config = trace_runtime::init()
    ///     .exporter(trace_runtime::ConsoleExporter::to_writer(std::io::sink()))
    ///     .console()
    ///     .resolve()
    ///     .unwrap();
    /// assert!(config.console); // kept next to the exporter added in code
    /// ```
    pub fn console(mut self) -> Self {
        self.settings.console = true;
        self
    }

    /// Sends spans to an OTLP endpoint: the one given by
    /// [`otlp_endpoint`](Self::otlp_endpoint), else
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`,
    /// else `http://localhost:4318/v1/traces` (`http://localhost:4317` for gRPC).
    ///
    /// ```
    /// let config = trace_runtime::init().env_lookup(|_| None).otlp().console().resolve().unwrap();
    /// assert_eq!(config.otlp.unwrap().endpoint, "http://localhost:4318/v1/traces");
    /// assert!(config.console); // OTLP and the console
    /// ```
    #[cfg(feature = "otlp")]
    pub fn otlp(mut self) -> Self {
        self.settings.otlp.selected = true;
        self
    }

    /// Sends spans to this OTLP endpoint (implies [`otlp`](Self::otlp)). For
    /// HTTP it is the full URL; a URL with no path gets `/v1/traces`. For
    /// gRPC, the collector's address. `https://` needs the `tls` feature
    /// (HTTP) or `grpc` (gRPC).
    ///
    /// ```
    /// let config = trace_runtime::init().otlp_endpoint("http://otel-collector:4318").resolve().unwrap();
    /// assert_eq!(config.otlp.unwrap().endpoint, "http://otel-collector:4318/v1/traces");
    /// ```
    #[cfg(feature = "otlp")]
    pub fn otlp_endpoint(mut self, url: impl Into<String>) -> Self {
        self.settings.otlp.selected = true;
        self.settings.otlp.endpoint = Some(url.into());
        self
    }

    /// Sends spans to a Datadog Agent in its own protocol (msgpack on
    /// `/v0.4/traces`), mapped as the Agent's OTLP ingestion maps them: the
    /// URL given by [`datadog_agent_url`](Self::datadog_agent_url), else
    /// `DD_TRACE_AGENT_URL`, else `http://$DD_AGENT_HOST:$DD_TRACE_AGENT_PORT`
    /// (defaults `localhost`, `8126`). `OTEL_TRACES_EXPORTER=datadog` does
    /// the same without code.
    ///
    /// ```
    /// let config = trace_runtime::init().datadog().env_lookup(|_| None).resolve().unwrap();
    /// assert_eq!(config.datadog.unwrap().endpoint, "http://localhost:8126/v0.4/traces");
    /// ```
    #[cfg(feature = "datadog")]
    pub fn datadog(mut self) -> Self {
        self.settings.datadog.selected = true;
        self
    }

    /// Sends spans to the Datadog Agent at this URL (implies
    /// [`datadog`](Self::datadog)), e.g. `http://dd-agent:8126`; the
    /// `/v0.4/traces` path is added.
    ///
    /// ```
    /// let config = trace_runtime::init().datadog_agent_url("http://10.0.0.7:8126").resolve().unwrap();
    /// assert_eq!(config.datadog.unwrap().endpoint, "http://10.0.0.7:8126/v0.4/traces");
    /// ```
    #[cfg(feature = "datadog")]
    pub fn datadog_agent_url(mut self, url: impl Into<String>) -> Self {
        self.settings.datadog.selected = true;
        self.settings.datadog.agent_url = Some(url.into());
        self
    }

    /// The OTLP transport (else `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` /
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`; default HTTP/protobuf).
    ///
    /// ```
    /// use trace_runtime::Protocol;
    ///
    /// let config = trace_runtime::init().env_lookup(|_| None).otlp_protocol(Protocol::HttpProtobuf).otlp().resolve().unwrap();
    /// let otlp = config.otlp.unwrap();
    /// assert_eq!(otlp.protocol, Protocol::HttpProtobuf);
    /// assert_eq!(otlp.endpoint, "http://localhost:4318/v1/traces"); // that protocol's default
    /// ```
    #[cfg(feature = "otlp")]
    pub fn otlp_protocol(mut self, protocol: Protocol) -> Self {
        self.settings.otlp.protocol = Some(protocol);
        self
    }

    /// A header sent with every OTLP request (gRPC metadata), e.g. an API
    /// key; it wins over the same header in `OTEL_EXPORTER_OTLP_HEADERS`.
    ///
    /// ```
    /// let config = trace_runtime::init().otlp().otlp_header("x-honeycomb-team", "my-key").resolve().unwrap();
    /// assert!(config.otlp.unwrap().headers.contains(&("x-honeycomb-team".to_owned(), "my-key".to_owned())));
    /// ```
    #[cfg(feature = "otlp")]
    pub fn otlp_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.otlp.headers.push((name.into(), value.into()));
        self
    }

    /// How long one OTLP export may take (else `OTEL_EXPORTER_OTLP_TIMEOUT`;
    /// default 10 s).
    ///
    /// At most one day: a longer timeout makes [`install`](Self::install)
    /// (and [`resolve`](Self::resolve)) return [`Error::InvalidConfig`]
    /// naming `otlp_timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = trace_runtime::init().otlp().otlp_timeout(Duration::from_secs(3)).resolve().unwrap();
    /// assert_eq!(config.otlp.unwrap().timeout, Duration::from_secs(3));
    /// let err = trace_runtime::init()
    ///     .otlp_endpoint("http://localhost:4318")
    ///     .otlp_timeout(Duration::from_secs(2 * 86_400))
    ///     .resolve()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("otlp_timeout"));
    /// ```
    #[cfg(feature = "otlp")]
    pub fn otlp_timeout(mut self, timeout: Duration) -> Self {
        self.settings.otlp.timeout = Some(timeout);
        self
    }

    /// Compresses OTLP requests (else `OTEL_EXPORTER_OTLP_COMPRESSION`;
    /// default none).
    ///
    /// ```
    /// use trace_runtime::Compression;
    ///
    /// let config = trace_runtime::init().otlp().otlp_compression(Compression::Gzip).resolve().unwrap();
    /// assert_eq!(config.otlp.unwrap().compression, Some(Compression::Gzip));
    /// ```
    #[cfg(feature = "otlp")]
    pub fn otlp_compression(mut self, compression: Compression) -> Self {
        self.settings.otlp.compression = Some(compression);
        self
    }

    /// Trusts only the CA certificate(s) in this PEM file for `https://`
    /// OTLP endpoints (else `OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE`;
    /// default: the system's roots). Needs the cargo feature `tls` (HTTP)
    /// or `grpc`. The file is read and checked by
    /// [`install`](Self::install) (and [`resolve`](Self::resolve)): an
    /// unreadable file or one without a PEM certificate is
    /// [`Error::InvalidConfig`] naming `otlp_certificate`.
    ///
    /// ```
    /// let err = trace_runtime::init()
    ///     .otlp_endpoint("https://collector:4318")
    ///     .otlp_certificate("/no/such/ca.pem")
    ///     .resolve()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("otlp_certificate"), "{err}");
    /// ```
    #[cfg(feature = "otlp")]
    pub fn otlp_certificate(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.settings.otlp.tls.certificate = Some(path.into());
        self
    }

    /// The client certificate (PEM) for mutual TLS with the OTLP endpoint
    /// (else `OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_CERTIFICATE`); needs
    /// [`otlp_client_key`](Self::otlp_client_key) too. Checked like
    /// [`otlp_certificate`](Self::otlp_certificate).
    ///
    /// ```
    /// let err = trace_runtime::init()
    ///     .otlp_endpoint("https://collector:4318")
    ///     .otlp_client_certificate("/no/such/client.pem")
    ///     .otlp_client_key("/no/such/client.key")
    ///     .resolve()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("otlp_client_certificate"), "{err}");
    /// ```
    #[cfg(feature = "otlp")]
    pub fn otlp_client_certificate(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.settings.otlp.tls.client_certificate = Some(path.into());
        self
    }

    /// The client certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1)
    /// for mutual TLS (else `OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_KEY`).
    ///
    /// ```
    /// let err = trace_runtime::init()
    ///     .otlp_endpoint("https://collector:4318")
    ///     .otlp_client_key("/no/such/client.key")
    ///     .resolve()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("otlp_client_key"), "{err}");
    /// ```
    #[cfg(feature = "otlp")]
    pub fn otlp_client_key(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.settings.otlp.tls.client_key = Some(path.into());
        self
    }

    /// For a gRPC endpoint written without a scheme (`collector:4317`):
    /// `true` sends plain text (`http://`), `false` TLS (`https://`, the
    /// default). Else `OTEL_EXPORTER_OTLP_[TRACES_]INSECURE`.
    ///
    /// ```
    /// # #[cfg(feature = "grpc")] {
    /// let config = trace_runtime::init()
    ///     .otlp_protocol(trace_runtime::Protocol::Grpc)
    ///     .otlp_endpoint("collector:4317")
    ///     .env_lookup(|_| None)
    ///     .resolve()
    ///     .unwrap();
    /// assert_eq!(config.otlp.unwrap().endpoint, "https://collector:4317");
    /// # }
    /// ```
    #[cfg(feature = "otlp")]
    pub fn otlp_insecure(mut self, insecure: bool) -> Self {
        self.settings.otlp.tls.insecure = Some(insecure);
        self
    }

    /// Attributes kept per span, from 0 to 65,536 (else
    /// `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`; default 128); more are dropped
    /// and counted in the span's `dropped_attributes_count`.
    ///
    /// ```
    /// let config = trace_runtime::init().span_attribute_count_limit(32).resolve().unwrap();
    /// assert_eq!(config.span_limits.attribute_count, 32);
    /// ```
    pub fn span_attribute_count_limit(mut self, limit: u32) -> Self {
        self.settings.span_limits.attribute_count = Some(limit);
        self
    }

    /// Events kept per span, from 0 to 65,536 (else
    /// `OTEL_SPAN_EVENT_COUNT_LIMIT`; default 128).
    ///
    /// ```
    /// let config = trace_runtime::init().span_event_count_limit(8).resolve().unwrap();
    /// assert_eq!(config.span_limits.event_count, 8);
    /// ```
    pub fn span_event_count_limit(mut self, limit: u32) -> Self {
        self.settings.span_limits.event_count = Some(limit);
        self
    }

    /// Links kept per span, from 0 to 65,536 (else
    /// `OTEL_SPAN_LINK_COUNT_LIMIT`; default 128).
    ///
    /// ```
    /// let config = trace_runtime::init().span_link_count_limit(4).resolve().unwrap();
    /// assert_eq!(config.span_limits.link_count, 4);
    /// ```
    pub fn span_link_count_limit(mut self, limit: u32) -> Self {
        self.settings.span_limits.link_count = Some(limit);
        self
    }

    /// Cuts string attribute values (and string array elements) to at most
    /// this many characters, from 1 to 32,768, on a character boundary, off
    /// the caller's thread (else `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`,
    /// then `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`; default: no limit, but the
    /// export path cuts strings over 32 KiB). `testing::capture` applies
    /// the installed limit too.
    ///
    /// ```
    /// let config = trace_runtime::init().attribute_value_length_limit(256).resolve().unwrap();
    /// assert_eq!(config.span_limits.attribute_value_length, Some(256));
    /// assert!(trace_runtime::init().attribute_value_length_limit(0).resolve().is_err());
    /// ```
    pub fn attribute_value_length_limit(mut self, chars: usize) -> Self {
        self.settings.span_limits.attribute_value_length = Some(chars);
        self
    }

    /// At most this many finished spans wait for export; more are dropped
    /// and counted in [`lost_spans`](crate::lost_spans) (else `OTEL_BSP_MAX_QUEUE_SIZE`; default 2048).
    ///
    /// With `init()`'s span engine, spans first wait in its hand-off (as
    /// many again, in a compact form) while the export queues are full: a
    /// burst up to about 1¾ times this size reaches a slow exporter without
    /// loss.
    ///
    /// From 1 (0 is taken as 1) to 65,536, since the queue's memory is
    /// reserved up front: more makes [`install`](Self::install) (and
    /// [`resolve`](Self::resolve)) return [`Error::InvalidConfig`] naming
    /// `batch_max_queue_size`.
    ///
    /// ```
    /// let config = trace_runtime::init().batch_max_queue_size(8192).resolve().unwrap();
    /// assert_eq!(config.batch.max_queue_size, 8192);
    /// let err = trace_runtime::init().batch_max_queue_size(1 << 20).resolve().unwrap_err();
    /// assert!(err.to_string().contains("batch_max_queue_size"));
    /// ```
    pub fn batch_max_queue_size(mut self, spans: usize) -> Self {
        self.settings.batch.max_queue_size = Some(spans.max(1));
        self
    }

    /// Time between two exports (else `OTEL_BSP_SCHEDULE_DELAY`; default 5 s).
    ///
    /// From 1 ms (shorter is taken as 1 ms) to one day: longer makes
    /// [`install`](Self::install) (and [`resolve`](Self::resolve)) return
    /// [`Error::InvalidConfig`] naming `batch_schedule_delay`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = trace_runtime::init().batch_schedule_delay(Duration::from_millis(500)).resolve().unwrap();
    /// assert_eq!(config.batch.schedule_delay, Duration::from_millis(500));
    /// let err = trace_runtime::init().batch_schedule_delay(Duration::MAX).resolve().unwrap_err();
    /// assert!(err.to_string().contains("batch_schedule_delay"));
    /// ```
    pub fn batch_schedule_delay(mut self, delay: Duration) -> Self {
        self.settings.batch.schedule_delay = Some(delay.max(Duration::from_millis(1)));
        self
    }

    /// Spans per export request (else `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`;
    /// default 512, at most the queue size).
    ///
    /// From 1 (0 is taken as 1) to the queue size (itself at most 65,536):
    /// more makes [`install`](Self::install) (and [`resolve`](Self::resolve))
    /// return [`Error::InvalidConfig`] naming `batch_max_export_batch_size`.
    ///
    /// ```
    /// let config = trace_runtime::init().batch_max_export_batch_size(256).resolve().unwrap();
    /// assert_eq!(config.batch.max_export_batch_size, 256);
    /// let err = trace_runtime::init()
    ///     .batch_max_queue_size(100)
    ///     .batch_max_export_batch_size(200)
    ///     .resolve()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("batch_max_export_batch_size"));
    /// ```
    pub fn batch_max_export_batch_size(mut self, spans: usize) -> Self {
        self.settings.batch.max_export_batch_size = Some(spans.max(1));
        self
    }

    /// The largest export request, in bytes (default 4 MiB, the default
    /// message limit of gRPC servers and the OpenTelemetry Collector).
    /// Batches are split to stay under it, so one large span never costs
    /// its neighbours; a span over it on its own is dropped, counted in
    /// [`lost_spans`](crate::lost_spans) and named on stderr. String values longer than 32 KiB
    /// are cut to 32 KiB before export, with the number of bytes cut.
    /// Values under 64 KiB are raised to 64 KiB.
    ///
    /// ```
    /// #[trace_runtime::traced]
    /// fn upload() {
    ///     // Three 30 kB values: over the 64 KiB limit set below, under the default 4 MiB.
    ///     for key in ["a", "b", "c"] {
    ///         trace_runtime::current_span().set_attribute(key, "x".repeat(30_000));
    ///     }
    /// }
    ///
    /// let guard = trace_runtime::init()
    ///     .exporter(trace_runtime::ConsoleExporter::to_writer(std::io::sink()))
    ///     .batch_max_export_bytes(64 * 1024)
    ///     .install()
    ///     .unwrap();
    /// upload();
    /// // Dropped, named on stderr, counted, and returned by shutdown.
    /// let err = guard.shutdown().unwrap_err();
    /// assert!(err.to_string().contains("too large to send even alone: \"upload\""), "{err}");
    /// assert_eq!(trace_runtime::lost_spans(), 1);
    /// ```
    pub fn batch_max_export_bytes(mut self, bytes: usize) -> Self {
        self.max_export_bytes = bytes.max(64 * 1024);
        self
    }

    /// How long one export may take, whatever the exporter's own timeout
    /// (else `OTEL_BSP_EXPORT_TIMEOUT`; default 30 s).
    ///
    /// At most one day: longer makes [`install`](Self::install) (and
    /// [`resolve`](Self::resolve)) return [`Error::InvalidConfig`] naming
    /// `batch_export_timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = trace_runtime::init().batch_export_timeout(Duration::from_secs(5)).resolve().unwrap();
    /// assert_eq!(config.batch.export_timeout, Duration::from_secs(5));
    /// let err = trace_runtime::init().batch_export_timeout(Duration::from_secs(90_000)).resolve().unwrap_err();
    /// assert!(err.to_string().contains("batch_export_timeout"));
    /// ```
    pub fn batch_export_timeout(mut self, timeout: Duration) -> Self {
        self.settings.batch.export_timeout = Some(timeout);
        self
    }

    /// Exports metrics to `exporter` at every interval and at shutdown (a
    /// periodic reader of its own; e.g. an SDK `InMemoryMetricExporter` in
    /// tests). Adding one in code means `OTEL_METRICS_EXPORTER` is not read.
    ///
    /// ```
    /// let exporter = trace_runtime::metrics::ConsoleMetricExporter::stderr();
    /// let config = trace_runtime::init().metrics_exporter(exporter).resolve().unwrap();
    /// assert_eq!(config.metrics.custom_exporters, 1);
    /// ```
    pub fn metrics_exporter<E: opentelemetry_sdk::metrics::exporter::PushMetricExporter>(
        mut self,
        exporter: E,
    ) -> Self {
        self.settings.metrics.custom_exporters += 1;
        self.metric_readers
            .push(Box::new(move |builder, config| crate::export::metrics::periodic(builder, exporter, config)));
        self
    }

    /// Prints metrics to stderr as readable lines, at every interval and at
    /// shutdown (else `OTEL_METRICS_EXPORTER=console`).
    ///
    /// ```
    /// let config = trace_runtime::init().metrics_console().resolve().unwrap();
    /// assert!(config.metrics.console);
    /// ```
    pub fn metrics_console(mut self) -> Self {
        self.settings.metrics.console = true;
        self
    }

    /// Sends metrics to this OTLP/HTTP URL (else
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, else the OTLP endpoint of the
    /// traces with path `/v1/metrics`); a URL with no path gets `/v1/metrics`.
    ///
    /// ```
    /// let config = trace_runtime::init().metrics_otlp_endpoint("http://collector:4318").resolve().unwrap();
    /// assert_eq!(config.metrics.otlp.unwrap().endpoint, "http://collector:4318/v1/metrics");
    /// ```
    #[cfg(feature = "otlp")]
    pub fn metrics_otlp_endpoint(mut self, url: impl Into<String>) -> Self {
        self.settings.metrics.otlp_selected = true;
        self.settings.metrics.endpoint = Some(url.into());
        self
    }

    /// The OTLP transport of metrics (else `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL`
    /// / `OTEL_EXPORTER_OTLP_PROTOCOL`): HTTP/protobuf, HTTP/JSON, or gRPC
    /// with the `grpc` cargo feature. Headers, timeout and compression are those of
    /// [`otlp_header`](Self::otlp_header) and friends (else
    /// `OTEL_EXPORTER_OTLP_METRICS_HEADERS`, ...).
    ///
    /// ```
    /// use trace_runtime::Protocol;
    ///
    /// let config = trace_runtime::init()
    ///     .env_lookup(|_| None)
    ///     .metrics_otlp_endpoint("http://collector:4318")
    ///     .metrics_otlp_protocol(Protocol::HttpProtobuf)
    ///     .resolve()
    ///     .unwrap();
    /// assert_eq!(config.metrics.otlp.unwrap().protocol, Protocol::HttpProtobuf);
    /// ```
    #[cfg(feature = "otlp")]
    pub fn metrics_otlp_protocol(mut self, protocol: Protocol) -> Self {
        self.settings.metrics.protocol = Some(protocol);
        self
    }

    /// Cumulative (the default), delta or low-memory export (else
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
    ///
    /// ```
    /// use opentelemetry_sdk::metrics::Temporality;
    /// let config = trace_runtime::init().metrics_console().metrics_temporality(Temporality::Delta).resolve().unwrap();
    /// assert_eq!(config.metrics.temporality, Temporality::Delta);
    /// ```
    pub fn metrics_temporality(mut self, temporality: opentelemetry_sdk::metrics::Temporality) -> Self {
        self.settings.metrics.temporality = Some(temporality);
        self
    }

    /// Time between two metrics exports (else `OTEL_METRIC_EXPORT_INTERVAL`
    /// in milliseconds; default 60 s). The guard exports once more at shutdown.
    ///
    /// ```
    /// let config = trace_runtime::init()
    ///     .metrics_console()
    ///     .metric_export_interval(std::time::Duration::from_secs(10))
    ///     .resolve()
    ///     .unwrap();
    /// assert_eq!(config.metrics.interval, std::time::Duration::from_secs(10));
    /// ```
    pub fn metric_export_interval(mut self, interval: Duration) -> Self {
        self.settings.metrics.interval = Some(interval);
        self
    }

    /// No metrics, whatever the environment says (`#[traced]` then pays one
    /// relaxed load for them).
    ///
    /// ```
    /// let config = trace_runtime::init().otlp().metrics_off().resolve().unwrap();
    /// assert!(!config.metrics.is_enabled());
    /// ```
    pub fn metrics_off(mut self) -> Self {
        self.settings.metrics.off = true;
        self
    }

    /// Turns tracing off (`true`) or forces it on (`false`) whatever
    /// `OTEL_SDK_DISABLED` says. Disabled, `install()` installs nothing and
    /// traced functions cost about as much as plain calls.
    ///
    /// ```
    /// #[trace_runtime::traced]
    /// fn work() -> bool {
    ///     trace_runtime::current_span().is_recording()
    /// }
    ///
    /// let guard = trace_runtime::init().disabled(true).install().unwrap();
    /// assert!(!work()); // nothing installed: no span records
    /// # drop(guard);
    /// ```
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.settings.disabled = Some(disabled);
        self
    }

    /// How long dropping the [`Guard`] may wait for the last spans to be
    /// exported (default 5 s). Exporters shut down side by side, each with
    /// the whole timeout, so a hung one costs the others nothing; the same
    /// bound applies to [`Guard::flush`].
    ///
    /// At most one day, like the other durations: longer makes
    /// [`install`](Self::install) (and [`resolve`](Self::resolve)) return
    /// [`Error::InvalidConfig`] naming `shutdown_timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let guard = trace_runtime::init()
    ///     .exporter(trace_runtime::ConsoleExporter::to_writer(std::io::sink()))
    ///     .shutdown_timeout(Duration::from_secs(2))
    ///     .install()
    ///     .unwrap();
    /// drop(guard); // waits at most 2 s for the last spans
    /// let err = trace_runtime::init().shutdown_timeout(Duration::MAX).resolve().unwrap_err();
    /// assert!(err.to_string().contains("shutdown_timeout"));
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The header formats [`propagation`](crate::propagation) speaks, in
    /// extraction order (else `OTEL_PROPAGATORS`, else `tracecontext,baggage`);
    /// an empty list propagates nothing. Injection writes every format.
    ///
    /// ```
    /// use trace_runtime::propagation::Propagator;
    ///
    /// let config = trace_runtime::init()
    ///     .propagators([Propagator::TraceContext, Propagator::Datadog])
    ///     .resolve()
    ///     .unwrap();
    /// assert_eq!(config.propagators, [Propagator::TraceContext, Propagator::Datadog]);
    /// ```
    pub fn propagators(mut self, propagators: impl IntoIterator<Item = crate::propagation::Propagator>) -> Self {
        let mut list = Vec::new();
        for p in propagators {
            if !list.contains(&p) {
                list.push(p);
            }
        }
        self.settings.propagators = Some(list);
        self
    }

    /// Records a backtrace in `exception.stacktrace` for `Err` returns too
    /// (else `TRACED_ERR_BACKTRACE=1`; default off, where it costs one
    /// relaxed load per error). Panics always record theirs.
    ///
    /// ```
    /// let config = trace_runtime::init().backtraces_on_err(true).resolve().unwrap();
    /// assert!(config.backtraces_on_err);
    /// ```
    pub fn backtraces_on_err(mut self, enabled: bool) -> Self {
        self.settings.backtraces_on_err = Some(enabled);
        self
    }

    /// Reads `OTEL_*` settings through `lookup` instead of the process
    /// environment: for configuration kept elsewhere, or tests that must
    /// not touch the (process-wide) environment. `|_| None` ignores the
    /// environment altogether.
    ///
    /// ```
    /// use std::collections::HashMap;
    ///
    /// let vars = HashMap::from([("OTEL_SERVICE_NAME".to_owned(), "from-map".to_owned())]);
    /// let config = trace_runtime::init().env_lookup(move |name| vars.get(name).cloned()).resolve().unwrap();
    /// assert_eq!(config.service_name(), "from-map");
    /// ```
    pub fn env_lookup(mut self, lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        self.lookup = Some(Arc::new(lookup));
        self
    }

    /// The configuration `install()` would apply, without installing
    /// anything: code settings, then the environment, then defaults.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEnv`] naming the variable, its value and what it
    /// accepts; [`Error::InvalidConfig`] for a bad value given in code.
    ///
    /// ```
    /// let err = trace_runtime::init()
    ///     .env_lookup(|name| match name {
    ///         "OTEL_TRACES_SAMPLER" => Some("traceidratio".to_owned()),
    ///         "OTEL_TRACES_SAMPLER_ARG" => Some("2".to_owned()),
    ///         _ => None,
    ///     })
    ///     .resolve()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("OTEL_TRACES_SAMPLER_ARG"));
    /// ```
    pub fn resolve(&self) -> Result<Config, Error> {
        // Deadlines are `now + timeout`: unbounded, that could overflow.
        if self.shutdown_timeout > Duration::from_millis(super::env::MAX_MILLIS) {
            return Err(Error::InvalidConfig {
                setting: "shutdown_timeout",
                value: format!("{:?}", self.shutdown_timeout),
                accepted: "a duration of at most one day",
            });
        }
        match &self.lookup {
            Some(lookup) => super::settings::resolve(&self.settings, lookup.as_ref()),
            None => super::settings::resolve(&self.settings, &super::env::process_lookup),
        }
    }

    /// Builds the provider and makes it the destination of every span started
    /// from now on: `#[traced]` functions, [`span`](crate::span) and raw
    /// `opentelemetry::global::tracer(..)` calls.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidEnv`] / [`Error::InvalidConfig`]: a setting cannot
    ///   be used; the message names it, its value and what is accepted.
    /// - [`Error::Exporter`]: the OTLP exporter could not be built.
    /// - [`Error::AlreadyInstalled`] while the guard of an earlier `install()`
    ///   is still alive.
    ///
    /// ```
    /// let guard = trace_runtime::init().service_name("demo").install()?;
    /// drop(guard); // flushes and shuts down
    /// # Ok::<(), trace_runtime::Error>(())
    /// ```
    pub fn install(self) -> Result<Guard, Error> {
        let config = self.resolve()?;
        if config.disabled {
            return Ok(Guard::disabled());
        }
        let limits = Limits {
            max_queue: config.batch.max_queue_size,
            max_batch: config.batch.max_export_batch_size,
            delay: config.batch.schedule_delay,
            max_bytes: self.max_export_bytes,
            flush_timeout: self.shutdown_timeout,
        };
        let value_length = config.span_limits.attribute_value_length;
        let resource = Resource::builder_empty().with_attributes(config.resource.iter().cloned()).build();
        let mut pipes = ExportPipelines {
            limits,
            pipelines: Vec::new(),
            others: false,
            value_length,
            resource: resource.clone(),
            shared: Processors::default(),
        };
        // Spans of tracers from `Guard::provider()` take the SDK path, as configured.
        let mut builder = SdkTracerProvider::builder()
            .with_resource(resource.clone())
            .with_sampler(config.sampler.clone())
            .with_span_limits(config.span_limits.sdk());
        for add in self.processors {
            builder = add(builder, &mut pipes);
        }
        // Log records of printed traces are printed inside their tree.
        let shelf = (config.console && config.logs.console).then(|| Arc::new(crate::export::logs::Shelf::default()));
        if config.console {
            let console = ConsoleExporter::stderr().with_log_shelf(shelf.clone());
            builder = pipes.batched(builder, console, "the console".to_owned(), None);
        }
        #[cfg(feature = "otlp")]
        if let Some(otlp) = &config.otlp {
            let cause = Arc::new(LastCause::default());
            let exporter = crate::export::otlp::build(otlp, config.batch.export_timeout, Arc::clone(&cause))?;
            let exporter = crate::export::operation_name::WithOperationName(exporter);
            let limits = pipes.limits;
            if otlp.protocol == Protocol::HttpJson {
                // Requests are split by their protobuf size bound: JSON is larger.
                pipes.limits.max_bytes = crate::export::split::json_max_bytes(limits.max_bytes);
            }
            builder = pipes.batched(builder, exporter, crate::export::otlp::label(otlp), Some(cause));
            pipes.limits = limits;
        }
        #[cfg(feature = "datadog")]
        if let Some(datadog) = &config.datadog {
            let cause = Arc::new(LastCause::default());
            // One request at most 10 s, as OTLP's default, within the batch bound.
            let timeout = Duration::from_secs(10).min(config.batch.export_timeout);
            let exporter = crate::export::datadog::build(datadog, timeout, Arc::clone(&cause))?;
            builder = pipes.batched(builder, exporter, crate::export::datadog::label(datadog), Some(cause));
        }
        let meters = crate::export::metrics::build(&config.metrics, resource.clone(), self.metric_readers)?;
        let logs = crate::export::logs::build(&config.logs, resource, self.log_exporters, shelf)?;
        let provider = builder.build();
        let sampler_built_here = self.settings.sampler.is_none();
        let collect = Collect { processors: pipes.shared, scope: dispatch::scope(), limits: config.span_limits.sdk() };
        let (engine, engine_tally) =
            start_engine(collect, &config.sampler, sampler_built_here, config.batch.max_queue_size);
        let service = Arc::from(config.service_name());
        // Declaring the sampler lets spans it is known to drop skip the SDK.
        let installed = match &engine {
            Some(engine) => {
                dispatch::install_own_engine(provider.clone(), service, &config.sampler, Arc::clone(engine))
            }
            None => dispatch::install_own_sampled(provider.clone(), service, &config.sampler),
        };
        if !installed {
            // Nothing was sent through it; its threads just stop.
            if let Some(engine) = &engine {
                engine.close(std::time::Instant::now());
            }
            for pipeline in &pipes.pipelines {
                pipeline.begin_shutdown(std::time::Instant::now());
            }
            let _ = provider.shutdown_with_timeout(Duration::ZERO);
            if let Some(meters) = meters {
                let _ = meters.shutdown_with_timeout(Duration::ZERO);
            }
            if let Some(logs) = logs {
                logs.begin_shutdown(std::time::Instant::now());
                let _ = logs.finish(std::time::Instant::now());
            }
            return Err(Error::AlreadyInstalled);
        }
        if let Some(meters) = &meters {
            crate::metrics::install(meters);
        }
        if let Some(logs) = &logs {
            logs.activate();
        }
        #[cfg(feature = "tracing")]
        crate::tracing_bridge::install_default();
        install_propagation_and_errors(&config);
        super::limits::set_active(config.span_limits);
        let guard = Guard::new(provider, self.shutdown_timeout, pipes.pipelines, pipes.others, meters).with_logs(logs);
        Ok(if engine.is_some() { guard.with_engine(engine_tally) } else { guard })
    }
}

/// The span engine: it owns every span until it ends, and its collector
/// builds each one's `SpanData` and hands it to the provider's processors
/// (`collect`). Its hand-off holds at most as many finished spans as an
/// export queue (`capacity`), up to [`HANDOFF_CAPACITY`].
fn start_engine(
    collect: Collect,
    sampler: &Sampler,
    sampler_built_here: bool,
    capacity: usize,
) -> (Option<Arc<Engine>>, Arc<Tally>) {
    let tally = Tally::losses_only("the span engine");
    let books = Arc::clone(&tally);
    let lost = Box::new(move |spans, why| {
        let why = match why {
            Lost::Full => crate::export::tally::Loss::QueueFull,
            Lost::AfterShutdown => crate::export::tally::Loss::AfterShutdown,
            Lost::Panicked => crate::export::tally::Loss::Panicked,
        };
        books.lost(spans, why);
    });
    (Engine::start(collect, sampler.clone(), sampler_built_here, capacity.min(HANDOFF_CAPACITY), lost), tally)
}

/// Applies the propagators and the error-backtrace switch: the configured
/// formats become the global OpenTelemetry propagator too, unless the
/// application set its own; the panic hook that keeps the panic site's stack
/// is put in front of the current one.
fn install_propagation_and_errors(config: &Config) {
    crate::propagation::set_active(&config.propagators);
    let own = opentelemetry::global::get_text_map_propagator(|p| p.fields().next().is_some());
    if !own {
        opentelemetry::global::set_text_map_propagator(crate::propagation::Configured);
    }
    crate::exceptions::backtrace::set_on_err(config.backtraces_on_err);
    crate::exceptions::panic_hook::install(true);
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("service_name", &self.settings.service_name)
            .field("processors", &self.processors.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shutdown_timeout_over_a_day_is_refused_not_overflowed() {
        let day = Duration::from_millis(crate::config::env::MAX_MILLIS);
        assert!(init().env_lookup(|_| None).shutdown_timeout(day).resolve().is_ok());
        for too_long in [day + Duration::from_millis(1), Duration::MAX] {
            match init().env_lookup(|_| None).shutdown_timeout(too_long).install() {
                Err(Error::InvalidConfig { setting, accepted, .. }) => {
                    assert_eq!(setting, "shutdown_timeout");
                    assert_eq!(accepted, "a duration of at most one day");
                }
                other => panic!("expected InvalidConfig, got {other:?}"),
            }
        }
    }
}
