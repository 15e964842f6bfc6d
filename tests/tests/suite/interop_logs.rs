//! Log correlation (seed 003, "Extracting Trace and Span IDs"):
//! `trace_runtime::log_ids()` gives the current span's ids as hex, and the
//! README's recipe stamps them on every `tracing-subscriber` fmt line.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex};

use trace_runtime::testing::capture;
use trace_runtime::{current_span, log_ids, traced};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

#[traced]
fn handle() -> (String, String, String) {
    let span = current_span();
    (log_ids().to_string(), span.trace_id(), span.span_id())
}

#[test]
fn log_ids_are_the_current_spans_ids_in_hex() {
    let c = capture(handle);
    let (line, trace_id, span_id) = c.result();
    assert_eq!(trace_id.len(), 32);
    assert_eq!(span_id.len(), 16);
    assert_eq!(*line, format!("trace_id={trace_id} span_id={span_id}"));
    let span = c.span("handle");
    assert_eq!(*trace_id, span.span_context.trace_id().to_string());
    assert_eq!(*span_id, span.span_context.span_id().to_string());
}

#[test]
fn no_span_no_ids() {
    let ids = log_ids();
    assert!(!ids.is_valid());
    assert_eq!(ids.to_string(), "");
    assert_eq!((ids.trace_id(), ids.span_id()), (None, None));
}

// ---- The README recipe for tracing-subscriber's fmt layer, verbatim.

/// Prefixes every formatted event with `trace_id=… span_id=…` when a span
/// is current.
struct WithTraceIds<F>(F);

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let ids = trace_runtime::log_ids();
        if ids.is_valid() {
            write!(writer, "{ids} ")?;
        }
        self.0.format_event(ctx, writer, event)
    }
}

// ---- (end of recipe)

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

#[test]
fn the_fmt_recipe_stamps_ids_on_log_lines() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_ansi(false)
        .event_format(WithTraceIds(tracing_subscriber::fmt::format().compact()))
        .finish();

    #[traced]
    fn checkout() -> String {
        tracing::info!("order accepted");
        current_span().trace_id()
    }

    let c = tracing::subscriber::with_default(subscriber, || {
        tracing::info!("before any span");
        capture(checkout)
    });
    let trace_id = c.result();
    let output = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 2, "{output}");
    assert!(!lines[0].contains("trace_id="), "{}", lines[0]);
    assert!(lines[1].starts_with(&format!("trace_id={trace_id} span_id=")), "{}", lines[1]);
    assert!(lines[1].contains("order accepted"));
}
