use trace_runtime::traced;

#[traced(off)]
fn quiet() {}

fn main() {
    quiet();
}
