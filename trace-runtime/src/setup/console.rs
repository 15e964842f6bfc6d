//! [`ConsoleExporter`]: finished traces printed as readable trees.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::sync::{Mutex, PoisonError};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::tree::{self, Style};

/// A span exporter that prints each trace as an indented tree once its local
/// root span ends: name, duration, kind, status, attributes, events and links.
/// It is what [`init`](crate::init) installs when nothing else is configured.
///
/// ```
/// let _guard = trace_runtime::init()
///     .exporter(trace_runtime::ConsoleExporter::stdout())
///     .install()
///     .unwrap();
/// ```
pub struct ConsoleExporter {
    /// Spans of traces whose local root has not ended yet.
    pending: Mutex<HashMap<TraceId, Vec<SpanData>>>,
    out: Mutex<Box<dyn Write + Send>>,
}

impl ConsoleExporter {
    /// Prints to standard output.
    ///
    /// ```
    /// let exporter = trace_runtime::ConsoleExporter::stdout();
    /// # drop(exporter);
    /// ```
    pub fn stdout() -> Self {
        Self::to_writer(std::io::stdout())
    }

    /// Prints to any writer (a file, a buffer in a test).
    ///
    /// ```
    /// let exporter = trace_runtime::ConsoleExporter::to_writer(std::io::stderr());
    /// # drop(exporter);
    /// ```
    pub fn to_writer(out: impl Write + Send + 'static) -> Self {
        ConsoleExporter { pending: Mutex::new(HashMap::new()), out: Mutex::new(Box::new(out)) }
    }

    fn print(&self, spans: &[SpanData]) {
        if spans.is_empty() {
            return;
        }
        let text = tree::render(spans, Style { timings: true, trace_ids: true });
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        // A closed stdout must not take the application down: drop the text.
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    }

    fn print_all_pending(&self) {
        let pending: Vec<Vec<SpanData>> = {
            let mut map = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            map.drain().map(|(_, spans)| spans).collect()
        };
        for spans in pending {
            self.print(&spans);
        }
    }
}

impl SpanExporter for ConsoleExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut complete = Vec::new();
        {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            // Traces whose local root ended, printed after the whole batch is
            // in: an in-process server span (remote parent) ends before the
            // client span around it, and both belong in one block.
            let mut finished: Vec<TraceId> = Vec::new();
            for span in batch {
                let trace_id = span.span_context.trace_id();
                let local_root = span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote;
                pending.entry(trace_id).or_default().push(span);
                if local_root && !finished.contains(&trace_id) {
                    finished.push(trace_id);
                }
            }
            complete.extend(finished.iter().filter_map(|trace_id| pending.remove(trace_id)));
        }
        for spans in complete {
            self.print(&spans);
        }
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        self.print_all_pending();
        Ok(())
    }
}

impl fmt::Debug for ConsoleExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConsoleExporter")
    }
}
