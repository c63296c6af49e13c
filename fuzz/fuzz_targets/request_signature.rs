#![no_main]
use libfuzzer_sys::fuzz_target;

// The `Signature-Input` and `Signature` headers of a request, split at the first newline.
fuzz_target!(|text: &str| {
    let (input, signature) = text.split_once('\n').unwrap_or((text, ""));
    let _ = api::auth::parse(Some(input), Some(signature));
});
