//! `creditlog plan template|publish|draw|list|show|results|rules` and `creditlog verify-draw`:
//! inspection plans and their draws (双随机、一公开, docs/DRAW.md).
//!
//! A department writes a plan (start from `plan template`), publishes it with `plan publish`,
//! which draws a secret, commits to it in the plan and keeps it in a file; once a signed
//! checkpoint holds the plan, `plan draw` checks that checkpoint, fetches the population the log
//! gives, runs the draw, and signs the reveal with the draw's result. `verify-draw` re-runs a
//! draw offline from its bundle, or fetches the bundle from a server first.

use crate::client::Client;
use anyhow::{bail, Context, Result};
use base64::prelude::*;
use clap::Subcommand;
use rand::RngCore;
use registry::keyfile;
use std::path::{Path, PathBuf};
use verifier::plan::{
    population_digest, selection_digest, Draw, DrawBundle, Member, Plan, SupervisionRules, DRAW_FORMAT, PLAN_FORMAT,
};

#[derive(Subcommand, Debug)]
pub enum PlanCommand {
    /// Print a plan to fill in, with the supervision rules' defaults (ratios, high-risk minimum,
    /// inspectors per firm).
    Template {
        /// The department's code.
        #[arg(long)]
        department: String,
        /// The hash of the published model whose classes the draw uses.
        #[arg(long)]
        model: String,
        /// The plan's date (default: today, UTC+8).
        #[arg(long)]
        date: Option<String>,
    },
    /// Publish a plan (JSON, as `plan template` prints it): draws a 32-byte secret, puts its
    /// commitment in the plan, signs and submits the plan, and writes the secret to --secret.
    Publish {
        #[arg(long)]
        server: String,
        /// The department's key file.
        #[arg(long)]
        key: PathBuf,
        /// The plan file.
        #[arg(long)]
        plan: PathBuf,
        /// Where to keep the secret until the draw (written once; never sent before the draw).
        #[arg(long)]
        secret: PathBuf,
    },
    /// Draw a published plan: reveal the secret once a signed checkpoint holds the plan, run the
    /// draw on the population the log gives, and submit the signed result.
    Draw {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        /// The plan's entry.
        #[arg(long)]
        plan: u64,
        /// The secret file `plan publish` wrote.
        #[arg(long)]
        secret: PathBuf,
        /// The log's verifier key; the checkpoint holding the plan must be signed by it (default:
        /// the key the server states, printed for you to compare).
        #[arg(long)]
        log_key: Option<String>,
    },
    /// List plans and their status.
    List {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        department: Option<String>,
    },
    /// Show the firms and inspectors a plan's draw selected (the plan's department, the grading
    /// authority, auditors and courts).
    Show {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        plan: u64,
    },
    /// The published results of a plan's inspections (一公开).
    Results {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        plan: u64,
    },
    /// The visits of plans drawn for a window: one per firm, joint where several departments
    /// drew it (进一次门、查多项事).
    Visits {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        /// First day of the window (default: today).
        #[arg(long)]
        from: Option<String>,
        /// Last day (default: 30 days after today).
        #[arg(long)]
        to: Option<String>,
    },
    /// Effectiveness statistics per department (seed 003): inspections drawn under the credit
    /// rules, problem-detection rate per class and with versus without them, joint visits.
    Stats {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
    /// Print the supervision rules and their sources.
    Rules,
}

pub fn run(cmd: PlanCommand) -> Result<()> {
    match cmd {
        PlanCommand::Template { department, model, date } => {
            let date = match date {
                Some(d) => verifier::Date::parse(&d).map_err(|e| anyhow::anyhow!("--date: {e}"))?,
                None => verifier::jurisdiction::Settings::default().local_date(crate::unix_now()),
            };
            println!("{}", serde_json::to_string_pretty(&template(&department, &model, date)?)?);
        }
        PlanCommand::Publish { server, key, plan, secret } => {
            let k = keyfile::read(&key).with_context(|| format!("reading key {}", key.display()))?;
            let text = std::fs::read(&plan).with_context(|| format!("reading {}", plan.display()))?;
            let mut p: Plan =
                serde_json::from_slice(&text).map_err(|e| crate::Failure(format!("{}: {e}", plan.display())))?;
            let index = publish(&Client::new(&server, k), &mut p, &secret)?;
            println!(
                "inspection plan {} logged at entry {index}; its secret is in {} (keep it: the draw reveals it, by {})",
                p.number,
                secret.display(),
                p.reveal_by
            );
            println!(
                "once a checkpoint holds it: creditlog plan draw --server {server} --key {} --plan {index} --secret {}",
                key.display(),
                secret.display()
            );
        }
        PlanCommand::Draw { server, key, plan, secret, log_key } => {
            let k = keyfile::read(&key).with_context(|| format!("reading key {}", key.display()))?;
            let c = Client::new(&server, k);
            let (index, d, selection) = draw(&c, plan, &secret, log_key.as_deref())?;
            println!(
                "plan {plan} drawn (双随机) at entry {index}: seed {}; {} firms drawn of a population of {}",
                d.seed, d.selection.firms, d.population.firms
            );
            for s in selection.iter().take(10) {
                println!("  {} (class {}): inspectors {}", s.uscc, s.class, s.inspectors.join(", "));
            }
            if selection.len() > 10 {
                println!("  … and {} more (creditlog plan show --plan {plan})", selection.len() - 10);
            }
            println!("anyone entitled re-runs it: creditlog verify-draw --server {server} --plan {plan} --key <your key> --log-key '<the log's verifier key>'");
        }
        PlanCommand::List { server, key, department } => {
            let c = Client::new(&server, keyfile::read(&key)?);
            let q = department.map(|d| format!("?department={d}")).unwrap_or_default();
            let v = c.get_ok(&format!("/v1/plans{q}"))?;
            let plans = v["plans"].as_array().cloned().unwrap_or_default();
            if plans.is_empty() {
                println!("no plans");
            }
            for p in plans {
                let drawn = match (p["drawn"].as_u64(), p["population"].as_u64()) {
                    (Some(k), Some(n)) => format!(", {k} of {n} firms drawn at entry {}", p["draw_index"]),
                    _ => String::new(),
                };
                println!(
                    "entry {}: {} {} ({}) by {}, cycle {} to {}: {}{drawn}",
                    p["index"],
                    p["number"].as_str().unwrap_or("?"),
                    p["title"].as_str().unwrap_or("?"),
                    p["domain"].as_str().unwrap_or("?"),
                    p["department"].as_str().unwrap_or("?"),
                    p["cycle_start"].as_str().unwrap_or("?"),
                    p["cycle_end"].as_str().unwrap_or("?"),
                    status_zh(p["status"].as_str().unwrap_or("?")),
                );
            }
        }
        PlanCommand::Show { server, key, plan } => {
            let c = Client::new(&server, keyfile::read(&key)?);
            let v = c.get_ok(&format!("/v1/plans/{plan}/draw"))?;
            println!("plan {plan}, drawn at entry {}:", v["draw_index"]);
            for (class, counts) in v["classes"].as_object().into_iter().flatten() {
                println!("  class {class}: {} drawn of {} eligible", counts[1], counts[0]);
            }
            for s in v["selection"].as_array().into_iter().flatten() {
                let insp: Vec<&str> =
                    s["inspectors"].as_array().into_iter().flatten().filter_map(|i| i.as_str()).collect();
                println!(
                    "  {} (class {}): inspectors {}",
                    s["uscc"].as_str().unwrap_or("?"),
                    s["class"].as_str().unwrap_or("?"),
                    insp.join(", ")
                );
            }
        }
        PlanCommand::Results { server, key, plan } => {
            let c = Client::new(&server, keyfile::read(&key)?);
            let v = c.get_ok(&format!("/v1/plans/{plan}/results"))?;
            let results = v["results"].as_array().cloned().unwrap_or_default();
            if results.is_empty() {
                println!("no results published for plan {plan} yet");
            }
            for r in results {
                println!(
                    "entry {}: {} inspected by {} on {}: {} ({}){}",
                    r["index"],
                    r["uscc"].as_str().unwrap_or("?"),
                    r["department"].as_str().unwrap_or("?"),
                    r["date"].as_str().unwrap_or("?"),
                    r["result_zh"].as_str().unwrap_or("?"),
                    r["result"].as_str().unwrap_or("?"),
                    r["findings"].as_str().map(|f| format!(": {f}")).unwrap_or_default(),
                );
            }
        }
        PlanCommand::Visits { server, key, from, to } => {
            let c = Client::new(&server, keyfile::read(&key)?);
            let v = c.get_ok(&format!("/v1/visits?{}", window(from.as_deref(), to.as_deref())))?;
            let visits = v["visits"].as_array().cloned().unwrap_or_default();
            println!(
                "{} visits from {} to {}, {} of them joint (联合检查)",
                visits.len(),
                v["from"].as_str().unwrap_or("?"),
                v["to"].as_str().unwrap_or("?"),
                v["joint"]
            );
            for x in visits {
                let parts: Vec<String> = x["parts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        let items: Vec<&str> =
                            p["items"].as_array().into_iter().flatten().filter_map(|i| i["name"].as_str()).collect();
                        let insp: Vec<&str> =
                            p["inspectors"].as_array().into_iter().flatten().filter_map(|i| i.as_str()).collect();
                        format!(
                            "{} ({}; {})",
                            p["department"].as_str().unwrap_or("?"),
                            items.join("、"),
                            insp.join(", ")
                        )
                    })
                    .collect();
                println!(
                    "  {}{}: {}",
                    x["uscc"].as_str().unwrap_or("?"),
                    if x["joint"] == true { " [joint 联合]" } else { "" },
                    parts.join(" + ")
                );
            }
        }
        PlanCommand::Stats { server, key, from, to } => {
            let c = Client::new(&server, keyfile::read(&key)?);
            let v = c.get_ok(&format!("/v1/stats/supervision?{}", window(from.as_deref(), to.as_deref())))?;
            println!(
                "supervision statistics (监管成效) from {} to {}",
                v["from"].as_str().unwrap_or("?"),
                v["to"].as_str().unwrap_or("?")
            );
            let rate = |n: u64, d: u64| {
                if d == 0 {
                    "—".to_owned()
                } else {
                    format!("{:.1} %", n as f64 * 100.0 / d as f64)
                }
            };
            for d in v["departments"].as_array().into_iter().flatten() {
                let n = |k: &str| d[k].as_u64().unwrap_or(0);
                println!(
                    "  {}: {} inspections, {} drawn under the credit rules ({}); problems found {} with them, {} without; {} visits, {} joint ({})",
                    d["department"].as_str().unwrap_or("?"),
                    n("inspections"),
                    n("drawn"),
                    rate(n("drawn"), n("inspections")),
                    rate(n("drawn_found"), n("drawn")),
                    rate(n("undrawn_found"), n("inspections") - n("drawn")),
                    n("visits"),
                    n("joint_visits"),
                    rate(n("joint_visits"), n("visits")),
                );
                for (class, c) in d["by_class"].as_object().into_iter().flatten() {
                    let (i, f) = (c[0].as_u64().unwrap_or(0), c[1].as_u64().unwrap_or(0));
                    println!("    class {class}: {f} of {i} drawn inspections found a problem ({})", rate(f, i));
                }
            }
        }
        PlanCommand::Rules => {
            let r = SupervisionRules::shipped();
            println!("supervision rules ({})", r.source);
            for c in &r.class {
                println!(
                    "  class {}: {}‰ to {}‰ drawn{}{} — {}",
                    c.class,
                    c.min_per_mille,
                    c.max_per_mille,
                    if c.needs_trigger { ", only with a verified complaint" } else { "" },
                    if c.high_risk { ", high-risk" } else { "" },
                    c.source
                );
            }
            println!(
                "  at least {}‰ of the firms drawn high-risk — {}",
                r.draw.min_high_risk_per_mille, r.draw.min_high_risk_source
            );
            println!(
                "  firms not graded under the plan's model: class {} — {}",
                r.draw.unrated_class, r.draw.unrated_source
            );
            println!(
                "  at least {} inspectors per firm — {}",
                r.draw.min_inspectors_per_firm, r.draw.inspectors_source
            );
            println!("  the secret revealed within {} days of the plan — {}", r.draw.reveal_days, r.draw.reveal_source);
            println!("  a cycle of at most {} days — {}", r.draw.max_cycle_days, r.draw.cycle_source);
            println!(
                "  a class-A trigger: a substantiated complaint within {} days — {}",
                r.trigger.days, r.trigger.source
            );
            println!("  excluded: low-risk firms inspected this cycle — {}", r.exclusion.inspected_this_cycle_source);
            println!(
                "  excluded: minor or ordinary dishonesty already inspected after a draw within {} days — {}",
                r.exclusion.dishonesty_days, r.exclusion.dishonesty_source
            );
            println!("  no exclusions in {} — {}", r.exclusion.exempt_domains.join(", "), r.exclusion.exempt_source);
        }
    }
    Ok(())
}

fn window(from: Option<&str>, to: Option<&str>) -> String {
    let mut q = Vec::new();
    if let Some(f) = from {
        q.push(format!("from={f}"));
    }
    if let Some(t) = to {
        q.push(format!("to={t}"));
    }
    q.join("&")
}

fn status_zh(status: &str) -> &'static str {
    match status {
        "drawn" => "drawn 已抽取",
        "awaiting-draw" => "awaiting the draw 待抽取",
        "not-revealed" => "NOT REVEALED by its day 逾期未揭示",
        _ => "?",
    }
}

/// A plan with the supervision rules' defaults, for `department` and `model`, dated `date`.
pub fn template(department: &str, model: &str, date: verifier::Date) -> Result<Plan> {
    let rules = SupervisionRules::shipped();
    Ok(Plan {
        kind: PLAN_FORMAT.into(),
        department: department.into(),
        number: format!("{}-{}", department, date),
        title: "双随机抽查".into(),
        domain: "market_regulation".into(),
        items: vec![verifier::plan::Item {
            code: "01".into(),
            name: "登记事项".into(),
            basis: "市场主体登记管理条例 第三十五条".into(),
            qualification: None,
        }],
        model: model.into(),
        population: verifier::plan::Filters::default(),
        cycle_start: verifier::Date::new(u32::from(date.year()), 1, 1)?,
        cycle_end: verifier::Date::new(u32::from(date.year()), 12, 31)?,
        rules: rules.default_draw_rules(),
        inspectors: Vec::new(),
        secret_commitment: String::new(),
        reveal_by: date.add_days(i64::from(rules.draw.reveal_days)).context("date out of range")?,
        date,
    })
}

/// Draws a secret, commits to it in `plan`, writes it to `secret` (refusing to overwrite one),
/// signs and submits the plan; its index.
pub fn publish(c: &Client, plan: &mut Plan, secret: &Path) -> Result<u64> {
    let mut s = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut s);
    plan.secret_commitment = hex::encode(verifier::draw::secret_commitment(&s));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(secret)
        .with_context(|| format!("{}: a secret file is written once; choose a new path", secret.display()))?;
    std::io::Write::write_all(&mut f, format!("{}\n", hex::encode(s)).as_bytes())?;
    f.sync_all()?;
    c.submit("/v1/plans", &plan.sign(c.key()))
}

/// Draws plan `plan_index`: waits for a signed checkpoint that holds the plan, checks that its
/// tree grew from the root at the plan, runs the draw on the population the log gives, and
/// submits the signed reveal and result. The draw's entry, the draw and the selection.
pub fn draw(
    c: &Client,
    plan_index: u64,
    secret: &Path,
    log_key: Option<&str>,
) -> Result<(u64, Draw, Vec<verifier::draw::Selection>)> {
    let text = std::fs::read_to_string(secret).with_context(|| format!("reading {}", secret.display()))?;
    let s: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| crate::Failure(format!("{}: not a 64-hex-digit secret", secret.display())))?;
    let log_key = match log_key {
        Some(k) => k.to_owned(),
        None => {
            let (_, v) = c.get("/v1/log")?;
            v["verifier_key"].as_str().context("the server states no verifier key")?.to_owned()
        }
    };
    // 1. A signed checkpoint holds the plan: its root at the plan is fixed before the reveal.
    let mut tries = 0;
    let v = loop {
        let v = c.get_ok(&format!("/v1/plans/{plan_index}"))?;
        if v.get("root").is_some() {
            break v;
        }
        tries += 1;
        if tries > 50 {
            bail!("no signed checkpoint holds plan {plan_index} yet; try again shortly");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let plan: Plan = serde_json::from_value(v["plan"].clone())
        .context("the server sent no plan (is this your department's plan?)")?;
    if hex::encode(verifier::draw::secret_commitment(&s)) != plan.secret_commitment {
        bail!("{} is not the secret of plan {plan_index}: it does not open the plan's commitment", secret.display());
    }
    let note = v["checkpoint"].as_str().context("no checkpoint")?;
    let cp = verifier::open_checkpoint(note.as_bytes(), &log_key)
        .map_err(|e| crate::Failure(format!("the checkpoint holding the plan is not signed by the log key: {e}")))?;
    let root_hex = v["root"].as_str().context("no root")?;
    let root: [u8; 32] = hex::decode(root_hex).ok().and_then(|b| b.try_into().ok()).context("a root of 32 bytes")?;
    let proof: Vec<verifier::Hash> = v["consistency"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            BASE64_STANDARD.decode(h.as_str().unwrap_or("")).ok().and_then(|b| b.try_into().ok()).map(verifier::Hash)
        })
        .collect::<Option<_>>()
        .context("a malformed consistency proof")?;
    verifier::verify_consistency(plan_index + 1, verifier::Hash(root), cp.size, cp.root, &proof).map_err(|e| {
        crate::Failure(format!("the root the server gives for the plan is not in the signed checkpoint's history: {e}"))
    })?;
    // 2. The population the log gives, and the draw.
    let pv = c.get_ok(&format!("/v1/plans/{plan_index}/population"))?;
    let members: Vec<Member> = serde_json::from_value(pv["members"].clone()).context("reading the population")?;
    // (The leaf the server states: a wrong one gives a seed the registry refuses, rule draw-plan.)
    let plan_leaf: [u8; 32] = hex::decode(v["leaf"].as_str().context("no leaf")?)
        .ok()
        .and_then(|b| b.try_into().ok())
        .context("a leaf of 32 bytes")?;
    let (d, selection) = build_draw(plan_index, &plan, plan_leaf, root, s, &members, c.today(None)?)?;
    let index = c.submit("/v1/draws", &d.sign(c.key()))?;
    Ok((index, d, selection))
}

/// The draw of `plan` (at `plan_index`, leaf `plan_leaf`) for the root at the plan, the secret
/// and the population: what the department signs (docs/DRAW.md §3).
pub fn build_draw(
    plan_index: u64,
    plan: &Plan,
    plan_leaf: [u8; 32],
    root: [u8; 32],
    secret: [u8; 32],
    members: &[Member],
    date: verifier::Date,
) -> Result<(Draw, Vec<verifier::draw::Selection>)> {
    let seed = verifier::draw::seed(&plan_leaf, &root, &secret);
    let firms: Vec<verifier::draw::Firm> = members.iter().map(Member::firm).collect();
    let selection =
        verifier::draw::draw(seed, &plan.rules, &firms, &plan.pool()).map_err(|e| crate::Failure(e.to_string()))?;
    let d = Draw {
        kind: DRAW_FORMAT.into(),
        department: plan.department.clone(),
        plan_index,
        plan_leaf: hex::encode(plan_leaf),
        root: hex::encode(root),
        secret: hex::encode(secret),
        seed: hex::encode(seed),
        population: population_digest(members),
        selection: selection_digest(&selection),
        date,
    };
    Ok((d, selection))
}

/// `creditlog verify-draw`: a bundle file, or one fetched from a server.
pub fn verify_draw(
    file: Option<&Path>,
    server: Option<&str>,
    plan: Option<u64>,
    key: Option<&Path>,
    log_key: &str,
    out: Option<&Path>,
    json: bool,
) -> Result<()> {
    let bundle: DrawBundle = match (file, server, plan, key) {
        (Some(f), None, None, None) => {
            let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
            serde_json::from_slice(&bytes)
                .map_err(|e| crate::Failure(format!("{}: not a draw bundle: {e}", f.display())))?
        }
        (None, Some(server), Some(plan), Some(key)) => {
            let c = Client::new(server, keyfile::read(key).with_context(|| format!("reading key {}", key.display()))?);
            let v = c.get_ok(&format!("/v1/plans/{plan}/bundle"))?;
            serde_json::from_value(v).context("reading the draw bundle")?
        }
        _ => bail!("give a bundle file, or --server, --plan and --key to fetch one"),
    };
    if let Some(o) = out {
        std::fs::write(o, serde_json::to_vec_pretty(&bundle)?).with_context(|| format!("writing {}", o.display()))?;
    }
    let trust = verifier::evidence::Trust::LogKey(log_key.to_owned());
    match verifier::plan::verify_draw(&bundle, &trust) {
        Ok(r) => {
            if json {
                println!("{}", serde_json::json!({ "ok": true, "report": r }));
                return Ok(());
            }
            println!(
                "draw verified (双随机抽取可复核): plan {} “{}” of {}, entry {}, drawn at entry {}",
                r.plan.number, r.plan.title, r.plan.department, r.plan_index, r.draw_index
            );
            for c in &r.checks {
                println!("  ✓ {c}");
            }
            for (class, (eligible, drawn)) in &r.classes {
                println!("  class {class}: {drawn} drawn of {eligible} eligible");
            }
            for s in &r.selection {
                println!("  {} (class {}): inspectors {}", s.uscc, s.class, s.inspectors.join(", "));
            }
            Ok(())
        }
        Err(e) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "ok": false, "entry": e.index, "check": e.check, "detail": e.detail })
                );
            }
            Err(crate::Failure(format!("the draw does not verify: {e}")).into())
        }
    }
}
