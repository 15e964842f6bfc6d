//! The client span of a request sent through a tower HTTP client
//! (hyper-util's `Client`, a tonic `Channel`), injected into the request's
//! headers.

use http::Request;
use opentelemetry::{Context, KeyValue};

use super::exchange::{Exchange, Side};
use super::{grpc, semconv};
use crate::propagation;

/// The client span of `request`, under the current span, injected into its
/// headers (with nothing recording here, the caller's trace still travels on).
pub(super) fn start<B>(request: &mut Request<B>) -> Option<Exchange> {
    let exchange = span(request);
    let cx = exchange.as_ref().map_or_else(Context::current, |exchange| exchange.context().clone());
    propagation::inject_context(&cx, request.headers_mut());
    exchange
}

fn span<B>(request: &Request<B>) -> Option<Exchange> {
    let headers = request.headers();
    let grpc = grpc::is_grpc(headers);
    let mut attributes = Vec::with_capacity(8);
    let name = if grpc {
        grpc::rpc_attributes(request.uri().path(), &mut attributes)
    } else {
        semconv::method_attributes(request.method(), &mut attributes);
        if request.uri().scheme().is_some() {
            attributes.push(KeyValue::new("url.full", semconv::redacted_url(&request.uri().to_string())));
        }
        semconv::method_name(request.method()).to_owned()
    };
    let (address, port) = semconv::server_address(request.uri(), headers);
    if let Some(address) = address {
        attributes.push(KeyValue::new("server.address", address));
    }
    let default_port = match request.uri().scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    };
    if let Some(port) = port.or(default_port) {
        attributes.push(KeyValue::new("server.port", i64::from(port)));
    }
    Exchange::start(name, Side::Client, grpc, None, attributes)
}
