//! The typed view of what `#[traced]` annotates: a sync or async function
//! or method with a body. Everything else is rejected here, spanned at the
//! token that makes it unsupported.

use proc_macro2::TokenStream;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Attribute, Block, FnArg, Item, Pat, ReturnType, Signature, TraitItemFn, Type, Visibility};

pub(crate) struct TracedFn {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) block: Box<Block>,
}

impl TracedFn {
    pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Self> {
        let item: Item = match syn::parse2(tokens.clone()) {
            Ok(item) => item,
            Err(error) => return Err(not_parsed(tokens, error)),
        };
        let func = match item {
            Item::Fn(func) => func,
            Item::Verbatim(tokens) => {
                return Err(not_parsed(tokens.clone(), syn::Error::new(tokens.span(), "unsupported item")))
            }
            other => return Err(not_a_function(&other)),
        };
        if let Some(constness) = &func.sig.constness {
            return Err(syn::Error::new(
                constness.span(),
                "#[traced] cannot go on a `const fn`: a span is started and ended at run time. \
                 Remove `const`, or trace the non-const caller instead",
            ));
        }
        Ok(TracedFn { attrs: func.attrs, vis: func.vis, sig: func.sig, block: func.block })
    }

    pub(crate) fn ident(&self) -> &syn::Ident {
        &self.sig.ident
    }

    pub(crate) fn is_async(&self) -> bool {
        self.sig.asyncness.is_some()
    }

    /// Every name the arguments bind: `self`, plain names and the names
    /// inside destructuring patterns.
    pub(crate) fn arg_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for input in &self.sig.inputs {
            match input {
                FnArg::Receiver(_) => names.push("self".to_owned()),
                FnArg::Typed(typed) => collect_pat_names(&typed.pat, &mut names),
            }
        }
        names
    }

    /// The declared return type as a `let` type annotation: `()` when none
    /// is written, and each `impl Trait` (which cannot be named in a `let`)
    /// replaced by `_`. Pinning the body's type this way keeps inference
    /// exactly as without the macro, even for bodies that diverge.
    pub(crate) fn return_type_hint(&self) -> Type {
        match &self.sig.output {
            ReturnType::Default => syn::parse_quote!(()),
            ReturnType::Type(_, ty) => {
                let mut ty = (**ty).clone();
                ImplTraitToInfer.visit_type_mut(&mut ty);
                ty
            }
        }
    }
}

fn collect_pat_names(pat: &Pat, names: &mut Vec<String>) {
    match pat {
        Pat::Ident(p) => {
            names.push(p.ident.to_string());
            if let Some((_, sub)) = &p.subpat {
                collect_pat_names(sub, names);
            }
        }
        Pat::Tuple(p) => p.elems.iter().for_each(|e| collect_pat_names(e, names)),
        Pat::TupleStruct(p) => p.elems.iter().for_each(|e| collect_pat_names(e, names)),
        Pat::Struct(p) => p.fields.iter().for_each(|f| collect_pat_names(&f.pat, names)),
        Pat::Reference(p) => collect_pat_names(&p.pat, names),
        Pat::Slice(p) => p.elems.iter().for_each(|e| collect_pat_names(e, names)),
        Pat::Type(p) => collect_pat_names(&p.pat, names),
        Pat::Paren(p) => collect_pat_names(&p.pat, names),
        _ => {}
    }
}

struct ImplTraitToInfer;

impl VisitMut for ImplTraitToInfer {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(impl_trait) = ty {
            *ty = Type::Infer(syn::TypeInfer { underscore_token: syn::Token![_](impl_trait.impl_token.span) });
        } else {
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
}

/// A function without a body (a trait method declaration) or something syn
/// could not read as an item.
fn not_parsed(tokens: TokenStream, error: syn::Error) -> syn::Error {
    if let Ok(method) = syn::parse2::<TraitItemFn>(tokens) {
        if method.default.is_none() {
            return syn::Error::new(
                method.sig.fn_token.span(),
                "#[traced] needs a function body: put it on the method in each `impl`, \
                 or give the trait method a default body",
            );
        }
    }
    syn::Error::new(error.span(), format!("#[traced] goes on a function or method: {error}"))
}

fn not_a_function(item: &Item) -> syn::Error {
    let (span, what) = match item {
        Item::Struct(i) => (i.struct_token.span(), "a struct"),
        Item::Enum(i) => (i.enum_token.span(), "an enum"),
        Item::Union(i) => (i.union_token.span(), "a union"),
        Item::Impl(i) => (i.impl_token.span(), "an impl block"),
        Item::Trait(i) => (i.trait_token.span(), "a trait"),
        Item::Mod(i) => (i.mod_token.span(), "a module"),
        Item::Const(i) => (i.const_token.span(), "a constant"),
        Item::Static(i) => (i.static_token.span(), "a static"),
        Item::Type(i) => (i.type_token.span(), "a type alias"),
        Item::Use(i) => (i.use_token.span(), "a use declaration"),
        Item::Macro(i) => (i.mac.path.span(), "a macro invocation"),
        Item::ExternCrate(i) => (i.extern_token.span(), "an extern crate"),
        Item::ForeignMod(i) => (i.abi.span(), "an extern block"),
        Item::TraitAlias(i) => (i.trait_token.span(), "a trait alias"),
        other => (other.span(), "this item"),
    };
    syn::Error::new(span, format!("#[traced] goes on a function or method, not on {what}"))
}
