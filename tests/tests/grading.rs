//! Grading through the real server: a published model, instant triggers, scheduled re-grades,
//! grade views, and a replay of every logged decision with the verifier crate alone.

use base64::prelude::*;
use e2e::{cli, Server, Signer};
use registry::keyfile;
use serde_json::{json, Value};
use verifier::envelope::{Envelope, DECISION_TYPE, IDENTITY_TYPE, RECORD_TYPE};
use verifier::identity::{Capability, Role, Statement, IDENTITY_STATEMENT};
use verifier::model::{Breakdown, Model, ScoredRecord};
use verifier::record::Record;

const FIRM: &str = "91370303MA3C8DXA25";

fn rec(kind: &str, date: &str, fields: Value) -> Value {
    json!({"type": "creditlog.record/v1", "kind": kind, "subject": FIRM, "department": "zibo-amr", "date": date,
           "reference": format!("{kind} {date}"), "fields": fields})
}

#[test]
fn instant_and_scheduled_grades_replay_with_the_verifier_alone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--checkpoint-interval-ms", "5"]);
    let url = server.url.clone();
    let op = Signer { url: url.clone(), key: keyfile::read(&data.join("operator.key")).unwrap() };
    let statement = |signer: &Signer, st: Statement| {
        let (s, v) = signer.post(
            "/v1/identities",
            &serde_json::to_value(Envelope::sign(IDENTITY_TYPE, &st.to_bytes(), &signer.key)).unwrap(),
        );
        assert_eq!(s, 200, "{v}");
    };
    let dept = Signer { url: url.clone(), key: keyfile::generate() };
    let kinds = ["inspection_result", "serious_dishonesty_listing", "serious_dishonesty_removal"];
    statement(
        &op,
        Statement::RegisterDepartment {
            kind: IDENTITY_STATEMENT.into(),
            code: "zibo-amr".into(),
            name: "市场监管局".into(),
            kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
            domains: Default::default(),
            capabilities: [Capability::RegisterEnterprises].into(),
            key: keyfile::public_b64(&dept.key),
        },
    );
    let ga_path = dir.path().join("ga.key");
    let ga_key = keyfile::generate();
    keyfile::write(&ga_path, &ga_key).unwrap();
    statement(
        &op,
        Statement::RegisterKey {
            kind: IDENTITY_STATEMENT.into(),
            role: Role::GradingAuthority,
            name: "信用办".into(),
            key: keyfile::public_b64(&ga_key),
        },
    );
    let auditor = Signer { url: url.clone(), key: keyfile::generate() };
    statement(
        &op,
        Statement::RegisterKey {
            kind: IDENTITY_STATEMENT.into(),
            role: Role::Auditor,
            name: "审计".into(),
            key: keyfile::public_b64(&auditor.key),
        },
    );
    let firm = Signer { url: url.clone(), key: keyfile::generate() };
    statement(
        &dept,
        Statement::BindEnterpriseKey {
            kind: IDENTITY_STATEMENT.into(),
            subject: FIRM.into(),
            key: keyfile::public_b64(&firm.key),
            proof: verifier::identity::sign_binding(FIRM, &firm.key),
        },
    );

    // Only the grading authority publishes models.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let model_path = root.join("testdata/scoring/kat-four.toml");
    let model_text = std::fs::read_to_string(&model_path).unwrap();
    let hash = Model::hash(model_text.as_bytes());
    let dept_key_path = dir.path().join("dept.key");
    keyfile::write(&dept_key_path, &dept.key).unwrap();
    let (ok, _, err) = cli(&[
        "model",
        "publish",
        model_path.to_str().unwrap(),
        "--key",
        dept_key_path.to_str().unwrap(),
        "--server",
        &url,
    ]);
    assert!(!ok && err.contains("grading authority"), "{err}");
    let (ok, out, err) =
        cli(&["model", "publish", model_path.to_str().unwrap(), "--key", ga_path.to_str().unwrap(), "--server", &url]);
    assert!(ok && out.contains(&hash), "{out}{err}");

    let submit = |records: &[Value]| -> Vec<u64> {
        let envs: Vec<Envelope> =
            records.iter().map(|r| Envelope::sign(RECORD_TYPE, &serde_json::to_vec(r).unwrap(), &dept.key)).collect();
        let (s, v) = dept.post("/v1/records", &json!({ "records": envs }));
        assert_eq!(s, 200, "{v}");
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                assert_eq!(r["outcome"], "appended", "{r}");
                r["index"].as_u64().unwrap()
            })
            .collect()
    };
    let grade = |who: &Signer| -> (u16, Value) { who.get(&format!("/v1/enterprises/{FIRM}")) };
    let inspection = |d: &str| {
        rec(
            "inspection_result",
            d,
            json!({"task": "双随机抽查", "items": ["营业执照"], "inspector_count": 2, "result": "no_issue"}),
        )
    };
    submit(&[inspection("2026-01-05"), inspection("2026-02-05"), inspection("2026-03-05")]);
    // Inspections are not triggers in this model: no grade yet.
    assert_eq!(grade(&firm).1["grades"].as_array().unwrap().len(), 0);

    let regrade_cli = || {
        cli(&[
            "regrade",
            "--model",
            &hash,
            "--as-of",
            "2026-06-01",
            "--key",
            ga_path.to_str().unwrap(),
            "--server",
            &url,
        ])
    };
    // A scheduled re-grade: 60 + 15 capped at +10 = 70, class B.
    let (ok, out, err) = regrade_cli();
    assert!(ok && out.contains("1 firms evaluated, 1 changed"), "{out}{err}");
    let (s, g) = grade(&firm);
    assert_eq!(s, 200, "{g}");
    assert_eq!(g["grades"][0]["class"], "B", "{g}");
    assert_eq!(g["grades"][0]["score"], 70);

    // A serious-dishonesty listing re-grades at once: D.
    let listing = submit(&[rec(
        "serious_dishonesty_listing",
        "2026-04-01",
        json!({"grounds": "拒不履行", "basis": "《严重违法失信名单管理办法》第八条", "publicity_months": 36}),
    )])[0];
    let (_, g) = grade(&firm);
    assert_eq!(g["grades"][0]["class"], "D", "{g}");
    assert_eq!(g["grades"][0]["decision"]["trigger"], "new_record");
    assert_eq!(g["grades"][0]["decision"]["trigger_index"], listing);
    assert_eq!(g["grades"][0]["decision"]["breakdown"]["overrides"], json!(["serious_listing"]));

    // Its removal (credit repair) counts from the next evaluation: back to B.
    submit(&[rec(
        "serious_dishonesty_removal",
        "2026-05-01",
        json!({"listing_date": "2026-04-01", "listing_index": listing, "ground": "credit_repaired"}),
    )]);
    assert_eq!(grade(&firm).1["grades"][0]["class"], "D", "removal is not a trigger in this model");
    let (ok, out, err) = regrade_cli();
    assert!(ok && out.contains("1 changed"), "{out}{err}");
    assert_eq!(grade(&firm).1["grades"][0]["class"], "B");
    // Nothing changed: the next run appends no decision, only its summary.
    let (ok, out, _) = regrade_cli();
    assert!(ok && out.contains("0 changed"), "{out}");

    // A re-grade under an unknown model is refused, naming the rule.
    let ga = Signer { url: url.clone(), key: ga_key.clone() };
    let order = registry::grading::sign_order(&"00".repeat(32), verifier::Date::parse("2026-06-01").unwrap(), &ga_key);
    let (s, v) = ga.post("/v1/regrade", &serde_json::to_value(&order).unwrap());
    assert_eq!((s, v["type"].as_str()), (422, Some("/problems/order-cites-model")), "{v}");
    // A re-grade as of a day after today would grade firms on records not yet known.
    let order = registry::grading::sign_order(&hash, verifier::Date::parse("9999-12-31").unwrap(), &ga_key);
    let (s, v) = ga.post("/v1/regrade", &serde_json::to_value(&order).unwrap());
    assert_eq!((s, v["type"].as_str()), (422, Some("/problems/as-of-not-future")), "{v}");
    // A department may not order one, even with a well-formed order.
    let order = registry::grading::sign_order(&hash, verifier::Date::parse("2026-06-01").unwrap(), &dept.key);
    assert_eq!(dept.post("/v1/regrade", &serde_json::to_value(&order).unwrap()).0, 403);

    // Who may see the class: the firm and supervisors, not another enterprise or the public.
    let other = Signer { url: url.clone(), key: keyfile::generate() };
    assert_eq!(grade(&other).0, 401, "an unregistered key");
    assert_eq!(server.get(&format!("/v1/enterprises/{FIRM}")).0, 401);
    let (s, stats) = dept.get("/v1/stats/grades");
    assert_eq!(s, 200, "{stats}");
    assert_eq!(stats["models"][0]["firms"], 1);
    assert_eq!(
        stats["models"][0]["classes"][1],
        json!({"class": "B", "name": "信用风险一般", "firms": 1, "per_mille": 1000})
    );
    let (ok, out, err) =
        cli(&["grades", "--uscc", FIRM, "--key", dir.path().join("ga.key").to_str().unwrap(), "--server", &url]);
    assert!(ok && out.contains("class B (score 70)") && out.contains("inspection_clean: 15"), "{out}{err}");

    // Replay every decision from the logged inputs with the verifier crate alone.
    let model = Model::parse(&model_text).unwrap();
    let (s, h) = auditor.get(&format!("/v1/enterprises/{FIRM}/history"));
    assert_eq!(s, 200, "{h}");
    let mut records = Vec::new();
    let mut decisions = 0;
    for e in h["entries"].as_array().unwrap() {
        let env: Envelope = serde_json::from_value(e["content"]["envelope"].clone()).unwrap();
        let index = e["index"].as_u64().unwrap();
        if env.payload_type == RECORD_TYPE {
            records.push((index, Record::parse(&BASE64_STANDARD.decode(&env.payload).unwrap()).unwrap()));
        } else if env.payload_type == DECISION_TYPE {
            let d: Value = serde_json::from_slice(&BASE64_STANDARD.decode(&env.payload).unwrap()).unwrap();
            assert_eq!(d["model"], hash.as_str());
            let cited: Vec<u64> = serde_json::from_value(d["records"].clone()).unwrap();
            let stopped: std::collections::BTreeMap<u64, verifier::date::Date> =
                serde_json::from_value(d["stopped"].clone()).unwrap();
            let scored: Vec<ScoredRecord> = records
                .iter()
                .filter(|(i, _)| cited.contains(i))
                .map(|(i, r)| ScoredRecord::new(*i, r.clone(), stopped.get(i).copied()))
                .collect();
            assert_eq!(scored.len(), cited.len(), "decision {index} cites records the history does not show");
            let as_of = verifier::date::Date::parse(d["as_of"].as_str().unwrap()).unwrap();
            let replayed = model.score(&scored, as_of, d["previous"].as_str());
            let logged: Breakdown = serde_json::from_value(d["breakdown"].clone()).unwrap();
            assert_eq!(replayed, logged, "decision {index} does not replay");
            decisions += 1;
        }
    }
    assert_eq!(decisions, 3, "scheduled B, instant D, scheduled B");

    // The same, as a court would: export the firm's evidence bundle and verify it offline.
    let auditor_path = dir.path().join("auditor.key");
    keyfile::write(&auditor_path, &auditor.key).unwrap();
    let bundle_path = dir.path().join("firm.bundle.json");
    let (ok, out, err) = cli(&[
        "export",
        "--uscc",
        FIRM,
        "--key",
        auditor_path.to_str().unwrap(),
        "--server",
        &url,
        "--out",
        bundle_path.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = cli(&["verify", bundle_path.to_str().unwrap(), "--log-key", &server.verifier_key]);
    assert!(ok && out.contains("3 grade decisions") && out.contains("ok: every check passed"), "{out}{err}");
    // Departments see the class and score, not the decision's list of entries; the read is journalled.
    let (s, g) = grade(&dept);
    assert_eq!(s, 200, "{g}");
    assert_eq!(g["grades"][0]["class"], "B");
    assert!(g["grades"][0].get("decision").is_none(), "{g}");
    let (s, reads) = firm.get(&format!("/v1/enterprises/{FIRM}/reads"));
    assert_eq!(s, 200, "{reads}");
    let readers: Vec<&str> = reads["reads"].as_array().unwrap().iter().map(|r| r["who"].as_str().unwrap()).collect();
    assert!(readers.contains(&"department zibo-amr") && readers.iter().any(|w| w.starts_with("auditor")), "{reads}");
    assert_eq!(dept.get(&format!("/v1/enterprises/{FIRM}/reads")).0, 403, "a department may not read the journal");

    server.kill();
    let (ok, out, err) = cli(&["rebuild", "--data", data.to_str().unwrap()]);
    assert!(ok && out.contains("identical"), "{out}{err}");
}
