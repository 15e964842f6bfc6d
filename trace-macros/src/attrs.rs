//! `attrs(..)`: the attributes a traced function records.
//!
//! Four forms: `key = expr` (typed value), `key = %expr` (Display),
//! `key = ?expr` (Debug), and a bare argument name (`ident`, `%ident`,
//! `?ident`), recorded under its own name. Keys are identifiers, dotted paths
//! (`http.request.method`) or string literals. Whether a bare name is an
//! argument is checked in `validate`.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, LitStr, Token};

/// The entries of `attrs(..)`, each key once.
#[derive(Clone)]
pub(crate) struct Attrs {
    /// The `attrs` keyword.
    pub(crate) keyword: Span,
    pub(crate) entries: Vec<Attr>,
}

#[derive(Clone)]
pub(crate) struct Attr {
    pub(crate) key: String,
    pub(crate) key_span: Span,
    pub(crate) value: AttrValue,
    pub(crate) format: Format,
}

/// How a value is recorded: as a typed value, or its `%` Display or `?` Debug.
#[derive(Clone, Copy)]
pub(crate) enum Format {
    Typed,
    Display,
    Debug,
}

#[derive(Clone)]
pub(crate) enum AttrValue {
    /// `key = expr`
    Expr(Expr),
    /// A bare argument name.
    Arg(Ident),
}

impl Parse for Attrs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut entries: Vec<Attr> = Vec::new();
        while !input.is_empty() {
            let attr: Attr = input.parse()?;
            if let Some(first) = entries.iter().find(|a| a.key == attr.key) {
                let mut error = syn::Error::new(attr.key_span, format!("attribute `{}` is recorded twice", attr.key));
                error.combine(syn::Error::new(first.key_span, "first recorded here"));
                return Err(error);
            }
            entries.push(attr);
            if input.is_empty() {
                break;
            }
            input
                .parse::<Token![,]>()
                .map_err(|e| syn::Error::new(e.span(), "expected `,` between entries of attrs(..)"))?;
        }
        Ok(Attrs { keyword: Span::call_site(), entries })
    }
}

impl Parse for Attr {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        // Bare `%ident` / `?ident`.
        if input.peek(Token![%]) || input.peek(Token![?]) {
            let format = input.parse()?;
            let ident: Ident = input.call(Ident::parse_any).map_err(|e| {
                syn::Error::new(e.span(), "expected an argument name after the sigil, or write `key = %expr`")
            })?;
            return Ok(Attr { key: ident.to_string(), key_span: ident.span(), value: AttrValue::Arg(ident), format });
        }
        let Key { key, span: key_span, bare } = input.parse()?;
        if !input.peek(Token![=]) {
            // A bare name: only an identifier can name an argument.
            return match bare {
                Some(ident) => Ok(Attr { key, key_span, value: AttrValue::Arg(ident), format: Format::Typed }),
                None => Err(syn::Error::new(
                    key_span,
                    format!(
                        "`{key}` needs a value: `{key} = expr`, `{key} = %expr` (Display) or `{key} = ?expr` (Debug)"
                    ),
                )),
            };
        }
        input.parse::<Token![=]>()?;
        let format = input.parse()?;
        if input.is_empty() || input.peek(Token![,]) {
            return Err(syn::Error::new(input.span(), format!("expected a value after `{key} =`")));
        }
        let expr: Expr = input.parse()?;
        Ok(Attr { key, key_span, value: AttrValue::Expr(expr), format })
    }
}

/// An optional `%` or `?`.
impl Parse for Format {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(Token![%]) {
            input.parse::<Token![%]>()?;
            Ok(Format::Display)
        } else if input.peek(Token![?]) {
            input.parse::<Token![?]>()?;
            Ok(Format::Debug)
        } else {
            Ok(Format::Typed)
        }
    }
}

/// A key: `"any key"`, `ident` or `dotted.path.with.keywords.like.type`.
struct Key {
    key: String,
    span: Span,
    /// The identifier, when the key is a single one (it may name an argument).
    bare: Option<Ident>,
}

impl Parse for Key {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            if lit.value().is_empty() {
                return Err(syn::Error::new(lit.span(), "an attribute key must not be empty"));
            }
            return Ok(Key { key: lit.value(), span: lit.span(), bare: None });
        }
        let first = input.call(Ident::parse_any).map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected an attribute: `key = expr`, `dotted.key = expr`, `\"any key\" = expr`, or an argument name",
            )
        })?;
        let mut key = first.to_string();
        let mut span = first.span();
        let mut segments = 1;
        while input.peek(Token![.]) {
            input.parse::<Token![.]>()?;
            let segment = input.call(Ident::parse_any).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected a key segment after `.`; for other keys use a string: `\"my-key\" = expr`",
                )
            })?;
            key.push('.');
            key.push_str(&segment.to_string());
            span = span.join(segment.span()).unwrap_or(span);
            segments += 1;
        }
        let bare = (segments == 1).then_some(first);
        Ok(Key { key: key.trim_start_matches("r#").to_owned(), span, bare })
    }
}
