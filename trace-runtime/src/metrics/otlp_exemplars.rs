//! Adds the kept exemplars (`exemplars.rs`) to the `function.calls.duration`
//! data points of an OTLP metrics request, before it is encoded: the SDK's
//! data types cannot carry exemplars it did not make.

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{exemplar, metric, AggregationTemporality, Exemplar as OtlpExemplar};

use super::exemplars::Reservoir;
use super::instruments::{DURATION_NAME, SCOPE};
use super::site;

/// Which data point a reservoir belongs to: `function`, `module`,
/// `caller.function`, `caller.module` (the last two `None` for the
/// overflow point, which has `otel.metric.overflow` instead).
type Point<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>);

/// Fills in the exemplars of every duration data point in `request`. A
/// delta histogram (delta or low-memory temporality) reports each exemplar
/// once; a cumulative one keeps each bucket's latest.
pub(crate) fn attach(request: &mut ExportMetricsServiceRequest) {
    let sites = site::sites();
    let mut reservoirs: HashMap<Point<'_>, Vec<&'static Reservoir>> = HashMap::new();
    for site in &sites {
        for callers in site.callers() {
            let caller = callers.caller.map_or(("", ""), |c| (c.function, c.module));
            reservoirs.entry((site.function, site.module, Some(caller))).or_default().push(&callers.counts.exemplars);
        }
        reservoirs.entry((site.function, site.module, None)).or_default().push(&site.overflow.exemplars);
    }
    for resource in &mut request.resource_metrics {
        for scope in &mut resource.scope_metrics {
            if scope.scope.as_ref().is_none_or(|s| s.name != SCOPE) {
                continue;
            }
            for metric in &mut scope.metrics {
                let Some(metric::Data::Histogram(histogram)) = &mut metric.data else { continue };
                if metric.name != DURATION_NAME {
                    continue;
                }
                let take = histogram.aggregation_temporality == AggregationTemporality::Delta as i32;
                for point in &mut histogram.data_points {
                    let Some(found) = point_of(&point.attributes).and_then(|key| reservoirs.get(&key)) else {
                        continue;
                    };
                    for reservoir in found {
                        point.exemplars.extend(reservoir.collect(take).into_iter().map(|e| OtlpExemplar {
                            filtered_attributes: Vec::new(),
                            time_unix_nano: e.time_unix_nano,
                            span_id: e.span_id.to_vec(),
                            trace_id: e.trace_id.to_vec(),
                            value: Some(exemplar::Value::AsDouble(e.value)),
                        }));
                    }
                }
            }
        }
    }
}

/// The data point named by these attributes.
fn point_of(attributes: &[KeyValue]) -> Option<Point<'_>> {
    let text = |key: &str| {
        attributes.iter().find(|kv| kv.key == key).and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        })
    };
    let overflow = attributes.iter().any(|kv| kv.key == "otel.metric.overflow");
    let caller = if overflow { None } else { Some((text("caller.function")?, text("caller.module")?)) };
    Some((text("function")?, text("module")?, caller))
}
