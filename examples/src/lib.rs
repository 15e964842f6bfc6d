//! Runnable examples of `traced`, one per scenario of the documents the
//! project grew from. Run one with `cargo run -p traced-examples --example NAME`;
//! the list is in `examples/examples/`.
