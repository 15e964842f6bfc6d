use trace_runtime::traced;

// The function is kept as written next to the error: callers, and
// completion inside it, still work; the error is the only one.
#[traced(kind = sideways)]
fn checkout(items: u32) -> u32 {
    let total = items * 2;
    total
}

fn main() {
    let _ = checkout(1);
}
