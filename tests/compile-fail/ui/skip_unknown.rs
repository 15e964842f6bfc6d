use trace_runtime::traced;

#[traced(args, skip(pasword))]
fn login(user: &str, password: &str) -> bool {
    user != password
}

fn main() {
    let _ = login("ada", "hunter2");
}
