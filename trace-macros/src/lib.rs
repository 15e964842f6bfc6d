//! The `#[traced]` attribute. Use it through `trace-runtime`, which
//! re-exports it and provides the runtime it expands to.
//!
//! This entry only parses and hands over: `args` validates the arguments,
//! `item` builds the typed view of the annotated item, `expand`
//! generates code. The expander never sees invalid input; on error the
//! original item is emitted unchanged next to the error (for an impl block,
//! without the `#[traced]` of its methods), so users see one error and keep
//! completion inside the function.

mod args;
mod attrs;
mod expand;
mod item;

use std::collections::HashSet;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::{ImplItem, ItemImpl, Meta};

use crate::args::{Args, Errors, Place};
use crate::item::{TracedFn, TracedItem};

/// Turns a function into an OpenTelemetry span: started when the function
/// is called (for `async`, when the future is first polled), current for the
/// whole body, ended when it returns, with `Err` returns and panics recorded
/// as errors. Nothing about the arguments is recorded unless asked.
///
/// Goes on: functions and methods, sync or `async` (also `async fn` in
/// traits and their impls); functions returning `impl Future`,
/// `Pin<Box<dyn Future>>` or `BoxFuture` (the span covers the awaited
/// future, not its construction); `#[async_trait]` methods (either order of
/// the two attributes); and impl blocks, inherent or trait, where it traces
/// every method.
///
/// ```ignore
/// use trace_runtime::traced;
///
/// #[traced(kind = server, attrs(http.request.method = "POST", cart.items = items.len()))]
/// async fn checkout(user: &User, items: &[Item]) -> Result<Receipt, Error> { .. }
/// ```
///
/// # Arguments
///
/// All optional, comma-separated, each at most once.
///
/// - `name = "checkout"`: the span name. Default: the function's name; for a
///   method of a traced impl block, `Type::method`.
/// - `kind = server | client | producer | consumer | internal` (default
///   `internal`).
/// - `service = "postgres"`: the service this span belongs to; descendants
///   inherit it.
/// - `attrs(..)`: attributes to record, evaluated only when the span records.
///   `key = expr` records a typed value (bool, integers, floats, strings,
///   arrays of them; `None` records nothing); `key = %expr` its `Display`,
///   `key = ?expr` its `Debug`. Keys are identifiers, dotted paths
///   (`http.request.method`) or strings (`"any-key"`). A bare argument name
///   (`user_id`, `%order`, `?tags`) records that argument under its own
///   name. A value with no conversion is a compile error naming `%` and `?`.
///   Expressions may use the arguments and `self`.
/// - `args`: records every argument whose type converts, under its own
///   name; the others (and `self`) are left out without an error.
///   `skip(password, token)` leaves the named ones out too. Arguments of a
///   generic type `T` are left out unless `T: AttributeValue`.
/// - `ret`: records the return value as attribute `return.value` — for a
///   `Result`, the `Ok` value (an `Err` is recorded as an error). `ret(%)`
///   records its `Display`, `ret(?)` its `Debug`, and
///   `ret(key = "output.value")` (or `ret(?, key = "..")`) changes the key. A
///   plain `ret` on a type with no conversion is a compile error naming
///   `ret(%)` and `ret(?)`.
/// - `err = false`: an `Err` return is not recorded as an error (for
///   functions where `Err` is an expected answer). Default `err = true`.
/// - `links = expr`: links to other spans, e.g. the messages that
///   triggered a batch job. Takes a `SpanContext`, `SpanHandle`, `Context`
///   or `Link`, a reference to one, or an `Option`, `Vec`, array or slice of
///   them; invalid contexts are left out.
/// - `parent = expr`: an explicit parent instead of the current span: a
///   `Context` (e.g. extracted from incoming headers), `SpanHandle` or
///   `SpanContext`, a reference to one, or an `Option` of one. `parent = None`
///   (or a `None` at run time) starts a new trace.
/// - `crate = path`: where `trace_runtime` is, for crates that re-export it.
/// - `off`: on a method of a traced impl block, leaves that method
///   untraced.
///
/// `links` and `parent` are evaluated only when something is installed to
/// record spans, `attrs` only when the span records.
///
/// # Futures
///
/// An `async fn`'s span starts when its future is first polled, under the
/// span current then, and is current on every poll; a future dropped before
/// it completes ends its span with `traced.cancelled = true` and a
/// `cancelled` event. A plain function returning a future behaves the same
/// when its body is one `async move` block (or `Box::pin` of one, the shape
/// `#[async_trait]` generates). With any other body (statements before the
/// future, an early `return`, a future from elsewhere), the body runs as
/// written when the function is called and is not in the span; `attrs`,
/// `args`, `links` and `parent` are evaluated then, while the arguments are
/// there, and the span starts on the first poll — if a span started at the
/// call would have been recorded (in tests: build such a future inside the
/// capture). A function returning a named future type (not `impl Future`,
/// `Pin<Box<dyn Future>>` or `BoxFuture`) is traced like a sync function.
///
/// # Impl blocks
///
/// `#[traced(..)]` on an impl block traces every method with a body that is
/// not a `const fn`, named `Type::method`, with the block's arguments. A
/// `#[traced(..)]` on a method changes that method: each argument given
/// there replaces the block's, except `attrs`, which adds to the block's (a
/// key given on both takes the method's value). `#[traced(off)]` leaves a
/// method out. `name` and `off` cannot go on the block itself.
///
/// ```ignore
/// #[traced(kind = client, args, skip(password))]
/// impl UserStore {
///     fn get(&self, id: u64) -> Option<User> { .. }            // "UserStore::get", id recorded
///     #[traced(name = "users.login", ret(?))]
///     fn login(&self, name: &str, password: &str) -> Result<Session, Error> { .. }
///     #[traced(off)]
///     fn cache_size(&self) -> usize { .. }                    // not traced
/// }
/// ```
#[proc_macro_attribute]
pub fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = TokenStream2::from(item);
    let args = match syn::parse::<Args>(args) {
        Ok(args) => args,
        Err(error) => return with_error(error, fallback(item)),
    };
    let parsed = match TracedItem::parse(item.clone()) {
        Ok(parsed) => parsed,
        Err(error) => return with_error(error, item),
    };
    match parsed {
        TracedItem::Fn(func) => match args.validate(&func, Place::Fn) {
            Ok(()) => expand::expand_fn(&args, *func, None).into(),
            Err(error) => with_error(error, item),
        },
        TracedItem::Impl(block) => {
            let (stripped, methods) = plan_impl(&args, *block);
            match methods {
                Ok((type_name, methods)) => expand::expand_impl(stripped, &type_name, methods).into(),
                Err(error) => with_error(error, quote!(#stripped)),
            }
        }
    }
}

fn with_error(error: syn::Error, item: TokenStream2) -> TokenStream {
    let error = error.to_compile_error();
    quote!(#error #item).into()
}

/// What to emit next to an error in the arguments: the item as written, but
/// for an impl block without the `#[traced]` of its methods, which would
/// only repeat errors.
fn fallback(item: TokenStream2) -> TokenStream2 {
    match syn::parse2::<ItemImpl>(item.clone()) {
        Ok(mut block) => {
            strip_method_attrs(&mut block);
            quote!(#block)
        }
        Err(_) => item,
    }
}

fn strip_method_attrs(block: &mut ItemImpl) {
    for item in &mut block.items {
        if let ImplItem::Fn(method) = item {
            method.attrs.retain(|attr| !item::is_traced_attr(attr));
        }
    }
}

type Planned = (String, Vec<(usize, Args, TracedFn)>);

/// The methods of a traced impl block to trace, each with its arguments
/// merged and validated. Returns the block without the `#[traced]` of its
/// methods (they are handled here, not expanded again).
fn plan_impl(block_args: &Args, mut block: ItemImpl) -> (ItemImpl, syn::Result<Planned>) {
    let mut errors = Errors::default();
    if let Err(error) = block_args.validate_block() {
        errors.push(error);
    }
    let type_name = item::self_type_name(&block.self_ty);
    let mut methods = Vec::new();
    let mut skip_used = HashSet::new();
    for (index, item) in block.items.iter_mut().enumerate() {
        let ImplItem::Fn(method) = item else { continue };
        let (own, rest): (Vec<_>, Vec<_>) =
            std::mem::take(&mut method.attrs).into_iter().partition(item::is_traced_attr);
        method.attrs = rest;
        let own = match method_args(&own) {
            Ok(own) => own,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        if let Some(off) = own.as_ref().and_then(|a| a.off.as_ref().map(|off| (a, off))) {
            if off.0.has_other_than_off() {
                errors.push(syn::Error::new(
                    off.1.span(),
                    "`off` leaves the method untraced and takes no other argument: remove the others, or `off`",
                ));
            }
            continue;
        }
        // A `const fn` is skipped, unless it was explicitly marked.
        if method.sig.constness.is_some() && own.is_none() {
            continue;
        }
        let own = own.unwrap_or_default();
        let (own_skip, own_ret) = (own.skip.is_some(), own.ret.is_some());
        let mut args = Args::merged(block_args, own);
        let func = match TracedFn::from_impl_fn(method.clone()) {
            Ok(func) => func,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        // The block's `ret` applies to the methods that return something.
        if !own_ret && func.returns_nothing() {
            args.ret = None;
        }
        // The block's `skip(..)` names arguments of some methods, not all.
        let present = func.arg_names();
        if let Some((_, names)) = &block_args.skip {
            skip_used.extend(names.iter().map(ToString::to_string).filter(|name| present.contains(name)));
        }
        if !own_skip {
            if let Some((_, names)) = &mut args.skip {
                names.retain(|name| present.contains(&name.to_string()));
                if names.is_empty() || block_args.all_args.is_none() {
                    args.skip = None;
                }
            }
        }
        match args.validate(&func, Place::Method) {
            Ok(()) => methods.push((index, args, func)),
            Err(error) => errors.push(error),
        }
    }
    if let Some((skip, names)) = &block_args.skip {
        if block_args.all_args.is_none() {
            errors.push(syn::Error::new(
                skip.span(),
                "`skip(..)` leaves arguments out of `args`, which is not set: \
                 add `args` to record every argument except these, or remove `skip`",
            ));
        }
        for name in names.iter().filter(|name| !skip_used.contains(&name.to_string())) {
            errors.push(syn::Error::new(
                name.span(),
                format!("`{name}` is not an argument of any traced method of `{type_name}`"),
            ));
        }
    }
    let result = errors.finish().map(|()| (type_name, methods));
    (block, result)
}

/// The arguments of a method's own `#[traced(..)]`, if it has one.
fn method_args(attrs: &[syn::Attribute]) -> syn::Result<Option<Args>> {
    let mut found: Option<Args> = None;
    for attr in attrs {
        if found.is_some() {
            return Err(syn::Error::new_spanned(attr, "#[traced] is given twice on this method: merge them"));
        }
        found = Some(match &attr.meta {
            Meta::Path(_) => Args::default(),
            Meta::List(list) => list.parse_args::<Args>()?,
            Meta::NameValue(nv) => {
                return Err(syn::Error::new_spanned(nv.eq_token, "expected #[traced] or #[traced(..)]"));
            }
        });
    }
    Ok(found)
}
