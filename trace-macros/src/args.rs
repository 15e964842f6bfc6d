//! The arguments of `#[traced(..)]`: parsed, checked for duplicates and
//! validated against the function, every error spanned at the offending token.

use std::collections::HashSet;

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, LitBool, LitStr, Path, Token};

use crate::attrs::{Attrs, Format};
use crate::item::TracedFn;

const ACCEPTED: &str =
    "name, service, kind, resource, span_type, attrs, args, skip, ret, err, metrics, links, parent, crate \
                        (and off, on a method of a #[traced] impl block)";

/// Validated arguments, ready for the expander.
#[derive(Clone, Default)]
pub(crate) struct Args {
    pub(crate) name: Option<LitStr>,
    pub(crate) service: Option<LitStr>,
    pub(crate) kind: Option<Kind>,
    /// `attrs(..)`, with the span of the `attrs` keyword.
    pub(crate) attrs: Option<(Span, Attrs)>,
    pub(crate) krate: Option<Path>,
    /// The `args` flag: record every argument that converts.
    pub(crate) all_args: Option<Ident>,
    /// `skip(a, b)`: arguments `args` leaves out.
    pub(crate) skip: Option<(Ident, Vec<Ident>)>,
    pub(crate) ret: Option<Ret>,
    /// `err = false`: do not record an `Err` return as an error.
    pub(crate) err: Option<LitBool>,
    /// `metrics = false`: leave the function out of the RED metrics.
    pub(crate) metrics: Option<LitBool>,
    pub(crate) links: Option<Expr>,
    pub(crate) parent: Option<Expr>,
    /// `off`: a method of a traced impl block that is not traced.
    pub(crate) off: Option<Ident>,
    /// `resource = ".."` (ddtrace), recorded as `resource.name`.
    pub(crate) resource: Option<LitStr>,
    /// `span_type = ".."` (ddtrace), recorded as `span.type`.
    pub(crate) span_type: Option<LitStr>,
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

/// `ret`, `ret(%)`, `ret(?)`, `ret(key = "output.value")`, `ret(%, key = "..")`.
#[derive(Clone)]
pub(crate) struct Ret {
    pub(crate) token: Ident,
    pub(crate) format: Format,
    pub(crate) key: Option<LitStr>,
}

/// Where the arguments were written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// On a function, or a method outside a traced impl block.
    Fn,
    /// On a method inside a traced impl block.
    Method,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            if input.peek(Token![crate]) {
                let token: Token![crate] = input.parse()?;
                if args.krate.is_some() {
                    return Err(duplicate(token.span, "crate"));
                }
                input.parse::<Token![=]>().map_err(|e| {
                    syn::Error::new(e.span(), "expected `=` after `crate`, e.g. `crate = ::my_facade::trace_runtime`")
                })?;
                args.krate = Some(input.call(Path::parse_mod_style).map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "`crate` takes a path to trace_runtime, e.g. `crate = ::my_facade::trace_runtime`",
                    )
                })?);
            } else {
                let key: Ident = input.call(syn::ext::IdentExt::parse_any).map_err(|e| {
                    syn::Error::new(e.span(), format!("expected an argument of #[traced]: one of {ACCEPTED}"))
                })?;
                parse_named(input, &key, &mut args)?;
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

fn parse_named(input: ParseStream<'_>, key: &Ident, args: &mut Args) -> syn::Result<()> {
    match key.to_string().as_str() {
        "name" => set_once(&mut args.name, key, parse_str_value(input, key, "name = \"checkout\"")?),
        "service" => set_once(&mut args.service, key, parse_str_value(input, key, "service = \"postgres\"")?),
        "kind" => set_once(&mut args.kind, key, parse_kind(input, key)?),
        "resource" => {
            set_once(&mut args.resource, key, parse_str_value(input, key, "resource = \"GET /orders/{id}\"")?)
        }
        "span_type" => set_once(&mut args.span_type, key, parse_span_type(input, key)?),
        "attrs" => {
            if args.attrs.is_some() {
                return Err(duplicate(key.span(), "attrs"));
            }
            if !input.peek(syn::token::Paren) {
                return Err(syn::Error::new(
                    key.span(),
                    "`attrs` takes a list in parentheses, e.g. `attrs(user.id = id, %order, ?tags)`",
                ));
            }
            let content;
            syn::parenthesized!(content in input);
            args.attrs = Some((key.span(), content.parse()?));
            Ok(())
        }
        "args" => {
            if input.peek(syn::token::Paren) || input.peek(Token![=]) {
                return Err(syn::Error::new(
                    key.span(),
                    "`args` is a flag and takes no value: write `args` to record every argument that converts, \
                     and `skip(a, b)` to leave some out",
                ));
            }
            set_once(&mut args.all_args, key, key.clone())
        }
        "skip" => {
            if !input.peek(syn::token::Paren) {
                return Err(syn::Error::new(
                    key.span(),
                    "`skip` lists the arguments `args` leaves out, e.g. `args, skip(password)`; \
                     to leave a method of a #[traced] impl block untraced, write #[traced(off)] on it",
                ));
            }
            let content;
            syn::parenthesized!(content in input);
            let names = content.parse_terminated(Ident::parse_any_arg, Token![,]).map_err(|e| {
                syn::Error::new(e.span(), "`skip(..)` takes argument names, e.g. `skip(password, token)`")
            })?;
            if names.is_empty() {
                return Err(syn::Error::new(key.span(), "`skip()` is empty: name the arguments to leave out"));
            }
            set_once(&mut args.skip, key, (key.clone(), names.into_iter().collect()))
        }
        "ret" => set_once(&mut args.ret, key, parse_ret(input, key)?),
        "err" => {
            input.parse::<Token![=]>().map_err(|e| {
                syn::Error::new(e.span(), "expected `=` after `err`: `err = false` leaves an `Err` return unrecorded")
            })?;
            let value: LitBool = input.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "`err` takes `true` (the default: an `Err` return marks the span as an error) or `false`",
                )
            })?;
            set_once(&mut args.err, key, value)
        }
        "metrics" => {
            input.parse::<Token![=]>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected `=` after `metrics`: `metrics = false` leaves the function out of the RED metrics",
                )
            })?;
            let value: LitBool = input.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "`metrics` takes `true` (the default: every call counts in `function.calls`, \
                     `function.calls.duration` and `function.calls.concurrent`) or `false`",
                )
            })?;
            set_once(&mut args.metrics, key, value)
        }
        "links" => {
            let expr = parse_expr_value(input, key, "links = [batch.trigger.clone()]")?;
            set_once(&mut args.links, key, expr)
        }
        "parent" => {
            let expr = parse_expr_value(input, key, "parent = remote_context` or `parent = None")?;
            set_once(&mut args.parent, key, expr)
        }
        "off" => {
            if input.peek(syn::token::Paren) || input.peek(Token![=]) {
                return Err(syn::Error::new(key.span(), "`off` takes no value: write #[traced(off)]"));
            }
            set_once(&mut args.off, key, key.clone())
        }
        other => Err(syn::Error::new(
            key.span(),
            format!("unknown argument `{other}` of #[traced]; expected one of: {ACCEPTED}"),
        )),
    }
}

trait ParseArgName: Sized {
    fn parse_any_arg(input: ParseStream<'_>) -> syn::Result<Self>;
}

impl ParseArgName for Ident {
    /// An argument name, `self` included.
    fn parse_any_arg(input: ParseStream<'_>) -> syn::Result<Self> {
        syn::ext::IdentExt::parse_any(input)
    }
}

fn parse_ret(input: ParseStream<'_>, key: &Ident) -> syn::Result<Ret> {
    const USAGE: &str = "`ret` takes `%` (Display), `?` (Debug) and/or `key = \"attribute.key\"`, \
                         e.g. `ret`, `ret(?)`, `ret(%, key = \"output.value\")`";
    let mut ret = Ret { token: key.clone(), format: Format::Typed, key: None };
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
            let span = content.span();
            if format_seen {
                return Err(syn::Error::new(span, "`ret(..)` takes one of `%` or `?`, once"));
            }
            format_seen = true;
            ret.format = if content.peek(Token![%]) {
                content.parse::<Token![%]>()?;
                Format::Display
            } else {
                content.parse::<Token![?]>()?;
                Format::Debug
            };
        } else if content.peek(Ident) {
            let name: Ident = content.parse()?;
            if name != "key" {
                return Err(syn::Error::new(name.span(), format!("unknown `{name}` in `ret(..)`; {USAGE}")));
            }
            if ret.key.is_some() {
                return Err(duplicate(name.span(), "key"));
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

fn parse_expr_value(input: ParseStream<'_>, key: &Ident, example: &str) -> syn::Result<Expr> {
    input
        .parse::<Token![=]>()
        .map_err(|e| syn::Error::new(e.span(), format!("expected `=` after `{key}`, e.g. `{example}`")))?;
    if input.is_empty() || input.peek(Token![,]) {
        return Err(syn::Error::new(input.span(), format!("expected a value after `{key} =`, e.g. `{example}`")));
    }
    input.parse()
}

impl Args {
    /// Checks the arguments against the function they annotate.
    pub(crate) fn validate(&self, func: &TracedFn, place: Place) -> syn::Result<()> {
        let mut errors = Errors::default();
        if let Some(off) = &self.off {
            if place != Place::Method {
                errors.push(syn::Error::new(
                    off.span(),
                    "`off` leaves a method of a #[traced] impl block untraced; \
                     on its own, remove #[traced] instead",
                ));
            } else if self.has_other_than_off() {
                errors.push(syn::Error::new(
                    off.span(),
                    "`off` leaves the method untraced and takes no other argument: remove the others, or `off`",
                ));
            }
        }
        if let Some((_, attrs)) = &self.attrs {
            if let Err(error) = attrs.validate(func) {
                errors.push(error);
            }
        }
        let names: HashSet<String> = func.arg_names().into_iter().collect();
        if let Some((skip, skipped)) = &self.skip {
            if self.all_args.is_none() {
                errors.push(syn::Error::new(
                    skip.span(),
                    "`skip(..)` leaves arguments out of `args`, which is not set: \
                     add `args` to record every argument except these, or remove `skip`",
                ));
            }
            for name in skipped {
                if name == "self" {
                    errors.push(syn::Error::new(
                        name.span(),
                        "`self` is never recorded by `args` (only when named in attrs(..)): nothing to skip",
                    ));
                } else if !names.contains(&name.to_string()) {
                    errors.push(syn::Error::new(
                        name.span(),
                        format!("`{name}` is not an argument of `{}`; {}", func.ident(), known_args(func)),
                    ));
                }
            }
        }
        if let Some(ret) = &self.ret {
            if func.returns_nothing() {
                errors.push(syn::Error::new(
                    ret.token.span(),
                    format!("`ret` records the return value, but `{}` returns nothing", func.ident()),
                ));
            }
        }
        errors.finish()
    }

    /// Checks the arguments written on an impl block.
    pub(crate) fn validate_block(&self) -> syn::Result<()> {
        let mut errors = Errors::default();
        if let Some(name) = &self.name {
            errors.push(syn::Error::new(
                name.span(),
                "`name` on an impl block would give every method the same name; \
                 methods are named `Type::method`, put `name` on a method to change its own",
            ));
        }
        if let Some(off) = &self.off {
            errors.push(syn::Error::new(
                off.span(),
                "`off` goes on a method of a #[traced] impl block; to trace nothing here, remove #[traced]",
            ));
        }
        errors.finish()
    }

    /// The arguments of a method inside a traced impl block: each argument
    /// given on the method replaces the block's, except `attrs`, which adds
    /// to the block's (a key given on both takes the method's value).
    pub(crate) fn merged(block: &Args, method: Args) -> Args {
        let attrs = match (&block.attrs, method.attrs) {
            (Some((_, outer)), Some((span, inner))) => {
                let mut entries: Vec<_> =
                    outer.entries.iter().filter(|a| inner.entries.iter().all(|b| b.key != a.key)).cloned().collect();
                entries.extend(inner.entries);
                Some((span, Attrs { entries }))
            }
            (outer, inner) => inner.or_else(|| outer.clone()),
        };
        Args {
            name: method.name,
            service: method.service.or_else(|| block.service.clone()),
            kind: method.kind.or(block.kind),
            attrs,
            krate: method.krate.or_else(|| block.krate.clone()),
            all_args: method.all_args.or_else(|| block.all_args.clone()),
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

    /// The arguments `args` records: every name the signature binds, except
    /// `self`, `skip(..)`, those `attrs(..)` already records, and
    /// macro-generated ones (`__arg0`).
    /// The arguments `args` records, each with the `#[cfg(..)]` attributes
    /// of its parameter.
    pub(crate) fn recorded_args(&self, func: &TracedFn) -> Vec<(Ident, Vec<syn::Attribute>)> {
        if self.all_args.is_none() {
            return Vec::new();
        }
        let skipped: HashSet<String> =
            self.skip.iter().flat_map(|(_, names)| names.iter().map(ToString::to_string)).collect();
        let taken: HashSet<&str> =
            self.attrs.iter().flat_map(|(_, attrs)| attrs.entries.iter().map(|a| a.key.as_str())).collect();
        func.arg_idents_with_cfg()
            .into_iter()
            .filter(|(ident, _)| {
                let name = ident.to_string();
                let name = name.trim_start_matches("r#");
                !name.starts_with("__") && !skipped.contains(name) && !taken.contains(name)
            })
            .collect()
    }

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

/// "its arguments are: `a`, `b`" or "`f` takes no arguments".
pub(crate) fn known_args(func: &TracedFn) -> String {
    let mut known: Vec<String> = func.arg_names();
    known.sort();
    known.dedup();
    if known.is_empty() {
        format!("`{}` takes no arguments", func.ident())
    } else {
        format!("its arguments are: {}", known.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "))
    }
}

/// Several errors reported at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
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

/// `span_type = "web"`: Datadog's types are short lowercase words
/// (`web`, `db`, `cache`, `http`, `custom`, ...).
fn parse_span_type(input: ParseStream<'_>, key: &Ident) -> syn::Result<LitStr> {
    const EXAMPLE: &str = "span_type = \"web\"";
    let lit = parse_str_value(input, key, EXAMPLE)?;
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
