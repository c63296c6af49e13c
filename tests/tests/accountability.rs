//! Accountability through the real server: the attacks an outside audit found, as regression
//! tests, and the authorisation matrix of every actor against every action, each refusal naming
//! its rule.

use e2e::{binary, cli, statement, Server, Signer};
use ed25519_dalek::SigningKey;
use registry::keyfile;
use serde_json::{json, Value};
use std::process::Command;
use verifier::envelope::{key_id, Envelope, IDENTITY_TYPE, MODEL_TYPE, RECORD_TYPE};
use verifier::identity::{sign_binding, Capability, Role, Statement, IDENTITY_STATEMENT};
use verifier::redaction::{Redaction, RedactionRule};

const FIRM_A: &str = "91370303MA3C8DXA25";

fn firm_b() -> String {
    verifier::uscc::Uscc::from_parts("91370303MA3C8DXB2").unwrap().as_str().to_owned()
}

fn t() -> String {
    IDENTITY_STATEMENT.to_owned()
}

fn ok(r: (u16, Value)) -> Value {
    assert_eq!(r.0, 200, "{}", r.1);
    r.1
}

fn record(kind: &str, subject: &str, dept: &str, date: &str, reference: &str, fields: Value) -> Value {
    json!({"type": "creditlog.record/v1", "kind": kind, "subject": subject, "department": dept, "date": date,
           "reference": reference, "fields": fields})
}

fn commitment_outcome(subject: &str, reference: &str) -> Value {
    record(
        "commitment_outcome",
        subject,
        "zibo-drc",
        "2020-05-01",
        reference,
        json!({"commitment_reference": "承诺〔2019〕1号", "kept": false, "details": "未按承诺整改"}),
    )
}

/// Submits records; returns the per-record results.
fn submit(signer: &Signer, records: &[Value]) -> Vec<Value> {
    let envs: Vec<Envelope> =
        records.iter().map(|r| Envelope::sign(RECORD_TYPE, &serde_json::to_vec(r).unwrap(), &signer.key)).collect();
    let v = ok(signer.post("/v1/records", &json!({ "records": envs })));
    v["results"].as_array().unwrap().clone()
}

struct City {
    _dir: tempfile::TempDir,
    server: Server,
    op: Signer,
    amr: Signer,
    drc: Signer,
    hotline: Signer,
    court: Signer,
    ga: Signer,
    auditor: Signer,
    firm_a: Signer,
    firm_b: Signer,
    model: String,
}

fn city() -> City {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--checkpoint-interval-ms", "5"]);
    let url = server.url.clone();
    let signer = |key: SigningKey| Signer { url: url.clone(), key };
    let op = signer(keyfile::read(&data.join("operator.key")).unwrap());
    let dept = |code: &str, kinds: &[&str], registers: bool| {
        let s = signer(keyfile::generate());
        ok(statement(
            &op,
            &Statement::RegisterDepartment {
                kind: t(),
                code: code.into(),
                name: code.into(),
                kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
                domains: Default::default(),
                capabilities: if registers { [Capability::RegisterEnterprises].into() } else { Default::default() },
                key: keyfile::public_b64(&s.key),
            },
        ));
        s
    };
    let amr = dept(
        "zibo-amr",
        &[
            "administrative_penalty",
            "serious_dishonesty_listing",
            "serious_dishonesty_removal",
            "administrative_licence",
            "retraction",
        ],
        true,
    );
    let drc = dept("zibo-drc", &["commitment_outcome", "retraction"], false);
    let hotline = dept("zibo-12345", &["verified_complaint", "retraction"], false);
    let court = dept("zibo-court", &["judgment"], false);
    let role = |role: Role| {
        let s = signer(keyfile::generate());
        ok(statement(
            &op,
            &Statement::RegisterKey { kind: t(), role, name: format!("{role:?}"), key: keyfile::public_b64(&s.key) },
        ));
        s
    };
    let ga = role(Role::GradingAuthority);
    let auditor = role(Role::Auditor);
    let bind = |uscc: &str| {
        let s = signer(keyfile::generate());
        ok(statement(
            &amr,
            &Statement::BindEnterpriseKey {
                kind: t(),
                subject: uscc.into(),
                key: keyfile::public_b64(&s.key),
                proof: sign_binding(uscc, &s.key),
            },
        ));
        s
    };
    let firm_a = bind(FIRM_A);
    let firm_b = bind(&firm_b());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let model_text = std::fs::read(root.join("models/general.toml")).unwrap();
    let v = ok(ga.post("/v1/models", &serde_json::to_value(Envelope::sign(MODEL_TYPE, &model_text, &ga.key)).unwrap()));
    let model = v["model"].as_str().unwrap().to_owned();
    City { _dir: dir, server, op, amr, drc, hotline, court, ga, auditor, firm_a, firm_b, model }
}

fn class_of(c: &City) -> String {
    let v = ok(c.firm_a.get(&format!("/v1/enterprises/{FIRM_A}")));
    v["grades"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["model"] == c.model.as_str())
        .map_or("none".into(), |g| g["class"].as_str().unwrap().to_owned())
}

/// Attack 1 of the audit: a department (the court's key) bound a key of its own to an
/// enterprise and then read the firm's whole history as the firm.
#[test]
fn attack_a_department_binds_its_own_key_to_a_firm() {
    let c = city();
    let st = Statement::BindEnterpriseKey {
        kind: t(),
        subject: FIRM_A.into(),
        key: keyfile::public_b64(&c.court.key),
        proof: sign_binding(FIRM_A, &c.court.key),
    };
    // The court is not registered with the register_enterprises capability.
    let (s, v) = statement(&c.court, &st);
    assert_eq!((s, v["type"].as_str()), (403, Some("/problems/identity-rules")), "{v}");
    assert!(v["detail"].as_str().unwrap().contains("register_enterprises"), "{v}");
    // Even the market regulator cannot bind a key without the firm's own signature over it.
    let stolen = keyfile::generate();
    let forged = Statement::BindEnterpriseKey {
        kind: t(),
        subject: FIRM_A.into(),
        key: keyfile::public_b64(&stolen),
        proof: sign_binding(FIRM_A, &c.amr.key),
    };
    let (s, v) = statement(&c.amr, &forged);
    assert_eq!(s, 403, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("proof of possession"), "{v}");
    // A proof made for another firm does not bind this one.
    let elsewhere = Statement::BindEnterpriseKey {
        kind: t(),
        subject: FIRM_A.into(),
        key: keyfile::public_b64(&stolen),
        proof: sign_binding(&firm_b(), &stolen),
    };
    assert_eq!(statement(&c.amr, &elsewhere).0, 403);
    // So the court's key still reads nothing of the firm: a department sees its own entries only.
    let h = ok(c.court.get(&format!("/v1/enterprises/{FIRM_A}/history")));
    assert_eq!(h["entries"].as_array().unwrap().len(), 0, "{h}");
    // The firm sees its binding in its history, and the binding department may revoke it.
    let h = ok(c.firm_a.get(&format!("/v1/enterprises/{FIRM_A}/history")));
    assert!(h["entries"].as_array().unwrap().iter().any(|e| e["content"]["envelope"]["payloadType"] == IDENTITY_TYPE));
    let revoke = Statement::RevokeKey { kind: t(), old: key_id(&c.firm_b.key.verifying_key()), reason: "lost".into() };
    assert_eq!(statement(&c.hotline, &revoke).0, 403, "another department may not revoke the firm's key");
    ok(statement(&c.amr, &revoke));
    assert_eq!(c.firm_b.get(&format!("/v1/enterprises/{}/history", firm_b())).0, 401, "a revoked key counts no more");
}

/// Attack 2: the 12345 hotline retracted a record written by another department (a broken
/// commitment recorded by the development and reform commission), dated 2020, and the firm's
/// class changed at once.
#[test]
fn attack_a_department_retracts_another_departments_record() {
    let c = city();
    let broken = submit(&c.drc, &[commitment_outcome(FIRM_A, "发改信〔2020〕7号")]);
    assert_eq!(broken[0]["outcome"], "appended", "{broken:?}");
    let target = broken[0]["index"].as_u64().unwrap();
    let before = class_of(&c);
    let retraction = |dept: &str, subject: &str, target: u64| {
        record(
            "retraction",
            subject,
            dept,
            "2026-11-20",
            &format!("撤〔2026〕{target}-{dept}"),
            json!({"target_index": target, "ground": "error", "reason": "误报"}),
        )
    };
    let r = &submit(&c.hotline, &[retraction("zibo-12345", FIRM_A, target)])[0];
    assert_eq!(
        (r["outcome"].as_str(), r["rule_name"].as_str()),
        (Some("rejected"), Some("retraction-by-author")),
        "{r}"
    );
    // Pointing at another firm, or at an entry not yet on the log, is refused too.
    let r = &submit(&c.drc, &[retraction("zibo-drc", &firm_b(), target)])[0];
    assert_eq!(r["rule_name"], "retraction-same-enterprise", "{r}");
    let r = &submit(&c.drc, &[retraction("zibo-drc", FIRM_A, 1_000_000)])[0];
    assert_eq!(r["rule_name"], "retraction-earlier-record", "{r}");
    assert_eq!(class_of(&c), before, "nothing changed the firm's class");
    // The author may retract its own record.
    assert_eq!(submit(&c.drc, &[retraction("zibo-drc", FIRM_A, target)])[0]["outcome"], "appended");
}

/// The rest of the audit's list: list removals naming any entry, the same penalty twice,
/// implausible dates, an as-of date in the future.
#[test]
fn attacks_on_removals_duplicates_and_dates() {
    let c = city();
    let judgment = submit(
        &c.court,
        &[record(
            "judgment",
            FIRM_A,
            "zibo-court",
            "2025-03-01",
            "（2025）鲁0303民初1号",
            json!({"stage": "judgment", "obligation": "支付货款", "performed": false}),
        )],
    );
    let judgment = judgment[0]["index"].as_u64().unwrap();
    let removal = |listing_index: u64| {
        record(
            "serious_dishonesty_removal",
            FIRM_A,
            "zibo-amr",
            "2026-11-01",
            &format!("移出〔2026〕{listing_index}"),
            json!({"listing_date": "2025-03-01", "listing_index": listing_index, "ground": "credit_repaired"}),
        )
    };
    let r = &submit(&c.amr, &[removal(judgment)])[0];
    assert_eq!(r["rule_name"], "removal-names-listing", "another department's judgment is not a listing: {r}");
    let r = &submit(&c.amr, &[removal(5_000_000)])[0];
    assert_eq!(r["rule_name"], "removal-names-listing", "an index not on the log: {r}");

    // One record, one entry: the same penalty re-serialised is a duplicate, a changed one is refused.
    let penalty = |fine: u64| {
        record(
            "administrative_penalty",
            FIRM_A,
            "zibo-amr",
            "2026-10-01",
            "淄张市监罚〔2026〕9号",
            json!({"violation_type": "虚假广告", "violation": "发布虚假广告", "penalties": ["fine"], "fine_amount_fen": fine,
                   "severity": "ordinary", "publicity_months": 36}),
        )
    };
    let first = submit(&c.amr, &[penalty(100_000)]);
    let index = first[0]["index"].as_u64().unwrap();
    // Another serialisation of the same record: keys in another order, extra whitespace.
    let reordered = serde_json::to_vec_pretty(&penalty(100_000)).unwrap();
    let env = Envelope::sign(RECORD_TYPE, &reordered, &c.amr.key);
    let v = ok(c.amr.post("/v1/records", &json!({ "records": [env] })));
    assert_eq!(v["results"][0], json!({"outcome": "duplicate", "index": index}));
    let r = &submit(&c.amr, &[penalty(200_000)])[0];
    assert_eq!(r["rule_name"], "one-record-one-entry", "{r}");

    // A retracted record stays retracted. Its signed bytes can be replayed by anyone who holds
    // them: the replay is a duplicate of the retracted entry, never a live record again, also
    // after a correction under the same number was itself retracted, and also when the replay
    // travels in the same request as the retraction.
    let post = |envs: &[Envelope]| ok(c.amr.post("/v1/records", &json!({ "records": envs })))["results"].clone();
    let sign = |v: &Value| Envelope::sign(RECORD_TYPE, &serde_json::to_vec(v).unwrap(), &c.amr.key);
    let retract = |target: u64, n: u32| {
        sign(&record(
            "retraction",
            FIRM_A,
            "zibo-amr",
            "2026-11-20",
            &format!("撤〔2026〕{n}"),
            json!({"target_index": target, "ground": "error", "reason": "误报"}),
        ))
    };
    let mut numbered = penalty(300_000);
    numbered["reference"] = json!("淄张市监罚〔2026〕10号");
    let original = sign(&numbered);
    let i = post(std::slice::from_ref(&original))[0]["index"].as_u64().unwrap();
    let r = post(&[retract(i, 1), original.clone()]);
    assert_eq!(r[0]["outcome"], "appended", "{r}");
    assert_eq!(r[1], json!({"outcome": "duplicate", "index": i}), "replayed with its retraction: {r}");
    assert_eq!(post(std::slice::from_ref(&original))[0], json!({"outcome": "duplicate", "index": i}));
    numbered["fields"]["fine_amount_fen"] = json!(250_000);
    let correction = post(&[sign(&numbered)]);
    assert_eq!(correction[0]["outcome"], "appended", "the number is free for a correction: {correction}");
    let j = correction[0]["index"].as_u64().unwrap();
    assert_eq!(post(&[retract(j, 2)])[0]["outcome"], "appended");
    assert_eq!(post(std::slice::from_ref(&original))[0], json!({"outcome": "duplicate", "index": i}));

    // Dates: not before the jurisdiction's earliest date, not after the day it is logged.
    for date in ["0000-01-01", "1900-01-01", "9999-12-31", "2099-01-01"] {
        let mut p = penalty(1);
        p["date"] = json!(date);
        p["reference"] = json!(format!("罚{date}"));
        let r = &submit(&c.amr, &[p])[0];
        assert_eq!(r["rule_name"], "plausible-date", "{date}: {r}");
    }
    // A re-grade as of a day in the future is refused, naming the rule.
    let order = registry::grading::sign_order(&c.model, verifier::Date::parse("9999-12-31").unwrap(), &c.ga.key);
    let (s, v) = c.ga.post("/v1/regrade?wait=true", &serde_json::to_value(&order).unwrap());
    assert_eq!((s, v["type"].as_str()), (422, Some("/problems/as-of-not-future")), "{v}");
    // Oversized identity statements (the audit sent 20 MB) are refused before they are read.
    let big = Statement::RegisterKey {
        kind: t(),
        role: Role::Court,
        name: "x".repeat(100 << 10),
        key: keyfile::public_b64(&keyfile::generate()),
    };
    let body = serde_json::to_vec(&Envelope::sign(IDENTITY_TYPE, &big.to_bytes(), &c.op.key)).unwrap();
    assert_eq!(status_without_body(&c.op, "/v1/identities", &body), 413);
}

/// Sends a signed POST's headers announcing `body`'s length but not the body, and returns the
/// status the server answers with before reading it.
fn status_without_body(signer: &Signer, path: &str, body: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let addr = signer.url.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in signer.headers("POST", path, "", Some(body)) {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    conn.write_all(req.as_bytes()).unwrap();
    let mut answer = [0u8; 12];
    conn.read_exact(&mut answer).unwrap();
    String::from_utf8_lossy(&answer[9..12]).parse().unwrap()
}

/// Who may do what: every actor against every action, allowed or refused with the rule.
#[test]
fn authorisation_matrix() {
    let c = city();
    let url = c.server.url.clone();
    let court_role = Signer { url: url.clone(), key: keyfile::generate() };
    ok(statement(
        &c.op,
        &Statement::RegisterKey {
            kind: t(),
            role: Role::Court,
            name: "法院".into(),
            key: keyfile::public_b64(&court_role.key),
        },
    ));
    let anonymous = Signer { url: url.clone(), key: keyfile::generate() }; // not on the log
    let penalty_a = submit(
        &c.amr,
        &[record(
            "administrative_penalty",
            FIRM_A,
            "zibo-amr",
            "2026-09-01",
            "罚〔2026〕100号",
            json!({"violation_type": "无照经营", "violation": "无照经营", "penalties": ["warning"], "fine_amount_fen": 0, "fine_amount_fen": 0,
                   "severity": "minor", "publicity_months": 3}),
        )],
    )[0]["index"]
        .as_u64()
        .unwrap();
    // A penalty that stays (the basis of the sanctions below) and a sanction by X to lift.
    let today = verifier::Date::parse(&verifier_today(&c)).unwrap();
    let until = today.add_days(30).unwrap();
    let penalty_s = submit(&c.amr, &[penalty_of(FIRM_A, "2026-09-03", "罚〔2026〕S号", "ordinary", &["fine"])])[0]
        ["index"]
        .as_u64()
        .unwrap();
    let sanction_x =
        ok(sanction(&c.amr, &imposed("zibo-amr", &[penalty_s], "bidding", today, until, today, "惩〔2026〕X号")))
            ["index"]
            .as_u64()
            .unwrap();
    // An inspection plan by X (rules/supervision.toml defaults), numbered per call.
    let plan_by = |who: &Signer, number: &str| {
        let p = verifier::plan::Plan {
            kind: verifier::plan::PLAN_FORMAT.into(),
            department: "zibo-amr".into(),
            number: number.into(),
            title: "双随机抽查".into(),
            domain: "market_regulation".into(),
            items: vec![verifier::plan::Item {
                code: "01".into(),
                name: "登记事项".into(),
                basis: "市场主体登记管理条例 第三十五条".into(),
                qualification: None,
            }],
            model: c.model.clone(),
            population: Default::default(),
            cycle_start: verifier::Date::new(u32::from(today.year()), 1, 1).unwrap(),
            cycle_end: verifier::Date::new(u32::from(today.year()), 12, 31).unwrap(),
            rules: verifier::plan::SupervisionRules::shipped().default_draw_rules(),
            inspectors: ["SJ-1", "SJ-2"]
                .iter()
                .map(|i| verifier::plan::PoolInspector {
                    id: (*i).into(),
                    qualifications: Default::default(),
                    conflicts: Default::default(),
                })
                .collect(),
            secret_commitment: "00".repeat(32),
            reveal_by: today.add_days(7).unwrap(),
            date: today,
        };
        who.post("/v1/plans", &serde_json::to_value(p.sign(&who.key)).unwrap())
    };
    let plan_x = ok(plan_by(&c.amr, "计划-X"))["index"].as_u64().unwrap();
    let actors: Vec<(&str, &Signer)> = vec![
        ("anonymous", &anonymous),
        ("firm A", &c.firm_a),
        ("firm B", &c.firm_b),
        ("department X (amr)", &c.amr),
        ("department Y (12345)", &c.hotline),
        ("grading authority", &c.ga),
        ("auditor", &c.auditor),
        ("court", &court_role),
        ("operator", &c.op),
    ];
    // An action returns "ok" or the refusal: the HTTP status, or the rule of a per-record rejection.
    let mut n = 0u32;
    // A record signed by `who`: "ok", the rule of a per-record rejection, or the request's refusal.
    let send_record = |who: &Signer, r: &Value| -> String {
        let env = Envelope::sign(RECORD_TYPE, &serde_json::to_vec(r).unwrap(), &who.key);
        match who.post("/v1/records", &json!({ "records": [env] })) {
            (200, v) if v["results"][0]["outcome"] == "appended" => "ok".into(),
            (200, v) => format!("rejected {}", v["results"][0]["rule_name"].as_str().unwrap_or("?")),
            (s, v) => format!("{s} {}", v["type"].as_str().unwrap_or("")),
        }
    };
    let mut act = |who: &Signer, action: &str| -> String {
        n += 1;
        let status_of = |(s, v): (u16, Value)| {
            if s == 200 {
                "ok".to_owned()
            } else {
                format!("{s} {}", v["type"].as_str().unwrap_or(""))
            }
        };
        match action {
            "submit penalty" => {
                let r = record(
                    "administrative_penalty",
                    FIRM_A,
                    "zibo-amr",
                    "2026-09-02",
                    &format!("罚〔2026〕m{n}号"),
                    json!({"violation_type": "无照经营", "violation": "无照经营", "penalties": ["warning"], "fine_amount_fen": 0, "fine_amount_fen": 0,
                           "severity": "minor", "publicity_months": 3}),
                );
                send_record(who, &r)
            }
            "dry-run a penalty (import --check)" => {
                let r = record(
                    "administrative_penalty",
                    FIRM_A,
                    "zibo-amr",
                    "2026-09-02",
                    &format!("罚〔2026〕m{n}号"),
                    json!({"violation_type": "无照经营", "violation": "无照经营", "penalties": ["warning"], "fine_amount_fen": 0,
                           "severity": "minor", "publicity_months": 3}),
                );
                let env = Envelope::sign(RECORD_TYPE, &serde_json::to_vec(&r).unwrap(), &who.key);
                match who.post("/v1/records/check", &json!({ "records": [env] })) {
                    (200, v) if v["results"][0]["outcome"] == "would_append" => "ok".into(),
                    (200, v) => format!("rejected {}", v["results"][0]["rule_name"].as_str().unwrap_or("?")),
                    (s, v) => format!("{s} {}", v["type"].as_str().unwrap_or("")),
                }
            }
            "read an export for import (portal)" => {
                // The portal's import: the server reads the file into unsigned payloads for the
                // department's own page to sign; only a department may ask, against its own name.
                let csv = format!(
                    "subject,department,date,reference,licence_name,licence_number,valid_from,valid_until,scope\n{FIRM_A},zibo-amr,2026-09-02,许〔2026〕m{n}号,食品经营许可证,JY1,2026-09-02,,预包装食品销售\n"
                );
                let query = "kind=administrative_licence";
                let headers = who.headers("POST", "/v1/imports/read", query, Some(csv.as_bytes()));
                match who.send_post(&format!("/v1/imports/read?{query}"), csv.as_bytes(), &headers) {
                    (200, v) if v["rows"][0]["payload"].is_string() => "ok".into(),
                    (200, v) => format!("row {}", v["rows"][0]["rule"].as_str().unwrap_or("?")),
                    (s, v) => format!("{s} {}", v["type"].as_str().unwrap_or("")),
                }
            }
            "retract X's penalty" => {
                let r = record(
                    "retraction",
                    FIRM_A,
                    "zibo-amr",
                    "2026-11-20",
                    &format!("撤〔2026〕m{n}号"),
                    json!({"target_index": penalty_a, "ground": "error", "reason": "误报"}),
                );
                send_record(who, &r)
            }
            "redact X's penalty" => {
                // After "retract X's penalty": only its department may redact it, and only once it
                // is corrected (a record again), which it is not here.
                let r = Redaction {
                    kind: verifier::redaction::REDACTION_FORMAT.into(),
                    subject: FIRM_A.into(),
                    department: "zibo-amr".into(),
                    entries: vec![penalty_a],
                    rule: RedactionRule::PersonalData,
                    reason: format!("更正后删除 {n}"),
                    date: verifier::Date::parse("2026-11-20").unwrap(),
                };
                status_of(who.post("/v1/redactions", &serde_json::to_value(r.sign(&who.key)).unwrap()))
            }
            "bind a key to firm A" => {
                let k = keyfile::generate();
                status_of(statement(
                    who,
                    &Statement::BindEnterpriseKey {
                        kind: t(),
                        subject: FIRM_A.into(),
                        key: keyfile::public_b64(&k),
                        proof: sign_binding(FIRM_A, &k),
                    },
                ))
            }
            "register a department" => status_of(statement(
                who,
                &Statement::RegisterDepartment {
                    kind: t(),
                    code: format!("new-{n}"),
                    name: "新部门".into(),
                    kinds: ["judgment".to_owned()].into(),
                    domains: Default::default(),
                    capabilities: Default::default(),
                    key: keyfile::public_b64(&keyfile::generate()),
                },
            )),
            "publish a model" => {
                let text = format!(
                    "{}\n# {n}\n",
                    std::fs::read_to_string(
                        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                            .parent()
                            .unwrap()
                            .join("testdata/scoring/kat-four.toml")
                    )
                    .unwrap()
                );
                status_of(who.post(
                    "/v1/models",
                    &serde_json::to_value(Envelope::sign(MODEL_TYPE, text.as_bytes(), &who.key)).unwrap(),
                ))
            }
            "order a re-grade" => {
                let order =
                    registry::grading::sign_order(&c.model, verifier::Date::parse("2026-06-01").unwrap(), &who.key);
                status_of(who.post("/v1/regrade?wait=true", &serde_json::to_value(&order).unwrap()))
            }
            "read the private penalty" => status_of(who.get(&format!("/v1/entries/{penalty_a}"))),
            "read A's history" => status_of(who.get(&format!("/v1/enterprises/{FIRM_A}/history"))),
            "read A's grades" => status_of(who.get(&format!("/v1/enterprises/{FIRM_A}"))),
            "read A's journal" => status_of(who.get(&format!("/v1/enterprises/{FIRM_A}/reads"))),
            "export A's bundle" => status_of(who.get(&format!("/v1/enterprises/{FIRM_A}/bundle"))),
            "impose a sanction in X's name" => status_of(sanction(
                who,
                &imposed("zibo-amr", &[penalty_s], "new_credit", today, until, today, &format!("惩〔2026〕m{n}号")),
            )),
            "lift X's sanction" => status_of(sanction(who, &lifted("zibo-amr", sanction_x, today))),
            "check A for bidding" => {
                status_of(who.get(&format!("/v1/check?uscc={FIRM_A}&purpose=bidding&date={today}")))
            }
            "read A's sanctions" => status_of(who.get(&format!("/v1/enterprises/{FIRM_A}/sanctions"))),
            "read A's checks" => status_of(who.get(&format!("/v1/enterprises/{FIRM_A}/checks"))),
            "publish a plan in X's name" => status_of(plan_by(who, &format!("计划-m{n}"))),
            "read X's plan population" => status_of(who.get(&format!("/v1/plans/{plan_x}/population"))),
            "list plans" => status_of(who.get("/v1/plans")),
            "read X's draw bundle (not drawn yet)" => status_of(who.get(&format!("/v1/plans/{plan_x}/bundle"))),
            "read the class distribution over time" => status_of(who.get("/v1/stats/grades")),
            "read open warnings" => status_of(who.get("/v1/warnings")),
            other => panic!("unknown action {other}"),
        }
    };
    // Expected outcome per action, one column per actor in the order above.
    let expected: &[(&str, [&str; 9])] = &[
        (
            "submit penalty",
            [
                "401 /problems/request-signature",
                "403 /problems/not-a-department",
                "403 /problems/not-a-department",
                "ok",
                "rejected records-by-departments",
                "403 /problems/not-a-department",
                "403 /problems/not-a-department",
                "403 /problems/not-a-department",
                "403 /problems/not-a-department",
            ],
        ),
        (
            "dry-run a penalty (import --check)",
            [
                "401 /problems/request-signature",
                "403 /problems/not-a-department",
                "403 /problems/not-a-department",
                "ok",
                "rejected records-by-departments",
                "403 /problems/not-a-department",
                "403 /problems/not-a-department",
                "403 /problems/not-a-department",
                "403 /problems/not-a-department",
            ],
        ),
        (
            "read an export for import (portal)",
            [
                "401 /problems/request-signature",
                "403 /problems/import-by-department",
                "403 /problems/import-by-department",
                "ok",
                "row import-authority",
                "403 /problems/import-by-department",
                "403 /problems/import-by-department",
                "403 /problems/import-by-department",
                "403 /problems/import-by-department",
            ],
        ),
        (
            "retract X's penalty",
            [
                "401 /problems/request-signature",
                "403 /problems/not-a-department",
                "403 /problems/not-a-department",
                "ok",
                "rejected records-by-departments",
                "403 /problems/not-a-department",
                "403 /problems/not-a-department",
                "403 /problems/not-a-department",
                "403 /problems/not-a-department",
            ],
        ),
        (
            "redact X's penalty",
            [
                "401 /problems/request-signature",
                "403 /problems/redaction-by-author",
                "403 /problems/redaction-by-author",
                "422 /problems/redaction-rule",
                "403 /problems/redaction-by-author",
                "403 /problems/redaction-by-author",
                "403 /problems/redaction-by-author",
                "403 /problems/redaction-by-author",
                "403 /problems/redaction-by-author",
            ],
        ),
        (
            "bind a key to firm A",
            [
                "401 /problems/request-signature",
                "403 /problems/identity-rules",
                "403 /problems/identity-rules",
                "ok",
                "403 /problems/identity-rules",
                "403 /problems/identity-rules",
                "403 /problems/identity-rules",
                "403 /problems/identity-rules",
                "403 /problems/identity-rules",
            ],
        ),
        (
            "register a department",
            [
                "401 /problems/request-signature",
                "403 /problems/identity-rules",
                "403 /problems/identity-rules",
                "403 /problems/identity-rules",
                "403 /problems/identity-rules",
                "403 /problems/identity-rules",
                "403 /problems/identity-rules",
                "403 /problems/identity-rules",
                "ok",
            ],
        ),
        (
            "publish a model",
            [
                "401 /problems/request-signature",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "ok",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
            ],
        ),
        (
            "order a re-grade",
            [
                "401 /problems/request-signature",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "ok",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
            ],
        ),
        (
            "read the private penalty",
            [
                "401 /problems/request-signature",
                "ok",
                "403 /problems/forbidden",
                "ok",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "ok",
                "ok",
                "403 /problems/forbidden",
            ],
        ),
        (
            "read A's history",
            [
                "401 /problems/request-signature",
                "ok",
                "403 /problems/forbidden",
                "ok",
                "ok",
                "403 /problems/forbidden",
                "ok",
                "ok",
                "403 /problems/forbidden",
            ],
        ),
        (
            "read A's grades",
            [
                "401 /problems/request-signature",
                "ok",
                "403 /problems/forbidden",
                "ok",
                "ok",
                "ok",
                "ok",
                "ok",
                "403 /problems/forbidden",
            ],
        ),
        (
            "read A's journal",
            [
                "401 /problems/request-signature",
                "ok",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "ok",
                "ok",
                "403 /problems/forbidden",
            ],
        ),
        (
            "export A's bundle",
            [
                "401 /problems/request-signature",
                "ok",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "ok",
                "ok",
                "403 /problems/forbidden",
            ],
        ),
        (
            "impose a sanction in X's name",
            [
                "401 /problems/request-signature",
                "403 /problems/sanction-by-department",
                "403 /problems/sanction-by-department",
                "ok",
                "403 /problems/sanction-by-department",
                "403 /problems/sanction-by-department",
                "403 /problems/sanction-by-department",
                "403 /problems/sanction-by-department",
                "403 /problems/sanction-by-department",
            ],
        ),
        (
            "lift X's sanction",
            [
                "401 /problems/request-signature",
                "403 /problems/sanction-by-department",
                "403 /problems/sanction-by-department",
                "ok",
                "403 /problems/sanction-by-department",
                "403 /problems/sanction-by-department",
                "403 /problems/sanction-by-department",
                "403 /problems/sanction-by-department",
                "403 /problems/sanction-by-department",
            ],
        ),
        (
            "check A for bidding",
            [
                "401 /problems/request-signature",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "ok",
                "ok",
                "ok",
                "ok",
                "ok",
                "403 /problems/forbidden",
            ],
        ),
        (
            "read A's sanctions",
            [
                "401 /problems/request-signature",
                "ok",
                "403 /problems/forbidden",
                "ok",
                "ok",
                "ok",
                "ok",
                "ok",
                "403 /problems/forbidden",
            ],
        ),
        (
            "read A's checks",
            [
                "401 /problems/request-signature",
                "ok",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "ok",
                "ok",
                "403 /problems/forbidden",
            ],
        ),
    ];
    let expected_supervision: &[(&str, [&str; 9])] = &[
        (
            "publish a plan in X's name",
            [
                "401 /problems/request-signature",
                "403 /problems/plan-by-department",
                "403 /problems/plan-by-department",
                "ok",
                "403 /problems/plan-by-department",
                "403 /problems/plan-by-department",
                "403 /problems/plan-by-department",
                "403 /problems/plan-by-department",
                "403 /problems/plan-by-department",
            ],
        ),
        (
            "read X's plan population",
            [
                "401 /problems/request-signature",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "ok",
                "403 /problems/forbidden",
                "ok",
                "ok",
                "ok",
                "403 /problems/forbidden",
            ],
        ),
        ("list plans", ["ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"]),
        (
            "read X's draw bundle (not drawn yet)",
            [
                "401 /problems/request-signature",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "404 /problems/not-drawn",
                "403 /problems/forbidden",
                "404 /problems/not-drawn",
                "404 /problems/not-drawn",
                "404 /problems/not-drawn",
                "403 /problems/forbidden",
            ],
        ),
        (
            "read the class distribution over time",
            [
                "401 /problems/request-signature",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "ok",
                "ok",
                "ok",
                "ok",
                "ok",
                "403 /problems/forbidden",
            ],
        ),
        (
            "read open warnings",
            [
                "401 /problems/request-signature",
                "403 /problems/forbidden",
                "403 /problems/forbidden",
                "ok",
                "ok",
                "ok",
                "ok",
                "ok",
                "403 /problems/forbidden",
            ],
        ),
    ];
    let mut wrong = Vec::new();
    for (action, row) in expected.iter().chain(expected_supervision) {
        for ((name, who), want) in actors.iter().zip(row.iter()) {
            let got = act(who, action);
            if got != *want {
                wrong.push(format!("{name} / {action}: expected {want}, got {got}"));
            }
        }
    }
    assert!(wrong.is_empty(), "authorisation matrix:\n{}", wrong.join("\n"));
}

/// The demo's printed commands: `creditlog export` and `creditlog verify` work from the CLI, and
/// `--json` gives the same verdict as the exit code.
#[test]
fn export_then_verify_from_the_command_line() {
    let c = city();
    submit(&c.drc, &[commitment_outcome(FIRM_A, "发改信〔2020〕8号")]);
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("firm.key");
    keyfile::write(&key, &c.firm_a.key).unwrap();
    let out_file = dir.path().join("a.json");
    let run = |args: &[&str]| {
        let o = Command::new(binary()).args(args).output().unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (good, out, err) = run(&[
        "export",
        "--uscc",
        FIRM_A,
        "--key",
        key.to_str().unwrap(),
        "--server",
        &c.server.url,
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert!(good, "{out}{err}");
    let (good, out, err) = run(&["verify", out_file.to_str().unwrap(), "--log-key", &c.server.verifier_key, "--json"]);
    assert!(good, "{out}{err}");
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["report"]["subject"], FIRM_A);
    // Served under another firm's code: the bundle names firm B but holds A's entries.
    let mut b: Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    b["subject"] = json!(firm_b());
    std::fs::write(&out_file, serde_json::to_vec(&b).unwrap()).unwrap();
    let (good, out, _) = run(&["verify", out_file.to_str().unwrap(), "--log-key", &c.server.verifier_key, "--json"]);
    assert!(!good);
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((report["ok"].as_bool(), report["check"].as_str()), (Some(false), Some("subject")), "{report}");
    // A log key that did not sign the checkpoint.
    let (good, _, err) = run(&[
        "verify",
        out_file.to_str().unwrap(),
        "--log-key",
        "other+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ]);
    assert!(!good && err.contains("checkpoint"), "{err}");
}

/// One signature rule at intake: a small-order ("weak") public key is refused at registration,
/// and a record signature a non-strict check would accept is refused.
#[test]
fn weak_keys_and_malleable_signatures_are_refused_at_intake() {
    let c = city();
    // The identity point, with which anyone forges signatures: A = 01 00..00, R = 01 00..00, S = 0.
    let mut weak = [0u8; 32];
    weak[0] = 1;
    let weak_b64 = base64::Engine::encode(&base64::prelude::BASE64_STANDARD, weak);
    let (s, v) = statement(
        &c.op,
        &Statement::RegisterKey { kind: t(), role: Role::Auditor, name: "weak".into(), key: weak_b64 },
    );
    assert_eq!((s, v["type"].as_str()), (400, Some("/problems/statement-well-formed")), "{v}");
    assert!(v["detail"].as_str().unwrap().contains("small-order"), "{v}");
    // A record whose S is replaced by S + L verifies under the cofactorless equation's algebra
    // but is not canonical: refused, and nothing is appended.
    let mut env = Envelope::sign(
        RECORD_TYPE,
        &serde_json::to_vec(&commitment_outcome(FIRM_A, "发改信〔2020〕9号")).unwrap(),
        &c.drc.key,
    );
    let sig: [u8; 64] =
        base64::Engine::decode(&base64::prelude::BASE64_STANDARD, &env.signatures[0].sig).unwrap().try_into().unwrap();
    let sig = verifier::signature::with_s_plus_order(&sig);
    env.signatures[0].sig = base64::Engine::encode(&base64::prelude::BASE64_STANDARD, sig);
    let v = ok(c.drc.post("/v1/records", &json!({ "records": [env] })));
    assert_eq!(v["results"][0]["outcome"], "rejected", "{v}");
    assert_eq!(v["results"][0]["field"], "signatures[0].sig", "{v}");
}

/// The grader key is separate from the operator key, and a rotated grader key signs the next
/// decision without a restart; the bundle still verifies across the rotation.
#[test]
fn a_rotated_grader_key_takes_effect_at_once() {
    let c = city();
    let data = c._dir.path().join("data");
    let old = keyfile::read(&data.join(registry::GRADER_KEY_FILE)).unwrap();
    let new = keyfile::generate();
    std::fs::create_dir_all(data.join(registry::GRADER_KEYS_DIR)).unwrap();
    keyfile::write(&data.join(registry::GRADER_KEYS_DIR).join("grader-2027.key"), &new).unwrap();
    submit(&c.drc, &[commitment_outcome(FIRM_A, "发改信〔2020〕10号")]);
    let order = |day: &str| {
        let o = registry::grading::sign_order(&c.model, verifier::Date::parse(day).unwrap(), &c.ga.key);
        ok(c.ga.post("/v1/regrade?wait=true", &serde_json::to_value(&o).unwrap()))
    };
    order("2020-01-01");
    ok(statement(
        &c.op,
        &Statement::RotateKey { kind: t(), old: key_id(&old.verifying_key()), key: keyfile::public_b64(&new) },
    ));
    order("2021-01-01");
    let h = ok(c.auditor.get(&format!("/v1/enterprises/{FIRM_A}/history")));
    let authors: Vec<String> = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["content"]["envelope"]["payloadType"] == verifier::envelope::DECISION_TYPE)
        .map(|e| e["content"]["envelope"]["signatures"][0]["keyid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(authors, [key_id(&old.verifying_key()), key_id(&new.verifying_key())], "{h}");
    let b: verifier::evidence::Bundle =
        serde_json::from_value(ok(c.auditor.get(&format!("/v1/enterprises/{FIRM_A}/bundle")))).unwrap();
    let report =
        verifier::evidence::verify_bundle(&b, &verifier::evidence::Trust::LogKey(c.server.verifier_key.clone()), None)
            .unwrap();
    assert_eq!(report.decisions, 2);
}

/// The jurisdiction's settings are on the log: a new log starts with the defaults, only the
/// operator changes them, a change applies to later entries only, and the offline verifier
/// judges each entry by the settings in force at its position.
#[test]
fn jurisdiction_settings_are_logged_and_judge_later_entries_only() {
    let c = city();
    let j = ok(c.op.get("/v1/jurisdiction"));
    assert_eq!(
        (j["utc_offset"].as_str(), j["time_zone"].as_str(), j["earliest_record_date"].as_str()),
        (Some("UTC+08:00"), Some("Asia/Shanghai"), Some("1988-07-01")),
        "the defaults, logged when the log was created: {j}"
    );
    let first = j["set_at_entry"].as_u64().expect("set by an entry on the log");
    let old_record = |reference: &str| {
        record(
            "administrative_penalty",
            FIRM_A,
            "zibo-amr",
            "1995-06-01",
            reference,
            json!({"violation_type": "无照经营", "violation": "无照经营", "penalties": ["warning"], "fine_amount_fen": 0,
                   "severity": "minor", "publicity_months": 12}),
        )
    };
    let r = &submit(&c.amr, &[old_record("罚〔1995〕1号")])[0];
    assert_eq!(r["outcome"], "appended", "{r}");

    // A department may not change the settings; the operator may, through the CLI.
    let st = Statement::SetJurisdiction {
        kind: t(),
        name: "x".into(),
        time_zone: "Asia/Shanghai".into(),
        utc_offset_minutes: 480,
        earliest_record_date: verifier::Date::parse("1900-01-01").unwrap(),
        future_tolerance_days: 1,
    };
    let (s, v) = statement(&c.amr, &st);
    assert_eq!((s, v["type"].as_str()), (403, Some("/problems/identity-rules")), "{v}");
    let key = c._dir.path().join("data/operator.key");
    let o = Command::new(binary())
        .args(["identity", "set-jurisdiction", "--server", &c.server.url, "--key"])
        .arg(&key)
        .args(["--name", "淄博市张店区", "--earliest-record-date", "2000-01-01", "--utc-offset", "+08:00"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j = ok(c.op.get("/v1/jurisdiction"));
    assert_eq!((j["name"].as_str(), j["earliest_record_date"].as_str()), (Some("淄博市张店区"), Some("2000-01-01")));
    assert!(j["set_at_entry"].as_u64().unwrap() > first);
    let r = &submit(&c.amr, &[old_record("罚〔1995〕2号")])[0];
    assert_eq!(r["rule_name"], "plausible-date", "a record before the new earliest date: {r}");

    let mut recent = old_record("罚〔2026〕3号");
    recent["date"] = json!("2026-01-05");
    assert_eq!(submit(&c.amr, &[recent])[0]["outcome"], "appended");

    // Offline, the 1995 record logged under the old settings still counts, and the bundle
    // carries the change (the public identity entries up to the firm's newest entry).
    let b: verifier::evidence::Bundle =
        serde_json::from_value(ok(c.auditor.get(&format!("/v1/enterprises/{FIRM_A}/bundle")))).unwrap();
    let report =
        verifier::evidence::verify_bundle(&b, &verifier::evidence::Trust::LogKey(c.server.verifier_key.clone()), None)
            .unwrap();
    assert_eq!(report.jurisdiction.name, "淄博市张店区");
    assert!(report.checks.iter().any(|c| c.contains("淄博市张店区")), "{:?}", report.checks);
}

fn objection(signer: &Signer, step: &verifier::objection::Step) -> (u16, Value) {
    signer.post("/v1/objections", &serde_json::to_value(step.sign(&signer.key)).unwrap())
}

fn filed(subject: &str, target: u64, date: &str) -> verifier::objection::Step {
    verifier::objection::Step::Filed {
        kind: verifier::objection::OBJECTION_FORMAT.into(),
        subject: subject.into(),
        target_index: Some(target),
        omission: None,
        grounds: verifier::objection::Grounds::Error,
        statement: "该失信记录有误：承诺已按期履行".into(),
        commitment: "本企业承诺所提异议真实".into(),
        date: verifier::Date::parse(date).unwrap(),
    }
}

fn accepted(subject: &str, objection_index: u64, refuse: Option<&str>) -> verifier::objection::Step {
    verifier::objection::Step::Accepted {
        kind: verifier::objection::OBJECTION_FORMAT.into(),
        subject: subject.into(),
        objection_index,
        accepted: refuse.is_none(),
        reason: refuse.map(Into::into),
        date: verifier::Date::parse("2026-11-21").unwrap(),
    }
}

fn resolved(subject: &str, objection_index: u64, upheld: bool, correction: Option<u64>) -> verifier::objection::Step {
    verifier::objection::Step::Resolved {
        kind: verifier::objection::OBJECTION_FORMAT.into(),
        subject: subject.into(),
        objection_index,
        outcome: if upheld { verifier::objection::Outcome::Upheld } else { verifier::objection::Outcome::Rejected },
        reason: if upheld { "经核实，记录有误，已撤回".into() } else { "经核实，记录无误".into() },
        correction_index: correction,
        date: verifier::Date::parse("2026-11-22").unwrap(),
    }
}

/// Objections (异议, issue 8): a firm contests a broken-commitment record; while open the record
/// is disputed; the department that wrote it accepts, retracts it and upholds the objection, and
/// the firm is re-graded at once; every step is refused to anyone else, naming the rule; and the
/// firm's bundle, objections included, verifies offline.
#[test]
fn objection_upheld_retracts_and_regrades_and_only_the_routed_department_answers() {
    let c = city();
    let broken = submit(&c.drc, &[commitment_outcome(FIRM_A, "发改信〔2025〕3号")]);
    let target = broken[0]["index"].as_u64().unwrap();
    let class_before = class_of(&c);

    // Firm B may not object about firm A's record; a department may not file for a firm.
    let (s, v) = objection(&c.firm_b, &filed(FIRM_A, target, "2026-11-20"));
    assert_eq!((s, v["type"].as_str()), (403, Some("/problems/objection-by-the-firm")), "{v}");
    let (s, v) = objection(&c.drc, &filed(FIRM_A, target, "2026-11-20"));
    assert_eq!((s, v["type"].as_str()), (403, Some("/problems/objection-by-the-firm")), "{v}");
    // Nor contest an entry of another firm, or one not on the log.
    let other = submit(&c.drc, &[commitment_outcome(&firm_b(), "发改信〔2025〕4号")])[0]["index"].as_u64().unwrap();
    let (s, v) = objection(&c.firm_a, &filed(FIRM_A, other, "2026-11-20"));
    assert_eq!((s, v["type"].as_str()), (422, Some("/problems/objection-target")), "{v}");

    let o = ok(objection(&c.firm_a, &filed(FIRM_A, target, "2026-11-20")))["index"].as_u64().unwrap();
    let entry = ok(c.firm_a.get(&format!("/v1/entries/{target}")));
    assert_eq!(entry["disputed_by"], o, "the record is disputed while the objection is open: {entry}");
    // The department sees it among those it must answer, with its deadline in working days.
    let list = ok(c.drc.get("/v1/objections"));
    let mine = &list["objections"][0];
    assert_eq!((mine["index"].as_u64(), mine["status"].as_str()), (Some(o), Some("awaiting_acceptance")), "{list}");
    assert!(ok(c.amr.get("/v1/objections"))["objections"].as_array().unwrap().is_empty(), "not routed to amr");
    // Long after the deadline, it is overdue (judged as of that day).
    let late = ok(c.ga.get("/v1/objections?overdue=true&as_of=2099-01-01"));
    assert_eq!(late["objections"][0]["overdue"], true, "{late}");

    // Only the department that wrote the record answers: not another department, nor the firm.
    let (s, v) = objection(&c.hotline, &accepted(FIRM_A, o, None));
    assert_eq!((s, v["type"].as_str()), (403, Some("/problems/objection-routed")), "{v}");
    let (s, v) = objection(&c.firm_a, &accepted(FIRM_A, o, None));
    assert_eq!((s, v["type"].as_str()), (403, Some("/problems/objection-routed")), "{v}");
    // Resolution before acceptance is out of sequence.
    let (s, v) = objection(&c.drc, &resolved(FIRM_A, o, false, None));
    assert_eq!((s, v["type"].as_str()), (422, Some("/problems/objection-sequence")), "{v}");
    ok(objection(&c.drc, &accepted(FIRM_A, o, None)));
    // The same signed step again is a duplicate; another answer to the same objection is refused.
    assert_eq!(ok(objection(&c.drc, &accepted(FIRM_A, o, None)))["outcome"], "duplicate");
    let (s, v) = objection(&c.drc, &accepted(FIRM_A, o, Some("不予受理")));
    assert_eq!((s, v["type"].as_str()), (422, Some("/problems/objection-sequence")), "answered twice: {v}");
    // Upheld without the retraction it must cite is refused; with it, the firm is re-graded.
    let (s, v) = objection(&c.drc, &resolved(FIRM_A, o, true, None));
    assert_eq!((s, v["type"].as_str()), (422, Some("/problems/objection-correction")), "{v}");
    let retraction = record(
        "retraction",
        FIRM_A,
        "zibo-drc",
        "2026-11-22",
        "撤〔2026〕异1",
        json!({"target_index": target, "ground": "error", "reason": "异议核实有误"}),
    );
    let r = submit(&c.drc, &[retraction])[0]["index"].as_u64().unwrap();
    ok(objection(&c.drc, &resolved(FIRM_A, o, true, Some(r))));
    // The firm is re-graded at once: its newest decision no longer counts the retracted record
    // (the retraction triggered it; the upheld objection re-grades again only if that changed
    // nothing yet).
    let newest = decisions_of(&c).pop().expect("a decision");
    assert!(newest["stopped"].get(target.to_string()).is_some(), "{newest}");
    assert_ne!(class_of(&c), "none");
    let _ = class_before;
    let state = &ok(c.firm_a.get(&format!("/v1/enterprises/{FIRM_A}/objections")))["objections"][0];
    assert_eq!((state["status"].as_str(), state["resolution"]["correction_index"].as_u64()), (Some("upheld"), Some(r)));
    let entry = ok(c.firm_a.get(&format!("/v1/entries/{target}")));
    assert!(entry.get("disputed_by").is_none(), "no longer disputed once resolved: {entry}");
    let (s, v) = objection(&c.drc, &resolved(FIRM_A, o, false, None));
    assert_eq!((s, v["type"].as_str()), (422, Some("/problems/objection-sequence")), "resolved twice: {v}");
    assert_eq!(v["field"], "objection_index", "{v}");

    // A second objection, rejected with a reason the firm reads.
    let keep = submit(&c.drc, &[commitment_outcome(FIRM_A, "发改信〔2025〕5号")])[0]["index"].as_u64().unwrap();
    let o2 = ok(objection(&c.firm_a, &filed(FIRM_A, keep, "2026-11-20")))["index"].as_u64().unwrap();
    ok(objection(&c.drc, &accepted(FIRM_A, o2, None)));
    ok(objection(&c.drc, &resolved(FIRM_A, o2, false, None)));
    // Who may not read: another firm, a firm asking for every objection, an anonymous caller;
    // the same for repairs and commitments.
    for what in ["objections", "repairs", "commitments"] {
        assert_eq!(c.firm_b.get(&format!("/v1/enterprises/{FIRM_A}/{what}")).0, 403, "another firm's {what}");
        assert_eq!(c.firm_a.get(&format!("/v1/{what}")).0, 403, "a firm lists every firm's {what}");
        assert_eq!(c.server.get(&format!("/v1/enterprises/{FIRM_A}/{what}")).0, 401, "anonymous {what}");
    }
    let list = ok(c.firm_a.get(&format!("/v1/enterprises/{FIRM_A}/objections")));
    let second = list["objections"].as_array().unwrap().iter().find(|x| x["index"] == o2).unwrap().clone();
    assert_eq!(
        (second["status"].as_str(), second["resolution"]["reason"].as_str()),
        (Some("rejected"), Some("经核实，记录无误"))
    );

    // Offline, the firm's bundle with its objections verifies, and the report says so.
    let b: verifier::evidence::Bundle =
        serde_json::from_value(ok(c.firm_a.get(&format!("/v1/enterprises/{FIRM_A}/bundle")))).unwrap();
    let report =
        verifier::evidence::verify_bundle(&b, &verifier::evidence::Trust::LogKey(c.server.verifier_key.clone()), None)
            .unwrap();
    assert!(report.checks.iter().any(|c| c.starts_with("2 objection(s) (异议)")), "{:?}", report.checks);
}

fn decisions_of(c: &City) -> Vec<Value> {
    let h = ok(c.firm_a.get(&format!("/v1/enterprises/{FIRM_A}/history")));
    h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["content"]["envelope"]["payloadType"] == verifier::envelope::DECISION_TYPE)
        .map(|e| {
            let p = base64::Engine::decode(
                &base64::prelude::BASE64_STANDARD,
                e["content"]["envelope"]["payload"].as_str().unwrap(),
            )
            .unwrap();
            serde_json::from_slice(&p).unwrap()
        })
        .collect()
}

fn repair_step(signer: &Signer, step: &verifier::repair::Step) -> (u16, Value) {
    signer.post("/v1/repairs", &serde_json::to_value(step.sign(&signer.key)).unwrap())
}

fn penalty_of(subject: &str, date: &str, reference: &str, severity: &str, penalties: &[&str]) -> Value {
    let fine = if penalties.contains(&"fine") { 200_000 } else { 0 };
    record(
        "administrative_penalty",
        subject,
        "zibo-amr",
        date,
        reference,
        json!({"violation_type": "虚假广告", "violation": "发布虚假广告", "penalties": penalties,
               "fine_amount_fen": fine, "severity": severity, "publicity_months": 36}),
    )
}

fn applied(subject: &str, target: u64) -> verifier::repair::Step {
    verifier::repair::Step::Applied {
        kind: verifier::repair::REPAIR_FORMAT.into(),
        subject: subject.into(),
        target_index: target,
        commitment: "本企业承诺依法诚信经营".into(),
        proofs: vec![verifier::repair::Proof { description: "罚款缴纳凭证".into(), sha256: "ab".repeat(32) }],
        date: verifier::Date::parse("2026-11-20").unwrap(),
    }
}

/// Credit repair (信用修复, issue 8): refused for each rule with the rule named (too early, with
/// the earliest day; unrepairable; a repeat violation; a listing in force); approved after the
/// credit interview by the department that made the penalty, which stops the penalty in the
/// firm's next decision; the penalty itself still verifies in the firm's bundle.
#[test]
fn credit_repair_is_refused_by_each_rule_and_an_approved_repair_stops_the_penalty() {
    let c = city();
    let b = firm_b();
    let idx = |v: &[Value]| v[0]["index"].as_u64().unwrap();
    let refused = |signer: &Signer, step: &verifier::repair::Step, rule: &str| {
        let (s, v) = repair_step(signer, step);
        assert_eq!(v["type"].as_str(), Some(format!("/problems/{rule}").as_str()), "{s} {v}");
        v
    };
    // Too early: an ordinary penalty of 1 October is repairable from 1 January.
    let early = idx(&submit(&c.amr, &[penalty_of(&b, "2026-10-01", "罚B1", "ordinary", &["fine"])]));
    let v = refused(&c.firm_b, &applied(&b, early), "repair-too-early");
    assert!(v["detail"].as_str().unwrap().contains("2027-01-01"), "names the earliest day: {v}");
    // A repeat violation: a later penalty by the same department is in force.
    let old = idx(&submit(&c.amr, &[penalty_of(&b, "2026-01-15", "罚B2", "ordinary", &["fine"])]));
    refused(&c.firm_b, &applied(&b, old), "repair-repeat-violation");
    // Unrepairable: a licence revoked.
    let heavy =
        idx(&submit(&c.amr, &[penalty_of(FIRM_A, "2025-01-10", "罚A0", "serious", &["fine", "licence_revoked"])]));
    refused(&c.firm_a, &applied(FIRM_A, heavy), "repair-unrepairable");
    // Only the firm applies.
    let p1 = idx(&submit(&c.amr, &[penalty_of(FIRM_A, "2026-06-01", "罚A1", "ordinary", &["fine"])]));
    refused(&c.amr, &applied(FIRM_A, p1), "repair-by-the-firm");
    refused(&c.firm_b, &applied(FIRM_A, p1), "repair-by-the-firm");

    let app = ok(repair_step(&c.firm_a, &applied(FIRM_A, p1)))["index"].as_u64().unwrap();
    let step = |s: verifier::repair::Step| s;
    let interview = step(verifier::repair::Step::Interviewed {
        kind: verifier::repair::REPAIR_FORMAT.into(),
        subject: FIRM_A.into(),
        application_index: app,
        summary: "企业已缴清罚款并整改，承诺守法经营".into(),
        date: verifier::Date::parse("2026-11-21").unwrap(),
    });
    let decide = |approved: bool| verifier::repair::Step::Decided {
        kind: verifier::repair::REPAIR_FORMAT.into(),
        subject: FIRM_A.into(),
        application_index: app,
        approved,
        reason: if approved { "符合修复条件，准予修复".into() } else { "材料不全".into() },
        date: verifier::Date::parse("2026-11-22").unwrap(),
    };
    // Decided before the interview: out of sequence. By another department: not routed to it.
    refused(&c.amr, &decide(true), "repair-sequence");
    refused(&c.drc, &interview, "repair-routed");
    ok(repair_step(&c.amr, &interview));
    ok(repair_step(&c.amr, &decide(true)));
    let state = &ok(c.firm_a.get(&format!("/v1/enterprises/{FIRM_A}/repairs")))["repairs"][0];
    assert_eq!(state["status"], "approved", "{state}");
    // The firm's newest decision no longer counts the repaired penalty from the day of the
    // decision; the penalty stays in the log.
    let newest = decisions_of(&c).pop().expect("a decision");
    assert_eq!(newest["stopped"][p1.to_string()], "2026-11-22", "{newest}");
    assert!(newest["records"].as_array().unwrap().iter().any(|r| r == p1), "still cited: {newest}");
    refused(&c.amr, &decide(false), "repair-sequence");
    // Its public disclosure stops, and the view says it was repaired.
    let d = ok(c.firm_b.get(&format!("/v1/enterprises/{FIRM_A}/disclosure")));
    assert!(!d["records"].as_array().unwrap().iter().any(|r| r["index"] == p1), "{d}");
    let s = d["stopped"].as_array().unwrap().iter().find(|s| s["index"] == p1).cloned().unwrap_or_default();
    assert_eq!((s["how"].as_str(), s["on"].as_str()), (Some("repaired"), Some("2026-11-22")), "{d}");

    // A listing in force blocks the repair of a minor penalty logged after it.
    let listing = record(
        "serious_dishonesty_listing",
        FIRM_A,
        "zibo-amr",
        "2026-11-01",
        "列严〔2026〕1号",
        json!({"grounds": "虚假广告情节严重", "basis": "《市场监督管理严重违法失信名单管理办法》", "publicity_months": 36}),
    );
    assert_eq!(submit(&c.amr, &[listing])[0]["outcome"], "appended");
    let minor = idx(&submit(&c.amr, &[penalty_of(FIRM_A, "2026-11-02", "罚A2", "minor", &["warning"])]));
    refused(&c.firm_a, &applied(FIRM_A, minor), "repair-listing-in-force");

    // Offline, the firm's bundle with the repair verifies, the decision's stop included.
    let bundle: verifier::evidence::Bundle =
        serde_json::from_value(ok(c.firm_a.get(&format!("/v1/enterprises/{FIRM_A}/bundle")))).unwrap();
    verifier::evidence::verify_bundle(&bundle, &verifier::evidence::Trust::LogKey(c.server.verifier_key.clone()), None)
        .unwrap();

    // The scoring view keeps the repair: lost with the power (its file cut short), it is rebuilt
    // from the log when the server starts, and equals the view a rebuild of every view gives
    // (whose digest covers each row of the scoring view, the repair's included).
    let data = c._dir.path().join("data");
    let City { _dir, server, .. } = c;
    server.kill();
    // (A rebuild first, so that the views' database holds how long the file was: a killed
    // server may leave it behind, and the server would then apply the tail again instead.)
    e2e::assert_rebuilds_identically(&data);
    let dat = data.join("scoring/scoring.dat");
    let len = std::fs::metadata(&dat).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&dat).unwrap().set_len(len / 2).unwrap();
    let server = Server::start(&data, &["--checkpoint-interval-ms", "5"]);
    assert!(
        server.banner.iter().any(|l| l.starts_with("rebuilt the scoring view from the log")),
        "{:?}",
        server.banner
    );
    server.kill();
    assert_eq!(std::fs::metadata(&dat).unwrap().len(), len, "the scoring view was rebuilt");
    e2e::assert_rebuilds_identically(&data);
}

/// Public disclosure (公示, issue 8): anyone sees a firm's public records within their publicity
/// period, each provable against the log without revealing its chain; never a private kind, a
/// class, a record past its period, nor a corrected one (listed as corrected instead).
#[test]
fn disclosure_shows_public_records_only_and_each_checks_against_the_log() {
    let c = city();
    let shown = submit(&c.amr, &[penalty_of(FIRM_A, "2026-06-01", "罚D1", "ordinary", &["fine"])])[0]["index"]
        .as_u64()
        .unwrap();
    let mut unpublished = penalty_of(FIRM_A, "2026-06-02", "罚D2", "minor", &["warning"]);
    unpublished["fields"]["publicity_months"] = json!(0);
    let mut expired = penalty_of(FIRM_A, "2020-01-01", "罚D3", "minor", &["warning"]);
    expired["fields"]["publicity_months"] = json!(12);
    let corrected =
        submit(&c.amr, &[unpublished, expired, penalty_of(FIRM_A, "2026-06-03", "罚D4", "minor", &["warning"])]);
    let corrected = corrected[2]["index"].as_u64().unwrap();
    submit(
        &c.amr,
        &[record(
            "retraction",
            FIRM_A,
            "zibo-amr",
            "2026-11-20",
            "撤D4",
            json!({"target_index": corrected, "ground": "error", "reason": "误报"}),
        )],
    );
    let complaint = record(
        "verified_complaint",
        FIRM_A,
        "zibo-12345",
        "2026-06-05",
        "诉D5",
        json!({"channel": "12345", "complaint_type": "价格", "substantiated": true}),
    );
    assert_eq!(submit(&c.hotline, &[complaint])[0]["outcome"], "appended");
    ok(c.ga.post(
        "/v1/regrade?wait=true",
        &serde_json::to_value(registry::grading::sign_order(
            &c.model,
            verifier::Date::parse("2026-11-20").unwrap(),
            &c.ga.key,
        ))
        .unwrap(),
    ));

    // Anonymous: no signature needed.
    let (status, body) = c.server.get(&format!("/v1/enterprises/{FIRM_A}/disclosure"));
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    let d: Value = serde_json::from_str(&text).unwrap();
    let refs: Vec<&str> = d["records"].as_array().unwrap().iter().map(|r| r["reference"].as_str().unwrap()).collect();
    assert_eq!(refs, ["罚D1"], "only the public penalty in its period: {d}");
    assert_eq!(d["records"][0]["index"], shown);
    assert_eq!(d["stopped"][0]["reference"], "罚D4");
    assert_eq!(d["stopped"][0]["how"], "corrected");
    for private in ["诉D5", "previous_leaf", "\"chain\"", "breakdown", "score_class"] {
        assert!(!text.contains(private), "the disclosure reveals {private}: {text}");
    }
    // From the command line, each record is checked against the log key.
    let (good, out, err) =
        cli(&["disclosure", "--uscc", FIRM_A, "--server", &c.server.url, "--log-key", &c.server.verifier_key]);
    assert!(good, "{out}{err}");
    assert!(
        out.contains("罚D1") && out.contains("in the log, committed to this firm, signed by department zibo-amr"),
        "{out}"
    );
    assert!(out.contains("corrected (更正/撤回)"), "{out}");
    // A checkpoint that the pinned log key did not sign is refused.
    let (good, _, _) = cli(&[
        "disclosure",
        "--uscc",
        &firm_b(),
        "--server",
        &c.server.url,
        "--log-key",
        "other+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ]);
    assert!(!good, "a checkpoint signed by another key is refused");
}

/// A firm's own commitments (信用承诺, issue 8): made by the firm, checked by the department it
/// names, once; a broken one is a record that counts; unchecked past the due day, overdue.
#[test]
fn commitments_are_checked_once_by_the_named_department() {
    let c = city();
    let commit = |subject: &str, department: &str, due: &str| verifier::commitment::Commitment {
        kind: verifier::commitment::COMMITMENT_FORMAT.into(),
        subject: subject.into(),
        commitment_type: "notice_and_commitment".parse().unwrap(),
        department: department.into(),
        content: "三个月内补齐消防验收材料".into(),
        due: verifier::Date::parse(due).unwrap(),
        date: verifier::Date::parse("2026-11-20").unwrap(),
    };
    let make = |signer: &Signer, cm: &verifier::commitment::Commitment| {
        signer.post("/v1/commitments", &serde_json::to_value(cm.sign(&signer.key)).unwrap())
    };
    let (s, v) = make(&c.firm_b, &commit(FIRM_A, "zibo-drc", "2026-12-15"));
    assert_eq!((s, v["type"].as_str()), (403, Some("/problems/commitment-by-the-firm")), "{v}");
    let (s, v) = make(&c.firm_a, &commit(FIRM_A, "zibo-court", "2026-12-15"));
    assert_eq!((s, v["type"].as_str()), (422, Some("/problems/commitment-checked")), "not a checking department: {v}");
    let a = ok(make(&c.firm_a, &commit(FIRM_A, "zibo-drc", "2026-12-15")))["index"].as_u64().unwrap();
    let b = ok(make(&c.firm_b, &commit(&firm_b(), "zibo-drc", "2026-12-01")))["index"].as_u64().unwrap();

    let outcome = |dept: &str, n: u32, kept: bool| {
        record(
            "commitment_outcome",
            FIRM_A,
            dept,
            "2026-11-25",
            &format!("核〔2026〕{n}号"),
            json!({"commitment_reference": "承诺", "commitment_index": a, "kept": kept}),
        )
    };
    let r = &submit(&c.hotline, &[outcome("zibo-12345", 1, false)])[0];
    assert_eq!(r["rule_name"], "department-kinds", "the hotline does not record outcomes: {r}");
    assert_eq!(submit(&c.drc, &[outcome("zibo-drc", 2, false)])[0]["outcome"], "appended");
    let r = &submit(&c.drc, &[outcome("zibo-drc", 3, true)])[0];
    assert_eq!(r["rule_name"], "commitment-checked", "checked once: {r}");

    let mine = ok(c.drc.get("/v1/commitments"));
    let list = mine["commitments"].as_array().unwrap();
    let of = |i: u64| list.iter().find(|x| x["index"] == i).cloned().unwrap();
    assert_eq!((of(a)["status"].as_str(), of(b)["status"].as_str()), (Some("broken"), Some("open")), "{mine}");
    let late = ok(c.drc.get("/v1/commitments?overdue=true&as_of=2027-01-01"));
    let late: Vec<u64> = late["commitments"].as_array().unwrap().iter().map(|x| x["index"].as_u64().unwrap()).collect();
    assert_eq!(late, [b], "only the unchecked one is overdue");
    let own = ok(c.firm_a.get(&format!("/v1/enterprises/{FIRM_A}/commitments")));
    assert_eq!(own["commitments"][0]["status"], "broken");

    let bundle: verifier::evidence::Bundle =
        serde_json::from_value(ok(c.firm_a.get(&format!("/v1/enterprises/{FIRM_A}/bundle")))).unwrap();
    verifier::evidence::verify_bundle(&bundle, &verifier::evidence::Trust::LogKey(c.server.verifier_key.clone()), None)
        .unwrap();
}

fn redaction(signer: &Signer, department: &str, entries: &[u64], rule: RedactionRule) -> (u16, Value) {
    let r = Redaction {
        kind: verifier::redaction::REDACTION_FORMAT.into(),
        subject: FIRM_A.into(),
        department: department.into(),
        entries: entries.to_vec(),
        rule,
        reason: "更正后删除原记录中的个人信息".into(),
        date: verifier::Date::parse("2026-11-29").unwrap(),
    };
    signer.post("/v1/redactions", &serde_json::to_value(r.sign(&signer.key)).unwrap())
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_holding(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_holding(&path, needle));
        } else if std::fs::read(&path).unwrap().windows(needle.len()).any(|w| w == needle) {
            out.push(path.display().to_string());
        }
    }
    out
}

/// Retention and redaction (issue 8): only the department that made a record redacts it, only
/// under a rule that holds (here: personal data, after the record was retracted); its content is
/// then gone from every file of the data folder, the firm's bundle still verifies with the stub in
/// its place, and a bundle that claims a redaction the log does not hold fails.
#[test]
fn a_redaction_deletes_the_content_for_good_and_the_bundle_still_verifies() {
    let c = city();
    let data = c._dir.path().join("data");
    // A penalty whose free text holds a person's ID number (it should never have been there).
    let personal = "当事人身份证号370303199001011234";
    let reference = "罚〔2026〕隐1号";
    let penalty = record(
        "administrative_penalty",
        FIRM_A,
        "zibo-amr",
        "2026-09-01",
        reference,
        json!({"violation_type": "虚假广告", "violation": personal, "penalties": ["warning"], "fine_amount_fen": 0,
               "severity": "minor", "publicity_months": 3}),
    );
    let env = Envelope::sign(RECORD_TYPE, &serde_json::to_vec(&penalty).unwrap(), &c.amr.key);
    let (payload_b64, sig_b64) = (env.payload.clone(), env.signatures[0].sig.clone());
    let target = ok(c.amr.post("/v1/records", &json!({ "records": [env] })))["results"][0]["index"].as_u64().unwrap();
    let other = submit(&c.amr, &[penalty_of(FIRM_A, "2026-10-01", "罚〔2026〕隐2号", "minor", &["warning"])])[0]
        ["index"]
        .as_u64()
        .unwrap();
    // The firm objects to it (the objection stays open through the redaction).
    let o = ok(objection(&c.firm_a, &filed(FIRM_A, target, "2026-11-20")))["index"].as_u64().unwrap();
    // The scan finds the content while it is stored (the oracle works).
    assert!(!files_holding(&data, payload_b64.as_bytes()).is_empty(), "the stored content is on disk");
    // The scoring view holds the record's JSON too, until the redaction zeroes it.
    assert_eq!(files_holding(&data.join("scoring"), personal.as_bytes()).len(), 1, "the scoring view holds the record");

    // Refusals, each naming its rule: the record is still in force; another department; a
    // department posing as the author; the firm; the retention period not over (with the day).
    let rule = |r: (u16, Value)| (r.0, r.1["type"].as_str().unwrap_or("").to_owned(), r.1["detail"].clone());
    let (s, t, d) = rule(redaction(&c.amr, "zibo-amr", &[target], RedactionRule::PersonalData));
    assert_eq!((s, t.as_str()), (422, "/problems/redaction-rule"), "{d}");
    let (s, t, d) = rule(redaction(&c.drc, "zibo-drc", &[target], RedactionRule::PersonalData));
    assert_eq!((s, t.as_str()), (403, "/problems/redaction-by-author"), "{d}");
    let (s, t, d) = rule(redaction(&c.drc, "zibo-amr", &[target], RedactionRule::PersonalData));
    assert_eq!((s, t.as_str()), (403, "/problems/redaction-by-author"), "{d}");
    let (s, t, d) = rule(redaction(&c.firm_a, "zibo-amr", &[target], RedactionRule::PersonalData));
    assert_eq!((s, t.as_str()), (403, "/problems/redaction-by-author"), "{d}");
    let (s, t, d) = rule(redaction(&c.amr, "zibo-amr", &[target], RedactionRule::Retention));
    assert_eq!((s, t.as_str()), (422, "/problems/redaction-rule"), "{d}");
    let earliest = verifier::Date::parse(&verifier_today(&c)).unwrap().add_months(60).unwrap();
    assert!(d.as_str().unwrap().contains(&format!("may be redacted from {earliest}")), "{d}");

    // The department corrects it: a retraction. A retraction itself is never redacted.
    let retraction = record(
        "retraction",
        FIRM_A,
        "zibo-amr",
        "2026-11-22",
        "撤〔2026〕隐1号",
        json!({"target_index": target, "ground": "error", "reason": "记录含个人信息，更正"}),
    );
    let r = submit(&c.amr, &[retraction])[0]["index"].as_u64().unwrap();
    let (s, t, d) = rule(redaction(&c.amr, "zibo-amr", &[r], RedactionRule::PersonalData));
    assert_eq!((s, t.as_str()), (422, "/problems/redaction-target"), "{d}");
    // Retracted is not enough: what was retracted stays open to audit until it is corrected.
    let (s, t, d) = rule(redaction(&c.amr, "zibo-amr", &[target], RedactionRule::PersonalData));
    assert!(s == 422 && t == "/problems/redaction-rule" && d.as_str().unwrap().contains("not corrected"), "{d}");
    // The correction: the same penalty, same document number, without the ID number.
    let mut corrected = penalty.clone();
    corrected["fields"]["violation"] = json!("发布虚假广告");
    assert_eq!(submit(&c.amr, &[corrected])[0]["outcome"], "appended");

    // Redacted with the CLI, by the department.
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("amr.key");
    keyfile::write(&key, &c.amr.key).unwrap();
    let target_s = target.to_string();
    let (good, out, err) = cli(&[
        "redaction",
        "apply",
        "--server",
        &c.server.url,
        "--key",
        key.to_str().unwrap(),
        "--department",
        "zibo-amr",
        "--uscc",
        FIRM_A,
        "--entries",
        &target_s,
        "--rule",
        "personal-data",
        "--reason",
        "更正后删除原记录中的个人信息",
    ]);
    assert!(good, "{out}{err}");
    let list = ok(c.firm_a.get(&format!("/v1/enterprises/{FIRM_A}/redactions")));
    let by = list["redactions"][0]["index"].as_u64().unwrap();
    assert_eq!(list["redactions"][0]["redaction"]["entries"], json!([target]), "{list}");
    assert!(out.contains(&format!("at entry {by}")), "{out}");

    // Gone from every file of the data folder: the signed payload, its signature, the ID number.
    // (The document number stays, in the correction.)
    for needle in [payload_b64.as_bytes(), sig_b64.as_bytes(), personal.as_bytes()] {
        let found = files_holding(&data, needle);
        assert!(found.is_empty(), "{:?} is still in {found:?}", String::from_utf8_lossy(needle));
    }
    // The entry shows the stub: rule and redaction entry, no content.
    let entry = ok(c.firm_a.get(&format!("/v1/entries/{target}")));
    assert!(entry.get("content").is_none(), "{entry}");
    assert_eq!(
        (entry["redacted"]["rule"].as_str(), entry["redacted"]["by"].as_u64()),
        (Some("personal-data"), Some(by))
    );
    // The open objection about it is still routed to the department that made it.
    let mine = ok(c.amr.get("/v1/objections"));
    assert!(mine["objections"].as_array().unwrap().iter().any(|x| x["index"] == o), "{mine}");
    // The public disclosure shows the correction, and that an earlier version existed.
    let public = c.server.get_json(&format!("/v1/enterprises/{FIRM_A}/disclosure"));
    let was = public["stopped"].as_array().unwrap().iter().find(|s| s["index"] == target).cloned();
    assert_eq!(was.map(|s| s["how"].clone()), Some(json!("corrected_and_redacted")), "{public}");
    assert!(!public.to_string().contains("370303199001011234"), "{public}");
    // Nothing may point at it any more, nor redact it twice.
    let (s, v) = objection(&c.firm_a, &filed(FIRM_A, target, "2026-11-29"));
    assert_eq!((s, v["type"].as_str()), (422, Some("/problems/objection-target")), "{v}");
    let (s, t, d) = rule(redaction(&c.amr, "zibo-amr", &[target], RedactionRule::PersonalData));
    assert_eq!((s, t.as_str()), (422, "/problems/redaction-target"), "{d}");

    // A decision after the redaction (a new penalty, then a re-grading run) no longer cites the
    // record; the one before it cites it.
    let later = submit(&c.amr, &[penalty_of(FIRM_A, "2026-11-02", "罚〔2026〕隐3号", "ordinary", &["fine"])]);
    assert_eq!(later[0]["outcome"], "appended", "{later:?}");
    let o = registry::grading::sign_order(&c.model, verifier::Date::parse(&verifier_today(&c)).unwrap(), &c.ga.key);
    ok(c.ga.post("/v1/regrade?wait=true", &serde_json::to_value(&o).unwrap()));
    let decisions = decisions_of(&c);
    let newest = decisions.last().unwrap();
    assert!(!newest["records"].as_array().unwrap().contains(&json!(target)), "{newest}");
    assert!(decisions.iter().any(|d| d["records"].as_array().unwrap().contains(&json!(target))));

    // The firm's bundle still verifies, offline, and says what was redacted.
    let trust = verifier::evidence::Trust::LogKey(c.server.verifier_key.clone());
    let bundle: verifier::evidence::Bundle =
        serde_json::from_value(ok(c.firm_a.get(&format!("/v1/enterprises/{FIRM_A}/bundle")))).unwrap();
    let report = verifier::evidence::verify_bundle(&bundle, &trust, None).unwrap();
    assert!(
        report.checks.iter().any(|l| l.starts_with("1 entry was redacted (删除) under rule personal-data")),
        "{:?}",
        report.checks
    );
    // Decisions made while the record was stored cite it and cannot be replayed any more.
    assert!(report.checks.iter().any(|l| l.contains(&format!("record {target}, which it cites, was redacted since"))));
    // The retraction, logged before the redaction, pointed at the record: checked by its header.
    assert!(report.checks.iter().any(|l| l.starts_with(&format!("entry {r} points at entry {target}"))));
    // A bundle up to an entry before the redaction reaches the redaction, and verifies.
    let upto: verifier::evidence::Bundle =
        serde_json::from_value(ok(c.firm_a.get(&format!("/v1/enterprises/{FIRM_A}/bundle?upto={target}")))).unwrap();
    assert!(upto.entries.iter().any(|e| e.index == by), "the redaction entry comes along");
    verifier::evidence::verify_bundle(&upto, &trust, None).unwrap();
    let verdict = |b: &verifier::evidence::Bundle| verifier::evidence::verify_bundle(b, &trust, None).unwrap_err();
    // Without the redaction entry, the claim fails.
    let mut forged = bundle.clone();
    forged.entries.retain(|e| e.index != by);
    let e = verdict(&forged);
    assert_eq!((e.index, e.check.as_str()), (Some(target), "redaction"), "{e}");
    assert!(e.detail.contains(&format!("entry {by} is not in the bundle")), "{e}");
    // A stub under another rule than the redaction's.
    let mut forged = bundle.clone();
    forged.entries.iter_mut().find(|e| e.index == target).unwrap().redacted.as_mut().unwrap().rule =
        RedactionRule::Retention;
    assert_eq!(verdict(&forged).check, "redaction");
    // A stub in place of a content the redaction does not name: another penalty (a server
    // hiding it), or the retraction (never redacted).
    for (victim, why) in [(other, "does not redact this entry"), (r, "is never redacted")] {
        let mut forged = bundle.clone();
        let stub = forged.entries.iter().find(|e| e.index == target).unwrap().redacted.clone().unwrap();
        let entry = forged.entries.iter_mut().find(|e| e.index == victim).unwrap();
        let content = entry.content.take().unwrap();
        entry.redacted = Some(verifier::redaction::Redacted {
            previous_leaf: content.previous_leaf.clone(),
            subject_salt: content.salts.subject.clone().unwrap(),
            chain_salt: content.salts.chain.clone().unwrap(),
            ..stub
        });
        let e = verdict(&forged);
        assert_eq!((e.index, e.check.as_str()), (Some(victim), "redaction"), "{e}");
        assert!(e.detail.contains(why), "{e}");
    }
    // Neither a content nor a stub.
    let mut forged = bundle.clone();
    forged.entries.iter_mut().find(|e| e.index == target).unwrap().redacted = None;
    assert_eq!(verdict(&forged).check, "format");

    // The views rebuilt from the log and the stored stubs are the same as those kept on line.
    let size = c.server.checkpoint().size;
    let City { _dir, server, .. } = c;
    server.kill();
    e2e::assert_rebuilds_identically(&data);
    assert!(size > by);
}

fn verifier_today(c: &City) -> String {
    ok(c.firm_a.get("/v1/jurisdiction"))["today"].as_str().unwrap().to_owned()
}

fn sanction(signer: &Signer, step: &verifier::sanction::Step) -> (u16, Value) {
    signer.post("/v1/sanctions", &serde_json::to_value(step.sign(&signer.key)).unwrap())
}

#[allow(clippy::too_many_arguments)]
fn imposed(
    department: &str,
    basis: &[u64],
    measure: &str,
    start: verifier::Date,
    end: verifier::Date,
    date: verifier::Date,
    reference: &str,
) -> verifier::sanction::Step {
    verifier::sanction::Step::Imposed {
        kind: verifier::sanction::SANCTION_FORMAT.into(),
        subject: FIRM_A.into(),
        department: department.into(),
        measures: vec![measure.parse().unwrap()],
        basis: basis.to_vec(),
        legal_basis: "《关于对失信主体实施联合惩戒的合作备忘录》".into(),
        start,
        end,
        date,
        reference: reference.into(),
    }
}

fn lifted(department: &str, sanction_index: u64, date: verifier::Date) -> verifier::sanction::Step {
    verifier::sanction::Step::Lifted {
        kind: verifier::sanction::SANCTION_FORMAT.into(),
        subject: FIRM_A.into(),
        department: department.into(),
        sanction_index,
        reason: "当事人已履行义务，提前解除".into(),
        date,
    }
}

/// Asks whether firm A is restricted for `purpose` on `date`, checks the answer verifies
/// offline (checkpoint, proofs, signatures), and returns it.
fn interception(c: &City, purpose: &str, date: verifier::Date) -> Value {
    let v = ok(c.hotline.get(&format!("/v1/check?uscc={FIRM_A}&purpose={purpose}&date={date}")));
    let answer: verifier::interception::CheckAnswer = serde_json::from_value(v.clone()).unwrap();
    verifier::interception::verify_answer(&answer, &verifier::evidence::Trust::LogKey(c.server.verifier_key.clone()))
        .unwrap_or_else(|e| panic!("the answer does not verify: {e}\n{v}"));
    v
}

/// Interception (自动拦截, issue 9): a check flips from allowed to restricted when a sanction
/// starts, and back when it ends, when its basis penalty is retracted, repaired, or when an
/// objection against its basis is upheld, and when its department lifts it; a class-only
/// sanction and another department's lift are refused; every check is journalled for the firm;
/// and the firm's bundle with its sanctions verifies offline.
#[test]
fn interception_flips_with_the_sanction_its_basis_and_its_lifting() {
    let c = city();
    let day = |d: &str| verifier::Date::parse(d).unwrap();
    let today = day(&verifier_today(&c));
    let idx = |v: &[Value]| v[0]["index"].as_u64().unwrap();
    let p1 = idx(&submit(&c.amr, &[penalty_of(FIRM_A, "2026-03-01", "罚S1", "ordinary", &["fine"])]));
    let p3 = idx(&submit(&c.amr, &[penalty_of(FIRM_A, "2026-04-01", "罚S3", "ordinary", &["fine"])]));
    let p2 = idx(&submit(&c.amr, &[penalty_of(FIRM_A, "2026-06-01", "罚S2", "minor", &["warning"])]));
    // A grade decision about the firm (the risk class itself).
    let order = registry::grading::sign_order(&c.model, today, &c.ga.key);
    ok(c.ga.post("/v1/regrade?wait=true", &serde_json::to_value(&order).unwrap()));
    let history = ok(c.firm_a.get(&format!("/v1/enterprises/{FIRM_A}/history")));
    let d = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["content"]["envelope"]["payloadType"] == verifier::envelope::DECISION_TYPE)
        .expect("a decision")["index"]
        .as_u64()
        .unwrap();
    let end = today.add_days(30).unwrap();
    let refused = |signer: &Signer, step: &verifier::sanction::Step, status: u16, rule: &str| {
        let (s, v) = sanction(signer, step);
        assert_eq!((s, v["type"].as_str()), (status, Some(format!("/problems/{rule}").as_str())), "{v}");
        v
    };

    // Refused: the class alone as the basis (default policy); a licence or another firm's entry.
    let v =
        refused(&c.drc, &imposed("zibo-drc", &[d], "bidding", today, end, today, "惩0"), 422, "sanction-class-basis");
    assert!(v["detail"].as_str().unwrap().contains("risk class"), "{v}");
    let other = idx(&submit(&c.amr, &[penalty_of(&firm_b(), "2026-03-01", "罚B", "ordinary", &["fine"])]));
    refused(&c.drc, &imposed("zibo-drc", &[other], "bidding", today, end, today, "惩0"), 422, "sanction-basis");
    // In another department's name.
    refused(&c.amr, &imposed("zibo-drc", &[p1], "bidding", today, end, today, "惩0"), 403, "sanction-by-department");

    // S1 on p1 restricts bidding from today to `end`.
    let s1 = ok(sanction(&c.drc, &imposed("zibo-drc", &[p1], "bidding", today, end, today, "惩1")))["index"]
        .as_u64()
        .unwrap();
    let before = interception(&c, "bidding", today.add_days(-1).unwrap());
    assert_eq!(before["answer"], "allowed", "{before}");
    assert_eq!(before["not_in_force"][0]["status"]["status"], "not-started", "{before}");
    let during = interception(&c, "bidding", today);
    assert_eq!(during["answer"], "restricted", "{during}");
    assert_eq!(during["in_force"][0]["index"], s1);
    let basis = &during["in_force"][0]["basis"][0];
    assert_eq!(
        (basis["index"].as_u64(), basis["kind"].as_str(), basis["department"].as_str()),
        (Some(p1), Some("record/administrative_penalty"), Some("zibo-amr")),
        "{during}"
    );
    assert_eq!(interception(&c, "bidding", end)["answer"], "restricted");
    let after = interception(&c, "bidding", end.add_days(1).unwrap());
    assert_eq!(
        (after["answer"].as_str(), after["not_in_force"][0]["status"]["status"].as_str()),
        (Some("allowed"), Some("ended"))
    );
    assert_eq!(interception(&c, "fiscal_subsidy", today)["answer"], "allowed", "another purpose");

    // S2 on p2 (subsidies), S3 on p3 and the decision (new credit), S4 on p3 (honours).
    let s2 = ok(sanction(&c.drc, &imposed("zibo-drc", &[p2], "fiscal_subsidy", today, end, today, "惩2")))["index"]
        .as_u64()
        .unwrap();
    ok(sanction(&c.drc, &imposed("zibo-drc", &[p3, d], "new_credit", today, end, today, "惩3")));
    let s4 = ok(sanction(&c.drc, &imposed("zibo-drc", &[p3], "honours", today, end, today, "惩4")))["index"]
        .as_u64()
        .unwrap();
    for purpose in ["fiscal_subsidy", "new_credit", "honours"] {
        assert_eq!(interception(&c, purpose, today)["answer"], "restricted", "{purpose}");
    }

    // Another department may not lift it; the firm may not either.
    refused(&c.amr, &lifted("zibo-amr", s4, today), 403, "sanction-by-department");
    refused(&c.firm_a, &lifted("zibo-drc", s4, today), 403, "sanction-by-department");
    refused(&c.drc, &lifted("zibo-drc", p3, today), 422, "sanction-lift");

    // The basis penalty retracted: allowed at once, saying why.
    let retraction = record(
        "retraction",
        FIRM_A,
        "zibo-amr",
        &today.to_string(),
        "撤〔2026〕S1",
        json!({"target_index": p1, "ground": "error", "reason": "处罚决定已撤销"}),
    );
    let r = idx(&submit(&c.amr, &[retraction]));
    let v = interception(&c, "bidding", today);
    assert_eq!(v["answer"], "allowed", "{v}");
    assert_eq!(v["not_in_force"][0]["status"]["why"], json!({"reason": "retracted", "by": r}), "{v}");
    // And it is no basis for a new sanction.
    let v = refused(&c.drc, &imposed("zibo-drc", &[p1], "bidding", today, end, today, "惩5"), 422, "sanction-basis");
    assert!(v["detail"].as_str().unwrap().contains("retracted"), "{v}");

    // The basis penalty repaired (信用修复): allowed once the repair is approved.
    let app = ok(repair_step(&c.firm_a, &applied(FIRM_A, p2)))["index"].as_u64().unwrap();
    ok(repair_step(
        &c.amr,
        &verifier::repair::Step::Interviewed {
            kind: verifier::repair::REPAIR_FORMAT.into(),
            subject: FIRM_A.into(),
            application_index: app,
            summary: "企业已整改".into(),
            date: day("2026-11-21"),
        },
    ));
    assert_eq!(interception(&c, "fiscal_subsidy", today)["answer"], "restricted", "not until approved");
    let approval = ok(repair_step(
        &c.amr,
        &verifier::repair::Step::Decided {
            kind: verifier::repair::REPAIR_FORMAT.into(),
            subject: FIRM_A.into(),
            application_index: app,
            approved: true,
            reason: "准予修复".into(),
            date: day("2026-11-22"),
        },
    ))["index"]
        .as_u64()
        .unwrap();
    let v = interception(&c, "fiscal_subsidy", today);
    assert_eq!(v["answer"], "allowed", "{v}");
    assert_eq!(v["not_in_force"][0]["index"], s2);
    assert_eq!(v["not_in_force"][0]["status"]["why"], json!({"reason": "repaired", "by": approval}), "{v}");

    // An objection against the decision in its basis upheld by the grading authority: allowed.
    let o = ok(objection(&c.firm_a, &filed(FIRM_A, d, "2026-11-20")))["index"].as_u64().unwrap();
    ok(objection(&c.ga, &accepted(FIRM_A, o, None)));
    assert_eq!(interception(&c, "new_credit", today)["answer"], "restricted", "not while only accepted");
    let upheld = ok(objection(&c.ga, &resolved(FIRM_A, o, true, None)))["index"].as_u64().unwrap();
    let v = interception(&c, "new_credit", today);
    assert_eq!(v["answer"], "allowed", "{v}");
    assert_eq!(v["not_in_force"][0]["status"]["why"], json!({"reason": "objection-upheld", "by": upheld}), "{v}");

    // Lifted early by its own department, from the lift's day.
    let lift = ok(sanction(&c.drc, &lifted("zibo-drc", s4, today)))["index"].as_u64().unwrap();
    let v = interception(&c, "honours", today);
    assert_eq!((v["answer"].as_str(), v["not_in_force"][0]["status"]["by"].as_u64()), (Some("allowed"), Some(lift)));
    refused(&c.drc, &lifted("zibo-drc", s4, today.add_days(1).unwrap()), 422, "sanction-lift");

    // The firm sees its sanctions and every check made about it; another firm sees neither.
    let mine = ok(c.firm_a.get(&format!("/v1/enterprises/{FIRM_A}/sanctions")));
    assert_eq!(mine["sanctions"].as_array().unwrap().len(), 4, "{mine}");
    let checks = ok(c.firm_a.get(&format!("/v1/enterprises/{FIRM_A}/checks")))["checks"].as_array().unwrap().clone();
    assert_eq!(checks.len(), 14, "one per check: {checks:?}");
    assert_eq!(checks[0]["who"], "department zibo-12345");
    assert!(checks[0]["what"].as_str().unwrap().starts_with("check bidding on "), "{:?}", checks[0]);
    assert_eq!(c.firm_b.get(&format!("/v1/enterprises/{FIRM_A}/checks")).0, 403);
    assert_eq!(c.firm_b.get(&format!("/v1/enterprises/{FIRM_A}/sanctions")).0, 403);

    // Offline, the firm's bundle with its sanctions and lift verifies (the same rules).
    let b: verifier::evidence::Bundle =
        serde_json::from_value(ok(c.firm_a.get(&format!("/v1/enterprises/{FIRM_A}/bundle")))).unwrap();
    verifier::evidence::verify_bundle(&b, &verifier::evidence::Trust::LogKey(c.server.verifier_key.clone()), None)
        .unwrap();
}

/// `creditlog check` verifies a real answer (exit 3: restricted, 0: allowed), keeps it as
/// evidence, and rejects a kept answer whose proof or sanction was altered (exit 1).
#[test]
fn creditlog_check_verifies_the_answer_and_rejects_a_tampered_one() {
    let c = city();
    let today = verifier::Date::parse(&verifier_today(&c)).unwrap();
    let p = submit(&c.amr, &[penalty_of(FIRM_A, "2026-03-01", "罚C1", "ordinary", &["fine"])])[0]["index"]
        .as_u64()
        .unwrap();
    let end = today.add_days(30).unwrap();
    ok(sanction(&c.drc, &imposed("zibo-drc", &[p], "bidding", today, end, today, "惩C1")));
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("bank.key");
    keyfile::write(&key, &c.hotline.key).unwrap();
    let kept = dir.path().join("answer.json");
    let run = |args: &[&str]| {
        let o = Command::new(binary()).args(args).output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let today_s = today.to_string();
    let ask = |purpose: &str, out: Option<&std::path::Path>| {
        let mut args = vec![
            "check",
            "--uscc",
            FIRM_A,
            "--purpose",
            purpose,
            "--date",
            &today_s,
            "--key",
            key.to_str().unwrap(),
            "--server",
            &c.server.url,
            "--log-key",
            &c.server.verifier_key,
        ];
        if let Some(o) = out {
            args.extend(["--out", o.to_str().unwrap()]);
        }
        run(&args)
    };
    let (code, out, err) = ask("bidding", Some(&kept));
    assert_eq!(code, Some(3), "{out}{err}");
    assert!(out.starts_with("restricted (限制): 1 sanction(s) in force"), "{out}");
    assert!(out.contains("verified (已验证)") && out.contains("zibo-amr"), "{out}");
    let (code, out, err) = ask("market_access", None);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("allowed (允许)"), "{out}");

    // The kept answer verifies offline; altered, it does not.
    let offline = |file: &std::path::Path| {
        run(&[
            "check",
            "--uscc",
            FIRM_A,
            "--purpose",
            "bidding",
            "--answer",
            file.to_str().unwrap(),
            "--log-key",
            &c.server.verifier_key,
        ])
    };
    let (code, out, err) = offline(&kept);
    assert_eq!(code, Some(3), "{out}{err}");
    let answer: Value = serde_json::from_slice(&std::fs::read(&kept).unwrap()).unwrap();
    let tamper = |name: &str, f: &dyn Fn(&mut Value)| -> String {
        let mut a = answer.clone();
        f(&mut a);
        let file = dir.path().join(name);
        std::fs::write(&file, serde_json::to_vec(&a).unwrap()).unwrap();
        let (code, out, err) = offline(&file);
        assert_eq!(code, Some(1), "{name}: {out}{err}");
        err
    };
    let err = tamper("proof.json", &|a| {
        let proof = a["in_force"][0]["proof"].as_str().unwrap().to_owned();
        let mut lines: Vec<String> = proof.split('\n').map(str::to_owned).collect();
        let h = &mut lines[2];
        let first = if h.starts_with('A') { "B" } else { "A" };
        h.replace_range(0..1, first);
        a["in_force"][0]["proof"] = lines.join("\n").into();
    });
    assert!(err.contains("not in the log"), "{err}");
    let err = tamper("sanction.json", &|a| a["in_force"][0]["sanction"]["end"] = "2099-12-31".into());
    assert!(err.contains("not the one the department signed"), "{err}");
    let err = tamper("basis.json", &|a| a["in_force"][0]["basis"][0]["kind"] = "decision/grade".into());
    assert!(err.contains("basis entry"), "{err}");
    let err = tamper("verdict.json", &|a| {
        a["answer"] = "allowed".into();
    });
    assert!(err.contains("the answer says"), "{err}");
}
