//! Compile-fail tests: every misuse of `#[traced]` is an error that points
//! at the offending token and says what is accepted. The expected messages
//! are in `ui/*.stderr` next to each case (regenerate with
//! `TRYBUILD=overwrite`, then read them).
//!
//! trybuild builds the cases against this package's dependencies in a target
//! directory of its own, so they are kept to trace-runtime without default
//! features: a cold run compiles the runtime's core once, then checks each case.

#[test]
fn misuse_is_a_clear_compile_error() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*.rs");
}
