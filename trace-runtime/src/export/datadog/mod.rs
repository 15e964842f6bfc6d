//! The native Datadog exporter: spans mapped as Datadog's OTLP ingestion
//! maps them (`mapping`), msgpack-encoded (`msgpack`, `payload`) and sent to
//! the Agent's `/v0.4/traces` (`exporter`); the `DD_*` variables (`settings`).

#[cfg(feature = "datadog")]
mod exporter;
#[cfg(feature = "datadog")]
mod json;
#[cfg(feature = "datadog")]
mod mapping;
#[cfg(feature = "datadog")]
mod msgpack;
#[cfg(feature = "datadog")]
mod payload;
mod settings;

#[cfg(feature = "datadog")]
pub(crate) use exporter::{build, label};
pub use settings::DatadogConfig;
pub(crate) use settings::{resolve, resource_defaults, DatadogSettings};
