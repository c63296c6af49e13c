#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::envelope::{Envelope, RECORD_TYPE};

// A DSSE envelope as a department sends it: JSON, then its payload and signature decoded.
fuzz_target!(|data: &[u8]| {
    if let Ok(e) = serde_json::from_slice::<Envelope>(data) {
        let _ = e.decode(RECORD_TYPE);
    }
});
