use trace_runtime::traced;

#[traced(links = trigger_id)]
fn process(trigger_id: u64) {}

fn main() {
    process(7);
}
