//! Hostile span exporters: each misbehaves in one way and counts the spans
//! it accepted (returned `Ok` for), the only ones that count as delivered.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// How the exporter misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostility {
    /// Panics in every `export`.
    PanicInExport,
    /// Accepts spans, panics in `shutdown`.
    PanicInShutdown,
    /// Accepts spans, panics when dropped.
    PanicInDrop,
    /// Blocks in every `export`, forever.
    BlockForever,
    /// Returns an error from every `export`.
    ReturnErrors,
    /// Fails every other export, accepts the others.
    Flaky,
}

/// A hostile exporter; clones share the count.
#[derive(Debug, Clone)]
pub struct HostileExporter {
    hostility: Hostility,
    accepted: Arc<AtomicU64>,
    calls: Arc<AtomicU64>,
    /// Only the instance handed to `init()` panics when dropped.
    armed: bool,
}

impl HostileExporter {
    /// An exporter that misbehaves as `hostility` says.
    pub fn new(hostility: Hostility) -> Self {
        HostileExporter { hostility, accepted: Arc::default(), calls: Arc::default(), armed: false }
    }

    /// The instance to install (the one whose drop may panic).
    pub fn to_install(&self) -> Self {
        HostileExporter {
            hostility: self.hostility,
            accepted: Arc::clone(&self.accepted),
            calls: Arc::clone(&self.calls),
            armed: true,
        }
    }

    /// Spans it returned `Ok` for.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl SpanExporter for HostileExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        match self.hostility {
            Hostility::PanicInExport => panic!("hostile exporter: panic in export"),
            Hostility::BlockForever => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
            Hostility::ReturnErrors => {
                return Err(OTelSdkError::InternalFailure("hostile exporter: export refused".to_owned()))
            }
            Hostility::Flaky if call % 2 == 0 => {
                return Err(OTelSdkError::InternalFailure("hostile exporter: flaky".to_owned()))
            }
            Hostility::Flaky | Hostility::PanicInShutdown | Hostility::PanicInDrop => {}
        }
        self.accepted.fetch_add(batch.len() as u64, Ordering::SeqCst);
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        if self.hostility == Hostility::PanicInShutdown {
            panic!("hostile exporter: panic in shutdown");
        }
        Ok(())
    }
}

impl Drop for HostileExporter {
    fn drop(&mut self) {
        if self.armed && self.hostility == Hostility::PanicInDrop {
            panic!("hostile exporter: panic in drop");
        }
    }
}
