#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::{Record, RecordKind};

// A CSV row: the first byte picks the kind, the rest is `column=value` lines. What `from_flat`
// builds is a valid record, so it round-trips through JSON.
fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let kind = RecordKind::ALL[usize::from(k) % RecordKind::ALL.len()];
    let cells: Vec<(&str, &str)> = text.split('\n').map(|l| l.split_once('=').unwrap_or((l, ""))).collect();
    if let Ok(r) = Record::from_flat(kind, &cells) {
        assert_eq!(Record::parse(&r.to_json_bytes()), Ok(r));
    }
});
