//! Every integration test that needs nothing process-wide — only
//! `testing::capture`, its own provider or receiver, or
//! `Builder::env_lookup` — in one test binary: one link step instead of one
//! per file, and the captures run in parallel as users' tests do. Tests that
//! install the runtime, set process-wide global tags (outside a capture), a
//! global provider, subscriber or propagator, or read the process environment
//! keep a binary of their own next to this folder.

mod async_runtime;
mod async_shapes;
mod capture_assertions;
mod capture_isolation;
mod capture_server;
mod console_tree;
mod dd_last_parent;
mod ddtrace_args;
mod env_config;
mod errors_panics;
mod global_tags_parallel;
mod http_client;
mod http_common;
mod http_server;
mod interop_logs;
mod logs_capture;
mod macro_args;
mod macro_hygiene;
mod macro_impl;
mod macro_links_parent;
mod manual_spans;
mod propagation;
mod propagation_datadog;
mod propagation_formats;
mod receiver_smoke;
mod traced_attrs;
mod traced_fns;
mod tracing_layer;
