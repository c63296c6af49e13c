#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::decision::Decision;

// A grade decision payload: never a panic; what parses round-trips through JSON.
fuzz_target!(|data: &[u8]| {
    if let Ok(d) = Decision::parse(data) {
        assert_eq!(Decision::parse(&serde_json::to_vec(&d).expect("serialises")), Ok(d));
    }
});
