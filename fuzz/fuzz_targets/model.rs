#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::model::Model;

// A scoring model file (TOML).
fuzz_target!(|text: &str| {
    let _ = Model::parse(text);
});
