//! Fault injection for the export side: hostile collectors on loopback
//! ([`http`], [`grpc`]), hostile exporters ([`hostile`]), and the case
//! driver that measures each case ([`case`]). The collectors are the faulty
//! component on purpose: no real collector misbehaves on demand.

pub mod case;
pub mod grpc;
pub mod hostile;
pub mod http;
