//! What `#[traced]` emits when its input is wrong: the error, and the item
//! as written, so that users see one error (not a cascade from a missing
//! function) and keep completion inside it. An impl block loses the
//! `#[traced]` of its methods, which would only repeat errors.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{ImplItem, ItemImpl};

use crate::item::is_traced_attr;

pub(crate) fn with_error(error: syn::Error, item: TokenStream) -> TokenStream {
    let error = error.to_compile_error();
    let item = match syn::parse2::<ItemImpl>(item.clone()) {
        Ok(mut block) => {
            for item in &mut block.items {
                if let ImplItem::Fn(method) = item {
                    method.attrs.retain(|attr| !is_traced_attr(attr));
                }
            }
            quote!(#block)
        }
        Err(_) => item,
    };
    quote!(#error #item)
}
