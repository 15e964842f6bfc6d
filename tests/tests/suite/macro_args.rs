//! Arguments and return values, safely: nothing is recorded unless asked;
//! `args` records every argument that converts and silently leaves out the
//! rest, `skip(..)` leaves out more, `self` only when named; `ret` records the
//! return value (the `Ok` value of a `Result`) typed, by Display or by Debug;
//! `err = false` turns off error recording; errors carry their `source()`
//! chain.

use std::fmt;

use opentelemetry::{Array, Value};
use trace_runtime::testing::{capture, capture_async, SpanDataExt};
use trace_runtime::traced;

/// A type with no attribute conversion, and a Display and Debug of its own.
#[derive(Debug, Clone)]
struct Card {
    last4: u16,
}

impl fmt::Display for Card {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "card ending {}", self.last4)
    }
}

fn user_attributes(span: &opentelemetry_sdk::trace::SpanData) -> Vec<String> {
    let mut keys: Vec<String> =
        span.attributes.iter().map(|kv| kv.key.as_str().to_owned()).filter(|k| !k.starts_with("code.")).collect();
    keys.sort();
    keys
}

#[traced]
fn login(user: &str, password: &str) -> bool {
    !user.is_empty() && !password.is_empty()
}

#[test]
fn nothing_is_recorded_unless_asked() {
    let c = capture(|| login("ada", "hunter2"));
    assert!(user_attributes(c.span("login")).is_empty(), "{}", c.tree());
}

struct Account {
    id: u64,
}

impl Account {
    #[traced(args)]
    fn charge(&self, amount: u32, currency: &str, card: Card, note: Option<String>, tags: Vec<&str>) -> u32 {
        let _ = (self.id, currency, card, note, tags);
        amount
    }
}

#[test]
fn args_records_every_argument_that_converts_and_leaves_out_the_rest_and_self() {
    let account = Account { id: 9 };
    let c = capture(|| account.charge(120, "EUR", Card { last4: 4242 }, None, vec!["a", "b"]));
    let span = c.span("charge");
    // `card` has no conversion: left out, no compile error. `note` is None:
    // records nothing. `self` is never recorded by `args`.
    assert_eq!(user_attributes(span), ["amount", "currency", "tags"]);
    assert_eq!(span.attribute("amount"), Some(&Value::I64(120)));
    assert_eq!(span.attribute_str("currency"), Some("EUR"));
    assert_eq!(span.attribute("tags"), Some(&Value::Array(Array::String(vec!["a".into(), "b".into()]))));
}

#[traced(args, skip(password, token))]
fn sign_in(user: &str, password: &str, token: &str, attempt: u8) -> bool {
    !user.is_empty() && !password.is_empty() && !token.is_empty() && attempt < 3
}

#[test]
fn skip_leaves_secrets_out() {
    let c = capture(|| sign_in("ada", "hunter2", "t0k3n", 1));
    let span = c.span("sign_in");
    assert_eq!(user_attributes(span), ["attempt", "user"]);
    let everything = format!("{:?}", span.attributes);
    assert!(!everything.contains("hunter2") && !everything.contains("t0k3n"), "{everything}");
}

#[traced(args, attrs(%card, user = user.to_uppercase()))]
fn pay(user: &str, card: &Card, amount: i64) -> i64 {
    let _ = (user, card);
    amount
}

#[test]
fn attrs_and_args_together_attrs_win_on_a_name() {
    let c = capture(|| pay("ada", &Card { last4: 1 }, 5));
    let span = c.span("pay");
    assert_eq!(user_attributes(span), ["amount", "card", "user"]);
    assert_eq!(span.attribute_str("user"), Some("ADA"));
    assert_eq!(span.attribute_str("card"), Some("card ending 1"));
}

struct Port(u16);

impl trace_runtime::AttributeValue for Port {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::I64(i64::from(self.0)))
    }
}

impl Port {
    #[traced(attrs(self), args)]
    fn open(&self, retries: u8) -> u8 {
        retries
    }
}

#[test]
fn self_is_recorded_only_when_named() {
    let c = capture(|| Port(8080).open(2));
    let span = c.span("open");
    assert_eq!(span.attribute("self"), Some(&Value::I64(8080)));
    assert_eq!(span.attribute("retries"), Some(&Value::I64(2)));
}

#[traced(args)]
fn generic_args<T: fmt::Debug>(value: T, count: u32) -> u32 {
    let _ = value;
    count
}

#[traced(args)]
fn bounded<T: trace_runtime::AttributeValue>(value: T) {
    let _ = value;
}

#[test]
fn args_with_generic_types_records_only_what_is_known_to_convert() {
    let c = capture(|| {
        generic_args(1u8, 3);
        bounded(7u8);
    });
    assert_eq!(user_attributes(c.span("generic_args")), ["count"]);
    assert_eq!(c.span("bounded").attribute("value"), Some(&Value::I64(7)));
}

#[traced(args)]
fn destructured((left, right): (u8, u8), Account { id }: Account) -> u64 {
    u64::from(left) + u64::from(right) + id
}

#[test]
fn args_records_the_names_bound_by_patterns() {
    let c = capture(|| destructured((1, 2), Account { id: 3 }));
    assert_eq!(user_attributes(c.span("destructured")), ["id", "left", "right"]);
}

#[traced(ret)]
fn typed_ret() -> u64 {
    42
}

#[traced(ret(%))]
fn display_ret() -> Card {
    Card { last4: 7 }
}

#[traced(ret(?))]
fn debug_ret() -> Card {
    Card { last4: 8 }
}

#[traced(ret(key = "output.value"))]
fn keyed_ret() -> &'static str {
    "done"
}

#[traced(ret(?, key = "answer"))]
fn keyed_debug_ret() -> Vec<Option<u8>> {
    vec![Some(1), None]
}

#[test]
fn ret_records_the_return_value_typed_display_or_debug_under_a_chosen_key() {
    let c = capture(|| {
        typed_ret();
        display_ret();
        debug_ret();
        keyed_ret();
        keyed_debug_ret();
    });
    assert_eq!(c.span("typed_ret").attribute("return.value"), Some(&Value::I64(42)));
    assert_eq!(c.span("display_ret").attribute_str("return.value"), Some("card ending 7"));
    assert_eq!(c.span("debug_ret").attribute_str("return.value"), Some("Card { last4: 8 }"));
    assert_eq!(c.span("keyed_ret").attribute_str("output.value"), Some("done"));
    assert_eq!(c.span("keyed_debug_ret").attribute_str("answer"), Some("[Some(1), None]"));
}

#[derive(Debug)]
struct Denied;

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("denied")
    }
}

impl std::error::Error for Denied {}

type AppResult<T> = Result<T, Denied>;

#[traced(ret)]
fn result_ret(ok: bool) -> AppResult<u32> {
    if ok {
        Ok(5)
    } else {
        Err(Denied)
    }
}

#[traced(ret(%))]
fn result_display_ret() -> std::io::Result<Card> {
    Ok(Card { last4: 9 })
}

#[traced(ret)]
fn result_unit_ret() -> Result<(), Denied> {
    Ok(())
}

#[test]
fn ret_on_a_result_records_the_ok_value_and_leaves_err_to_error_recording() {
    let c = capture(|| {
        let _ = result_ret(true);
        let _ = result_ret(false);
        let _ = result_display_ret();
        let _ = result_unit_ret();
    });
    let spans = c.all("result_ret");
    assert_eq!(spans[0].attribute("return.value"), Some(&Value::I64(5)));
    assert!(!spans[0].is_error());
    assert_eq!(spans[1].attribute("return.value"), None);
    assert_eq!(spans[1].error_description(), Some("denied"));
    assert_eq!(c.span("result_display_ret").attribute_str("return.value"), Some("card ending 9"));
    assert_eq!(c.span("result_unit_ret").attribute("return.value"), None);
}

#[traced(ret, err = false)]
fn lookup(key: &str) -> Result<u32, Denied> {
    if key == "known" {
        Ok(1)
    } else {
        Err(Denied)
    }
}

#[traced(err = true)]
fn lookup_default(key: &str) -> Result<u32, Denied> {
    let _ = key;
    Err(Denied)
}

#[test]
fn err_false_leaves_an_err_return_unrecorded() {
    let c = capture(|| {
        let _ = lookup("known");
        let _ = lookup("other");
        let _ = lookup_default("x");
    });
    for span in c.all("lookup") {
        assert!(!span.is_error(), "{}", c.tree());
        assert!(span.event("exception").is_none());
    }
    assert_eq!(c.all("lookup")[0].attribute("return.value"), Some(&Value::I64(1)));
    assert!(c.span("lookup_default").is_error());
}

#[traced(err = false)]
fn panics_anyway() {
    panic!("still recorded");
}

#[test]
fn err_false_still_records_panics() {
    let c = capture(|| std::panic::catch_unwind(panics_anyway));
    assert!(c.result().is_err());
    assert_eq!(c.span("panics_anyway").error_description(), Some("still recorded"));
}

#[derive(Debug)]
struct Outer {
    source: Middle,
}

#[derive(Debug)]
struct Middle {
    source: std::io::Error,
}

impl fmt::Display for Outer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("could not load the profile")
    }
}

impl fmt::Display for Middle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("could not read the cache")
    }
}

impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl std::error::Error for Middle {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[traced]
fn load_profile() -> Result<(), Outer> {
    Err(Outer { source: Middle { source: std::io::Error::other("disk on fire") } })
}

#[traced]
async fn load_profile_async() -> Result<(), Outer> {
    load_profile()
}

#[test]
fn an_error_is_recorded_with_its_source_chain() {
    let c = capture(load_profile);
    let span = c.span("load_profile");
    assert_eq!(span.error_description(), Some("could not load the profile"));
    assert_eq!(
        span.event_attribute("exception", "exception.message"),
        Some(&Value::from("could not load the profile".to_owned()))
    );
    assert_eq!(
        span.event_attribute("exception", "exception.stacktrace"),
        Some(&Value::from(
            "could not load the profile\ncaused by: could not read the cache\ncaused by: disk on fire".to_owned()
        ))
    );
    assert!(span
        .event_attribute("exception", "exception.type")
        .is_some_and(|t| t.as_str().ends_with("macro_args::Outer")));
}

#[tokio::test]
async fn an_async_error_is_recorded_with_its_source_chain_too() {
    let c = capture_async(load_profile_async()).await;
    let span = c.span("load_profile_async");
    assert!(span
        .event_attribute("exception", "exception.stacktrace")
        .is_some_and(|s| s.as_str().ends_with("caused by: disk on fire")));
}

#[traced(args, ret)]
async fn async_args_and_ret(n: u32, label: &str, card: Card) -> u32 {
    let _ = (label, card);
    n * 2
}

#[tokio::test]
async fn args_and_ret_on_async_fns() {
    let c = capture_async(async_args_and_ret(21, "x", Card { last4: 0 })).await;
    let span = c.span("async_args_and_ret");
    assert_eq!(user_attributes(span), ["label", "n", "return.value"]);
    assert_eq!(span.attribute("return.value"), Some(&Value::I64(42)));
}

// A parameter compiled out by `#[cfg]` is not recorded (nor read); one
// compiled in is.
#[traced(args)]
fn with_cfg_params(#[cfg(any())] gone: u32, #[cfg(test)] present: u32, kept: u32) -> u32 {
    present + kept
}

#[test]
fn args_respects_cfg_on_parameters() {
    let c = capture(|| with_cfg_params(1, 2));
    assert_eq!(*c.result(), 3);
    let span = c.span("with_cfg_params");
    assert_eq!(user_attributes(span), ["kept", "present"]);
    assert_eq!(span.attribute("present"), Some(&Value::I64(1)));
}
