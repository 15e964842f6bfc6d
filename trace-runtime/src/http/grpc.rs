//! gRPC over HTTP/2, recognised by its `content-type`: the RPC semantic
//! conventions (`rpc.system`, `rpc.service`, `rpc.method`,
//! `rpc.grpc.status_code`) and which status codes are errors.

use http::HeaderMap;
use opentelemetry::KeyValue;

use super::semconv::bounded;

/// True for a gRPC request or response (`application/grpc`, `application/grpc+proto`, ...).
pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    headers.get(http::header::CONTENT_TYPE).is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"))
}

/// The span name (`package.Service/Method`) and RPC attributes of a gRPC
/// call to `path` (`/package.Service/Method`). A path of another shape keeps
/// `rpc.system` and is named for itself.
pub(crate) fn rpc_attributes(path: &str, attributes: &mut Vec<KeyValue>) -> String {
    attributes.push(KeyValue::new("rpc.system", "grpc"));
    let trimmed = bounded(path.strip_prefix('/').unwrap_or(path)).into_owned();
    if let Some((service, method)) = trimmed.split_once('/') {
        if !service.is_empty() && !method.is_empty() && !method.contains('/') {
            attributes.push(KeyValue::new("rpc.service", service.to_owned()));
            attributes.push(KeyValue::new("rpc.method", method.to_owned()));
        }
    }
    trimmed
}

/// The `grpc-status` in response headers (trailers-only responses) or trailers.
pub(crate) fn status(headers: &HeaderMap) -> Option<i64> {
    headers.get("grpc-status")?.to_str().ok()?.trim().parse().ok()
}

/// Whether a server span ends with status ERROR for `code` (the semantic
/// conventions: only codes that mean the server failed).
pub(crate) fn is_server_error(code: i64) -> bool {
    // UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS
    matches!(code, 2 | 4 | 12 | 13 | 14 | 15)
}

/// The status code's name, for `error.type`.
pub(crate) fn status_name(code: i64) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    usize::try_from(code).ok().and_then(|i| NAMES.get(i)).copied().unwrap_or("_OTHER")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grpc_path_names_service_and_method() {
        let mut attributes = Vec::new();
        let name = rpc_attributes("/grpc.health.v1.Health/Check", &mut attributes);
        assert_eq!(name, "grpc.health.v1.Health/Check");
        assert_eq!(attributes[1], KeyValue::new("rpc.service", "grpc.health.v1.Health"));
        assert_eq!(attributes[2], KeyValue::new("rpc.method", "Check"));
    }

    #[test]
    fn only_server_failures_are_server_errors() {
        assert!(is_server_error(13) && is_server_error(12));
        assert!(!is_server_error(0) && !is_server_error(5) && !is_server_error(3));
        assert_eq!(status_name(5), "NOT_FOUND");
        assert_eq!(status_name(99), "_OTHER");
    }
}
