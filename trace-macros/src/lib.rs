//! The `#[traced]` attribute. Use it through `trace-runtime`, which
//! re-exports it and provides the runtime it expands to.
//!
//! This entry only parses and hands over: [`args`] validates the arguments,
//! [`item`] builds the typed view of the annotated function, [`expand`]
//! generates code. The expander never sees invalid input; on error the
//! original item is emitted unchanged next to the error, so users see one
//! error and keep completion inside the function.

mod args;
mod attrs;
mod expand;
mod item;

use proc_macro::TokenStream;

/// Turns a function into an OpenTelemetry span. See `trace_runtime::traced`
/// for the full documentation and examples.
///
/// ```ignore
/// #[traced(name = "checkout", kind = server, attrs(cart.items = items.len()))]
/// fn checkout(items: &[Item]) -> Result<Receipt, Error> { .. }
/// ```
#[proc_macro_attribute]
pub fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let parsed = syn::parse::<args::Args>(args).and_then(|args| {
        let func = item::TracedFn::parse(item.clone())?;
        args.validate(&func)?;
        Ok((args, func))
    });
    match parsed {
        Ok((args, func)) => expand::expand(&args, func).into(),
        Err(error) => {
            let error = error.to_compile_error();
            quote::quote!(#error #item).into()
        }
    }
}
