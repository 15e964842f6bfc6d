//! The arguments of `#[traced(..)]`, parsed: each at most once, every error
//! spanned at the offending token. Checking them against the function they
//! annotate is `validate`'s job.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, LitBool, LitStr, Path, Token};

use crate::attrs::{Attrs, Format};

/// The argument names, and the words `kind` and `ret(..)` take.
pub(crate) mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(service);
    syn::custom_keyword!(kind);
    syn::custom_keyword!(resource);
    syn::custom_keyword!(span_type);
    syn::custom_keyword!(attrs);
    syn::custom_keyword!(args);
    syn::custom_keyword!(skip);
    syn::custom_keyword!(ret);
    syn::custom_keyword!(err);
    syn::custom_keyword!(metrics);
    syn::custom_keyword!(links);
    syn::custom_keyword!(parent);
    syn::custom_keyword!(off);
    syn::custom_keyword!(key);
    syn::custom_keyword!(server);
    syn::custom_keyword!(client);
    syn::custom_keyword!(producer);
    syn::custom_keyword!(consumer);
    syn::custom_keyword!(internal);
}

pub(crate) const ACCEPTED: &str =
    "name, service, kind, resource, span_type, attrs, args, skip, ret, err, metrics, links, parent, crate \
                        (and off, on a method of a #[traced] impl block)";

/// The arguments as written, each at most once.
#[derive(Clone, Default)]
pub(crate) struct Args {
    pub(crate) name: Option<LitStr>,
    pub(crate) service: Option<LitStr>,
    pub(crate) kind: Option<Kind>,
    pub(crate) attrs: Option<Attrs>,
    pub(crate) krate: Option<Path>,
    /// The `args` flag: record every argument that converts.
    pub(crate) all_args: Option<kw::args>,
    /// `skip(a, b)`: arguments `args` leaves out.
    pub(crate) skip: Option<Skip>,
    pub(crate) ret: Option<Ret>,
    /// `err = false`: do not record an `Err` return as an error.
    pub(crate) err: Option<LitBool>,
    /// `metrics = false`: leave the function out of the RED metrics.
    pub(crate) metrics: Option<LitBool>,
    pub(crate) links: Option<Expr>,
    pub(crate) parent: Option<Expr>,
    /// `off`: a method of a traced impl block that is not traced.
    pub(crate) off: Option<kw::off>,
    /// `resource = ".."` (ddtrace), recorded as `resource.name`.
    pub(crate) resource: Option<LitStr>,
    /// `span_type = ".."` (ddtrace), recorded as `span.type`.
    pub(crate) span_type: Option<LitStr>,
}

/// `kind = server`: expands to the `SpanKind` variant.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Server,
    Client,
    Producer,
    Consumer,
    Internal,
}

impl ToTokens for Kind {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let private = crate::expand::private();
        tokens.extend(match self {
            Kind::Server => quote!(#private::SpanKind::Server),
            Kind::Client => quote!(#private::SpanKind::Client),
            Kind::Producer => quote!(#private::SpanKind::Producer),
            Kind::Consumer => quote!(#private::SpanKind::Consumer),
            Kind::Internal => quote!(#private::SpanKind::Internal),
        });
    }
}

/// `skip(password, token)`.
#[derive(Clone)]
pub(crate) struct Skip {
    pub(crate) keyword: kw::skip,
    pub(crate) names: Vec<Ident>,
}

/// `ret`, `ret(%)`, `ret(?)`, `ret(key = "output.value")`, `ret(%, key = "..")`.
#[derive(Clone)]
pub(crate) struct Ret {
    pub(crate) keyword: kw::ret,
    pub(crate) format: Format,
    pub(crate) key: Option<LitStr>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            args.parse_one(input)?;
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
    fn parse_one(&mut self, input: ParseStream<'_>) -> syn::Result<()> {
        if input.peek(Token![crate]) {
            let token: Token![crate] = input.parse()?;
            input.parse::<Token![=]>().map_err(|e| {
                syn::Error::new(e.span(), "expected `=` after `crate`, e.g. `crate = ::my_facade::trace_runtime`")
            })?;
            let path = input.call(Path::parse_mod_style).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "`crate` takes a path to trace_runtime, e.g. `crate = ::my_facade::trace_runtime`",
                )
            })?;
            set_once(&mut self.krate, token.span, "crate", path)
        } else if input.peek(kw::name) {
            let key: kw::name = input.parse()?;
            set_once(&mut self.name, key.span, "name", parse_str_value(input, "name", "name = \"checkout\"")?)
        } else if input.peek(kw::service) {
            let key: kw::service = input.parse()?;
            let value = parse_str_value(input, "service", "service = \"postgres\"")?;
            set_once(&mut self.service, key.span, "service", value)
        } else if input.peek(kw::kind) {
            let key: kw::kind = input.parse()?;
            set_once(&mut self.kind, key.span, "kind", parse_kind(input)?)
        } else if input.peek(kw::resource) {
            let key: kw::resource = input.parse()?;
            let value = parse_str_value(input, "resource", "resource = \"GET /orders/{id}\"")?;
            set_once(&mut self.resource, key.span, "resource", value)
        } else if input.peek(kw::span_type) {
            let key: kw::span_type = input.parse()?;
            set_once(&mut self.span_type, key.span, "span_type", parse_span_type(input)?)
        } else if input.peek(kw::attrs) {
            let key: kw::attrs = input.parse()?;
            if self.attrs.is_some() {
                return Err(duplicate(key.span, "attrs"));
            }
            if !input.peek(syn::token::Paren) {
                return Err(syn::Error::new(
                    key.span,
                    "`attrs` takes a list in parentheses, e.g. `attrs(user.id = id, %order, ?tags)`",
                ));
            }
            let content;
            syn::parenthesized!(content in input);
            let mut attrs: Attrs = content.parse()?;
            attrs.keyword = key.span;
            self.attrs = Some(attrs);
            Ok(())
        } else if input.peek(kw::args) {
            let key: kw::args = input.parse()?;
            if input.peek(syn::token::Paren) || input.peek(Token![=]) {
                return Err(syn::Error::new(
                    key.span,
                    "`args` is a flag and takes no value: write `args` to record every argument that converts, \
                     and `skip(a, b)` to leave some out",
                ));
            }
            set_once(&mut self.all_args, key.span, "args", key)
        } else if input.peek(kw::skip) {
            let keyword: kw::skip = input.parse()?;
            set_once(&mut self.skip, keyword.span, "skip", parse_skip(input, keyword)?)
        } else if input.peek(kw::ret) {
            let keyword: kw::ret = input.parse()?;
            set_once(&mut self.ret, keyword.span, "ret", parse_ret(input, keyword)?)
        } else if input.peek(kw::err) {
            let key: kw::err = input.parse()?;
            let value = parse_bool(
                input,
                "expected `=` after `err`: `err = false` leaves an `Err` return unrecorded",
                "`err` takes `true` (the default: an `Err` return marks the span as an error) or `false`",
            )?;
            set_once(&mut self.err, key.span, "err", value)
        } else if input.peek(kw::metrics) {
            let key: kw::metrics = input.parse()?;
            let value = parse_bool(
                input,
                "expected `=` after `metrics`: `metrics = false` leaves the function out of the RED metrics",
                "`metrics` takes `true` (the default: every call counts in `function.calls`, \
                 `function.calls.duration` and `function.calls.concurrent`) or `false`",
            )?;
            set_once(&mut self.metrics, key.span, "metrics", value)
        } else if input.peek(kw::links) {
            let key: kw::links = input.parse()?;
            let expr = parse_expr_value(input, "links", "links = [batch.trigger.clone()]")?;
            set_once(&mut self.links, key.span, "links", expr)
        } else if input.peek(kw::parent) {
            let key: kw::parent = input.parse()?;
            let expr = parse_expr_value(input, "parent", "parent = remote_context` or `parent = None")?;
            set_once(&mut self.parent, key.span, "parent", expr)
        } else if input.peek(kw::off) {
            let key: kw::off = input.parse()?;
            if input.peek(syn::token::Paren) || input.peek(Token![=]) {
                return Err(syn::Error::new(key.span, "`off` takes no value: write #[traced(off)]"));
            }
            set_once(&mut self.off, key.span, "off", key)
        } else {
            let other: Ident = input.call(Ident::parse_any).map_err(|e| {
                syn::Error::new(e.span(), format!("expected an argument of #[traced]: one of {ACCEPTED}"))
            })?;
            Err(syn::Error::new(
                other.span(),
                format!("unknown argument `{other}` of #[traced]; expected one of: {ACCEPTED}"),
            ))
        }
    }

    /// The arguments of a method inside a traced impl block: each argument
    /// given on the method replaces the block's, except `attrs`, which adds
    /// to the block's (a key given on both takes the method's value).
    pub(crate) fn merged(block: &Args, method: Args) -> Args {
        let attrs = match (&block.attrs, method.attrs) {
            (Some(outer), Some(mut inner)) => {
                let mut entries: Vec<_> =
                    outer.entries.iter().filter(|a| inner.entries.iter().all(|b| b.key != a.key)).cloned().collect();
                entries.append(&mut inner.entries);
                inner.entries = entries;
                Some(inner)
            }
            (outer, inner) => inner.or_else(|| outer.clone()),
        };
        Args {
            name: method.name,
            service: method.service.or_else(|| block.service.clone()),
            kind: method.kind.or(block.kind),
            attrs,
            krate: method.krate.or_else(|| block.krate.clone()),
            all_args: method.all_args.or(block.all_args),
            skip: method.skip.or_else(|| block.skip.clone()),
            ret: method.ret.or_else(|| block.ret.clone()),
            err: method.err.or_else(|| block.err.clone()),
            metrics: method.metrics.or_else(|| block.metrics.clone()),
            links: method.links.or_else(|| block.links.clone()),
            parent: method.parent.or_else(|| block.parent.clone()),
            off: method.off,
            resource: method.resource.or_else(|| block.resource.clone()),
            span_type: method.span_type.or_else(|| block.span_type.clone()),
        }
    }

    /// True when an `Err` return is recorded as an error (the default).
    pub(crate) fn records_errors(&self) -> bool {
        self.err.as_ref().is_none_or(LitBool::value)
    }

    /// True when calls count in the RED metrics (the default).
    pub(crate) fn records_metrics(&self) -> bool {
        self.metrics.as_ref().is_none_or(LitBool::value)
    }

    /// True when anything but `off` is given.
    pub(crate) fn has_other_than_off(&self) -> bool {
        let Args {
            name,
            service,
            kind,
            attrs,
            krate,
            all_args,
            skip,
            ret,
            err,
            metrics,
            links,
            parent,
            off: _,
            resource,
            span_type,
        } = self;
        name.is_some()
            || resource.is_some()
            || span_type.is_some()
            || service.is_some()
            || kind.is_some()
            || attrs.is_some()
            || krate.is_some()
            || all_args.is_some()
            || skip.is_some()
            || ret.is_some()
            || err.is_some()
            || metrics.is_some()
            || links.is_some()
            || parent.is_some()
    }
}

fn parse_skip(input: ParseStream<'_>, keyword: kw::skip) -> syn::Result<Skip> {
    if !input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            keyword.span,
            "`skip` lists the arguments `args` leaves out, e.g. `args, skip(password)`; \
             to leave a method of a #[traced] impl block untraced, write #[traced(off)] on it",
        ));
    }
    let content;
    syn::parenthesized!(content in input);
    // Argument names, `self` included (`parse_any`).
    let names = content
        .parse_terminated(Ident::parse_any, Token![,])
        .map_err(|e| syn::Error::new(e.span(), "`skip(..)` takes argument names, e.g. `skip(password, token)`"))?;
    if names.is_empty() {
        return Err(syn::Error::new(keyword.span, "`skip()` is empty: name the arguments to leave out"));
    }
    Ok(Skip { keyword, names: names.into_iter().collect() })
}

fn parse_ret(input: ParseStream<'_>, keyword: kw::ret) -> syn::Result<Ret> {
    const USAGE: &str = "`ret` takes `%` (Display), `?` (Debug) and/or `key = \"attribute.key\"`, \
                         e.g. `ret`, `ret(?)`, `ret(%, key = \"output.value\")`";
    let mut ret = Ret { keyword, format: Format::Typed, key: None };
    if input.peek(Token![=]) {
        return Err(syn::Error::new(input.span(), USAGE));
    }
    if !input.peek(syn::token::Paren) {
        return Ok(ret);
    }
    let content;
    syn::parenthesized!(content in input);
    let mut format_seen = false;
    while !content.is_empty() {
        if content.peek(Token![%]) || content.peek(Token![?]) {
            if format_seen {
                return Err(syn::Error::new(content.span(), "`ret(..)` takes one of `%` or `?`, once"));
            }
            format_seen = true;
            ret.format = content.parse()?;
        } else if content.peek(kw::key) {
            let key: kw::key = content.parse()?;
            if ret.key.is_some() {
                return Err(duplicate(key.span, "key"));
            }
            content.parse::<Token![=]>().map_err(|e| {
                syn::Error::new(e.span(), "expected `=` after `key`, e.g. `ret(key = \"output.value\")`")
            })?;
            let lit: LitStr = content.parse().map_err(|e| {
                syn::Error::new(e.span(), "`key` takes a string literal, e.g. `ret(key = \"output.value\")`")
            })?;
            if lit.value().is_empty() {
                return Err(syn::Error::new(lit.span(), "an attribute key must not be empty"));
            }
            ret.key = Some(lit);
        } else if content.peek(Ident) {
            let name: Ident = content.parse()?;
            return Err(syn::Error::new(name.span(), format!("unknown `{name}` in `ret(..)`; {USAGE}")));
        } else {
            return Err(syn::Error::new(content.span(), USAGE));
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>().map_err(|e| syn::Error::new(e.span(), "expected `,` inside `ret(..)`"))?;
    }
    Ok(ret)
}

fn parse_bool(input: ParseStream<'_>, no_equals: &str, not_a_bool: &str) -> syn::Result<LitBool> {
    input.parse::<Token![=]>().map_err(|e| syn::Error::new(e.span(), no_equals))?;
    input.parse().map_err(|e| syn::Error::new(e.span(), not_a_bool))
}

fn parse_expr_value(input: ParseStream<'_>, key: &str, example: &str) -> syn::Result<Expr> {
    input
        .parse::<Token![=]>()
        .map_err(|e| syn::Error::new(e.span(), format!("expected `=` after `{key}`, e.g. `{example}`")))?;
    if input.is_empty() || input.peek(Token![,]) {
        return Err(syn::Error::new(input.span(), format!("expected a value after `{key} =`, e.g. `{example}`")));
    }
    input.parse()
}

fn set_once<T>(slot: &mut Option<T>, at: Span, key: &str, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(duplicate(at, key));
    }
    *slot = Some(value);
    Ok(())
}

pub(crate) fn duplicate(span: Span, name: &str) -> syn::Error {
    syn::Error::new(span, format!("duplicate `{name}` argument: give it once"))
}

fn parse_str_value(input: ParseStream<'_>, key: &str, example: &str) -> syn::Result<LitStr> {
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

/// `span_type = "web"`: Datadog's types are short lowercase words
/// (`web`, `db`, `cache`, `http`, `custom`, ...).
fn parse_span_type(input: ParseStream<'_>) -> syn::Result<LitStr> {
    const EXAMPLE: &str = "span_type = \"web\"";
    let lit = parse_str_value(input, "span_type", EXAMPLE)?;
    let value = lit.value();
    if value.len() > 64 || !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b)) {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "`span_type` is a short lowercase word (letters, digits, `_`, `.`, `-`; at most 64), \
                 e.g. `{EXAMPLE}`, `\"db\"`, `\"cache\"`; got {value:?}"
            ),
        ));
    }
    Ok(lit)
}

fn parse_kind(input: ParseStream<'_>) -> syn::Result<Kind> {
    const KINDS: &str = "server, client, producer, consumer or internal";
    input
        .parse::<Token![=]>()
        .map_err(|e| syn::Error::new(e.span(), "expected `=` after `kind`, e.g. `kind = server`"))?;
    let kind = if input.peek(kw::server) {
        input.parse::<kw::server>().map(|_| Kind::Server)
    } else if input.peek(kw::client) {
        input.parse::<kw::client>().map(|_| Kind::Client)
    } else if input.peek(kw::producer) {
        input.parse::<kw::producer>().map(|_| Kind::Producer)
    } else if input.peek(kw::consumer) {
        input.parse::<kw::consumer>().map(|_| Kind::Consumer)
    } else if input.peek(kw::internal) {
        input.parse::<kw::internal>().map(|_| Kind::Internal)
    } else {
        let other: Ident = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), format!("`kind` takes one of {KINDS}, e.g. `kind = server`")))?;
        return Err(syn::Error::new(other.span(), format!("unknown span kind `{other}`; expected {KINDS}")));
    };
    kind
}
