//! Builds the meter provider `install()` sets up: one periodic reader per
//! metrics exporter (console, OTLP, the code's own), on the same resource
//! as the spans.

use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{MeterProviderBuilder, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::Resource;

use crate::config::metrics::MetricsConfig;
use crate::config::Error;
use crate::metrics::ConsoleMetricExporter;

/// Adds a reader for an exporter the code gave, at the configured interval.
pub(crate) type AddReader = Box<dyn FnOnce(MeterProviderBuilder, &MetricsConfig) -> MeterProviderBuilder + Send>;

/// A reader exporting to `exporter` every `config.interval`.
pub(crate) fn periodic<E: PushMetricExporter>(
    builder: MeterProviderBuilder,
    exporter: E,
    config: &MetricsConfig,
) -> MeterProviderBuilder {
    builder.with_reader(PeriodicReader::builder(exporter).with_interval(config.interval).build())
}

/// The provider, or `None` when metrics are off.
pub(crate) fn build(
    config: &MetricsConfig,
    resource: Resource,
    readers: Vec<AddReader>,
) -> Result<Option<SdkMeterProvider>, Error> {
    if !config.is_enabled() {
        return Ok(None);
    }
    let mut builder = SdkMeterProvider::builder().with_resource(resource);
    for add in readers {
        builder = add(builder, config);
    }
    if config.console {
        builder = periodic(builder, ConsoleMetricExporter::stderr().with_temporality(config.temporality), config);
    }
    #[cfg(feature = "otlp")]
    if let Some(otlp) = &config.otlp {
        builder = periodic(builder, super::otlp_metrics::build(otlp, config.temporality)?, config);
    }
    Ok(Some(builder.build()))
}
