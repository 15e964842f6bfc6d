//! Code generation for a validated `#[traced]` function.
//!
//! Sync functions run their body in a closure under `catch_unwind`, so the
//! return value can be inspected (an `Err` is recorded) and a panic recorded
//! then resumed unchanged. Async functions run their body as an inner
//! `async move` block wrapped in `Instrumented`, which makes the span current
//! on each poll and ends it as cancelled if dropped early. Both get a "fake
//! return edge" (`let _: ReturnType = loop {}`) so that type inference inside
//! the body sees the declared return type, as it would without the macro.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{LitStr, Path};

use crate::args::{Args, Kind};
use crate::attrs::{AttrValue, Format};
use crate::item::TracedFn;

pub(crate) fn expand(args: &Args, func: TracedFn) -> TokenStream {
    let krate: Path = args.krate.clone().unwrap_or_else(|| syn::parse_quote!(::trace_runtime));
    let private = quote!(#krate::__private);
    let ident_span = func.sig.ident.span();

    let name = args.name.clone().unwrap_or_else(|| LitStr::new(&func.sig.ident.unraw_string(), ident_span));
    let kind = format_ident!("{}", args.kind.unwrap_or(Kind::Internal).variant());
    let service = match &args.service {
        Some(service) => quote!(::core::option::Option::Some(#service)),
        None => quote!(::core::option::Option::None),
    };

    // Locals the user's body must not see: mixed-site hygiene.
    let span_var = syn::Ident::new("__traced_span", Span::mixed_site());
    let ret_var = syn::Ident::new("__traced_ret", Span::mixed_site());
    let recorder = syn::Ident::new("__traced_recorder", Span::mixed_site());
    let records = record_statements(args, &private, &recorder);

    let file_line = quote_spanned!(ident_span=> file: ::core::file!(), line: ::core::line!(),);
    let meta = quote! {
        fn __traced_marker() {}
        static __TRACED_META: #private::Meta = #private::Meta {
            name: #name,
            kind: #private::SpanKind::#kind,
            service: #service,
            #file_line
            marker: || ::core::any::type_name_of_val(&__traced_marker),
        };
    };
    let record_outcome = quote! {
        if let ::core::option::Option::Some(__traced_s) = #span_var.span() {
            #[allow(unused_imports)]
            use #private::{RecordErrorDebug as _, RecordErrorDisplay as _, RecordErrorSource as _, RecordNothing as _};
            (&&&#private::Outcome(&#ret_var)).traced_record(&__traced_s);
        }
    };

    let block = &func.block;
    let ty = func.return_type_hint();
    let fake_return = quote_spanned! {ty.span()=>
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
    };
    let body = quote_spanned! {block.span()=>
        {
            #fake_return
            #block
        }
    };

    let new_block = if func.is_async() {
        quote! {{
            #meta
            let #span_var = #private::start(&__TRACED_META, |#recorder: &mut #private::Recorder<'_>| { #(#records)* });
            let (#ret_var, #span_var) = #private::Instrumented::new(#span_var, async move #body).await;
            #record_outcome
            #ret_var
        }}
    } else {
        quote! {{
            #meta
            let #span_var = #private::enter(&__TRACED_META, |#recorder: &mut #private::Recorder<'_>| { #(#records)* });
            match #private::catch_unwind(move || #body) {
                ::core::result::Result::Ok(#ret_var) => {
                    #record_outcome
                    #ret_var
                }
                ::core::result::Result::Err(__traced_payload) => #span_var.resume_panic(__traced_payload),
            }
        }}
    };

    let TracedFn { attrs, vis, sig, .. } = func;
    quote! {
        #(#attrs)*
        #vis #sig #new_block
    }
}

/// One `recorder.record(key, &value)` per `attrs(..)` entry, spanned at the
/// user's expression so a missing conversion is reported there.
fn record_statements(args: &Args, private: &TokenStream, recorder: &syn::Ident) -> Vec<TokenStream> {
    args.attrs
        .entries
        .iter()
        .map(|attr| {
            let key = LitStr::new(&attr.key, attr.key_span);
            let (value, span) = match &attr.value {
                AttrValue::Expr(expr) => (quote!((#expr)), expr.span()),
                AttrValue::Arg(ident) => (quote!(#ident), ident.span()),
            };
            let value = match attr.format {
                Format::Typed => quote_spanned!(span=> &#value),
                Format::Display => quote_spanned!(span=> &#private::display(&#value)),
                Format::Debug => quote_spanned!(span=> &#private::debug(&#value)),
            };
            quote_spanned!(span=> #recorder.record(#key, #value);)
        })
        .collect()
}

trait UnrawString {
    fn unraw_string(&self) -> String;
}

impl UnrawString for syn::Ident {
    fn unraw_string(&self) -> String {
        let s = self.to_string();
        s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
    }
}
