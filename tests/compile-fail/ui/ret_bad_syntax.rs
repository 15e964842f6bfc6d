use trace_runtime::traced;

#[traced(ret(display))]
fn total() -> u64 {
    1
}

#[traced(ret = "output.value")]
fn other() -> u64 {
    1
}

fn main() {
    total();
    other();
}
