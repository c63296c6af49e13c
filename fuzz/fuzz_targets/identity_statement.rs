#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::identity::Statement;

// An identity statement payload: never a panic; what parses round-trips through `to_bytes`.
fuzz_target!(|data: &[u8]| {
    if let Ok(s) = Statement::parse(data) {
        assert_eq!(Statement::parse(&s.to_bytes()), Ok(s));
    }
});
