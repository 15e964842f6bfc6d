//! Datadog's operation name over OTLP: the Datadog Agent's OTLP intake names
//! an internal span's operation `internal` unless the span carries
//! `operation.name`. The OTLP exporter adds `operation.name` = the span name
//! to internal spans that lack one, on the export thread (nothing on the
//! caller's, nothing in captures or the console). Server, client, producer
//! and consumer spans keep the names Datadog derives from the semantic
//! conventions (`http.server.request`, `grpc.client.request`, ...), which
//! are what ddtrace's own integrations use.

use std::time::Duration;

use opentelemetry::trace::SpanKind;
use opentelemetry::{Key, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

const OPERATION_NAME: Key = Key::from_static_str("operation.name");

/// An exporter that adds `operation.name` to internal spans, then hands on.
#[derive(Debug)]
pub(crate) struct WithOperationName<E>(pub(crate) E);

/// Adds `operation.name` = name to an internal span that has none.
pub(crate) fn name_operation(span: &mut SpanData) {
    if span.span_kind == SpanKind::Internal && !span.attributes.iter().any(|kv| kv.key == OPERATION_NAME) {
        span.attributes.push(KeyValue::new(OPERATION_NAME, span.name.clone()));
    }
}

impl<E: SpanExporter> SpanExporter for WithOperationName<E> {
    async fn export(&self, mut batch: Vec<SpanData>) -> OTelSdkResult {
        batch.iter_mut().for_each(name_operation);
        self.0.export(batch).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}
