use trace_runtime::traced;

#[traced(metrics = "no")]
fn counted() {}

#[traced(metrics)]
fn flag() {}

fn main() {
    counted();
    flag();
}
