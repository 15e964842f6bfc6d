//! Own binary: sets global tags outside a capture (process-wide).
//!
//! Global tags (ddtrace `tracer.set_tags`): added to every span started after
//! the call, from any thread. In a file of their own: tags are process-wide.

use opentelemetry::Value;
use trace_runtime::testing::{capture, SpanDataExt};
use trace_runtime::{clear_global_tags, global_tags, set_global_tag, span, traced};

#[traced]
fn work() {}

#[test]
fn tags_apply_to_spans_started_after_the_call_from_any_thread() {
    let before = capture(work);
    assert_eq!(before.span("work").attribute("deployment.region"), None);

    set_global_tag("deployment.region", "eu-west-1");
    set_global_tag("build.number", 1234);

    let same_thread = capture(work);
    let other_thread = std::thread::spawn(|| capture(work)).join().expect("thread");
    for c in [&same_thread, &other_thread] {
        let span = c.span("work");
        assert_eq!(span.attribute_str("deployment.region"), Some("eu-west-1"));
        assert_eq!(span.attribute("build.number"), Some(&Value::I64(1234)));
    }

    // Manual and raw OpenTelemetry spans get them too.
    let manual = capture(|| {
        let _s = span("manual").enter();
        opentelemetry::trace::Tracer::in_span(&opentelemetry::global::tracer("raw"), "raw", |_| {});
    });
    assert_eq!(manual.span("manual").attribute_str("deployment.region"), Some("eu-west-1"));
    assert_eq!(manual.span("raw").attribute_str("deployment.region"), Some("eu-west-1"));

    // Setting a key again replaces it; None removes it.
    set_global_tag("deployment.region", "us-east-1");
    set_global_tag("build.number", None::<i64>);
    let replaced = capture(work);
    assert_eq!(replaced.span("work").attribute_str("deployment.region"), Some("us-east-1"));
    assert_eq!(replaced.span("work").attribute("build.number"), None);
    assert_eq!(global_tags().len(), 1);

    clear_global_tags();
    let cleared = capture(work);
    assert_eq!(cleared.span("work").attribute("deployment.region"), None);
}
