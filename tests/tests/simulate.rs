//! `creditlog simulate`: the same seed gives the same bytes; every file it writes is valid (USCCs,
//! signed envelopes, CSV rows that are the same records); and the jurisdiction loads into a
//! real server through its own `load.sh`, and through `creditlog import`.

use base64::prelude::*;
use e2e::{binary, check_log, Server};
use ed25519_dalek::VerifyingKey;
use registry::keyfile;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use verifier::envelope::{key_id, Envelope, RECORD_TYPE};
use verifier::record::{csv_columns, is_department_code, Record, RecordKind};
use verifier::uscc::Uscc;

fn simulate(out: &Path, firms: usize, records: usize, seed: u64) -> String {
    let output = Command::new(binary())
        .args(["simulate", "--out"])
        .arg(out)
        .args(["--firms", &firms.to_string(), "--records", &records.to_string(), "--seed", &seed.to_string()])
        .output()
        .unwrap();
    assert!(output.status.success(), "simulate failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// Every file under `dir`, by relative path.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(path.strip_prefix(root).unwrap().to_owned(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A small RFC 4180 reader: quoted fields may hold commas, quotes ("") and line breaks.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// Reads `departments.json`: (code, kinds, public key) per department, checked against its key file.
fn departments(dir: &Path) -> Vec<(String, BTreeSet<String>, VerifyingKey)> {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("departments.json")).unwrap()).unwrap();
    let mut out = Vec::new();
    for d in json.as_array().unwrap() {
        let code = d["code"].as_str().unwrap().to_owned();
        assert!(is_department_code(&code), "{code}");
        assert!(!d["name"].as_str().unwrap().is_empty());
        let kinds: BTreeSet<String> =
            d["kinds"].as_array().unwrap().iter().map(|k| k.as_str().unwrap().into()).collect();
        for k in &kinds {
            k.parse::<RecordKind>().unwrap();
        }
        let key = keyfile::read(&dir.join(d["key_file"].as_str().unwrap())).unwrap();
        assert_eq!(d["key_file"], format!("keys/{code}.key"));
        assert_eq!(d["public_key"], BASE64_STANDARD.encode(key.verifying_key().as_bytes()));
        assert_eq!(d["key_id"], key_id(&key.verifying_key()));
        out.push((code, kinds, key.verifying_key()));
    }
    out
}

/// The "N appended, D already on the log, R rejected" lines of submit and import.
fn summaries(stdout: &str) -> Vec<(u64, u64, u64)> {
    stdout
        .lines()
        .filter_map(|line| {
            let w: Vec<&str> = line.split_whitespace().collect();
            match w.as_slice() {
                [a, "appended,", d, "already", "on", "the", "log,", r, "rejected"] => {
                    Some((a.parse().ok()?, d.parse().ok()?, r.parse().ok()?))
                }
                _ => None,
            }
        })
        .collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c"));
    simulate(&a, 60, 600, 7);
    simulate(&b, 60, 600, 7);
    simulate(&c, 60, 600, 8);
    let (fa, fb, fc) = (files(&a), files(&b), files(&c));
    assert!(fa.len() > 50, "{:?}", fa.keys().collect::<Vec<_>>());
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (path, bytes) in &fa {
        assert!(bytes == &fb[path], "{} differs between two runs with the same seed", path.display());
    }
    // Another seed: other firms, other keys, other records (same layout).
    assert_eq!(fa.keys().collect::<Vec<_>>(), fc.keys().collect::<Vec<_>>());
    for path in ["firms.csv", "departments.json", "keys/zibo-amr.key", "records/zibo-amr.jsonl"] {
        assert_ne!(fa[Path::new(path)], fc[Path::new(path)], "{path} is the same under another seed");
    }
    // The output folder must be new or empty: key files are never overwritten.
    let out = Command::new(binary())
        .args(["simulate", "--out"])
        .arg(&a)
        .args(["--firms", "5", "--records", "5"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not empty"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(files(&a), fa);
}

#[test]
fn every_file_is_valid_and_the_csv_holds_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim");
    let (n_firms, n_records) = (120, 1500);
    let stdout = simulate(&sim, n_firms, n_records, 11);
    assert!(stdout.contains("departments: 8"), "{stdout}");
    assert!(stdout.contains(&format!("records: {n_records}")), "{stdout}");

    // Firms: valid, distinct USCCs of the simulated districts.
    let firms = parse_csv(&std::fs::read_to_string(sim.join("firms.csv")).unwrap());
    assert_eq!(firms[0], ["uscc", "name", "region"]);
    assert_eq!(firms.len(), n_firms + 1);
    let mut usccs = BTreeSet::new();
    for row in &firms[1..] {
        let uscc = Uscc::parse(&row[0]).unwrap_or_else(|e| panic!("{}: {e}", row[0]));
        assert_eq!(uscc.registration_authority(), '9');
        assert!(uscc.region_code().starts_with("3703"), "{uscc}");
        assert!(!row[1].is_empty() && row[2].starts_with("山东省淄博市"), "{row:?}");
        assert!(usccs.insert(row[0].clone()), "{} twice", row[0]);
    }
    let profiles = parse_csv(&std::fs::read_to_string(sim.join("profiles.csv")).unwrap());
    assert_eq!(profiles.len(), n_firms + 1);
    assert!(profiles[1..].iter().all(|p| ["A", "B", "C", "D"].contains(&p[4].as_str())));

    // Records: signed by their department, valid, about a simulated firm, in date order.
    let depts = departments(&sim);
    assert_eq!(depts.len(), 8);
    let mut payloads: BTreeMap<(String, String), Vec<Vec<u8>>> = BTreeMap::new();
    let mut kinds_seen = BTreeSet::new();
    let mut total = 0;
    for (code, kinds, key) in &depts {
        let text = std::fs::read_to_string(sim.join(format!("records/{code}.jsonl"))).unwrap();
        let mut last_date = None;
        for (i, line) in text.lines().enumerate() {
            let env: Envelope = serde_json::from_str(line).unwrap_or_else(|e| panic!("{code}:{}: {e}", i + 1));
            let payload = env.open(RECORD_TYPE, key).unwrap_or_else(|e| panic!("{code}:{}: {e}", i + 1));
            let record = Record::parse(&payload).unwrap_or_else(|e| panic!("{code}:{}: {e}", i + 1));
            assert_eq!(record.department(), code);
            assert!(kinds.contains(record.kind().as_str()), "{code} may not submit {}", record.kind());
            assert!(usccs.contains(record.subject().as_str()));
            let date = record.date().to_string();
            assert!(("2024-01-01"..="2026-11-20").contains(&date.as_str()), "{date}");
            assert!(last_date.as_ref().is_none_or(|d| d <= &date), "{code}:{}: not in date order", i + 1);
            last_date = Some(date);
            kinds_seen.insert(record.kind());
            payloads.entry((code.clone(), record.kind().as_str().to_owned())).or_default().push(payload);
            total += 1;
        }
    }
    assert_eq!(total, n_records);
    // The common kinds all occur at this size.
    for kind in [
        RecordKind::AdministrativeLicence,
        RecordKind::AdministrativePenalty,
        RecordKind::InspectionResult,
        RecordKind::AnnualReport,
        RecordKind::TaxCreditGrade,
        RecordKind::CreditCommitment,
        RecordKind::CommitmentOutcome,
        RecordKind::VerifiedComplaint,
    ] {
        assert!(kinds_seen.contains(&kind), "no {kind} among {kinds_seen:?}");
    }

    // CSV: one file per department and kind, whose rows are exactly the JSONL payloads.
    let mut csv_files = 0;
    for (code, kinds, _) in &depts {
        for kind in kinds {
            let k: RecordKind = kind.parse().unwrap();
            let path = sim.join(format!("csv/{code}__{kind}.csv"));
            let rows = parse_csv(&std::fs::read_to_string(&path).unwrap());
            assert_eq!(rows[0], csv_columns(k), "{}", path.display());
            let expected = payloads.get(&(code.clone(), kind.clone())).cloned().unwrap_or_default();
            assert_eq!(rows.len() - 1, expected.len(), "{}", path.display());
            for (row, payload) in rows[1..].iter().zip(&expected) {
                let cells: Vec<(&str, &str)> =
                    rows[0].iter().map(String::as_str).zip(row.iter().map(String::as_str)).collect();
                let record = Record::from_flat(k, &cells).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(&record.to_json_bytes(), payload, "{}", path.display());
            }
            csv_files += 1;
        }
    }
    assert_eq!(std::fs::read_dir(sim.join("csv")).unwrap().count(), csv_files);

    let readme = std::fs::read_to_string(sim.join("README.txt")).unwrap();
    assert!(readme.contains("load one, not both"), "{readme}");
    use std::os::unix::fs::PermissionsExt;
    assert_ne!(std::fs::metadata(sim.join("load.sh")).unwrap().permissions().mode() & 0o111, 0);
}

#[test]
fn load_sh_and_import_load_a_jurisdiction_into_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let operator = data.join("operator.key");
    // A new log holds three entries: the registrations of the operator and of the grader key,
    // and the jurisdiction's settings (maybe not yet in a checkpoint).
    let before = server.wait_for_size(3).size;
    assert_eq!(before, 3);

    let sim = dir.path().join("sim");
    simulate(&sim, 50, 400, 3);
    let load = || {
        let out = Command::new("bash")
            .arg(sim.join("load.sh"))
            .arg(&server.url)
            .arg(&operator)
            .env("CREDITLOG", binary())
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(out.status.success(), "load.sh failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        stdout
    };

    // Departments registered, every record appended.
    let stdout = load();
    assert_eq!(stdout.matches("register_department at entry").count(), 8, "{stdout}");
    let counts = summaries(&stdout);
    assert_eq!(counts.len(), 8, "{stdout}");
    assert_eq!(counts.iter().map(|c| c.0).sum::<u64>(), 400, "{stdout}");
    assert!(counts.iter().all(|&(_, dup, rejected)| dup == 0 && rejected == 0), "{stdout}");
    server.wait_for_size(before + 8 + 400);

    // Loading again appends nothing: the same signed statements and records are on the log.
    let stdout = load();
    assert_eq!(stdout.matches("(already on the log)").count(), 8, "{stdout}");
    let counts = summaries(&stdout);
    let total = counts.iter().fold((0, 0, 0), |s, c| (s.0 + c.0, s.1 + c.1, s.2 + c.2));
    assert_eq!(total, (0, 400, 0), "{stdout}");

    // The largest CSV file of a simulation, with its department and kind.
    let largest = |sim: &Path| {
        let mut best = (0, PathBuf::new());
        for entry in std::fs::read_dir(sim.join("csv")).unwrap() {
            let path = entry.unwrap().path();
            let rows = parse_csv(&std::fs::read_to_string(&path).unwrap()).len() - 1;
            if rows > best.0 || (rows == best.0 && path < best.1) {
                best = (rows, path);
            }
        }
        let name = best.1.file_stem().unwrap().to_str().unwrap().to_owned();
        let (code, kind) = name.split_once("__").unwrap();
        (best.0 as u64, best.1.clone(), code.to_owned(), kind.to_owned())
    };
    let import = |file: &Path, kind: &str, key: &Path| {
        let report = dir.path().join("report.json");
        let out = Command::new(binary())
            .arg("import")
            .arg(file)
            .args(["--kind", kind, "--key"])
            .arg(key)
            .args(["--server", &server.url, "--report"])
            .arg(&report)
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(out.status.success(), "import failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        let s = &r["summary"];
        [(s["appended"].as_u64().unwrap(), s["duplicates"].as_u64().unwrap(), s["rejected"].as_u64().unwrap())]
    };

    // The CSV files hold the same records as the JSONL files: importing one after load.sh
    // re-signs each row with the same key, which gives the same envelope (Ed25519 is
    // deterministic), so nothing is appended twice.
    let (rows, file, code, kind) = largest(&sim);
    assert!(rows > 0);
    assert_eq!(import(&file, &kind, &sim.join(format!("keys/{code}.key"))), [(0, rows, 0)]);

    // A fresh, smaller simulation with the same seed has the same department keys (already
    // registered) and new records: its CSV rows are appended.
    let fresh = dir.path().join("fresh");
    simulate(&fresh, 20, 120, 3);
    let (rows, file, code, kind) = largest(&fresh);
    assert!(rows > 0);
    let key = fresh.join(format!("keys/{code}.key"));
    assert_eq!(std::fs::read(&key).unwrap(), std::fs::read(sim.join(format!("keys/{code}.key"))).unwrap());
    assert_eq!(import(&file, &kind, &key), [(rows, 0, 0)]);

    // Appends are acknowledged before the next checkpoint covers them.
    server.wait_for_size(before + 8 + 400 + rows);
    let (cp, _) = check_log(&server);
    assert_eq!(cp.size, before + 8 + 400 + rows);
}
