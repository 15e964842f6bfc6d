//! Datadog's "Python Manual Instrumentation" page, in Rust.
//!
//! `@tracer.wrap()` becomes `#[traced]`; `with tracer.trace(..)` becomes
//! `span(..).enter()`; `span.finish()`, the current span, the current root
//! span, local and global tags, and an error captured automatically.
//! Run: `cargo run -p traced-examples --example sandwich`

use trace_runtime::{current_root_span, current_span, set_global_tag, span, traced};

#[derive(Debug)]
struct Ingredients(Vec<&'static str>);

#[derive(Debug)]
struct OutOfBread;

impl std::fmt::Display for OutOfBread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("out of bread")
    }
}

impl std::error::Error for OutOfBread {}

/// `@tracer.wrap()`: traced regardless of where it is called from.
#[traced]
fn get_ingredients() -> Ingredients {
    // "Current span": this function's own span.
    current_span().set_attribute("pantry.visited", true);
    Ingredients(vec!["bread", "cheese", "tomato"])
}

/// `@tracer.wrap("assemble_sandwich", service="my-sandwich-making-svc")`
#[traced(name = "assemble_sandwich", service = "my-sandwich-making-svc")]
fn assemble_sandwich(ingredients: &Ingredients) -> String {
    // "Root span": the request span, from deep inside.
    current_root_span().set_attribute("sandwich.assembled", true);
    ingredients.0.join(" + ")
}

/// "Context manager": `with tracer.trace("sandwich.make") as span:`
fn make_sandwich_request() {
    let span = span("sandwich.make").enter();
    let ingredients = get_ingredients();
    // "Adding tags locally"
    span.set_attribute("num_ingredients", ingredients.0.len());
    let sandwich = assemble_sandwich(&ingredients);
    span.set_attribute("sandwich", sandwich);
}

/// "Manual": `span = tracer.trace(..)` ... `span.finish()`.
fn make_sandwich_manually() {
    let span = span("sandwich.create").enter();
    let ingredients = get_ingredients();
    let _sandwich = assemble_sandwich(&ingredients);
    span.finish(); // remember to finish the span
}

/// "Errors": a returned error flags the span as erroneous, with the message.
#[traced(name = "throws.an.error")]
fn make_toast() -> Result<(), OutOfBread> {
    Err(OutOfBread)
}

fn main() -> Result<(), trace_runtime::Error> {
    let guard = trace_runtime::init().service_name("sandwich-shop").service_version("1.0.0").install()?;
    // "Adding tags globally": applied to every span created from now on.
    set_global_tag("version", env!("CARGO_PKG_VERSION"));

    make_sandwich_request();
    make_sandwich_manually();
    let _ = make_toast();
    guard.shutdown()
}
