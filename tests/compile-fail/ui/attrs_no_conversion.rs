use trace_runtime::traced;

#[derive(Debug)]
struct Order {
    id: u64,
}

#[traced(attrs(order))]
fn checkout(order: Order) -> u64 {
    order.id
}

#[traced(attrs(first = items.first()))]
fn first_item(items: &[Order]) -> usize {
    items.len()
}

fn main() {
    let _ = checkout(Order { id: 1 });
    let _ = first_item(&[]);
}
