use trace_runtime::traced;

struct Store;

#[traced(name = "store")]
impl Store {
    fn get(&self) -> u32 {
        1
    }
}

struct Cache;

#[traced]
impl Cache {
    #[traced(off, kind = client)]
    fn get(&self) -> u32 {
        1
    }

    #[traced(attrs(missing))]
    fn put(&self, value: u32) -> u32 {
        value
    }

    #[traced(nme = "cache.clear")]
    fn clear(&self) {}
}

fn main() {
    Store.get();
    Cache.get();
    let _ = Cache.put(1);
    Cache.clear();
}
