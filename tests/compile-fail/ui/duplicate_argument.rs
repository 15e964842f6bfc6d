use trace_runtime::traced;

#[traced(name = "checkout", kind = server, name = "pay")]
fn checkout() {}

fn main() {
    checkout();
}
