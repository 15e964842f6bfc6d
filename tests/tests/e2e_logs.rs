//! End to end, logs: records of the `log` crate and `tracing` events made
//! inside a `#[traced]` function reach the real receiver (ddapm-test-agent,
//! `/v1/logs`) over OTLP/HTTP and OTLP/gRPC with their body, severity,
//! attributes and the trace id and span id of the exported span; a record
//! made outside any span arrives without ids. Only an OTLP endpoint is
//! configured: logs follow it with no other setting. The only test of this
//! binary: it sets a process environment variable.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use std::time::{Duration, Instant};

use serde_json::Value as Json;
use trace_runtime::{traced, Protocol};
use traced_tests::agent::{id_hex, TestAgent};

#[traced]
fn e2e_log_order(case: &str) {
    log::info!(order_id = 42, paid = true; "order accepted over {case}");
    tracing::warn!(stock = 2_i64, "stock is low over {case}");
    log::debug!("below the default info filter: never exported");
}

/// One received record, flattened.
#[derive(Debug)]
struct Record {
    body: String,
    severity_number: String,
    severity_text: String,
    trace_id: String,
    span_id: String,
    attributes: Json,
    resource: Json,
}

fn records(requests: &Json) -> Vec<Record> {
    let mut out = Vec::new();
    for request in requests.as_array().into_iter().flatten() {
        for rl in request["resource_logs"].as_array().into_iter().flatten() {
            for sl in rl["scope_logs"].as_array().into_iter().flatten() {
                for r in sl["log_records"].as_array().into_iter().flatten() {
                    out.push(Record {
                        body: r["body"]["string_value"].as_str().unwrap_or_default().to_owned(),
                        severity_number: r["severity_number"].as_str().unwrap_or_default().to_owned(),
                        severity_text: r["severity_text"].as_str().unwrap_or_default().to_owned(),
                        trace_id: id_hex(&r["trace_id"]),
                        span_id: id_hex(&r["span_id"]),
                        attributes: r["attributes"].clone(),
                        resource: rl["resource"].clone(),
                    });
                }
            }
        }
    }
    out
}

fn attribute<'a>(record: &'a Record, key: &str) -> Option<&'a Json> {
    record.attributes.as_array()?.iter().find(|kv| kv["key"] == key).map(|kv| &kv["value"])
}

#[test]
fn log_records_arrive_with_their_trace_over_http_and_grpc() {
    // What is sent is what the configuration says: headers of the process
    // environment, which `env_lookup` below ignores, must not reach the
    // receiver (they would send every record to another session).
    std::env::set_var("OTEL_EXPORTER_OTLP_HEADERS", "x-datadog-test-session-token=not-this-session");
    let agent = TestAgent::shared();
    for protocol in [Protocol::HttpProtobuf, Protocol::Grpc] {
        let case = protocol.to_string();
        let session = agent.session();
        let (header, token) = session.header();
        let builder = trace_runtime::init().env_lookup(|_| None).service_name("logs-e2e").otlp_header(header, token);
        let builder = match protocol {
            Protocol::Grpc => builder.otlp_protocol(Protocol::Grpc).otlp_endpoint(agent.otlp_grpc_endpoint()),
            _ => builder.otlp_endpoint(agent.otlp_http_endpoint()),
        };
        let lost_before = trace_runtime::lost_logs();
        let guard = builder.install().unwrap();
        e2e_log_order(&case);
        log::warn!("outside any span over {case}");
        guard.shutdown().unwrap();
        assert_eq!(trace_runtime::lost_logs(), lost_before, "nothing lost over {case}");

        let spans = session.wait_for_spans(1, Duration::from_secs(10));
        let span = spans.iter().find(|s| s.name == "e2e_log_order").unwrap_or_else(|| panic!("{spans:#?}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        let received = loop {
            let received = records(&session.logs());
            if received.len() >= 3 || Instant::now() > deadline {
                break received;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(received.len(), 3, "{case}: {received:#?}");

        let find = |body: &str| received.iter().find(|r| r.body == body).unwrap_or_else(|| panic!("{received:#?}"));
        let accepted = find(&format!("order accepted over {case}"));
        assert_eq!(
            (accepted.severity_number.as_str(), accepted.severity_text.as_str()),
            ("SEVERITY_NUMBER_INFO", "INFO")
        );
        assert_eq!(
            (accepted.trace_id.as_str(), accepted.span_id.as_str()),
            (span.trace_id.as_str(), span.span_id.as_str())
        );
        assert_eq!(attribute(accepted, "order_id").unwrap()["int_value"], "42", "{accepted:#?}");
        assert_eq!(attribute(accepted, "paid").unwrap()["bool_value"], true);
        assert!(attribute(accepted, "code.file.path").unwrap()["string_value"]
            .as_str()
            .unwrap()
            .ends_with("e2e_logs.rs"));
        assert!(accepted.resource.to_string().contains("logs-e2e"), "{:#}", accepted.resource);

        let low = find(&format!("stock is low over {case}"));
        assert_eq!((low.severity_number.as_str(), low.severity_text.as_str()), ("SEVERITY_NUMBER_WARN", "WARN"));
        assert_eq!((low.trace_id.as_str(), low.span_id.as_str()), (span.trace_id.as_str(), span.span_id.as_str()));
        assert_eq!(attribute(low, "stock").unwrap()["int_value"], "2");

        let outside = find(&format!("outside any span over {case}"));
        assert_eq!(outside.severity_text, "WARN");
        assert_eq!((outside.trace_id.as_str(), outside.span_id.as_str()), ("", ""), "{outside:#?}");
    }
}
