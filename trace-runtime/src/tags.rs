//! Global tags: attributes added to every span started after they are set
//! (ddtrace's `tracer.set_tags`).
//!
//! The span path never takes the lock: each thread keeps a snapshot of the tag
//! list and refreshes it only when the generation counter says it changed, so
//! with no tags set the cost is one relaxed atomic load.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use opentelemetry::{Key, KeyValue};

use crate::values::AttributeValue;

/// Bumped on every change; 0 means "never set", the common fast case.
static GENERATION: AtomicU64 = AtomicU64::new(0);
static TAGS: RwLock<Vec<KeyValue>> = RwLock::new(Vec::new());

thread_local! {
    static SNAPSHOT: RefCell<(u64, Arc<[KeyValue]>)> = RefCell::new((0, Arc::from([])));
}

/// Adds `key = value` to every span started from now on, on any thread
/// (ddtrace `tracer.set_tags`). Setting a key again replaces its value;
/// a value that records nothing (`None`) removes the tag.
///
/// Spans already started are not changed. Span-level attributes with the same
/// key win over the global tag.
///
/// ```
/// trace_runtime::set_global_tag("deployment.region", "eu-west-1");
/// trace_runtime::set_global_tag("build.number", 1234);
/// ```
pub fn set_global_tag(key: impl Into<Key>, value: impl AttributeValue) {
    let key = key.into();
    let value = value.to_attribute_value();
    let mut tags = TAGS.write().unwrap_or_else(PoisonError::into_inner);
    tags.retain(|kv| kv.key != key);
    if let Some(value) = value {
        tags.push(KeyValue::new(key, value));
    }
    GENERATION.fetch_add(1, Ordering::Release);
}

/// Removes every global tag set with [`set_global_tag`].
///
/// ```
/// trace_runtime::set_global_tag("team", "payments");
/// trace_runtime::clear_global_tags();
/// assert!(trace_runtime::global_tags().is_empty());
/// ```
pub fn clear_global_tags() {
    TAGS.write().unwrap_or_else(PoisonError::into_inner).clear();
    GENERATION.fetch_add(1, Ordering::Release);
}

/// The global tags currently set, in the order they were first set.
///
/// ```
/// trace_runtime::set_global_tag("team", "search");
/// assert!(trace_runtime::global_tags().iter().any(|kv| kv.key.as_str() == "team"));
/// ```
pub fn global_tags() -> Vec<KeyValue> {
    TAGS.read().unwrap_or_else(PoisonError::into_inner).clone()
}

/// How many attributes [`append_to`] will add: lets the caller size its
/// attribute vector once.
pub(crate) fn count() -> usize {
    if GENERATION.load(Ordering::Relaxed) == 0 {
        return 0;
    }
    with_snapshot(|tags| tags.len())
}

/// Appends the current global tags to `attributes`.
pub(crate) fn append_to(attributes: &mut Vec<KeyValue>) {
    if GENERATION.load(Ordering::Relaxed) == 0 {
        return;
    }
    with_snapshot(|tags| attributes.extend_from_slice(tags));
}

fn with_snapshot<R>(f: impl FnOnce(&[KeyValue]) -> R) -> R {
    let generation = GENERATION.load(Ordering::Acquire);
    let snapshot = SNAPSHOT.try_with(|cell| {
        let mut snapshot = cell.borrow_mut();
        if snapshot.0 != generation {
            let tags = TAGS.read().unwrap_or_else(PoisonError::into_inner);
            *snapshot = (generation, Arc::from(tags.as_slice()));
        }
        // Each thread owns its snapshot allocation, so this count is never contended.
        Arc::clone(&snapshot.1)
    });
    match snapshot {
        Ok(tags) => f(&tags),
        // Thread-local storage is gone while a thread shuts down; read the
        // shared list directly rather than lose the tags.
        Err(_) => f(&TAGS.read().unwrap_or_else(PoisonError::into_inner)),
    }
}
