#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::TilePath;

// A tile path from a request: parses strictly, so what parses is its own canonical path.
fuzz_target!(|path: &str| {
    if let Ok(t) = TilePath::parse(path) {
        assert_eq!(t.to_path(), path);
    }
});
