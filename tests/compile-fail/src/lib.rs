//! Compile-fail tests of `#[traced]`, run by `tests/ui.rs` with trybuild: the
//! cases are `ui/*.rs`, the errors users see are `ui/*.stderr`. Nothing here
//! is a library; Cargo only needs a target to hang the package on.
