//! The `#[traced]` attribute. Use it through `trace-runtime`, which
//! re-exports it and provides the runtime it expands to.
//!
//! This entry only hands over, phase by phase, one file each:
//!
//! 1. `args` parses the arguments (`attrs` the entries of `attrs(..)`);
//! 2. `item` builds the typed view of the annotated item: a function's
//!    shape, or an impl block's methods with their own arguments;
//! 3. `validate` checks the arguments against the item, every check in one
//!    pass, into a plan;
//! 4. `expand` generates the code of the plan, `body` one generator per
//!    body shape.
//!
//! On any error, `fallback` emits the error next to the item as written, so
//! users see one error and keep completion inside the function.

mod args;
mod attrs;
mod body;
mod expand;
mod fallback;
mod item;
mod validate;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;

#[doc = include_str!("traced.md")]
#[proc_macro_attribute]
pub fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = TokenStream2::from(item);
    let plan = syn::parse::<args::Args>(args)
        .and_then(|args| Ok((args, item::TracedItem::parse(item.clone())?)))
        .and_then(|(args, parsed)| validate::plan(args, parsed));
    match plan {
        Ok(plan) => expand::expand(plan),
        Err(error) => fallback::with_error(error, item),
    }
    .into()
}
