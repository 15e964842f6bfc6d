//! A real OTLP receiver for integration tests: Datadog's APM test agent
//! (PyPI package `ddapm-test-agent`, installed by `.ci/install-test-agent`).
//!
//! It accepts OTLP/HTTP (protobuf and JSON) and OTLP/gRPC and hands back what
//! it received, with every OTLP field intact (resource attributes, ids, typed
//! attributes, events, links, status, kind).
//!
//! ```no_run
//! use std::time::Duration;
//! use traced_tests::agent::TestAgent;
//!
//! let agent = TestAgent::start();
//! // point an exporter at agent.otlp_http_traces_endpoint() (programmatic) or
//! // agent.otlp_http_endpoint() (OTEL_EXPORTER_OTLP_ENDPOINT), send spans, then:
//! let spans = agent.wait_for_spans(1, Duration::from_secs(10));
//! assert_eq!(spans[0].name, "work");
//! ```
//!
//! # Where the data comes from
//!
//! The agent listens on three ports, and each `TestAgent` gets its own three:
//!
//! * OTLP/HTTP port: `POST /v1/traces` receives; `GET /test/session/traces`
//!   returns a JSON array with one element per export request, each being the
//!   `ExportTraceServiceRequest` *as received*: for protobuf requests decoded
//!   with protobuf's `MessageToDict` (snake_case keys, ids in base64, int64s as
//!   strings, enums as names like `SPAN_KIND_SERVER`, default values left
//!   out); for JSON requests the body verbatim (OTLP/JSON: camelCase keys, hex
//!   ids). [`TestAgent::traces`] returns that array; [`TestAgent::spans`]
//!   flattens and normalises both shapes into [`ReceivedSpan`]s.
//! * OTLP/gRPC port: the agent re-posts every gRPC export to its own OTLP/HTTP
//!   port as protobuf, so gRPC data shows up in the same place.
//! * Datadog APM port (`/v0.4/traces`, ...): Datadog-format traces; its
//!   `GET /test/session/traces` does NOT show OTLP data.
//!
//! # Isolation
//!
//! [`TestAgent::start`] starts a fresh agent process (about half a second),
//! so a test that owns its agent sees only its own spans. To share one
//! agent, use [`TestAgent::shared`] plus [`TestAgent::session`]: every
//! exporter must then send the session's header
//! ([`Session::header`]), because the agent also counts requests *without*
//! a token towards the session that started most recently.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value as Json;

/// Environment variable that overrides the path of the `ddapm-test-agent` binary.
pub const AGENT_PATH_ENV: &str = "TRACED_TEST_AGENT";
/// The header (HTTP) / metadata key (gRPC, lower-cased) that tags an export
/// with a session token.
pub const SESSION_HEADER: &str = "X-Datadog-Test-Session-Token";

/// Every trace check the agent runs on native payloads (headers, trace
/// count, content length, `meta.events` JSON, peer and DD service rules).
pub const NATIVE_TRACE_CHECKS: &str = "trace_count_header,meta_tracer_version_header,trace_content_length,\
                                       meta_events_is_valid_json,trace_peer_service,trace_dd_service";

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `ddapm-test-agent` on three free loopback ports; killed on drop.
#[derive(Debug)]
pub struct TestAgent {
    child: Child,
    /// Closing it tells the wrapper shell to kill the agent (see `spawn`).
    stdin: Option<ChildStdin>,
    apm_port: u16,
    otlp_http_port: u16,
    otlp_grpc_port: u16,
    log_path: PathBuf,
}

impl TestAgent {
    /// Starts a fresh agent and waits until it answers.
    ///
    /// # Panics
    ///
    /// If the agent is not installed (the message says which command installs
    /// it), or does not come up within 30 s: tests fail, they never skip.
    pub fn start() -> TestAgent {
        let bin = agent_binary();
        let mut last_err = String::new();
        // A port picked here may be taken by someone else before the agent
        // binds it; then the agent exits and we try again with new ports.
        for _ in 0..3 {
            match Self::spawn(&bin) {
                Ok(agent) => return agent,
                Err(e) => last_err = e,
            }
        }
        panic!("ddapm-test-agent ({}) did not start: {last_err}", bin.display());
    }

    /// One agent for the whole test process, started on first use and killed
    /// when the process exits. Use with [`TestAgent::session`].
    pub fn shared() -> &'static TestAgent {
        static SHARED: OnceLock<TestAgent> = OnceLock::new();
        SHARED.get_or_init(TestAgent::start)
    }

    fn spawn(bin: &Path) -> Result<TestAgent, String> {
        let [apm_port, otlp_http_port, otlp_grpc_port] = crate::loopback::free_ports::<3>();
        let log_path =
            std::env::temp_dir().join(format!("ddapm-test-agent-{}-{otlp_http_port}.log", std::process::id()));
        let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        // The agent runs under a small shell that kills it (and removes its
        // log) as soon as our end of its stdin closes: on drop, and also when
        // this process dies without running destructors (abort, SIGKILL, the
        // `shared` static), so no agent outlives its test run.
        let script = r#"exec 3<&0
"$0" "$@" </dev/null &
pid=$!
(read -r _ <&3; kill "$pid" 2>/dev/null; rm -f "$TRACED_AGENT_LOG") &
wait "$pid""#;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(bin)
            .args(["--host", "127.0.0.1"])
            .arg(format!("--port={apm_port}"))
            .arg(format!("--otlp-http-port={otlp_http_port}"))
            .arg(format!("--otlp-grpc-port={otlp_grpc_port}"))
            // Snapshots are not used; keep the agent away from the work tree.
            .arg(format!("--snapshot-dir={}", std::env::temp_dir().display()))
            .env("TRACED_AGENT_LOG", &log_path)
            // Datadog's trace checks, on native (`/v0.4/traces`) payloads only.
            .env("ENABLED_CHECKS", NATIVE_TRACE_CHECKS)
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::piped())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let stdin = child.stdin.take();
        let mut agent = TestAgent { child, stdin, apm_port, otlp_http_port, otlp_grpc_port, log_path };
        let ready = || {
            http_get(otlp_http_port, "/test/session/traces").is_ok_and(|r| r.0 == 200)
                && http_get(apm_port, "/info").is_ok_and(|r| r.0 == 200)
                && TcpStream::connect_timeout(&crate::loopback::addr(otlp_grpc_port), HTTP_TIMEOUT).is_ok()
        };
        let log_path = agent.log_path.clone();
        let log = || log_tail_of(&log_path);
        crate::loopback::wait_until_ready(&mut agent.child, STARTUP_TIMEOUT, Duration::from_millis(50), ready, log)?;
        Ok(agent)
    }

    /// Base URL of the OTLP/HTTP receiver, e.g. `http://127.0.0.1:40123`: the
    /// value for `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporter appends `/v1/traces`).
    pub fn otlp_http_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.otlp_http_port)
    }

    /// Full traces URL, `…/v1/traces`: the value for
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or opentelemetry-otlp's
    /// programmatic `with_endpoint`, both of which are used as they are.
    pub fn otlp_http_traces_endpoint(&self) -> String {
        format!("{}/v1/traces", self.otlp_http_endpoint())
    }

    /// URL of the OTLP/gRPC receiver, e.g. `http://127.0.0.1:40124`.
    pub fn otlp_grpc_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.otlp_grpc_port)
    }

    /// URL of the Datadog APM intake (`/v0.4/traces`, `/info`, ...).
    pub fn apm_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.apm_port)
    }

    /// Path of the agent's log (its stdout and stderr).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Everything received over OTLP (HTTP or gRPC) that carried no session
    /// token: a JSON array of `ExportTraceServiceRequest`s, one per export
    /// call, in arrival order (see the module docs for their two shapes).
    pub fn traces(&self) -> Json {
        self.fetch_traces(None)
    }

    /// The spans of [`TestAgent::traces`], flattened and normalised.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        spans_from_requests(&self.traces())
    }

    /// Polls until at least `n` spans (without a session token) arrived and
    /// returns all of them.
    ///
    /// # Panics
    ///
    /// After `timeout`, with what did arrive.
    pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> Vec<ReceivedSpan> {
        self.wait(None, n, timeout)
    }

    /// Forgets everything received so far (all sessions included).
    pub fn clear(&self) {
        self.get_ok("/test/session/clear");
    }

    /// Starts a session with a fresh token on this agent. Only exports that
    /// send [`Session::header`] are attributed to it (but see the module docs
    /// for untagged exports).
    pub fn session(&self) -> Session<'_> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let token = format!("traced-{}-{nanos}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        self.get_ok(&format!("/test/session/start?test_session_token={token}"));
        Session { agent: self, token }
    }

    fn fetch_traces(&self, token: Option<&str>) -> Json {
        let path = match token {
            Some(t) => format!("/test/session/traces?test_session_token={t}"),
            None => "/test/session/traces".to_owned(),
        };
        let body = self.get_ok(&path);
        serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!("test agent returned non-JSON for {path}: {e}: {}", String::from_utf8_lossy(&body))
        })
    }

    fn wait(&self, token: Option<&str>, n: usize, timeout: Duration) -> Vec<ReceivedSpan> {
        let deadline = Instant::now() + timeout;
        loop {
            let raw = self.fetch_traces(token);
            let spans = spans_from_requests(&raw);
            if spans.len() >= n {
                return spans;
            }
            if Instant::now() > deadline {
                panic!(
                    "test agent: expected at least {n} span(s) within {timeout:?}, got {}: {raw:#}\nagent log:\n{}",
                    spans.len(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn get_ok(&self, path: &str) -> Vec<u8> {
        match http_get(self.otlp_http_port, path) {
            Ok((200, body)) => body,
            Ok((status, body)) => panic!("test agent: GET {path} -> {status}: {}", String::from_utf8_lossy(&body)),
            Err(e) => panic!("test agent: GET {path} failed: {e}\nagent log:\n{}", self.log_tail()),
        }
    }

    /// Native (Datadog-format) traces received on the APM port: a JSON
    /// array of traces, each an array of spans as the agent decoded them
    /// (`service`, `name`, `resource`, `type`, ids as numbers, `meta`,
    /// `metrics`, ...).
    pub fn datadog_traces(&self) -> Json {
        let body = self.apm_get_ok("/test/session/traces");
        serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!("test agent returned non-JSON native traces: {e}: {}", String::from_utf8_lossy(&body))
        })
    }

    /// Polls until at least `n` native spans arrived and returns them all,
    /// flattened in arrival order.
    ///
    /// # Panics
    ///
    /// After `timeout`, with what did arrive.
    pub fn wait_for_datadog_spans(&self, n: usize, timeout: Duration) -> Vec<Json> {
        let deadline = Instant::now() + timeout;
        loop {
            let traces = self.datadog_traces();
            let spans: Vec<Json> =
                traces.as_array().into_iter().flatten().filter_map(Json::as_array).flatten().cloned().collect();
            if spans.len() >= n {
                return spans;
            }
            if Instant::now() > deadline {
                panic!(
                    "test agent: expected at least {n} native span(s) within {timeout:?}, got {}: {traces:#}\n\
                     agent log:\n{}",
                    spans.len(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The agent's trace-check verdict on everything received natively:
    /// `Ok` when no check failed, else the failures as the agent words them.
    pub fn trace_check_failures(&self) -> Result<(), String> {
        match http_get(self.apm_port, "/test/trace_check/failures") {
            Ok((200, _)) => Ok(()),
            Ok((status, body)) => Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body))),
            Err(e) => panic!("test agent: GET /test/trace_check/failures failed: {e}"),
        }
    }

    /// Per check, how many times it passed, failed or was skipped (JSON:
    /// `{"check": {"Passed_Checks": n, ...}}`).
    pub fn trace_check_summary(&self) -> Json {
        let body = self.apm_get_ok("/test/trace_check/summary");
        serde_json::from_slice(&body).unwrap_or(Json::Null)
    }

    /// Compares what arrived natively with the snapshot `file` (a path
    /// without `.json`), with the agent's normalisation (ids renumbered,
    /// times left out) plus `ignores` (e.g. `meta.otel.trace_id`) and
    /// `regex_placeholders` (`name:regex` pairs replaced in every string
    /// value). A missing snapshot is written by the agent, and this says so.
    pub fn datadog_snapshot(&self, file: &Path, ignores: &[&str], regex_placeholders: &[&str]) -> Result<(), String> {
        let existed = file.with_extension("json").is_file();
        let path = format!(
            "/test/session/snapshot?file={}&ignores={}&regex_placeholders={}",
            percent_encode(&file.display().to_string()),
            percent_encode(&ignores.join(",")),
            percent_encode(&regex_placeholders.join(","))
        );
        match http_get(self.apm_port, &path) {
            Ok((200, _)) if existed => Ok(()),
            Ok((200, _)) => Err(format!(
                "no snapshot at {}.json: the agent wrote one from this run; check it and commit it",
                file.display()
            )),
            Ok((status, body)) => Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body))),
            Err(e) => Err(format!("GET {path} failed: {e}")),
        }
    }

    fn apm_get_ok(&self, path: &str) -> Vec<u8> {
        match http_get(self.apm_port, path) {
            Ok((200, body)) => body,
            Ok((status, body)) => panic!("test agent: GET {path} -> {status}: {}", String::from_utf8_lossy(&body)),
            Err(e) => panic!("test agent: GET {path} failed: {e}\nagent log:\n{}", self.log_tail()),
        }
    }

    fn log_tail(&self) -> String {
        log_tail_of(&self.log_path)
    }
}

/// The last lines the agent logged, without our own polling (which would
/// drown everything else).
fn log_tail_of(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().filter(|l| !l.contains("GET /test/session/")).collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

impl Drop for TestAgent {
    fn drop(&mut self) {
        // Closing stdin makes the wrapper SIGTERM the agent and exit.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A session on a [`TestAgent`]: sees only exports that carry its token.
#[derive(Debug)]
pub struct Session<'a> {
    agent: &'a TestAgent,
    token: String,
}

impl Session<'_> {
    /// The session token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The header to add to every export of this session: as an HTTP header
    /// (`with_headers`), or lower-cased as gRPC metadata (`with_metadata`).
    pub fn header(&self) -> (&'static str, String) {
        (SESSION_HEADER, self.token.clone())
    }

    /// Like [`TestAgent::traces`], for this session.
    pub fn traces(&self) -> Json {
        self.agent.fetch_traces(Some(&self.token))
    }

    /// The OTLP metrics export requests of this session, in arrival order:
    /// `ExportMetricsServiceRequest`s as JSON with proto field names.
    pub fn metrics(&self) -> Json {
        let path = format!("/test/session/metrics?test_session_token={}", self.token);
        let body = self.agent.get_ok(&path);
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("test agent returned non-JSON for {path}: {e}"))
    }

    /// The OTLP logs export requests of this session, in arrival order:
    /// `ExportLogsServiceRequest`s as JSON with proto field names.
    pub fn logs(&self) -> Json {
        let path = format!("/test/session/logs?test_session_token={}", self.token);
        let body = self.agent.get_ok(&path);
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("test agent returned non-JSON for {path}: {e}"))
    }

    /// Like [`TestAgent::spans`], for this session.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        spans_from_requests(&self.traces())
    }

    /// Like [`TestAgent::wait_for_spans`], for this session.
    pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> Vec<ReceivedSpan> {
        self.agent.wait(Some(&self.token), n, timeout)
    }
}

// ---------------------------------------------------------------------------
// Received data, normalised

/// An attribute value as received, with its OTLP type.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// `stringValue`
    String(String),
    /// `boolValue`
    Bool(bool),
    /// `intValue`
    I64(i64),
    /// `doubleValue`
    F64(f64),
    /// `arrayValue`
    Array(Vec<AttrValue>),
    /// `kvlistValue`
    Map(BTreeMap<String, AttrValue>),
    /// `bytesValue`
    Bytes(Vec<u8>),
    /// An `AnyValue` with no value set.
    Empty,
}

impl AttrValue {
    /// The string, if this is a `String`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::String(s) => Some(s),
            _ => None,
        }
    }
    /// The integer, if this is an `I64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AttrValue::I64(v) => Some(*v),
            _ => None,
        }
    }
    /// The float, if this is an `F64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::F64(v) => Some(*v),
            _ => None,
        }
    }
    /// The bool, if this is a `Bool`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            AttrValue::Bool(v) => Some(*v),
            _ => None,
        }
    }
}

impl PartialEq<&str> for AttrValue {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}
impl PartialEq<i64> for AttrValue {
    fn eq(&self, other: &i64) -> bool {
        self.as_i64() == Some(*other)
    }
}
impl PartialEq<f64> for AttrValue {
    fn eq(&self, other: &f64) -> bool {
        self.as_f64() == Some(*other)
    }
}
impl PartialEq<bool> for AttrValue {
    fn eq(&self, other: &bool) -> bool {
        self.as_bool() == Some(*other)
    }
}

/// Attributes by key.
pub type Attributes = BTreeMap<String, AttrValue>;

/// A span event as received.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedEvent {
    /// Event name.
    pub name: String,
    /// Timestamp, ns since the epoch.
    pub time_unix_nano: u64,
    /// Event attributes.
    pub attributes: Attributes,
}

/// A span link as received.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedLink {
    /// Linked trace id, 32 lower-case hex digits.
    pub trace_id: String,
    /// Linked span id, 16 lower-case hex digits.
    pub span_id: String,
    /// W3C trace state, `""` if none.
    pub trace_state: String,
    /// Link attributes.
    pub attributes: Attributes,
}

/// One span as the receiver got it, whichever OTLP encoding carried it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// Resource attributes (`service.name`, ...).
    pub resource: Attributes,
    /// Instrumentation scope name.
    pub scope_name: String,
    /// Instrumentation scope version, `""` if none.
    pub scope_version: String,
    /// 32 lower-case hex digits.
    pub trace_id: String,
    /// 16 lower-case hex digits.
    pub span_id: String,
    /// 16 hex digits, `None` for a root span.
    pub parent_span_id: Option<String>,
    /// W3C trace state, `""` if none.
    pub trace_state: String,
    /// OTLP span flags: W3C trace flags (bit 0: sampled) and bits 8/9
    /// (`0x100` parent's remoteness known, `0x200` parent is remote).
    pub flags: u32,
    /// Span name.
    pub name: String,
    /// `"internal"`, `"server"`, `"client"`, `"producer"`, `"consumer"` or
    /// `"unspecified"`.
    pub kind: String,
    /// Start, ns since the epoch.
    pub start_time_unix_nano: u64,
    /// End, ns since the epoch.
    pub end_time_unix_nano: u64,
    /// Span attributes.
    pub attributes: Attributes,
    /// Attributes the SDK dropped (limits).
    pub dropped_attributes_count: u64,
    /// Events, in order.
    pub events: Vec<ReceivedEvent>,
    /// Links, in order.
    pub links: Vec<ReceivedLink>,
    /// `"unset"`, `"ok"` or `"error"`.
    pub status_code: String,
    /// Status description, `""` if none.
    pub status_message: String,
    /// The span's JSON exactly as the agent returned it.
    pub raw: Json,
}

impl ReceivedSpan {
    /// A span attribute.
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attributes.get(key)
    }

    /// A resource attribute.
    pub fn resource_attr(&self, key: &str) -> Option<&AttrValue> {
        self.resource.get(key)
    }

    /// The first event with this name.
    pub fn event(&self, name: &str) -> Option<&ReceivedEvent> {
        self.events.iter().find(|e| e.name == name)
    }
}

/// Flattens the agent's list of `ExportTraceServiceRequest`s (protobuf-decoded
/// or OTLP/JSON) into spans, in arrival order.
pub fn spans_from_requests(requests: &Json) -> Vec<ReceivedSpan> {
    let mut out = Vec::new();
    for request in requests.as_array().into_iter().flatten() {
        for rs in field(request, "resource_spans").as_array().into_iter().flatten() {
            let resource = attributes(field(field(rs, "resource"), "attributes"));
            for ss in field(rs, "scope_spans").as_array().into_iter().flatten() {
                let scope = field(ss, "scope");
                let scope_name = string(field(scope, "name"));
                let scope_version = string(field(scope, "version"));
                for span in field(ss, "spans").as_array().into_iter().flatten() {
                    out.push(span_from_json(span, &resource, &scope_name, &scope_version));
                }
            }
        }
    }
    out
}

fn span_from_json(span: &Json, resource: &Attributes, scope_name: &str, scope_version: &str) -> ReceivedSpan {
    let status = field(span, "status");
    let parent = id_hex(field(span, "parent_span_id"));
    ReceivedSpan {
        resource: resource.clone(),
        scope_name: scope_name.to_owned(),
        scope_version: scope_version.to_owned(),
        trace_id: id_hex(field(span, "trace_id")),
        span_id: id_hex(field(span, "span_id")),
        parent_span_id: (!parent.is_empty()).then_some(parent),
        trace_state: string(field(span, "trace_state")),
        flags: u32::try_from(uint(field(span, "flags"))).unwrap_or(u32::MAX),
        name: string(field(span, "name")),
        kind: enum_name(
            field(span, "kind"),
            "SPAN_KIND_",
            &["unspecified", "internal", "server", "client", "producer", "consumer"],
        ),
        start_time_unix_nano: uint(field(span, "start_time_unix_nano")),
        end_time_unix_nano: uint(field(span, "end_time_unix_nano")),
        attributes: attributes(field(span, "attributes")),
        dropped_attributes_count: uint(field(span, "dropped_attributes_count")),
        events: field(span, "events")
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| ReceivedEvent {
                name: string(field(e, "name")),
                time_unix_nano: uint(field(e, "time_unix_nano")),
                attributes: attributes(field(e, "attributes")),
            })
            .collect(),
        links: field(span, "links")
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| ReceivedLink {
                trace_id: id_hex(field(l, "trace_id")),
                span_id: id_hex(field(l, "span_id")),
                trace_state: string(field(l, "trace_state")),
                attributes: attributes(field(l, "attributes")),
            })
            .collect(),
        status_code: enum_name(field(status, "code"), "STATUS_CODE_", &["unset", "ok", "error"]),
        status_message: string(field(status, "message")),
        raw: span.clone(),
    }
}

static NULL: Json = Json::Null;

/// `obj[snake_key]`, or `obj[camelKey]` (protobuf's JSON names), or null.
fn field<'a>(obj: &'a Json, snake_key: &str) -> &'a Json {
    if let Some(v) = obj.get(snake_key) {
        return v;
    }
    let mut camel = String::with_capacity(snake_key.len());
    let mut upper = false;
    for c in snake_key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            camel.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            camel.push(c);
        }
    }
    obj.get(&camel).unwrap_or(&NULL)
}

fn string(v: &Json) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// Protobuf JSON writes 64-bit integers as strings; accept both.
fn int(v: &Json) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn uint(v: &Json) -> u64 {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or(0)
}

/// An enum given as a number or as its proto name (`SPAN_KIND_SERVER`),
/// as a lower-case short name; a missing field is the zero value.
fn enum_name(v: &Json, prefix: &str, names: &[&str]) -> String {
    if let Some(s) = v.as_str() {
        return s.strip_prefix(prefix).unwrap_or(s).to_ascii_lowercase();
    }
    let i = v.as_u64().unwrap_or(0);
    names.get(usize::try_from(i).unwrap_or(usize::MAX)).map_or_else(|| i.to_string(), |s| (*s).to_owned())
}

fn attributes(list: &Json) -> Attributes {
    list.as_array().into_iter().flatten().map(|kv| (string(field(kv, "key")), any_value(field(kv, "value")))).collect()
}

fn any_value(v: &Json) -> AttrValue {
    if let Some(s) = field(v, "string_value").as_str() {
        AttrValue::String(s.to_owned())
    } else if let Some(b) = field(v, "bool_value").as_bool() {
        AttrValue::Bool(b)
    } else if let Some(i) = int(field(v, "int_value")) {
        AttrValue::I64(i)
    } else if !field(v, "double_value").is_null() {
        let d = field(v, "double_value");
        AttrValue::F64(d.as_f64().or_else(|| d.as_str().and_then(|s| s.parse().ok())).unwrap_or(f64::NAN))
    } else if !field(v, "array_value").is_null() {
        let values = field(field(v, "array_value"), "values");
        AttrValue::Array(values.as_array().into_iter().flatten().map(any_value).collect())
    } else if !field(v, "kvlist_value").is_null() {
        AttrValue::Map(attributes(field(field(v, "kvlist_value"), "values")))
    } else if let Some(b) = field(v, "bytes_value").as_str() {
        AttrValue::Bytes(base64_decode(b).unwrap_or_default())
    } else {
        AttrValue::Empty
    }
}

/// Trace/span ids: hex in OTLP/JSON, base64 in protobuf's JSON mapping.
/// Returned as lower-case hex, `""` when absent or empty.
pub fn id_hex(v: &Json) -> String {
    let s = v.as_str().unwrap_or_default();
    let is_hex = (s.len() == 32 || s.len() == 16) && s.bytes().all(|b| b.is_ascii_hexdigit());
    if is_hex {
        return s.to_ascii_lowercase();
    }
    match base64_decode(s) {
        Some(bytes) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        None => s.to_owned(),
    }
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------
// Process plumbing

/// The agent binary: `$TRACED_TEST_AGENT`, else the project's venv, which
/// the setup step `bash .ci/install-test-agent` fills.
fn agent_binary() -> PathBuf {
    if let Some(path) = std::env::var_os(AGENT_PATH_ENV) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{AGENT_PATH_ENV}={} does not exist; unset it to use the project's \
             install (`bash .ci/install-test-agent`)",
            path.display()
        );
        return path;
    }
    let tests_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = tests_dir.parent().unwrap_or(tests_dir);
    let bin = root.join(".venv-test-agent/bin/ddapm-test-agent");
    // Installing is the project's setup step (`.ci/run` does it first), not
    // a test's: a test that downloads from PyPI is slow, flaky and surprising.
    assert!(
        bin.is_file(),
        "the OTLP test receiver (ddapm-test-agent) is not installed at {}.\n\
         Run once, from the repository root: bash .ci/install-test-agent\n\
         (it needs python3 >= 3.9 with venv and pip, and access to PyPI), \
         or point {AGENT_PATH_ENV} at a ddapm-test-agent binary.",
        bin.display()
    );
    bin
}

/// A minimal HTTP/1.1 GET: `(status, body)`.
fn http_get(port: u16, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let bad = |msg: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_owned());
    let mut stream = TcpStream::connect_timeout(&crate::loopback::addr(port), HTTP_TIMEOUT)?;
    stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
    stream.set_write_timeout(Some(HTTP_TIMEOUT))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )?;
    stream.flush()?;
    // No `shutdown(Write)` here: aiohttp takes a half-closed connection for
    // a disconnected client and answers with an empty body.
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;

    let split = response.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("no end of headers"))?;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let body = &response[split + 4..];
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| bad("bad status line"))?;
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(body).ok_or_else(|| bad("bad chunked body"))?
    } else if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.get(..len).ok_or_else(|| bad("short body"))?.to_vec()
    } else {
        body.to_vec()
    };
    Ok((status, body))
}

/// Percent-encodes everything but unreserved characters, for a query value.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = body.windows(2).position(|w| w == b"\r\n")?;
        let size_str = std::str::from_utf8(&body[..eol]).ok()?;
        let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
        body = &body[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_decode_from_base64_and_hex() {
        assert_eq!(id_hex(&Json::from("W47/95gDgQPSabYzgT/GDA==")), "5b8efff798038103d269b633813fc60c");
        assert_eq!(id_hex(&Json::from("7uGbfsPBsXQ=")), "eee19b7ec3c1b174");
        assert_eq!(id_hex(&Json::from("EEE19B7EC3C1B174")), "eee19b7ec3c1b174");
        assert_eq!(id_hex(&Json::Null), "");
    }

    #[test]
    fn dechunks() {
        assert_eq!(dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").as_deref(), Some(&b"abcde"[..]));
    }
}
