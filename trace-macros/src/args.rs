//! The arguments of `#[traced(..)]`: parsed, checked for duplicates and
//! validated against the function, every error spanned at the offending token.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Path, Token};

use crate::attrs::Attrs;
use crate::item::TracedFn;

const ACCEPTED: &str = "name, service, kind, attrs, crate";

/// Validated arguments, ready for the expander.
pub(crate) struct Args {
    pub(crate) name: Option<LitStr>,
    pub(crate) service: Option<LitStr>,
    pub(crate) kind: Option<Kind>,
    pub(crate) attrs: Attrs,
    pub(crate) krate: Option<Path>,
}

#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Server,
    Client,
    Producer,
    Consumer,
    Internal,
}

impl Kind {
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Kind::Server => "Server",
            Kind::Client => "Client",
            Kind::Producer => "Producer",
            Kind::Consumer => "Consumer",
            Kind::Internal => "Internal",
        }
    }
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args { name: None, service: None, kind: None, attrs: Attrs::default(), krate: None };
        let mut seen_attrs: Option<Span> = None;
        while !input.is_empty() {
            if input.peek(Token![crate]) {
                let token: Token![crate] = input.parse()?;
                if args.krate.is_some() {
                    return Err(duplicate(token.span, "crate"));
                }
                input.parse::<Token![=]>()?;
                args.krate = Some(input.call(Path::parse_mod_style).map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "`crate` takes a path to trace_runtime, e.g. `crate = ::my_facade::trace_runtime`",
                    )
                })?);
            } else {
                let key: Ident = input.parse().map_err(|e| {
                    syn::Error::new(e.span(), format!("expected an argument of #[traced]: one of {ACCEPTED}"))
                })?;
                match key.to_string().as_str() {
                    "name" => set_once(&mut args.name, &key, parse_str_value(input, &key, "name = \"checkout\"")?)?,
                    "service" => {
                        set_once(&mut args.service, &key, parse_str_value(input, &key, "service = \"postgres\"")?)?
                    }
                    "kind" => set_once(&mut args.kind, &key, parse_kind(input, &key)?)?,
                    "attrs" => {
                        if seen_attrs.is_some() {
                            return Err(duplicate(key.span(), "attrs"));
                        }
                        seen_attrs = Some(key.span());
                        let content;
                        syn::parenthesized!(content in input);
                        args.attrs = content.parse()?;
                    }
                    other => {
                        return Err(syn::Error::new(
                            key.span(),
                            format!("unknown argument `{other}` of #[traced]; expected one of: {ACCEPTED}"),
                        ))
                    }
                }
            }
            if input.is_empty() {
                break;
            }
            input
                .parse::<Token![,]>()
                .map_err(|e| syn::Error::new(e.span(), "expected `,` between arguments of #[traced]"))?;
        }
        Ok(args)
    }
}

impl Args {
    /// Checks the arguments against the function they annotate.
    pub(crate) fn validate(&self, func: &TracedFn) -> syn::Result<()> {
        self.attrs.validate(func)
    }
}

fn set_once<T>(slot: &mut Option<T>, key: &Ident, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(duplicate(key.span(), &key.to_string()));
    }
    *slot = Some(value);
    Ok(())
}

fn duplicate(span: Span, name: &str) -> syn::Error {
    syn::Error::new(span, format!("duplicate `{name}` argument: give it once"))
}

fn parse_str_value(input: ParseStream<'_>, key: &Ident, example: &str) -> syn::Result<LitStr> {
    input
        .parse::<Token![=]>()
        .map_err(|e| syn::Error::new(e.span(), format!("expected `=` after `{key}`, e.g. `{example}`")))?;
    let lit: LitStr = if input.peek(LitStr) {
        input.parse()?
    } else {
        let span = input.cursor().token_tree().map_or_else(|| input.span(), |(tt, _)| tt.span());
        return Err(syn::Error::new(span, format!("`{key}` takes a string literal, e.g. `{example}`")));
    };
    if lit.value().is_empty() {
        return Err(syn::Error::new(lit.span(), format!("`{key}` must not be empty, e.g. `{example}`")));
    }
    Ok(lit)
}

fn parse_kind(input: ParseStream<'_>, key: &Ident) -> syn::Result<Kind> {
    const KINDS: &str = "server, client, producer, consumer or internal";
    input
        .parse::<Token![=]>()
        .map_err(|e| syn::Error::new(e.span(), format!("expected `=` after `{key}`, e.g. `kind = server`")))?;
    let kind: Ident = input
        .parse()
        .map_err(|e| syn::Error::new(e.span(), format!("`kind` takes one of {KINDS}, e.g. `kind = server`")))?;
    Ok(match kind.to_string().as_str() {
        "server" => Kind::Server,
        "client" => Kind::Client,
        "producer" => Kind::Producer,
        "consumer" => Kind::Consumer,
        "internal" => Kind::Internal,
        other => return Err(syn::Error::new(kind.span(), format!("unknown span kind `{other}`; expected {KINDS}"))),
    })
}
