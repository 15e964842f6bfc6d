use trace_runtime::traced;

trait Store {
    #[traced]
    fn get(&self) -> u32;
}

fn main() {}
