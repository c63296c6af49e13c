//! Supervision nobody can steer, through the real server and the real command line: a plan, its
//! draw, its offline replay, and every way of steering it that the rules refuse.

use e2e::{cli, statement, Server, Signer};
use ed25519_dalek::SigningKey;
use registry::keyfile;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use verifier::envelope::{Envelope, MODEL_TYPE, RECORD_TYPE};
use verifier::identity::{Role, Statement, IDENTITY_STATEMENT};
use verifier::plan::{Draw, Plan, PoolInspector};
use verifier::Date;

fn ok(r: (u16, Value)) -> Value {
    assert_eq!(r.0, 200, "{}", r.1);
    r.1
}

fn firm(n: u32) -> String {
    verifier::uscc::Uscc::from_parts(&format!("91370303{n:09}")).unwrap().as_str().to_owned()
}

fn today() -> Date {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    verifier::jurisdiction::Settings::default().local_date(now)
}

fn ago(days: i64) -> String {
    today().add_days(-days).unwrap().to_string()
}

fn record(kind: &str, subject: &str, dept: &str, date: &str, reference: &str, fields: Value) -> Value {
    json!({"type": "creditlog.record/v1", "kind": kind, "subject": subject, "department": dept, "date": date,
           "reference": reference, "fields": fields})
}

fn submit(signer: &Signer, records: &[Value]) -> Vec<Value> {
    let envs: Vec<Envelope> =
        records.iter().map(|r| Envelope::sign(RECORD_TYPE, &serde_json::to_vec(r).unwrap(), &signer.key)).collect();
    let v = ok(signer.post("/v1/records", &json!({ "records": envs })));
    let results = v["results"].as_array().unwrap().clone();
    for r in &results {
        assert_eq!(r["outcome"], "appended", "{r}");
    }
    results
}

struct City {
    dir: tempfile::TempDir,
    server: Server,
    amr: Signer,
    tax: Signer,
    ga: Signer,
    auditor: Signer,
    firm: Signer,
    model: String,
    firms: u32,
}

impl City {
    fn key_file(&self, name: &str, s: &Signer) -> PathBuf {
        let p = self.dir.path().join(name);
        if !p.exists() {
            keyfile::write(&p, &s.key).unwrap();
        }
        p
    }
}

/// A district of 80 firms: 20 with a licence (class A), 20 with nothing (B), 25 with a serious
/// penalty, 15 with two and a listing; complaints on five class-A firms, inspections this cycle
/// on ten B firms and five C firms; everyone graded.
fn city() -> City {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--checkpoint-interval-ms", "5"]);
    let url = server.url.clone();
    let signer = |key: SigningKey| Signer { url: url.clone(), key };
    let op = signer(keyfile::read(&data.join("operator.key")).unwrap());
    let t = || IDENTITY_STATEMENT.to_owned();
    let dept = |code: &str, kinds: &[&str]| {
        let s = signer(keyfile::generate());
        ok(statement(
            &op,
            &Statement::RegisterDepartment {
                kind: t(),
                code: code.into(),
                name: code.into(),
                kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
                domains: Default::default(),
                capabilities: [verifier::identity::Capability::RegisterEnterprises].into(),
                key: keyfile::public_b64(&s.key),
            },
        ));
        s
    };
    let amr = dept(
        "zibo-amr",
        &[
            "administrative_penalty",
            "administrative_licence",
            "inspection_result",
            "verified_complaint",
            "serious_dishonesty_listing",
            "commitment_outcome",
            "retraction",
        ],
    );
    let tax = dept("zibo-tax", &["tax_credit_grade"]);
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
    let firm_signer = signer(keyfile::generate());
    ok(statement(
        &amr,
        &Statement::BindEnterpriseKey {
            kind: t(),
            subject: firm(0),
            key: keyfile::public_b64(&firm_signer.key),
            proof: verifier::identity::sign_binding(&firm(0), &firm_signer.key),
        },
    ));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let model_text = std::fs::read(root.join("models/general.toml")).unwrap();
    let v = ok(ga.post("/v1/models", &serde_json::to_value(Envelope::sign(MODEL_TYPE, &model_text, &ga.key)).unwrap()));
    let model = v["model"].as_str().unwrap().to_owned();
    let mut records = Vec::new();
    let penalty = |n: u32, r: &str| {
        record(
            "administrative_penalty",
            &firm(n),
            "zibo-amr",
            &ago(60),
            r,
            json!({"violation_type": "无证经营", "violation": "未取得许可从事经营", "penalties": ["fine", "licence_suspended"],
                   "fine_amount_fen": 5_000_000, "severity": "serious", "publicity_months": 36}),
        )
    };
    for n in 0..80 {
        let u = firm(n);
        if n < 20 {
            records.push(record(
                "administrative_licence",
                &u,
                "zibo-amr",
                &ago(200),
                &format!("许可{n}"),
                json!({"licence_name": "食品经营许可证", "licence_number": format!("JY{n}"), "valid_from": ago(200)}),
            ));
        }
        if (40..80).contains(&n) {
            records.push(penalty(n, &format!("罚{n}-1")));
        }
        if n >= 65 {
            records.push(penalty(n, &format!("罚{n}-2")));
            records.push(record(
                "serious_dishonesty_listing",
                &u,
                "zibo-amr",
                &ago(50),
                &format!("严{n}"),
                json!({"grounds": "拒不履行处罚决定", "basis": "市场监督管理严重违法失信名单管理办法 第二条", "publicity_months": 36}),
            ));
        }
    }
    submit(&amr, &records);
    let order = registry::grading::sign_order(&model, today(), &ga.key);
    ok(ga.post("/v1/regrade?wait=true", &serde_json::to_value(&order).unwrap()));
    // After the grades: complaints on A firms 0..5, inspections this cycle on B firms 20..30 and
    // C firms 40..45 (each re-grades the firm at once, as results flow back).
    let mut later = Vec::new();
    for n in 0..5 {
        later.push(record(
            "verified_complaint",
            &firm(n),
            "zibo-amr",
            &ago(20),
            &format!("投诉{n}"),
            json!({"channel": "12345", "complaint_type": "食品安全", "substantiated": true}),
        ));
    }
    for n in (20..30).chain(40..45) {
        later.push(record(
            "inspection_result",
            &firm(n),
            "zibo-amr",
            &ago(30),
            &format!("检查{n}"),
            json!({"task": "春季抽查", "items": ["登记事项"], "inspector_count": 2, "result": "no_issue"}),
        ));
    }
    submit(&amr, &later);
    City { dir, server, amr, tax, ga, auditor, firm: firm_signer, model, firms: 80 }
}

fn plan_for(c: &City) -> Plan {
    let mut p = plan_template(c);
    p.inspectors = (0..6)
        .map(|i| PoolInspector {
            id: format!("ZB-{i:03}"),
            qualifications: ["food".to_owned()].into(),
            conflicts: if i < 4 { [firm(70), firm(71)].into() } else { Default::default() },
        })
        .collect();
    p.items[0].qualification = Some("food".into());
    p
}

fn plan_template(c: &City) -> Plan {
    let (good, out, err) =
        cli(&["plan", "template", "--department", "zibo-amr", "--model", &c.model, "--date", &today().to_string()]);
    assert!(good, "{err}");
    let mut p: Plan = serde_json::from_str(&out).unwrap();
    p.number = "2026-食品-01".into();
    p.title = "食品经营者双随机抽查".into();
    p.domain = "food_safety".into();
    p.population.region_prefix = "3703".into();
    p
}

/// Publishes `p` with the command line; the plan's entry and the secret file.
fn publish(c: &City, p: &Plan, name: &str) -> (u64, PathBuf) {
    let file = c.dir.path().join(format!("{name}.json"));
    std::fs::write(&file, serde_json::to_vec(p).unwrap()).unwrap();
    let secret = c.dir.path().join(format!("{name}.secret"));
    let key = c.key_file("amr.key", &c.amr);
    let (good, out, err) = cli(&[
        "plan",
        "publish",
        "--server",
        &c.server.url,
        "--key",
        key.to_str().unwrap(),
        "--plan",
        file.to_str().unwrap(),
        "--secret",
        secret.to_str().unwrap(),
    ]);
    assert!(good, "{out}{err}");
    let index: u64 = out.split("logged at entry ").nth(1).unwrap().split(';').next().unwrap().parse().unwrap();
    (index, secret)
}

fn draw_cli(c: &City, plan: u64, secret: &Path) -> (bool, String, String) {
    let key = c.key_file("amr.key", &c.amr);
    cli(&[
        "plan",
        "draw",
        "--server",
        &c.server.url,
        "--key",
        key.to_str().unwrap(),
        "--plan",
        &plan.to_string(),
        "--secret",
        secret.to_str().unwrap(),
        "--log-key",
        &c.server.verifier_key,
    ])
}

fn verify_file(c: &City, file: &Path) -> Value {
    let (_, out, err) = cli(&["verify-draw", file.to_str().unwrap(), "--log-key", &c.server.verifier_key, "--json"]);
    serde_json::from_str(out.trim()).unwrap_or_else(|_| panic!("{out}{err}"))
}

#[test]
fn a_plan_is_drawn_replayed_offline_and_every_tampering_is_caught() {
    let c = city();
    let (plan, secret) = publish(&c, &plan_for(&c), "plan");
    // The public sees the plan and that it awaits its draw; not who is drawn.
    let v = ok(c.firm.get("/v1/plans"));
    let summary = v["plans"].as_array().unwrap().iter().find(|p| p["index"] == plan).unwrap().clone();
    assert_eq!(summary["status"], "awaiting-draw");
    let (good, out, err) = draw_cli(&c, plan, &secret);
    assert!(good, "{out}{err}");
    let drawn = ok(c.auditor.get(&format!("/v1/plans/{plan}/draw")));
    let selection = drawn["selection"].as_array().unwrap().clone();
    assert!(!selection.is_empty());

    // The population against an independent path: each firm's class is its current grade as
    // the grading view gives it (the plan came after every decision).
    let pop = ok(c.auditor.get(&format!("/v1/plans/{plan}/population")));
    let members = pop["members"].as_array().unwrap();
    // Firms 30 to 39 have no entry on the log: they are not in the directory.
    assert_eq!(members.len() as u32, c.firms - 10, "every firm of the district on the log, and only those");
    for m in members {
        let u = m["uscc"].as_str().unwrap();
        let g = ok(c.ga.get(&format!("/v1/enterprises/{u}")));
        let class =
            g["grades"].as_array().unwrap().iter().find(|g| g["model"] == c.model.as_str()).unwrap()["class"].clone();
        assert_eq!(m["class"], class, "{u}");
    }
    let member = |n: u32| members.iter().find(|m| m["uscc"] == firm(n).as_str()).unwrap();
    for n in 0..5 {
        if member(n)["class"] == "A" {
            assert!(member(n)["trigger"].is_u64(), "a substantiated complaint is a trigger");
        }
    }
    for n in 20..30 {
        let m = member(n);
        if m["class"] == "A" || m["class"] == "B" {
            assert_eq!(m["excluded"]["reason"], "inspected-this-cycle", "{m}");
        }
    }
    // No firm drawn twice, no excluded firm, no class-A firm without a trigger, no inspector in
    // conflict, the high-risk minimum.
    let mut seen = std::collections::BTreeSet::new();
    for s in &selection {
        let u = s["uscc"].as_str().unwrap();
        assert!(seen.insert(u.to_owned()));
        let m = members.iter().find(|m| m["uscc"] == u).unwrap();
        assert!(m.get("excluded").is_none(), "{m}");
        assert!(m["class"] != "A" || m["trigger"].is_u64());
        if u == firm(70) || u == firm(71) {
            for i in s["inspectors"].as_array().unwrap() {
                assert!(["ZB-004", "ZB-005"].contains(&i.as_str().unwrap()), "inspector {i} is in conflict with {u}");
            }
        }
    }
    let high = selection.iter().filter(|s| s["class"] == "C" || s["class"] == "D").count();
    assert!(high * 1000 >= 200 * selection.len());

    // Replay from the server, then offline from the file.
    let file = c.dir.path().join("draw.json");
    let key = c.key_file("auditor.key", &c.auditor);
    let (good, out, err) = cli(&[
        "verify-draw",
        "--server",
        &c.server.url,
        "--plan",
        &plan.to_string(),
        "--key",
        key.to_str().unwrap(),
        "--log-key",
        &c.server.verifier_key,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(good, "{out}{err}");
    assert!(out.contains("draw verified"), "{out}");
    let report = verify_file(&c, &file);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["report"]["selection"], json!(selection), "the replay gives the logged selection");

    let bundle: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let tampered = |f: &dyn Fn(&mut Value)| {
        let mut b = bundle.clone();
        f(&mut b);
        let p = c.dir.path().join("tampered.json");
        std::fs::write(&p, serde_json::to_vec(&b).unwrap()).unwrap();
        let r = verify_file(&c, &p);
        assert_eq!(r["ok"], false, "{r}");
        r["check"].as_str().unwrap().to_owned()
    };
    let entry_of = |b: &mut Value, index: u64| -> usize {
        b["evidence"]["entries"].as_array().unwrap().iter().position(|e| e["index"] == index).unwrap()
    };
    // The plan altered after its entry: a friendlier ratio for class C.
    let check = tampered(&|b| {
        let i = entry_of(b, plan);
        let env = &mut b["evidence"]["entries"][i]["content"]["envelope"];
        let mut p: Plan = serde_json::from_slice(
            &base64::Engine::decode(&base64::prelude::BASE64_STANDARD, env["payload"].as_str().unwrap()).unwrap(),
        )
        .unwrap();
        p.rules.classes[2].per_mille = 210;
        env["payload"] = base64::Engine::encode(&base64::prelude::BASE64_STANDARD, p.to_bytes()).into();
    });
    assert_eq!(check, "commitment", "an altered plan no longer opens its header's commitment");
    // A root from another checkpoint.
    let check = tampered(&|b| {
        let other = b["evidence"]["checkpoint"].as_str().unwrap().lines().nth(2).unwrap().to_owned();
        b["evidence"]["roots"][0]["root"] = other.into();
    });
    assert_eq!(check, "consistency");
    // The population steered: a D firm shown as B, or left out.
    let d = members.iter().position(|m| m["class"] == "D").unwrap();
    let check = tampered(&|b| b["population"][d]["class"] = "B".into());
    assert_eq!(check, "draw-population");
    let check = tampered(&|b| {
        b["population"].as_array_mut().unwrap().remove(d);
    });
    assert_eq!(check, "draw-population");
    // Another draw entry passed off as this plan's.
    let check = tampered(&|b| b["plan_index"] = json!(plan + 1));
    assert!(check == "format" || check == "draw-plan", "{check}");
}

#[test]
fn steering_a_draw_is_refused_at_intake_each_by_its_rule() {
    let c = city();
    let (plan, secret) = publish(&c, &plan_for(&c), "plan");
    // Once a checkpoint holds the plan, the server gives its root (as `creditlog plan draw` waits).
    let v = loop {
        let v = ok(c.amr.get(&format!("/v1/plans/{plan}")));
        if v.get("root").is_some() {
            break v;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let p: Plan = serde_json::from_value(v["plan"].clone()).unwrap();
    let members: Vec<verifier::plan::Member> =
        serde_json::from_value(ok(c.amr.get(&format!("/v1/plans/{plan}/population")))["members"].clone()).unwrap();
    let s: [u8; 32] = hex::decode(std::fs::read_to_string(&secret).unwrap().trim()).unwrap().try_into().unwrap();
    let leaf: [u8; 32] = hex::decode(v["leaf"].as_str().unwrap()).unwrap().try_into().unwrap();
    let root: [u8; 32] = hex::decode(v["root"].as_str().unwrap()).unwrap().try_into().unwrap();
    let make = |secret: [u8; 32], root: [u8; 32], members: &[verifier::plan::Member]| {
        let seed = verifier::draw::seed(&leaf, &root, &secret);
        let firms: Vec<_> = members.iter().map(verifier::plan::Member::firm).collect();
        let sel = verifier::draw::draw(seed, &p.rules, &firms, &p.pool()).unwrap();
        (
            Draw {
                kind: verifier::plan::DRAW_FORMAT.into(),
                department: "zibo-amr".into(),
                plan_index: plan,
                plan_leaf: hex::encode(leaf),
                root: hex::encode(root),
                secret: hex::encode(secret),
                seed: hex::encode(seed),
                population: verifier::plan::population_digest(members),
                selection: verifier::plan::selection_digest(&sel),
                date: today(),
            },
            sel,
        )
    };
    let refused = |who: &Signer, d: &Draw| {
        let (status, v) = who.post("/v1/draws", &serde_json::to_value(d.sign(&who.key)).unwrap());
        (status, v["type"].as_str().unwrap_or("").trim_start_matches("/problems/").to_owned())
    };
    let (good, _) = make(s, root, &members);
    // Another department drawing this plan.
    let mut theirs = good.clone();
    theirs.department = "zibo-tax".into();
    assert_eq!(refused(&c.tax, &theirs), (403, "draw-by-planner".into()));
    // Another secret than the one committed to: a department trying seeds until one suits it.
    assert_eq!(refused(&c.amr, &make([9; 32], root, &members).0), (422, "draw-reveal".into()));
    // The root of another tree size (another checkpoint: the log grew after the plan).
    submit(
        &c.amr,
        &[record(
            "verified_complaint",
            &firm(6),
            "zibo-amr",
            &today().to_string(),
            "投诉-后",
            json!({"channel": "12345", "complaint_type": "食品安全", "substantiated": false}),
        )],
    );
    // (Wait until a checkpoint covers that record: the latest root is then another size's.)
    let other_root: [u8; 32] = loop {
        let log = ok(c.amr.get("/v1/log"));
        if log["size"].as_u64().unwrap() > plan + 1 {
            break base64::Engine::decode(&base64::prelude::BASE64_STANDARD, log["root_hash"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    assert_eq!(refused(&c.amr, &make(s, other_root, &members).0), (422, "draw-seed".into()));
    // A seed chosen, not derived.
    let mut chosen = good.clone();
    chosen.seed = hex::encode([1; 32]);
    assert_eq!(refused(&c.amr, &chosen), (422, "draw-seed".into()));
    // A friendly firm left out of the population.
    let friendly = make(s, root, &members[1..]).0;
    assert_eq!(refused(&c.amr, &friendly), (422, "draw-population".into()));
    // A selection other than the algorithm's: an inspector in conflict swapped in.
    let (_, sel) = make(s, root, &members);
    let mut steered = sel.clone();
    // (Firm 70 is in conflict with ZB-000 to ZB-003; any other firm gets another inspector
    // than the draw gave it.)
    let target = steered.iter().position(|x| x.uscc == firm(70)).unwrap_or(0);
    let swap_in = if steered[target].uscc == firm(70) {
        "ZB-000".to_owned()
    } else {
        p.inspectors.iter().map(|i| i.id.clone()).find(|id| !steered[target].inspectors.contains(id)).unwrap()
    };
    steered[target].inspectors[0] = swap_in;
    assert_ne!(steered, sel);
    let mut bad = good.clone();
    bad.selection = verifier::plan::selection_digest(&steered);
    assert_eq!(refused(&c.amr, &bad), (422, "draw-selection".into()));
    // The honest draw, once; a second draw of the same plan is refused.
    assert_eq!(
        ok(c.amr.post("/v1/draws", &serde_json::to_value(good.sign(&c.amr.key)).unwrap()))["outcome"],
        "appended"
    );
    let mut again = good.clone();
    again.date = today().add_days(-1).unwrap();
    assert_eq!(refused(&c.amr, &again), (422, "draw-plan".into()));
    // The selection stays with the department, the grading authority, auditors and courts.
    assert_eq!(c.firm.get(&format!("/v1/plans/{plan}/draw")).0, 403);
    assert_eq!(c.tax.get(&format!("/v1/plans/{plan}/population")).0, 403);
    assert_eq!(c.tax.get(&format!("/v1/plans/{plan}/bundle")).0, 403);
    assert_eq!(c.ga.get(&format!("/v1/plans/{plan}/draw")).0, 200);
}

#[test]
fn plans_outside_the_rules_or_in_anothers_name_are_refused() {
    let c = city();
    let post = |who: &Signer, p: &Plan| {
        let (status, v) = who.post("/v1/plans", &serde_json::to_value(p.sign(&who.key)).unwrap());
        (status, v["type"].as_str().unwrap_or("").trim_start_matches("/problems/").to_owned())
    };
    let mut p = plan_for(&c);
    p.secret_commitment = hex::encode([0; 32]);
    assert_eq!(post(&c.tax, &p), (403, "plan-by-department".into()), "zibo-tax signs a plan of zibo-amr");
    let mut a = p.clone();
    a.rules.classes[0].needs_trigger = false;
    assert_eq!(post(&c.amr, &a), (422, "plan-rules".into()), "class A inspected without a trigger");
    let mut low = p.clone();
    low.rules.min_high_risk_per_mille = 50;
    assert_eq!(post(&c.amr, &low), (422, "plan-rules".into()));
    let mut unqualified = p.clone();
    unqualified.inspectors[5].qualifications.clear();
    assert_eq!(post(&c.amr, &unqualified), (422, "plan-rules".into()));
    let mut nomodel = p.clone();
    nomodel.model = "ab".repeat(32);
    assert_eq!(post(&c.amr, &nomodel), (422, "plan-rules".into()));
    assert_eq!(ok(c.amr.post("/v1/plans", &serde_json::to_value(p.sign(&c.amr.key)).unwrap()))["outcome"], "appended");
}

#[test]
fn results_of_a_draw_are_published_and_a_withheld_reveal_is_marked() {
    let c = city();
    let (plan, secret) = publish(&c, &plan_for(&c), "plan");
    assert!(draw_cli(&c, plan, &secret).0);
    let drawn = ok(c.amr.get(&format!("/v1/plans/{plan}/draw")));
    let draw_index = drawn["draw_index"].as_u64().unwrap();
    let first = drawn["selection"][0]["uscc"].as_str().unwrap().to_owned();
    submit(
        &c.amr,
        &[record(
            "inspection_result",
            &first,
            "zibo-amr",
            &today().to_string(),
            "双随机-1",
            json!({"task": "2026-食品-01", "items": ["食品经营许可"], "inspector_count": 2, "draw_index": draw_index,
                   "result": "issues_found", "findings": "超范围经营"}),
        )],
    );
    // A visit chosen by hand passed off as a drawn one: a firm the draw did not select, or an
    // entry that is not a draw.
    let selected: Vec<&str> =
        drawn["selection"].as_array().unwrap().iter().map(|s| s["uscc"].as_str().unwrap()).collect();
    let unselected = (0..80).map(firm).find(|u| !selected.contains(&u.as_str()) && *u != firm(0)).unwrap();
    for (who, di) in [(unselected.as_str(), draw_index), (first.as_str(), plan)] {
        let envs = vec![Envelope::sign(
            RECORD_TYPE,
            &serde_json::to_vec(&record(
                "inspection_result",
                who,
                "zibo-amr",
                &today().to_string(),
                &format!("手选-{di}"),
                json!({"task": "2026-食品-01", "items": ["食品经营许可"], "inspector_count": 2, "draw_index": di,
                       "result": "no_issue"}),
            ))
            .unwrap(),
            &c.amr.key,
        )];
        let v = ok(c.amr.post("/v1/records", &json!({ "records": envs })));
        assert_eq!(v["results"][0]["rule_name"], "inspection-drawn", "{v}");
    }
    // Public, without a signature.
    let v: Value = ureq::get(&format!("{}/v1/plans/{plan}/results", c.server.url)).call().unwrap().into_json().unwrap();
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{v}");
    assert_eq!(results[0]["uscc"], first.as_str());
    assert_eq!(results[0]["result_zh"], "发现问题待后续处理");
    // Retracted: no longer published.
    let result_index = results[0]["index"].as_u64().unwrap();
    submit(
        &c.amr,
        &[record(
            "retraction",
            &first,
            "zibo-amr",
            &today().to_string(),
            "撤-双随机-1",
            json!({"target_index": result_index, "ground": "error", "reason": "录入错误"}),
        )],
    );
    let v: Value = ureq::get(&format!("{}/v1/plans/{plan}/results", c.server.url)).call().unwrap().into_json().unwrap();
    assert_eq!(v["results"], json!([]), "a retracted result is not published");
    // A plan whose reveal day has passed without a draw is marked, for everyone to see.
    let mut late = plan_for(&c);
    late.number = "2026-食品-02".into();
    late.date = today().add_days(-9).unwrap();
    late.reveal_by = today().add_days(-2).unwrap();
    let (late_index, late_secret) = publish(&c, &late, "late");
    let v: Value = ureq::get(&format!("{}/v1/plans", c.server.url)).call().unwrap().into_json().unwrap();
    let s = v["plans"].as_array().unwrap().iter().find(|p| p["index"] == late_index).unwrap().clone();
    assert_eq!(s["status"], "not-revealed");
    let (good, out, err) = draw_cli(&c, late_index, &late_secret);
    assert!(!good && format!("{out}{err}").contains("draw-reveal"), "{out}{err}");
}

#[test]
fn draws_of_two_departments_make_joint_visits_and_the_statistics_count_them() {
    let c = city();
    // zibo-tax runs its own plan over the same district and window.
    let (plan_a, secret_a) = publish(&c, &plan_for(&c), "amr");
    let mut tax_plan = plan_for(&c);
    tax_plan.department = "zibo-tax".into();
    tax_plan.number = "2026-税-01".into();
    tax_plan.items[0].name = "纳税申报".into();
    tax_plan.rules.classes[1].per_mille = 200;
    tax_plan.rules.classes[2].per_mille = 600;
    tax_plan.rules.classes[3].per_mille = 1000;
    let file = c.dir.path().join("tax.json");
    std::fs::write(&file, serde_json::to_vec(&tax_plan).unwrap()).unwrap();
    let tax_key = c.key_file("tax.key", &c.tax);
    let tax_secret = c.dir.path().join("tax.secret");
    let (good, out, err) = cli(&[
        "plan",
        "publish",
        "--server",
        &c.server.url,
        "--key",
        tax_key.to_str().unwrap(),
        "--plan",
        file.to_str().unwrap(),
        "--secret",
        tax_secret.to_str().unwrap(),
    ]);
    assert!(good, "{out}{err}");
    let plan_t: u64 = out.split("logged at entry ").nth(1).unwrap().split(';').next().unwrap().parse().unwrap();
    assert!(draw_cli(&c, plan_a, &secret_a).0);
    let (good, out, err) = cli(&[
        "plan",
        "draw",
        "--server",
        &c.server.url,
        "--key",
        tax_key.to_str().unwrap(),
        "--plan",
        &plan_t.to_string(),
        "--secret",
        tax_secret.to_str().unwrap(),
        "--log-key",
        &c.server.verifier_key,
    ]);
    assert!(good, "{out}{err}");
    let sel = |p: u64| -> std::collections::BTreeSet<String> {
        ok(c.ga.get(&format!("/v1/plans/{p}/draw")))["selection"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["uscc"].as_str().unwrap().to_owned())
            .collect()
    };
    let (a, t) = (sel(plan_a), sel(plan_t));
    let both: Vec<&String> = a.intersection(&t).collect();
    assert!(!both.is_empty(), "with these ratios some firms are drawn by both");
    let window = format!("from={}&to={}", today(), today());
    let v = ok(c.ga.get(&format!("/v1/visits?{window}")));
    let visits = v["visits"].as_array().unwrap();
    assert_eq!(visits.len(), a.union(&t).count(), "one visit per firm");
    for x in visits {
        let u = x["uscc"].as_str().unwrap().to_owned();
        let joint = a.contains(&u) && t.contains(&u);
        assert_eq!(x["joint"], joint, "{x}");
        if joint {
            let parts: Vec<(&str, &str)> = x["parts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p["department"].as_str().unwrap(), p["items"][0]["name"].as_str().unwrap()))
                .collect();
            assert_eq!(
                parts,
                [("zibo-amr", "登记事项"), ("zibo-tax", "纳税申报")],
                "each department's items in one visit"
            );
        }
    }
    // A department sees only the visits it takes part in; a firm sees none.
    let own = ok(c.tax.get(&format!("/v1/visits?{window}")));
    assert_eq!(own["visits"].as_array().unwrap().len(), t.len());
    assert_eq!(c.firm.get(&format!("/v1/visits?{window}")).0, 403);

    // Statistics: one drawn inspection that found a problem, one chosen by hand that did not.
    let draw_a = ok(c.ga.get(&format!("/v1/plans/{plan_a}/draw")));
    let drawn_firm = both[0].clone();
    let class = draw_a["selection"].as_array().unwrap().iter().find(|s| s["uscc"] == drawn_firm.as_str()).unwrap()
        ["class"]
        .as_str()
        .unwrap()
        .to_owned();
    submit(
        &c.amr,
        &[
            record(
                "inspection_result",
                &drawn_firm,
                "zibo-amr",
                &today().to_string(),
                "联合-1",
                json!({"task": "2026-食品-01", "items": ["登记事项"], "inspector_count": 2,
                       "draw_index": draw_a["draw_index"], "result": "issues_found", "findings": "超范围经营"}),
            ),
            record(
                "inspection_result",
                &firm(1),
                "zibo-amr",
                &today().to_string(),
                "专项-1",
                json!({"task": "投诉核查", "items": ["登记事项"], "inspector_count": 2, "result": "no_issue"}),
            ),
        ],
    );
    assert_eq!(
        ureq::get(&format!("{}/v1/stats/supervision", c.server.url))
            .call()
            .map_err(|e| matches!(e, ureq::Error::Status(401, _)))
            .err(),
        Some(true),
        "signed requests only"
    );
    let v = ok(c.firm.get("/v1/stats/supervision"));
    let amr = v["departments"].as_array().unwrap().iter().find(|d| d["department"] == "zibo-amr").unwrap().clone();
    // 15 spring inspections and 2 today, all this year; one of them drawn.
    assert_eq!(
        (amr["inspections"].as_u64(), amr["drawn"].as_u64(), amr["drawn_found"].as_u64()),
        (Some(17), Some(1), Some(1)),
        "{amr}"
    );
    assert_eq!(amr["undrawn_found"], 0);
    assert_eq!(amr["by_class"][&class], json!([1, 1]));
    assert_eq!(amr["visits"].as_u64(), Some(a.len() as u64));
    assert_eq!(amr["joint_visits"].as_u64(), Some(both.len() as u64));
}

fn warnings_of(c: &City, n: u32) -> Vec<Value> {
    ok(c.ga.get(&format!("/v1/enterprises/{}/warnings", firm(n))))["warnings"].as_array().unwrap().clone()
}

#[test]
fn each_warning_rule_fires_on_its_condition_only_and_is_acknowledged_once_by_the_departments_concerned() {
    let c = city();
    let minor = |n: u32, r: &str, days: i64| {
        record(
            "administrative_penalty",
            &firm(n),
            "zibo-amr",
            &ago(days),
            r,
            json!({"violation_type": "未按规定公示", "violation": "未按规定公示信息", "penalties": ["warning"],
                   "fine_amount_fen": 0, "severity": "minor", "publicity_months": 3}),
        )
    };
    // Two minor violations: nothing; a third within 90 days: a warning on exactly the three.
    let two = submit(&c.amr, &[minor(25, "轻1", 80), minor(25, "轻2", 40)]);
    assert!(warnings_of(&c, 25).is_empty());
    let third = submit(&c.amr, &[minor(25, "轻3", 1)]);
    let w = warnings_of(&c, 25);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0]["warning"]["rule"], "repeated-minor");
    assert_eq!(w[0]["warning"]["basis"], json!([two[0]["index"], two[1]["index"], third[0]["index"]]));
    assert_eq!(w[0]["warning"]["departments"], json!(["zibo-amr"]));
    // Three spread over more than 90 days: nothing.
    submit(&c.amr, &[minor(26, "轻4", 200), minor(26, "轻5", 100), minor(26, "轻6", 1)]);
    assert!(warnings_of(&c, 26).is_empty());
    // A complaint surge: firm 3 had one 20 days ago; an unfounded one does not count, a second
    // and third substantiated ones do.
    let complaint = |n: u32, r: &str, substantiated: bool| {
        record(
            "verified_complaint",
            &firm(n),
            "zibo-amr",
            &ago(2),
            r,
            json!({"channel": "12345", "complaint_type": "食品安全", "substantiated": substantiated}),
        )
    };
    submit(&c.amr, &[complaint(3, "诉-a", false), complaint(3, "诉-b", true)]);
    assert!(warnings_of(&c, 3).is_empty());
    submit(&c.amr, &[complaint(3, "诉-c", true)]);
    assert_eq!(warnings_of(&c, 3)[0]["warning"]["rule"], "complaint-surge");
    // A commitment kept: nothing; broken: a warning.
    let outcome = |n: u32, kept: bool| {
        record(
            "commitment_outcome",
            &firm(n),
            "zibo-amr",
            &ago(1),
            &format!("承诺-{n}"),
            json!({"commitment_reference": "承诺〔2026〕3号", "kept": kept}),
        )
    };
    submit(&c.amr, &[outcome(27, true), outcome(28, false)]);
    assert!(warnings_of(&c, 27).is_empty());
    assert_eq!(warnings_of(&c, 28)[0]["warning"]["rule"], "broken-commitment");

    // Two specialised models: the firms both rate C or worse are warned, and no other.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let food = std::fs::read_to_string(root.join("models/food_production.toml")).unwrap();
    let drugs = food
        .replace("id = \"food-production-2026.1\"", "id = \"drugs-2026.1\"")
        .replace("domain = \"food_production\"", "domain = \"drugs\"");
    let mut specialised = Vec::new();
    for text in [food, drugs] {
        let v = ok(c.ga.post(
            "/v1/models",
            &serde_json::to_value(Envelope::sign(MODEL_TYPE, text.as_bytes(), &c.ga.key)).unwrap(),
        ));
        let m = v["model"].as_str().unwrap().to_owned();
        let order = registry::grading::sign_order(&m, today(), &c.ga.key);
        ok(c.ga.post("/v1/regrade?wait=true", &serde_json::to_value(&order).unwrap()));
        specialised.push(m);
    }
    let mut warned = 0;
    for n in 0..80 {
        if (30..40).contains(&n) {
            continue;
        }
        let g = ok(c.ga.get(&format!("/v1/enterprises/{}", firm(n))));
        let high = g["grades"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| {
                specialised.iter().any(|m| g["model"] == m.as_str()) && (g["class"] == "C" || g["class"] == "D")
            })
            .count();
        let has = warnings_of(&c, n).iter().any(|w| w["warning"]["rule"] == "high-risk-models");
        assert_eq!(has, high >= 2, "firm {n}: {high} specialised models rate it C or worse");
        warned += usize::from(has);
    }
    assert!(warned > 0, "some firm of the district is high-risk under both specialised models");

    // Acknowledged once, by a department it is routed to; then no longer open for it.
    let open = ok(c.amr.get("/v1/warnings"))["warnings"].as_array().unwrap().len();
    let w25 = warnings_of(&c, 25)[0]["index"].as_u64().unwrap();
    let ack = |who: &Signer, dept: &str, action: &str| {
        let a = verifier::warning::Acknowledgement {
            kind: verifier::warning::ACK_FORMAT.into(),
            subject: firm(25),
            warning_index: w25,
            department: dept.into(),
            action: action.into(),
            date: today(),
        };
        let (status, v) = who.post("/v1/warnings/acknowledgements", &serde_json::to_value(a.sign(&who.key)).unwrap());
        (status, v["type"].as_str().unwrap_or("").trim_start_matches("/problems/").to_owned())
    };
    assert_eq!(ack(&c.tax, "zibo-tax", "已核查"), (403, "warning-routed".into()), "not routed to zibo-tax");
    assert_eq!(ack(&c.amr, "zibo-amr", "已约谈企业负责人，列入重点监管").0, 200);
    assert_eq!(ack(&c.amr, "zibo-amr", "再次约谈"), (403, "warning-routed".into()), "once");
    assert_eq!(ok(c.amr.get("/v1/warnings"))["warnings"].as_array().unwrap().len(), open - 1);
    assert_eq!(c.tax.get("/v1/warnings").0, 200);
    assert_eq!(c.firm.get("/v1/warnings").0, 403);

    // Each warned firm's bundle, warnings and acknowledgement included, verifies offline: the
    // verifier re-evaluates each rule on the firm's records, independently of the registry's
    // watch view that raised it.
    let key = c.key_file("auditor.key", &c.auditor);
    for n in [3, 25, 28] {
        let out = c.dir.path().join(format!("firm{n}.json"));
        let (good, o, e) = cli(&[
            "export",
            "--uscc",
            &firm(n),
            "--key",
            key.to_str().unwrap(),
            "--server",
            &c.server.url,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(good, "{o}{e}");
        let (good, o, e) = cli(&["verify", out.to_str().unwrap(), "--log-key", &c.server.verifier_key]);
        assert!(good, "firm {n}: {o}{e}");
    }
}
