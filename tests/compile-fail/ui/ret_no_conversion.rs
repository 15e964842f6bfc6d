use trace_runtime::traced;

#[derive(Debug)]
struct Receipt {
    total: u64,
}

#[traced(ret)]
fn checkout() -> Receipt {
    Receipt { total: 1 }
}

#[traced(ret)]
fn try_checkout() -> Result<Receipt, std::io::Error> {
    Ok(Receipt { total: 1 })
}

fn main() {
    checkout();
    let _ = try_checkout();
}
