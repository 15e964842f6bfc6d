//! The typed view of what `#[traced]` annotates: a function or method with a
//! body — sync, `async`, or returning a future (`-> impl Future`,
//! `-> Pin<Box<dyn Future>>`, the shape `#[async_trait]` leaves behind) — or
//! an impl block, with each method's own `#[traced(..)]` arguments.
//! Everything else is rejected here, spanned at the token that makes it
//! unsupported.

use proc_macro2::TokenStream;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{
    Attribute, Block, Expr, ExprAsync, FnArg, GenericArgument, ImplItem, ImplItemFn, Item, ItemImpl, Meta, Pat,
    PathArguments, ReturnType, Signature, Stmt, TraitItemFn, Type, TypeParamBound, Visibility,
};

use crate::args::Args;

/// What `#[traced]` was put on.
pub(crate) enum TracedItem {
    Fn(Box<TracedFn>),
    Impl(Box<TracedImpl>),
}

impl TracedItem {
    pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Self> {
        let item: Item = match syn::parse2(tokens.clone()) {
            Ok(item) => item,
            Err(error) => return Err(not_parsed(tokens, error)),
        };
        match item {
            Item::Fn(func) => {
                TracedFn::new(func.attrs, func.vis, None, func.sig, func.block).map(|f| TracedItem::Fn(Box::new(f)))
            }
            Item::Impl(block) => Ok(TracedItem::Impl(Box::new(TracedImpl::new(block)))),
            Item::Verbatim(tokens) => {
                Err(not_parsed(tokens.clone(), syn::Error::new(tokens.span(), "unsupported item")))
            }
            other => Err(not_a_function(&other)),
        }
    }
}

/// An impl block whose methods are traced.
pub(crate) struct TracedImpl {
    /// The block, its methods without their own `#[traced]` (read into
    /// [`Method::own`]).
    pub(crate) block: ItemImpl,
    /// `Type` in `impl<T> Type<T>` and `impl Trait for Type`: methods are
    /// named `Type::method`.
    pub(crate) type_name: String,
    pub(crate) methods: Vec<Method>,
}

/// A method of a traced impl block.
pub(crate) struct Method {
    /// Its place in the block's items.
    pub(crate) index: usize,
    /// Its own `#[traced(..)]`, if it has one.
    pub(crate) own: syn::Result<Option<Args>>,
    /// True for a `const fn`.
    pub(crate) is_const: bool,
    pub(crate) func: syn::Result<TracedFn>,
}

impl TracedImpl {
    fn new(mut block: ItemImpl) -> Self {
        let type_name = self_type_name(&block.self_ty);
        let mut methods = Vec::new();
        for (index, item) in block.items.iter_mut().enumerate() {
            let ImplItem::Fn(method) = item else { continue };
            let (own, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut method.attrs).into_iter().partition(is_traced_attr);
            method.attrs = rest;
            methods.push(Method {
                index,
                own: method_args(&own),
                is_const: method.sig.constness.is_some(),
                func: TracedFn::from_impl_fn(method.clone()),
            });
        }
        TracedImpl { block, type_name, methods }
    }
}

/// The arguments of a method's own `#[traced(..)]`, if it has one.
fn method_args(attrs: &[Attribute]) -> syn::Result<Option<Args>> {
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

/// A function or method with a body.
pub(crate) struct TracedFn {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) defaultness: Option<syn::Token![default]>,
    pub(crate) sig: Signature,
    pub(crate) block: Box<Block>,
}

/// How a function produces its result, which decides what the span covers.
pub(crate) enum Shape {
    /// The call.
    Sync,
    /// `async fn`: the awaited body.
    Async,
    /// A plain function returning a future: the awaited future, not its
    /// construction.
    Future(Box<FutureShape>),
}

pub(crate) struct FutureShape {
    /// The returned future must be boxed: `Pin<Box<dyn Future>>`,
    /// `BoxFuture`, or `impl Future + Unpin`.
    pub(crate) boxed: bool,
    /// The return type can be named (not `impl Future`).
    pub(crate) nameable: bool,
    /// `T` in `Future<Output = T>`, with `impl Trait` parts made `_`.
    pub(crate) output: Option<Type>,
}

impl TracedFn {
    pub(crate) fn new(
        attrs: Vec<Attribute>,
        vis: Visibility,
        defaultness: Option<syn::Token![default]>,
        sig: Signature,
        block: Box<Block>,
    ) -> syn::Result<Self> {
        if let Some(constness) = &sig.constness {
            return Err(syn::Error::new(
                constness.span(),
                "#[traced] cannot go on a `const fn`: a span is started and ended at run time. \
                 Remove `const`, or trace the non-const caller instead",
            ));
        }
        Ok(TracedFn { attrs, vis, defaultness, sig, block })
    }

    pub(crate) fn from_impl_fn(method: ImplItemFn) -> syn::Result<Self> {
        Self::new(method.attrs, method.vis, method.defaultness, method.sig, Box::new(method.block))
    }

    pub(crate) fn ident(&self) -> &syn::Ident {
        &self.sig.ident
    }

    pub(crate) fn shape(&self) -> Shape {
        if self.sig.asyncness.is_some() {
            return Shape::Async;
        }
        match &self.sig.output {
            ReturnType::Type(_, ty) => future_shape(ty).map_or(Shape::Sync, |shape| Shape::Future(Box::new(shape))),
            ReturnType::Default => Shape::Sync,
        }
    }

    /// True when the function returns `()`.
    pub(crate) fn returns_nothing(&self) -> bool {
        match &self.sig.output {
            ReturnType::Default => true,
            ReturnType::Type(_, ty) => matches!(&**ty, Type::Tuple(t) if t.elems.is_empty()),
        }
    }

    /// True when the function cannot return an `Err`: it returns `()`, a
    /// primitive (`u64`, `bool`, ..) or an `Option`. Any other type may be a
    /// `Result` under another name (`io::Result`, an alias), which only the
    /// type checker knows.
    pub(crate) fn cannot_fail(&self) -> bool {
        const PRIMITIVES: [&str; 17] = [
            "bool", "char", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
            "f32", "f64", "str",
        ];
        match &self.sig.output {
            ReturnType::Default => true,
            ReturnType::Type(_, ty) => match &**ty {
                Type::Tuple(t) => t.elems.is_empty(),
                Type::Path(p) if p.qself.is_none() => {
                    p.path.get_ident().is_some_and(|id| PRIMITIVES.contains(&&*id.to_string()))
                        || p.path.segments.last().is_some_and(|last| last.ident == "Option")
                }
                _ => false,
            },
        }
    }

    /// Every name the arguments bind: `self`, plain names and the names
    /// inside destructuring patterns.
    pub(crate) fn arg_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if self.sig.receiver().is_some() {
            names.push("self".to_owned());
        }
        names.extend(self.arg_idents().iter().map(ToString::to_string));
        names
    }

    /// The identifiers the typed arguments bind, in order (`self` excluded).
    pub(crate) fn arg_idents(&self) -> Vec<syn::Ident> {
        let mut idents = Vec::new();
        for input in &self.sig.inputs {
            if let FnArg::Typed(typed) = input {
                collect_pat_idents(&typed.pat, &mut idents);
            }
        }
        idents
    }

    /// Like [`arg_idents`](Self::arg_idents), each with the `#[cfg(..)]`
    /// attributes of its parameter (one compiled out must not be read).
    pub(crate) fn arg_idents_with_cfg(&self) -> Vec<(syn::Ident, Vec<syn::Attribute>)> {
        let mut out = Vec::new();
        for input in &self.sig.inputs {
            if let FnArg::Typed(typed) = input {
                let cfgs: Vec<syn::Attribute> =
                    typed.attrs.iter().filter(|a| a.path().is_ident("cfg")).cloned().collect();
                let mut idents = Vec::new();
                collect_pat_idents(&typed.pat, &mut idents);
                out.extend(idents.into_iter().map(|ident| (ident, cfgs.clone())));
            }
        }
        out
    }

    /// Where the body installs the runtime (`init()…install()`), if it does.
    ///
    /// Such a function's own span starts before anything is installed, so it
    /// is never recorded and the spans inside it become separate traces. A
    /// chain `init()….install()` is the sure sign; failing that, an `init()`
    /// call and an `.install()` call in the same body (`let b = init(); …
    /// b.install()`). Nested items are not looked into; closures and async
    /// blocks are (`#[tokio::main]` applied first puts the body in one).
    pub(crate) fn installs_inside(&self) -> Option<proc_macro2::Span> {
        let mut finder = InstallFinder::default();
        finder.visit_block(&self.block);
        finder.chained.or(finder.init.and(finder.install))
    }

    /// True for `-> !`.
    pub(crate) fn returns_never(&self) -> bool {
        matches!(&self.sig.output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)))
    }

    /// The declared return type as a `let` type annotation: `()` when none
    /// is written, and each `impl Trait` (which cannot be named in a `let`)
    /// replaced by `_`. Pinning the body's type this way keeps inference
    /// exactly as without the macro, even for bodies that diverge.
    pub(crate) fn return_type_hint(&self) -> Type {
        match &self.sig.output {
            ReturnType::Default => syn::parse_quote!(()),
            ReturnType::Type(_, ty) => infer_impl_trait((**ty).clone()),
        }
    }

    /// True when the body has a `return` of its own (not one inside a
    /// closure, async block or nested item).
    pub(crate) fn body_returns_early(&self) -> bool {
        let mut finder = ReturnFinder(false);
        finder.visit_block(&self.block);
        finder.0
    }

    /// For a body ending in `Box::pin(future)` (what `#[async_trait]`
    /// generates), the statements before it and `future`.
    pub(crate) fn boxed_tail(&self) -> Option<(&[Stmt], &Expr)> {
        let (last, init) = self.block.stmts.split_last()?;
        let Stmt::Expr(Expr::Call(call), None) = last else { return None };
        let Expr::Path(path) = &*call.func else { return None };
        let segments: Vec<String> = path.path.segments.iter().map(|s| s.ident.to_string()).collect();
        let is_box_pin = segments.len() >= 2 && segments[segments.len() - 2..] == ["Box", "pin"];
        (is_box_pin && call.args.len() == 1).then(|| (init, &call.args[0]))
    }

    /// The `async move` block a body consists of, alone: `async move {..}`,
    /// or `Box::pin(async move {..})` when `boxed` (the `#[async_trait]`
    /// shape). The span can then start inside it, exactly as for an
    /// `async fn`.
    pub(crate) fn lone_async_block(&self, boxed: bool) -> Option<&ExprAsync> {
        if self.body_returns_early() {
            return None;
        }
        let tail = if boxed {
            let (init, inner) = self.boxed_tail()?;
            if !init.is_empty() {
                return None;
            }
            inner
        } else {
            match self.block.stmts.as_slice() {
                [Stmt::Expr(tail, None)] => tail,
                _ => return None,
            }
        };
        match tail {
            Expr::Async(block) if block.capture.is_some() => Some(block),
            _ => None,
        }
    }
}

fn collect_pat_idents(pat: &Pat, idents: &mut Vec<syn::Ident>) {
    match pat {
        Pat::Ident(p) => {
            idents.push(p.ident.clone());
            if let Some((_, sub)) = &p.subpat {
                collect_pat_idents(sub, idents);
            }
        }
        Pat::Tuple(p) => p.elems.iter().for_each(|e| collect_pat_idents(e, idents)),
        Pat::TupleStruct(p) => p.elems.iter().for_each(|e| collect_pat_idents(e, idents)),
        Pat::Struct(p) => p.fields.iter().for_each(|f| collect_pat_idents(&f.pat, idents)),
        Pat::Reference(p) => collect_pat_idents(&p.pat, idents),
        Pat::Slice(p) => p.elems.iter().for_each(|e| collect_pat_idents(e, idents)),
        Pat::Type(p) => collect_pat_idents(&p.pat, idents),
        Pat::Paren(p) => collect_pat_idents(&p.pat, idents),
        _ => {}
    }
}

/// `impl Future<..>`, `Pin<Box<dyn Future<..>>>`, `BoxFuture<..>`.
fn future_shape(ty: &Type) -> Option<FutureShape> {
    match ty {
        Type::ImplTrait(t) => {
            let bounds: Vec<&str> = t.bounds.iter().filter_map(bound_name).collect();
            bounds.contains(&"Future").then(|| FutureShape {
                boxed: bounds.contains(&"Unpin"),
                nameable: false,
                output: t.bounds.iter().find_map(output_type),
            })
        }
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            match last.ident.to_string().as_str() {
                "BoxFuture" | "LocalBoxFuture" => {
                    let output = match &last.arguments {
                        PathArguments::AngleBracketed(args) => args.args.iter().rev().find_map(|a| match a {
                            GenericArgument::Type(t) => Some(t.clone()),
                            _ => None,
                        }),
                        _ => None,
                    };
                    Some(FutureShape { boxed: true, nameable: true, output: output.map(infer_impl_trait) })
                }
                "Pin" => {
                    let boxed = single_type_arg(&last.arguments)?;
                    let Type::Path(b) = boxed else { return None };
                    let b = b.path.segments.last()?;
                    if b.ident != "Box" {
                        return None;
                    }
                    let Type::TraitObject(object) = single_type_arg(&b.arguments)? else { return None };
                    object.bounds.iter().any(|b| bound_name(b) == Some("Future")).then(|| FutureShape {
                        boxed: true,
                        nameable: true,
                        output: object.bounds.iter().find_map(output_type),
                    })
                }
                _ => None,
            }
        }
        Type::Paren(p) => future_shape(&p.elem),
        Type::Group(g) => future_shape(&g.elem),
        _ => None,
    }
}

fn bound_name(bound: &TypeParamBound) -> Option<&'static str> {
    let TypeParamBound::Trait(t) = bound else { return None };
    let last = t.path.segments.last()?;
    if last.ident == "Future" {
        Some("Future")
    } else if last.ident == "Unpin" {
        Some("Unpin")
    } else {
        None
    }
}

/// `T` in a `Future<Output = T>` bound.
fn output_type(bound: &TypeParamBound) -> Option<Type> {
    let TypeParamBound::Trait(t) = bound else { return None };
    let last = t.path.segments.last()?;
    if last.ident != "Future" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    args.args.iter().find_map(|a| match a {
        GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(infer_impl_trait(assoc.ty.clone())),
        _ => None,
    })
}

fn infer_impl_trait(mut ty: Type) -> Type {
    ImplTraitToInfer.visit_type_mut(&mut ty);
    ty
}

fn single_type_arg(arguments: &PathArguments) -> Option<&Type> {
    let PathArguments::AngleBracketed(args) = arguments else { return None };
    let mut types = args.args.iter().filter_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    let first = types.next()?;
    types.next().is_none().then_some(first)
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

#[derive(Default)]
struct InstallFinder {
    /// An `.install()` whose receiver chain starts at `init()`.
    chained: Option<proc_macro2::Span>,
    /// Any `.install()` call.
    install: Option<proc_macro2::Span>,
    /// Any `init()` call (a path ending in `init`, no arguments).
    init: Option<()>,
}

/// A call of a function named `init` with no arguments (`init()`,
/// `trace_runtime::init()`).
fn is_init_call(call: &syn::ExprCall) -> bool {
    call.args.is_empty()
        && matches!(&*call.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "init"))
}

/// Follows method calls, `?`, `.await` and parentheses down to the start of
/// a chain.
fn chain_start(mut expr: &Expr) -> &Expr {
    loop {
        expr = match expr {
            Expr::MethodCall(call) => &call.receiver,
            Expr::Try(e) => &e.expr,
            Expr::Await(e) => &e.base,
            Expr::Paren(e) => &e.expr,
            _ => return expr,
        };
    }
}

impl<'ast> Visit<'ast> for InstallFinder {
    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        if call.method == "install" && call.args.is_empty() {
            self.install.get_or_insert(call.method.span());
            if self.chained.is_none() && matches!(chain_start(&call.receiver), Expr::Call(c) if is_init_call(c)) {
                self.chained = Some(call.method.span());
            }
        }
        syn::visit::visit_expr_method_call(self, call);
    }
    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if is_init_call(call) {
            self.init = Some(());
        }
        syn::visit::visit_expr_call(self, call);
    }
    fn visit_item(&mut self, _: &'ast Item) {}
}

struct ReturnFinder(bool);

impl<'ast> Visit<'ast> for ReturnFinder {
    fn visit_expr_return(&mut self, _: &'ast syn::ExprReturn) {
        self.0 = true;
    }
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
    fn visit_item(&mut self, _: &'ast Item) {}
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // `return` hidden in a macro's tokens counts too.
        let tokens = mac.tokens.to_string();
        if tokens.split(|c: char| !c.is_alphanumeric() && c != '_').any(|word| word == "return") {
            self.0 = true;
        }
    }
}

/// The name an impl block's methods are prefixed with: `Type` in
/// `impl<T> Type<T>` and `impl Trait for Type`.
fn self_type_name(ty: &Type) -> String {
    match ty {
        Type::Path(p) => match p.path.segments.last() {
            Some(last) => last.ident.to_string(),
            None => quote::quote!(#ty).to_string().replace(' ', ""),
        },
        Type::Reference(r) => self_type_name(&r.elem),
        Type::Paren(p) => self_type_name(&p.elem),
        Type::Group(g) => self_type_name(&g.elem),
        other => quote::quote!(#other).to_string().replace(' ', ""),
    }
}

/// `#[traced]`, `#[traced(..)]`, `#[trace_runtime::traced(..)]`.
pub(crate) fn is_traced_attr(attr: &Attribute) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == "traced")
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
    syn::Error::new(error.span(), format!("#[traced] goes on a function, method or impl block: {error}"))
}

fn not_a_function(item: &Item) -> syn::Error {
    let (span, what) = match item {
        Item::Struct(i) => (i.struct_token.span(), "a struct"),
        Item::Enum(i) => (i.enum_token.span(), "an enum"),
        Item::Union(i) => (i.union_token.span(), "a union"),
        Item::Trait(i) => (i.trait_token.span(), "a trait (put it on the methods of each impl, or on the impl block)"),
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
    syn::Error::new(span, format!("#[traced] goes on a function, method or impl block, not on {what}"))
}

#[cfg(test)]
mod tests {
    use super::TracedFn;

    fn installs(source: &str) -> bool {
        let item: syn::ItemFn = syn::parse_str(source).expect("a function");
        let func = TracedFn::new(item.attrs, item.vis, None, item.sig, item.block).expect("traceable");
        func.installs_inside().is_some()
    }

    #[test]
    fn installing_inside_the_body_is_found() {
        assert!(installs("fn main() { let _g = trace_runtime::init().service_name(\"a\").install().unwrap(); }"));
        assert!(installs("async fn main() { let _g = init().install()?; work().await; }"));
        assert!(installs("fn main() { let b = traced::init(); let _g = b.install(); }"));
        // `#[tokio::main]` applied first: the body sits in an async block.
        assert!(installs("fn main() { rt().block_on(async { let _g = init().install(); }) }"));
    }

    #[test]
    fn other_bodies_are_left_alone() {
        assert!(!installs("fn main() { run(); }"));
        assert!(!installs("fn main() { let _ = init(); }"), "no install");
        assert!(!installs("fn main() { package.install(); }"), "no init");
        assert!(!installs("fn main() { fn nested() { init().install(); } nested(); }"), "a nested item is its own");
    }
}
