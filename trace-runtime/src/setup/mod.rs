//! Setting up export: [`init`] returns a [`Builder`]; [`Builder::install`]
//! builds an `opentelemetry_sdk` provider, makes it the destination of every
//! traced and raw OpenTelemetry span, and returns a [`Guard`] that flushes and
//! shuts it down when dropped.

mod console;
mod error;
mod guard;

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::{Key, KeyValue};
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, Sampler, SdkTracerProvider, SpanExporter, SpanProcessor, TracerProviderBuilder,
};
use opentelemetry_sdk::Resource;

pub use console::ConsoleExporter;
pub use error::Error;
pub use guard::Guard;

use crate::dispatch;
use crate::values::AttributeValue;

type AddProcessor = Box<dyn FnOnce(TracerProviderBuilder) -> TracerProviderBuilder + Send>;

/// Starts configuring tracing for this process; finish with [`Builder::install`].
///
/// With nothing else configured, every finished trace is printed to stdout
/// as a readable tree.
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
        service_name: None,
        service_version: None,
        environment: None,
        resource: Vec::new(),
        sampler: None,
        processors: Vec::new(),
        console: false,
        shutdown_timeout: Duration::from_secs(5),
    }
}

/// Configuration for [`init`]. Every setting is optional.
///
/// ```
/// use opentelemetry_sdk::trace::Sampler;
///
/// let builder = trace_runtime::init()
///     .service_name("billing")
///     .resource_attribute("team", "payments")
///     .sampler(Sampler::TraceIdRatioBased(0.25));
/// # drop(builder);
/// ```
#[must_use = "nothing is installed until .install() is called"]
pub struct Builder {
    service_name: Option<String>,
    service_version: Option<String>,
    environment: Option<String>,
    resource: Vec<KeyValue>,
    sampler: Option<Sampler>,
    processors: Vec<AddProcessor>,
    console: bool,
    shutdown_timeout: Duration,
}

impl Builder {
    /// The `service.name` resource attribute: how backends name this process.
    ///
    /// ```
    /// let b = trace_runtime::init().service_name("inventory");
    /// # drop(b);
    /// ```
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// The `service.version` resource attribute.
    ///
    /// ```
    /// let b = trace_runtime::init().service_version(env!("CARGO_PKG_VERSION"));
    /// # drop(b);
    /// ```
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// The `deployment.environment.name` resource attribute (ddtrace `env`).
    ///
    /// ```
    /// let b = trace_runtime::init().environment("production");
    /// # drop(b);
    /// ```
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Any other resource attribute (`host.name`, `service.namespace`, ...).
    ///
    /// ```
    /// let b = trace_runtime::init().resource_attribute("service.namespace", "shop");
    /// # drop(b);
    /// ```
    pub fn resource_attribute(mut self, key: impl Into<Key>, value: impl AttributeValue) -> Self {
        if let Some(value) = value.to_attribute_value() {
            self.resource.push(KeyValue::new(key, value));
        }
        self
    }

    /// The sampler (default: parent-based, always on).
    ///
    /// ```
    /// use opentelemetry_sdk::trace::Sampler;
    /// let b = trace_runtime::init().sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.1))));
    /// # drop(b);
    /// ```
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// Sends finished spans to `exporter` in batches, from a background thread
    /// (the caller never waits on the exporter). Can be called more than once.
    ///
    /// ```
    /// let b = trace_runtime::init().exporter(opentelemetry_stdout::SpanExporter::default());
    /// # drop(b);
    /// ```
    pub fn exporter<E: SpanExporter + 'static>(mut self, exporter: E) -> Self {
        self.processors.push(Box::new(move |builder: TracerProviderBuilder| {
            builder.with_span_processor(BatchSpanProcessor::builder(exporter).build())
        }));
        self
    }

    /// Adds any span processor (for example a `SimpleSpanProcessor` in a
    /// short-lived tool, or your own).
    ///
    /// ```
    /// use opentelemetry_sdk::trace::SimpleSpanProcessor;
    /// let b = trace_runtime::init().span_processor(SimpleSpanProcessor::new(trace_runtime::ConsoleExporter::stdout()));
    /// # drop(b);
    /// ```
    pub fn span_processor<P: SpanProcessor + 'static>(mut self, processor: P) -> Self {
        self.processors.push(Box::new(move |builder: TracerProviderBuilder| builder.with_span_processor(processor)));
        self
    }

    /// Also prints finished traces to stdout as trees. This is the default
    /// when no exporter or processor is given; call it to keep the console
    /// next to another exporter.
    ///
    /// ```
    /// let b = trace_runtime::init().console();
    /// # drop(b);
    /// ```
    pub fn console(mut self) -> Self {
        self.console = true;
        self
    }

    /// How long dropping the [`Guard`] may wait for the last spans to be
    /// exported (default 5 s).
    ///
    /// ```
    /// let b = trace_runtime::init().shutdown_timeout(std::time::Duration::from_secs(2));
    /// # drop(b);
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Builds the provider and makes it the destination of every span started
    /// from now on: `#[traced]` functions, [`span`](crate::span) and raw
    /// `opentelemetry::global::tracer(..)` calls.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyInstalled`] while the guard of an earlier `install()`
    /// is still alive.
    ///
    /// ```
    /// let guard = trace_runtime::init().service_name("demo").install()?;
    /// drop(guard); // flushes and shuts down
    /// # Ok::<(), trace_runtime::Error>(())
    /// ```
    pub fn install(self) -> Result<Guard, Error> {
        let service_name = self.service_name.unwrap_or_else(default_service_name);
        let mut resource =
            Resource::builder_empty().with_attribute(KeyValue::new("service.name", service_name.clone()));
        if let Some(version) = self.service_version {
            resource = resource.with_attribute(KeyValue::new("service.version", version));
        }
        if let Some(environment) = self.environment {
            resource = resource.with_attribute(KeyValue::new("deployment.environment.name", environment));
        }
        resource = resource.with_attributes(self.resource).with_attributes(sdk_attributes());

        let mut builder = SdkTracerProvider::builder().with_resource(resource.build());
        if let Some(sampler) = self.sampler {
            builder = builder.with_sampler(sampler);
        }
        let console = self.console || self.processors.is_empty();
        for add in self.processors {
            builder = add(builder);
        }
        if console {
            builder = builder.with_span_processor(BatchSpanProcessor::builder(ConsoleExporter::stdout()).build());
        }
        let provider = builder.build();
        if !dispatch::install_own(provider.clone(), Arc::from(service_name)) {
            let _ = provider.shutdown();
            return Err(Error::AlreadyInstalled);
        }
        Ok(Guard::new(provider, self.shutdown_timeout))
    }
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("service_name", &self.service_name)
            .field("processors", &self.processors.len())
            .finish_non_exhaustive()
    }
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
