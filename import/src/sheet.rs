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
    let rows = CsvRows::open(|| Ok(Cursor::new(bytes)), encoding)?;
    let read_as = rows.read_as.clone();
    Ok(Table { read_as, rows: rows.collect::<Result<_, _>>()? })
}

/// The rows of a file, read one at a time: a CSV file is streamed with bounded memory (a
/// 50-million-row export is read in a fixed amount of memory); a workbook is read whole (a sheet
/// holds at most 1,048,576 rows).
pub enum Rows {
    /// A CSV file, streamed.
    Csv(Box<CsvRows<std::fs::File>>),
    /// A workbook's sheet, read whole.
    Sheet(std::vec::IntoIter<Row>),
}

impl Iterator for Rows {
    type Item = Result<Row, String>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Csv(c) => c.next(),
            Self::Sheet(rows) => rows.next().map(Ok),
        }
    }
}

/// Opens the file at `path` for reading row by row: (what it is read as, its rows, its size in
/// bytes). A CSV file's encoding is found first (a pass over its bytes when it has no byte-order
/// mark), then its rows are decoded and parsed as they are read.
///
/// # Errors
///
/// As [`read_file`]; a malformed row or bad text later in a CSV file is an error of the row
/// iterator, naming the line.
pub fn open_file(path: &Path, encoding: Encoding, sheet: Option<&str>) -> Result<(String, Rows, u64), String> {
    let open = || std::fs::File::open(path).map_err(|e| format!("reading {}: {e}", path.display()));
    let mut head = [0u8; 8];
    let mut f = open()?;
    let len = f.metadata().map_err(|e| format!("reading {}: {e}", path.display()))?.len();
    let n = read_up_to(&mut f, &mut head).map_err(|e| format!("reading {}: {e}", path.display()))?;
    if is_workbook(&head[..n]) {
        let table = read_file(path, encoding, sheet)?;
        return Ok((table.read_as, Rows::Sheet(table.rows.into_iter()), len));
    }
    if sheet.is_some() {
        return Err("--sheet applies to a workbook; this file is CSV".into());
    }
    let rows = CsvRows::open(open, encoding)?;
    Ok((rows.read_as.clone(), Rows::Csv(Box::new(rows)), len))
}

fn is_workbook(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0])
}

fn read_up_to(r: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

impl std::fmt::Debug for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Csv(c) => write!(f, "Rows::Csv({c:?})"),
            Self::Sheet(rows) => write!(f, "Rows::Sheet({} rows left)", rows.len()),
        }
    }
}

impl<R: std::io::Read> std::fmt::Debug for CsvRows<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CsvRows({}, at line {})", self.read_as, self.line)
    }
}

/// A CSV file's rows, decoded and parsed as they are read.
pub struct CsvRows<R: std::io::Read> {
    /// What the file is read as, e.g. `CSV, GB18030, comma-separated`.
    pub read_as: String,
    reader: csv::Reader<Decoded<R>>,
    record: csv::StringRecord,
    /// The line at `counted_to` in the decoded text.
    line: u64,
    done: bool,
}

impl<R: std::io::Read> CsvRows<R> {
    /// Opens a CSV source: `open` gives it from its start (called up to three times: to find the
    /// encoding, the delimiter, then to read).
    ///
    /// # Errors
    ///
    /// Text in none of the encodings, or in another than the one asked for; unreadable input.
    pub fn open(open: impl Fn() -> Result<R, String>, encoding: Encoding) -> Result<Self, String> {
        let (enc, bom, name) = sniff(open()?, encoding)?;
        // The delimiter: a tab if the first line has more tabs than commas (Excel's "Unicode
        // text"), else a comma.
        let mut first = Decoded::new(open()?, enc, bom, name);
        let mut line = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = first.read_some(&mut buf)?;
            let end = buf[..n].iter().position(|b| *b == b'\n');
            line.extend_from_slice(&buf[..end.unwrap_or(n)]);
            if n == 0 || end.is_some() || line.len() > 1 << 20 {
                break;
            }
        }
        let tabs = line.iter().filter(|b| **b == b'\t').count();
        let commas = line.iter().filter(|b| **b == b',').count();
        let delimiter = if tabs > commas { b'\t' } else { b',' };
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(Decoded::new(open()?, enc, bom, name));
        let sep = if delimiter == b'\t' { "tab-separated" } else { "comma-separated" };
        Ok(Self {
            read_as: format!("CSV, {name}, {sep}"),
            reader,
            record: csv::StringRecord::new(),
            line: 1,
            done: false,
        })
    }

    /// Bytes of the file read so far (for a progress bar).
    pub fn bytes_read(&self) -> u64 {
        self.reader.get_ref().consumed
    }

    /// The line a record starting at decoded byte `byte` is on. Lines are counted from the
    /// records' byte offsets: the reader's own line count lags behind with CRLF line ends,
    /// which is what Excel writes. A record's offset may point at the line end before it (the
    /// '\n' of a CRLF), which is skipped.
    fn line_at(&mut self, byte: u64) -> u64 {
        let marks = &mut self.reader.get_mut().marks;
        let mut at = byte;
        loop {
            while let Some(&(p, lf)) = marks.front() {
                if p >= at {
                    break;
                }
                self.line += u64::from(lf);
                marks.pop_front();
            }
            match marks.front() {
                Some(&(p, _)) if p == at => at += 1,
                _ => break,
            }
        }
        self.line
    }
}

impl<R: std::io::Read> Iterator for CsvRows<R> {
    type Item = Result<Row, String>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.reader.read_record(&mut self.record) {
            Ok(true) => {
                let line = self.record.position().map_or(0, |p| p.byte());
                let line = self.line_at(line);
                Some(Ok(Row { line, cells: self.record.iter().map(str::to_owned).collect() }))
            }
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                let byte = e.position().map(csv::Position::byte);
                let decoding = self.reader.get_mut().error.take();
                let line = match byte {
                    Some(b) => self.line_at(b),
                    None => self.line,
                };
                Some(Err(match decoding {
                    // The bad bytes are on the line after every line end decoded before them.
                    Some(d) => {
                        let ends = self.reader.get_ref().marks.iter().filter(|(_, lf)| *lf).count() as u64;
                        format!("line {}: {d}", self.line + ends)
                    }
                    None if byte.is_none() => format!("after line {line}: malformed CSV: {e}"),
                    None => format!("line {line}: malformed CSV: {e}"),
                }))
            }
        }
    }
}

/// The encoding of a CSV source and the length of its byte-order mark: by the mark, else UTF-8
/// if every byte of it is valid UTF-8 (one pass), else GB18030.
fn sniff(
    mut r: impl std::io::Read,
    encoding: Encoding,
) -> Result<(&'static encoding_rs::Encoding, usize, &'static str), String> {
    let mut head = [0u8; 3];
    let n = read_up_to(&mut r, &mut head).map_err(|e| format!("reading the file: {e}"))?;
    let head = &head[..n];
    let utf8_bom = head.starts_with(b"\xEF\xBB\xBF");
    match encoding {
        Encoding::Utf8 => return Ok((encoding_rs::UTF_8, if utf8_bom { 3 } else { 0 }, "UTF-8")),
        Encoding::Gb18030 => return Ok((encoding_rs::GB18030, 0, "GB18030")),
        Encoding::Auto => {}
    }
    if utf8_bom {
        return Ok((encoding_rs::UTF_8, 3, "UTF-8 with BOM"));
    }
    if head.starts_with(b"\xFF\xFE") {
        return Ok((encoding_rs::UTF_16LE, 2, "UTF-16LE"));
    }
    if head.starts_with(b"\xFE\xFF") {
        return Ok((encoding_rs::UTF_16BE, 2, "UTF-16BE"));
    }
    // Valid UTF-8 throughout, checked a chunk at a time (a character may straddle two chunks).
    let mut buf = vec![0u8; 1 << 20];
    let mut carry = head.len();
    buf[..carry].copy_from_slice(head);
    loop {
        let n = r.read(&mut buf[carry..]).map_err(|e| format!("reading the file: {e}"))?;
        let filled = carry + n;
        match std::str::from_utf8(&buf[..filled]) {
            Ok(_) => carry = 0,
            Err(e) if e.error_len().is_none() && n > 0 => {
                // An incomplete character at the end: keep it for the next chunk.
                let valid = e.valid_up_to();
                buf.copy_within(valid..filled, 0);
                carry = filled - valid;
            }
            Err(_) => return Ok((encoding_rs::GB18030, 0, "GB18030")),
        }
        if n == 0 {
            return Ok((encoding_rs::UTF_8, 0, "UTF-8"));
        }
    }
}

/// A byte source decoded to UTF-8 as it is read, refusing (not replacing) bytes that are not
/// text in its encoding, and marking where each line end falls (for line numbers).
struct Decoded<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    name: &'static str,
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    eof: bool,
    output: Vec<u8>,
    out_start: usize,
    /// Input bytes decoded so far (the byte-order mark included).
    consumed: u64,
    /// Decoded bytes delivered so far.
    delivered: u64,
    /// The decoded offsets of the '\r' (false) and '\n' (true) delivered and not yet counted.
    marks: std::collections::VecDeque<(u64, bool)>,
    /// The text error that stopped the reading, in words (taken by the row iterator).
    error: Option<String>,
    /// The text error, once met: every read after the text before it fails with it.
    malformed: Option<String>,
    /// The decoder has been given the last input and has consumed it.
    finished: bool,
}

impl<R: std::io::Read> Decoded<R> {
    fn new(inner: R, encoding: &'static encoding_rs::Encoding, bom: usize, name: &'static str) -> Self {
        Self {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            name,
            input: vec![0; 1 << 16],
            in_start: 0,
            in_end: 0,
            eof: false,
            output: Vec::with_capacity(3 << 16),
            out_start: 0,
            consumed: 0,
            delivered: 0,
            marks: std::collections::VecDeque::new(),
            error: None,
            malformed: None,
            finished: false,
        }
        .skip(bom)
    }

    fn skip(mut self, bom: usize) -> Self {
        let mut b = [0u8; 3];
        if bom > 0 && read_up_to(&mut self.inner, &mut b[..bom]).is_ok() {
            self.consumed = bom as u64;
        }
        self
    }

    /// Reads decoded bytes, the error in words.
    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, String> {
        std::io::Read::read(self, buf).map_err(|e| self.error.take().unwrap_or_else(|| e.to_string()))
    }

    fn refill(&mut self) -> std::io::Result<()> {
        if self.malformed.is_some() && self.out_start == self.output.len() {
            let message = self.malformed.clone().unwrap_or_default();
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, message));
        }
        self.output.clear();
        self.out_start = 0;
        while self.output.is_empty() && !self.finished {
            if self.in_start == self.in_end && !self.eof {
                self.in_start = 0;
                self.in_end = self.inner.read(&mut self.input)?;
                self.eof = self.in_end == 0;
            }
            self.output.resize(self.output.capacity().max(3 * self.input.len() + 16), 0);
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.input[self.in_start..self.in_end],
                &mut self.output,
                self.eof,
            );
            self.in_start += read;
            self.consumed += read as u64;
            self.output.truncate(written);
            // The last input decoded: the decoder may not be called again (encoding_rs panics).
            self.finished = self.eof && result == encoding_rs::DecoderResult::InputEmpty;
            if let encoding_rs::DecoderResult::Malformed(bad, after) = result {
                let at = self.consumed - u64::from(bad) - u64::from(after);
                let message = match self.name {
                    "UTF-8" | "UTF-8 with BOM" => format!(
                        "the file is not UTF-8 (byte {at}); if it was saved by Excel on a Chinese Windows, it is GB18030: --encoding gb18030"
                    ),
                    "GB18030" => format!(
                        "the file is neither UTF-8 nor GB18030 text (the byte sequence at byte {at} is valid in neither)"
                    ),
                    other => format!("the file starts with a {other} byte-order mark but is not {other} text (byte {at})"),
                };
                self.error = Some(message.clone());
                // The text before the bad bytes is delivered first, so that its lines count.
                self.malformed = Some(message);
                break;
            }
        }
        match &self.malformed {
            Some(message) if self.output.is_empty() => {
                Err(std::io::Error::new(std::io::ErrorKind::InvalidData, message.clone()))
            }
            _ => Ok(()),
        }
    }
}

impl<R: std::io::Read> std::io::Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.out_start == self.output.len() {
            self.refill()?;
        }
        let n = buf.len().min(self.output.len() - self.out_start);
        let out = &self.output[self.out_start..self.out_start + n];
        for (i, b) in out.iter().enumerate() {
            if matches!(b, b'\r' | b'\n') {
                self.marks.push_back((self.delivered + i as u64, *b == b'\n'));
            }
        }
        buf[..n].copy_from_slice(out);
        self.out_start += n;
        self.delivered += n as u64;
        Ok(n)
    }
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

    /// Several MiB, so that characters and CRLF pairs straddle the reader's chunks (1 MiB for
    /// the encoding check, 64 KiB for decoding): every row and its line, as the file was written.
    #[test]
    fn a_long_file_is_streamed_with_its_lines_in_every_encoding() {
        let mut text = String::from("名称,说明\r\n");
        let mut want = vec![(1u64, vec!["名称".to_owned(), "说明".to_owned()])];
        let mut line = 2u64;
        for i in 0..60_000u64 {
            // Every seventh row has a cell over two lines; widths vary so boundaries move.
            let name = format!("淄博{}号公司{}", i, "甲".repeat((i % 5) as usize));
            let note = if i % 7 == 0 { format!("第一行{i}\r\n第二行") } else { format!("说明{i}") };
            text.push_str(&format!("{name},\"{note}\"\r\n"));
            want.push((line, vec![name, note.clone()]));
            line += 1 + u64::from(i % 7 == 0);
        }
        assert!(text.len() > 2 << 20, "the file is {} bytes", text.len());
        let gb = encoding_rs::GB18030.encode(&text).0.into_owned();
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        for (bytes, read_as) in [(text.as_bytes().to_vec(), "UTF-8"), (gb, "GB18030"), (bom, "UTF-8 with BOM")] {
            let t = read_bytes(&bytes, Encoding::Auto, None).unwrap();
            assert!(t.read_as.contains(read_as), "{}", t.read_as);
            let got: Vec<(u64, Vec<String>)> = t.rows.into_iter().map(|r| (r.line, r.cells)).collect();
            assert_eq!(got.len(), want.len(), "{read_as}");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g, w, "{read_as}");
            }
        }
    }

    /// Found by the import_file fuzz target: a GB18030 file whose last bytes decode on the final
    /// call made the reader call the finished decoder again (encoding_rs panics on that).
    #[test]
    fn a_file_that_ends_on_the_last_decode_is_read_to_its_end() {
        let bytes =
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/imports/decoder-finished.gb18030.csv"))
                .unwrap();
        let t = read_bytes(&bytes, Encoding::Auto, None).unwrap();
        assert!(t.read_as.contains("GB18030"), "{}", t.read_as);
        let (text, _, bad) = encoding_rs::GB18030.decode(&bytes);
        assert!(!bad);
        assert_eq!(t.rows.last().unwrap().cells.last().unwrap(), text.rsplit(',').next().unwrap().trim_end());
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
