//! One test per DESIGN.md invariant that no other test is named after (invariant 2 is
//! `intake.rs::invariant_2_...`, 4 is `verifier/tests/scoring.rs::invariant_4_...`, 6 is
//! `go_reference.rs::invariant_6_...`; invariant 9 is `accountability.rs` and
//! `verifier/tests/malicious_server.rs`). Each runs against the real server and fails if its
//! invariant breaks.

use base64::prelude::*;
use e2e::{binary, check_consistency, check_log, Server, Signer};
use registry::keyfile;
use serde_json::{json, Value};
use std::process::Command;
use verifier::envelope::{key_id, Envelope, RECORD_TYPE};
use verifier::identity::{sign_binding, Capability, Statement, IDENTITY_STATEMENT};

const FIRM: &str = "91370303MA3C8DXA25";

fn statement(signer: &Signer, st: &Statement) -> Value {
    let (s, v) = e2e::statement(signer, st);
    assert_eq!(s, 200, "{v}");
    v
}

fn penalty(reference: &str) -> Value {
    json!({"type": "creditlog.record/v1", "kind": "administrative_penalty", "subject": FIRM, "department": "zibo-amr",
           "date": "2026-10-01", "reference": reference,
           "fields": {"violation_type": "虚假广告", "violation": "发布虚假广告", "penalties": ["fine"], "fine_amount_fen": 100,
                      "severity": "ordinary", "publicity_months": 36}})
}

struct Setup {
    dir: tempfile::TempDir,
    server: Server,
    dept: Signer,
    firm: Signer,
    auditor: Signer,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--checkpoint-interval-ms", "5"]);
    let url = server.url.clone();
    let op = Signer { url: url.clone(), key: keyfile::read(&data.join("operator.key")).unwrap() };
    let dept = Signer { url: url.clone(), key: keyfile::generate() };
    statement(
        &op,
        &Statement::RegisterDepartment {
            kind: IDENTITY_STATEMENT.into(),
            code: "zibo-amr".into(),
            name: "市场监管局".into(),
            kinds: ["administrative_penalty".to_owned(), "retraction".to_owned()].into(),
            domains: Default::default(),
            capabilities: [Capability::RegisterEnterprises].into(),
            key: keyfile::public_b64(&dept.key),
        },
    );
    let firm = Signer { url: url.clone(), key: keyfile::generate() };
    statement(
        &dept,
        &Statement::BindEnterpriseKey {
            kind: IDENTITY_STATEMENT.into(),
            subject: FIRM.into(),
            key: keyfile::public_b64(&firm.key),
            proof: sign_binding(FIRM, &firm.key),
        },
    );
    let auditor = Signer { url, key: keyfile::generate() };
    statement(
        &op,
        &Statement::RegisterKey {
            kind: IDENTITY_STATEMENT.into(),
            role: verifier::identity::Role::Auditor,
            name: "审计".into(),
            key: keyfile::public_b64(&auditor.key),
        },
    );
    Setup { dir, server, dept, firm, auditor }
}

fn submit_bytes(dept: &Signer, payloads: &[Vec<u8>]) -> Vec<Value> {
    let envs: Vec<Envelope> = payloads.iter().map(|p| Envelope::sign(RECORD_TYPE, p, &dept.key)).collect();
    let (s, v) = dept.post("/v1/records", &json!({ "records": envs }));
    assert_eq!(s, 200, "{v}");
    v["results"].as_array().unwrap().clone()
}

/// Invariant 1: every view is derived from the log and rebuilt from it identically.
#[test]
fn invariant_1_views_rebuild_identically_from_the_log() {
    let s = setup();
    let results = submit_bytes(
        &s.dept,
        &[serde_json::to_vec(&penalty("罚1")).unwrap(), serde_json::to_vec(&penalty("罚2")).unwrap()],
    );
    let target = results[0]["index"].as_u64().unwrap();
    let retraction = json!({"type": "creditlog.record/v1", "kind": "retraction", "subject": FIRM, "department": "zibo-amr",
        "date": "2026-11-01", "reference": "撤1", "fields": {"target_index": target, "ground": "error", "reason": "录入错误"}});
    submit_bytes(&s.dept, &[serde_json::to_vec(&retraction).unwrap()]);
    // The retracted reference is free again for the correction.
    let mut corrected = penalty("罚1");
    corrected["fields"]["fine_amount_fen"] = json!(200);
    assert_eq!(submit_bytes(&s.dept, &[serde_json::to_vec(&corrected).unwrap()])[0]["outcome"], "appended");
    let before = s.auditor.get(&format!("/v1/enterprises/{FIRM}/history")).1["entries"].clone();
    let data = s.dir.path().join("data");
    s.server.kill();
    e2e::assert_rebuilds_identically(&data);
    // The rebuilt views answer as before, and still know the references: the same number again is refused.
    let server = Server::start(&data, &[]);
    let auditor = Signer { url: server.url.clone(), key: s.auditor.key.clone() };
    assert_eq!(auditor.get(&format!("/v1/enterprises/{FIRM}/history")).1["entries"], before);
    let dept = Signer { url: server.url.clone(), key: s.dept.key.clone() };
    let mut changed = penalty("罚1");
    changed["fields"]["fine_amount_fen"] = json!(300);
    assert_eq!(submit_bytes(&dept, &[serde_json::to_vec(&changed).unwrap()])[0]["rule_name"], "one-record-one-entry");
}

/// Invariant 1, across versions: views written in an older layout (here: no layout mark, and a
/// references key of the old plaintext form) are dropped and rebuilt from the log on start, and
/// come out identical to a rebuild.
#[test]
fn invariant_1_views_of_an_older_layout_are_rebuilt_on_start() {
    let s = setup();
    submit_bytes(&s.dept, &[serde_json::to_vec(&penalty("罚1")).unwrap()]);
    let data = s.dir.path().join("data");
    s.server.kill();
    {
        let db = sled::open(data.join("registry")).unwrap();
        let meta = db.open_tree("meta").unwrap();
        assert!(meta.remove(b"format").unwrap().is_some(), "the views carry their layout");
        let old_key = format!("{FIRM}\0zibo-amr\0administrative_penalty\0罚1");
        db.open_tree("references").unwrap().insert(old_key.as_bytes(), &7u64.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let server = Server::start(&data, &[]);
    let dept = Signer { url: server.url.clone(), key: s.dept.key.clone() };
    // The rebuilt references still know the document number.
    let mut changed = penalty("罚1");
    changed["fields"]["fine_amount_fen"] = json!(300);
    assert_eq!(submit_bytes(&dept, &[serde_json::to_vec(&changed).unwrap()])[0]["rule_name"], "one-record-one-entry");
    server.kill();
    e2e::assert_rebuilds_identically(&data);
}

/// Invariant 3: what an author signed is stored byte for byte and served back exactly.
#[test]
fn invariant_3_signed_bytes_are_kept_exactly() {
    let s = setup();
    // Unusual but valid JSON: indentation, a key order of our own, escaped characters.
    let odd = "{\n  \"kind\" : \"administrative_penalty\", \"type\":\"creditlog.record/v1\",\t\"subject\":\"91370303MA3C8DXA25\",\n\"department\":\"zibo-amr\",\"date\":\"2026-10-01\",\"reference\":\"\\u7f5a3\",\"fields\":{\"violation_type\":\"\\u865a\\u5047\\u5e7f\\u544a\",\"violation\":\"x\",\"penalties\":[\"fine\"],\"fine_amount_fen\":100,\"severity\":\"ordinary\",\"publicity_months\":36}}\n";
    let r = submit_bytes(&s.dept, &[odd.as_bytes().to_vec()]);
    let index = r[0]["index"].as_u64().unwrap();
    let (status, v) = s.firm.get(&format!("/v1/entries/{index}"));
    assert_eq!(status, 200, "{v}");
    let stored = BASE64_STANDARD.decode(v["content"]["envelope"]["payload"].as_str().unwrap()).unwrap();
    assert_eq!(stored, odd.as_bytes(), "the payload is served exactly as signed");
    let env: Envelope = serde_json::from_value(v["content"]["envelope"].clone()).unwrap();
    assert_eq!(env.open(RECORD_TYPE, &s.dept.key.verifying_key()).unwrap(), odd.as_bytes());
}

/// Invariant 5: a mistake is corrected by a new entry; the original stays on the log, readable
/// and proven, and every checkpoint extends the one before.
#[test]
fn invariant_5_corrections_append_and_nothing_is_rewritten() {
    let s = setup();
    let first = check_log(&s.server).0;
    let original = submit_bytes(&s.dept, &[serde_json::to_vec(&penalty("罚9")).unwrap()])[0]["index"].as_u64().unwrap();
    let (_, before) = s.firm.get(&format!("/v1/entries/{original}"));
    let retraction = json!({"type": "creditlog.record/v1", "kind": "retraction", "subject": FIRM, "department": "zibo-amr",
        "date": "2026-11-01", "reference": "撤9", "fields": {"target_index": original, "ground": "error", "reason": "录入错误"}});
    submit_bytes(&s.dept, &[serde_json::to_vec(&retraction).unwrap()]);
    let (cp, entries) = check_log(&s.server);
    check_consistency(&s.server, &first, &cp);
    let (status, after) = s.firm.get(&format!("/v1/entries/{original}"));
    assert_eq!(status, 200);
    assert_eq!(after, before, "the retracted entry is unchanged");
    assert_eq!(entries.len() as u64, cp.size);
}

/// Invariant 7: the public side (checkpoints, tiles, entry bundles) reveals no USCC and no record
/// field, and private contents go only to those entitled.
#[test]
fn invariant_7_public_data_reveals_no_firm_and_no_record() {
    let s = setup();
    let index = submit_bytes(&s.dept, &[serde_json::to_vec(&penalty("淄张市监罚〔2026〕77号")).unwrap()])[0]["index"]
        .as_u64()
        .unwrap();
    let (_, all) = check_log(&s.server);
    let text = String::from_utf8_lossy(&all.concat()).into_owned();
    for secret in [FIRM, "虚假广告", "淄张市监罚〔2026〕77号"] {
        assert!(!text.contains(secret), "the public log reveals {secret:?}");
    }
    assert_eq!(s.server.get(&format!("/v1/entries/{index}")).0, 403, "anonymous");
    let stranger = Signer { url: s.server.url.clone(), key: keyfile::generate() };
    assert_eq!(stranger.get(&format!("/v1/entries/{index}")).0, 401, "a key not on the log");
}

/// Invariant 8: every key that signed an entry is itself on the log, registered before it.
#[test]
fn invariant_8_every_signing_key_is_registered_before_it_signs() {
    let s = setup();
    let last = submit_bytes(&s.dept, &[serde_json::to_vec(&penalty("罚8")).unwrap()])[0]["index"].as_u64().unwrap();
    s.server.wait_for_size(last + 1);
    let (cp, entries) = check_log(&s.server);
    assert_eq!(cp.size, 7, "operator, grader, jurisdiction, department, binding, auditor, penalty");
    for (i, bytes) in entries.iter().enumerate() {
        let header = verifier::entry::EntryHeader::parse(bytes).unwrap();
        let (status, v) = s.auditor.get(&format!("/v1/entries/{i}"));
        assert_eq!(status, 200, "{v}");
        let env: Envelope = serde_json::from_value(v["content"]["envelope"].clone()).unwrap();
        assert_eq!(env.keyid().unwrap(), header.author);
        if header.kind == "identity/register_operator" {
            assert_eq!(i, 0, "the operator registers itself, first");
            continue;
        }
        // The key's registration is an earlier entry (enterprise keys are not listed publicly,
        // and none signs an entry here).
        let (status, k) = s.server.get(&format!("/v1/keys/{}", header.author));
        assert_eq!(status, 200, "entry {i}: key {} is not on the log", header.author);
        let k: Value = serde_json::from_slice(&k).unwrap();
        assert!(
            k["registered_at_entry"].as_u64().unwrap() < i as u64,
            "entry {i} signed before its key was registered"
        );
    }
    // The grader key that signs decisions is a role key on the log too.
    let grader = keyfile::read(&s.dir.path().join("data/grader.key")).unwrap();
    let (status, k) = s.server.get(&format!("/v1/keys/{}", key_id(&grader.verifying_key())));
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&k).contains("grader"));
}

/// The operator key registers departments and role keys and is kept offline: the running server
/// never needs it.
#[test]
fn the_server_runs_without_the_operator_key() {
    let s = setup();
    let data = s.dir.path().join("data");
    s.server.kill();
    let offline = s.dir.path().join("operator.key.offline");
    std::fs::rename(data.join("operator.key"), &offline).unwrap();
    let server = Server::start(&data, &[]);
    let dept = Signer { url: server.url.clone(), key: s.dept.key.clone() };
    assert_eq!(submit_bytes(&dept, &[serde_json::to_vec(&penalty("罚7")).unwrap()])[0]["outcome"], "appended");
    assert!(!data.join("operator.key").exists(), "the server did not recreate an operator key");
    // Registrations are signed by the CLI with the offline key.
    let out = Command::new(binary())
        .args(["identity", "register-key", "--server", &server.url, "--key"])
        .arg(&offline)
        .args(["--role", "court", "--name", "法院", "--holder-key"])
        .arg(&offline)
        .output()
        .unwrap();
    // The operator's own key cannot be registered twice: the statement is refused with its rule,
    // which shows the offline key still signs for the operator.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("already registered"), "{err}");
}
