use trace_runtime::traced;

#[traced(err = no)]
fn lookup() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {
    let _ = lookup();
}
