//! [`ConsoleExporter`]: finished traces printed as readable trees, one block
//! per trace; `pending` collects a trace until it is ready, `tree` renders it
//! (and the test capture's trees).

mod pending;
pub(crate) mod tree;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::SpanId;
use opentelemetry::{Key, KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use self::pending::{Block, Pending};
use tree::{Paint, Style};

/// Strings longer than this many characters are cut, their length shown.
const MAX_VALUE_CHARS: usize = 120;
/// How often the background thread looks for traces that became ready.
const TICK: Duration = Duration::from_millis(100);

/// A span exporter that prints each trace as one indented block: a header
/// with the trace id, the service, the span count and the duration; the
/// resource and the global tags once; then every span of the trace this
/// process saw as a tree (name, duration, kind, status, attributes, events,
/// links). A span whose parent is a span of this process is printed under
/// it even when that parent is remote (a service calling itself over HTTP
/// prints one tree).
///
/// # When a block is printed
///
/// The exporter only sees spans as they end, so it waits until a trace is
/// **complete and quiet**: every span's parent is in the block, absent (the
/// root) or remote, and no span of the trace arrived for 500 ms — long
/// enough for fire-and-forget tasks and client spans that end after their
/// root to join the tree. A trace with a parent still open is printed after
/// 6 s without news. At most 1024 traces and 65 536 spans are held: past
/// that the oldest are printed early, never dropped. Shutdown (and the
/// exporter's `force_flush`) prints everything pending. Spans arriving
/// after their trace was printed form a block marked `(continued)`.
///
/// # Output
///
/// [`stderr`](Self::stderr) is what [`init`](crate::init) uses when nothing
/// else is configured. The OpenTelemetry specification's default
/// `OTEL_TRACES_EXPORTER` is `otlp`, but with no endpoint configured that
/// sends every span to `localhost:4318`, where in development nothing
/// usually listens; so with nothing configured the traces are printed
/// instead. On standard error, the stream for diagnostics: a program's own
/// output on stdout stays clean, and a service deployed with no
/// configuration never writes trace trees into its stdout (which is often
/// its data, or a log pipeline's input). Setting an OTLP endpoint variable
/// or `OTEL_TRACES_EXPORTER=otlp` gives the specification's behaviour. Colours are used only when
/// the stream is a terminal and `NO_COLOR` is unset or empty. Strings longer
/// than 120 characters are cut, with their length shown. A closed stream is
/// ignored: printing never fails or panics.
///
/// ```
/// let _guard = trace_runtime::init()
///     .exporter(trace_runtime::ConsoleExporter::stderr())
///     .install()
///     .unwrap();
/// ```
pub struct ConsoleExporter {
    inner: Arc<Inner>,
}

struct Inner {
    pending: Mutex<Pending>,
    out: Mutex<Box<dyn Write + Send>>,
    colour: AtomicBool,
    resource: Mutex<Option<Resource>>,
    /// Wakes the background thread; `true` once shut down.
    stop: Mutex<bool>,
    wake: Condvar,
    ticker: Mutex<bool>,
    /// Log records waiting for their trace's block (`install()` shares it
    /// with the console's log processor).
    logs: Mutex<Option<Arc<crate::export::logs::Shelf>>>,
}

impl ConsoleExporter {
    /// Prints to standard error, in colour when it is a terminal (and
    /// `NO_COLOR` is unset or empty). The default of [`init`](crate::init).
    ///
    /// ```
    /// let exporter = trace_runtime::ConsoleExporter::stderr();
    /// # drop(exporter);
    /// ```
    pub fn stderr() -> Self {
        let colour = std::io::stderr().is_terminal() && colour_allowed();
        Self::to_writer(std::io::stderr()).with_colour(colour)
    }

    /// Prints to standard output, in colour when it is a terminal (and
    /// `NO_COLOR` is unset or empty). For programs whose stdout is meant
    /// for a person; [`stderr`](Self::stderr) keeps stdout for the
    /// program's own output.
    ///
    /// ```
    /// let exporter = trace_runtime::ConsoleExporter::stdout();
    /// # drop(exporter);
    /// ```
    pub fn stdout() -> Self {
        let colour = std::io::stdout().is_terminal() && colour_allowed();
        Self::to_writer(std::io::stdout()).with_colour(colour)
    }

    /// Prints to any writer (a file, a buffer in a test), without colours.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::sync::{Arc, Mutex};
    ///
    /// /// A writer the example can read back.
    /// #[derive(Clone, Default)]
    /// struct Buffer(Arc<Mutex<Vec<u8>>>);
    /// impl Write for Buffer {
    ///     fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
    ///         self.0.lock().unwrap().write(bytes)
    ///     }
    ///     fn flush(&mut self) -> std::io::Result<()> {
    ///         Ok(())
    ///     }
    /// }
    ///
    /// #[trace_runtime::traced]
    /// fn checkout() {}
    ///
    /// let printed = Buffer::default();
    /// let guard = trace_runtime::init()
    ///     .exporter(trace_runtime::ConsoleExporter::to_writer(printed.clone()))
    ///     .install()
    ///     .unwrap();
    /// checkout();
    /// drop(guard); // prints what is pending
    /// let text = String::from_utf8(printed.0.lock().unwrap().clone()).unwrap();
    /// assert!(text.contains("checkout") && !text.contains('\x1b'), "{text}");
    /// ```
    pub fn to_writer(out: impl Write + Send + 'static) -> Self {
        ConsoleExporter {
            inner: Arc::new(Inner {
                pending: Mutex::new(Pending::default()),
                out: Mutex::new(Box::new(out)),
                colour: AtomicBool::new(false),
                resource: Mutex::new(None),
                stop: Mutex::new(false),
                wake: Condvar::new(),
                ticker: Mutex::new(false),
                logs: Mutex::new(None),
            }),
        }
    }

    /// Prints the log records held on `shelf` inside their trace's block.
    pub(crate) fn with_log_shelf(self, shelf: Option<Arc<crate::export::logs::Shelf>>) -> Self {
        *self.inner.logs.lock().unwrap_or_else(PoisonError::into_inner) = shelf;
        self
    }

    /// Turns ANSI colours on or off, whatever the stream is.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::sync::{Arc, Mutex};
    ///
    /// #[derive(Clone, Default)]
    /// struct Buffer(Arc<Mutex<Vec<u8>>>);
    /// impl Write for Buffer {
    ///     fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
    ///         self.0.lock().unwrap().write(bytes)
    ///     }
    ///     fn flush(&mut self) -> std::io::Result<()> {
    ///         Ok(())
    ///     }
    /// }
    ///
    /// #[trace_runtime::traced]
    /// fn checkout() {}
    ///
    /// let printed = Buffer::default();
    /// let exporter = trace_runtime::ConsoleExporter::to_writer(printed.clone()).with_colour(true);
    /// let guard = trace_runtime::init().exporter(exporter).install().unwrap();
    /// checkout();
    /// drop(guard);
    /// assert!(printed.0.lock().unwrap().contains(&0x1b)); // ANSI escapes, though not a terminal
    /// ```
    pub fn with_colour(self, on: bool) -> Self {
        self.inner.colour.store(on, Ordering::Relaxed);
        self
    }

    /// Starts the thread that prints traces once they are quiet, on the
    /// first export (an exporter never used starts no thread).
    fn ensure_ticker(&self) {
        let mut started = self.inner.ticker.lock().unwrap_or_else(PoisonError::into_inner);
        if *started {
            return;
        }
        *started = true;
        let weak = Arc::downgrade(&self.inner);
        // If the thread cannot start, blocks are still printed on the next
        // export and at shutdown.
        let _ = std::thread::Builder::new().name("traced-console".to_owned()).spawn(move || tick(&weak));
    }
}

fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The background loop: prints ready traces until shut down or dropped.
fn tick(weak: &Weak<Inner>) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        {
            let stop = inner.stop.lock().unwrap_or_else(PoisonError::into_inner);
            if *stop {
                return;
            }
            let (stop, _) = inner.wake.wait_timeout(stop, TICK).unwrap_or_else(PoisonError::into_inner);
            if *stop {
                return;
            }
        }
        let ready = inner.pending.lock().unwrap_or_else(PoisonError::into_inner).ready(Instant::now());
        inner.print(ready);
    }
}

impl Inner {
    fn print(&self, blocks: Vec<Block>) {
        if blocks.is_empty() {
            return;
        }
        let resource = self.resource.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let tag_keys = crate::tags::known_keys();
        let colour = self.colour.load(Ordering::Relaxed);
        let shelf = self.logs.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let text: String = blocks
            .iter()
            .map(|block| {
                let logs = shelf.as_ref().map(|shelf| shelf.take(block.trace_id)).unwrap_or_default();
                render_block(block, &logs, resource.as_ref(), &tag_keys, colour)
            })
            .collect();
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        // A closed stream must not take the application down: drop the text.
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    }

    fn print_all(&self) {
        let all = self.pending.lock().unwrap_or_else(PoisonError::into_inner).drain();
        self.print(all);
    }
}

/// One trace: header, resource, shared global tags, then the tree.
fn render_block(
    block: &Block,
    logs: &[crate::export::logs::HeldLine],
    resource: Option<&Resource>,
    tag_keys: &[Key],
    colour: bool,
) -> String {
    let paint = Paint::new(colour);
    let spans = &block.spans;
    let start = spans.iter().map(|s| s.start_time).min().unwrap_or(SystemTime::UNIX_EPOCH);
    let end = spans.iter().map(|s| s.end_time).max().unwrap_or(start);
    let mut header = format!(
        "trace {} · {} · {} span{} · {}",
        block.trace_id,
        service_of(spans, resource),
        spans.len(),
        if spans.len() == 1 { "" } else { "s" },
        tree::format_duration(end.duration_since(start).unwrap_or_default()),
    );
    if block.continued {
        header.push_str(" (continued)");
    }
    let mut text = paint.cyan(&header);
    text.push('\n');
    let resource_attrs: Vec<KeyValue> = resource
        .map(|r| {
            r.iter()
                .filter(|(k, _)| k.as_str() != "service.name" && !k.as_str().starts_with("telemetry.sdk."))
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    if !resource_attrs.is_empty() {
        let line = format!("  resource: {}", tree::format_attributes(&resource_attrs, Some(MAX_VALUE_CHARS)));
        text.push_str(&paint.dim(&line));
        text.push('\n');
    }
    let shared = shared_tags(spans, tag_keys);
    if !shared.is_empty() {
        let line = format!("  tags: {}", tree::format_attributes(&shared, Some(MAX_VALUE_CHARS)));
        text.push_str(&paint.dim(&line));
        text.push('\n');
    }
    let style = Style {
        timings: true,
        trace_ids: false,
        names_only: false,
        colour,
        max_value_chars: Some(MAX_VALUE_CHARS),
        hidden: shared.into_iter().map(|kv| kv.key).collect::<HashSet<Key>>(),
    };
    // Records under their span; those of spans not in this block after it.
    let ids: HashSet<SpanId> = spans.iter().map(|s| s.span_context.span_id()).collect();
    let mut by_span: HashMap<SpanId, Vec<String>> = HashMap::new();
    let mut elsewhere = String::new();
    for held in logs {
        if ids.contains(&held.span_id) {
            by_span.entry(held.span_id).or_default().push(held.line.clone());
        } else {
            elsewhere.push_str(&format!("log {} span_id={}\n", held.line, held.span_id));
        }
    }
    // A `tracing` event is a span event and a log record: printed once, as
    // the record (it says more: severity, target).
    let deduped: Vec<SpanData>;
    let shown = if logs.is_empty() {
        spans.as_slice()
    } else {
        deduped = spans
            .iter()
            .map(|span| {
                let mut span = span.clone();
                let id = span.span_context.span_id();
                span.events.events.retain(|event| {
                    let from_tracing = event.attributes.iter().any(|kv| kv.key.as_str() == "level");
                    !(from_tracing && logs.iter().any(|held| held.span_id == id && held.body == event.name))
                });
                span
            })
            .collect();
        deduped.as_slice()
    };
    text.push_str(&tree::render_with_logs(shown, &by_span, &style));
    text.push_str(&elsewhere);
    text.push('\n');
    text
}

/// The root's `service.name` attribute, else the resource's.
fn service_of(spans: &[SpanData], resource: Option<&Resource>) -> String {
    let ids: HashSet<SpanId> = spans.iter().map(|s| s.span_context.span_id()).collect();
    let root = spans.iter().filter(|s| !ids.contains(&s.parent_span_id)).min_by_key(|s| s.start_time);
    let from_root = root.and_then(|r| r.attributes.iter().find(|kv| kv.key.as_str() == "service.name"));
    if let Some(kv) = from_root {
        return kv.value.as_str().into_owned();
    }
    resource
        .and_then(|r| r.get(&Key::from_static_str("service.name")))
        .map_or_else(|| "unknown_service".to_owned(), |v| v.as_str().into_owned())
}

/// Global tags every span of the block carries with one value: shown once.
fn shared_tags(spans: &[SpanData], tag_keys: &[Key]) -> Vec<KeyValue> {
    let value_on = |span: &SpanData, key: &Key| -> Option<Value> {
        span.attributes.iter().rev().find(|kv| kv.key == *key).map(|kv| kv.value.clone())
    };
    let Some(first) = spans.first() else { return Vec::new() };
    tag_keys
        .iter()
        .filter_map(|key| {
            let value = value_on(first, key)?;
            spans.iter().all(|s| value_on(s, key).as_ref() == Some(&value)).then(|| KeyValue::new(key.clone(), value))
        })
        .collect()
}

impl SpanExporter for ConsoleExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let now = Instant::now();
        let (early, ready, waiting) = {
            let mut pending = self.inner.pending.lock().unwrap_or_else(PoisonError::into_inner);
            let early = pending.add(batch, now);
            let ready = pending.ready(now);
            (early, ready, !pending.is_empty())
        };
        self.inner.print(early);
        self.inner.print(ready);
        if waiting {
            self.ensure_ticker();
        }
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.print_all();
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        *self.inner.stop.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.inner.wake.notify_all();
        self.inner.print_all();
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        *self.inner.resource.lock().unwrap_or_else(PoisonError::into_inner) = Some(resource.clone());
    }
}

impl Drop for ConsoleExporter {
    fn drop(&mut self) {
        // Dropped without a shutdown: print what is left rather than lose it.
        *self.inner.stop.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.inner.wake.notify_all();
        self.inner.print_all();
    }
}

impl fmt::Debug for ConsoleExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConsoleExporter")
    }
}
