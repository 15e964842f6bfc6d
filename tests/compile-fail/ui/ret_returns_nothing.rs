use trace_runtime::traced;

#[traced(ret)]
fn save(bytes: &[u8]) {
    assert!(!bytes.is_empty());
}

fn main() {
    save(b"x");
}
