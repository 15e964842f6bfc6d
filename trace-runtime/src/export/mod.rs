//! Export: how finished spans, metrics and logs leave the process. Each exporter
//! has its own bounded queue and thread (`worker`), batches cut to size (`split`),
//! losses counted (`tally`) and explained (`report`); exporters: OTLP over HTTP or
//! gRPC, Datadog's agent, the console tree; `guard` flushes and shuts down.

pub(crate) mod console;
pub(crate) mod datadog;
#[cfg(feature = "grpc")]
pub(crate) mod grpc;
#[cfg(feature = "grpc")]
pub(crate) mod grpc_metrics;
pub(crate) mod guard;
pub(crate) mod logs;
pub(crate) mod metrics;
#[cfg(feature = "otlp")]
pub(crate) mod operation_name;
#[cfg(feature = "otlp")]
pub(crate) mod otlp;
#[cfg(feature = "otlp")]
pub(crate) mod otlp_metrics;
pub(crate) mod report;
/// Shared with the test capture, which keeps each attribute key once too.
pub(crate) mod split;
pub(crate) mod tally;
pub(crate) mod wait;
pub(crate) mod worker;

pub use console::ConsoleExporter;
pub use datadog::DatadogConfig;
pub use guard::Guard;
pub use tally::{lost_spans, pending_spans};
