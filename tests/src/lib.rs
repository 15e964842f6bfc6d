//! Support code for the integration tests of `traced`: a real OTLP receiver
//! ([`agent`]) and an in-memory exporter ([`memory`]) for tests that install
//! the runtime with `init()`.

pub mod agent;
pub mod memory;
