use trace_runtime::traced;

#[traced(attrs(usr, order.id = order))]
fn checkout(user: u64, order: u64) -> u64 {
    user + order
}

fn main() {
    let _ = checkout(1, 2);
}
