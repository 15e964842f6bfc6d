//! What the helpers that start a real component on loopback share: free
//! ports, addresses, and waiting until the component is up (or has died).

use std::net::{SocketAddr, TcpListener};
use std::process::Child;
use std::time::{Duration, Instant};

/// `127.0.0.1:port`.
pub fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// `N` distinct free loopback ports (all listeners held until all are picked).
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N).map(|_| TcpListener::bind(addr(0)).expect("bind 127.0.0.1:0")).collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("local_addr").port())
}

/// Polls `ready` every `every` until it holds, `child` exits, or `timeout`
/// passes; the error says which, with `log()` (what the component said).
pub fn wait_until_ready(
    child: &mut Child,
    timeout: Duration,
    every: Duration,
    mut ready: impl FnMut() -> bool,
    log: impl Fn() -> String,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it exited with {status}; log:\n{}", log()));
        }
        if ready() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("it did not answer within {timeout:?}; log:\n{}", log()));
        }
        std::thread::sleep(every);
    }
}
