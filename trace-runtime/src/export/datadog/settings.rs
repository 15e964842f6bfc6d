//! The Datadog variables: where the Agent is (`DD_TRACE_AGENT_URL`, else
//! `DD_AGENT_HOST` and `DD_TRACE_AGENT_PORT`), and the unified service tags
//! (`DD_SERVICE`, `DD_ENV`, `DD_VERSION`, `DD_TAGS`) that fill the resource
//! where the OpenTelemetry settings leave it open.

use opentelemetry::KeyValue;

use crate::config::env::{invalid, Env};
use crate::config::Error;

pub(crate) const TRACE_AGENT_URL: &str = "DD_TRACE_AGENT_URL";
pub(crate) const AGENT_HOST: &str = "DD_AGENT_HOST";
pub(crate) const TRACE_AGENT_PORT: &str = "DD_TRACE_AGENT_PORT";
pub(crate) const SERVICE: &str = "DD_SERVICE";
pub(crate) const ENV: &str = "DD_ENV";
pub(crate) const VERSION: &str = "DD_VERSION";
pub(crate) const TAGS: &str = "DD_TAGS";

const TRACES_PATH: &str = "/v0.4/traces";
const ACCEPTED_URL: &str = "an http:// URL of the Datadog Agent with a host and an optional port from 1 to 65535, \
                            e.g. http://localhost:8126 (unix sockets are not supported; https:// needs the `tls` \
                            cargo feature of trace-runtime)";

/// Where the Datadog exporter sends traces.
///
/// ```
/// let config = trace_runtime::init().datadog_agent_url("http://dd-agent:8126").resolve().unwrap();
/// assert_eq!(config.datadog.unwrap().endpoint, "http://dd-agent:8126/v0.4/traces");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatadogConfig {
    /// The full URL of the Agent's trace intake, `…/v0.4/traces`.
    pub endpoint: String,
}

/// What the code said about the Datadog exporter.
#[derive(Debug, Default, Clone)]
pub(crate) struct DatadogSettings {
    /// The code asked for the Datadog exporter.
    pub(crate) selected: bool,
    pub(crate) agent_url: Option<String>,
}

/// The exporter's configuration: the code's URL, else `DD_TRACE_AGENT_URL`,
/// else `http://$DD_AGENT_HOST:$DD_TRACE_AGENT_PORT` (`localhost`, `8126`).
pub(crate) fn resolve(code: &DatadogSettings, env: &Env<'_>) -> Result<DatadogConfig, Error> {
    let base = match &code.agent_url {
        Some(url) => check_url(url).map_err(|accepted| Error::InvalidConfig {
            setting: "datadog_agent_url",
            value: url.clone(),
            accepted,
        })?,
        None => match env.get(TRACE_AGENT_URL)? {
            Some(url) => check_url(&url).map_err(|accepted| invalid(TRACE_AGENT_URL, url.clone(), accepted))?,
            None => {
                let host = env.get(AGENT_HOST)?.unwrap_or_else(|| "localhost".to_owned());
                let port = match env.get(TRACE_AGENT_PORT)? {
                    Some(port) => match port.parse::<u16>() {
                        Ok(p) if p != 0 => p,
                        _ => return Err(invalid(TRACE_AGENT_PORT, port, "a port number from 1 to 65535, e.g. 8126")),
                    },
                    None => 8126,
                };
                // An IPv6 address goes in brackets.
                let host_part =
                    if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.clone() };
                check_url(&format!("http://{host_part}:{port}")).map_err(|_| {
                    invalid(AGENT_HOST, host, "a host name or IP address of the Datadog Agent, e.g. localhost")
                })?
            }
        },
    };
    Ok(DatadogConfig { endpoint: format!("{}{TRACES_PATH}", base.trim_end_matches('/')) })
}

/// The URL without a trailing traces path, or what is accepted.
fn check_url(url: &str) -> Result<String, &'static str> {
    let uri: http::Uri = url.parse().map_err(|_| ACCEPTED_URL)?;
    let scheme_ok = uri.scheme_str() == Some("http") || (cfg!(feature = "tls") && uri.scheme_str() == Some("https"));
    let query_free = uri.query().is_none();
    if !scheme_ok || !query_free || uri.host().is_none_or(str::is_empty) || !crate::config::settings::port_ok(&uri) {
        return Err(ACCEPTED_URL);
    }
    let url = url.trim_end_matches('/');
    Ok(url.strip_suffix(TRACES_PATH).unwrap_or(url).to_owned())
}

/// Resource attributes from `DD_SERVICE`, `DD_ENV`, `DD_VERSION` and
/// `DD_TAGS`; the caller adds each only where nothing else set its key.
pub(crate) fn resource_defaults(env: &Env<'_>) -> Result<Vec<KeyValue>, Error> {
    let mut out = Vec::new();
    for (variable, key) in
        [(SERVICE, "service.name"), (ENV, "deployment.environment.name"), (VERSION, "service.version")]
    {
        if let Some(value) = env.get(variable)? {
            out.push(KeyValue::new(key, value));
        }
    }
    if let Some(tags) = env.get(TAGS)? {
        let parsed = parse_tags(&tags).ok_or_else(|| {
            invalid(TAGS, tags.clone(), "key:value tags separated by commas or spaces, e.g. team:payments,tier:web")
        })?;
        out.extend(parsed.into_iter().map(|(k, v)| KeyValue::new(k, v)));
    }
    Ok(out)
}

/// `k:v,k2:v2` or `k:v k2:v2` (ddtrace's two forms); `None` when a tag
/// has no `:` or an empty key.
fn parse_tags(input: &str) -> Option<Vec<(String, String)>> {
    let separator = if input.contains(',') { ',' } else { ' ' };
    let mut tags = Vec::new();
    for tag in input.split(separator).map(str::trim).filter(|t| !t.is_empty()) {
        let (key, value) = tag.split_once(':')?;
        let key = key.trim();
        if key.is_empty() {
            return None;
        }
        tags.push((key.to_owned(), value.trim().to_owned()));
    }
    Some(tags)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn resolve_with(vars: &'static [(&'static str, &'static str)]) -> Result<DatadogConfig, Error> {
        let lookup = move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned());
        resolve(&DatadogSettings::default(), &Env::new(&lookup))
    }

    #[test]
    fn the_agent_url_comes_from_the_variables() {
        assert_eq!(resolve_with(&[]).unwrap().endpoint, "http://localhost:8126/v0.4/traces");
        let host_port = resolve_with(&[(AGENT_HOST, "dd"), (TRACE_AGENT_PORT, "9126")]).unwrap();
        assert_eq!(host_port.endpoint, "http://dd:9126/v0.4/traces");
        let url = resolve_with(&[(TRACE_AGENT_URL, "http://agent:1/"), (AGENT_HOST, "ignored")]).unwrap();
        assert_eq!(url.endpoint, "http://agent:1/v0.4/traces");
        let full = resolve_with(&[(TRACE_AGENT_URL, "http://agent:1/v0.4/traces")]).unwrap();
        assert_eq!(full.endpoint, "http://agent:1/v0.4/traces");
        assert_eq!(resolve_with(&[(AGENT_HOST, "::1")]).unwrap().endpoint, "http://[::1]:8126/v0.4/traces");
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (vars, variable) in [
            (&[(TRACE_AGENT_PORT, "0")][..], TRACE_AGENT_PORT),
            (&[(TRACE_AGENT_PORT, "http")][..], TRACE_AGENT_PORT),
            (&[(TRACE_AGENT_URL, "unix:///var/run/datadog/apm.socket")][..], TRACE_AGENT_URL),
            (&[(TRACE_AGENT_URL, "http://:8126")][..], TRACE_AGENT_URL),
            (&[(AGENT_HOST, "bad host")][..], AGENT_HOST),
        ] {
            let vars: &'static [(&'static str, &'static str)] = Box::leak(vars.to_vec().into_boxed_slice());
            match resolve_with(vars) {
                Err(Error::InvalidEnv { variable: v, .. }) => assert_eq!(v, variable),
                other => panic!("{vars:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn tags_take_both_forms() {
        assert_eq!(parse_tags("a:1,b:x y"), Some(vec![("a".into(), "1".into()), ("b".into(), "x y".into())]));
        assert_eq!(parse_tags("a:1 b:2"), Some(vec![("a".into(), "1".into()), ("b".into(), "2".into())]));
        assert_eq!(parse_tags("url:http://x"), Some(vec![("url".into(), "http://x".into())]));
        assert_eq!(parse_tags("novalue"), None);
        assert_eq!(parse_tags(":v"), None);
    }
}
