//! With neither `init()` nor a user provider, traced code runs unchanged and
//! records nothing. A file of its own: nothing else may install a provider.

use std::sync::atomic::{AtomicUsize, Ordering};

use trace_runtime::{current_root_span, current_span, span, traced};

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn costly() -> u32 {
    EVALUATED.fetch_add(1, Ordering::SeqCst);
    1
}

#[traced(attrs(cost = costly()))]
fn work(n: u32) -> Result<u32, std::num::TryFromIntError> {
    let span = current_span();
    assert!(!span.is_recording());
    assert_eq!(span.trace_id(), "0".repeat(32));
    current_root_span().set_attribute("ignored", true);
    u8::try_from(n).map(u32::from)
}

#[traced]
async fn work_async(n: u32) -> u32 {
    n * 2
}

#[test]
fn traced_code_runs_and_records_nothing() {
    assert_eq!(work(5).ok(), Some(5));
    assert!(work(300).is_err());
    assert_eq!(EVALUATED.load(Ordering::SeqCst), 0, "attrs ran with nothing recording");

    let guard = span("manual").enter();
    assert!(!guard.is_recording());
    assert!(!current_span().span_context().is_valid());
    guard.finish();

    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    assert_eq!(rt.block_on(work_async(4)), 8);
}
