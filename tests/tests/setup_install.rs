//! Own binary: installs the runtime, several times in order.
//!
//! `init()` → `install()` → `Guard`: resource, exporters, sampler, flushing
//! on drop, and what happens around it. A file of its own: the provider is
//! process-wide, so these steps run in one test, in order.

use opentelemetry::trace::Tracer;
use opentelemetry::Value;
use opentelemetry_sdk::trace::Sampler;
use trace_runtime::testing::SpanDataExt;
use trace_runtime::{traced, Error};
use traced_tests::memory::MemoryExporter;

#[traced(attrs(n = n))]
fn work(n: u32) {
    opentelemetry::global::tracer("raw").in_span("raw.inside", |_| {});
}

#[test]
fn install_exports_flushes_on_drop_and_restores() {
    // 1. Installed with a service, a version, an environment and an exporter.
    let exporter = MemoryExporter::default();
    let guard = trace_runtime::init()
        .service_name("orders")
        .service_version("2.1.0")
        .environment("staging")
        .resource_attribute("team", "payments")
        .exporter(exporter.clone())
        .install()
        .expect("install");

    // A second install while the guard lives is refused, with advice.
    let again = trace_runtime::init().install();
    match again {
        Err(error @ Error::AlreadyInstalled) => assert!(error.to_string().contains("drop it")),
        other => panic!("expected AlreadyInstalled, got {other:?}"),
    }

    work(1);
    assert!(exporter.spans().is_empty(), "batch export: nothing before a flush");
    guard.flush().expect("flush");
    let spans = exporter.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names, ["raw.inside", "work"]);
    assert_eq!(spans[1].attribute("n"), Some(&Value::I64(1)));
    assert!(spans[0].is_child_of(&spans[1]));

    let resource = exporter.resource().expect("resource given to the exporter");
    let get = |key: &'static str| resource.get(&opentelemetry::Key::from_static_str(key)).map(|v| v.to_string());
    assert_eq!(get("service.name").as_deref(), Some("orders"));
    assert_eq!(get("service.version").as_deref(), Some("2.1.0"));
    assert_eq!(get("deployment.environment.name").as_deref(), Some("staging"));
    assert_eq!(get("team").as_deref(), Some("payments"));
    assert_eq!(get("telemetry.sdk.language").as_deref(), Some("rust"));

    // 2. Dropping the guard flushes what is still buffered.
    work(2);
    drop(guard);
    assert_eq!(exporter.spans().len(), 4);

    // 3. After shutdown, spans go nowhere and the exporter sees nothing new.
    work(3);
    assert_eq!(exporter.spans().len(), 4);

    // 4. A new install works, here with a sampler that drops everything.
    let dropped = MemoryExporter::default();
    let guard = trace_runtime::init()
        .sampler(Sampler::AlwaysOff)
        .exporter(dropped.clone())
        .install()
        .expect("second install after shutdown");
    work(4);
    guard.shutdown().expect("shutdown");
    assert!(dropped.spans().is_empty());

    // 5. The default service name follows the specification.
    let named = MemoryExporter::default();
    let guard = trace_runtime::init().exporter(named.clone()).install().expect("install");
    guard.shutdown().expect("shutdown");
    let resource = named.resource().expect("resource");
    let service = resource.get(&opentelemetry::Key::from_static_str("service.name")).map(|v| v.to_string());
    assert!(service.unwrap_or_default().starts_with("unknown_service:setup_install"));
}
