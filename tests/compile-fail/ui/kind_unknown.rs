use trace_runtime::traced;

#[traced(kind = sideways)]
fn checkout() {}

fn main() {
    checkout();
}
