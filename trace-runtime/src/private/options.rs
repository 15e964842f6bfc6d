//! `parent = ..` and `links = ..` of `#[traced]`: what a span starts under
//! and what it points to. The macro calls [`Options::parent`],
//! [`Options::root`] and [`Options::links`] inside a closure that runs only
//! when a span would be recorded, so the expressions cost nothing otherwise.

use opentelemetry::trace::{Link, SpanContext, TraceContextExt};
use opentelemetry::Context;

use crate::SpanHandle;

/// Where a traced span starts.
#[derive(Debug, Default)]
pub enum Parent {
    /// Under the span current when the function runs (the default).
    #[default]
    Current,
    /// As the root of a new trace (`parent = None`).
    Root,
    /// Under this context.
    Explicit(Context),
}

/// What `parent = ..` and `links = ..` asked for.
#[derive(Debug, Default)]
pub struct Options {
    pub(crate) parent: Parent,
    pub(crate) links: Vec<Link>,
}

impl Options {
    /// `parent = expr`.
    #[inline]
    pub fn parent(&mut self, parent: impl IntoParent) {
        self.parent = parent.into_parent();
    }

    /// `parent = None`: a new trace.
    #[inline]
    pub fn root(&mut self) {
        self.parent = Parent::Root;
    }

    /// `links = expr`.
    #[inline]
    pub fn links(&mut self, links: impl IntoLinks) {
        links.push_links(&mut self.links);
    }
}

/// A value `parent = ..` accepts.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the parent of a traced span",
    label = "expected a parent context or span",
    note = "`parent = ..` takes an opentelemetry::Context, a trace_runtime::SpanHandle, a SpanContext (e.g. from incoming headers), a reference to one, or an Option of one",
    note = "write `parent = None` to start a new trace"
)]
pub trait IntoParent {
    /// Where to start the span.
    fn into_parent(self) -> Parent;
}

impl IntoParent for Context {
    fn into_parent(self) -> Parent {
        Parent::Explicit(self)
    }
}

impl IntoParent for &Context {
    fn into_parent(self) -> Parent {
        Parent::Explicit(self.clone())
    }
}

impl IntoParent for SpanHandle {
    fn into_parent(self) -> Parent {
        Parent::Explicit(self.context().clone())
    }
}

impl IntoParent for &SpanHandle {
    fn into_parent(self) -> Parent {
        Parent::Explicit(self.context().clone())
    }
}

impl IntoParent for SpanContext {
    fn into_parent(self) -> Parent {
        if !self.is_valid() {
            return Parent::Root;
        }
        // Keep what the current context carries (a test capture, baggage).
        Parent::Explicit(Context::current().with_remote_span_context(self))
    }
}

impl IntoParent for &SpanContext {
    fn into_parent(self) -> Parent {
        self.clone().into_parent()
    }
}

/// `None` starts a new trace, like `parent = None`.
impl<T: IntoParent> IntoParent for Option<T> {
    fn into_parent(self) -> Parent {
        match self {
            Some(parent) => parent.into_parent(),
            None => Parent::Root,
        }
    }
}

/// A value `links = ..` accepts.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be linked from a traced span",
    label = "expected span contexts to link to",
    note = "`links = ..` takes a SpanContext, trace_runtime::SpanHandle, opentelemetry::Context or opentelemetry::trace::Link, a reference to one, or an Option, Vec, array or slice of them"
)]
pub trait IntoLinks {
    /// Appends the links; invalid span contexts are left out.
    fn push_links(self, links: &mut Vec<Link>);
}

fn push(links: &mut Vec<Link>, span_context: SpanContext) {
    if span_context.is_valid() {
        links.push(Link::with_context(span_context));
    }
}

impl IntoLinks for SpanContext {
    fn push_links(self, links: &mut Vec<Link>) {
        push(links, self);
    }
}

impl IntoLinks for &SpanContext {
    fn push_links(self, links: &mut Vec<Link>) {
        push(links, self.clone());
    }
}

impl IntoLinks for SpanHandle {
    fn push_links(self, links: &mut Vec<Link>) {
        push(links, self.span_context());
    }
}

impl IntoLinks for &SpanHandle {
    fn push_links(self, links: &mut Vec<Link>) {
        push(links, self.span_context());
    }
}

impl IntoLinks for Context {
    fn push_links(self, links: &mut Vec<Link>) {
        (&self).push_links(links);
    }
}

impl IntoLinks for &Context {
    fn push_links(self, links: &mut Vec<Link>) {
        if self.has_active_span() {
            push(links, self.span().span_context().clone());
        }
    }
}

impl IntoLinks for Link {
    fn push_links(self, links: &mut Vec<Link>) {
        if self.span_context.is_valid() {
            links.push(self);
        }
    }
}

impl IntoLinks for &Link {
    fn push_links(self, links: &mut Vec<Link>) {
        self.clone().push_links(links);
    }
}

impl<T: IntoLinks> IntoLinks for Option<T> {
    fn push_links(self, links: &mut Vec<Link>) {
        if let Some(inner) = self {
            inner.push_links(links);
        }
    }
}

impl<T: IntoLinks> IntoLinks for Vec<T> {
    fn push_links(self, links: &mut Vec<Link>) {
        links.reserve(self.len());
        self.into_iter().for_each(|item| item.push_links(links));
    }
}

impl<T: IntoLinks, const N: usize> IntoLinks for [T; N] {
    fn push_links(self, links: &mut Vec<Link>) {
        self.into_iter().for_each(|item| item.push_links(links));
    }
}

impl<'a, T> IntoLinks for &'a [T]
where
    &'a T: IntoLinks,
{
    fn push_links(self, links: &mut Vec<Link>) {
        self.iter().for_each(|item| item.push_links(links));
    }
}

impl<'a, T> IntoLinks for &'a Vec<T>
where
    &'a T: IntoLinks,
{
    fn push_links(self, links: &mut Vec<Link>) {
        self.as_slice().push_links(links);
    }
}

impl<'a, T, const N: usize> IntoLinks for &'a [T; N]
where
    &'a T: IntoLinks,
{
    fn push_links(self, links: &mut Vec<Link>) {
        self.as_slice().push_links(links);
    }
}
