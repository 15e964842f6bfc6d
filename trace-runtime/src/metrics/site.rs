//! Per-call-site state of `#[traced]`'s RED metrics: a few atomics in the
//! call site's own `static`, so that counting a call is a handful of atomic
//! operations and never a map lookup. The observable instruments
//! (`instruments.rs`) read them at collection time.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock, RwLock};

use opentelemetry::metrics::BoundHistogram;

use super::exemplars::Reservoir;

/// Distinct callers counted apart per call site; calls from any further
/// caller are counted together under `otel.metric.overflow = true`, as the
/// OpenTelemetry specification's cardinality limit does. Bounds the memory
/// a call site can take.
pub(crate) const MAX_CALLERS: usize = 8;

/// The RED metrics state of one traced function, held in its call-site
/// `static` (the macro builds it with [`CallSite::new`] or [`CallSite::off`]).
#[derive(Debug)]
pub struct CallSite {
    pub(crate) function: &'static str,
    pub(crate) module: &'static str,
    /// False for `#[traced(metrics = false)]`.
    pub(crate) enabled: bool,
    registered: AtomicBool,
    pub(crate) in_flight: AtomicI64,
    callers: [OnceLock<Callers>; MAX_CALLERS],
    pub(crate) overflow: Counts,
}

/// Calls from one caller.
#[derive(Debug)]
pub(crate) struct Callers {
    /// The nearest traced caller; `None` at a root.
    pub(crate) caller: Option<&'static CallSite>,
    pub(crate) counts: Counts,
}

/// Finished calls by result, and the duration data point: its histogram
/// bound to its attributes (with the provider generation it belongs to) and
/// its exemplars.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) ok: AtomicU64,
    pub(crate) error: AtomicU64,
    pub(crate) duration: RwLock<Option<(u64, BoundHistogram<f64>)>>,
    pub(crate) exemplars: Reservoir,
}

impl Counts {
    const fn new() -> Self {
        Counts {
            ok: AtomicU64::new(0),
            error: AtomicU64::new(0),
            duration: RwLock::new(None),
            exemplars: Reservoir::new(),
        }
    }

    pub(crate) fn add(&self, failed: bool) {
        if failed { &self.error } else { &self.ok }.fetch_add(1, Relaxed);
    }
}

/// Every call site that ran at least once with metrics on. Call sites are
/// `static`s, so this grows at most to the number of traced functions.
static SITES: Mutex<Vec<&'static CallSite>> = Mutex::new(Vec::new());

impl CallSite {
    /// A traced function counted in the RED metrics.
    pub const fn new(function: &'static str, module: &'static str) -> Self {
        Self::with(function, module, true)
    }

    /// A traced function left out of them (`metrics = false`).
    pub const fn off(function: &'static str, module: &'static str) -> Self {
        Self::with(function, module, false)
    }

    const fn with(function: &'static str, module: &'static str, enabled: bool) -> Self {
        CallSite {
            function,
            module,
            enabled,
            registered: AtomicBool::new(false),
            in_flight: AtomicI64::new(0),
            callers: [const { OnceLock::new() }; MAX_CALLERS],
            overflow: Counts::new(),
        }
    }

    /// Makes this site visible to the instruments, once.
    #[inline]
    pub(crate) fn register(&'static self) {
        if !self.registered.load(Relaxed) && !self.registered.swap(true, Relaxed) {
            // A poisoned list is still a list of `&'static` sites.
            SITES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(self);
        }
    }

    /// The counts of calls from `caller`. Slots fill in order and never
    /// change once set, so a caller is found in at most one of them.
    #[inline]
    pub(crate) fn counts_for(&'static self, caller: Option<&'static CallSite>) -> &'static Counts {
        for slot in &self.callers {
            let entry = slot.get_or_init(|| Callers { caller, counts: Counts::new() });
            if same(entry.caller, caller) {
                return &entry.counts;
            }
        }
        &self.overflow
    }

    /// The callers seen so far.
    pub(crate) fn callers(&self) -> impl Iterator<Item = &Callers> {
        self.callers.iter().map_while(OnceLock::get)
    }
}

fn same(a: Option<&'static CallSite>, b: Option<&'static CallSite>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => std::ptr::eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// A snapshot of the registered sites, for the instruments' callbacks.
pub(crate) fn sites() -> Vec<&'static CallSite> {
    SITES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
}
