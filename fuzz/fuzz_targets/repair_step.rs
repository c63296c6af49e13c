#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::repair::Step;

// A credit repair step payload: never a panic; what parses round-trips through `to_bytes`.
fuzz_target!(|data: &[u8]| {
    if let Ok(s) = Step::parse(data) {
        assert_eq!(Step::parse(&s.to_bytes()), Ok(s));
    }
});
