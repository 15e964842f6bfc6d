//! Export failures heard when they happen: the first one on stderr at once,
//! with its real cause; then at most one line a minute with the counts; and
//! a line when exports work again.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often repeated failures of one exporter are summarised.
const EVERY: Duration = Duration::from_secs(60);

/// Where a transport leaves the real cause of its last failure (connection
/// refused, DNS, TLS, an HTTP status and its body's first line), which the
/// exporter's own error often reduces to "network error".
#[derive(Debug, Default)]
pub(crate) struct LastCause(Mutex<Option<String>>);

// Written only by the network exporters, which are cargo features.
#[cfg_attr(not(any(feature = "otlp", feature = "datadog")), allow(dead_code))]
impl LastCause {
    pub(crate) fn set(&self, cause: String) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(cause);
    }

    pub(crate) fn clear(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
    }

    pub(crate) fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// The failure reporter of one exporter (used by its worker thread only).
#[derive(Debug)]
pub(crate) struct Reporter {
    label: String,
    cause: Option<Arc<LastCause>>,
    /// Set once the first failure was reported.
    last_report: Option<Instant>,
    /// Failures since the last line.
    failures: u64,
    spans: u64,
    last_error: String,
    failing: bool,
}

impl Reporter {
    pub(crate) fn new(label: String, cause: Option<Arc<LastCause>>) -> Self {
        Reporter { label, cause, last_report: None, failures: 0, spans: 0, last_error: String::new(), failing: false }
    }

    /// The real cause of the failure `error`, for the report and the tally.
    pub(crate) fn cause_of(&self, error: &str) -> String {
        // The SDK's wrapper adds nothing a reader needs.
        let error = error.strip_prefix("Operation failed: ").unwrap_or(error);
        let cause = self.cause.as_ref().and_then(|c| c.take()).unwrap_or_else(|| error.to_owned());
        match doubled_path_hint(&self.label) {
            Some(hint) => format!("{cause}; {hint}"),
            None => cause,
        }
    }

    /// An export of `spans` spans failed with `cause`; returns the line to
    /// print now, if any.
    pub(crate) fn failed(&mut self, spans: u64, cause: &str) -> Option<String> {
        self.failing = true;
        self.failures += 1;
        self.spans += spans;
        cause.clone_into(&mut self.last_error);
        let now = Instant::now();
        let line = match self.last_report {
            None => format!(
                "export to {} failed, {spans} spans lost: {cause} (further failures are summarised at most once a minute; see lost_spans())",
                self.label
            ),
            Some(at) if now.duration_since(at) >= EVERY => format!(
                "{} more exports to {} failed in the last {} s, {} spans lost; last error: {cause}",
                self.failures,
                self.label,
                now.duration_since(at).as_secs(),
                self.spans
            ),
            Some(_) => return None,
        };
        self.last_report = Some(now);
        self.failures = 0;
        self.spans = 0;
        Some(line)
    }

    /// An export succeeded; returns the line to print now, if any (a
    /// flapping collector still gets at most a few lines a minute).
    pub(crate) fn succeeded(&mut self) -> Option<String> {
        if !std::mem::replace(&mut self.failing, false) {
            return None;
        }
        let now = Instant::now();
        let quiet = self.last_report.is_some_and(|at| now.duration_since(at) < EVERY);
        if quiet && self.failures > 0 {
            return None;
        }
        let line = if self.failures > 0 {
            format!(
                "exports to {} work again ({} more failed since the last report, {} spans lost; last error: {})",
                self.label, self.failures, self.spans, self.last_error
            )
        } else {
            format!("exports to {} work again", self.label)
        };
        self.last_report = Some(now);
        self.failures = 0;
        self.spans = 0;
        Some(line)
    }
}

/// A hint when an endpoint carries the traces path twice, the classic result
/// of giving a full traces URL where a base URL was expected.
pub(crate) fn doubled_path_hint(endpoint: &str) -> Option<String> {
    endpoint.contains("/v1/traces/v1/traces").then(|| {
        "the endpoint ends in /v1/traces/v1/traces: give the collector's base URL in OTEL_EXPORTER_OTLP_ENDPOINT, \
         or the full URL in OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
            .to_owned()
    })
}

/// The chain of `error`'s causes, outermost first, without repeats (bounded:
/// a cyclic chain stops after a few links).
#[cfg_attr(not(any(feature = "otlp", feature = "datadog")), allow(dead_code))]
pub(crate) fn source_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        if parts.len() == 8 {
            break;
        }
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_is_said_at_once_then_summarised() {
        let cause = Arc::new(LastCause::default());
        let mut reporter = Reporter::new("OTLP x".into(), Some(Arc::clone(&cause)));
        cause.set("connection refused".into());
        let first = reporter.cause_of("network error");
        assert_eq!(first, "connection refused");
        let line = reporter.failed(3, &first).unwrap();
        assert!(line.contains("export to OTLP x failed, 3 spans lost: connection refused"), "{line}");
        let back = reporter.succeeded().unwrap();
        assert_eq!(back, "exports to OTLP x work again");
        assert!(reporter.succeeded().is_none());
        assert!(reporter.failed(2, "network error").is_none(), "quiet for a minute");
        assert!(reporter.succeeded().is_none(), "still within the minute");
    }

    #[test]
    fn the_sdk_wrapper_is_left_out() {
        let reporter = Reporter::new("OTLP grpc".into(), None);
        assert_eq!(
            reporter.cause_of("Operation failed: export failed with gRPC code: Unavailable"),
            "export failed with gRPC code: Unavailable"
        );
    }

    #[test]
    fn a_doubled_traces_path_gets_a_hint() {
        let reporter = Reporter::new("OTLP http/protobuf http://c:4318/v1/traces/v1/traces".into(), None);
        assert!(reporter.cause_of("HTTP 404").contains("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
        assert!(doubled_path_hint("http://c:4318/v1/traces").is_none());
    }
}
