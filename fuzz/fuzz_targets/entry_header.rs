#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::entry::EntryHeader;

// A public entry header: never a panic; what parses round-trips through `to_bytes`.
fuzz_target!(|data: &[u8]| {
    if let Ok(h) = EntryHeader::parse(data) {
        assert_eq!(EntryHeader::parse(&h.to_bytes()).as_ref(), Ok(&h));
    }
});
