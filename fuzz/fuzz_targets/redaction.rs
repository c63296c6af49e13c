#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::redaction::Redaction;

// A redaction payload: never a panic; what parses round-trips through `to_bytes`.
fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Redaction::parse(data) {
        assert_eq!(Redaction::parse(&r.to_bytes()), Ok(r));
    }
});
