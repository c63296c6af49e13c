#![no_main]
use libfuzzer_sys::fuzz_target;
use witness::AddCheckpoint;

// A tlog-witness `add-checkpoint` body, as anyone on the network may send it to a witness: it
// parses or is refused, never panics, and a body it accepts is written back byte for byte.
fuzz_target!(|body: &[u8]| {
    if let Ok(req) = AddCheckpoint::parse(body) {
        assert_eq!(req.to_bytes(), body, "an accepted body is written back as sent");
    }
});
