//! The way `Builder::span_processor` offers to a processor that needs
//! `on_start` (which traced's span engine does not call): an
//! `SdkTracerProvider` with that processor, installed with
//! `opentelemetry::global::set_tracer_provider` instead of `init()`.
//! `#[traced]` spans then reach its `on_start` while they are open, on the
//! thread that started them, and what it sets there is exported.
//!
//! Its own file: the global provider is process-wide. Runs in well under a second.

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::ThreadId;
use std::time::Duration;

use opentelemetry::trace::Span as _;
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, Span, SpanData, SpanProcessor};
use trace_runtime::testing::SpanDataExt;
use trace_runtime::traced;
use traced_tests::memory::MemoryExporter;

/// Stamps every span at start (as a processor copying baggage or a tenant
/// into attributes would), and notes which spans it saw start and where.
#[derive(Debug, Clone, Default)]
struct StampAtStart {
    started: Arc<Mutex<Vec<(String, ThreadId)>>>,
}

impl StampAtStart {
    fn started(&self) -> Vec<(String, ThreadId)> {
        self.started.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl SpanProcessor for StampAtStart {
    fn on_start(&self, span: &mut Span, _cx: &Context) {
        span.set_attribute(KeyValue::new("stamped.at_start", true));
        let name = span.exported_data().map(|data| data.name.into_owned()).unwrap_or_default();
        self.started.lock().unwrap_or_else(PoisonError::into_inner).push((name, std::thread::current().id()));
    }
    fn on_end(&self, _span: SpanData) {}
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// What `on_start` had seen when the body of `checkout` ran.
fn seen_while_open(stamp: &StampAtStart) -> Vec<String> {
    stamp.started().into_iter().map(|(name, _)| name).collect()
}

#[traced]
fn checkout(stamp: &StampAtStart) -> Vec<String> {
    let outer = seen_while_open(stamp);
    let inner = charge(stamp);
    assert_eq!(inner.len(), outer.len() + 1);
    inner
}

#[traced]
fn charge(stamp: &StampAtStart) -> Vec<String> {
    seen_while_open(stamp)
}

#[test]
fn a_processor_needing_on_start_gets_it_while_traced_spans_are_open() {
    let stamp = StampAtStart::default();
    let exporter = MemoryExporter::default();
    let provider =
        SdkTracerProvider::builder().with_span_processor(stamp.clone()).with_simple_exporter(exporter.clone()).build();
    opentelemetry::global::set_tracer_provider(provider.clone());

    let seen = checkout(&stamp);
    // Inside `charge`, `on_start` had already run for both open spans.
    assert_eq!(seen, vec!["checkout".to_owned(), "charge".to_owned()]);
    let here = std::thread::current().id();
    assert!(stamp.started().iter().all(|(_, thread)| *thread == here), "on the thread that started them");

    provider.force_flush().expect("flush");
    let spans = exporter.spans();
    assert_eq!(spans.len(), 2);
    for span in &spans {
        // What `on_start` set is on the exported span.
        assert_eq!(span.attribute("stamped.at_start"), Some(&Value::Bool(true)), "{}", span.name);
    }
    provider.shutdown().expect("shutdown");
}
