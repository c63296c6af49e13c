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
use std::collections::HashMap;
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

/// What an import did, or with `--check` would do.
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
    /// Rows already on the log or repeated in the file.
    pub duplicates: Vec<Duplicate>,
    /// Rows refused.
    pub rejected: Vec<Refused>,
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

/// Runs an import; `Ok(report)` whatever the rows' fate (the caller sets the exit code).
pub fn run(args: &ImportArgs) -> Result<Report> {
    let kind: RecordKind = args.kind.parse().map_err(|e| anyhow::anyhow!("--kind: {e}"))?;
    let key = keyfile::read(&args.key)?;
    let client = Client::new(&args.server, key.clone());
    let (code, name) = department_of(&client)?;
    let encoding: import::sheet::Encoding = args.encoding.parse().map_err(|e| anyhow::anyhow!("--encoding: {e}"))?;
    let file = args.file.display().to_string();
    let table = import::sheet::read_file(&args.file, encoding, args.sheet.as_deref())
        .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
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
        Importer::new(kind, &table, mapping, &code, Some(&name)).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    let mut report = Report {
        file: file.clone(),
        read_as: table.read_as.clone(),
        layout: importer.describe(),
        check: args.check,
        summary: Summary::default(),
        severity_derived: 0,
        ignored_columns: importer.ignored.clone(),
        duplicates: Vec::new(),
        rejected: Vec::new(),
    };
    eprintln!("{file}: {}; header row at line {}: {}", table.read_as, importer.header_line, report.layout);
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
    let total = importer.data_rows(&table).count() as u64;
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(if args.check {
            "checking  {bar:40} {pos}/{len} rows {per_sec} eta {eta}"
        } else {
            "importing {bar:40} {pos}/{len} rows {per_sec} eta {eta}"
        })
        .expect("template"),
    );
    let path = if args.check { "/v1/records/check" } else { "/v1/records" };
    let batch = args.batch.clamp(1, api::MAX_RECORDS_PER_REQUEST);
    // Rows are read, signed and sent a batch at a time, so that memory holds the file and one
    // batch, not every envelope.
    let mut pending: Vec<(u64, Vec<u8>)> = Vec::with_capacity(batch);
    // Lines whose severity tier was derived; counted in the report when appended.
    let mut derived: std::collections::HashSet<u64> = std::collections::HashSet::new();
    let mut seen: HashMap<(String, String, String), (u64, [u8; 32])> = HashMap::new();
    for row in importer.data_rows(&table) {
        report.summary.rows += 1;
        let imported = match importer.record(row) {
            Ok(i) => i,
            Err(e) => {
                report.rejected.push(e.into());
                bar.inc(1);
                continue;
            }
        };
        if imported.severity_derived {
            derived.insert(row.line);
        }
        let record = imported.record;
        let payload = record.to_json_bytes();
        let digest: [u8; 32] = sha2::Sha256::digest(&payload).into();
        // The registry's key for "the same record": firm, department, kind (one per file) and
        // document number.
        let key_of =
            (record.subject().as_str().to_owned(), record.department().to_owned(), record.reference().to_owned());
        if let Some((line, earlier)) = seen.get(&key_of) {
            if *earlier == digest {
                report.duplicates.push(Duplicate { line: row.line, index: None, same_as_line: Some(*line) });
            } else {
                report.rejected.push(Refused {
                    line: row.line,
                    column: importer.column_of("reference"),
                    rule: rules::ONE_RECORD_ONE_ENTRY.into(),
                    message: format!(
                        "document number {} is on line {line} too, for the same firm, with different content: a document number is one record; a correction is a retraction and a new record",
                        record.reference()
                    ),
                });
            }
            bar.inc(1);
            continue;
        }
        seen.insert(key_of, (row.line, digest));
        pending.push((row.line, payload));
        if pending.len() == batch {
            send(&client, path, &importer, &sign_all(&pending, &key), &derived, &mut report, &bar)?;
            pending.clear();
        }
    }
    send(&client, path, &importer, &sign_all(&pending, &key), &derived, &mut report, &bar)?;
    bar.finish_and_clear();
    report.summary.duplicates = report.duplicates.len() as u64;
    report.summary.rejected = report.rejected.len() as u64;
    report.rejected.sort_by_key(|r| r.line);
    report.duplicates.sort_by_key(|d| d.line);
    for r in &report.rejected {
        *report.summary.by_rule.entry(r.rule.clone()).or_default() += 1;
    }
    print_report(&report);
    if let Some(p) = &args.report {
        let mut json = serde_json::to_vec_pretty(&report)?;
        json.push(b'\n');
        std::fs::write(p, json).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(report)
}

/// Signs a batch of record payloads, split over the machine's cores (signing is most of what
/// an import costs the client).
fn sign_all(payloads: &[(u64, Vec<u8>)], key: &ed25519_dalek::SigningKey) -> Vec<(u64, Envelope)> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let chunk = payloads.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = payloads
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter().map(|(line, p)| (*line, Envelope::sign(RECORD_TYPE, p, key))).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("a signing thread panicked")).collect()
    })
}

/// Sends one batch and adds the server's answers to the report.
fn send(
    client: &Client,
    path: &str,
    importer: &Importer,
    chunk: &[(u64, Envelope)],
    derived: &std::collections::HashSet<u64>,
    report: &mut Report,
    bar: &indicatif::ProgressBar,
) -> Result<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    let body = serde_json::json!({ "records": chunk.iter().map(|(_, e)| e).collect::<Vec<_>>() });
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
    for ((line, _), r) in chunk.iter().zip(results) {
        match r["outcome"].as_str() {
            Some("appended" | "would_append") => {
                report.summary.appended += 1;
                report.severity_derived += u64::from(derived.contains(line));
            }
            Some("duplicate") => {
                report.duplicates.push(Duplicate { line: *line, index: r["index"].as_u64(), same_as_line: None })
            }
            _ => {
                let field = r["field"].as_str().unwrap_or("");
                let rule = r["rule_name"].as_str().unwrap_or(rules::RECORD);
                let message = r["rule"].as_str().unwrap_or("?");
                report.rejected.push(Refused {
                    line: *line,
                    column: importer.column_of(field).or_else(|| (!field.is_empty()).then(|| field.to_owned())),
                    rule: rule.to_owned(),
                    // The server's message ends with the rule's name, which the report prints.
                    message: message.strip_suffix(&format!(" (rule {rule})")).unwrap_or(message).to_owned(),
                });
            }
        }
    }
    bar.inc(chunk.len() as u64);
    Ok(())
}

fn print_report(r: &Report) {
    for x in &r.rejected {
        match &x.column {
            Some(c) => println!("{}:{}: column {c}: {} (rule {})", r.file, x.line, x.message, x.rule),
            None => println!("{}:{}: {} (rule {})", r.file, x.line, x.message, x.rule),
        }
    }
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
