//! Code generation for validated `#[traced]` input.
//!
//! - Sync functions run their body in a closure under `catch_unwind`, so the
//!   return value can be inspected (an `Err` is recorded) and a panic
//!   recorded then resumed unchanged.
//! - `async fn`s run their body as an inner `async move` block wrapped in
//!   `Instrumented`, which makes the span current on each poll and ends it as
//!   cancelled if dropped early. The span starts on the first poll.
//! - Functions returning a future (`-> impl Future`, `-> Pin<Box<dyn
//!   Future>>`, `#[async_trait]` methods) evaluate their recorded arguments at
//!   call time, build the future as written, and return an `async move`
//!   block that starts the span on the first poll and awaits that future
//!   inside `Instrumented`: the span covers the awaited work, not the
//!   construction. A body ending in `Box::pin(fut)` has `fut` wrapped
//!   directly, so there is one allocation, as before.
//!
//! Every body gets a "fake return edge" (`let _: ReturnType = loop {}`) so
//! that type inference inside it sees the declared return type, as it would
//! without the macro. Locals the macro introduces are `mixed_site`, so the
//! user's code cannot see them; every path is absolute, so the user's own
//! `Result`, `Option`, `Box` or a `#![no_implicit_prelude]` do not matter.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ImplItem, ItemImpl, LitStr, Path};

use crate::args::{Args, Kind};
use crate::attrs::{AttrValue, Format};
use crate::item::{Shape, TracedFn};

/// Default key of the `ret` attribute.
const RET_KEY: &str = "return.value";

/// Generated names, invisible to the user's code.
struct Locals {
    span: syn::Ident,
    ret: syn::Ident,
    recorder: syn::Ident,
    options: syn::Ident,
    prepared: syn::Ident,
    future: syn::Ident,
    outcome: syn::Ident,
}

impl Locals {
    fn new() -> Self {
        let local = |name: &str| syn::Ident::new(name, Span::mixed_site());
        Locals {
            span: local("__traced_span"),
            ret: local("__traced_ret"),
            recorder: local("__traced_recorder"),
            options: local("__traced_options"),
            prepared: local("__traced_prepared"),
            future: local("__traced_future"),
            outcome: local("__traced_outcome"),
        }
    }
}

/// A traced function: its signature unchanged, a new body.
pub(crate) fn expand_fn(args: &Args, func: TracedFn, default_name: Option<String>) -> TokenStream {
    let krate: Path = args.krate.clone().unwrap_or_else(|| syn::parse_quote!(::trace_runtime));
    let private = quote!(#krate::__private);
    let ident_span = func.sig.ident.span();
    let locals = Locals::new();
    let Locals { span: span_var, ret: ret_var, recorder, options, prepared, future, .. } = &locals;

    // autometrics' `function`: the function's own name (`Type::method` in a
    // traced impl block), whatever the span is called.
    let function = LitStr::new(&default_name.clone().unwrap_or_else(|| unraw(&func.sig.ident)), ident_span);
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| LitStr::new(&default_name.unwrap_or_else(|| unraw(&func.sig.ident)), ident_span));
    let kind = format_ident!("{}", args.kind.unwrap_or(Kind::Internal).variant());
    let service = match &args.service {
        Some(service) => quote!(::core::option::Option::Some(#service)),
        None => quote!(::core::option::Option::None),
    };

    let recorded_keys = recorded_keys(args, &func);
    let file_line = quote_spanned!(ident_span=> file: ::core::file!(), line: ::core::line!(),);
    let calls = if args.records_metrics() { quote!(new) } else { quote!(off) };
    let meta = quote! {
        fn __traced_marker() {}
        static __TRACED_META: #private::Meta = #private::Meta {
            name: #name,
            kind: #private::SpanKind::#kind,
            service: #service,
            #file_line
            marker: || ::core::any::type_name_of_val(&__traced_marker),
            recorded_keys: &[#(#recorded_keys),*],
            calls: #private::CallSite::#calls(#function, ::core::module_path!()),
        };
    };
    let setup = setup_closure(args, &private, options);
    let records = record_statements(args, &func, &private, recorder);
    let record = quote! {
        |#recorder: &mut #private::Recorder<'_>| {
            #[allow(unused_imports)]
            use #private::{RecordArg as _, SkipArg as _};
            #(#records)*
        }
    };
    let record_outcome = record_outcome(args, &private, &locals);
    let outcome_binding = if record_outcome.is_empty() { quote!(_) } else { quote!(#span_var) };

    let block = &func.block;
    // `-> !` cannot be named in a `let` on stable Rust: the closure's own
    // `-> !` checks the body diverges instead.
    let never = func.returns_never();
    let fake_return = if never { TokenStream::new() } else { fake_return_of(&func.return_type_hint()) };
    // The user's statements under the fake return edge, spanned at their
    // block so errors inside point at their code.
    let stmts = &block.stmts;
    let body = quote_spanned! {block.span()=>
        {
            #fake_return
            #(#stmts)*
        }
    };

    let new_block = match func.shape() {
        Shape::Sync if never => {
            // Only a panic comes back: record it and resume it.
            quote! {{
                #meta
                let #span_var = #private::enter(&__TRACED_META, #setup, #record);
                let __traced_payload = match #private::catch_unwind(move || -> ! #body) {
                    ::core::result::Result::Ok(__traced_never) => __traced_never,
                    ::core::result::Result::Err(__traced_payload) => __traced_payload,
                };
                #span_var.resume_panic(__traced_payload)
            }}
        }
        Shape::Async if never => {
            // An `async` block's output cannot be declared `!`; the body
            // diverges (or panics, which `Instrumented` records and resumes),
            // so the end of this block is never reached.
            quote! {{
                #meta
                let #span_var = #private::start(&__TRACED_META, #setup, #record);
                let (#ret_var, _) = #private::Instrumented::new(#span_var, async move #body).await;
                #[allow(unreachable_code, clippy::let_underscore_untyped)]
                {
                    let _ = #ret_var;
                    ::core::unreachable!("a `-> !` function returned")
                }
            }}
        }
        Shape::Sync => {
            quote! {{
                #meta
                let #span_var = #private::enter(&__TRACED_META, #setup, #record);
                match #private::catch_unwind(move || #body) {
                    ::core::result::Result::Ok(#ret_var) => {
                        #record_outcome
                        #ret_var
                    }
                    ::core::result::Result::Err(__traced_payload) => #span_var.resume_panic(__traced_payload),
                }
            }}
        }
        Shape::Async => {
            quote! {{
                #meta
                let #span_var = #private::start(&__TRACED_META, #setup, #record);
                let (#ret_var, #outcome_binding) = #private::Instrumented::new(#span_var, async move #body).await;
                #record_outcome
                #ret_var
            }}
        }
        Shape::Future(shape) => {
            let output_fake_return = shape.output.as_ref().map(fake_return_of);
            if let Some(lone) = func.lone_async_block(shape.boxed) {
                // The body is one `async move` block (or `Box::pin` of one,
                // as `#[async_trait]` writes it): start the span inside it,
                // exactly as for an `async fn`.
                let inner = &lone.block;
                let stmts = &inner.stmts;
                let body = quote_spanned! {inner.span()=>
                    {
                        #output_fake_return
                        #(#stmts)*
                    }
                };
                let wrapped = quote_spanned! {lone.span()=>
                    async move {
                        let #span_var = #private::start(&__TRACED_META, #setup, #record);
                        let (#ret_var, #outcome_binding) = #private::Instrumented::new(#span_var, async move #body).await;
                        #record_outcome
                        #ret_var
                    }
                };
                let wrapped = if shape.boxed { quote!(::std::boxed::Box::pin(#wrapped)) } else { wrapped };
                quote! {{
                    #meta
                    #wrapped
                }}
            } else {
                // Any other body: record at call time, while the arguments
                // are there; build the future exactly as written (taking off
                // a tail `Box::pin`, to box once); start the span when it is
                // first polled.
                let construct = match func.boxed_tail().filter(|_| shape.boxed && !func.body_returns_early()) {
                    Some((stmts, inner)) => quote_spanned! {block.span()=> { #(#stmts)* #inner } },
                    None if func.body_returns_early() => {
                        // `return` must leave the construction, not the function.
                        let fake_return = shape.nameable.then_some(&fake_return);
                        let stmts = &block.stmts;
                        quote_spanned! {block.span()=> (move || { #fake_return #(#stmts)* })() }
                    }
                    None => quote!(#block),
                };
                let wrapped = quote! {
                    async move {
                        let #span_var = #private::start_prepared(&__TRACED_META, #prepared);
                        let (#ret_var, #outcome_binding) = #private::Instrumented::new(#span_var, #future).await;
                        #record_outcome
                        #ret_var
                    }
                };
                let wrapped = if shape.boxed { quote!(::std::boxed::Box::pin(#wrapped)) } else { wrapped };
                quote! {{
                    #meta
                    let #prepared = #private::prepare(&__TRACED_META, #setup, #record);
                    let #future = #construct;
                    #wrapped
                }}
            }
        }
    };

    let install_warning = func.installs_inside().map(install_warning);
    let TracedFn { attrs, vis, defaultness, sig, .. } = func;
    let (inner_attrs, outer_attrs): (Vec<_>, Vec<_>) =
        attrs.into_iter().partition(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
    quote! {
        #(#outer_attrs)*
        #vis #defaultness #sig {
            #(#inner_attrs)*
            #install_warning
            #new_block
        }
    }
}

/// A compile-time warning (stable Rust has no other way for a macro to
/// warn than the `deprecated` lint), pointing at the `install` call of a
/// function that installs the runtime inside its own traced body.
fn install_warning(at: Span) -> TokenStream {
    let name = syn::Ident::new("traced_function_installs_tracing_inside_itself", at);
    quote_spanned! {at=>
        {
            #[deprecated(
                note = "this function's #[traced] span starts before init().install() runs, so it is not recorded \
                        and the spans inside it become separate traces: call init().install() first, in a \
                        function that is not #[traced] (e.g. a plain `main` that then calls the traced code)"
            )]
            fn #name() {}
            #name();
        }
    }
}

/// A traced impl block: the listed methods get new bodies, named
/// `Type::method` unless they have a `name`.
pub(crate) fn expand_impl(mut block: ItemImpl, type_name: &str, methods: Vec<(usize, Args, TracedFn)>) -> TokenStream {
    for (index, args, func) in methods {
        let default_name = format!("{type_name}::{}", unraw(func.ident()));
        block.items[index] = ImplItem::Verbatim(expand_fn(&args, func, Some(default_name)));
    }
    quote!(#block)
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

/// `|options| { options.parent(..); options.links(..); }`, spanned at the
/// user's expressions so a wrong type is reported there.
fn setup_closure(args: &Args, private: &TokenStream, options: &syn::Ident) -> TokenStream {
    let parent = args.parent.as_ref().map(|expr| {
        if is_none(expr) {
            quote_spanned!(expr.span()=> #options.root();)
        } else {
            quote_spanned!(expr.span()=> #options.parent(#expr);)
        }
    });
    let links = args.links.as_ref().map(|expr| quote_spanned!(expr.span()=> #options.links(#expr);));
    if parent.is_none() && links.is_none() {
        return quote!(|_: &mut #private::Options| {});
    }
    quote!(|#options: &mut #private::Options| { #parent #links })
}

/// `None`, written as such: a new trace.
fn is_none(expr: &Expr) -> bool {
    matches!(expr, Expr::Path(p) if p.qself.is_none() && p.path.is_ident("None"))
}

/// One statement per `attrs(..)` entry and per argument `args` records,
/// spanned at the user's tokens so a missing conversion is reported there.
fn record_statements(args: &Args, func: &TracedFn, private: &TokenStream, recorder: &syn::Ident) -> Vec<TokenStream> {
    let attrs = args.attrs.iter().flat_map(|(_, attrs)| &attrs.entries).map(|attr| {
        let key = LitStr::new(&attr.key, attr.key_span);
        let (value, span) = match &attr.value {
            AttrValue::Expr(expr) => (quote_spanned!(expr.span()=> (#expr)), expr.span()),
            AttrValue::Arg(ident) => (quote!(#ident), ident.span()),
        };
        let value = match attr.format {
            Format::Typed => quote_spanned!(span=> &#value),
            Format::Display => quote_spanned!(span=> &#private::display(&#value)),
            Format::Debug => quote_spanned!(span=> &#private::debug(&#value)),
        };
        quote_spanned!(span=> #recorder.record(#key, #value);)
    });
    let all_args = args.recorded_args(func).into_iter().map(|(ident, cfgs)| {
        let key = LitStr::new(&unraw(&ident), ident.span());
        // A parameter under `#[cfg(..)]` is recorded under the same `cfg`:
        // where it is compiled out, so is its recording.
        quote_spanned!(ident.span()=> #(#cfgs)* { (&&#private::Arg(&#ident)).traced_arg(#recorder, #key); })
    });
    // ddtrace's `resource` and `span_type`, as Datadog's OTLP intake reads them.
    let datadog =
        [("resource.name", &args.resource), ("span.type", &args.span_type)].into_iter().filter_map(|(key, value)| {
            value.as_ref().map(|value| quote_spanned!(value.span()=> #recorder.record(#key, #value);))
        });
    attrs.chain(all_args).chain(datadog).collect()
}

/// The keys the function records on its span (`attrs`, `args`, `ret`), so
/// that a global tag of the same key is left out: the span's own value wins.
fn recorded_keys(args: &Args, func: &TracedFn) -> Vec<String> {
    let attrs = args.attrs.iter().flat_map(|(_, attrs)| &attrs.entries).map(|attr| attr.key.clone());
    let all_args = args.recorded_args(func).into_iter().map(|(ident, _)| unraw(&ident));
    let ret = args.ret.as_ref().map(|ret| ret.key.as_ref().map_or_else(|| RET_KEY.to_owned(), LitStr::value));
    let datadog = [("resource.name", &args.resource), ("span.type", &args.span_type)]
        .into_iter()
        .filter(|(_, value)| value.is_some())
        .map(|(key, _)| key.to_owned());
    let mut keys: Vec<String> = attrs.chain(all_args).chain(ret).chain(datadog).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// What happens to the returned value: `ret` records it, and an `Err` is
/// recorded as an error unless `err = false`.
fn record_outcome(args: &Args, private: &TokenStream, locals: &Locals) -> TokenStream {
    let Locals { span: span_var, ret: ret_var, outcome, .. } = locals;
    let ret = args.ret.as_ref().map(|ret| {
        let key = match &ret.key {
            Some(key) => key.clone(),
            None => LitStr::new(RET_KEY, ret.token.span()),
        };
        let method = match ret.format {
            Format::Typed => quote_spanned!(ret.token.span()=> typed),
            Format::Display => quote_spanned!(ret.token.span()=> display),
            Format::Debug => quote_spanned!(ret.token.span()=> debug),
        };
        // The returned value, bound to a name at `ret` (not a hidden
        // macro local), so that a missing conversion is reported there.
        let value = syn::Ident::new("__traced_returned", ret.token.span());
        quote_spanned! {ret.token.span()=>
            {
                #[allow(unused_imports)]
                use #private::{RetResultKind as _, RetValueKind as _};
                let #value = &#ret_var;
                (&&#private::Ret(#value)).traced_ret_kind().#method(&#outcome, #key, #value);
            }
        }
    });
    let err = args.records_errors().then(|| {
        quote! {
            {
                #[allow(unused_imports)]
                use #private::{RecordErrorDebug as _, RecordErrorDisplay as _, RecordErrorSource as _, RecordNothing as _};
                (&&&#private::Outcome(&#ret_var)).traced_record(&#outcome);
            }
        }
    });
    // `result = error` in the RED metrics follows the span's status, and is
    // known whether or not the span is recorded.
    let failed = args.records_errors().then(|| {
        quote! {
            {
                #[allow(unused_imports)]
                use #private::{IsErr as _, NeverErr as _};
                if (&&#private::Outcome(&#ret_var)).traced_is_err() {
                    #span_var.failed();
                }
            }
        }
    });
    if ret.is_none() && err.is_none() {
        return TokenStream::new();
    }
    quote! {
        if let ::core::option::Option::Some(#outcome) = #span_var.span() {
            #ret
            #err
        }
        #failed
    }
}

fn unraw(ident: &syn::Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
}
