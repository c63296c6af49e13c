//! `creditlog import FILE --kind KIND`: a department's own export (a 双公示 file in the national
//! standard's columns, or our own columns), from `.xlsx` or CSV in UTF-8 or GB18030, signed row by
//! row with the department's key and sent to the server; `--check` is a dry run that reports
//! exactly what the real run would do and appends nothing.

use crate::client::{problem_detail, Client};
use anyhow::{bail, Context, Result};
use clap::Args;
use import::{rules, Importer, RowError, Summary};
use registry::keyfile;
use serde::Serialize;
use sha2::Digest;
use std::path::PathBuf;
use verifier::envelope::{key_id, Envelope, RECORD_TYPE};
use verifier::record::RecordKind;

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The department's file: .xlsx (also .xls, .ods) or CSV (UTF-8, UTF-8 with BOM, GB18030).
    pub file: PathBuf,
    /// Record kind of every row (`creditlog kinds`), e.g. administrative_penalty.
    #[arg(long)]
    pub kind: String,
    /// Department key file: it signs every record, and its department is the records' department.
    #[arg(long)]
    pub key: PathBuf,
    /// Server URL.
    #[arg(long)]
    pub server: String,
    /// Dry run: check every row against the log as it stands (duplicates, every rule) and report
    /// what the import would do, appending nothing.
    #[arg(long)]
    pub check: bool,
    /// A mapping file in place of the shipped one (rules/imports/KIND.toml).
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Text encoding of a CSV file: auto (UTF-8 by BOM or validity, else GB18030), utf-8, gb18030.
    #[arg(long, default_value = "auto")]
    pub encoding: String,
    /// The sheet of a workbook to read (default: the first).
    #[arg(long)]
    pub sheet: Option<String>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Records per request.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
}

/// A row whose record is already on the log (or earlier in the file).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Duplicate {
    /// The row's line.
    pub line: u64,
    /// The log entry that holds the record, when it is on the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// The earlier line of the file that holds it, when it is repeated in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_as_line: Option<u64>,
}

/// A refused row, as the report lists it.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Refused {
    /// The row's line.
    pub line: u64,
    /// The column, by its header in the file.
    pub column: Option<String>,
    /// The rule's name.
    pub rule: String,
    /// What is wrong.
    pub message: String,
}

impl From<RowError> for Refused {
    fn from(e: RowError) -> Self {
        Self { line: e.line, column: e.column, rule: e.rule, message: e.message }
    }
}

/// What an import did, or with `--check` would do. The rows' fates are not held in memory (a
/// 50-million-row export may have millions of duplicates): they are printed as each batch is
/// answered and, with `--report`, written to the JSON report through a temporary file.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The file.
    pub file: String,
    /// How it was read.
    pub read_as: String,
    /// The layout found.
    pub layout: String,
    /// A dry run.
    pub check: bool,
    /// The counts.
    pub summary: Summary,
    /// Rows appended (or that would be) whose severity tier was derived by the mapping's rules.
    pub severity_derived: u64,
    /// Columns not imported, with why.
    pub ignored_columns: Vec<(String, String)>,
}

/// One row's fate, other than appended.
#[derive(Debug)]
enum Fate {
    Duplicate(Duplicate),
    Refused(Refused),
}

impl Fate {
    fn line(&self) -> u64 {
        match self {
            Self::Duplicate(d) => d.line,
            Self::Refused(r) => r.line,
        }
    }
}

/// Where the rows' fates go: counted, printed in line order, and kept for the JSON report in
/// temporary files (one JSON line each).
struct Fates {
    file: String,
    duplicates: Option<std::io::BufWriter<std::fs::File>>,
    rejected: Option<std::io::BufWriter<std::fs::File>>,
    dir: Option<tempfile::TempDir>,
}

impl Fates {
    fn new(file: &str, report: bool) -> Result<Self> {
        let mut f = Self { file: file.to_owned(), duplicates: None, rejected: None, dir: None };
        if report {
            let dir = tempfile::tempdir().context("a temporary folder for the report")?;
            let open = |name: &str| -> Result<_> {
                Ok(std::io::BufWriter::new(std::fs::File::create(dir.path().join(name)).context("a temporary file")?))
            };
            f.duplicates = Some(open("duplicates")?);
            f.rejected = Some(open("rejected")?);
            f.dir = Some(dir);
        }
        Ok(f)
    }

    /// Records a batch's fates, in line order.
    fn record(&mut self, mut fates: Vec<Fate>, report: &mut Report) -> Result<()> {
        use std::io::Write;
        fates.sort_by_key(Fate::line);
        for fate in fates {
            match fate {
                Fate::Duplicate(d) => {
                    report.summary.duplicates += 1;
                    if let Some(w) = &mut self.duplicates {
                        serde_json::to_writer(&mut *w, &d)?;
                        w.write_all(b"\n")?;
                    }
                }
                Fate::Refused(x) => {
                    report.summary.rejected += 1;
                    *report.summary.by_rule.entry(x.rule.clone()).or_default() += 1;
                    match &x.column {
                        Some(c) => println!("{}:{}: column {c}: {} (rule {})", self.file, x.line, x.message, x.rule),
                        None => println!("{}:{}: {} (rule {})", self.file, x.line, x.message, x.rule),
                    }
                    if let Some(w) = &mut self.rejected {
                        serde_json::to_writer(&mut *w, &x)?;
                        w.write_all(b"\n")?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes the JSON report: the report's fields, then `duplicates` and `rejected` copied from
    /// the temporary files.
    fn write_report(self, report: &Report, path: &std::path::Path) -> Result<()> {
        use std::io::{BufRead, Write};
        let (Some(d), Some(r), Some(dir)) = (self.duplicates, self.rejected, self.dir) else { return Ok(()) };
        // Flushed, to be read back below (they are temporary: nothing to sync).
        d.into_inner().map_err(|e| e.into_error())?;
        r.into_inner().map_err(|e| e.into_error())?;
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?,
        );
        let mut text = serde_json::to_string_pretty(report)?;
        text.truncate(text.trim_end().len() - 1); // the closing brace
        out.write_all(text.trim_end().as_bytes())?;
        for name in ["duplicates", "rejected"] {
            write!(out, ",\n  \"{name}\": [")?;
            let lines = std::io::BufReader::new(std::fs::File::open(dir.path().join(name))?);
            let mut first = true;
            for line in lines.lines() {
                let line = line?;
                write!(out, "{}\n    {line}", if first { "" } else { "," })?;
                first = false;
            }
            out.write_all(if first { b"]" } else { b"\n  ]" })?;
        }
        out.write_all(b"\n}\n")?;
        out.flush()?;
        Ok(())
    }
}

/// The signing department's code and registered name, from the server.
fn department_of(client: &Client) -> Result<(String, String)> {
    let id = key_id(&client.key().verifying_key());
    let (status, v) = client.get(&format!("/v1/keys/{id}"))?;
    if status != 200 {
        bail!("the server does not know the key (key id {id}): {}; a department's key is registered with `creditlog dept add`", problem_detail(&v));
    }
    let Some(d) = v["department"].as_object() else {
        bail!(
            "the key belongs to {}, not a department: records are signed by the department that made them (谁产生、谁提供、谁负责)",
            v["holder"].as_str().unwrap_or("?")
        );
    };
    if v["revoked_at_entry"].as_u64().is_some() {
        bail!("the department's key was revoked at entry {}: sign with its current key", v["revoked_at_entry"]);
    }
    Ok((d["code"].as_str().unwrap_or_default().to_owned(), d["name"].as_str().unwrap_or_default().to_owned()))
}

/// The records seen earlier in the file, by (firm, department, document number): the line and
/// the record's SHA-256. An open-addressing hash table in a temporary file, sized from the
/// file's row count (two slots a row), read and written a slot at a time: the process's memory
/// stays flat however many rows the file has (the kernel's page cache holds what fits).
///
/// A slot is 40 bytes: the key's SHA-256 (first 16 bytes), the line (u64, 0 for an empty slot)
/// and the record's SHA-256 (first 16 bytes). Two different keys, or two different records,
/// agree on 128 bits with a probability of about n² / 2¹²⁹, about 10⁻²³ for 50 million rows.
struct Seen {
    file: std::fs::File,
    slots: u64,
    _dir: tempfile::TempDir,
}

const SLOT: u64 = 40;

impl Seen {
    fn new(rows: u64) -> Result<Self> {
        let dir = tempfile::tempdir().context("a temporary folder for the file's document numbers")?;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(dir.path().join("seen"))
            .context("a temporary file for the file's document numbers")?;
        let slots = (2 * rows).max(1024).next_power_of_two();
        file.set_len(slots * SLOT).context("sizing the temporary file for the file's document numbers")?;
        Ok(Self { file, slots, _dir: dir })
    }

    /// The earlier line of the same key and whether its record was the same; or `None`, having
    /// recorded this one.
    fn check(&self, key: &[u8], line: u64, record: &[u8; 32]) -> Result<Option<(u64, bool)>> {
        use std::os::unix::fs::FileExt;
        let k: [u8; 32] = sha2::Sha256::digest(key).into();
        let mut at = u64::from_be_bytes(k[..8].try_into().expect("8 bytes")) & (self.slots - 1);
        let mut slot = [0u8; SLOT as usize];
        loop {
            self.file.read_exact_at(&mut slot, at * SLOT).context("reading the temporary file")?;
            let stored = u64::from_be_bytes(slot[16..24].try_into().expect("8 bytes"));
            if stored == 0 {
                slot[..16].copy_from_slice(&k[..16]);
                slot[16..24].copy_from_slice(&line.to_be_bytes());
                slot[24..].copy_from_slice(&record[..16]);
                self.file.write_all_at(&slot, at * SLOT).context("writing the temporary file")?;
                return Ok(None);
            }
            if slot[..16] == k[..16] {
                return Ok(Some((stored, slot[24..] == record[..16])));
            }
            at = (at + 1) & (self.slots - 1);
        }
    }
}

/// Runs an import; `Ok(report)` whatever the rows' fate (the caller sets the exit code).
///
/// A CSV file is read twice, with bounded memory either way: once to check that every row of it
/// can be read (so that a file broken at line 3,000,000 is refused before anything is sent, as
/// a whole) and to count its rows for the progress bar; then row by row, signing and sending a
/// batch at a time. A workbook is read once, whole.
pub fn run(args: &ImportArgs) -> Result<Report> {
    let kind: RecordKind = args.kind.parse().map_err(|e| anyhow::anyhow!("--kind: {e}"))?;
    let key = keyfile::read(&args.key)?;
    let client = Client::new(&args.server, key.clone());
    let (code, name) = department_of(&client)?;
    let encoding: import::sheet::Encoding = args.encoding.parse().map_err(|e| anyhow::anyhow!("--encoding: {e}"))?;
    let file = args.file.display().to_string();
    let open = || {
        import::sheet::open_file(&args.file, encoding, args.sheet.as_deref())
            .map_err(|e| anyhow::anyhow!("{file}: {e}"))
    };
    let (read_as, mut rows, size) = open()?;
    // A workbook is in memory already and its rows counted; a CSV file is read through once.
    let total = match rows {
        import::sheet::Rows::Sheet(ref sheet) => sheet.len() as u64,
        import::sheet::Rows::Csv(ref mut csv) => {
            let reading = indicatif::ProgressBar::new(size);
            reading.set_style(
                indicatif::ProgressStyle::with_template("reading   {bar:40} {bytes}/{total_bytes} {bytes_per_sec}")
                    .expect("template"),
            );
            let mut total = 0u64;
            while let Some(row) = csv.next() {
                row.map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
                total += 1;
                if total.is_multiple_of(4096) {
                    reading.set_position(csv.bytes_read());
                }
            }
            reading.finish_and_clear();
            rows = open()?.1;
            total
        }
    };
    let mut head = Vec::new();
    for row in rows.by_ref().take(import::HEADER_SEARCH_ROWS) {
        head.push(row.map_err(|e| anyhow::anyhow!("{file}: {e}"))?);
    }
    let head = import::sheet::Table { read_as: read_as.clone(), rows: head };
    let mapping = match &args.mapping {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let (k, m) = import::mapping::Mapping::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            if k != kind {
                bail!("{}: the mapping is for {k}, the import for {kind}", p.display());
            }
            Some(m)
        }
        None => None,
    };
    let importer =
        Importer::new(kind, &head, mapping, &code, Some(&name)).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    let mut report = Report {
        file: file.clone(),
        read_as: read_as.clone(),
        layout: importer.describe(),
        check: args.check,
        summary: Summary::default(),
        severity_derived: 0,
        ignored_columns: importer.ignored.clone(),
    };
    eprintln!("{file}: {read_as}; header row at line {}: {}", importer.header_line, report.layout);
    // The standard's columns the record does not take are listed in one line (the mapping file
    // says why for each); a column the standard does not have is named on its own.
    let (unknown, known): (Vec<_>, Vec<_>) =
        importer.ignored.iter().partition(|(_, why)| why == import::NOT_IN_STANDARD);
    if !known.is_empty() {
        let names: Vec<&str> = known.iter().map(|(h, _)| h.as_str()).collect();
        eprintln!(
            "  not imported (personal data, or not a field of the record; see the mapping file): {}",
            names.join(", ")
        );
    }
    for (h, _) in unknown {
        eprintln!("  column {h}: {}", import::NOT_IN_STANDARD);
    }

    // Each row is read and checked here, then signed and sent with its batch. A document number
    // seen earlier in the file for the same firm is the same record (a duplicate) or a
    // conflicting one, judged here exactly as the server would judge the second copy, so that
    // batches of a dry run, which do not see each other, report what the real run does.
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(if args.check {
            "checking  {bar:40} {pos}/{len} rows {per_sec} eta {eta}"
        } else {
            "importing {bar:40} {pos}/{len} rows {per_sec} eta {eta}"
        })
        .expect("template"),
    );
    bar.set_position(importer.first_row.min(head.rows.len()) as u64); // the rows above the data
    let path = if args.check { "/v1/records/check" } else { "/v1/records" };
    let batch = args.batch.clamp(1, api::MAX_RECORDS_PER_REQUEST);
    // Memory holds one batch: its payloads (with whether each row's severity was derived) and
    // the fates of the rows read since the last batch was sent.
    let mut pending: Vec<(u64, Vec<u8>, bool)> = Vec::with_capacity(batch);
    let mut fates: Vec<Fate> = Vec::new();
    let mut out = Fates::new(&file, args.report.is_some())?;
    let seen = Seen::new(total)?;
    let first = importer.first_row.min(head.rows.len());
    let mut read = first as u64;
    let data = head.rows[first..].iter().cloned().map(Ok).chain(rows);
    for row in data {
        // A long run of duplicates or refusals (a file imported again) is answered a batch at a
        // time too: the pending rows are sent first, so that fates stay in line order.
        if fates.len() >= batch {
            send(&client, path, &importer, &sign_all(&pending, &key), &mut fates, &mut report, &bar)?;
            out.record(std::mem::take(&mut fates), &mut report)?;
            pending.clear();
        }
        let row = row.map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        bar.inc(1);
        read += 1;
        // The first reading counted the rows (and sized the table of document numbers by them).
        if read > total {
            bar.abandon();
            bail!("{file} changed while it was imported: it has more rows than when it was first read ({total}); the rows before line {} were sent, and importing the file again skips them as already on the log", row.line);
        }
        if Importer::is_blank(&row) {
            continue;
        }
        report.summary.rows += 1;
        let imported = match importer.record(&row) {
            Ok(i) => i,
            Err(e) => {
                fates.push(Fate::Refused(e.into()));
                continue;
            }
        };
        let record = imported.record;
        let payload = record.to_json_bytes();
        let digest: [u8; 32] = sha2::Sha256::digest(&payload).into();
        // The registry's key for "the same record": firm, department, kind (one per file) and
        // document number.
        let key_of = [record.subject().as_str(), record.department(), record.reference()].join("\0");
        if let Some((line, same)) = seen.check(key_of.as_bytes(), row.line, &digest)? {
            fates.push(if same {
                Fate::Duplicate(Duplicate { line: row.line, index: None, same_as_line: Some(line) })
            } else {
                Fate::Refused(Refused {
                    line: row.line,
                    column: importer.column_of("reference"),
                    rule: rules::ONE_RECORD_ONE_ENTRY.into(),
                    message: format!(
                        "document number {} is on line {line} too, for the same firm, with different content: a document number is one record; a correction is a retraction and a new record",
                        record.reference()
                    ),
                })
            });
            continue;
        }
        pending.push((row.line, payload, imported.severity_derived));
        if pending.len() == batch {
            send(&client, path, &importer, &sign_all(&pending, &key), &mut fates, &mut report, &bar)?;
            out.record(std::mem::take(&mut fates), &mut report)?;
            pending.clear();
        }
    }
    send(&client, path, &importer, &sign_all(&pending, &key), &mut fates, &mut report, &bar)?;
    out.record(std::mem::take(&mut fates), &mut report)?;
    bar.finish_and_clear();
    print_report(&report);
    if let Some(p) = &args.report {
        out.write_report(&report, p)?;
    }
    Ok(report)
}

/// Signs a batch of record payloads, split over the machine's cores (signing is most of what
/// an import costs the client).
fn sign_all(payloads: &[(u64, Vec<u8>, bool)], key: &ed25519_dalek::SigningKey) -> Vec<(u64, Envelope, bool)> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let chunk = payloads.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = payloads
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(line, p, derived)| (*line, Envelope::sign(RECORD_TYPE, p, key), *derived))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("a signing thread panicked")).collect()
    })
}

/// Sends one batch and adds the server's answers to the report and to `fates`.
fn send(
    client: &Client,
    path: &str,
    importer: &Importer,
    chunk: &[(u64, Envelope, bool)],
    fates: &mut Vec<Fate>,
    report: &mut Report,
    bar: &indicatif::ProgressBar,
) -> Result<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    let body = serde_json::json!({ "records": chunk.iter().map(|(_, e, _)| e).collect::<Vec<_>>() });
    let (status, v) = client.post(path, &body)?;
    if status != 200 {
        bar.abandon();
        bail!(
            "the server refused the request ({status}): {}; the rows before line {} were sent",
            problem_detail(&v),
            chunk[0].0
        );
    }
    let results = v["results"].as_array().context("answer without results")?;
    if results.len() != chunk.len() {
        bail!("the server answered {} results for {} records", results.len(), chunk.len());
    }
    for ((line, _, derived), r) in chunk.iter().zip(results) {
        match r["outcome"].as_str() {
            Some("appended" | "would_append") => {
                report.summary.appended += 1;
                report.severity_derived += u64::from(*derived);
            }
            Some("duplicate") => {
                fates.push(Fate::Duplicate(Duplicate { line: *line, index: r["index"].as_u64(), same_as_line: None }))
            }
            _ => {
                let field = r["field"].as_str().unwrap_or("");
                let rule = r["rule_name"].as_str().unwrap_or(rules::RECORD);
                let message = r["rule"].as_str().unwrap_or("?");
                fates.push(Fate::Refused(Refused {
                    line: *line,
                    column: importer.column_of(field).or_else(|| (!field.is_empty()).then(|| field.to_owned())),
                    rule: rule.to_owned(),
                    // The server's message ends with the rule's name, which the report prints.
                    message: message.strip_suffix(&format!(" (rule {rule})")).unwrap_or(message).to_owned(),
                }));
            }
        }
    }
    Ok(())
}

fn print_report(r: &Report) {
    let s = &r.summary;
    let appended = if r.check { "would be appended" } else { "appended" };
    println!(
        "{}{} rows: {} {appended}, {} already on the log (or repeated in the file), {} rejected",
        if r.check { "check (nothing appended): " } else { "" },
        s.rows,
        s.appended,
        s.duplicates,
        s.rejected
    );
    if !s.by_rule.is_empty() {
        let rules: Vec<String> = s.by_rule.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("rejected by rule: {}", rules.join(", "));
    }
    if r.severity_derived > 0 {
        println!(
            "severity (轻微/一般/严重) derived from the penalties and the publicity period, by the mapping's rules, for {} of the rows {}",
            r.severity_derived,
            if r.check { "that would be appended" } else { "appended" }
        );
    }
}

/// The file and the exit status an import ends with.
pub fn succeeded(r: &Report) -> bool {
    r.summary.rejected == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The on-disk table finds every key again with its line, tells a different record under the
    /// same key from the same one, and probes past full runs (900 keys in 1,024 slots).
    #[test]
    fn the_table_of_document_numbers_remembers_every_key() {
        let seen = Seen::new(1).unwrap();
        assert_eq!(seen.slots, 1024);
        let digest = |i: u64| -> [u8; 32] { sha2::Sha256::digest(i.to_be_bytes()).into() };
        for i in 0..900u64 {
            assert_eq!(seen.check(format!("firm\0dept\0{i}").as_bytes(), i + 2, &digest(i)).unwrap(), None);
        }
        for i in 0..900u64 {
            let key = format!("firm\0dept\0{i}");
            assert_eq!(seen.check(key.as_bytes(), 5_000 + i, &digest(i)).unwrap(), Some((i + 2, true)), "{i}");
            assert_eq!(seen.check(key.as_bytes(), 6_000 + i, &digest(i + 1)).unwrap(), Some((i + 2, false)), "{i}");
        }
        assert_eq!(seen.check(b"firm\0dept\0new", 7_000, &digest(0)).unwrap(), None);
    }
}
