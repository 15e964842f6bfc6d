//! Every check of the arguments against the item they annotate, in one
//! pass, into the [`Plan`] the expander works from. All errors found are
//! reported together, each spanned at the offending token; the expander
//! never sees invalid input.

use std::collections::HashSet;

use proc_macro2::Span;
use syn::ItemImpl;

use crate::args::Args;
use crate::attrs::AttrValue;
use crate::item::{TracedFn, TracedImpl, TracedItem};

/// What to generate: checked arguments with the function they apply to.
pub(crate) enum Plan {
    Fn(Box<Traced>),
    /// The block (methods without their own `#[traced]`) and the methods to
    /// trace, each with its place in the block's items.
    Impl {
        block: Box<ItemImpl>,
        methods: Vec<(usize, Traced)>,
    },
}

/// One function to trace.
pub(crate) struct Traced {
    pub(crate) args: Args,
    pub(crate) func: TracedFn,
    /// `Type::method` for a method of a traced impl block.
    pub(crate) default_name: Option<String>,
}

/// Checks `args` against `item`.
pub(crate) fn plan(args: Args, item: TracedItem) -> syn::Result<Plan> {
    match item {
        TracedItem::Fn(func) => {
            let mut errors = Errors::default();
            if let Some(off) = &args.off {
                errors.push(syn::Error::new(
                    off.span,
                    "`off` leaves a method of a #[traced] impl block untraced; on its own, remove #[traced] instead",
                ));
            }
            check_fn(&args, &func, &mut errors);
            errors.finish()?;
            Ok(Plan::Fn(Box::new(Traced { args, func: *func, default_name: None })))
        }
        TracedItem::Impl(block) => plan_impl(&args, *block),
    }
}

/// The methods of a traced impl block to trace, each with its arguments
/// merged with the block's and checked.
fn plan_impl(block_args: &Args, traced: TracedImpl) -> syn::Result<Plan> {
    let TracedImpl { block, type_name, methods: candidates } = traced;
    let mut errors = Errors::default();
    if let Some(name) = &block_args.name {
        errors.push(syn::Error::new(
            name.span(),
            "`name` on an impl block would give every method the same name; \
             methods are named `Type::method`, put `name` on a method to change its own",
        ));
    }
    if let Some(off) = &block_args.off {
        errors.push(syn::Error::new(
            off.span,
            "`off` goes on a method of a #[traced] impl block; to trace nothing here, remove #[traced]",
        ));
    }
    let mut methods = Vec::new();
    let mut skip_used = HashSet::new();
    for method in candidates {
        let own = match method.own {
            Ok(own) => own,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        if let Some(off) = own.as_ref().and_then(|own| own.off) {
            if own.as_ref().is_some_and(Args::has_other_than_off) {
                errors.push(off_alone(off.span));
            }
            continue;
        }
        // A `const fn` is skipped, unless it was explicitly marked.
        if method.is_const && own.is_none() {
            continue;
        }
        let func = match method.func {
            Ok(func) => func,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        let own = own.unwrap_or_default();
        let (own_skip, own_ret) = (own.skip.is_some(), own.ret.is_some());
        let mut args = Args::merged(block_args, own);
        // The block's `ret` applies to the methods that return something.
        if !own_ret && func.returns_nothing() {
            args.ret = None;
        }
        // The block's `skip(..)` names arguments of some methods, not all.
        let present = func.arg_names();
        if let Some(skip) = &block_args.skip {
            skip_used.extend(skip.names.iter().map(ToString::to_string).filter(|name| present.contains(name)));
        }
        if !own_skip {
            if let Some(skip) = &mut args.skip {
                skip.names.retain(|name| present.contains(&name.to_string()));
                if skip.names.is_empty() || block_args.all_args.is_none() {
                    args.skip = None;
                }
            }
        }
        check_fn(&args, &func, &mut errors);
        let default_name = format!("{type_name}::{}", unraw(func.ident()));
        methods.push((method.index, Traced { args, func, default_name: Some(default_name) }));
    }
    if let Some(skip) = &block_args.skip {
        if block_args.all_args.is_none() {
            errors.push(skip_without_args(skip.keyword.span));
        }
        for name in skip.names.iter().filter(|name| !skip_used.contains(&name.to_string())) {
            errors.push(syn::Error::new(
                name.span(),
                format!("`{name}` is not an argument of any traced method of `{type_name}`"),
            ));
        }
    }
    errors.finish()?;
    Ok(Plan::Impl { block: Box::new(block), methods })
}

/// The checks of one function's arguments against its signature.
fn check_fn(args: &Args, func: &TracedFn, errors: &mut Errors) {
    let names: HashSet<String> = func.arg_names().into_iter().collect();
    for attr in args.attrs.iter().flat_map(|attrs| &attrs.entries) {
        if let AttrValue::Arg(ident) = &attr.value {
            if !names.contains(&ident.to_string()) {
                errors.push(syn::Error::new(
                    ident.span(),
                    format!(
                        "`{ident}` is not an argument of `{}`; {}. To record another value, write `{ident} = expr`",
                        func.ident(),
                        known_args(func),
                    ),
                ));
            }
        }
    }
    if let Some(skip) = &args.skip {
        if args.all_args.is_none() {
            errors.push(skip_without_args(skip.keyword.span));
        }
        for name in &skip.names {
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
    if let Some(ret) = &args.ret {
        if func.returns_nothing() {
            errors.push(syn::Error::new(
                ret.keyword.span,
                format!("`ret` records the return value, but `{}` returns nothing", func.ident()),
            ));
        }
    }
}

fn off_alone(at: Span) -> syn::Error {
    syn::Error::new(at, "`off` leaves the method untraced and takes no other argument: remove the others, or `off`")
}

fn skip_without_args(at: Span) -> syn::Error {
    syn::Error::new(
        at,
        "`skip(..)` leaves arguments out of `args`, which is not set: \
         add `args` to record every argument except these, or remove `skip`",
    )
}

/// "its arguments are: `a`, `b`" or "`f` takes no arguments".
fn known_args(func: &TracedFn) -> String {
    let mut known: Vec<String> = func.arg_names();
    known.sort();
    known.dedup();
    if known.is_empty() {
        format!("`{}` takes no arguments", func.ident())
    } else {
        format!("its arguments are: {}", known.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "))
    }
}

/// An identifier as written, without `r#`.
pub(crate) fn unraw(ident: &syn::Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
}

/// Several errors reported at once.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}
