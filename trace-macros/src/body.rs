//! One generator per body shape, sharing one await block:
//!
//! - sync, when there is nothing to look at in the returned value (a
//!   function that cannot fail: `()`, a primitive or an `Option`, and no
//!   `ret`): the body runs as written, a plain block after the span's guard,
//!   whose drop ends the span and sees a panic unwinding through it.
//! - any other sync body runs in a closure under `catch_unwind`, so the
//!   return value can be inspected (an `Err` is recorded, `ret` recorded) and
//!   a panic recorded then resumed unchanged.
//!
//! Either way, `nothing_to_do()` (one load) comes first: when nothing is
//! installed, the closure is the function's tail call, and the plain block
//! leaves only its guard's drop flag to check.
//! - `async fn`: the body is an inner `async move` block wrapped in
//!   `Instrumented`, which makes the span current on each poll and ends it
//!   as cancelled if dropped early. The span starts on the first poll.
//! - a function returning a future (`-> impl Future`, `-> Pin<Box<dyn
//!   Future>>`, `#[async_trait]` methods): a lone `async move` block (or
//!   `Box::pin` of one) is traced like an `async fn`; any other body records
//!   the arguments at call time, builds the future as written, and returns
//!   an `async move` block that starts the span on the first poll and awaits
//!   that future inside `Instrumented`. A body ending in `Box::pin(fut)` has
//!   `fut` wrapped directly, so there is one allocation, as before.
//!
//! Every body gets a "fake return edge" (`let _: ReturnType = loop {}`) so
//! that type inference inside it sees the declared return type, as it would
//! without the macro.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::expand::{local, private, Outcome, Record, Setup};
use crate::item::{FutureShape, Shape, TracedFn};

/// What every shape needs.
pub(crate) struct Body<'a> {
    pub(crate) setup: Setup<'a>,
    pub(crate) record: Record<'a>,
    pub(crate) outcome: Outcome,
    pub(crate) func: &'a TracedFn,
}

impl Body<'_> {
    pub(crate) fn generate(&self) -> TokenStream {
        match self.func.shape() {
            Shape::Sync => self.sync(),
            Shape::Async => {
                let private = private();
                let Body { setup, record, .. } = self;
                let start = quote!(#private::start_async(&__TRACED_META, #setup, #record));
                let body = self.user_body(self.fake_return());
                self.awaited(start, quote!(async move #body))
            }
            Shape::Future(shape) => self.future(&shape),
        }
    }

    /// The user's statements under the fake return edge, spanned at their
    /// block so errors inside point at their code.
    fn user_body(&self, fake_return: TokenStream) -> TokenStream {
        let block = &self.func.block;
        let stmts = &block.stmts;
        quote_spanned! {block.span()=>
            {
                #fake_return
                #(#stmts)*
            }
        }
    }

    /// `-> !` cannot be named in a `let` on stable Rust: a diverging body
    /// needs no fake return edge.
    fn fake_return(&self) -> TokenStream {
        if self.func.returns_never() {
            TokenStream::new()
        } else {
            fake_return_of(&self.func.return_type_hint())
        }
    }

    fn sync(&self) -> TokenStream {
        let private = private();
        let Body { setup, record, outcome, .. } = self;
        let span = local("__traced_span");
        let ret = local("__traced_ret");
        let run = local("__traced_body");
        let payload = local("__traced_payload");
        let enter = quote!(#private::enter_sync(&__TRACED_META, #setup, #record));
        if outcome.is_empty() && !self.func.returns_never() {
            // Initialised only when there is something to do: with nothing
            // installed, only its drop flag is checked after the body.
            let block = &self.func.block;
            let stmts = &block.stmts;
            let body = quote_spanned!(block.span()=> { #(#stmts)* });
            return quote! {
                let #span;
                if !#private::nothing_to_do() {
                    #span = #enter;
                }
                #body
            };
        }
        let body = self.user_body(self.fake_return());
        if self.func.returns_never() {
            // Only a panic comes back: record it and resume it.
            return quote! {
                let #run = move || -> ! #body;
                if #private::nothing_to_do() {
                    #private::run(#run)
                }
                let #span = #enter;
                let #payload = match #private::catch_unwind(#run) {
                    ::core::result::Result::Ok(__traced_never) => __traced_never,
                    ::core::result::Result::Err(#payload) => #payload,
                };
                #span.resume_panic(#payload)
            };
        }
        quote! {
            let #run = move || #body;
            if #private::nothing_to_do() {
                return #private::run(#run);
            }
            let #span = #enter;
            match #private::catch_unwind(#run) {
                ::core::result::Result::Ok(#ret) => {
                    #outcome
                    #ret
                }
                ::core::result::Result::Err(#payload) => #span.resume_panic(#payload),
            }
        }
    }

    fn future(&self, shape: &FutureShape) -> TokenStream {
        let private = private();
        let Body { setup, record, func, .. } = self;
        let output_fake_return = shape.output.as_ref().map(fake_return_of);
        if let Some(lone) = func.lone_async_block(shape.boxed) {
            // The body is one `async move` block (or `Box::pin` of one, as
            // `#[async_trait]` writes it): start the span inside it, exactly
            // as for an `async fn`.
            let inner = &lone.block;
            let stmts = &inner.stmts;
            let body = quote_spanned! {inner.span()=>
                async move {
                    #output_fake_return
                    #(#stmts)*
                }
            };
            let start = quote!(#private::start_async(&__TRACED_META, #setup, #record));
            let awaited = self.awaited(start, body);
            let wrapped = quote_spanned!(lone.span()=> async move { #awaited });
            return if shape.boxed { quote!(::std::boxed::Box::pin(#wrapped)) } else { wrapped };
        }
        // Any other body: record at call time, while the arguments are
        // there; build the future exactly as written (taking off a tail
        // `Box::pin`, to box once); start the span when it is first polled.
        let block = &func.block;
        let construct = match func.boxed_tail().filter(|_| shape.boxed && !func.body_returns_early()) {
            Some((stmts, inner)) => quote_spanned! {block.span()=> { #(#stmts)* #inner } },
            None if func.body_returns_early() => {
                // `return` must leave the construction, not the function.
                let fake_return = shape.nameable.then(|| self.fake_return());
                let stmts = &block.stmts;
                quote_spanned! {block.span()=> (move || { #fake_return #(#stmts)* })() }
            }
            None => quote!(#block),
        };
        let prepared = local("__traced_prepared");
        let future = local("__traced_future");
        let start = quote!(#private::start_future(&__TRACED_META, #prepared));
        let awaited = self.awaited(start, quote!(#future));
        let wrapped = quote!(async move { #awaited });
        let wrapped = if shape.boxed { quote!(::std::boxed::Box::pin(#wrapped)) } else { wrapped };
        quote! {
            let #prepared = #private::prepare_future(&__TRACED_META, #setup, #record);
            let #future = #construct;
            #wrapped
        }
    }

    /// The one await block: start the span, await `future` inside
    /// `Instrumented`, record the outcome, return the value.
    fn awaited(&self, start: TokenStream, future: TokenStream) -> TokenStream {
        let private = private();
        let outcome = &self.outcome;
        let span = local("__traced_span");
        let ret = local("__traced_ret");
        let never = self.func.returns_never();
        let finished = if outcome.is_empty() || never { quote!(_) } else { quote!(#span) };
        let outcome = (!never).then_some(outcome);
        let tail = if never {
            // An `async` block's output cannot be declared `!`; the body
            // diverges (or panics, which `Instrumented` records and resumes),
            // so the end of this block is never reached.
            quote! {
                #[allow(unreachable_code, clippy::let_underscore_untyped)]
                {
                    let _ = #ret;
                    ::core::unreachable!("a `-> !` function returned")
                }
            }
        } else {
            quote!(#ret)
        };
        quote! {
            let #span = #start;
            let (#ret, #finished) = #private::Instrumented::new(#span, #future).await;
            #outcome
            #tail
        }
    }
}

/// `if false { let x: T = loop {}; return x; }`: pins the type of the
/// enclosing body to `T` for inference, and is never run.
fn fake_return_of(ty: &syn::Type) -> TokenStream {
    quote_spanned! {ty.span()=>
        #[allow(
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::needless_return,
            clippy::unreachable
        )]
        if false {
            let __traced_fake_return: #ty = loop {};
            return __traced_fake_return;
        }
    }
}
