//! Compile-fail tests: every misuse of `#[traced]` is an error that points
//! at the offending token and says what is accepted. The expected messages
//! are in `tests/ui/*.stderr` (regenerate with `TRYBUILD=overwrite`, then
//! read them).

#[test]
fn misuse_is_a_clear_compile_error() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*.rs");
}
