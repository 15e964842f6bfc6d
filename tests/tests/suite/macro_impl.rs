//! `#[traced]` on impl blocks, inherent and trait: every method is traced as
//! `Type::method` with the block's arguments; a method's own `#[traced(..)]`
//! overrides them (`attrs` adds to the block's), `#[traced(off)]` leaves it
//! out, and `const fn`s are left alone.

#![allow(clippy::unwrap_used)] // a panic is how a test reports

use opentelemetry::trace::SpanKind;
use opentelemetry::Value;
use trace_runtime::testing::{capture, capture_async, SpanDataExt};
use trace_runtime::traced;

struct Inventory {
    items: Vec<u32>,
}

#[traced(kind = client, args, attrs(store = "main"))]
impl Inventory {
    const LIMIT: usize = 10;

    fn new() -> Self {
        Inventory { items: Vec::new() }
    }

    fn add(&mut self, item: u32) -> usize {
        self.items.push(item);
        self.items.len()
    }

    #[traced(name = "inventory.count", kind = internal, attrs(items = self.items.len(), store = "replica"))]
    fn count(&self) -> usize {
        self.items.len()
    }

    #[traced(skip(item))]
    fn contains(&self, item: u32) -> bool {
        self.items.contains(&item)
    }

    #[traced(off)]
    fn untraced(&self) -> usize {
        self.items.len() + Self::LIMIT
    }

    const fn limit() -> usize {
        Self::LIMIT
    }

    async fn total(&self) -> u32 {
        tokio::task::yield_now().await;
        self.items.iter().sum()
    }
}

#[test]
fn every_method_is_traced_as_type_method_with_the_blocks_arguments() {
    let c = capture(|| {
        let mut inventory = Inventory::new();
        inventory.add(3);
        inventory
    });
    assert_eq!(c.names(), ["Inventory::new", "Inventory::add"]);
    let add = c.span("Inventory::add");
    assert_eq!(add.span_kind, SpanKind::Client);
    assert_eq!(add.attribute("item"), Some(&Value::I64(3)));
    assert_eq!(add.attribute_str("store"), Some("main"));
    assert_eq!(add.attribute_str("code.function.name"), Some("suite::macro_impl::Inventory::add"));
}

#[test]
fn a_methods_own_arguments_override_the_blocks() {
    let inventory = Inventory { items: vec![1, 2] };
    let c = capture(|| (inventory.count(), inventory.contains(2)));
    assert_eq!(*c.result(), (2, true));
    let count = c.span("inventory.count");
    assert_eq!(count.span_kind, SpanKind::Internal);
    // attrs add to the block's; a key on both takes the method's value.
    assert_eq!(count.attribute("items"), Some(&Value::I64(2)));
    assert_eq!(count.attribute_str("store"), Some("replica"));
    let contains = c.span("Inventory::contains");
    // The block's `args` still applies, the method's `skip` leaves `item` out.
    assert_eq!(contains.attribute("item"), None);
    assert_eq!(contains.span_kind, SpanKind::Client);
}

#[test]
fn off_and_const_fn_methods_are_left_alone() {
    let inventory = Inventory { items: vec![1] };
    let c = capture(|| inventory.untraced() + Inventory::limit());
    assert_eq!(*c.result(), 21);
    assert!(c.spans().is_empty(), "{}", c.tree());
    // Still usable in const context.
    const L: usize = Inventory::limit();
    assert_eq!(L, 10);
}

#[tokio::test]
async fn async_methods_of_a_traced_block() {
    let inventory = Inventory { items: vec![1, 2, 3] };
    let c = capture_async(inventory.total()).await;
    assert_eq!(*c.result(), 6);
    assert_eq!(c.names(), ["Inventory::total"]);
}

trait Shape {
    fn area(&self) -> f64;
    fn name(&self) -> String {
        "shape".to_owned()
    }
    fn scale(&mut self, by: f64);
}

struct Square(f64);

#[traced(ret)]
impl Shape for Square {
    fn area(&self) -> f64 {
        self.0 * self.0
    }

    #[traced(ret(key = "shape.name"))]
    fn name(&self) -> String {
        "square".to_owned()
    }

    // `ret` from the block does not apply to a method that returns nothing.
    fn scale(&mut self, by: f64) {
        self.0 *= by;
    }
}

#[test]
fn trait_impl_blocks_are_traced_too() {
    let mut square = Square(2.0);
    let c = capture(|| {
        square.scale(1.5);
        (square.area(), square.name())
    });
    assert_eq!(c.names(), ["Square::scale", "Square::area", "Square::name"]);
    assert_eq!(c.span("Square::area").attribute("return.value"), Some(&Value::F64(9.0)));
    assert_eq!(c.span("Square::name").attribute_str("shape.name"), Some("square"));
    assert_eq!(c.span("Square::name").attribute("return.value"), None);
    assert_eq!(c.span("Square::scale").attribute("return.value"), None);
}

struct Wrapper<T>(T);

#[traced]
impl<T: Clone + Send> Wrapper<T> {
    fn get(&self) -> T {
        self.0.clone()
    }

    fn nested(&self) -> T {
        self.get()
    }
}

#[test]
fn generic_impl_blocks_and_nesting() {
    let w = Wrapper("x");
    let c = capture(|| w.nested());
    assert_eq!(c.tree(), "Wrapper::nested\n└─ Wrapper::get\n");
}

mod facade {
    pub(crate) use trace_runtime as rt;
}

struct Pathy;

#[traced(crate = facade::rt)]
impl Pathy {
    #[trace_runtime::traced(name = "pathy.go")]
    fn go(&self) -> u8 {
        1
    }

    #[facade::rt::traced(off)]
    fn stay(&self) -> u8 {
        2
    }
}

#[test]
fn method_attributes_by_path_and_crate_override() {
    let c = capture(|| Pathy.go() + Pathy.stay());
    assert_eq!(*c.result(), 3);
    assert_eq!(c.names(), ["pathy.go"]);
}

#[test]
fn a_method_traced_inside_an_untraced_impl_block_keeps_its_own_name() {
    struct Plain;
    impl Plain {
        #[traced]
        fn alone(&self) {}
    }
    let c = capture(|| Plain.alone());
    assert_eq!(c.names(), ["alone"]);
}

struct Client;

#[traced(args, skip(token))]
impl Client {
    // The method's own `skip` replaces the block's; the block's names are
    // still checked against every method.
    #[traced(skip(token, body))]
    fn send(&self, token: &str, body: &str, retries: u8) -> usize {
        token.len() + body.len() + usize::from(retries)
    }
}

#[test]
fn a_methods_skip_replaces_the_blocks() {
    let c = capture(|| Client.send("secret", "payload", 2));
    let span = c.span("Client::send");
    assert_eq!(span.attribute("retries"), Some(&Value::I64(2)));
    assert_eq!(span.attribute("token"), None);
    assert_eq!(span.attribute("body"), None);
}
