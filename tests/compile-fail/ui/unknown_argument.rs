use trace_runtime::traced;

#[traced(nmae = "checkout")]
fn checkout() {}

fn main() {
    checkout();
}
