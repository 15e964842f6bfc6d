//! The HTTP semantic-convention attributes of a request, read from what any
//! HTTP stack has: method, URI, version and headers.

use std::borrow::Cow;

use http::{HeaderMap, Method, Uri, Version};
use opentelemetry::KeyValue;

/// What `url.full` shows in place of credentials and query values.
const REDACTED: &str = "REDACTED";

/// Longest header value copied into an attribute (`user_agent.original`,
/// `server.address`); longer ones are cut, so a hostile request cannot size
/// a span.
const MAX_VALUE_LEN: usize = 1024;

/// `http.request.method` for `method`: the method when it is one of the
/// known ones, else `_OTHER` with the original in `http.request.method_original`.
pub(crate) fn method_attributes(method: &Method, attributes: &mut Vec<KeyValue>) {
    match known_method(method) {
        Some(name) => attributes.push(KeyValue::new("http.request.method", name)),
        None => {
            attributes.push(KeyValue::new("http.request.method", "_OTHER"));
            attributes.push(KeyValue::new("http.request.method_original", bounded(method.as_str()).into_owned()));
        }
    }
}

/// The method as the span name starts with it: `HTTP` for unknown methods,
/// whose names are unbounded.
pub(crate) fn method_name(method: &Method) -> &'static str {
    known_method(method).unwrap_or("HTTP")
}

fn known_method(method: &Method) -> Option<&'static str> {
    Some(match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => return None,
    })
}

/// `network.protocol.version`.
pub(crate) fn protocol_version(version: Version) -> Option<&'static str> {
    Some(match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_11 => "1.1",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => return None,
    })
}

/// `server.address` and `server.port` as a server sees them: the URI's
/// authority (HTTP/2 `:authority`, absolute-form requests), else `Host`.
pub(crate) fn server_address(uri: &Uri, headers: &HeaderMap) -> (Option<String>, Option<u16>) {
    if let Some(authority) = uri.authority() {
        return (Some(bounded(authority.host()).into_owned()), authority.port_u16());
    }
    let Some(host) = headers.get(http::header::HOST).and_then(|h| h.to_str().ok()) else {
        return (None, None);
    };
    match host.parse::<http::uri::Authority>() {
        Ok(authority) => (Some(bounded(authority.host()).into_owned()), authority.port_u16()),
        Err(_) => (None, None),
    }
}

/// `user_agent.original`, when the request has a readable one.
pub(crate) fn user_agent(headers: &HeaderMap) -> Option<String> {
    let agent = headers.get(http::header::USER_AGENT)?.to_str().ok()?;
    Some(bounded(agent).into_owned())
}

/// `url.full` with credentials and every query value replaced by
/// `REDACTED` (URLs carry tokens and signatures there), and no fragment
/// (it is never sent).
///
/// `https://user:pw@host/p?key=v#f` → `https://REDACTED:REDACTED@host/p?key=REDACTED`
pub(crate) fn redacted_url(url: &str) -> String {
    let url = url.split_once('#').map_or(url, |(before, _)| before);
    let (before_query, query) = match url.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (url, None),
    };
    let mut out = String::with_capacity(url.len().min(MAX_VALUE_LEN * 8) + 16);
    match before_query.split_once("://") {
        Some((scheme, rest)) => {
            out.push_str(scheme);
            out.push_str("://");
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    out.push_str(REDACTED);
                    if userinfo.contains(':') {
                        out.push(':');
                        out.push_str(REDACTED);
                    }
                    out.push('@');
                    out.push_str(host);
                }
                None => out.push_str(authority),
            }
            out.push_str(path);
        }
        None => out.push_str(before_query),
    }
    if let Some(query) = query {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((key, _)) => {
                    out.push_str(key);
                    out.push('=');
                    out.push_str(REDACTED);
                }
                None => out.push_str(pair),
            }
        }
    }
    out
}

/// `s`, cut to [`MAX_VALUE_LEN`] bytes at a character boundary.
pub(crate) fn bounded(s: &str) -> Cow<'_, str> {
    if s.len() <= MAX_VALUE_LEN {
        return Cow::Borrowed(s);
    }
    let mut end = MAX_VALUE_LEN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(s[..end].to_owned())
}

/// A short, low-cardinality name for an error type: the type's path without
/// generic arguments (`hyper::Error`, `std::io::Error`).
pub(crate) fn error_type_of<E: ?Sized>() -> &'static str {
    let name = std::any::type_name::<E>();
    name.split('<').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_full_hides_credentials_and_query_values() {
        assert_eq!(
            redacted_url("https://user:secret@example.com:8443/a/b?token=abc&flag&x=1#frag"),
            "https://REDACTED:REDACTED@example.com:8443/a/b?token=REDACTED&flag&x=REDACTED"
        );
        assert_eq!(redacted_url("http://example.com/"), "http://example.com/");
        assert_eq!(redacted_url("http://key@example.com"), "http://REDACTED@example.com");
    }

    #[test]
    fn unknown_methods_are_other_with_the_original() {
        let mut attributes = Vec::new();
        method_attributes(&Method::from_bytes(b"PURGE").unwrap_or(Method::GET), &mut attributes);
        assert_eq!(attributes[0], KeyValue::new("http.request.method", "_OTHER"));
        assert_eq!(attributes[1], KeyValue::new("http.request.method_original", "PURGE"));
        assert_eq!(method_name(&Method::from_bytes(b"PURGE").unwrap_or(Method::GET)), "HTTP");
    }

    #[test]
    fn server_address_comes_from_the_uri_then_host() {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, http::HeaderValue::from_static("shop.example:8080"));
        let origin_form: Uri = "/orders".parse().unwrap_or_default();
        assert_eq!(server_address(&origin_form, &headers), (Some("shop.example".to_owned()), Some(8080)));
        let absolute: Uri = "http://api.example/orders".parse().unwrap_or_default();
        assert_eq!(server_address(&absolute, &headers), (Some("api.example".to_owned()), None));
    }

    #[test]
    fn long_values_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_VALUE_LEN);
        let cut = bounded(&long);
        assert!(cut.len() <= MAX_VALUE_LEN && cut.chars().all(|c| c == 'é'));
    }
}
