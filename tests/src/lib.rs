//! placeholder crate root

pub mod agent;
