//! Where a trace's local root is: the outermost span started in this process
//! for its trace (or the one continuing a remote parent), which
//! `current_root_span()` answers with.
//!
//! A span in a `Context` is only reachable through `SpanRef`, which cannot
//! downcast, so a span cannot be asked where its root is. Instead, every
//! recording local root is written down here while it is open, by its trace
//! id ([`open`] when it starts, [`close`] when it ends): any span of that
//! trace, on any thread, in any context (traced's, a raw `Context::attach`,
//! a `tracing` span's), finds its root by its trace id alone. Child spans
//! pay nothing; a root pays a lock it almost never waits for.
//!
//! The table holds no span: the span belongs to whoever started it, and
//! ends when they end or drop it. What is set through `current_root_span()`
//! on a root that is not current here waits in the table ([`Amendment`]s)
//! and is applied by the root itself when it ends, on whichever thread
//! that is.
//!
//! A trace with several local roots open at once in this process (a service
//! calling itself) answers with the one started last, unless the current
//! span is one of them.

use std::borrow::Cow;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use opentelemetry::trace::{Event, Span, SpanContext, Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};

/// Stored in the context of a span that changes the service, and where the
/// work of another request starts (a remote parent continued), so that
/// descendants inherit the nearest explicit service and nothing older.
#[derive(Debug)]
pub(crate) struct LocalTrace {
    /// The nearest explicit `service`, inherited by descendants (ddtrace precedence).
    pub(crate) service: Option<Cow<'static, str>>,
}

/// Something done to a local root through `current_root_span()` from where
/// it is not current: applied, in order, when the root ends.
#[derive(Debug)]
enum Amendment {
    Attribute(KeyValue),
    Event(Event),
    Status(Status),
    Name(Cow<'static, str>),
    Link(SpanContext, Vec<KeyValue>),
    End(SystemTime),
}

/// The amendments a root collected while open.
#[derive(Debug, Default)]
struct Amendments {
    list: Vec<Amendment>,
    /// Refused past [`MAX_AMENDMENTS`]: counted, not kept.
    dropped: u32,
}

impl Amendments {
    /// Nothing was set from elsewhere.
    fn is_empty(&self) -> bool {
        self.list.is_empty() && self.dropped == 0
    }

    /// Applies them to the root, in the order they were made. Returns the
    /// end time one of them asked for, and how many were refused (past
    /// [`MAX_AMENDMENTS`]), for the span's dropped-attribute count.
    #[cold]
    fn apply_to(self, span: &mut impl Span) -> (Option<SystemTime>, u32) {
        let mut end = None;
        for amendment in self.list {
            match amendment {
                Amendment::Attribute(attribute) => span.set_attribute(attribute),
                Amendment::Event(event) => span.add_event_with_timestamp(event.name, event.timestamp, event.attributes),
                Amendment::Status(status) => span.set_status(status),
                Amendment::Name(name) => span.update_name(name),
                Amendment::Link(context, attributes) => span.add_link(context, attributes),
                Amendment::End(at) => end = end.or(Some(at)),
            }
        }
        (end, self.dropped)
    }
}

/// An open local root.
#[derive(Debug)]
struct Entry {
    context: SpanContext,
    amendments: Amendments,
}

/// Shards by trace id (random bits): roots of different requests rarely
/// share a lock.
const SHARDS: usize = 16;
/// Open roots kept per shard. Past it a root is not written down (its
/// descendants elsewhere answer with themselves): memory stays bounded
/// whatever spans the application leaks.
const MAX_PER_SHARD: usize = 4096;
/// Amendments kept per root; past it they are counted as dropped.
const MAX_AMENDMENTS: usize = 1024;

/// What the table knows of a span's local root.
enum Found {
    /// The span is an open local root itself.
    Itself,
    /// The trace's open local root, another span.
    Other(SpanContext),
    /// No local root of this trace is open here.
    Nothing,
}

/// The open local roots, by trace id.
struct Table {
    shards: [Mutex<Vec<Entry>>; SHARDS],
}

static OPEN: Table = Table { shards: [const { Mutex::new(Vec::new()) }; SHARDS] };

impl Table {
    fn with_shard<T>(&self, context: &SpanContext, f: impl FnOnce(&mut Vec<Entry>) -> T) -> T {
        let bits = u128::from_be_bytes(context.trace_id().to_bytes());
        let shard = &self.shards[(bits as usize) % SHARDS];
        // A panic elsewhere never holds this lock: poisoning carries no meaning.
        f(&mut shard.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn open(&self, context: &SpanContext) -> bool {
        self.with_shard(context, |open| {
            if open.len() >= MAX_PER_SHARD {
                return false;
            }
            open.push(Entry { context: context.clone(), amendments: Amendments::default() });
            true
        })
    }

    fn close(&self, context: &SpanContext) -> Amendments {
        self.with_shard(context, |open| {
            // Usually the root started last in its shard: popped, with no
            // search and nothing shifted.
            if open.last().is_some_and(|entry| is(entry, context)) {
                return open.pop().map(|entry| entry.amendments).unwrap_or_default();
            }
            position(open, context).map(|at| open.remove(at).amendments).unwrap_or_default()
        })
    }

    fn is_open(&self, context: &SpanContext) -> bool {
        self.with_shard(context, |open| position(open, context).is_some())
    }

    /// Adds `amendment` to the open root `context`; nothing once it has
    /// ended, as for any ended span.
    fn amend(&self, context: &SpanContext, amendment: Amendment) {
        self.with_shard(context, |open| {
            let Some(at) = position(open, context) else { return };
            let amendments = &mut open[at].amendments;
            if amendments.list.len() < MAX_AMENDMENTS {
                amendments.list.push(amendment);
            } else {
                amendments.dropped = amendments.dropped.saturating_add(1);
            }
        });
    }

    /// Where the span `context` stands among the open roots of its trace:
    /// one of them, or under the one started last.
    fn find(&self, context: &SpanContext) -> Found {
        self.with_shard(context, |open| {
            if position(open, context).is_some() {
                return Found::Itself;
            }
            match open.iter().rev().find(|entry| entry.context.trace_id() == context.trace_id()) {
                Some(last) => Found::Other(last.context.clone()),
                None => Found::Nothing,
            }
        })
    }
}

/// The entry of the root `context`, searched from the most recent.
fn position(open: &[Entry], context: &SpanContext) -> Option<usize> {
    open.iter().rposition(|entry| is(entry, context))
}

/// `entry` is the root `context`.
fn is(entry: &Entry, context: &SpanContext) -> bool {
    entry.context.span_id() == context.span_id() && entry.context.trace_id() == context.trace_id()
}

/// Writes down a recording local root that has just started. Returns whether
/// it was (the table is bounded); only then does it [`close`] when it ends.
pub(crate) fn open(context: &SpanContext) -> bool {
    OPEN.open(context)
}

/// The root `span` has ended (or is being dropped): forgets it, and applies
/// to it, in order, what was done to it from elsewhere while it was open.
/// Returns the end time one of those asked for, and how many were refused
/// past [`MAX_AMENDMENTS`] (for the span's dropped-attribute count).
pub(crate) fn close(span: &mut impl Span) -> (Option<SystemTime>, u32) {
    let amendments = OPEN.close(span.span_context());
    if amendments.is_empty() {
        // By far the most common case.
        return (None, 0);
    }
    amendments.apply_to(span)
}

/// The context of the local root of the span current in `cx`: `cx` itself
/// when that span is the root, or has no open root here (no span, a remote
/// parent, a span whose root already ended); else `cx` with a stand-in for
/// the root, through which what is set reaches the root when it ends.
pub(crate) fn root_of(cx: &Context) -> Context {
    let span = cx.span();
    let context = span.span_context();
    if !context.is_valid() || context.is_remote() {
        return cx.clone();
    }
    match OPEN.find(context) {
        Found::Itself | Found::Nothing => cx.clone(),
        Found::Other(root) => cx.with_span(RootStandIn { context: root }),
    }
}

/// The local root as `current_root_span()` hands it out where the root is
/// not the current span: its ids, and everything done to it kept in the
/// table until the root ends.
#[derive(Debug)]
struct RootStandIn {
    context: SpanContext,
}

impl Span for RootStandIn {
    fn add_event_with_timestamp<T>(&mut self, name: T, timestamp: SystemTime, attributes: Vec<KeyValue>)
    where
        T: Into<Cow<'static, str>>,
    {
        OPEN.amend(&self.context, Amendment::Event(Event::new(name, timestamp, attributes, 0)));
    }

    fn span_context(&self) -> &SpanContext {
        &self.context
    }

    fn is_recording(&self) -> bool {
        OPEN.is_open(&self.context)
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        OPEN.amend(&self.context, Amendment::Attribute(attribute));
    }

    fn set_status(&mut self, status: Status) {
        OPEN.amend(&self.context, Amendment::Status(status));
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        OPEN.amend(&self.context, Amendment::Name(new_name.into()));
    }

    fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        OPEN.amend(&self.context, Amendment::Link(span_context, attributes));
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        OPEN.amend(&self.context, Amendment::End(timestamp));
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};

    use super::*;

    fn context(trace: u128, span: u64) -> SpanContext {
        SpanContext::new(TraceId::from(trace), SpanId::from(span), TraceFlags::SAMPLED, false, TraceState::default())
    }

    fn span_id(cx: &Context) -> SpanId {
        cx.span().span_context().span_id()
    }

    #[test]
    fn any_span_of_the_trace_finds_its_open_root_on_any_thread() {
        let root = context(0xa1, 1);
        assert!(open(&root));
        let child = Context::new().with_remote_span_context(context(0xa1, 2));
        // `with_remote_span_context` keeps the flag it is given: local here.
        assert!(!child.span().span_context().is_remote());
        let found = std::thread::spawn(move || span_id(&root_of(&child))).join().unwrap_or(SpanId::INVALID);
        assert_eq!(found, SpanId::from(1_u64));
        // The root itself answers with its own context.
        let itself = Context::new().with_remote_span_context(root.clone());
        assert_eq!(span_id(&root_of(&itself)), SpanId::from(1_u64));
        OPEN.close(&root);
        // Ended: a span of the trace stands in for it.
        let child = Context::new().with_remote_span_context(context(0xa1, 2));
        assert_eq!(span_id(&root_of(&child)), SpanId::from(2_u64));
    }

    #[test]
    fn what_is_set_through_the_stand_in_reaches_the_root_when_it_ends() {
        let root = context(0xb2, 1);
        assert!(open(&root));
        let child = Context::new().with_remote_span_context(context(0xb2, 2));
        let stand_in = root_of(&child);
        let span = stand_in.span();
        assert!(span.is_recording());
        span.set_attribute(KeyValue::new("user.id", "u-1"));
        span.add_event("checked", vec![]);
        span.set_status(Status::error("declined"));
        span.update_name("renamed");
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        span.end_with_timestamp(at);
        let amendments = OPEN.close(&root);
        assert_eq!(amendments.list.len(), 5);
        // Applied in order; the end time is handed back for the root's own end.
        let mut noop = opentelemetry::trace::noop::NoopSpan::DEFAULT;
        let (end, refused) = amendments.apply_to(&mut noop);
        assert_eq!((end, refused), (Some(at), 0));
        // Ended: the stand-in records nothing more, and says so.
        assert!(!span.is_recording());
        span.set_attribute(KeyValue::new("late", true));
        assert!(OPEN.close(&root).list.is_empty());
    }

    #[test]
    fn several_open_roots_of_one_trace_answer_with_the_last_unless_current() {
        let (first, second) = (context(0xc3, 1), context(0xc3, 2));
        assert!(open(&first));
        assert!(open(&second));
        let child = Context::new().with_remote_span_context(context(0xc3, 3));
        assert_eq!(span_id(&root_of(&child)), SpanId::from(2_u64));
        let first_cx = Context::new().with_remote_span_context(first.clone());
        assert_eq!(span_id(&root_of(&first_cx)), SpanId::from(1_u64));
        OPEN.close(&second);
        assert_eq!(span_id(&root_of(&child)), SpanId::from(1_u64));
        OPEN.close(&first);
    }

    #[test]
    fn the_table_is_bounded_whatever_roots_are_leaked() {
        // A table of its own: filling the process's would starve other tests.
        let table = Table { shards: [const { Mutex::new(Vec::new()) }; SHARDS] };
        // Trace ids that all fall in one shard.
        let in_one_shard = |n: usize| context((n * SHARDS) as u128 + 1, n as u64 + 1);
        assert!((0..MAX_PER_SHARD).all(|n| table.open(&in_one_shard(n))));
        assert!(!table.open(&in_one_shard(MAX_PER_SHARD)), "a full shard refuses");
        // Other shards still take roots; closing one makes room again.
        assert!(table.open(&context(2, 1)));
        assert!(table.close(&in_one_shard(7)).is_empty());
        assert!(table.open(&in_one_shard(MAX_PER_SHARD)));
    }

    #[test]
    fn amendments_past_the_bound_are_counted_not_kept() {
        let root = context(0xd4, 1);
        assert!(open(&root));
        let child = Context::new().with_remote_span_context(context(0xd4, 2));
        let stand_in = root_of(&child);
        for i in 0..(MAX_AMENDMENTS + 5) {
            stand_in.span().set_attribute(KeyValue::new("n", i as i64));
        }
        let amendments = OPEN.close(&root);
        assert_eq!((amendments.list.len(), amendments.dropped), (MAX_AMENDMENTS, 5));
    }
}
