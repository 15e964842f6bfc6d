//! The functions under test: one trivial `#[inline(never)]` body, [`work`],
//! wrapped by each peer the way its users would write it.

use std::hint::black_box;

use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;

/// The body every case runs: a plain call costs about one of these.
#[inline(never)]
pub fn work(x: u64) -> u64 {
    black_box(x).wrapping_mul(31).wrapping_add(7)
}

/// Children per parent in the `nested` cases.
pub const CHILDREN: u64 = 10;

/// `#[traced]`, as users write it.
pub mod traced {
    use trace_runtime::traced;

    use super::{work, CHILDREN};

    /// One span around [`work`].
    #[traced]
    #[inline(never)]
    pub fn root(x: u64) -> u64 {
        work(x)
    }

    /// One span with three attributes (an integer argument, a string, a bool).
    #[traced(attrs(item.id = x, item.kind = "book", item.cached = true))]
    #[inline(never)]
    pub fn attrs3(x: u64) -> u64 {
        work(x)
    }

    /// An async fn, polled to completion by the benchmark.
    #[traced]
    #[inline(never)]
    pub async fn run_async(x: u64) -> u64 {
        work(x)
    }

    /// One span whose context raw OpenTelemetry calls read (as a library
    /// logging the current span ids would).
    #[traced]
    #[inline(never)]
    pub fn reads_context(x: u64) -> u64 {
        use opentelemetry::trace::TraceContextExt as _;
        let id = opentelemetry::trace::get_active_span(|span| span.span_context().span_id());
        let recording = opentelemetry::Context::map_current(|cx| cx.span().is_recording());
        work(x ^ u64::from_be_bytes(id.to_bytes()) ^ u64::from(recording))
    }

    /// A child span.
    #[traced]
    #[inline(never)]
    pub fn child(x: u64) -> u64 {
        work(x)
    }

    /// A parent span with [`CHILDREN`] children.
    #[traced]
    #[inline(never)]
    pub fn parent(x: u64) -> u64 {
        let mut acc = 0u64;
        for i in 0..CHILDREN {
            acc = acc.wrapping_add(child(x + i));
        }
        acc
    }
}

/// The raw OpenTelemetry API: `tracer.in_span(..)`.
pub mod raw {
    use super::*;

    macro_rules! code_attrs {
        ($function:literal) => {
            [
                KeyValue::new("code.function.name", concat!(module_path!(), "::", $function)),
                KeyValue::new("code.file.path", file!()),
                KeyValue::new("code.line.number", i64::from(line!())),
            ]
        };
    }

    /// The attributes the five global tags of the `tags5` case add.
    pub fn tag_attrs() -> [KeyValue; 5] {
        [
            KeyValue::new("deployment.region", "eu-west-1"),
            KeyValue::new("team", "payments"),
            KeyValue::new("build.number", 1234),
            KeyValue::new("canary", false),
            KeyValue::new("host.pool", "blue"),
        ]
    }

    /// `in_span` around [`work`].
    #[inline(never)]
    pub fn root<T: Tracer>(tracer: &T, x: u64) -> u64
    where
        T::Span: Send + Sync + 'static,
    {
        tracer.in_span("root", |_| work(x))
    }

    /// `in_span` with the three `code.*` attributes `#[traced]` records.
    #[inline(never)]
    pub fn root_code(tracer: &SdkTracer, x: u64) -> u64 {
        let builder = tracer.span_builder("root").with_attributes(code_attrs!("root_code"));
        tracer.in_span_with_builder(builder, |_| work(x))
    }

    /// `in_span` with three attributes.
    #[inline(never)]
    pub fn attrs3(tracer: &SdkTracer, x: u64) -> u64 {
        let builder = tracer.span_builder("attrs3").with_attributes([
            KeyValue::new("item.id", x as i64),
            KeyValue::new("item.kind", "book"),
            KeyValue::new("item.cached", true),
        ]);
        tracer.in_span_with_builder(builder, |_| work(x))
    }

    /// `in_span` with three attributes and the `code.*` ones.
    #[inline(never)]
    pub fn attrs3_code(tracer: &SdkTracer, x: u64) -> u64 {
        let mut attributes = Vec::with_capacity(6);
        attributes.extend(code_attrs!("attrs3_code"));
        attributes.extend([
            KeyValue::new("item.id", x as i64),
            KeyValue::new("item.kind", "book"),
            KeyValue::new("item.cached", true),
        ]);
        let builder = tracer.span_builder("attrs3").with_attributes(attributes);
        tracer.in_span_with_builder(builder, |_| work(x))
    }

    /// `in_span` with the five attributes the `tags5` case's tags add.
    #[inline(never)]
    pub fn tags5(tracer: &SdkTracer, x: u64) -> u64 {
        let builder = tracer.span_builder("root").with_attributes(tag_attrs());
        tracer.in_span_with_builder(builder, |_| work(x))
    }

    /// `in_span` with the five tag attributes and the `code.*` ones.
    #[inline(never)]
    pub fn tags5_code(tracer: &SdkTracer, x: u64) -> u64 {
        let mut attributes = Vec::with_capacity(8);
        attributes.extend(code_attrs!("tags5_code"));
        attributes.extend(tag_attrs());
        let builder = tracer.span_builder("root").with_attributes(attributes);
        tracer.in_span_with_builder(builder, |_| work(x))
    }

    /// The future of an async fn, with its span current while polled
    /// (`FutureExt::with_context`); the span ends when the future is dropped.
    pub fn run_async(tracer: &SdkTracer, x: u64) -> impl std::future::Future<Output = u64> {
        use opentelemetry::context::FutureExt as _;
        let span = tracer.start("run_async");
        async move { work(x) }.with_context(Context::current_with_span(span))
    }

    /// A child span.
    #[inline(never)]
    pub fn child(tracer: &SdkTracer, x: u64) -> u64 {
        tracer.in_span("child", |_| work(x))
    }

    /// A parent span with [`CHILDREN`] children.
    #[inline(never)]
    pub fn parent(tracer: &SdkTracer, x: u64) -> u64 {
        tracer.in_span("parent", |_| {
            let mut acc = 0u64;
            for i in 0..CHILDREN {
                acc = acc.wrapping_add(child(tracer, x + i));
            }
            acc
        })
    }

    /// A child span with the `code.*` attributes.
    #[inline(never)]
    pub fn child_code(tracer: &SdkTracer, x: u64) -> u64 {
        let builder = tracer.span_builder("child").with_attributes(code_attrs!("child_code"));
        tracer.in_span_with_builder(builder, |_| work(x))
    }

    /// A parent span with [`CHILDREN`] children, all with the `code.*` attributes.
    #[inline(never)]
    pub fn parent_code(tracer: &SdkTracer, x: u64) -> u64 {
        let builder = tracer.span_builder("parent").with_attributes(code_attrs!("parent_code"));
        tracer.in_span_with_builder(builder, |_| {
            let mut acc = 0u64;
            for i in 0..CHILDREN {
                acc = acc.wrapping_add(child_code(tracer, x + i));
            }
            acc
        })
    }
}

/// tracing's `#[instrument]` (with or without a subscriber).
pub mod tracing {
    use super::{work, CHILDREN};

    /// One span around [`work`].
    #[tracing::instrument(skip_all)]
    #[inline(never)]
    pub fn root(x: u64) -> u64 {
        work(x)
    }

    /// One span with three fields.
    #[tracing::instrument(skip_all, fields(item.id = x, item.kind = "book", item.cached = true))]
    #[inline(never)]
    pub fn attrs3(x: u64) -> u64 {
        work(x)
    }

    /// An async fn.
    #[tracing::instrument(skip_all)]
    #[inline(never)]
    pub async fn run_async(x: u64) -> u64 {
        work(x)
    }

    /// A child span.
    #[tracing::instrument(skip_all)]
    #[inline(never)]
    pub fn child(x: u64) -> u64 {
        work(x)
    }

    /// A parent span with [`CHILDREN`] children.
    #[tracing::instrument(skip_all)]
    #[inline(never)]
    pub fn parent(x: u64) -> u64 {
        let mut acc = 0u64;
        for i in 0..CHILDREN {
            acc = acc.wrapping_add(child(x + i));
        }
        acc
    }
}

/// fastrace's `#[trace]`. It only records under a local parent, so a root is
/// `Span::root` + `set_local_parent` (fastrace has no root attribute).
pub mod fastrace {
    use std::borrow::Cow;

    use fastrace::collector::SpanContext;
    use fastrace::future::FutureExt as _;
    use fastrace::Span;

    use super::{work, CHILDREN};

    /// A `#[trace]` function: with no local parent (a library called by an
    /// application that set up nothing) it records nothing.
    #[fastrace::trace]
    #[inline(never)]
    pub fn traced(x: u64) -> u64 {
        work(x)
    }

    /// One root span around [`work`], made the local parent.
    #[inline(never)]
    pub fn root(x: u64) -> u64 {
        let root = Span::root("root", SpanContext::random());
        let _guard = root.set_local_parent();
        work(x)
    }

    /// A root span that the sampling decision dropped.
    #[inline(never)]
    pub fn root_unsampled(x: u64) -> u64 {
        let root = Span::root("root", SpanContext::random().sampled(false));
        let _guard = root.set_local_parent();
        work(x)
    }

    /// One root span with three properties (fastrace properties are
    /// strings: the integer is formatted per call).
    #[inline(never)]
    pub fn attrs3(x: u64) -> u64 {
        let root = Span::root("attrs3", SpanContext::random()).with_properties(|| {
            [
                ("item.id", Cow::Owned(x.to_string())),
                ("item.kind", Cow::Borrowed("book")),
                ("item.cached", Cow::Borrowed("true")),
            ]
        });
        let _guard = root.set_local_parent();
        work(x)
    }

    /// An async block in a root span.
    pub fn run_async(x: u64) -> impl std::future::Future<Output = u64> {
        async move { work(x) }.in_span(Span::root("run_async", SpanContext::random()))
    }

    /// A child span.
    #[fastrace::trace]
    #[inline(never)]
    pub fn child(x: u64) -> u64 {
        work(x)
    }

    /// A root span with [`CHILDREN`] `#[trace]` children.
    #[inline(never)]
    pub fn parent(x: u64) -> u64 {
        let root = Span::root("parent", SpanContext::random());
        let _guard = root.set_local_parent();
        let mut acc = 0u64;
        for i in 0..CHILDREN {
            acc = acc.wrapping_add(child(x + i));
        }
        acc
    }
}
