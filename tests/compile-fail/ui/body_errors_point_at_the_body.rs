use trace_runtime::traced;

#[traced]
fn parse(input: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = input;
    Ok(n)
}

#[traced]
async fn fetch(id: u32) -> String {
    id
}

#[traced]
fn later(id: u32) -> impl std::future::Future<Output = String> {
    async move { id }
}

#[traced]
fn question_mark(input: &str) -> Option<u32> {
    let n: u32 = input.parse()?;
    Some(n)
}

fn main() {
    let _ = parse("1");
    let _ = fetch(1);
    let _ = later(1);
    let _ = question_mark("1");
}
