//! `#[traced]` on every kind of function and method: the span exists, has
//! the right name, code location and parent, and is current for the body.

use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry::Value;
use trace_runtime::testing::{capture, capture_async, SpanDataExt};
use trace_runtime::{current_span, traced};

#[traced]
fn plain() -> u32 {
    7
}

#[traced(name = "custom.name")]
fn renamed() {}

#[traced]
fn outer() {
    inner();
}

#[traced]
fn inner() {}

#[test]
fn default_name_is_the_function_identifier_and_custom_name_wins() {
    let c = capture(|| {
        assert_eq!(plain(), 7);
        renamed();
    });
    assert_eq!(c.names(), ["plain", "custom.name"]);
}

#[test]
fn code_location_goes_in_semconv_attributes() {
    let c = capture(plain);
    let span = c.span("plain");
    assert_eq!(span.attribute_str("code.function.name"), Some("suite::traced_fns::plain"));
    assert_eq!(span.attribute_str("code.file.path"), Some("tests/tests/suite/traced_fns.rs"));
    // The line `fn plain` is declared on, found in this file's own text.
    let index = include_str!("traced_fns.rs").lines().position(|l| l.starts_with("fn plain(")).expect("fn plain");
    let line = i64::try_from(index + 1).expect("a small line number");
    assert_eq!(span.attribute("code.line.number"), Some(&Value::I64(line)));
}

#[test]
fn nested_traced_calls_are_children() {
    let c = capture(outer);
    assert!(c.span("inner").is_child_of(c.span("outer")));
    assert!(c.span("outer").is_root());
    assert_eq!(c.tree(), "outer\n└─ inner\n");
}

#[traced]
fn reports_current() -> (String, String) {
    let span = current_span();
    (span.trace_id(), span.span_id())
}

#[test]
fn the_span_is_current_for_the_body() {
    let c = capture(reports_current);
    let (trace_id, span_id) = c.result().clone();
    let span = c.span("reports_current");
    assert_eq!(trace_id, span.span_context.trace_id().to_string());
    assert_eq!(span_id, span.span_context.span_id().to_string());
}

#[traced]
fn calls_raw_opentelemetry() {
    let tracer = opentelemetry::global::tracer("raw-library");
    tracer.in_span("raw.child", |cx| {
        assert!(cx.span().span_context().is_valid());
    });
}

#[test]
fn raw_opentelemetry_spans_inside_the_body_are_children() {
    let c = capture(calls_raw_opentelemetry);
    let raw = c.span("raw.child");
    assert!(raw.is_child_of(c.span("calls_raw_opentelemetry")));
    assert_eq!(raw.instrumentation_scope.name(), "raw-library");
}

#[test]
fn the_previous_span_is_current_again_after_the_call() {
    let c = capture(|| {
        let before = current_span().span_id();
        plain();
        assert_eq!(current_span().span_id(), before);
    });
    assert_eq!(c.names(), ["plain"]);
}

// --- methods, generics, lifetimes, patterns ---------------------------------

#[derive(Debug, Default)]
struct Counter {
    count: u32,
}

impl Counter {
    #[traced]
    fn get(&self) -> u32 {
        self.count
    }

    #[traced]
    fn bump(&mut self, by: u32) -> u32 {
        self.count += by;
        self.count
    }

    #[traced]
    fn into_count(self) -> u32 {
        self.count
    }

    #[traced]
    fn new_boxed() -> Box<Self> {
        Box::default()
    }
}

#[test]
fn methods_with_every_receiver() {
    let c = capture(|| {
        let mut counter = *Counter::new_boxed();
        counter.bump(2);
        assert_eq!(counter.get(), 2);
        counter.into_count()
    });
    assert_eq!(*c.result(), 2);
    assert_eq!(c.names(), ["new_boxed", "bump", "get", "into_count"]);
    assert_eq!(c.span("bump").attribute_str("code.function.name"), Some("suite::traced_fns::Counter::bump"));
}

trait Shape {
    fn area(&self) -> f64;
}

struct Square(f64);

impl Shape for Square {
    #[traced]
    fn area(&self) -> f64 {
        self.0 * self.0
    }
}

#[test]
fn trait_impl_methods() {
    let c = capture(|| Square(3.0).area());
    assert_eq!(*c.result(), 9.0);
    let path = c.span("area").attribute_str("code.function.name").unwrap_or_default().to_owned();
    assert!(path.contains("Square") && path.ends_with("area"), "{path}");
}

#[traced]
fn generic<T: Clone, U, const N: usize>(items: [T; N], _fallback: U) -> Vec<T>
where
    U: Default + std::fmt::Debug,
{
    items.to_vec()
}

#[traced]
fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.len() >= b.len() {
        a
    } else {
        b
    }
}

#[traced]
fn sum_all(values: impl IntoIterator<Item = u32>) -> u32 {
    values.into_iter().sum()
}

#[traced]
fn swap((a, b): (u8, u8), Counter { count }: Counter) -> (u8, u8, u32) {
    (b, a, count)
}

#[traced]
fn countdown(mut n: u32) -> u32 {
    let mut steps = 0;
    while n > 0 {
        n -= 1;
        steps += 1;
    }
    steps
}

#[test]
fn generics_lifetimes_impl_trait_patterns_and_mut_arguments() {
    let c = capture(|| {
        assert_eq!(generic([1, 2], 0u8), vec![1, 2]);
        assert_eq!(longest("ab", "abc"), "abc");
        assert_eq!(sum_all(vec![1, 2, 3]), 6);
        assert_eq!(swap((1, 2), Counter { count: 3 }), (2, 1, 3));
        assert_eq!(countdown(4), 4);
    });
    assert_eq!(c.names(), ["generic", "longest", "sum_all", "swap", "countdown"]);
}

#[traced]
fn early_return(flag: bool) -> &'static str {
    if flag {
        return "early";
    }
    "late"
}

#[traced]
fn parse_sum(a: &str, b: &str) -> Result<i64, std::num::ParseIntError> {
    let a: i64 = a.parse()?;
    let b: i64 = b.parse()?;
    Ok(a + b)
}

#[traced]
fn boxed_error(input: &str) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    // `?` converts through `From` into the boxed error, as without the macro.
    Ok(input.parse::<u8>()?)
}

#[traced]
fn factorial(n: u64) -> u64 {
    if n <= 1 {
        1
    } else {
        n * factorial(n - 1)
    }
}

#[test]
fn early_return_question_mark_and_recursion() {
    let c = capture(|| {
        assert_eq!(early_return(true), "early");
        assert_eq!(early_return(false), "late");
        assert_eq!(parse_sum("2", "3").ok(), Some(5));
        assert!(boxed_error("300").is_err());
        assert_eq!(factorial(4), 24);
    });
    assert_eq!(c.all("early_return").len(), 2);
    assert_eq!(c.all("factorial").len(), 4);
    let levels = c.all("factorial");
    for pair in levels.windows(2) {
        assert!(pair[1].is_child_of(pair[0]), "recursion nests:\n{}", c.tree());
    }
    assert!(c.span("boxed_error").is_error());
    assert!(!c.span("parse_sum").is_error());
}

// --- async -------------------------------------------------------------------

#[traced]
async fn async_leaf(n: u32) -> u32 {
    tokio::task::yield_now().await;
    n + 1
}

#[traced]
async fn async_parent() -> (u32, String) {
    let first = async_leaf(1).await;
    tokio::task::yield_now().await;
    // Still current after an await point.
    let id = current_span().span_id();
    (async_leaf(first).await, id)
}

#[tokio::test]
async fn async_fn_span_is_current_on_every_poll() {
    let c = capture_async(async_parent()).await;
    let (value, seen_id) = c.result().clone();
    assert_eq!(value, 3);
    let parent = c.span("async_parent");
    assert_eq!(seen_id, parent.span_context.span_id().to_string());
    let leaves = c.all("async_leaf");
    assert_eq!(leaves.len(), 2);
    assert!(leaves.iter().all(|leaf| leaf.is_child_of(parent)));
    assert_eq!(parent.attribute_str("code.function.name"), Some("suite::traced_fns::async_parent"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_span_never_leaks_into_another_task() {
    let c = capture_async(async {
        let outside = tokio::spawn(async { current_span().span_context().is_valid() });
        let inside = async_parent().await;
        (outside.await.unwrap_or(true), inside)
    })
    .await;
    assert!(!c.result().0, "a task spawned without the context saw a span");
}

#[traced]
async fn async_question_mark(input: &str) -> Result<u8, std::num::ParseIntError> {
    tokio::task::yield_now().await;
    let value: u8 = input.parse()?;
    Ok(value)
}

#[tokio::test]
async fn async_fn_errors_are_recorded() {
    let c = capture_async(async_question_mark("x")).await;
    assert!(c.result().is_err());
    assert!(c.span("async_question_mark").is_error());
}

#[traced(attrs(traced_fns.shadowed = -2))]
fn records_its_own_value() {}

#[traced(args)]
fn records_an_argument(traced_fns_arg: i64) -> i64 {
    traced_fns_arg
}

#[test]
fn a_span_attribute_shadows_a_global_tag_of_the_same_key() {
    // (A key of its own: global tags are process-wide, and this binary's
    // other tests assert nothing about it.)
    trace_runtime::set_global_tag("traced_fns.shadowed", 5);
    let c = capture(|| {
        trace_runtime::span("own").attribute("traced_fns.shadowed", -1).start().end();
        trace_runtime::span("tagged").start().end();
        records_its_own_value();
    });
    trace_runtime::set_global_tag("traced_fns_arg", 5);
    let by_arg = capture(|| records_an_argument(-3));
    trace_runtime::set_global_tag("traced_fns_arg", None::<i64>);
    trace_runtime::set_global_tag("traced_fns.shadowed", None::<i64>);
    let values = |name: &str| -> Vec<Value> {
        c.span(name)
            .attributes
            .iter()
            .filter(|kv| kv.key.as_str() == "traced_fns.shadowed")
            .map(|kv| kv.value.clone())
            .collect()
    };
    assert_eq!(values("own"), [Value::I64(-1)], "once, the span's own value");
    assert_eq!(values("tagged"), [Value::I64(5)], "the tag where the span has no value of its own");
    // Values `#[traced]` records once the span is recording win too.
    assert_eq!(values("records_its_own_value"), [Value::I64(-2)], "attrs(..) wins");
    let arg: Vec<&Value> = by_arg
        .span("records_an_argument")
        .attributes
        .iter()
        .filter(|kv| kv.key.as_str() == "traced_fns_arg")
        .map(|kv| &kv.value)
        .collect();
    assert_eq!(arg, [&Value::I64(-3)], "args wins");
}
