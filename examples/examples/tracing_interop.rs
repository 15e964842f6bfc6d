//! A dependency that only knows `tracing` (`#[instrument]`, `info_span!`,
//! `info!`), called from `#[traced]` code: its spans and events land in the
//! same trace, nested both ways, with no tracing-opentelemetry and no
//! subscriber code — with the `tracing` feature on, `init()` installs
//! `trace_runtime::tracing_layer()` as the `tracing` subscriber.
//!
//! Run: `cargo run -p traced-examples --example tracing_interop --features tracing`

use trace_runtime::traced;

/// Stands for a crate from crates.io (a database driver, an HTTP client):
/// it uses `tracing` and knows nothing of `traced`.
mod inventory_client {
    use tracing::{info, info_span, instrument, warn};

    /// An `#[instrument]`ed function: a span with its arguments as fields.
    #[instrument(skip(on_hit))]
    pub(crate) fn reserve(sku: &str, quantity: u32, on_hit: impl Fn(u32) -> u32) -> u32 {
        let lookup = info_span!("cache.lookup", cache.key = sku, cache.hit = tracing::field::Empty);
        let stock = lookup.in_scope(|| {
            info!(shard = 3, "reading the stock");
            lookup.record("cache.hit", true);
            // The application's code, called back from inside the
            // dependency's span: a `#[traced]` function nests under it.
            on_hit(quantity)
        });
        if stock < 10 {
            warn!(stock, "low stock");
        }
        stock
    }
}

#[traced(attrs(order.id = order_id))]
fn place_order(order_id: u64) -> u32 {
    // An event from `tracing`, directly inside a `#[traced]` function:
    // recorded on this function's span.
    tracing::info!(items = 1, "placing the order");
    inventory_client::reserve("sku-42", 2, count_stock)
}

#[traced(attrs(requested = quantity))]
fn count_stock(quantity: u32) -> u32 {
    9 - quantity
}

fn main() -> Result<(), trace_runtime::Error> {
    let guard = trace_runtime::init().service_name("tracing-interop").install()?;
    let left = place_order(1001);
    // Flushes and prints the trace: place_order → reserve → cache.lookup →
    // count_stock, with the `tracing` events on their spans.
    drop(guard);
    println!("stock left: {left}");
    Ok(())
}
