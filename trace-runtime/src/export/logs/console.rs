//! Log records on the console: inside the tree of the trace they belong to
//! when the traces are printed too (the [`Shelf`] holds them until their
//! trace's block is printed), on a line of their own otherwise — outside
//! any span, in a trace that is not sampled, or with no trace console.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::logs::AnyValue;
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::logs::SdkLogRecord;

/// Strings longer than this many characters are cut.
const MAX_VALUE_CHARS: usize = 120;
/// Lines held for traces not printed yet; past it a record is printed on
/// its own line at once (never dropped).
const MAX_HELD: usize = 16_384;

/// Lines waiting for their trace's block, by trace.
#[derive(Debug, Default)]
pub(crate) struct Shelf {
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    traces: HashMap<TraceId, Vec<HeldLine>>,
    lines: usize,
}

/// One record waiting for its trace's block.
#[derive(Debug)]
pub(crate) struct HeldLine {
    pub(crate) span_id: SpanId,
    /// The record's body, whole: a `tracing` event's span event of the
    /// same name is not printed twice.
    pub(crate) body: String,
    /// The printed line.
    pub(crate) line: String,
}

impl Shelf {
    /// Holds `line` for `trace_id`'s block; gives it back when full.
    fn hold(&self, trace_id: TraceId, line: HeldLine) -> Result<(), HeldLine> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held.lines >= MAX_HELD {
            return Err(line);
        }
        held.lines += 1;
        held.traces.entry(trace_id).or_default().push(line);
        Ok(())
    }

    /// The lines of one trace, taken out to be printed in its block.
    pub(crate) fn take(&self, trace_id: TraceId) -> Vec<HeldLine> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let lines = held.traces.remove(&trace_id).unwrap_or_default();
        held.lines -= lines.len();
        lines
    }

    /// Every line still held, with its ids, oldest trace first is not known:
    /// in trace order of arrival within each trace.
    fn drain(&self) -> Vec<(TraceId, HeldLine)> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.lines = 0;
        held.traces.drain().flat_map(|(t, lines)| lines.into_iter().map(move |l| (t, l))).collect()
    }
}

/// The console's log processor: writes synchronously (as a logger does),
/// to stderr.
#[derive(Debug)]
pub(crate) struct ConsoleLogs {
    shelf: Option<Arc<Shelf>>,
}

impl ConsoleLogs {
    /// With `shelf`, records of sampled traces wait for their tree.
    pub(crate) fn new(shelf: Option<Arc<Shelf>>) -> Self {
        ConsoleLogs { shelf }
    }

    /// Prints what is still held (traces that never printed).
    pub(crate) fn print_leftovers(&self) {
        let Some(shelf) = &self.shelf else { return };
        let lines: String = shelf
            .drain()
            .into_iter()
            .map(|(trace_id, held)| format!("{} trace_id={trace_id} span_id={}\n", held.line, held.span_id))
            .collect();
        write_stderr(&lines);
    }
}

fn write_stderr(text: &str) {
    if text.is_empty() {
        return;
    }
    let mut err = std::io::stderr().lock();
    // A closed stream must not take the application down.
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

impl ConsoleLogs {
    /// Prints `record`, or holds it for its trace's block.
    pub(crate) fn emit(&self, record: &SdkLogRecord) {
        let line = line(record);
        match record.trace_context() {
            Some(tc) if tc.trace_flags.is_some_and(|f| f.is_sampled()) && self.shelf.is_some() => {
                let body = match record.body() {
                    Some(AnyValue::String(body)) => body.as_str().to_owned(),
                    _ => String::new(),
                };
                let held = HeldLine { span_id: tc.span_id, body, line };
                if let Some(Err(held)) = self.shelf.as_ref().map(|shelf| shelf.hold(tc.trace_id, held)) {
                    write_stderr(&format!("{} trace_id={} span_id={}\n", held.line, tc.trace_id, held.span_id));
                }
            }
            Some(tc) => {
                write_stderr(&format!("{} {line} trace_id={} span_id={}\n", clock(record), tc.trace_id, tc.span_id))
            }
            None => write_stderr(&format!("{} {line}\n", clock(record))),
        }
    }
}

/// `LEVEL target: body key=value ...`, the record without its time and ids.
pub(crate) fn line(record: &SdkLogRecord) -> String {
    let mut line = String::new();
    let _ = write!(line, "{:<5}", record.severity_text().unwrap_or("LOG"));
    if let Some(target) = record.target() {
        let _ = write!(line, " {target}:");
    }
    if let Some(body) = record.body() {
        let _ = write!(line, " {}", text(body, false));
    }
    for (key, value) in record.attributes_iter() {
        if key.as_str().starts_with("code.") {
            continue;
        }
        let _ = write!(line, " {key}={}", text(value, true));
    }
    line
}

/// The record's time of day, UTC, to the millisecond.
fn clock(record: &SdkLogRecord) -> String {
    let at = record.timestamp().or(record.observed_timestamp()).unwrap_or_else(SystemTime::now);
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() % 86_400;
    format!("{:02}:{:02}:{:02}.{:03}", secs / 3600, secs / 60 % 60, secs % 60, since.subsec_millis())
}

fn text(value: &AnyValue, quote: bool) -> String {
    match value {
        AnyValue::String(s) => {
            let s = s.as_str();
            let cut: String = s.chars().take(MAX_VALUE_CHARS).collect();
            let cut = if cut.len() < s.len() { format!("{cut}… ({} chars)", s.chars().count()) } else { cut };
            if quote {
                format!("{cut:?}")
            } else {
                cut
            }
        }
        AnyValue::Int(i) => i.to_string(),
        AnyValue::Double(d) => d.to_string(),
        AnyValue::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}
