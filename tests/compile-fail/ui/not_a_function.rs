use trace_runtime::traced;

#[traced]
struct Checkout {
    items: u32,
}

fn main() {
    let _ = Checkout { items: 1 }.items;
}
