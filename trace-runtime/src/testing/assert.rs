//! Assertions on a [`Capture`] whose failures show what was emitted: the
//! spans involved and the whole captured tree, or a line diff.

use opentelemetry_sdk::trace::SpanData;

use super::capture::Capture;
use crate::export::console::tree::{self, Style};

impl<R> Capture<R> {
    /// Asserts that [`tree`](Capture::tree) equals `expected`.
    ///
    /// # Panics
    ///
    /// When it does not, with a line diff: `-` lines expected but not
    /// captured, `+` lines captured but not expected.
    ///
    /// ```
    /// # use trace_runtime::traced;
    /// #[traced(attrs(items = 3))] fn checkout() { charge() }
    /// #[traced] fn charge() {}
    /// trace_runtime::testing::capture(checkout).assert_tree("
    ///     checkout
    ///     │  items = 3
    ///     └─ charge
    /// ");
    /// ```
    ///
    /// `expected` may be indented as in the example: its common leading
    /// whitespace and its first and last blank lines are removed first.
    #[track_caller]
    pub fn assert_tree(&self, expected: &str) {
        compare("tree()", &dedent(expected), &self.tree());
    }

    /// Asserts that [`names_tree`](Capture::names_tree) equals `expected`
    /// (indented as for [`assert_tree`](Capture::assert_tree)).
    ///
    /// # Panics
    ///
    /// When it does not, with a line diff.
    ///
    /// ```
    /// # use trace_runtime::traced;
    /// #[traced(attrs(items = 3))] fn checkout() { charge() }
    /// #[traced] fn charge() {}
    /// trace_runtime::testing::capture(checkout).assert_names_tree("
    ///     checkout
    ///     └─ charge
    /// ");
    /// ```
    #[track_caller]
    pub fn assert_names_tree(&self, expected: &str) {
        compare("names_tree()", &dedent(expected), &self.names_tree());
    }

    /// Asserts that the first span named `child` is a child of the first
    /// span named `parent`, and returns the two.
    ///
    /// # Panics
    ///
    /// When either is missing or they are not parent and child; the message
    /// shows both spans, each one's actual parent, and the whole capture.
    ///
    /// ```
    /// # use trace_runtime::traced;
    /// #[traced] fn checkout() { charge() }
    /// #[traced] fn charge() {}
    /// let c = trace_runtime::testing::capture(checkout);
    /// let (charge, checkout) = c.assert_child_of("charge", "checkout");
    /// assert_eq!((charge.name.as_ref(), checkout.name.as_ref()), ("charge", "checkout"));
    /// ```
    #[track_caller]
    pub fn assert_child_of(&self, child: &str, parent: &str) -> (&SpanData, &SpanData) {
        let c = self.span(child);
        let p = self.span(parent);
        if c.parent_span_id == p.span_context.span_id() && c.span_context.trace_id() == p.span_context.trace_id() {
            return (c, p);
        }
        let actual = match self.parent_of(c) {
            Some(actual) => format!("its parent is {:?}", actual.name),
            None if c.parent_span_id == opentelemetry::trace::SpanId::INVALID => "it has no parent".to_owned(),
            None => format!("its parent {} was not captured", c.parent_span_id),
        };
        panic!(
            "span {child:?} is not a child of {parent:?}: {actual}\n\n{child:?}:\n{}\n{parent:?}:\n{}\ncaptured:\n{}",
            one_span(c),
            one_span(p),
            self.describe()
        );
    }
}

/// One span on its own, with ids: what an assertion message shows of it.
fn one_span(span: &SpanData) -> String {
    let head = format!(
        "  trace {} span {} parent {}{}\n",
        span.span_context.trace_id(),
        span.span_context.span_id(),
        span.parent_span_id,
        if span.parent_span_is_remote { " (remote)" } else { "" }
    );
    let body = tree::render(std::slice::from_ref(span), &Style::default());
    head + &body.lines().map(|l| format!("  {l}\n")).collect::<String>()
}

#[track_caller]
fn compare(what: &str, expected: &str, actual: &str) {
    if expected != actual {
        panic!(
            "{what} differs from the expected tree (- expected, + captured):\n{}",
            tree::line_diff(expected, actual)
        );
    }
}

/// `text` without its first and last blank lines and without the leading
/// whitespace all its lines share, ending in a newline: lets an expected tree
/// be written indented in a raw string.
fn dedent(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| !l.trim().is_empty()).unwrap_or(lines.len());
    let end = lines.iter().rposition(|l| !l.trim().is_empty()).map_or(start, |i| i + 1);
    let body = &lines[start..end];
    let indent =
        body.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    body.iter().map(|l| format!("{}\n", l.get(indent..).unwrap_or("").trim_end())).collect()
}

#[cfg(test)]
mod tests {
    use super::dedent;

    #[test]
    fn dedent_removes_shared_indent_and_outer_blank_lines() {
        assert_eq!(dedent("\n    a\n    └─ b\n  "), "a\n└─ b\n");
        assert_eq!(dedent("a\n"), "a\n");
    }
}
