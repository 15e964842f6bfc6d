use trace_runtime::traced;

#[traced(args(user))]
fn login(user: &str) -> usize {
    user.len()
}

fn main() {
    let _ = login("ada");
}
