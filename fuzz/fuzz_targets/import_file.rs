#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::record::{Record, RecordKind};

// A department's CSV file, whatever its bytes and encoding: reading it, finding its header and
// reading every row into a record never panics; every record made is valid (it round-trips
// through JSON) and holds no resident ID number in any text.
//
// Workbooks (ZIP or OLE bytes) are left out: their parsing is calamine's, whose xlsx reader
// panics on some malformed cell references (an overflow found by this target, calamine 0.38);
// the import contains such a panic (import::sheet) and reports the file as malformed.
fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else { return };
    if rest.starts_with(b"PK") || rest.starts_with(&[0xD0, 0xCF]) {
        return;
    }
    let kind = if k % 2 == 0 { RecordKind::AdministrativePenalty } else { RecordKind::AdministrativeLicence };
    let Ok(table) = import::sheet::read_bytes(rest, import::sheet::Encoding::Auto, None) else { return };
    let Ok(imp) = import::Importer::new(kind, &table, None, "zibo-amr", Some("淄博市张店区市场监督管理局")) else { return };
    for row in imp.data_rows(&table) {
        if let Ok(got) = imp.record(row) {
            let bytes = got.record.to_json_bytes();
            assert_eq!(Record::parse(&bytes).as_ref(), Ok(&got.record));
            let text = String::from_utf8(bytes).unwrap();
            // The subject is a USCC, which may look like an ID number; every other text is checked.
            let without_subject = text.replace(got.record.subject().as_str(), "");
            assert_eq!(import::values::find_id_number(&without_subject), None, "{text}");
        }
    }
});
