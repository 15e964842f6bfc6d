//! Where propagation headers are read from and written to: [`Extract`] and
//! [`Inject`], for `http::HeaderMap` and string maps.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use http::{HeaderMap, HeaderName, HeaderValue};

/// Something incoming trace headers can be read from: `http::HeaderMap`,
/// `HashMap<String, String>` or `BTreeMap<String, String>` (message headers,
/// job metadata). Implement it for your own carrier.
///
/// Names are looked up case-insensitively. A header present several times is
/// read as its values joined by `,` (the HTTP rule), which makes a repeated
/// `traceparent` invalid, as the W3C specification wants.
///
/// ```
/// use std::collections::HashMap;
/// use trace_runtime::propagation::Extract;
///
/// let mut headers = HashMap::new();
/// headers.insert("TraceParent".to_owned(), "00-…".to_owned());
/// assert!(headers.get_header("traceparent").is_some());
/// ```
pub trait Extract {
    /// The value of header `name` (lowercase), if any.
    fn get_header(&self, name: &str) -> Option<Cow<'_, str>>;
}

/// Something outgoing trace headers can be written to: `http::HeaderMap`,
/// `HashMap<String, String>` or `BTreeMap<String, String>`.
///
/// ```
/// use std::collections::HashMap;
/// use trace_runtime::propagation::Inject;
///
/// let mut headers: HashMap<String, String> = HashMap::new();
/// headers.set_header("traceparent", "00-…".to_owned());
/// assert_eq!(headers.len(), 1);
/// ```
pub trait Inject {
    /// Sets header `name` (lowercase) to `value`, replacing any earlier value.
    fn set_header(&mut self, name: &str, value: String);
}

impl Extract for HeaderMap {
    fn get_header(&self, name: &str) -> Option<Cow<'_, str>> {
        let mut values = self.get_all(name).iter();
        let first = values.next()?;
        let rest: Vec<&HeaderValue> = values.collect();
        if rest.is_empty() {
            // A value that is not visible ASCII is no trace header.
            return first.to_str().ok().map(Cow::Borrowed);
        }
        let mut joined = first.to_str().ok()?.to_owned();
        for value in rest {
            joined.push(',');
            joined.push_str(value.to_str().ok()?);
        }
        Some(Cow::Owned(joined))
    }
}

impl Inject for HeaderMap {
    fn set_header(&mut self, name: &str, value: String) {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::try_from(value)) {
            self.insert(name, value);
        }
    }
}

impl<S: BuildHasher> Extract for HashMap<String, String, S> {
    fn get_header(&self, name: &str) -> Option<Cow<'_, str>> {
        match self.get(name) {
            Some(value) => Some(Cow::Borrowed(value)),
            None => self.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| Cow::Borrowed(v.as_str())),
        }
    }
}

impl<S: BuildHasher> Inject for HashMap<String, String, S> {
    fn set_header(&mut self, name: &str, value: String) {
        self.retain(|k, _| !k.eq_ignore_ascii_case(name));
        self.insert(name.to_owned(), value);
    }
}

impl Extract for BTreeMap<String, String> {
    fn get_header(&self, name: &str) -> Option<Cow<'_, str>> {
        match self.get(name) {
            Some(value) => Some(Cow::Borrowed(value)),
            None => self.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| Cow::Borrowed(v.as_str())),
        }
    }
}

impl Inject for BTreeMap<String, String> {
    fn set_header(&mut self, name: &str, value: String) {
        self.retain(|k, _| !k.eq_ignore_ascii_case(name));
        self.insert(name.to_owned(), value);
    }
}

impl<T: Extract + ?Sized> Extract for &T {
    fn get_header(&self, name: &str) -> Option<Cow<'_, str>> {
        (**self).get_header(name)
    }
}

impl<T: Inject + ?Sized> Inject for &mut T {
    fn set_header(&mut self, name: &str, value: String) {
        (**self).set_header(name, value);
    }
}
