// A `#[traced]` from a trace-macros of another version than trace-runtime:
// the first two statements the expansion of trace-macros 0.2.0 puts in a
// traced function's body, compiled against this trace-runtime. The first
// says what is wrong and how to fix it; the second fails too, because the
// module the runtime re-exports is named by its own version, so the pair
// never compiles against an API that changed between them.

fn handler() {
    trace_runtime::__traced_runtime_version!("0.2.0");
    #[allow(unused_imports)]
    use ::trace_runtime::__private_0_2_0 as __traced_private;
}

fn main() {
    handler();
}
