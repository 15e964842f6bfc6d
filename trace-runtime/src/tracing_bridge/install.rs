//! What `init().install()` does for `tracing` when the feature is on.

use tracing_core::dispatcher::{self, Dispatch};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;

use super::TracingLayer;

/// The level the subscriber [`install_default`] sets records up to:
/// `tracing_subscriber::fmt`'s default, and what `#[instrument]` and
/// `info_span!` use. Dependencies' `debug`/`trace` spans (h2's per-frame
/// spans, say) would cost a span each.
const DEFAULT_LEVEL: LevelFilter = LevelFilter::INFO;

/// Makes `registry() + tracing_layer()` (up to `INFO`) the global `tracing`
/// subscriber when the process has none yet. A subscriber the application
/// set first is left alone; losing a race to one set meanwhile is fine.
pub(crate) fn install_default() {
    let subscriber = tracing_subscriber::registry().with(TracingLayer::default()).with(DEFAULT_LEVEL);
    let _ = dispatcher::set_global_default(Dispatch::new(subscriber));
}
