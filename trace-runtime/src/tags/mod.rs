//! Global tags: attributes added to every span started after they are set
//! (ddtrace's `tracer.set_tags`).
//!
//! The public functions live here, on top: inside a test capture they act
//! on the capture's own tags, which `dispatch` finds. Where the tags are
//! kept and how spans copy them, cheaply, is [`store`], at the bottom.

pub(crate) mod store;

use opentelemetry::{Key, KeyValue};

use crate::values::AttributeValue;
pub(crate) use store::{append_to, building_in, count, drop_shadowed, known_keys, snapshot, ScopedTags};

/// Adds `key = value` to every span started from now on, on any thread
/// (ddtrace `tracer.set_tags`). Setting a key again replaces its value;
/// a value that records nothing (`None`) removes the tag.
///
/// Spans already started are not changed. Span-level attributes with the same
/// key win over the global tag.
///
/// Inside a test capture (`testing::capture`,
/// feature `testing`) the tag applies to that capture's spans only, so tests
/// that set tags keep running in parallel without seeing each other's.
///
/// ```
/// trace_runtime::set_global_tag("deployment.region", "eu-west-1");
/// trace_runtime::set_global_tag("build.number", 1234);
/// ```
pub fn set_global_tag(key: impl Into<Key>, value: impl AttributeValue) {
    let key = key.into();
    let value = value.to_attribute_value();
    if let Some(scope) = crate::dispatch::current_tag_scope() {
        scope.set(key, value);
        return;
    }
    store::set_process_wide(key, value);
}

/// Removes every global tag set with [`set_global_tag`]. Inside a test
/// capture, the capture's spans get no global tags from then on, and other
/// code is not affected.
///
/// ```
/// trace_runtime::set_global_tag("team", "payments");
/// trace_runtime::clear_global_tags();
/// assert!(trace_runtime::global_tags().is_empty());
/// ```
pub fn clear_global_tags() {
    if let Some(scope) = crate::dispatch::current_tag_scope() {
        scope.clear();
        return;
    }
    store::clear_process_wide();
}

/// The global tags currently set, in the order they were first set (inside a
/// test capture: the ones its spans get).
///
/// ```
/// trace_runtime::set_global_tag("team", "search");
/// assert!(trace_runtime::global_tags().iter().any(|kv| kv.key.as_str() == "team"));
/// ```
pub fn global_tags() -> Vec<KeyValue> {
    match crate::dispatch::current_tag_scope() {
        Some(scope) => scope.effective(store::process_wide()),
        None => store::process_wide(),
    }
}
