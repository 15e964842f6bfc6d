use trace_runtime::traced;

#[traced(span_type = "Web Request")]
fn handler() {}

#[traced(resource = "")]
fn other() {}

fn main() {}
