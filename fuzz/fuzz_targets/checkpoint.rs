#![no_main]
use libfuzzer_sys::fuzz_target;
use signed_note::Note;

/// The verifier key of testdata/tlog-vectors.json (`signed_note.verifier_key`).
const KEY: &str = "vectors.example/log+5fd9b78c+AYn2gl/QsWpeSja/UBdlEnYEPr1iYnJWPvqwGteAA+mZ";

// A signed checkpoint: opened under a fixed key, and parsed as a note (which round-trips).
fuzz_target!(|data: &[u8]| {
    let _ = verifier::open_checkpoint(data, KEY);
    if let Ok(n) = Note::from_bytes(data) {
        assert_eq!(Note::from_bytes(&n.to_bytes()).map(|m| m.to_bytes()).ok(), Some(n.to_bytes()));
    }
});
