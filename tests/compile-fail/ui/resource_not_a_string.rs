use trace_runtime::traced;

#[traced(resource = GET)]
fn handler() {}

fn main() {}
