//! Support code for the integration tests of `traced`: a real OTLP receiver
//! ([`agent`]), an in-memory exporter ([`memory`]) for tests that install
//! the runtime with `init()`, and hostile collectors and exporters
//! ([`faults`]) for the fault-injection suite.

pub mod agent;
pub mod faults;
pub mod memory;
