//! A department imports its 双公示 exports as its systems write them: an Excel workbook, CSV in
//! GB18030 and CSV in UTF-8 with a BOM, with the standard's header variants, dates in three
//! forms and amounts in 万元. The fixtures in testdata/imports were written by an independent
//! script (openpyxl and Python's codecs, testdata/imports/make_fixtures.py) with the records each
//! must give worked out by hand; the import runs through the real CLI and server.

use base64::prelude::*;
use e2e::{cli, new_key, statement, Server, Signer};
use registry::keyfile;
use serde_json::Value;
use std::path::{Path, PathBuf};
use verifier::entry::EntryContent;
use verifier::identity::{Statement, IDENTITY_STATEMENT};

const AMR: &str = "淄博市张店区市场监督管理局";
/// The legal representative's ID number in the fixtures' dropped column and in a bad row's text.
const ID_NUMBER: &str = "11010519491231002X";

/// The rows of `penalties.bad.csv` the importer refuses, as the fixture was written
/// (testdata/imports/make_fixtures.py): line, column by its header in the file, rule.
const BAD_FILE_IMPORT_REFUSALS: [(u64, &str, &str); 8] = [
    (5, "行政相对人类别", "import-enterprise-only"),
    (6, "行政相对人代码_1（统一社会信用代码）", "import-enterprise-only"),
    (7, "处罚决定日期", "import-cell"),
    (8, "罚款金额（万元）", "import-cell"),
    (9, "违法事实", "import-personal-data"),
    (10, "处罚机关", "import-authority"),
    (11, "处罚类别", "import-cell"),
    (12, "行政处罚决定书文号", "one-record-one-entry"),
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/imports").join(name)
}

struct City {
    dir: tempfile::TempDir,
    data: PathBuf,
    server: Server,
    dept: Signer,
}

fn city() -> City {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--checkpoint-interval-ms", "5"]);
    let op = Signer { url: server.url.clone(), key: keyfile::read(&data.join("operator.key")).unwrap() };
    let key = new_key(dir.path(), "amr.key");
    let (s, v) = statement(
        &op,
        &Statement::RegisterDepartment {
            kind: IDENTITY_STATEMENT.to_owned(),
            code: "zibo-amr".into(),
            name: AMR.into(),
            kinds: ["administrative_penalty".to_owned(), "administrative_licence".to_owned()].into(),
            domains: Default::default(),
            capabilities: Default::default(),
            key: keyfile::public_b64(&key),
        },
    );
    assert_eq!(s, 200, "{v}");
    // Everything before the imports is in a checkpoint.
    server.wait_for_size(v["index"].as_u64().unwrap() + 1);
    let dept = Signer { url: server.url.clone(), key };
    City { dir, data, server, dept }
}

impl City {
    /// `creditlog import FILE --kind KIND [--check]`: (exit code, stdout, the JSON report).
    fn import(&self, file: &Path, kind: &str, check: bool) -> (i32, String, Value) {
        let report = self.dir.path().join("report.json");
        let _ = std::fs::remove_file(&report);
        let mut args = vec![
            "import".to_owned(),
            file.to_str().unwrap().to_owned(),
            "--kind".into(),
            kind.into(),
            "--key".into(),
            self.dir.path().join("amr.key").to_str().unwrap().into(),
            "--server".into(),
            self.server.url.clone(),
            "--report".into(),
            report.to_str().unwrap().into(),
        ];
        if check {
            args.push("--check".into());
        }
        let out = std::process::Command::new(e2e::binary()).args(&args).output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let text = std::fs::read(&report).unwrap_or_else(|_| {
            panic!("no report:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        });
        (out.status.code().unwrap(), stdout, serde_json::from_slice(&text).unwrap())
    }

    /// `creditlog import FILE --kind KIND [extra]` for a file refused as a whole (no report is
    /// written): (exit 0, stdout, stderr).
    fn import_refused(&self, file: &Path, kind: &str, extra: &[&str]) -> (bool, String, String) {
        let key = self.dir.path().join("amr.key");
        let mut args = vec![
            "import",
            file.to_str().unwrap(),
            "--kind",
            kind,
            "--key",
            key.to_str().unwrap(),
            "--server",
            &self.server.url,
        ];
        args.extend_from_slice(extra);
        cli(&args)
    }

    fn size(&self) -> u64 {
        self.server.settled_size()
    }

    /// The signed payload of log entry `i`, read back as the department.
    fn payload(&self, i: u64) -> String {
        let (s, v) = self.dept.get(&format!("/v1/entries/{i}"));
        assert_eq!(s, 200, "{v}");
        let content: EntryContent = serde_json::from_value(v["content"].clone()).unwrap();
        String::from_utf8(BASE64_STANDARD.decode(&content.envelope.payload).unwrap()).unwrap()
    }
}

fn summary(report: &Value) -> (u64, u64, u64, u64) {
    let s = &report["summary"];
    let n = |k: &str| s[k].as_u64().unwrap();
    (n("rows"), n("appended"), n("duplicates"), n("rejected"))
}

/// The log grows by `n` and no more, and the new entries are those of the fixture's lines.
fn appended(c: &City, before: u64, n: u64) -> Vec<u64> {
    let cp = c.server.wait_for_size(before + n);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(c.size(), before + n, "the import appended more than its rows");
    assert_eq!(cp.size, before + n);
    (before..before + n).collect()
}

#[test]
fn the_three_forms_of_one_export_give_the_known_records() {
    let c = city();
    let before = c.size();

    // The dry run reports the four rows it would append and appends nothing.
    let (code, out, r) = c.import(&fixture("penalties.xlsx"), "administrative_penalty", true);
    assert_eq!(code, 0, "{out}");
    assert_eq!(summary(&r), (4, 4, 0, 0), "{out}");
    assert!(out.contains("check (nothing appended): 4 rows: 4 would be appended"), "{out}");
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(c.size(), before, "--check appended");

    // The workbook (a title row above the header, date cells, number cells) goes in.
    let (code, out, r) = c.import(&fixture("penalties.xlsx"), "administrative_penalty", false);
    assert_eq!(code, 0, "{out}");
    assert_eq!(summary(&r), (4, 4, 0, 0), "{out}");
    assert_eq!(r["severity_derived"], 4);
    let indices = appended(&c, before, 4);
    let expected = std::fs::read_to_string(fixture("penalties.expected.jsonl")).unwrap();
    let got: Vec<String> = indices.iter().map(|i| c.payload(*i)).collect();
    assert_eq!(got, expected.lines().collect::<Vec<_>>(), "the records are not the known answers");

    // The GB18030 CSV and the UTF-8 CSV with a BOM (header variants, other date forms) are the
    // same records: each row is reported as already on the log, at the workbook's entries.
    for file in ["penalties.gb18030.csv", "penalties.utf8bom.csv"] {
        let (code, out, r) = c.import(&fixture(file), "administrative_penalty", false);
        assert_eq!(code, 0, "{file}: {out}");
        assert_eq!(summary(&r), (4, 0, 4, 0), "{file}: {out}");
        let at: Vec<u64> = r["duplicates"].as_array().unwrap().iter().map(|d| d["index"].as_u64().unwrap()).collect();
        assert_eq!(at, indices, "{file}");
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(c.size(), before + 4);

    // A licence export: 2099-12-31 is a licence without end; missing name and number fall back
    // on the decision document's.
    let (code, out, r) = c.import(&fixture("licences.gb18030.csv"), "administrative_licence", false);
    assert_eq!(code, 0, "{out}");
    assert_eq!(summary(&r), (2, 2, 0, 0), "{out}");
    assert!(r["read_as"].as_str().unwrap().contains("GB18030"), "{r}");
    let indices = appended(&c, before + 4, 2);
    let expected = std::fs::read_to_string(fixture("licences.expected.jsonl")).unwrap();
    let got: Vec<String> = indices.iter().map(|i| c.payload(*i)).collect();
    assert_eq!(got, expected.lines().collect::<Vec<_>>());

    // A licence export read as penalties names the right kind.
    let (ok, _, err) = c.import_refused(&fixture("licences.gb18030.csv"), "administrative_penalty", &["--check"]);
    assert!(!ok && err.contains("--kind administrative_licence"), "{err}");

    // The ID number in the dropped column is nowhere in the data folder.
    assert_nothing_holds(&c.data, ID_NUMBER);
}

/// No file under `dir` holds `needle`.
fn assert_nothing_holds(dir: &Path, needle: &str) {
    let mut stack = vec![dir.to_owned()];
    let mut files = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files += 1;
                let bytes = std::fs::read(&p).unwrap();
                assert!(!bytes.windows(needle.len()).any(|w| w == needle.as_bytes()), "{} holds {needle}", p.display());
            }
        }
    }
    assert!(files > 5, "only {files} files under {}", dir.display());
}

#[test]
fn check_reports_exactly_what_the_import_then_does() {
    let c = city();
    let on_log = c.size();
    let (code, out, _) = c.import(&fixture("penalties.xlsx"), "administrative_penalty", false);
    assert_eq!(code, 0, "{out}");
    let before = c.server.wait_for_size(on_log + 4).size;

    let bad = fixture("penalties.bad.csv");
    let (check_code, check_out, check) = c.import(&bad, "administrative_penalty", true);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(c.size(), before, "--check appended");
    assert_eq!(check_code, 2, "{check_out}");
    let (code, out, real) = c.import(&bad, "administrative_penalty", false);
    assert_eq!(code, 2, "{out}");
    appended(&c, before, 1);

    // The same report, but for the flag.
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("check");
        v
    };
    assert_eq!(strip(check.clone()), strip(real.clone()));
    let as_done = |s: &str| {
        s.replace("check (nothing appended): ", "")
            .replace("that would be appended", "appended")
            .replace("would be appended", "appended")
    };
    assert_eq!(as_done(&check_out), out);

    // Every line's fate, as the fixture was written (testdata/imports/make_fixtures.py).
    assert_eq!(summary(&real), (12, 1, 2, 9));
    let dups: Vec<(u64, Value, Value)> = real["duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["line"].as_u64().unwrap(), d["index"].clone(), d["same_as_line"].clone()))
        .collect();
    assert_eq!(dups, [(3, Value::Null, 2.into()), (4, on_log.into(), Value::Null)]);
    let rejected: Vec<(u64, String, String)> = real["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["column"].as_str().unwrap_or("").to_owned(),
                r["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // The importer's refusals, then the server's: line 13's date is after the intake day.
    let want: Vec<(u64, String, String)> = BAD_FILE_IMPORT_REFUSALS
        .iter()
        .chain(&[(13, "处罚决定日期", "plausible-date")])
        .map(|(l, c, r)| (*l, (*c).to_owned(), (*r).to_owned()))
        .collect();
    assert_eq!(rejected, want, "{out}");
    // Messages say what is wrong in plain words, and the personal-data refusal does not repeat
    // the number.
    assert!(out.contains(":7: column 处罚决定日期: \"2026-02-30\" is not a day that exists"), "{out}");
    assert!(out.contains(":5: column 行政相对人类别: the party is a 自然人: the registry is for enterprises"), "{out}");
    assert!(!out.contains(ID_NUMBER), "{out}");
    assert_nothing_holds(&c.data, ID_NUMBER);
}

/// A department cannot learn, by a dry run or a submission, whether another department has a
/// record on the log: a copy of that record in the other's name is refused by the authority
/// rule, never answered "duplicate" with its entry.
#[test]
fn another_departments_record_is_refused_not_confirmed() {
    let c = city();
    let start = c.size();
    let (code, out, _) = c.import(&fixture("penalties.xlsx"), "administrative_penalty", false);
    assert_eq!(code, 0, "{out}");
    let first = appended(&c, start, 4)[0];
    let op = Signer { url: c.server.url.clone(), key: keyfile::read(&c.data.join("operator.key")).unwrap() };
    let other = new_key(c.dir.path(), "tax.key");
    let (s, v) = statement(
        &op,
        &Statement::RegisterDepartment {
            kind: IDENTITY_STATEMENT.to_owned(),
            code: "zibo-tax".into(),
            name: "国家税务总局淄博市张店区税务局".into(),
            kinds: ["administrative_penalty".to_owned()].into(),
            domains: Default::default(),
            capabilities: Default::default(),
            key: keyfile::public_b64(&other),
        },
    );
    assert_eq!(s, 200, "{v}");
    let tax = Signer { url: c.server.url.clone(), key: other };
    // The very record the market regulator signed, now signed by the tax bureau.
    let env =
        verifier::envelope::Envelope::sign(verifier::envelope::RECORD_TYPE, c.payload(first).as_bytes(), &tax.key);
    for path in ["/v1/records/check", "/v1/records"] {
        let (s, v) = tax.post(path, &serde_json::json!({ "records": [env] }));
        assert_eq!(s, 200, "{v}");
        let r = &v["results"][0];
        assert_eq!(r["outcome"], "rejected", "{path}: {v}");
        assert_eq!(r["rule_name"], "records-by-departments", "{path}: {v}");
        assert!(r.get("index").is_none(), "{path}: {v}");
    }
}

/// The portal's import (`POST /v1/imports/read`): the server reads the department's file with the
/// same importer and answers, row by row, the payload for the page to sign or the refusal with
/// its line, column and rule; it appends nothing. The oracle is the fixtures' hand-worked answers.
#[test]
fn the_portal_reads_an_export_into_the_records_worked_out_by_hand() {
    let c = city();
    let start = c.size();
    let read = |file: &str, query: &str| {
        let body = std::fs::read(fixture(file)).unwrap();
        let headers = c.dept.headers("POST", "/v1/imports/read", query, Some(&body));
        c.dept.send_post(&format!("/v1/imports/read?{query}"), &body, &headers)
    };
    let (s, v) = read("penalties.xlsx", "kind=administrative_penalty");
    assert_eq!(s, 200, "{v}");
    assert!(v["read_as"].as_str().unwrap().contains("Excel"), "{v}");
    let payloads: Vec<String> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| String::from_utf8(BASE64_STANDARD.decode(r["payload"].as_str().expect("a payload")).unwrap()).unwrap())
        .collect();
    let expected = std::fs::read_to_string(fixture("penalties.expected.jsonl")).unwrap();
    assert_eq!(payloads, expected.lines().collect::<Vec<_>>());

    // The bad file: every row the importer refuses, by line, column (the file's header) and rule;
    // the repeated row is named as the same as line 2.
    let (s, v) = read("penalties.bad.csv", "kind=administrative_penalty");
    assert_eq!(s, 200, "{v}");
    let rows = v["rows"].as_array().unwrap();
    let refused: Vec<(u64, &str, &str)> = rows
        .iter()
        .filter(|r| r["rule"].is_string())
        .map(|r| (r["line"].as_u64().unwrap(), r["column"].as_str().unwrap_or(""), r["rule"].as_str().unwrap()))
        .collect();
    assert_eq!(refused, BAD_FILE_IMPORT_REFUSALS);
    assert_eq!(rows.iter().find(|r| r["line"] == 3).unwrap()["duplicate_of_line"], 2);
    assert!(!v.to_string().contains(ID_NUMBER), "the answer repeats the ID number");

    // A kind that does not exist, and a file that is not an export, are refused by name.
    let (s, v) = read("penalties.xlsx", "kind=penalty");
    assert_eq!((s, v["type"].as_str(), v["field"].as_str()), (400, Some("/problems/bad-import"), Some("kind")), "{v}");
    let (s, v) = read("licences.expected.jsonl", "kind=administrative_penalty");
    assert_eq!((s, v["field"].as_str()), (400, Some("file")), "{v}");
    assert!(v["detail"].as_str().unwrap().contains("header"), "{v}");

    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(c.size(), start, "reading a file appended something");
}

/// A file of `n` penalties built from the fixture's first row, one firm and one document number
/// per row (line `i + 2` holds firm `i`), in UTF-8 with a BOM.
fn many_penalties(n: usize) -> (Vec<String>, String) {
    let text = std::fs::read_to_string(fixture("penalties.utf8bom.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_owned();
    let row: Vec<String> = lines.next().unwrap().split(',').map(str::to_owned).collect();
    let mut firms = Vec::new();
    let mut out = header;
    for i in 0..n {
        let uscc = verifier::uscc::Uscc::from_parts(&format!("91370303MA{i:07}")).unwrap().as_str().to_owned();
        let mut cells = row.clone();
        cells[2] = uscc.clone();
        cells[13] = format!("淄张市监罚〔2026〕{}号", 10_000 + i);
        out.push('\n');
        out.push_str(&cells.join(","));
        firms.push(uscc);
    }
    out.push('\n');
    (firms, out)
}

#[test]
fn a_large_export_is_streamed_and_a_file_broken_near_its_end_is_refused_before_anything_is_sent() {
    let c = city();
    let before = c.size();
    let n = 2_500;
    let (firms, mut text) = many_penalties(n);

    // Broken near its end: a GB18030 row pasted into a UTF-8 file. The import reads the whole
    // file before it sends a row, so it refuses the file, naming the line, and sends nothing.
    let broken = c.dir.path().join("broken.csv");
    let mut bytes = text.clone().into_bytes();
    bytes.extend_from_slice(&encoding_rs::GB18030.encode("淄博丙公司,法人及非法人组织\n").0);
    std::fs::write(&broken, &bytes).unwrap();
    let (ok, out, err) = c.import_refused(&broken, "administrative_penalty", &[]);
    let last = n as u64 + 2;
    assert!(!ok && err.contains(&format!("line {last}: the file is not UTF-8")), "{out}{err}");
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(c.size(), before, "a file refused as a whole appended rows");

    // Whole, with a repeat of line 2 and a conflicting reuse of line 3's document number far
    // below them (batches of 1,000 rows: the file's document numbers are remembered across
    // batches, on disk, not in the batch).
    let lines: Vec<&str> = text.lines().collect();
    let repeat = lines[1].to_owned();
    let conflicting = lines[2].replace("发布虚假广告宣传", "另一违法事实");
    text.push_str(&format!("{repeat}\n{conflicting}\n"));
    let file = c.dir.path().join("many.csv");
    std::fs::write(&file, &text).unwrap();
    let (code, out, r) = c.import(&file, "administrative_penalty", false);
    assert_eq!(code, 2, "{out}");
    assert_eq!(summary(&r), (n as u64 + 2, n as u64, 1, 1), "{out}");
    assert_eq!(r["duplicates"], serde_json::json!([{"line": last, "same_as_line": 2}]));
    assert_eq!(r["rejected"][0]["line"], last + 1);
    assert_eq!(r["rejected"][0]["rule"], "one-record-one-entry");
    assert!(out.contains(&format!("many.csv:{}: column 行政处罚决定书文号", last + 1)), "{out}");
    let indices = appended(&c, before, n as u64);
    // The first and the last row's records, at the first and the last index, for their firms.
    for (i, at) in [(0, indices[0]), (n - 1, indices[n - 1])] {
        let p: Value = serde_json::from_str(&c.payload(at)).unwrap();
        assert_eq!(p["subject"], firms[i].as_str(), "entry {at}");
        assert_eq!(p["reference"], format!("淄张市监罚〔2026〕{}号", 10_000 + i));
    }
}
