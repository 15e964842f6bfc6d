//! Support code for the integration tests of `traced`: a real OTLP receiver
//! ([`agent`]), an in-memory exporter ([`memory`]) for tests that install
//! the runtime with `init()`, hostile collectors and exporters
//! ([`faults`]) for the fault-injection suite, and the Python peers
//! ([`python`]: ddtrace, OpenTelemetry Python) and OpenTelemetry agent
//! ([`rotel`]) of the cross-language tests.

pub mod agent;
pub mod faults;
pub mod loopback;
pub mod memory;
pub mod python;
pub mod rotel;
