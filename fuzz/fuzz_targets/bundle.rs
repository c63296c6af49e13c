#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::evidence::{parse_tlog_proof, verify_bundle, Bundle, Trust};

/// The verifier key of testdata/tlog-vectors.json; the seeds' checkpoints are signed with it.
const KEY: &str = "vectors.example/log+5fd9b78c+AYn2gl/QsWpeSja/UBdlEnYEPr1iYnJWPvqwGteAA+mZ";

// An evidence bundle a firm hands to a court: verified offline, Ok or Err, never a panic.
fuzz_target!(|data: &[u8]| {
    if let Ok(b) = serde_json::from_slice::<Bundle>(data) {
        let _ = verify_bundle(&b, &Trust::LogKey(KEY.into()), None);
    }
    let _ = std::str::from_utf8(data).map(parse_tlog_proof);
});
