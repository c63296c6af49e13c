//! Grading through the real server: a published model, instant triggers, scheduled re-grades,
//! grade views, and a replay of every logged decision with the verifier crate alone.

use base64::prelude::*;
use e2e::{cli, Server, Signer};
use registry::keyfile;
use serde_json::{json, Value};
use std::collections::BTreeMap;
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
        e2e::appended_indices(&v)
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
    let (s, v) = ga.post("/v1/regrade?wait=true", &serde_json::to_value(&order).unwrap());
    assert_eq!((s, v["type"].as_str()), (422, Some("/problems/order-cites-model")), "{v}");
    // A re-grade as of a day after today would grade firms on records not yet known.
    let order = registry::grading::sign_order(&hash, verifier::Date::parse("9999-12-31").unwrap(), &ga_key);
    let (s, v) = ga.post("/v1/regrade?wait=true", &serde_json::to_value(&order).unwrap());
    assert_eq!((s, v["type"].as_str()), (422, Some("/problems/as-of-not-future")), "{v}");
    // A department may not order one, even with a well-formed order.
    let order = registry::grading::sign_order(&hash, verifier::Date::parse("2026-06-01").unwrap(), &dept.key);
    assert_eq!(dept.post("/v1/regrade?wait=true", &serde_json::to_value(&order).unwrap()).0, 403);

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
    // Over time, worked by hand: B as of 2026-06-01; D today (the listing's instant decision);
    // back to B by a re-grade as of 2026-06-01, which counts in today's month, not June's (a
    // firm's months never go back, so June stays as it was published).
    let jur = server.get_json("/v1/jurisdiction");
    let this_month = &jur["today"].as_str().unwrap()[..7];
    assert_eq!(
        stats["models"][0]["history"],
        json!([
            {"month": "2026-06", "classes": {"B": 1}},
            {"month": this_month, "classes": {"B": 1, "D": 0}},
        ]),
        "{stats}"
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
    e2e::assert_rebuilds_identically(&data);
}

/// A city loaded by `creditlog demo` (small), stopped: (data folder, model hash).
fn demo_city(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    use std::io::BufRead;
    let data = dir.join("city");
    let mut child = std::process::Command::new(e2e::binary())
        .args([
            "demo",
            "--data",
            data.to_str().unwrap(),
            "--firms",
            "800",
            "--records",
            "8000",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut model = String::new();
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("creditlog regrade --model ") {
            model = rest.split(' ').next().unwrap().to_owned();
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(model.len(), 64, "the demo printed no model");
    (data, model)
}

/// The USCCs of the simulated firms of a demo city, in the simulator's order.
fn city_firms(city: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(city.join("sim/firms.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_owned())
        .collect()
}

/// [`demo_city`] and a byte-for-byte copy of its data folder: two servers on the same log.
fn demo_city_and_copy(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let (city, model) = demo_city(dir);
    let copy = dir.join("copy");
    assert!(std::process::Command::new("cp")
        .args(["-a", city.to_str().unwrap(), copy.to_str().unwrap()])
        .status()
        .unwrap()
        .success());
    (city, copy, model)
}

/// The decisions a re-grade logged (those citing its order), by firm, with the order's index
/// left out (it depends on what else was appended before it): (order index, decisions).
fn run_decisions(auditor: &Signer, summary_index: u64) -> (u64, BTreeMap<String, Value>) {
    let entry = |i: u64| -> Value {
        let (s, v) = auditor.get(&format!("/v1/entries/{i}"));
        assert_eq!(s, 200, "{v}");
        v
    };
    let payload = |v: &Value| -> Value {
        serde_json::from_slice(&BASE64_STANDARD.decode(v["content"]["envelope"]["payload"].as_str().unwrap()).unwrap())
            .unwrap()
    };
    let summary = payload(&entry(summary_index));
    let order = summary["order"].as_u64().unwrap();
    let mut out = BTreeMap::new();
    for i in order + 1..summary_index {
        let v = entry(i);
        let header: Value =
            serde_json::from_slice(&BASE64_STANDARD.decode(v["header"].as_str().unwrap()).unwrap()).unwrap();
        if header["kind"] == "decision/grade" {
            let mut d = payload(&v);
            if d["trigger_index"] == order {
                d.as_object_mut().unwrap().remove("trigger_index");
                let firm = d["subject"].as_str().unwrap().to_owned();
                assert!(
                    out.insert(firm.clone(), d).is_none(),
                    "firm {firm} was decided twice by the run of order {order}"
                );
            }
        }
    }
    (order, out)
}

/// A full re-grade no longer holds intake: run beside a stream of new records, it gives the same
/// decisions as the same re-grade run alone on a copy of the same log, for every firm the
/// stream did not touch; a touched firm's decision cites every record before it.
#[test]
fn a_full_regrade_beside_intake_gives_the_decisions_of_one_run_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (city, copy, model) = demo_city_and_copy(dir.path());
    let firms = city_firms(&city);
    // An as-of date before today changes many grades (records dated after it stop counting).
    let regrade = |server: &Server, data: &std::path::Path| -> u64 {
        let key = data.join("keys/grading-authority.key");
        let (ok, out, err) = cli(&[
            "regrade",
            "--model",
            &model,
            "--as-of",
            "2025-06-30",
            "--key",
            key.to_str().unwrap(),
            "--server",
            &server.url,
        ]);
        assert!(ok, "{out}{err}");
        out.rsplit("run summary at entry ").next().unwrap().split(' ').next().unwrap().trim().parse().unwrap()
    };

    // Alone, on the copy.
    let alone = Server::start(&copy, &["--checkpoint-interval-ms", "5"]);
    let auditor_alone = Signer { url: alone.url.clone(), key: keyfile::read(&copy.join("keys/auditor.key")).unwrap() };
    let (_, want) = run_decisions(&auditor_alone, regrade(&alone, &copy));
    assert!(want.len() > 50, "the run changed only {} grades", want.len());

    // Beside intake, on the original: a department submits licences for every fifth firm,
    // one request after another, for as long as the re-grade runs.
    let server = Server::start(&city, &["--checkpoint-interval-ms", "5"]);
    let amr = Signer { url: server.url.clone(), key: keyfile::read(&city.join("sim/keys/zibo-amr.key")).unwrap() };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let touched: std::sync::Arc<std::sync::Mutex<Vec<(String, u64)>>> = Default::default();
    let writer = {
        let (stop, touched, firms) = (stop.clone(), touched.clone(), firms.clone());
        std::thread::spawn(move || {
            let mut n = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let uscc = firms[(n * 5) % firms.len()].clone();
                let r = json!({"type": "creditlog.record/v1", "kind": "administrative_licence", "subject": uscc,
                    "department": "zibo-amr", "date": "2025-01-02", "reference": format!("并发许〔2025〕{n}号"),
                    "fields": {"licence_name": "食品经营许可证", "licence_number": format!("JY-C{n}"), "valid_from": "2025-01-02", "scope": "预包装食品销售"}});
                let env = Envelope::sign(RECORD_TYPE, &serde_json::to_vec(&r).unwrap(), &amr.key);
                let (s, v) = amr.post("/v1/records", &json!({ "records": [env] }));
                assert_eq!((s, v["results"][0]["outcome"].as_str()), (200, Some("appended")), "{v}");
                touched.lock().unwrap().push((uscc, v["results"][0]["index"].as_u64().unwrap()));
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    let summary = regrade(&server, &city);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let submitted = writer.join().unwrap();
    assert!(submitted > 20, "only {submitted} records went in beside the re-grade");
    let auditor = Signer { url: server.url.clone(), key: keyfile::read(&city.join("keys/auditor.key")).unwrap() };
    let (order, got) = run_decisions(&auditor, summary);
    let appended: Vec<(String, u64)> = touched.lock().unwrap().clone();
    // Intake answered while the run was going: records were appended between its order and its
    // summary (under the old lock-holding re-grade, none could be).
    let during = appended.iter().filter(|(_, i)| *i > order && *i < summary).count();
    assert!(during >= 5, "only {during} records were appended while the re-grade ran");
    let touched: std::collections::BTreeSet<String> = appended.into_iter().map(|(u, _)| u).collect();

    let mut compared = 0;
    for (uscc, d) in &want {
        if touched.contains(uscc) {
            continue;
        }
        assert_eq!(got.get(uscc), Some(d), "firm {uscc}: the decision beside intake differs from the one alone");
        compared += 1;
    }
    assert!(compared > 40, "{compared}");
    for uscc in got.keys() {
        assert!(touched.contains(uscc) || want.contains_key(uscc), "firm {uscc} got a decision only beside intake");
    }
    // A firm touched during the run: its decision of the run cites every record it had before
    // the decision (the rule of complete decisions), read from its history.
    for (uscc, d) in got.iter().filter(|(u, _)| touched.contains(*u)) {
        let (s, h) = auditor.get(&format!("/v1/enterprises/{uscc}/history"));
        assert_eq!(s, 200, "{h}");
        let cited: Vec<u64> = d["records"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
        let decision_at = h["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["index"].as_u64().unwrap())
            .filter(|i| *i > order)
            .find(|i| {
                let (_, v) = auditor.get(&format!("/v1/entries/{i}"));
                let p: Value = serde_json::from_slice(
                    &BASE64_STANDARD
                        .decode(v["content"]["envelope"]["payload"].as_str().unwrap_or(""))
                        .unwrap_or_default(),
                )
                .unwrap_or(Value::Null);
                p["trigger_index"] == order
            })
            .unwrap();
        let records_before: Vec<u64> = h["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                let hd: Value =
                    serde_json::from_slice(&BASE64_STANDARD.decode(e["header"].as_str().unwrap()).unwrap()).unwrap();
                // A redacted record (content deleted) is not scored, and not cited.
                hd["kind"].as_str().unwrap().starts_with("record/")
                    && e["content"].is_object()
                    && e["index"].as_u64().unwrap() < decision_at
            })
            .map(|e| e["index"].as_u64().unwrap())
            .collect();
        assert_eq!(cited, records_before, "firm {uscc}: the run's decision does not cite every record before it");
    }
}

/// `kill -9` in the middle of a full re-grade (between two batches of decisions): on restart the
/// server resumes the run from its order, no firm gets two decisions citing it, and the decisions
/// are those of the same re-grade run without a crash on a copy of the same log.
#[test]
fn a_regrade_killed_mid_run_resumes_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let (city, copy, model) = demo_city_and_copy(dir.path());
    let order_for = |data: &std::path::Path| {
        registry::grading::sign_order(
            &model,
            verifier::Date::parse("2025-06-30").unwrap(),
            &keyfile::read(&data.join("keys/grading-authority.key")).unwrap(),
        )
    };

    // Without a crash, on the copy.
    let alone = Server::start(&copy, &["--checkpoint-interval-ms", "5"]);
    let ga = Signer { url: alone.url.clone(), key: keyfile::read(&copy.join("keys/grading-authority.key")).unwrap() };
    let (s, v) = ga.post("/v1/regrade?wait=true", &serde_json::to_value(order_for(&copy)).unwrap());
    assert_eq!(s, 200, "{v}");
    let auditor = Signer { url: alone.url.clone(), key: keyfile::read(&copy.join("keys/auditor.key")).unwrap() };
    let (_, want) = run_decisions(&auditor, v["index"].as_u64().unwrap());
    assert!(want.len() > 50, "{}", want.len());

    // On the original, 20 decisions per batch, killed once some are appended.
    std::env::set_var("CREDITLOG_REGRADE_BATCH", "20");
    let server = Server::start(&city, &["--checkpoint-interval-ms", "5"]);
    let ga = Signer { url: server.url.clone(), key: keyfile::read(&city.join("keys/grading-authority.key")).unwrap() };
    let (s, v) = ga.post("/v1/regrade", &serde_json::to_value(order_for(&city)).unwrap());
    assert_eq!(s, 202, "{v}");
    let job = v["order"].as_u64().unwrap();
    // Only the grading authority, auditors and courts follow a run; an unknown one is a 404.
    let amr = Signer { url: server.url.clone(), key: keyfile::read(&city.join("sim/keys/zibo-amr.key")).unwrap() };
    assert_eq!(amr.get(&format!("/v1/regrade/jobs/{job}")).0, 403);
    assert_eq!(ga.get(&format!("/v1/regrade/jobs/{}", job + 1_000_000)).0, 404);
    let mut appended_before_kill = 0;
    for _ in 0..20_000 {
        let (s, st) = ga.get(&format!("/v1/regrade/jobs/{job}"));
        assert_eq!(s, 200, "{st}");
        assert_eq!(st["state"], "running", "the run ended before it could be killed: {st}");
        appended_before_kill = st["changed"].as_u64().unwrap();
        if appended_before_kill >= 40 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(appended_before_kill >= 40, "{appended_before_kill}");
    server.kill();
    std::env::remove_var("CREDITLOG_REGRADE_BATCH");

    let server = Server::start(&city, &["--checkpoint-interval-ms", "5"]);
    assert!(
        server
            .banner
            .iter()
            .any(|l| l == &format!("resuming the re-grade of order {job} (its run summary is not on the log)")),
        "{:?}",
        server.banner
    );
    let ga = Signer { url: server.url.clone(), key: keyfile::read(&city.join("keys/grading-authority.key")).unwrap() };
    let done = loop {
        let (s, st) = ga.get(&format!("/v1/regrade/jobs/{job}"));
        assert_eq!(s, 200, "{st}");
        if st["state"] != "running" {
            break st;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(done["state"], "done", "{done}");
    let auditor = Signer { url: server.url.clone(), key: keyfile::read(&city.join("keys/auditor.key")).unwrap() };
    // Every decision citing the order, before and after the crash: one per firm (run_decisions
    // refuses a firm decided twice).
    let (_, got) = run_decisions(&auditor, done["summary_index"].as_u64().unwrap());
    assert_eq!(got, want, "the resumed run's decisions differ from an uninterrupted run's");
    assert_eq!(done["summary"]["changed"].as_u64().unwrap() + appended_before_kill, want.len() as u64, "{done}");
    // The views after the crash and the resumed run are those a rebuild from the log gives.
    server.kill();
    e2e::assert_rebuilds_identically(&city);
}

/// `kill -9` during a bulk import: after the restart every acknowledged record is on the log as
/// sent, sending them again appends nothing (the dedup and references views came back), and the
/// views are those a rebuild from the log gives.
#[test]
fn a_bulk_import_killed_mid_way_keeps_every_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let (city, _) = demo_city(dir.path());
    let firms = city_firms(&city);
    let key = keyfile::read(&city.join("sim/keys/zibo-amr.key")).unwrap();
    let batch = |r: usize| -> Vec<Envelope> {
        (0..200)
            .map(|k| {
                let n = r * 200 + k;
                let rec = json!({"type": "creditlog.record/v1", "kind": "administrative_licence", "subject": firms[n % firms.len()],
                    "department": "zibo-amr", "date": "2025-01-02", "reference": format!("批量许〔2025〕{n}号"),
                    "fields": {"licence_name": "食品经营许可证", "licence_number": format!("JY-B{n}"), "valid_from": "2025-01-02", "scope": "预包装食品销售"}});
                Envelope::sign(RECORD_TYPE, &serde_json::to_vec(&rec).unwrap(), &key)
            })
            .collect()
    };
    let server = Server::start(&city, &["--checkpoint-interval-ms", "5"]);
    // Per acknowledged request: its number and the entries of its records.
    type Acked = std::sync::Arc<std::sync::Mutex<Vec<(usize, Vec<u64>)>>>;
    let acked: Acked = Default::default();
    let writer = {
        let (acked, url, key) = (acked.clone(), server.url.clone(), key.clone());
        let batches: Vec<Vec<Envelope>> = (0..200).map(batch).collect();
        std::thread::spawn(move || {
            let amr = Signer { url, key };
            for (r, envs) in batches.into_iter().enumerate() {
                let (s, v) = amr.post("/v1/records", &json!({ "records": envs }));
                assert_eq!(s, 200, "{v}");
                let indices = v["results"].as_array().unwrap().iter().map(|x| x["index"].as_u64().unwrap()).collect();
                acked.lock().unwrap().push((r, indices));
            }
        })
    };
    while acked.lock().unwrap().len() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    server.kill();
    // The writer stops at its first request without an answer.
    assert!(writer.join().is_err(), "the import finished before the kill");
    let acked = acked.lock().unwrap().clone();

    let server = Server::start(&city, &["--checkpoint-interval-ms", "5"]);
    let auditor = Signer { url: server.url.clone(), key: keyfile::read(&city.join("keys/auditor.key")).unwrap() };
    for (r, indices) in &acked {
        for (k, (index, env)) in indices.iter().zip(batch(*r)).enumerate() {
            let (s, v) = auditor.get(&format!("/v1/entries/{index}"));
            assert_eq!(s, 200, "{v}");
            assert_eq!(
                v["content"]["envelope"]["payload"], env.payload,
                "request {r}, record {k}: entry {index} is not what was acknowledged"
            );
        }
    }
    let amr = Signer { url: server.url.clone(), key: key.clone() };
    for (r, indices) in &acked {
        let (s, v) = amr.post("/v1/records", &json!({ "records": batch(*r) }));
        assert_eq!(s, 200, "{v}");
        let again: Vec<(String, u64)> = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["outcome"].as_str().unwrap().to_owned(), x["index"].as_u64().unwrap()))
            .collect();
        assert_eq!(again, indices.iter().map(|i| ("duplicate".to_owned(), *i)).collect::<Vec<_>>(), "request {r}");
    }
    server.kill();
    e2e::assert_rebuilds_identically(&city);
}

/// The scoring view (评分视图) rebuilt from the log equals the live one. The demo city has
/// corrections, upheld and rejected objections and a redaction (at this size its example firm has
/// no repairable record: the credit repair test in accountability.rs checks repair rows). Its
/// copy's scoring file is cut short, as a power loss would leave it; the copy's server rebuilds
/// the view from the log when it starts. A re-grade on each gives the same decisions; the live
/// views, after it, equal a rebuild (the views' digest covers every row of the scoring view).
#[test]
fn the_scoring_view_rebuilt_from_the_log_equals_the_live_one() {
    let dir = tempfile::tempdir().unwrap();
    let (city, copy, model) = demo_city_and_copy(dir.path());
    // (A rebuild first, so that the views' database holds how long the file was: the killed
    // demo may have left it behind, and the server would then apply the tail again instead.)
    e2e::assert_rebuilds_identically(&copy);
    let dat = copy.join("scoring/scoring.dat");
    let len = std::fs::metadata(&dat).unwrap().len();
    assert!(len > 100_000, "the demo's records are in the scoring view: {len} bytes");
    std::fs::OpenOptions::new().write(true).open(&dat).unwrap().set_len(len / 2).unwrap();

    let decisions = |data: &std::path::Path| {
        let server = Server::start(data, &["--checkpoint-interval-ms", "5"]);
        let rebuilt = server.banner.iter().any(|l| l.starts_with("rebuilt the scoring view from the log"));
        assert_eq!(rebuilt, data == copy, "{:?}", server.banner);
        let ga =
            Signer { url: server.url.clone(), key: keyfile::read(&data.join("keys/grading-authority.key")).unwrap() };
        let order = registry::grading::sign_order(&model, verifier::Date::parse("2025-06-30").unwrap(), &ga.key);
        let (s, v) = ga.post("/v1/regrade?wait=true", &serde_json::to_value(order).unwrap());
        assert_eq!(s, 200, "{v}");
        let auditor = Signer { url: server.url.clone(), key: keyfile::read(&data.join("keys/auditor.key")).unwrap() };
        let (_, got) = run_decisions(&auditor, v["index"].as_u64().unwrap());
        server.kill();
        got
    };
    let live = decisions(&city);
    assert!(live.len() > 50, "{}", live.len());
    assert_eq!(decisions(&copy), live, "a scoring view rebuilt from the log decides as the live one");
    for data in [&city, &copy] {
        e2e::assert_rebuilds_identically(data);
    }
}
