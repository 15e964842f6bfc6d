//! `attrs(..)`: typed values, sigils, bare argument names, key forms, and
//! expressions that run only when the span is recording.

use std::sync::atomic::{AtomicUsize, Ordering};

use opentelemetry::{Array, StringValue, Value};
use trace_runtime::testing::{capture, SpanDataExt};
use trace_runtime::traced;

#[derive(Debug)]
struct Order {
    id: u32,
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "order #{}", self.id)
    }
}

#[traced(attrs(
    flag = true,
    small = 7u8,
    big = u64::MAX,
    ratio = 0.5,
    text = "hello",
    owned = String::from("owned"),
    ints = vec![1, 2, 3],
    floats = [1.5, 2.5],
    bools = [true, false],
    words = ["a", "b"],
    missing = None::<i32>,
    present = Some(3),
))]
fn typed() {}

#[test]
fn values_keep_their_opentelemetry_type() {
    let c = capture(typed);
    let span = c.span("typed");
    assert_eq!(span.attribute("flag"), Some(&Value::Bool(true)));
    assert_eq!(span.attribute("small"), Some(&Value::I64(7)));
    // Too big for i64: recorded exactly, as text, never wrapped.
    assert_eq!(span.attribute_str("big"), Some("18446744073709551615"));
    assert_eq!(span.attribute("ratio"), Some(&Value::F64(0.5)));
    assert_eq!(span.attribute_str("text"), Some("hello"));
    assert_eq!(span.attribute_str("owned"), Some("owned"));
    assert_eq!(span.attribute("ints"), Some(&Value::Array(Array::I64(vec![1, 2, 3]))));
    assert_eq!(span.attribute("floats"), Some(&Value::Array(Array::F64(vec![1.5, 2.5]))));
    assert_eq!(span.attribute("bools"), Some(&Value::Array(Array::Bool(vec![true, false]))));
    assert_eq!(
        span.attribute("words"),
        Some(&Value::Array(Array::String(vec![StringValue::from("a"), StringValue::from("b")])))
    );
    assert_eq!(span.attribute("missing"), None, "None records nothing");
    assert_eq!(span.attribute("present"), Some(&Value::I64(3)));
}

#[traced(attrs(shown = %order, debugged = ?order, len = %order.id * 2))]
fn sigils(order: &Order) {}

#[test]
fn percent_records_display_and_question_mark_records_debug() {
    let c = capture(|| sigils(&Order { id: 5 }));
    let span = c.span("sigils");
    assert_eq!(span.attribute_str("shown"), Some("order #5"));
    assert_eq!(span.attribute_str("debugged"), Some("Order { id: 5 }"));
    assert_eq!(span.attribute_str("len"), Some("10"));
}

#[traced(attrs(user_id, %order, ?tags, count = 1))]
fn bare(user_id: u64, order: Order, tags: Vec<&str>, _secret: &str) {}

#[test]
fn bare_names_record_arguments_under_their_own_name_and_nothing_else() {
    let c = capture(|| bare(42, Order { id: 1 }, vec!["x"], "hunter2"));
    let span = c.span("bare");
    assert_eq!(span.attribute("user_id"), Some(&Value::I64(42)));
    assert_eq!(span.attribute_str("order"), Some("order #1"));
    assert_eq!(span.attribute_str("tags"), Some("[\"x\"]"));
    assert_eq!(span.attribute("count"), Some(&Value::I64(1)));
    // Arguments that were not named are never captured.
    assert!(span.attributes.iter().all(|kv| !kv.value.to_string().contains("hunter2")));
    assert_eq!(span.attribute("_secret"), None);
}

#[traced(attrs(http.request.method = "GET", url.full = url, "weird key-with spaces" = 1, exception.type = "kw"))]
fn keys(url: &str) {}

#[test]
fn dotted_keys_keyword_segments_and_string_keys() {
    let c = capture(|| keys("https://example.com"));
    let span = c.span("keys");
    assert_eq!(span.attribute_str("http.request.method"), Some("GET"));
    assert_eq!(span.attribute_str("url.full"), Some("https://example.com"));
    assert_eq!(span.attribute("weird key-with spaces"), Some(&Value::I64(1)));
    assert_eq!(span.attribute_str("exception.type"), Some("kw"));
}

#[derive(Debug)]
struct Cart {
    items: Vec<u32>,
}

impl Cart {
    #[traced(attrs(cart.size = self.items.len(), cart.total = self.items.iter().sum::<u32>()))]
    fn checkout(&mut self) -> u32 {
        self.items.drain(..).sum()
    }
}

#[test]
fn expressions_may_use_the_arguments_and_self() {
    let mut cart = Cart { items: vec![2, 3] };
    let c = capture(|| cart.checkout());
    assert_eq!(*c.result(), 5);
    let span = c.span("checkout");
    assert_eq!(span.attribute("cart.size"), Some(&Value::I64(2)));
    assert_eq!(span.attribute("cart.total"), Some(&Value::I64(5)));
}

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn expensive() -> u32 {
    EVALUATED.fetch_add(1, Ordering::SeqCst);
    1
}

#[traced(attrs(cost = expensive()))]
fn lazily_recorded() {}

#[test]
fn expressions_run_only_when_the_span_is_recording() {
    // Outside a capture nothing is installed in this test binary: no span,
    // so the expression must not run.
    let before = EVALUATED.load(Ordering::SeqCst);
    lazily_recorded();
    assert_eq!(EVALUATED.load(Ordering::SeqCst), before);
    let c = capture(lazily_recorded);
    assert_eq!(c.span("lazily_recorded").attribute("cost"), Some(&Value::I64(1)));
    assert!(EVALUATED.load(Ordering::SeqCst) > before);
}
