use trace_runtime::traced;

#[traced(parent = "root")]
fn nightly() {}

fn main() {
    nightly();
}
