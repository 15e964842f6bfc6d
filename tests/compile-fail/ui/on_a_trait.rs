use trace_runtime::traced;

#[traced]
trait Store {
    fn get(&self) -> u32;
}

fn main() {}
