//! Configuration: what the code ([`Builder`]) and the `OTEL_*` environment
//! (`env`) ask for, resolved into one [`Config`] (`settings`, with `sampler`,
//! `limits`, `tls`, and the `metrics` and `logs` sections), or an [`Error`]
//! that names the setting and its fix. `builder` also holds `install()`, which
//! hands the resolved configuration to `export`.

pub(crate) mod builder;
pub(crate) mod env;
pub(crate) mod error;
/// Shared with the test capture, which applies the installed limits.
pub(crate) mod limits;
pub(crate) mod logs;
pub(crate) mod metrics;
pub(crate) mod sampler;
pub(crate) mod settings;
pub(crate) mod tls;

pub use builder::{init, Builder};
pub use error::Error;
#[allow(deprecated)] // the old name stays public until the next major version
pub use settings::BatchConfig;
pub use settings::{
    Compression, Config, ExportQueueConfig, LogsConfig, MetricsConfig, OtlpConfig, Protocol, SpanLimits, TlsConfig,
};
