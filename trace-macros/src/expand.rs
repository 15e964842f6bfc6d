//! Code generation from a checked [`Plan`]: the call-site metadata, the
//! closures that record `attrs`/`args` and set `parent`/`links`, and the
//! outcome recording; the bodies themselves are generated in `body`.
//!
//! Every path goes through one `use <crate>::__private_<version> as
//! __traced_private;` at the top of the body (thiserror ties its
//! `__private` to its version the same way): a trace-macros /
//! trace-runtime pair of different versions fails there, after
//! `__traced_runtime_version!` has said why. Locals the macro introduces
//! are `mixed_site`, so the user's code cannot see them; every other path
//! is absolute, so the user's own `Result`, `Option`, `Box` or a
//! `#![no_implicit_prelude]` do not matter.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Expr, ImplItem, LitStr, Path};

use crate::args::{Args, Kind};
use crate::attrs::{AttrValue, Format};
use crate::body::Body;
use crate::item::TracedFn;
use crate::validate::{unraw, Plan, Traced};

/// Default key of the `ret` attribute.
const RET_KEY: &str = "return.value";

/// The local name of the runtime's `__private_<version>` module.
pub(crate) fn private() -> syn::Ident {
    syn::Ident::new("__traced_private", Span::mixed_site())
}

/// A local the macro introduces, invisible to the user's code.
pub(crate) fn local(name: &str) -> syn::Ident {
    syn::Ident::new(name, Span::mixed_site())
}

pub(crate) fn expand(plan: Plan) -> TokenStream {
    match plan {
        Plan::Fn(traced) => expand_fn(*traced),
        Plan::Impl { mut block, methods } => {
            for (index, traced) in methods {
                block.items[index] = ImplItem::Verbatim(expand_fn(traced));
            }
            quote!(#block)
        }
    }
}

/// A traced function: its signature unchanged, a new body.
fn expand_fn(traced: Traced) -> TokenStream {
    let Traced { args, func, default_name } = traced;
    let krate: Path = args.krate.clone().unwrap_or_else(|| syn::parse_quote!(::trace_runtime));
    let head = Head { krate: &krate };
    let meta = CallSite::new(&args, &func, default_name);
    let body = Body {
        setup: Setup(&args),
        record: Record { args: &args, func: &func },
        outcome: Outcome::new(&args, &func),
        func: &func,
    }
    .generate();
    let install_warning = func.installs_inside().map(install_warning);
    let TracedFn { attrs, vis, defaultness, sig, .. } = func;
    let (inner_attrs, outer_attrs): (Vec<_>, Vec<_>) =
        attrs.into_iter().partition(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
    quote! {
        #(#outer_attrs)*
        #vis #defaultness #sig {
            #(#inner_attrs)*
            #head
            #install_warning
            #meta
            #body
        }
    }
}

/// The version check and the import of the runtime's versioned module.
struct Head<'a> {
    krate: &'a Path,
}

impl ToTokens for Head<'_> {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let krate = self.krate;
        let version = env!("CARGO_PKG_VERSION");
        let module = format_ident!(
            "__private_{}",
            version.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect::<String>()
        );
        let private = private();
        tokens.extend(quote! {
            #krate::__traced_runtime_version!(#version);
            #[allow(unused_imports)]
            use #krate::#module as #private;
        });
    }
}

/// `static __TRACED_META`: what the runtime knows of the function.
struct CallSite {
    name: LitStr,
    /// autometrics' `function`: the function's own name (`Type::method` in a
    /// traced impl block), whatever the span is called.
    function: LitStr,
    kind: Kind,
    service: Option<LitStr>,
    at: Span,
    metrics: bool,
}

impl CallSite {
    fn new(args: &Args, func: &TracedFn, default_name: Option<String>) -> Self {
        let at = func.sig.ident.span();
        let function = LitStr::new(&default_name.unwrap_or_else(|| unraw(&func.sig.ident)), at);
        CallSite {
            name: args.name.clone().unwrap_or_else(|| function.clone()),
            function,
            kind: args.kind.unwrap_or(Kind::Internal),
            service: args.service.clone(),
            at,
            metrics: args.records_metrics(),
        }
    }
}

impl ToTokens for CallSite {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let CallSite { name, function, kind, service, at, metrics } = self;
        let private = private();
        let service = match service {
            Some(service) => quote!(::core::option::Option::Some(#service)),
            None => quote!(::core::option::Option::None),
        };
        let file_line = quote_spanned!(*at=> file: ::core::file!(), line: ::core::line!(),);
        let calls = if *metrics { quote!(new) } else { quote!(off) };
        tokens.extend(quote! {
            fn __traced_marker() {}
            static __TRACED_META: #private::Site = #private::Site {
                meta: #private::Meta {
                    name: #name,
                    kind: #kind,
                    service: #service,
                    #file_line
                    marker: || ::core::any::type_name_of_val(&__traced_marker),
                },
                calls: #private::CallSite::#calls(#function, ::core::module_path!()),
            };
        });
    }
}

/// `|options| { options.parent(..); options.links(..); }`, spanned at the
/// user's expressions so a wrong type is reported there.
pub(crate) struct Setup<'a>(&'a Args);

impl ToTokens for Setup<'_> {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let private = private();
        let options = local("__traced_options");
        let parent = self.0.parent.as_ref().map(|expr| {
            if is_none(expr) {
                quote_spanned!(expr.span()=> #options.root();)
            } else {
                quote_spanned!(expr.span()=> #options.parent(#expr);)
            }
        });
        let links = self.0.links.as_ref().map(|expr| quote_spanned!(expr.span()=> #options.links(#expr);));
        tokens.extend(if parent.is_none() && links.is_none() {
            quote!(|_: &mut #private::Options| {})
        } else {
            quote!(|#options: &mut #private::Options| { #parent #links })
        });
    }
}

/// `None`, written as such: a new trace.
fn is_none(expr: &Expr) -> bool {
    matches!(expr, Expr::Path(p) if p.qself.is_none() && p.path.is_ident("None"))
}

/// The closure recording `attrs(..)`, `args` and the ddtrace keys: one
/// statement each, spanned at the user's tokens so a missing conversion is
/// reported there.
pub(crate) struct Record<'a> {
    args: &'a Args,
    func: &'a TracedFn,
}

impl ToTokens for Record<'_> {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let Record { args, func } = self;
        let private = private();
        let recorder = local("__traced_recorder");
        let attrs = args.attrs.iter().flat_map(|attrs| &attrs.entries).map(|attr| {
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
        let all_args = recorded_args(args, func).into_iter().map(|(ident, cfgs)| {
            let key = LitStr::new(&unraw(&ident), ident.span());
            // A parameter under `#[cfg(..)]` is recorded under the same `cfg`:
            // where it is compiled out, so is its recording.
            quote_spanned!(ident.span()=> #(#cfgs)* { (&&#private::Arg(&#ident)).traced_arg(#recorder, #key); })
        });
        // ddtrace's `resource` and `span_type`, as Datadog's OTLP intake reads them.
        let datadog = [("resource.name", &args.resource), ("span.type", &args.span_type)].into_iter().filter_map(
            |(key, value)| value.as_ref().map(|value| quote_spanned!(value.span()=> #recorder.record(#key, #value);)),
        );
        let records: Vec<TokenStream> = attrs.chain(all_args).chain(datadog).collect();
        if records.is_empty() {
            return tokens.extend(quote!(|_: &mut #private::Recorder<'_>| {}));
        }
        tokens.extend(quote! {
            |#recorder: &mut #private::Recorder<'_>| {
                #[allow(unused_imports)]
                use #private::{RecordArg as _, SkipArg as _};
                #(#records)*
            }
        });
    }
}

/// The arguments `args` records, each with the `#[cfg(..)]` attributes of
/// its parameter: every name the signature binds, except `self`,
/// `skip(..)`, those `attrs(..)` already records, and macro-generated ones
/// (`__arg0`).
fn recorded_args(args: &Args, func: &TracedFn) -> Vec<(syn::Ident, Vec<syn::Attribute>)> {
    if args.all_args.is_none() {
        return Vec::new();
    }
    let skipped: Vec<String> = args.skip.iter().flat_map(|skip| skip.names.iter().map(ToString::to_string)).collect();
    let taken: Vec<&str> = args.attrs.iter().flat_map(|attrs| attrs.entries.iter().map(|a| a.key.as_str())).collect();
    func.arg_idents_with_cfg()
        .into_iter()
        .filter(|(ident, _)| {
            let name = unraw(ident);
            !name.starts_with("__") && !skipped.contains(&name) && !taken.contains(&name.as_str())
        })
        .collect()
}

/// What happens to the returned value: `ret` records it, an `Err` is
/// recorded as an error unless `err = false`, and `result = error` goes to
/// the RED metrics. Nothing for a function that cannot fail (returning `()`
/// or a primitive) and records no `ret`.
pub(crate) struct Outcome {
    ret: Option<TokenStream>,
    errors: bool,
}

impl Outcome {
    fn new(args: &Args, func: &TracedFn) -> Self {
        let private = private();
        let ret_var = local("__traced_ret");
        let outcome = local("__traced_outcome");
        let ret = args.ret.as_ref().map(|ret| {
            let at = ret.keyword.span;
            let key = ret.key.clone().unwrap_or_else(|| LitStr::new(RET_KEY, at));
            let method = match ret.format {
                Format::Typed => quote_spanned!(at=> typed),
                Format::Display => quote_spanned!(at=> display),
                Format::Debug => quote_spanned!(at=> debug),
            };
            // The returned value, bound to a name at `ret` (not a hidden
            // macro local), so that a missing conversion is reported there.
            let value = syn::Ident::new("__traced_returned", at);
            quote_spanned! {at=>
                {
                    #[allow(unused_imports)]
                    use #private::{RetResultKind as _, RetValueKind as _};
                    let #value = &#ret_var;
                    (&&#private::Ret(#value)).traced_ret_kind().#method(&#outcome, #key, #value);
                }
            }
        });
        Outcome { ret, errors: args.records_errors() && !func.cannot_fail() }
    }

    /// True when the span is needed after the body.
    pub(crate) fn is_empty(&self) -> bool {
        self.ret.is_none() && !self.errors
    }
}

impl ToTokens for Outcome {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        if self.is_empty() {
            return;
        }
        let private = private();
        let span = local("__traced_span");
        let ret_var = local("__traced_ret");
        let outcome = local("__traced_outcome");
        let ret = &self.ret;
        let (err, failed) = if self.errors {
            (
                quote! {
                    #[allow(unused_imports)]
                    use #private::{RecordErrorDebug as _, RecordErrorDisplay as _, RecordErrorSource as _, RecordNothing as _};
                    (&&&#private::Outcome(&#ret_var)).traced_record(&#outcome);
                },
                // `result = error` in the RED metrics follows the span's
                // status, and is known whether or not the span is recorded.
                quote! {{
                    #[allow(unused_imports)]
                    use #private::{IsErr as _, NeverErr as _};
                    if (&&#private::Outcome(&#ret_var)).traced_is_err() {
                        #span.failed();
                    }
                }},
            )
        } else {
            (TokenStream::new(), TokenStream::new())
        };
        tokens.extend(quote! {
            if let ::core::option::Option::Some(#outcome) = #span.span() {
                #ret
                #err
            }
            #failed
        });
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

#[cfg(test)]
mod tests {
    use quote::quote;

    /// The expansion of a plain traced function, as a reader of
    /// `cargo expand` would see it: short enough to read at a glance.
    #[test]
    fn a_plain_function_expands_to_a_short_body() {
        let args = syn::parse2(quote!()).expect("no arguments");
        let item = crate::item::TracedItem::parse(quote! {
            fn root(x: u64) -> u64 {
                work(x)
            }
        })
        .expect("a function");
        let expanded = super::expand(crate::validate::plan(args, item).expect("valid"));
        let text = expanded.to_string();
        println!("{text}\n{} tokens", count(expanded.clone()));
        assert!(text.contains("enter_sync"), "{text}");
        assert!(!text.contains("catch_unwind"), "no closure needed: {text}");
        assert!(!text.contains("Outcome"), "a `u64` cannot be an `Err`, yet error recording was emitted: {text}");
        assert!(count(expanded) < 300, "{text}");
    }

    fn count(tokens: proc_macro2::TokenStream) -> usize {
        tokens
            .into_iter()
            .map(|tree| match tree {
                proc_macro2::TokenTree::Group(group) => 2 + count(group.stream()),
                _ => 1,
            })
            .sum()
    }
}
