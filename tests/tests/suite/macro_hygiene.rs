//! The expansion is clean in the strictest user crates: no warning under
//! `#![deny(warnings, clippy::pedantic)]` (checked by `cargo clippy
//! --all-targets`), and a user's own `Result`, `Option`, `Box`, `Span`,
//! `Context` or `opentelemetry` names, or `#![no_implicit_prelude]`, do not
//! break it. Every shape and argument is used here at least once.

#![deny(warnings, clippy::pedantic)]
#![allow(clippy::unwrap_used)] // a panic is how a test reports

use trace_runtime::testing::{capture, capture_async, SpanDataExt};

/// Names that shadow what generated code could have used.
mod shadowing {
    #![allow(dead_code, clippy::pedantic)]

    use ::std::future::Future;
    use ::std::pin::Pin;

    use ::trace_runtime::traced;

    pub(crate) struct Result;
    pub(crate) struct Option;
    pub(crate) struct Span;
    pub(crate) struct Context;
    pub(crate) struct Box;
    pub(crate) struct Vec;
    pub(crate) struct String;
    pub(crate) mod opentelemetry {}
    pub(crate) mod core {}
    pub(crate) mod std {}
    pub(crate) mod trace_runtime {}
    pub(crate) trait Future2 {}
    pub(crate) fn catch_unwind() {}
    pub(crate) fn start() {}

    #[derive(Debug)]
    pub(crate) struct Failure;

    impl ::std::fmt::Display for Failure {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            f.write_str("failure")
        }
    }

    impl ::std::error::Error for Failure {}

    #[traced(args, ret, attrs(label = %label))]
    pub(crate) fn sync(n: u32, label: &str) -> ::std::result::Result<u32, Failure> {
        if n == 0 {
            return ::std::result::Result::Err(Failure);
        }
        ::std::result::Result::Ok(n)
    }

    #[traced(ret(?))]
    pub(crate) async fn asynchronous(n: u32) -> ::std::option::Option<u32> {
        ::std::option::Option::Some(n)
    }

    #[traced(args)]
    pub(crate) fn returns_future(n: u32) -> impl Future<Output = u32> {
        async move { n }
    }

    #[traced(parent = None, links = ::std::vec::Vec::<::opentelemetry::trace::SpanContext>::new())]
    pub(crate) fn boxed(n: u32) -> Pin<::std::boxed::Box<dyn Future<Output = u32> + Send>> {
        let m = n;
        ::std::boxed::Box::pin(async move { m })
    }

    pub(crate) struct Service;

    #[traced(kind = server)]
    impl Service {
        pub(crate) fn handle(&self) -> u8 {
            1
        }
    }
}

#[test]
fn user_names_do_not_shadow_what_the_expansion_uses() {
    let c =
        capture(|| (shadowing::sync(2, "x").unwrap(), shadowing::sync(0, "y").is_err(), shadowing::Service.handle()));
    assert_eq!(*c.result(), (2, true, 1));
    let spans = c.all("sync");
    assert_eq!(spans[0].attribute_str("label"), Some("x"));
    assert!(spans[1].is_error());
    assert_eq!(c.names().last(), Some(&"Service::handle"));
}

#[tokio::test]
async fn user_names_do_not_shadow_what_the_async_expansion_uses() {
    let c = capture_async(async {
        (shadowing::asynchronous(1).await, shadowing::returns_future(2).await, shadowing::boxed(3).await)
    })
    .await;
    assert_eq!(*c.result(), (Some(1), 2, 3));
    assert_eq!(c.span("asynchronous").attribute_str("return.value"), Some("Some(1)"));
    assert!(c.span("boxed").is_root());
}

/// No prelude at all: every name the expansion uses is a full path.
#[no_implicit_prelude]
mod bare {
    use ::std::future::Future;
    use ::std::pin::Pin;
    use ::trace_runtime::traced;

    #[traced(args, ret, attrs(twice = n * 2, shown = %n, debugged = ?n))]
    pub(crate) fn sync(n: u32) -> ::std::result::Result<u32, ::std::io::Error> {
        ::std::result::Result::Ok(n)
    }

    #[traced(err = false)]
    pub(crate) async fn asynchronous(n: u32) -> ::std::result::Result<u32, ::std::string::String> {
        ::std::result::Result::Err(::std::format!("{n}"))
    }

    #[traced(parent = ::std::option::Option::None::<::opentelemetry::Context>)]
    pub(crate) fn returns_future(n: u32) -> impl Future<Output = u32> + ::std::marker::Send {
        async move { n }
    }

    #[traced]
    pub(crate) fn boxed(n: u32) -> Pin<::std::boxed::Box<dyn Future<Output = u32> + ::std::marker::Send>> {
        if n > 100 {
            return ::std::boxed::Box::pin(async { 100 });
        }
        ::std::boxed::Box::pin(async move { n })
    }

    pub(crate) struct Service;

    #[traced]
    impl Service {
        pub(crate) fn handle(&self) -> u8 {
            1
        }

        #[traced(off)]
        pub(crate) fn skipped() -> u8 {
            2
        }
    }
}

#[test]
fn no_implicit_prelude_sync() {
    let c = capture(|| (bare::sync(4).unwrap(), bare::Service.handle() + bare::Service::skipped()));
    assert_eq!(*c.result(), (4, 3));
    let span = c.span("sync");
    assert_eq!(span.attribute_str("shown"), Some("4"));
    assert_eq!(span.attribute("return.value"), Some(&opentelemetry::Value::I64(4)));
    assert_eq!(c.names(), ["sync", "Service::handle"]);
}

#[tokio::test]
async fn no_implicit_prelude_async() {
    let c = capture_async(async {
        (
            bare::asynchronous(1).await.is_err(),
            bare::returns_future(2).await,
            bare::boxed(3).await,
            bare::boxed(300).await,
        )
    })
    .await;
    assert_eq!(*c.result(), (true, 2, 3, 100));
    assert!(!c.span("asynchronous").is_error());
    assert!(c.span("returns_future").is_root());
    assert_eq!(c.all("boxed").len(), 2);
}

/// Pedantic-clean shapes with every argument, checked by clippy.
mod pedantic {
    use std::fmt;
    use std::future::Future;

    use async_trait::async_trait;
    use trace_runtime::{traced, SpanHandle};

    #[derive(Debug)]
    pub(crate) struct Order {
        pub(crate) id: u64,
    }

    impl fmt::Display for Order {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "order {}", self.id)
        }
    }

    #[traced(
        name = "orders.place",
        kind = producer,
        service = "orders",
        attrs(order.id = order.id, shown = %order, debugged = ?order, "any key" = 1),
        args,
        skip(secret),
        ret(%, key = "placed"),
        err = false,
        links = trigger,
        parent = trigger
    )]
    pub(crate) fn place(order: &Order, secret: &str, trigger: &SpanHandle) -> Result<u64, std::io::Error> {
        if secret.is_empty() {
            return Err(std::io::Error::other("no secret"));
        }
        Ok(order.id)
    }

    #[traced(args, ret)]
    pub(crate) async fn fetch(id: u64) -> Option<u64> {
        tokio::task::yield_now().await;
        Some(id)
    }

    #[traced(args, ret)]
    pub(crate) fn later(id: u64) -> impl Future<Output = u64> {
        let doubled = id * 2;
        async move { doubled }
    }

    #[async_trait]
    pub(crate) trait Repo {
        async fn get(&self, id: u64) -> u64;
    }

    pub(crate) struct Db;

    #[traced(args)]
    #[async_trait]
    impl Repo for Db {
        async fn get(&self, id: u64) -> u64 {
            id
        }
    }

    pub(crate) struct Cache;

    #[async_trait]
    #[traced(args, ret)]
    impl Repo for Cache {
        async fn get(&self, id: u64) -> u64 {
            id + 1
        }
    }

    #[traced]
    pub(crate) fn panics() {
        panic!("boom");
    }

    #[traced]
    pub(crate) fn diverges() -> u32 {
        std::process::exit(0)
    }
}

#[tokio::test]
async fn pedantic_shapes_behave() {
    use pedantic::Repo as _;

    let c = capture_async(async {
        let trigger = trace_runtime::span("trigger").start();
        let placed = pedantic::place(&pedantic::Order { id: 7 }, "s", &trigger).unwrap();
        trigger.end();
        let fetched = pedantic::fetch(1).await;
        let later = pedantic::later(2).await;
        (placed, fetched, later, pedantic::Db.get(3).await, pedantic::Cache.get(3).await)
    })
    .await;
    assert_eq!(*c.result(), (7, Some(1), 4, 3, 4));
    let place = c.span("orders.place");
    assert_eq!(place.attribute_str("placed"), Some("7"));
    assert_eq!(place.attribute("secret"), None);
    assert!(place.is_child_of(c.span("trigger")));
    assert_eq!(place.links.len(), 1);
    assert_eq!(c.span("Db::get").attribute("id"), Some(&opentelemetry::Value::I64(3)));
    assert_eq!(c.span("Cache::get").attribute("return.value"), Some(&opentelemetry::Value::I64(4)));
    let panicked = std::panic::catch_unwind(pedantic::panics);
    assert!(panicked.is_err());
    if c.spans().is_empty() {
        pedantic::diverges();
    }
}
