#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::plan::{Draw, Plan};
use verifier::warning::{Acknowledgement, Warning};

// The supervision payloads (plans, draws, warnings, acknowledgements), chosen by the first byte:
// never a panic; what parses round-trips through its serialisation.
fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    match which % 4 {
        0 => {
            if let Ok(p) = Plan::parse(rest) {
                assert_eq!(Plan::parse(&p.to_bytes()), Ok(p));
            }
        }
        1 => {
            if let Ok(d) = Draw::parse(rest) {
                assert_eq!(Draw::parse(&d.to_bytes()), Ok(d));
            }
        }
        2 => {
            if let Ok(w) = Warning::parse(rest) {
                assert_eq!(Warning::parse(&serde_json::to_vec(&w).unwrap()), Ok(w));
            }
        }
        _ => {
            if let Ok(a) = Acknowledgement::parse(rest) {
                assert_eq!(Acknowledgement::parse(&serde_json::to_vec(&a).unwrap()), Ok(a));
            }
        }
    }
});
