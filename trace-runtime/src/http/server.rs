//! The server span of a request, for any tower service of `http::Request`
//! → `http::Response` (axum, hyper, tonic): named after the matched route,
//! under the caller's span from the request's headers.

use http::Request;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::KeyValue;

use super::exchange::{Exchange, Side};
use super::{grpc, semconv};
use crate::propagation;

/// The server span of `request`, under the caller's span from its headers.
pub(super) fn start<B>(request: &Request<B>) -> Option<Exchange> {
    let headers = request.headers();
    let parent = propagation::extract(headers);
    let remote = parent.span().span_context().clone();
    let grpc = grpc::is_grpc(headers);
    let mut attributes = Vec::with_capacity(10);
    let name = if grpc {
        grpc::rpc_attributes(request.uri().path(), &mut attributes)
    } else {
        semconv::method_attributes(request.method(), &mut attributes);
        let method = semconv::method_name(request.method());
        let name = match route(request) {
            Some(route) => {
                let route = semconv::bounded(route).into_owned();
                let name = format!("{method} {route}");
                attributes.push(KeyValue::new("http.route", route));
                name
            }
            None => method.to_owned(),
        };
        attributes.push(KeyValue::new("url.path", semconv::bounded(request.uri().path()).into_owned()));
        attributes.push(KeyValue::new("url.scheme", request.uri().scheme_str().unwrap_or("http").to_owned()));
        if let Some(agent) = semconv::user_agent(headers) {
            attributes.push(KeyValue::new("user_agent.original", agent));
        }
        name
    };
    let (address, port) = semconv::server_address(request.uri(), headers);
    if let Some(address) = address {
        attributes.push(KeyValue::new("server.address", address));
    }
    if let Some(port) = port {
        attributes.push(KeyValue::new("server.port", i64::from(port)));
    }
    if let Some(version) = semconv::protocol_version(request.version()) {
        attributes.push(KeyValue::new("network.protocol.version", version));
    }
    let mut exchange = Exchange::start(name, Side::Server, grpc, Some(parent), attributes)?;
    if remote.is_valid() && remote.is_remote() {
        // A handler that extracts the same headers again nests under this span.
        let marked = propagation::handled::mark(exchange.context().clone(), remote);
        exchange.set_context(marked);
    }
    Some(exchange)
}

/// The low-cardinality route the request matched, when the framework says.
fn route<B>(request: &Request<B>) -> Option<&str> {
    #[cfg(feature = "axum")]
    if let Some(matched) = request.extensions().get::<axum::extract::MatchedPath>() {
        return Some(matched.as_str());
    }
    let _ = request;
    None
}
