#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::policy::Policy;

// A C2SP tlog-policy file.
fuzz_target!(|text: &str| {
    let _ = Policy::parse(text);
});
