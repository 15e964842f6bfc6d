// A traced function that installs the runtime in its own body: its span
// starts before anything is installed. The warning (here denied, to show
// it) says to call init().install() first.
#![deny(deprecated)]

use trace_runtime::traced;

#[traced]
fn run() {
    let _guard = trace_runtime::init().service_name("app").install().unwrap();
}

#[traced]
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let builder = trace_runtime::init();
    let _guard = builder.install().unwrap();
    run();
}
