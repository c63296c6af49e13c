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
    // The streaming reader gives the rows and lines of the whole text decoded at once and parsed
    // by the csv crate in one go (an oracle that shares neither its decoding nor its line count).
    assert_eq!(table.rows, whole(rest, &table.read_as), "{}", table.read_as);
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

/// The rows of `bytes` decoded whole in the encoding the reader named, lines counted from each
/// record's byte offset in the whole text.
fn whole(bytes: &[u8], read_as: &str) -> Vec<import::sheet::Row> {
    let (encoding, bom) = if read_as.contains("UTF-8 with BOM") {
        (encoding_rs::UTF_8, 3)
    } else if read_as.contains("UTF-16LE") {
        (encoding_rs::UTF_16LE, 2)
    } else if read_as.contains("UTF-16BE") {
        (encoding_rs::UTF_16BE, 2)
    } else if read_as.contains("GB18030") {
        (encoding_rs::GB18030, 0)
    } else {
        (encoding_rs::UTF_8, 0)
    };
    let (text, bad) = encoding.decode_without_bom_handling(&bytes[bom..]);
    assert!(!bad, "the reader read text the whole decoder refuses ({read_as})");
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.matches('\t').count() > first.matches(',').count() { b'\t' } else { b',' };
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text.as_bytes());
    let t = text.as_bytes();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.expect("the reader parsed what csv parses whole");
        let mut at = usize::try_from(record.position().expect("a position").byte()).expect("fits");
        while at < t.len() && matches!(t[at], b'\r' | b'\n') {
            at += 1;
        }
        let line = 1 + t[..at].iter().filter(|b| **b == b'\n').count() as u64;
        rows.push(import::sheet::Row { line, cells: record.iter().map(str::to_owned).collect() });
    }
    rows
}
