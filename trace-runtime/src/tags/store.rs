//! Where the global tags are kept, and how spans get them: at the bottom of
//! the runtime's layers (the engine reads snapshots of them), importing
//! nothing above it.
//!
//! The span path never takes the lock: each thread keeps a snapshot of the tag
//! list and refreshes it only when the generation counter says it changed, so
//! with no tags set the cost is one relaxed atomic load, and with tags set a
//! thread-local borrow and a copy of each tag (strings are interned, so the
//! copy neither allocates nor touches a shared reference count).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use opentelemetry::{Key, KeyValue, StringValue, Value};

/// Bumped on every change: tells each thread its snapshot is stale.
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// How many tags are set; 0, the common case, is all the span path reads.
static COUNT: AtomicUsize = AtomicUsize::new(0);
static TAGS: RwLock<Vec<(KeyValue, Tag)>> = RwLock::new(Vec::new());

thread_local! {
    static SNAPSHOT: RefCell<(u64, Arc<[Tag]>)> = RefCell::new((0, Arc::from([])));
}

/// A tag in the form the span path copies fastest: static strings and plain
/// numbers are rebuilt into a `KeyValue` with a few stores, where cloning a
/// `KeyValue` walks two nested enums.
#[derive(Debug, Clone)]
enum Tag {
    Str(&'static str, &'static str),
    I64(&'static str, i64),
    F64(&'static str, f64),
    Bool(&'static str, bool),
    Other(KeyValue),
}

impl Tag {
    #[inline]
    fn to_key_value(&self) -> KeyValue {
        match self {
            Tag::Str(k, v) => KeyValue::new(Key::from_static_str(k), Value::String(StringValue::from(*v))),
            Tag::I64(k, v) => KeyValue::new(Key::from_static_str(k), Value::I64(*v)),
            Tag::F64(k, v) => KeyValue::new(Key::from_static_str(k), Value::F64(*v)),
            Tag::Bool(k, v) => KeyValue::new(Key::from_static_str(k), Value::Bool(*v)),
            Tag::Other(kv) => kv.clone(),
        }
    }
}

/// Sets (or, with `None`, removes) a process-wide tag.
pub(super) fn set_process_wide(key: Key, value: Option<Value>) {
    remember_key(&key);
    let tag = value.map(|value| cheap(KeyValue::new(key.clone(), value)));
    let mut tags = TAGS.write().unwrap_or_else(PoisonError::into_inner);
    let before = tags.len();
    tags.retain(|(kv, _)| kv.key != key);
    if let Some(tag) = tag {
        tags.push(tag);
    }
    adjust_count(before, tags.len());
    GENERATION.fetch_add(1, Ordering::Release);
}

/// Removes every process-wide tag.
pub(super) fn clear_process_wide() {
    let mut tags = TAGS.write().unwrap_or_else(PoisonError::into_inner);
    adjust_count(tags.len(), 0);
    tags.clear();
    GENERATION.fetch_add(1, Ordering::Release);
}

/// The process-wide tags, in the order they were first set.
pub(super) fn process_wide() -> Vec<KeyValue> {
    TAGS.read().unwrap_or_else(PoisonError::into_inner).iter().map(|(kv, _)| kv.clone()).collect()
}

/// `COUNT` holds the process-wide tags plus one per capture that set tags of
/// its own, so that the span path's fast check stays one load.
fn adjust_count(before: usize, after: usize) {
    if after > before {
        COUNT.fetch_add(after - before, Ordering::Relaxed);
    } else {
        COUNT.fetch_sub(before - after, Ordering::Relaxed);
    }
}

/// Keys ever set process-wide, at most this many remembered.
const MAX_KEYS: usize = 256;
static KEYS: Mutex<Vec<Key>> = Mutex::new(Vec::new());

fn remember_key(key: &Key) {
    let mut keys = KEYS.lock().unwrap_or_else(PoisonError::into_inner);
    if keys.len() < MAX_KEYS && !keys.contains(key) {
        keys.push(key.clone());
    }
}

/// Keys that were set as global tags at some point: the console shows their
/// values once per trace rather than on every span.
pub(crate) fn known_keys() -> Vec<Key> {
    KEYS.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Tags set inside one test capture: they apply to its spans only, over the
/// process-wide ones.
#[derive(Debug, Default)]
pub(crate) struct ScopedTags {
    state: Mutex<Scoped>,
    /// Counted in `COUNT` (from its first tag until [`ScopedTags::release`]).
    counted: AtomicBool,
}

#[derive(Debug, Default)]
struct Scoped {
    /// `clear_global_tags` was called: process-wide tags are hidden.
    cleared: bool,
    /// Overrides in the order set; `None` hides a process-wide tag.
    set: Vec<(Key, Option<Value>)>,
}

/// Tags one capture may set, at most (tags are meant to be a handful).
const MAX_SCOPED: usize = 1024;

impl ScopedTags {
    pub(super) fn set(&self, key: Key, value: Option<Value>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.set.retain(|(k, _)| *k != key);
        if state.set.len() < MAX_SCOPED {
            state.set.push((key, value));
        }
        drop(state);
        self.count();
    }

    pub(super) fn clear(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.cleared = true;
        state.set.clear();
        drop(state);
        self.count();
    }

    fn count(&self) {
        if !self.counted.swap(true, Ordering::AcqRel) {
            COUNT.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The capture ended: its tags no longer make the span path look.
    pub(crate) fn release(&self) {
        if self.counted.swap(false, Ordering::AcqRel) {
            COUNT.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// `process` with this scope's changes applied.
    pub(super) fn effective(&self, mut process: Vec<KeyValue>) -> Vec<KeyValue> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.cleared {
            process.clear();
        }
        process.retain(|kv| !state.set.iter().any(|(k, _)| *k == kv.key));
        process.extend(state.set.iter().filter_map(|(k, v)| Some(KeyValue::new(k.clone(), v.clone()?))));
        process
    }
}

thread_local! {
    /// The tag scope of the capture a span is being built for, if any.
    static BUILDING: RefCell<Option<std::sync::Arc<ScopedTags>>> = const { RefCell::new(None) };
}

/// Runs `f` (which builds a span for a test capture) so that [`count`] and
/// [`append_to`] use the capture's tags.
pub(crate) fn building_in<R>(scope: &std::sync::Arc<ScopedTags>, f: impl FnOnce() -> R) -> R {
    let previous = BUILDING.try_with(|b| b.replace(Some(std::sync::Arc::clone(scope)))).ok().flatten();
    struct Restore(Option<std::sync::Arc<ScopedTags>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            let _ = BUILDING.try_with(|b| b.replace(previous));
        }
    }
    let _restore = Restore(previous);
    f()
}

fn building() -> Option<std::sync::Arc<ScopedTags>> {
    BUILDING.try_with(|b| b.borrow().clone()).ok().flatten()
}

/// How many attributes [`append_to`] will add: lets the caller size its
/// attribute vector once.
#[inline]
pub(crate) fn count() -> usize {
    if COUNT.load(Ordering::Relaxed) == 0 {
        return 0;
    }
    let scoped = building().map_or(0, |scope| scope.state.lock().unwrap_or_else(PoisonError::into_inner).set.len());
    with_snapshot(<[Tag]>::len) + scoped
}

/// Appends the current global tags to `attributes`.
#[inline]
pub(crate) fn append_to(attributes: &mut Vec<KeyValue>) {
    if COUNT.load(Ordering::Relaxed) == 0 {
        return;
    }
    match building() {
        Some(scope) => {
            let process = with_snapshot(|tags| tags.iter().map(Tag::to_key_value).collect());
            attributes.extend(scope.effective(process));
        }
        None => with_snapshot(|tags| attributes.extend(tags.iter().map(Tag::to_key_value))),
    }
}

/// The process-wide global tags in force when a span started, kept by the
/// span engine until the span is exported: one reference count, no copy.
#[derive(Debug, Clone)]
pub(crate) struct TagSnapshot(Arc<[Tag]>);

impl TagSnapshot {
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Appends the tags to `attributes`.
    pub(crate) fn append_to(&self, attributes: &mut Vec<KeyValue>) {
        attributes.extend(self.0.iter().map(Tag::to_key_value));
    }
}

/// The process-wide tags in force now, or `None` when there are none (one
/// relaxed load then).
#[inline]
pub(crate) fn snapshot() -> Option<TagSnapshot> {
    if COUNT.load(Ordering::Relaxed) == 0 {
        return None;
    }
    let generation = GENERATION.load(Ordering::Acquire);
    let tags = SNAPSHOT
        .try_with(|cell| {
            let mut snapshot = cell.borrow_mut();
            if snapshot.0 != generation {
                let tags = TAGS.read().unwrap_or_else(PoisonError::into_inner);
                *snapshot = (generation, tags.iter().map(|(_, tag)| tag.clone()).collect());
            }
            Arc::clone(&snapshot.1)
        })
        .unwrap_or_else(|_| {
            TAGS.read().unwrap_or_else(PoisonError::into_inner).iter().map(|(_, t)| t.clone()).collect()
        });
    (!tags.is_empty()).then_some(TagSnapshot(tags))
}

/// Removes the global tags (`attributes[own..]`) whose key the span has
/// itself in `attributes[..own]`: a key appears once, and the span's own
/// value wins. In place, no allocation; only runs when tags are set.
///
/// Keys recorded once the span is recording (`attrs(..)`, `set_attribute`)
/// are appended after the tags; the export pipelines and the test capture
/// keep the latest value of a key (`export/split.rs`). A tag is not removed
/// here for a key the function merely *may* record: a value of `None`
/// records nothing, and the tag must then stay.
pub(crate) fn drop_shadowed(attributes: &mut Vec<KeyValue>, own: usize) {
    let mut i = own;
    while i < attributes.len() {
        let key = &attributes[i].key;
        if attributes[..own].iter().any(|kv| kv.key == *key) {
            attributes.remove(i);
        } else {
            i += 1;
        }
    }
}

fn with_snapshot<R>(mut f: impl FnMut(&[Tag]) -> R) -> R {
    let generation = GENERATION.load(Ordering::Acquire);
    let local = SNAPSHOT.try_with(|cell| {
        let mut snapshot = cell.borrow_mut();
        if snapshot.0 != generation {
            let tags = TAGS.read().unwrap_or_else(PoisonError::into_inner);
            *snapshot = (generation, tags.iter().map(|(_, tag)| tag.clone()).collect());
        }
        // Borrowed in place, not cloned: no reference count to touch per span.
        f(&snapshot.1)
    });
    match local {
        Ok(out) => out,
        // Thread-local storage is gone while a thread shuts down; read the
        // shared list directly rather than lose the tags.
        Err(_) => {
            let tags: Vec<Tag> =
                TAGS.read().unwrap_or_else(PoisonError::into_inner).iter().map(|(_, t)| t.clone()).collect();
            f(&tags)
        }
    }
}

/// Makes a tag cheap to copy onto every span: a string key or value becomes
/// a `&'static str` (interned, so setting the same tag again does not leak
/// again), whose clone is a plain copy, where an owned string would be a heap
/// allocation per span and a shared `Arc<str>` a contended reference count.
/// Past a budget (tags are meant to be a handful, set at startup) strings
/// stay reference-counted instead.
fn cheap(kv: KeyValue) -> (KeyValue, Tag) {
    let key = intern(kv.key.as_str());
    let tag = match (key, &kv.value) {
        (Some(k), Value::String(v)) => intern(v.as_str()).map(|v| Tag::Str(k, v)),
        (Some(k), Value::I64(v)) => Some(Tag::I64(k, *v)),
        (Some(k), Value::F64(v)) => Some(Tag::F64(k, *v)),
        (Some(k), Value::Bool(v)) => Some(Tag::Bool(k, *v)),
        _ => None,
    };
    if let Some(tag) = tag {
        return (tag.to_key_value(), tag);
    }
    // Over the budget, or an array: reference-counted strings, cloned per span.
    let key = key.map_or(kv.key, Key::from_static_str);
    let value = match kv.value {
        Value::String(s) => Value::String(StringValue::from(Arc::<str>::from(s.as_str()))),
        other => other,
    };
    let kv = KeyValue::new(key, value);
    (kv.clone(), Tag::Other(kv))
}

/// Bytes of tag strings interned for the life of the process, at most.
const INTERN_BUDGET: usize = 64 * 1024;

fn intern(s: &str) -> Option<&'static str> {
    static INTERNED: Mutex<(usize, BTreeSet<&'static str>)> = Mutex::new((0, BTreeSet::new()));
    let mut interned = INTERNED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = interned.1.get(s) {
        return Some(found);
    }
    if interned.0 + s.len() > INTERN_BUDGET {
        return None;
    }
    let leaked: &'static str = Box::leak(Box::from(s));
    interned.0 += leaked.len();
    interned.1.insert(leaked);
    Some(leaked)
}
