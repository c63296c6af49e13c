#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::Record;

// A record payload: never a panic; `Record::parse(&r.to_json_bytes()) == Ok(r)` (its doc).
fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Record::parse(data) {
        assert_eq!(Record::parse(&r.to_json_bytes()), Ok(r));
    }
});
