//! Reading a department's file into rows of text cells, whatever it is: an Excel workbook
//! (`.xlsx`, also `.xls` and `.ods`), or CSV in UTF-8 (with or without BOM), GB18030 (what Excel
//! writes on a Chinese Windows) or UTF-16 (Excel's "Unicode text", tab-separated).

use std::io::Cursor;
use std::path::Path;
use verifier::date::Date;

/// Which text encoding a CSV file is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8 or UTF-16 by their byte-order mark, else UTF-8 when the bytes are valid UTF-8,
    /// else GB18030.
    #[default]
    Auto,
    /// UTF-8, a BOM allowed.
    Utf8,
    /// GB18030 (a superset of GBK and GB2312).
    Gb18030,
}

impl std::str::FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "utf-8" | "utf8" => Ok(Self::Utf8),
            "gb18030" | "gbk" | "gb2312" => Ok(Self::Gb18030),
            _ => Err(format!("unknown encoding {s:?}; known: auto, utf-8, gb18030 (also read for gbk, gb2312)")),
        }
    }
}

/// One row of a file: its line (the spreadsheet's row number, or the CSV line it starts on)
/// and its cells as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line or row number, as the official's program shows it.
    pub line: u64,
    /// The cells, as text.
    pub cells: Vec<String>,
}

/// A file read into rows.
#[derive(Debug, Clone)]
pub struct Table {
    /// What the file was read as, e.g. `Excel workbook, sheet 行政处罚` or `CSV, GB18030`.
    pub read_as: String,
    /// Every row, the header among them.
    pub rows: Vec<Row>,
}

/// Reads the file at `path`.
///
/// # Errors
///
/// A message naming the file's problem: unreadable, a workbook without sheets, text that is in
/// none of the encodings, malformed CSV.
pub fn read_file(path: &Path, encoding: Encoding, sheet: Option<&str>) -> Result<Table, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    read_bytes(&bytes, encoding, sheet)
}

/// Reads a file's bytes: a workbook by its signature (a ZIP or an OLE compound file), anything
/// else as CSV.
///
/// # Errors
///
/// As [`read_file`].
pub fn read_bytes(bytes: &[u8], encoding: Encoding, sheet: Option<&str>) -> Result<Table, String> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        read_workbook(bytes, sheet)
    } else {
        if sheet.is_some() {
            return Err("--sheet applies to a workbook; this file is CSV".into());
        }
        read_csv(bytes, encoding)
    }
}

fn read_workbook(bytes: &[u8], sheet: Option<&str>) -> Result<Table, String> {
    // The workbook reader is a dependency: a malformed file that makes it panic (fuzzing found
    // an overflow on absurd cell references in calamine 0.38) is reported as malformed, not a
    // crash.
    std::panic::catch_unwind(|| read_workbook_unguarded(bytes, sheet)).unwrap_or_else(|_| {
        Err("the workbook is malformed: the Excel reader (calamine) failed on it; open it in Excel and save it again".into())
    })
}

fn read_workbook_unguarded(bytes: &[u8], sheet: Option<&str>) -> Result<Table, String> {
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| format!("not a workbook Excel can write (.xlsx, .xls, .ods): {e}"))?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(s) => {
            if !names.iter().any(|n| n == s) {
                return Err(format!("the workbook has no sheet {s:?}; its sheets are: {}", names.join(", ")));
            }
            s.to_owned()
        }
        None => names.first().cloned().ok_or("the workbook has no sheet")?,
    };
    let range = book.worksheet_range(&name).map_err(|e| format!("reading sheet {name:?}: {e}"))?;
    let (first_row, _) = range.start().unwrap_or((0, 0));
    let rows = range
        .rows()
        .enumerate()
        .map(|(i, cells)| Row {
            line: u64::from(first_row) + i as u64 + 1,
            cells: cells.iter().map(cell_text).collect(),
        })
        .collect();
    Ok(Table { read_as: format!("Excel workbook, sheet {name}"), rows })
}

/// A workbook cell as text. A number is written in the shortest decimal that reads back as the
/// same binary number, so a cell typed 12.35 is `12.35`; a date cell is `YYYY-MM-DD`.
fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) if dt.is_datetime() => {
            excel_date(dt.as_f64()).map_or_else(|| float_text(dt.as_f64()), |d| d.to_string())
        }
        Data::DateTime(dt) => float_text(dt.as_f64()),
        Data::Error(e) => format!("#{e:?}"),
    }
}

fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        // Rust writes the shortest decimal that round-trips, never in exponent form.
        format!("{f}")
    }
}

/// The day of an Excel serial date (1900 date system: day 1 is 1900-01-01, with Excel's
/// nonexistent 1900-02-29 as day 60); `None` for day 60 or out of range.
pub fn excel_date(serial: f64) -> Option<Date> {
    if !serial.is_finite() || !(1.0..3_000_000.0).contains(&serial) {
        return None;
    }
    let day = serial.floor() as i64;
    let base = Date::new(1899, 12, 30).ok()?;
    match day {
        60 => None,
        1..=59 => base.add_days(day + 1),
        _ => base.add_days(day),
    }
}

fn read_csv(bytes: &[u8], encoding: Encoding) -> Result<Table, String> {
    let (text, read_as) = decode(bytes, encoding)?;
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.matches('\t').count() > first_line.matches(',').count() { b'\t' } else { b',' };
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text.as_bytes());
    // Lines are counted from the records' byte offsets: the reader's own line count lags
    // behind with CRLF line ends, which is what Excel writes.
    let bytes = text.as_bytes();
    let (mut counted_to, mut line) = (0usize, 1u64);
    let mut line_at = |byte: u64| {
        let mut byte = usize::try_from(byte).unwrap_or(usize::MAX).min(bytes.len());
        // A record's offset may point at the line end before it (the '\n' of a CRLF).
        while byte < bytes.len() && matches!(bytes[byte], b'\r' | b'\n') {
            byte += 1;
        }
        line += bytes[counted_to..byte].iter().filter(|b| **b == b'\n').count() as u64;
        counted_to = byte;
        line
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| line_at(p.byte()));
            format!("line {line}: malformed CSV: {e}")
        })?;
        let line = record.position().map_or(0, |p| line_at(p.byte()));
        rows.push(Row { line, cells: record.iter().map(str::to_owned).collect() });
    }
    let sep = if delimiter == b'\t' { "tab-separated" } else { "comma-separated" };
    Ok(Table { read_as: format!("CSV, {read_as}, {sep}"), rows })
}

fn decode(bytes: &[u8], encoding: Encoding) -> Result<(String, &'static str), String> {
    let utf8 = |b: &[u8]| -> Result<String, String> {
        String::from_utf8(b.to_vec()).map_err(|e| {
            format!("the file is not UTF-8 (byte {}); if it was saved by Excel on a Chinese Windows, it is GB18030: --encoding gb18030", e.utf8_error().valid_up_to())
        })
    };
    match encoding {
        Encoding::Utf8 => return Ok((utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))?, "UTF-8")),
        Encoding::Gb18030 => return gb18030(bytes).map(|t| (t, "GB18030")),
        Encoding::Auto => {}
    }
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return Ok((utf8(rest)?, "UTF-8 with BOM"));
    }
    for (bom, enc, name) in
        [(&b"\xFF\xFE"[..], encoding_rs::UTF_16LE, "UTF-16LE"), (&b"\xFE\xFF"[..], encoding_rs::UTF_16BE, "UTF-16BE")]
    {
        if let Some(rest) = bytes.strip_prefix(bom) {
            let (text, bad) = enc.decode_without_bom_handling(rest);
            if bad {
                return Err(format!("the file starts with a {name} byte-order mark but is not {name} text"));
            }
            return Ok((text.into_owned(), name));
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok((text.to_owned(), "UTF-8")),
        Err(_) => gb18030(bytes).map(|t| (t, "GB18030")),
    }
}

fn gb18030(bytes: &[u8]) -> Result<String, String> {
    let (text, bad) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if bad {
        return Err("the file is neither UTF-8 nor GB18030 text (a byte sequence is valid in neither)".into());
    }
    Ok(text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_serial_dates() {
        assert_eq!(excel_date(46_346.0), Some(Date::parse("2026-11-20").unwrap()));
        assert_eq!(excel_date(46_346.75), Some(Date::parse("2026-11-20").unwrap()));
        assert_eq!(excel_date(1.0), Some(Date::parse("1900-01-01").unwrap()));
        assert_eq!(excel_date(61.0), Some(Date::parse("1900-03-01").unwrap()));
        assert_eq!(excel_date(60.0), None);
    }

    #[test]
    fn csv_encodings_are_told_apart() {
        let text = "行政相对人名称,处罚决定日期\n淄博某公司,2026年11月20日\n";
        let (gb, _, _) = encoding_rs::GB18030.encode(text);
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        for (bytes, read_as) in
            [(gb.to_vec(), "GB18030"), (with_bom, "UTF-8 with BOM"), (text.as_bytes().to_vec(), "UTF-8")]
        {
            let t = read_bytes(&bytes, Encoding::Auto, None).unwrap();
            assert!(t.read_as.contains(read_as), "{}", t.read_as);
            assert_eq!(t.rows[1].cells, ["淄博某公司", "2026年11月20日"]);
            assert_eq!(t.rows[1].line, 2);
        }
        // GB18030 bytes forced through UTF-8 are refused with the way out named.
        let e = read_bytes(&gb, Encoding::Utf8, None).unwrap_err();
        assert!(e.contains("--encoding gb18030"), "{e}");
    }

    #[test]
    fn lines_are_counted_with_crlf_and_multi_line_cells() {
        let t = read_bytes(b"a,b\r\n1,2\r\n\"x\r\ny\",4\r\n5,6\r\n", Encoding::Auto, None).unwrap();
        let lines: Vec<u64> = t.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [1, 2, 3, 5]);
    }

    #[test]
    fn a_workbook_that_makes_the_reader_panic_is_reported_as_malformed() {
        // Found by the import_file fuzz target: calamine 0.38 overflows on its cell references.
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/imports/malformed.xlsx")).unwrap();
        let e = read_bytes(&bytes, Encoding::Auto, None).unwrap_err();
        assert!(e.contains("malformed") || e.contains("not a workbook"), "{e}");
    }

    #[test]
    fn tab_separated_utf16_is_read() {
        let text = "a\tb\n1\t2\n";
        let mut bytes = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let t = read_bytes(&bytes, Encoding::Auto, None).unwrap();
        assert_eq!(t.rows[1].cells, ["1", "2"]);
    }
}
