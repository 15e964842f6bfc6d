//! Resident memory of this process, from `/proc/self/statm`.

/// Resident set size in bytes, or `None` where `/proc` is unavailable.
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(resident_pages * page_size())
}

fn page_size() -> u64 {
    // Every Linux target the benches run on uses 4 KiB pages.
    4096
}
