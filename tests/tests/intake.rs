//! Departments submit signed records through the real server; enterprises read and verify their
//! own history; everything else is refused with a precise error and appends nothing.

use base64::prelude::*;
use e2e::{check_log, cli, hash, new_key, statement, Server, Signer};
use ed25519_dalek::SigningKey;
use registry::keyfile;
use serde_json::{json, Value};
use std::process::Command;
use verifier::entry::{EntryContent, EntryHeader};
use verifier::envelope::{key_id, Envelope, RECORD_TYPE};
use verifier::identity::{Statement, IDENTITY_STATEMENT};
use verifier::{leaf_hash, open_checkpoint, verify_inclusion, Hash};

const FIRM_A: &str = "91370303MA3C8DXA25";

fn firm(body: &str) -> String {
    verifier::uscc::Uscc::from_parts(body).unwrap().as_str().to_owned()
}

fn penalty(subject: &str, reference: &str, fine_fen: u64) -> Value {
    json!({"type": "creditlog.record/v1", "kind": "administrative_penalty", "subject": subject,
           "department": "zibo-amr", "date": "2026-11-20", "reference": reference,
           "fields": {"violation_type": "虚假广告", "violation": "发布虚假广告宣传", "penalties": ["warning", "fine"],
                      "fine_amount_fen": fine_fen, "severity": "ordinary", "publicity_months": 36}})
}

fn sign(record: &Value, key: &SigningKey) -> Envelope {
    Envelope::sign(RECORD_TYPE, &serde_json::to_vec(record).unwrap(), key)
}

fn submit(signer: &Signer, envelopes: &[Envelope]) -> Vec<Value> {
    let (status, v) = signer.post("/v1/records", &json!({ "records": envelopes }));
    assert_eq!(status, 200, "{v}");
    v["results"].as_array().unwrap().clone()
}

/// A running server with one department, `zibo-amr`, registered for penalties by the operator.
struct Jurisdiction {
    dir: tempfile::TempDir,
    data: std::path::PathBuf,
    server: Server,
    op: Signer,
    dept_key: SigningKey,
}

fn jurisdiction() -> Jurisdiction {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--checkpoint-interval-ms", "5"]);
    let op = Signer { url: server.url.clone(), key: keyfile::read(&data.join("operator.key")).unwrap() };
    let dept_key = new_key(dir.path(), "dept.key");
    let (s, v) = statement(
        &op,
        &Statement::RegisterDepartment {
            kind: IDENTITY_STATEMENT.to_owned(),
            code: "zibo-amr".into(),
            name: "市场监管局".into(),
            kinds: ["administrative_penalty".to_owned()].into(),
            domains: Default::default(),
            capabilities: Default::default(),
            key: keyfile::public_b64(&dept_key),
        },
    );
    assert_eq!(s, 200, "{v}");
    Jurisdiction { dir, data, server, op, dept_key }
}

#[test]
fn departments_submit_enterprises_verify_others_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--checkpoint-interval-ms", "5"]);
    let url = server.url.clone();
    let operator = keyfile::read(&data.join("operator.key")).unwrap();
    let dept_key = new_key(dir.path(), "dept.key");
    let (ok, out, err) = cli(&[
        "dept",
        "add",
        "--server",
        &url,
        "--key",
        data.join("operator.key").to_str().unwrap(),
        "--code",
        "zibo-amr",
        "--name",
        "淄博市张店区市场监督管理局",
        "--kinds",
        "administrative_penalty,commendation",
        "--domains",
        "market",
        "--capabilities",
        "register_enterprises",
        "--dept-key",
        dir.path().join("dept.key").to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    let dept = Signer { url: url.clone(), key: dept_key.clone() };
    let op = Signer { url: url.clone(), key: operator };

    // Enterprise keys are bound by the department, as at a service counter.
    let firm_b = firm("91370303MA3C8DXB2");
    let ent_a = new_key(dir.path(), "a.key");
    let ent_b = new_key(dir.path(), "b.key");
    for (uscc, key) in [(FIRM_A, "a.key"), (firm_b.as_str(), "b.key")] {
        let (ok, out, err) = cli(&[
            "identity",
            "bind-enterprise",
            "--server",
            &url,
            "--key",
            dir.path().join("dept.key").to_str().unwrap(),
            "--uscc",
            uscc,
            "--enterprise-key",
            dir.path().join(key).to_str().unwrap(),
        ]);
        assert!(ok, "{out}{err}");
    }
    let auditor_key = new_key(dir.path(), "auditor.key");
    let (s, v) = statement(
        &op,
        &Statement::RegisterKey {
            kind: IDENTITY_STATEMENT.into(),
            role: verifier::identity::Role::Auditor,
            name: "审计局".into(),
            key: keyfile::public_b64(&auditor_key),
        },
    );
    assert_eq!(s, 200, "{v}");

    // Three records about A, one about B, in one request; each gets its index.
    let records = [
        penalty(FIRM_A, "罚〔2026〕1号", 500_000),
        penalty(&firm_b, "罚〔2026〕2号", 100),
        penalty(FIRM_A, "罚〔2026〕3号", 300),
        penalty(FIRM_A, "罚〔2026〕4号", 7),
    ];
    let envelopes: Vec<Envelope> = records.iter().map(|r| sign(r, &dept_key)).collect();
    let results = submit(&dept, &envelopes);
    let indices: Vec<u64> = results
        .iter()
        .map(|r| {
            assert_eq!(r["outcome"], "appended", "{r}");
            r["index"].as_u64().unwrap()
        })
        .collect();
    assert!(indices.windows(2).all(|w| w[1] == w[0] + 1));

    // Idempotent: the same signed records again append nothing and return their indices.
    let size_before = server.wait_for_size(indices[3] + 1).size;
    let again = submit(&dept, &envelopes[..2]);
    assert_eq!(again[0], json!({"outcome": "duplicate", "index": indices[0]}));
    assert_eq!(again[1], json!({"outcome": "duplicate", "index": indices[1]}));
    std::thread::sleep(std::time::Duration::from_millis(30));
    assert_eq!(server.checkpoint().size, size_before);

    // Enterprise A reads its history and verifies every proof, commitment, signature and link.
    let a = Signer { url: url.clone(), key: ent_a };
    let (status, h) = a.get(&format!("/v1/enterprises/{FIRM_A}/history"));
    assert_eq!(status, 200, "{h}");
    let cp = open_checkpoint(h["checkpoint"].as_str().unwrap().as_bytes(), &server.verifier_key).unwrap();
    let entries = h["entries"].as_array().unwrap();
    // Its key binding plus three penalties, oldest first.
    assert_eq!(entries.len(), 4, "{h}");
    let mut previous: Option<String> = None;
    for e in entries {
        let header_bytes = BASE64_STANDARD.decode(e["header"].as_str().unwrap()).unwrap();
        let header = EntryHeader::parse(&header_bytes).unwrap();
        let content: EntryContent = serde_json::from_value(e["content"].clone()).unwrap();
        content.check(&header).unwrap();
        assert_eq!(content.subject.as_deref(), Some(FIRM_A));
        assert_eq!(content.previous_leaf, previous, "entry {} does not link to the one before it", e["index"]);
        previous = Some(BASE64_STANDARD.encode(leaf_hash(&header_bytes).0));
        let proof: Vec<Hash> = e["proof"].as_array().unwrap().iter().map(|p| hash(p.as_str().unwrap())).collect();
        verify_inclusion(leaf_hash(&header_bytes), e["index"].as_u64().unwrap(), cp.size, cp.root, &proof).unwrap();
        // The department's signature, with the department key registered on the log.
        let payload =
            content.envelope.open(content.envelope.payload_type.clone().leak(), &dept_key.verifying_key()).unwrap();
        assert!(!payload.is_empty());
    }
    // The department registration is public and names the department key.
    // Entries 0–2 are the operator, the grader and the jurisdiction's settings.
    let (status, body) = server.get("/v1/entries/3");
    assert_eq!(status, 200, "anyone may read a department registration");
    let reg: Value = serde_json::from_slice(&body).unwrap();
    let st: Value = serde_json::from_slice(
        &BASE64_STANDARD.decode(reg["content"]["envelope"]["payload"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(st["key"], keyfile::public_b64(&dept_key));

    // Enterprise B may not read A's history or A's entries; nor may an anonymous caller.
    let b = Signer { url: url.clone(), key: ent_b };
    let (status, v) = b.get(&format!("/v1/enterprises/{FIRM_A}/history"));
    assert_eq!(status, 403, "{v}");
    let (status, _) = b.get(&format!("/v1/entries/{}", indices[0]));
    assert_eq!(status, 403);
    let (status, _) = server.get(&format!("/v1/entries/{}", indices[0]));
    assert_eq!(status, 403);
    let (status, v) = a.get(&format!("/v1/entries/{}", indices[0]));
    assert_eq!(status, 200, "{v}");
    let auditor = Signer { url: url.clone(), key: auditor_key };
    let (status, v) = auditor.get(&format!("/v1/enterprises/{firm_b}/history"));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["entries"].as_array().unwrap().len(), 2);

    // The public entry bundles hold no USCC and no record field in clear.
    let (_, all) = check_log(&server);
    let public: Vec<u8> = all.concat();
    let text = String::from_utf8_lossy(&public);
    for secret in [FIRM_A, firm_b.as_str(), "虚假广告", "罚〔2026〕1号", "500000", "zibo-amr\""] {
        assert!(!text.contains(secret), "public bundles reveal {secret:?}");
    }

    // The same check from the command line, pinning the log key.
    let (ok, out, err) = cli(&[
        "history",
        "--uscc",
        FIRM_A,
        "--key",
        dir.path().join("a.key").to_str().unwrap(),
        "--server",
        &url,
        "--log-key",
        &server.verifier_key,
    ]);
    assert!(ok && out.contains("4 about the firm") && out.contains("ok: every check passed"), "{out}{err}");
    assert!(
        out.contains("record/administrative_penalty by zibo-amr (罚〔2026〕1号): in the log, content matches, signature and authority checked"),
        "{out}"
    );
    let (ok, _, err) = cli(&[
        "history",
        "--uscc",
        FIRM_A,
        "--key",
        dir.path().join("b.key").to_str().unwrap(),
        "--server",
        &url,
        "--log-key",
        &server.verifier_key,
    ]);
    assert!(!ok && err.contains("403"), "{err}");

    server.kill();
    // Rebuilding the views from the log gives the identical result.
    e2e::assert_rebuilds_identically(&data);
}

#[test]
fn bad_records_are_rejected_precisely_and_append_nothing() {
    let Jurisdiction { dir, data: _, server, op, dept_key } = jurisdiction();
    let url = server.url.clone();
    let other_key = new_key(dir.path(), "other.key");
    let t = || IDENTITY_STATEMENT.to_owned();
    let dept = Signer { url: url.clone(), key: dept_key.clone() };
    // The operator, the grader, the jurisdiction's settings and the department.
    let size = server.wait_for_size(4).size;

    let reject = |env: Envelope, field: &str, needle: &str| {
        let r = &submit(&dept, &[env])[0];
        assert_eq!(r["outcome"], "rejected", "{r}");
        assert_eq!(r["field"], field, "{r}");
        assert!(r["rule"].as_str().unwrap().contains(needle), "{r} should mention {needle:?}");
    };
    // Every USCC rule.
    for (uscc, needle) in [
        ("91370303MA3C8DXA2", "18 characters"),
        ("91370303MA3C8DXI25", "I"),
        ("91A70303MA3C8DXA25", "region"),
        ("91370303MA3C8DXA2X", "'5'"),
        ("91370303ma3c8dxa25", "lower"),
    ] {
        reject(sign(&penalty(uscc, "x", 1), &dept_key), "subject", needle);
    }
    let mut r = penalty(FIRM_A, "x", 1);
    r["kind"] = json!("penalty");
    reject(sign(&r, &dept_key), "kind", "unknown record kind");
    let mut r = penalty(FIRM_A, "x", 1);
    r["fields"].as_object_mut().unwrap().remove("severity");
    reject(sign(&r, &dept_key), "fields.severity", "");
    let mut r = penalty(FIRM_A, "x", 1);
    r["fields"]["fine_amount_fen"] = json!("lots");
    reject(sign(&r, &dept_key), "fields.fine_amount_fen", "");
    // Oversize: a record beyond the entry limit.
    let mut r = penalty(FIRM_A, "x", 1);
    r["pad"] = json!("z".repeat(70_000));
    reject(sign(&r, &dept_key), "payload", "65535");
    // Keys: unregistered; not authorised for the kind; rotated out; revoked.
    reject(sign(&penalty(FIRM_A, "x", 1), &other_key), "signatures[0].keyid", "not registered");
    let mut c = penalty(FIRM_A, "x", 1);
    c["kind"] = json!("commendation");
    c["fields"] = json!({"title": "守合同重信用企业", "level": "provincial"});
    reject(sign(&c, &dept_key), "kind", "not registered to submit");
    // A tampered payload fails the signature.
    let mut env = sign(&penalty(FIRM_A, "x", 1), &dept_key);
    env.payload = BASE64_STANDARD.encode(serde_json::to_vec(&penalty(FIRM_A, "x", 2)).unwrap());
    reject(env, "signatures[0].sig", "does not verify");
    assert_eq!(server.checkpoint().size, size, "rejections appended nothing");

    // A replayed request (same signature, same nonce) is refused.
    let body = serde_json::to_vec(&json!({"records": [sign(&penalty(FIRM_A, "ok", 1), &dept_key)]})).unwrap();
    let headers = dept.headers("POST", "/v1/records", "", Some(&body));
    let (s, v) = dept.send_post("/v1/records", &body, &headers);
    assert_eq!(s, 200, "{v}");
    let (s, v) = dept.send_post("/v1/records", &body, &headers);
    assert_eq!(s, 401, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("replayed"), "{v}");
    // An unsigned request, and one signed by a key not on the log.
    let r = ureq::post(&format!("{url}/v1/records")).send_bytes(&body);
    assert!(matches!(r, Err(ureq::Error::Status(401, _))));
    let (s, _) = Signer { url: url.clone(), key: other_key.clone() }.post("/v1/records", &json!({"records": []}));
    assert_eq!(s, 401);

    // Rotation: the old key stops counting, the new one counts.
    let new_dept = new_key(dir.path(), "dept2.key");
    let (s, v) = statement(
        &dept,
        &Statement::RotateKey {
            kind: t(),
            old: key_id(&dept_key.verifying_key()),
            key: keyfile::public_b64(&new_dept),
        },
    );
    assert_eq!(s, 200, "{v}");
    let dept2 = Signer { url: url.clone(), key: new_dept.clone() };
    let r = &submit(&dept2, &[sign(&penalty(FIRM_A, "old key", 1), &dept_key)])[0];
    assert_eq!(r["outcome"], "rejected");
    assert!(r["rule"].as_str().unwrap().contains("stopped counting"), "{r}");
    assert_eq!(submit(&dept2, &[sign(&penalty(FIRM_A, "new key", 1), &new_dept)])[0]["outcome"], "appended");
    // Revocation by the operator.
    let (s, v) = statement(
        &op,
        &Statement::RevokeKey { kind: t(), old: key_id(&new_dept.verifying_key()), reason: "lost".into() },
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = dept2.post("/v1/records", &json!({"records": [sign(&penalty(FIRM_A, "revoked", 1), &new_dept)]}));
    assert_eq!(s, 401, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("stopped counting"), "{v}");

    // CSV import: good rows go in, bad rows are reported with line and column.
    let third = new_key(dir.path(), "dept3.key");
    let (s, v) = statement(
        &op,
        &Statement::AddDepartmentKey { kind: t(), code: "zibo-amr".into(), key: keyfile::public_b64(&third) },
    );
    assert_eq!(s, 200, "{v}");
    let before = v["index"].as_u64().unwrap() + 1;
    server.wait_for_size(before);
    let csv = dir.path().join("penalties.csv");
    std::fs::write(
        &csv,
        format!(
            "subject,department,date,reference,violation_type,violation,penalties,fine_amount_fen,severity,publicity_months\n\
             {FIRM_A},zibo-amr,2026-10-01,罚1,无照经营,无照经营,warning,0,minor,3\n\
             {FIRM_A},zibo-amr,2026-13-01,罚2,无照经营,无照经营,warning,0,minor,3\n\
             {FIRM_A},zibo-amr,2026-10-02,罚3,无照经营\n\
             {FIRM_A},zibo-amr,2026-10-03,罚4,无照经营,无照经营,warning,-5,minor,3\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = cli(&[
        "import",
        csv.to_str().unwrap(),
        "--kind",
        "administrative_penalty",
        "--key",
        dir.path().join("dept3.key").to_str().unwrap(),
        "--server",
        &url,
    ]);
    assert!(!ok, "a partial import exits non-zero");
    assert!(
        out.contains("4 rows: 1 appended, 0 already on the log (or repeated in the file), 3 rejected"),
        "{out}{err}"
    );
    assert!(out.contains(":3: column date: ") && out.contains("(rule record-format)"), "line 3, column date: {out}");
    assert!(out.contains(":4: the row has 5 cells, the header 10"), "line 4 (short row): {out}");
    assert!(out.contains(":5: column fine_amount_fen: "), "line 5, column fine_amount_fen: {out}");
    std::thread::sleep(std::time::Duration::from_millis(30));
    assert_eq!(server.wait_for_size(before + 1).size, before + 1, "exactly the good row was appended");

    // `creditlog uscc check`.
    let (ok, out, _) = cli(&["uscc", "check", "11370306004220465W"]);
    assert!(ok && out.contains("valid"));
    let (ok, _, err) = cli(&["uscc", "check", "11370306004220465X"]);
    assert!(!ok && err.contains("'W'"), "{err}");
}

/// Invariant 2 for records: every acknowledged record survives SIGKILL with its content, and the
/// views rebuilt from the log are identical to the ones the restarted server keeps.
#[test]
fn invariant_2_acknowledged_records_and_contents_survive_sigkill() {
    let Jurisdiction { dir, data, server, op, dept_key } = jurisdiction();
    let auditor_key = new_key(dir.path(), "auditor.key");
    let (s, v) = statement(
        &op,
        &Statement::RegisterKey {
            kind: IDENTITY_STATEMENT.to_owned(),
            role: verifier::identity::Role::Auditor,
            name: "审计".into(),
            key: keyfile::public_b64(&auditor_key),
        },
    );
    assert_eq!(s, 200, "{v}");
    let mut acknowledged = Vec::new();
    let mut server = Some(server);
    for round in 0..3u64 {
        let s = server.take().unwrap_or_else(|| Server::start(&data, &["--checkpoint-interval-ms", "5"]));
        let dept = Signer { url: s.url.clone(), key: dept_key.clone() };
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let stop = stop.clone();
            let dept_key = dept_key.clone();
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let mut k = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let envs: Vec<Envelope> = (k..k + 25)
                        .map(|i| sign(&penalty(FIRM_A, &format!("r{round}-{i}"), 100 + i), &dept_key))
                        .collect();
                    k += 25;
                    let bytes = serde_json::to_vec(&json!({ "records": envs })).unwrap();
                    let headers = dept.headers("POST", "/v1/records", "", Some(&bytes));
                    let mut req = ureq::post(&format!("{}/v1/records", dept.url));
                    for (h, v) in &headers {
                        req = req.set(h, v);
                    }
                    match req.send_bytes(&bytes) {
                        Ok(r) => {
                            let v: Value = r.into_json().unwrap();
                            for (r, e) in v["results"].as_array().unwrap().iter().zip(envs) {
                                assert_eq!(r["outcome"], "appended", "{r}");
                                acked.push((r["index"].as_u64().unwrap(), e));
                            }
                        }
                        Err(_) => break,
                    }
                }
                acked
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(300 + 100 * round));
        let killed =
            Command::new("pkill").args(["-KILL", "-f", &format!("serve --data {}", data.display())]).status().unwrap();
        assert!(killed.success());
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        acknowledged.extend(writer.join().unwrap());
        drop(s);
    }
    assert!(!acknowledged.is_empty());
    let s = Server::start(&data, &[]);
    let auditor = Signer { url: s.url.clone(), key: auditor_key };
    // The history is paged (1,000 entries by default): follow `next` to the end.
    let mut by_index = std::collections::HashMap::<u64, Value>::new();
    let mut query = String::new();
    loop {
        let (status, h) = auditor.get(&format!("/v1/enterprises/{FIRM_A}/history{query}"));
        assert_eq!(status, 200, "{h}");
        by_index.extend(h["entries"].as_array().unwrap().iter().map(|e| (e["index"].as_u64().unwrap(), e.clone())));
        match h["next"].as_u64() {
            Some(next) => query = format!("?after={next}"),
            None => break,
        }
    }
    let mut previous: Option<String> = None;
    let mut indices: Vec<u64> = by_index.keys().copied().collect();
    indices.sort_unstable();
    for i in &indices {
        let e = &by_index[i];
        let header_bytes = BASE64_STANDARD.decode(e["header"].as_str().unwrap()).unwrap();
        let content: EntryContent = serde_json::from_value(e["content"].clone()).unwrap();
        content.check(&EntryHeader::parse(&header_bytes).unwrap()).unwrap();
        assert_eq!(content.previous_leaf, previous, "the chain survives the crashes");
        previous = Some(BASE64_STANDARD.encode(leaf_hash(&header_bytes).0));
    }
    for (index, env) in &acknowledged {
        let e = by_index.get(index).unwrap_or_else(|| panic!("acknowledged record {index} is missing"));
        let content: EntryContent = serde_json::from_value(e["content"].clone()).unwrap();
        assert_eq!(&content.envelope, env, "acknowledged record {index} changed");
    }
    s.kill();
    e2e::assert_rebuilds_identically(&data);
}

/// `creditlog submit` streams its file a batch at a time: a file of several batches, with a line
/// that is not JSON and a record that breaks a rule among them, puts every good line on the log
/// once, names each bad line by its number, and sent again finds every good line already there.
#[test]
fn submit_streams_a_file_in_batches_and_names_each_bad_line() {
    let j = jurisdiction();
    let key = j.dir.path().join("dept.key");
    let file = j.dir.path().join("records.jsonl");
    let mut lines = Vec::new();
    for i in 0..23 {
        match i {
            4 => lines.push("{not json".to_owned()),
            11 => lines.push(
                penalty(&firm("91370303MA3C8DXA2"), "罚〔2026〕坏号", 0)
                    .to_string()
                    .replace("2026-11-20", "2026-13-40"),
            ),
            // Every third line signed beforehand, the others signed by `submit` with --key.
            _ if i % 3 == 0 => lines.push(
                serde_json::to_string(&sign(
                    &penalty(&firm("91370303MA3C8DXA2"), &format!("罚〔2026〕{i}号"), 100),
                    &j.dept_key,
                ))
                .unwrap(),
            ),
            _ => lines.push(penalty(&firm("91370303MA3C8DXA2"), &format!("罚〔2026〕{i}号"), 100).to_string()),
        }
    }
    lines.insert(7, String::new());
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let args =
        ["submit", file.to_str().unwrap(), "--key", key.to_str().unwrap(), "--server", &j.server.url, "--batch", "4"];
    let size = j.server.settled_size();
    let (ok, out, err) = cli(&args);
    assert!(!ok, "bad lines make the command fail: {out}{err}");
    assert!(out.contains("21 appended, 0 already on the log, 2 rejected"), "{out}{err}");
    let place = |n: usize| format!("{}:{n}: ", file.display());
    assert!(err.contains(&(place(5) + "not JSON")), "{err}");
    assert!(err.contains(&place(13)) && err.contains("date"), "{err}");
    assert_eq!(j.server.wait_for_size(size + 21).size, size + 21);
    let (_, out, err) = cli(&args);
    assert!(out.contains("0 appended, 21 already on the log, 2 rejected"), "{out}{err}");
}
