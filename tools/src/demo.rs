//! `creditlog demo`: the server with a simulated city loaded, graded, and ready to explore.

use crate::{open_log, LogArgs};
use anyhow::{bail, Context, Result};
use clap::Args;
use registry::{keyfile, Outcome, Registry};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use verifier::envelope::{Envelope, IDENTITY_TYPE, MODEL_TYPE, RECORD_TYPE};
use verifier::identity::{Capability, Role, Statement, IDENTITY_STATEMENT};
use verifier::record::{Record, RecordKind};

/// The shipped models, built into the binary so the demo runs from any folder.
pub const SHIPPED_MODELS: [(&str, &str); 2] = [
    ("general.toml", include_str!("../../models/general.toml")),
    ("food_production.toml", include_str!("../../models/food_production.toml")),
];

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Data folder; loaded on the first run, reused afterwards.
    #[arg(long, default_value = "demo-data")]
    data: std::path::PathBuf,
    /// Origin (name) of the demo log.
    #[arg(long, default_value = "creditlog.localhost/demo-city")]
    origin: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Milliseconds between two published checkpoints.
    #[arg(long, default_value_t = 20)]
    checkpoint_interval_ms: u64,
    /// Simulated enterprises.
    #[arg(long, default_value_t = 10_000)]
    firms: usize,
    /// Simulated department records.
    #[arg(long, default_value_t = 200_000)]
    records: usize,
    /// Simulation seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct DemoState {
    example_firm: String,
    general_model: String,
    /// The market regulator's plan, the labour inspectorate's, and the firm sanctioned.
    #[serde(default)]
    supervision: Option<(u64, u64, String)>,
}

#[derive(serde::Deserialize)]
pub(crate) struct SimDept {
    pub(crate) code: String,
    pub(crate) name: String,
    pub(crate) kinds: Vec<String>,
    pub(crate) domains: Vec<String>,
    pub(crate) key_file: String,
}

pub(crate) async fn statement(reg: &Registry, signer: &ed25519_dalek::SigningKey, st: Statement) -> Result<u64> {
    match reg.submit_identity(Envelope::sign(IDENTITY_TYPE, &st.to_bytes(), signer)).await? {
        Outcome::Appended { index } | Outcome::Duplicate { index } => Ok(index),
        Outcome::Rejected(r) => bail!("{}: {}: {}", st.action(), r.field, r.rule),
        Outcome::WouldAppend => unreachable!("not a dry run"),
    }
}

pub(crate) fn key_at(path: &Path) -> Result<ed25519_dalek::SigningKey> {
    if path.exists() {
        return Ok(keyfile::read(path)?);
    }
    let k = keyfile::generate();
    keyfile::write(path, &k)?;
    Ok(k)
}

/// Registers a simulated jurisdiction's departments (the market regulator may register firms'
/// keys), a grading authority and an auditor (their key files in `DATA/keys/`, created if
/// absent): what `creditlog demo` and `creditlog bench city` load first.
pub(crate) async fn register(
    reg: &Registry,
    data: &Path,
    sim: &Path,
) -> Result<(Vec<SimDept>, ed25519_dalek::SigningKey, ed25519_dalek::SigningKey)> {
    let operator = keyfile::read(&data.join(registry::OPERATOR_KEY_FILE))?;
    let t = || IDENTITY_STATEMENT.to_owned();
    let depts: Vec<SimDept> = serde_json::from_slice(&std::fs::read(sim.join("departments.json"))?)?;
    for d in &depts {
        let key = keyfile::read(&sim.join(&d.key_file))?;
        statement(
            reg,
            &operator,
            Statement::RegisterDepartment {
                kind: t(),
                code: d.code.clone(),
                name: d.name.clone(),
                kinds: d.kinds.iter().cloned().collect(),
                domains: d.domains.iter().cloned().collect(),
                // The market regulator (the department that grants licences) registers firms.
                capabilities: if d.kinds.iter().any(|k| k == "administrative_licence") {
                    [Capability::RegisterEnterprises].into()
                } else {
                    Default::default()
                },
                key: keyfile::public_b64(&key),
            },
        )
        .await?;
    }
    let keys = data.join("keys");
    std::fs::create_dir_all(&keys)?;
    let ga = key_at(&keys.join("grading-authority.key"))?;
    statement(
        reg,
        &operator,
        Statement::RegisterKey {
            kind: t(),
            role: Role::GradingAuthority,
            name: "市信用办 (demo)".into(),
            key: keyfile::public_b64(&ga),
        },
    )
    .await?;
    let auditor = key_at(&keys.join("auditor.key"))?;
    statement(
        reg,
        &operator,
        Statement::RegisterKey {
            kind: t(),
            role: Role::Auditor,
            name: "审计局 (demo)".into(),
            key: keyfile::public_b64(&auditor),
        },
    )
    .await?;

    Ok((depts, ga, auditor))
}

async fn load(args: &DemoArgs, reg: &Registry) -> Result<DemoState> {
    let sim = args.data.join("sim");
    if !sim.join("departments.json").exists() {
        eprintln!("simulating {} firms and {} records (seed {})...", args.firms, args.records, args.seed);
        crate::simulate::run(crate::simulate::SimulateArgs {
            out: sim.clone(),
            firms: args.firms,
            records: args.records,
            seed: args.seed,
            exports: true,
        })?;
    }
    let (depts, ga, _auditor) = register(reg, &args.data, &sim).await?;
    let keys = args.data.join("keys");
    let t = || IDENTITY_STATEMENT.to_owned();

    // Every department's signed records, as `creditlog submit` would send them, except the
    // market regulator's penalties and licences: those come from its 双公示 exports, read as
    // `creditlog import` reads an official's file (penalties from the Excel workbook, licences
    // from the GB18030 CSV).
    let imported_dept = depts
        .iter()
        .find(|d| d.kinds.iter().any(|k| k == "administrative_licence"))
        .context("a department that grants licences")?;
    let imported_kinds = [RecordKind::AdministrativePenalty, RecordKind::AdministrativeLicence];
    let mut files: Vec<_> = std::fs::read_dir(sim.join("records"))?.flatten().map(|e| e.path()).collect();
    files.sort();
    let total: u64 = args.records as u64;
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("loading records {bar:40} {pos}/{len} {per_sec}").expect("template"),
    );
    for f in files {
        let from_exports = f.file_stem().is_some_and(|s| s == imported_dept.code.as_str());
        let reader = std::io::BufReader::new(std::fs::File::open(&f)?);
        let mut chunk = Vec::with_capacity(2000);
        for line in reader.lines() {
            let env = serde_json::from_str::<Envelope>(&line?).with_context(|| format!("{}", f.display()))?;
            if from_exports {
                let (payload, _) = env.decode(RECORD_TYPE).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                let kind = Record::parse(&payload).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?.kind();
                if imported_kinds.contains(&kind) {
                    continue;
                }
            }
            chunk.push(env);
            if chunk.len() == 2000 {
                bar.inc(submit(reg, std::mem::take(&mut chunk)).await?);
            }
        }
        if !chunk.is_empty() {
            bar.inc(submit(reg, chunk).await?);
        }
    }
    let dept_key = keyfile::read(&sim.join(&imported_dept.key_file))?;
    let mut from_exports = Vec::new();
    for (kind, file) in [
        (
            RecordKind::AdministrativeLicence,
            format!("exports/{}__administrative_licence.gb18030.csv", imported_dept.code),
        ),
        (RecordKind::AdministrativePenalty, format!("exports/{}__administrative_penalty.xlsx", imported_dept.code)),
    ] {
        let (read_as, rows) = import::read_all(&sim.join(&file), kind, &imported_dept.code, &imported_dept.name)
            .map_err(anyhow::Error::msg)?;
        let envelopes: Vec<Envelope> =
            rows.iter().map(|r| Envelope::sign(RECORD_TYPE, &r.record.to_json_bytes(), &dept_key)).collect();
        from_exports.push(format!("{} {} from {file} ({read_as})", envelopes.len(), kind.as_str()));
        for chunk in envelopes.chunks(2000) {
            bar.inc(submit(reg, chunk.to_vec()).await?);
        }
    }
    bar.finish_and_clear();
    eprintln!("imported the market regulator's 双公示 exports: {}", from_exports.join("; "));

    // The example firm: the first simulated firm, with its key bound at the market regulator.
    let firms = std::fs::read_to_string(sim.join("firms.csv"))?;
    // The business register's names, for the portal's search by name (api::Directory).
    std::fs::write(args.data.join("firms.csv"), &firms)?;
    let example = firms.lines().nth(1).and_then(|l| l.split(',').next()).context("firms.csv has no firm")?.to_owned();
    let firm_key = key_at(&keys.join("example-firm.key"))?;
    let amr = depts
        .iter()
        .find(|d| d.kinds.iter().any(|k| k == "administrative_licence"))
        .context("a department that binds keys")?;
    statement(
        reg,
        &keyfile::read(&sim.join(&amr.key_file))?,
        Statement::BindEnterpriseKey {
            kind: t(),
            subject: example.clone(),
            key: keyfile::public_b64(&firm_key),
            proof: verifier::identity::sign_binding(&example, &firm_key),
        },
    )
    .await?;

    // The shipped models, published by the grading authority, then one full re-grade.
    let mut general = String::new();
    for (name, text) in SHIPPED_MODELS {
        match reg.publish_model(Envelope::sign(MODEL_TYPE, text.as_bytes(), &ga)).await? {
            Outcome::Appended { .. } | Outcome::Duplicate { .. } | Outcome::WouldAppend => {}
            Outcome::Rejected(r) => bail!("publishing {name}: {}: {}", r.field, r.rule),
        }
        if name == "general.toml" {
            general = verifier::model::Model::hash(text.as_bytes());
        }
    }
    let bar = indicatif::ProgressBar::new(args.firms as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("re-grading {bar:40} {pos}/{len} firms {per_sec}").expect("template"),
    );
    // Re-graded as of each of the last four quarter ends, then today, as a grading authority
    // that grades quarterly would have: the dashboard's class distribution over time.
    let today = reg.today();
    let mut quarters = Vec::new();
    let mut end = quarter_end_before(today);
    for _ in 0..4 {
        quarters.push(end);
        end = quarter_end_before(end);
    }
    quarters.reverse();
    quarters.push(today);
    let mut decisions = 0;
    let mut summary = None;
    for as_of in &quarters {
        bar.reset();
        let order = registry::grading::sign_order(&general, *as_of, &ga);
        let (s, _) = reg
            .regrade(order, &|done, _| bar.set_position(done))
            .await?
            .map_err(|r| anyhow::anyhow!("the re-grading order as of {as_of} was refused: {}", r.rule))?;
        decisions += s.changed;
        summary = Some(s);
    }
    bar.finish_and_clear();
    let evaluated = summary.map_or(0, |s| s.evaluated);
    let dates: Vec<String> = quarters.iter().map(ToString::to_string).collect();
    eprintln!("graded {evaluated} firms under the general model as of {} ({decisions} decisions)", dates.join(", "));
    let objections = demo_objections(reg, &sim, &depts, &example, &firm_key).await?;
    eprintln!(
        "the example firm objected {objections} times (upheld, rejected, open); the record the upheld one corrected was redacted"
    );
    let (commitments, repaired) = demo_commitments_and_repair(reg, &sim, &depts, &example, &firm_key).await?;
    eprintln!(
        "the example firm made {commitments} commitments (kept, broken, open){}",
        if repaired { "; a credit repair was refused, then approved on a second application" } else { "" }
    );
    let supervision = demo_supervision(reg, &sim, &depts, &general, &example).await?;
    Ok(DemoState { example_firm: example, general_model: general, supervision: Some(supervision) })
}

/// The last day of the quarter before the one `day` is in.
fn quarter_end_before(day: verifier::Date) -> verifier::Date {
    let first_month = (u32::from(day.month()) - 1) / 3 * 3 + 1;
    let first = verifier::Date::new(u32::from(day.year()), first_month, 1).expect("a quarter's first day");
    first.add_days(-1).expect("in range")
}

/// Supervision in the demo city (双随机、一公开): the market regulator and the labour inspectorate
/// each publish a plan for the year and draw it (joint visits where both drew a firm); the market
/// regulator records three results; a department acknowledges an early warning; the market
/// regulator sanctions a seriously dishonest firm (联合惩戒). Returns the two plans' entries and
/// the firm sanctioned.
async fn demo_supervision(
    reg: &Registry,
    sim: &Path,
    depts: &[SimDept],
    general: &str,
    example: &str,
) -> Result<(u64, u64, String)> {
    use rand::RngCore;
    use verifier::plan::{Item, PoolInspector};
    let today = reg.today();
    let key_of = |code: &str| -> Result<ed25519_dalek::SigningKey> {
        let d =
            depts.iter().find(|d| d.code == code).with_context(|| format!("no department {code} in the simulation"))?;
        Ok(keyfile::read(&sim.join(&d.key_file))?)
    };
    let mut drawn = Vec::new();
    for (code, prefix, title, domain, item, basis) in [
        (
            "zibo-amr",
            "SJ",
            "市场监管领域双随机抽查",
            "market_regulation",
            "登记事项与公示信息",
            "市场主体登记管理条例 第三十五条",
        ),
        ("zibo-hrss", "RS", "劳动保障监察双随机抽查", "labour", "劳动用工与社会保险", "劳动保障监察条例 第十一条"),
    ] {
        let key = key_of(code)?;
        let mut p = crate::plan_cmds::template(code, general, today)?;
        p.number = format!("{}-{}-01", code, today.year());
        p.title = title.into();
        p.domain = domain.into();
        p.items = vec![Item { code: "01".into(), name: item.into(), basis: basis.into(), qualification: None }];
        // Inspector 0 is the example firm's former accountant's relative: never sent there.
        p.inspectors = (0..8)
            .map(|i| PoolInspector {
                id: format!("{prefix}-{i:03}"),
                qualifications: Default::default(),
                conflicts: if i == 0 { [example.to_owned()].into() } else { Default::default() },
            })
            .collect();
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        p.secret_commitment = hex::encode(verifier::draw::secret_commitment(&secret));
        let Outcome::Appended { index } = reg.submit_plan(p.sign(&key)).await? else {
            bail!("the demo plan of {code} was refused");
        };
        // The department reveals only once a signed checkpoint holds its plan.
        reg.log().wait_for_checkpoint(index + 1).await?;
        let root = reg.log().tree_hash(index + 1)?.0;
        let leaf = verifier::leaf_hash(&reg.log().entry(index)?).0;
        let members = reg.population(index)?;
        let (d, selection) = crate::plan_cmds::build_draw(index, &p, leaf, root, secret, &members, today)?;
        match reg.submit_draw(d.sign(&key)).await? {
            Outcome::Appended { index: di } => drawn.push((index, di, code, key, selection)),
            other => bail!("the demo draw of {code} was refused: {other:?}"),
        }
    }
    // The market regulator's first three visits: results, one finding a problem.
    let (amr_plan, amr_draw, _, amr_key, amr_selection) = &drawn[0];
    let results: Vec<Envelope> = amr_selection
        .iter()
        .take(3)
        .enumerate()
        .map(|(i, s)| {
            let (result, findings) =
                if i == 0 { ("issues_found", Some("未按规定公示年度报告")) } else { ("no_issue", None) };
            let r = serde_json::json!({"type": verifier::record::RECORD_FORMAT, "kind": "inspection_result",
                "subject": s.uscc, "department": "zibo-amr", "date": today, "reference": format!("双随机-{amr_plan}-{i}"),
                "fields": {"task": format!("zibo-amr-{}-01", today.year()), "items": ["登记事项与公示信息"],
                           "inspector_count": 2, "draw_index": amr_draw, "result": result, "findings": findings}});
            Envelope::sign(verifier::envelope::RECORD_TYPE, r.to_string().as_bytes(), amr_key)
        })
        .collect();
    submit(reg, results).await?;
    // An early warning, acknowledged by a department it is routed to.
    if let Some(w) = reg.warnings(None, None, true)?.into_iter().next() {
        if let Some(dept) = w.open_for.iter().find(|d| depts.iter().any(|x| &x.code == *d)) {
            let a = verifier::warning::Acknowledgement {
                kind: verifier::warning::ACK_FORMAT.into(),
                subject: w.warning.subject.clone(),
                warning_index: w.index,
                department: dept.clone(),
                action: "已约谈企业负责人，列入重点监管对象".into(),
                date: today,
            };
            reg.submit_acknowledgement(a.sign(&key_of(dept)?)).await?;
        }
    }
    // A sanction on a firm the market regulator listed as seriously dishonest.
    let auditor = verifier::identity::Principal::Role(Role::Auditor, "审计局 (demo)".into());
    let mut sanctioned = None;
    'firms: for s in amr_selection.iter().filter(|s| s.class == "D") {
        for e in reg.history(&s.uscc, &auditor)? {
            let Some(content) = &e.content else { continue };
            let Ok((payload, _)) = content.envelope.decode(verifier::envelope::RECORD_TYPE) else { continue };
            let Ok(r) = verifier::record::Record::parse(&payload) else { continue };
            if r.kind() != verifier::record::RecordKind::SeriousDishonestyListing || r.department() != "zibo-amr" {
                continue;
            }
            let step = verifier::sanction::Step::Imposed {
                kind: verifier::sanction::SANCTION_FORMAT.into(),
                subject: s.uscc.clone(),
                department: "zibo-amr".into(),
                measures: vec![
                    verifier::sanction::Measure::GovernmentProcurement,
                    verifier::sanction::Measure::Bidding,
                ],
                basis: vec![e.index],
                legal_basis: "市场监督管理严重违法失信名单管理办法 第十九条".into(),
                start: today,
                end: today.add_days(365).unwrap_or(today),
                date: today,
                reference: format!("淄市监惩〔{}〕1号", today.year()),
            };
            if let Outcome::Appended { .. } = reg.submit_sanction(step.sign(amr_key)).await? {
                sanctioned = Some(s.uscc.clone());
                break 'firms;
            }
        }
    }
    let sanctioned = sanctioned.context("no firm drawn in class D has a serious-dishonesty listing still standing")?;
    Ok((drawn[0].0, drawn[1].0, sanctioned))
}

/// The example firm's own commitments (one checked and kept, one open) and, if one of its
/// penalties or listings is eligible, a credit repair approved after the interview.
async fn demo_commitments_and_repair(
    reg: &Registry,
    sim: &Path,
    depts: &[SimDept],
    firm: &str,
    firm_key: &ed25519_dalek::SigningKey,
) -> Result<(u64, bool)> {
    let today = reg.today();
    let checker = depts
        .iter()
        .find(|d| d.kinds.iter().any(|k| k == "commitment_outcome"))
        .context("a department that checks commitments")?;
    let checker_key = keyfile::read(&sim.join(&checker.key_file))?;
    let mut made = 0;
    for (n, (content, months)) in [
        ("按告知承诺补齐消防验收材料", 1),
        ("按告知承诺三个月内完成环评备案", 3),
        ("主动公示：依法诚信经营，按时报送年报", 6),
    ]
    .into_iter()
    .enumerate()
    {
        let c = verifier::commitment::Commitment {
            kind: verifier::commitment::COMMITMENT_FORMAT.into(),
            subject: firm.to_owned(),
            commitment_type: if n == 0 {
                verifier::record::CommitmentType::NoticeAndCommitment
            } else {
                verifier::record::CommitmentType::Voluntary
            },
            department: checker.code.clone(),
            content: content.into(),
            due: today.add_months(months).unwrap_or(today),
            date: today,
        };
        let Outcome::Appended { index } = reg.submit_commitment(c.sign(firm_key)).await? else {
            bail!("the demo commitment was refused");
        };
        made += 1;
        // The first kept, the second broken (a record of its own, which the models count), the
        // third open.
        if n < 2 {
            let outcome = serde_json::json!({"type": "creditlog.record/v1", "kind": "commitment_outcome", "subject": firm,
                "department": checker.code, "date": today, "reference": format!("核〔{}〕{index}号", today.year()),
                "fields": {"commitment_reference": format!("承诺 {index}"), "commitment_index": index, "kept": n == 0}});
            let env = Envelope::sign(verifier::envelope::RECORD_TYPE, &serde_json::to_vec(&outcome)?, &checker_key);
            if !matches!(reg.submit_records(vec![env]).await?.pop(), Some(Outcome::Appended { .. })) {
                bail!("the demo commitment outcome was refused");
            }
        }
    }
    // A credit repair of the first penalty or listing the rules allow today, if any.
    let me = verifier::identity::Principal::Enterprise(firm.to_owned());
    let mut records = Vec::new();
    for e in reg.history(firm, &me)? {
        let Some(content) = &e.content else { continue };
        let Ok((payload, _)) = content.envelope.decode(verifier::envelope::RECORD_TYPE) else { continue };
        if let Ok(r) = verifier::record::Record::parse(&payload) {
            records.push((e.index, r));
        }
    }
    let refs: Vec<(u64, &verifier::record::Record)> = records.iter().map(|(i, r)| (*i, r)).collect();
    let stopped = verifier::decision::stop_dates(&refs, &[]);
    let rules = verifier::repair::RepairRules::shipped();
    let eligible = refs.iter().find(|(i, r)| {
        !stopped.contains_key(i)
            && rules.eligibility(*i, r, &refs, &stopped, today).is_ok()
            && depts.iter().any(|d| d.code == r.department())
    });
    let Some((target, record)) = eligible else { return Ok((made, false)) };
    let dept = depts.iter().find(|d| d.code == record.department()).context("the record's department")?;
    let dept_key = keyfile::read(&sim.join(&dept.key_file))?;
    use verifier::repair::{Proof, Step, REPAIR_FORMAT};
    let k = || REPAIR_FORMAT.to_owned();
    let receipt = Proof { description: "罚款缴纳凭证".into(), sha256: "0f".repeat(32) };
    let report = Proof { description: "整改报告".into(), sha256: "1e".repeat(32) };
    // The first application is refused (the proof was incomplete), the second approved.
    let mut ok = false;
    for (approved, proofs, summary, reason) in [
        (false, vec![receipt.clone()], "企业尚未提交整改报告", "证明材料不全，不予修复；补齐整改报告后可再次申请"),
        (true, vec![receipt, report], "企业已缴清罚款并提交整改报告，整改到位", "符合修复条件，准予修复"),
    ] {
        let applied = Step::Applied {
            kind: k(),
            subject: firm.to_owned(),
            target_index: *target,
            commitment: "本企业承诺：已履行处罚决定规定的义务，今后依法诚信经营。".into(),
            proofs,
            date: today,
        };
        let Outcome::Appended { index: a } = reg.submit_repair(applied.sign(firm_key)).await? else {
            return Ok((made, false));
        };
        let interview = Step::Interviewed {
            kind: k(),
            subject: firm.to_owned(),
            application_index: a,
            summary: summary.into(),
            date: today,
        };
        reg.submit_repair(interview.sign(&dept_key)).await?;
        let decided = Step::Decided {
            kind: k(),
            subject: firm.to_owned(),
            application_index: a,
            approved,
            reason: reason.into(),
            date: today,
        };
        ok = matches!(reg.submit_repair(decided.sign(&dept_key)).await?, Outcome::Appended { .. });
    }
    Ok((made, ok))
}

/// Objections (异议) of the example firm: one upheld (its department retracts the record), one
/// rejected with a reason, one left for the department to answer.
async fn demo_objections(
    reg: &Registry,
    sim: &Path,
    depts: &[SimDept],
    firm: &str,
    firm_key: &ed25519_dalek::SigningKey,
) -> Result<u64> {
    use verifier::objection::{Grounds, Outcome as Resolution, Step, OBJECTION_FORMAT};
    let me = verifier::identity::Principal::Enterprise(firm.to_owned());
    let today = reg.today();
    // The firm's records, with a department that can retract them.
    let mut contested = Vec::new();
    for e in reg.history(firm, &me)? {
        let Some(content) = &e.content else { continue };
        let Ok((payload, _)) = content.envelope.decode(verifier::envelope::RECORD_TYPE) else { continue };
        let Ok(r) = verifier::record::Record::parse(&payload) else { continue };
        let Some(d) = depts.iter().find(|d| d.code == r.department()) else { continue };
        if r.kind() != verifier::record::RecordKind::Retraction && d.kinds.iter().any(|k| k == "retraction") {
            contested.push((e.index, d, payload));
        }
    }
    let step = |s: Step, key: &ed25519_dalek::SigningKey| s.sign(key);
    let kind = || OBJECTION_FORMAT.to_owned();
    let mut n = 0;
    for (round, (target, dept, original)) in contested.into_iter().rev().take(3).enumerate() {
        let dept_key = keyfile::read(&sim.join(&dept.key_file))?;
        let filed = Step::Filed {
            kind: kind(),
            subject: firm.to_owned(),
            target_index: Some(target),
            omission: None,
            grounds: Grounds::Error,
            statement: ["该记录所载事实有误，相关问题已整改完毕", "该记录与实际情况不符", "该记录已超过公示期限"]
                [round]
                .into(),
            commitment: "本企业承诺所提异议及所附材料真实、准确、完整，如有虚假，愿承担相应法律责任。".into(),
            date: today,
        };
        let Outcome::Appended { index: o } = reg.submit_objection(step(filed, firm_key)).await? else {
            bail!("the demo objection about entry {target} was refused");
        };
        n += 1;
        if round == 2 {
            break; // left open: the department has five working days to accept it
        }
        let accept = Step::Accepted {
            kind: kind(),
            subject: firm.to_owned(),
            objection_index: o,
            accepted: true,
            reason: None,
            date: today,
        };
        reg.submit_objection(step(accept, &dept_key)).await?;
        let correction = if round == 0 {
            let retraction = serde_json::json!({"type": "creditlog.record/v1", "kind": "retraction", "subject": firm,
                "department": dept.code, "date": today, "reference": format!("异议更正〔{}〕{o}号", today.year()),
                "fields": {"target_index": target, "ground": "error", "reason": "经异议核实，原记录有误"}});
            let env = Envelope::sign(verifier::envelope::RECORD_TYPE, &serde_json::to_vec(&retraction)?, &dept_key);
            match reg.submit_records(vec![env]).await?.pop() {
                Some(Outcome::Appended { index }) => Some(index),
                other => bail!("the demo retraction was not appended: {other:?}"),
            }
        } else {
            None
        };
        let resolve = Step::Resolved {
            kind: kind(),
            subject: firm.to_owned(),
            objection_index: o,
            outcome: if round == 0 { Resolution::Upheld } else { Resolution::Rejected },
            reason: if round == 0 {
                "经核实，原记录有误，已撤回"
            } else {
                "经核实，原记录无误，异议不成立"
            }
            .into(),
            correction_index: correction,
            date: today,
        };
        match reg.submit_objection(step(resolve, &dept_key)).await? {
            Outcome::Appended { .. } => {}
            other => bail!("the demo resolution was refused: {other:?}"),
        }
        if round == 0 {
            // The department re-issues the record as corrected (same document number, dated
            // today); the original then serves no purpose any more and its content is deleted
            // (personal-data, PIPL art. 47), while its header and the chain stay.
            let mut corrected: serde_json::Value = serde_json::from_slice(&original)?;
            corrected["date"] = serde_json::json!(today);
            let env = Envelope::sign(verifier::envelope::RECORD_TYPE, &serde_json::to_vec(&corrected)?, &dept_key);
            if !matches!(reg.submit_records(vec![env]).await?.pop(), Some(Outcome::Appended { .. })) {
                bail!("the demo correction was not appended");
            }
            let r = verifier::redaction::Redaction {
                kind: verifier::redaction::REDACTION_FORMAT.into(),
                subject: firm.to_owned(),
                department: dept.code.clone(),
                entries: vec![target],
                rule: verifier::redaction::RedactionRule::PersonalData,
                reason: "异议核实后已更正，删除原记录内容（个人信息保护法第四十七条）".into(),
                date: today,
            };
            match reg.submit_redaction(r.sign(&dept_key)).await? {
                Outcome::Appended { .. } => {}
                other => bail!("the demo redaction was refused: {other:?}"),
            }
        }
    }
    Ok(n)
}

async fn submit(reg: &Registry, chunk: Vec<Envelope>) -> Result<u64> {
    let n = chunk.len() as u64;
    let outcomes = reg.submit_records(chunk).await?;
    if let Some(Outcome::Rejected(r)) = outcomes.iter().find(|o| matches!(o, Outcome::Rejected(_))) {
        bail!("a simulated record was rejected: {}: {}", r.field, r.rule);
    }
    Ok(n)
}

pub async fn run(args: DemoArgs) -> Result<()> {
    let log_args = LogArgs {
        origin: Some(args.origin.clone()),
        checkpoint_interval_ms: args.checkpoint_interval_ms,
        ..LogArgs::at(&args.data)
    };
    let (log, _) = open_log(&log_args)?;
    let reg = Registry::open(&args.data, log.clone()).await.with_context(|| {
        format!(
            "opening the registry in {0} (a demo folder written by an older creditlog is not read: remove {0} and run `creditlog demo` again to rebuild it)",
            args.data.display()
        )
    })?;
    let state_path = args.data.join("demo.json");
    let state: DemoState = if state_path.exists() {
        serde_json::from_slice(&std::fs::read(&state_path)?)?
    } else {
        let s = load(&args, &reg).await?;
        std::fs::write(&state_path, serde_json::to_vec_pretty(&s)?)?;
        s
    };
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("listening on {}", args.listen))?;
    let url = format!("http://{}", listener.local_addr()?);
    let stats = reg.grade_stats()?;
    let models = reg.models();
    println!("log: {} ({} entries)", log.origin(), log.committed_size());
    println!("verifier key: {}", log.verifier_key());
    println!("listening on {url}");
    println!("portal (门户): {url}/  (sign in with a key file: the firm {data}/keys/example-firm.key with USCC {firm}; the market regulator {data}/sim/keys/zibo-amr.key; the grading authority {data}/keys/grading-authority.key; an auditor {data}/keys/auditor.key)", data = args.data.display(), firm = state.example_firm);
    if let (Some(counts), Some(pm)) = (stats.get(&state.general_model), models.get(&state.general_model)) {
        let total: u64 = counts.values().sum();
        println!("class distribution under the general model ({}), {total} firms:", pm.model.name);
        for c in &pm.model.classes {
            let n = counts.get(&c.label).copied().unwrap_or(0);
            let per_mille = (n * 1000).checked_div(total).unwrap_or(0);
            println!("  {} {}: {n} ({}.{}%)", c.label, c.name, per_mille / 10, per_mille % 10);
        }
    }
    let data = args.data.display();
    let firm = &state.example_firm;
    println!("try:");
    println!("creditlog grades --uscc {firm} --key {data}/keys/example-firm.key --server {url}");
    println!(
        "creditlog history --uscc {firm} --key {data}/keys/example-firm.key --server {url} --log-key '{}'",
        log.verifier_key()
    );
    println!(
        "creditlog regrade --model {} --key {data}/keys/grading-authority.key --server {url}",
        state.general_model
    );
    println!("creditlog grades --uscc {firm} --key {data}/keys/auditor.key --server {url}");
    println!(
        "creditlog export --uscc {firm} --key {data}/keys/example-firm.key --server {url} --out {firm}.bundle.json"
    );
    println!("creditlog verify {firm}.bundle.json --log-key '{}'", log.verifier_key());
    println!("creditlog objection list --uscc {firm} --key {data}/keys/example-firm.key --server {url}");
    // Two weeks on, the objection still awaiting acceptance is past its 5 working days.
    let later = reg.today().add_days(14).unwrap_or(reg.today());
    println!(
        "creditlog objection list --overdue --as-of {later} --key {data}/keys/grading-authority.key --server {url}"
    );
    println!("creditlog repair list --uscc {firm} --key {data}/keys/example-firm.key --server {url}");
    println!("creditlog commitment list --uscc {firm} --key {data}/keys/example-firm.key --server {url}");
    println!("creditlog redaction list --uscc {firm} --key {data}/keys/example-firm.key --server {url}");
    println!("creditlog disclosure --uscc {firm} --server {url} --log-key '{}'", log.verifier_key());
    if let Some((amr, hrss, sanctioned)) = &state.supervision {
        let vk = log.verifier_key();
        let auditor = format!("--key {data}/keys/auditor.key --server {url}");
        println!("creditlog plan list {auditor}");
        println!("creditlog verify-draw --server {url} --plan {amr} --key {data}/keys/auditor.key --log-key '{vk}'");
        println!("creditlog plan show --plan {hrss} {auditor}");
        println!("creditlog plan visits {auditor}");
        println!("creditlog plan results --plan {amr} {auditor}");
        println!("creditlog plan stats {auditor}");
        println!("creditlog warning list --all {auditor}");
        println!("creditlog check --uscc {sanctioned} --purpose government_procurement {auditor} --log-key '{vk}'");
    }
    for order in reg.resume_regrades()? {
        println!("resuming the re-grade of order {order} (its run summary is not on the log)");
    }
    let state = api::AppState::new(log, Some(reg), false, &args.data)
        .with_context(|| format!("opening the nonce file and the firm directory in {}", args.data.display()))?;
    api::serve(listener, api::app(state), api::serve::IDLE_TIMEOUT, crate::shutdown_signal())
        .await
        .context("serving HTTP")?;
    Ok(())
}
