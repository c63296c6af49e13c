//! `creditlog sanction impose|lift|list` (联合惩戒) and `creditlog check` (自动拦截): a department
//! imposes and lifts its sanctions; a relying party asks whether a firm is restricted for a
//! purpose, verifies the answer (checkpoint signature, every inclusion proof, every department
//! signature: `verifier::interception::verify_answer`) and may keep it as evidence.

use crate::client::{problem_detail, Client};
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use registry::keyfile;
use std::path::PathBuf;
use verifier::evidence::Trust;
use verifier::interception::{verify_answer, CheckAnswer, Verdict};
use verifier::sanction::{Measure, Step, SANCTION_FORMAT};
use verifier::Date;

/// `creditlog check` found the firm restricted: exit code 3 (0 is allowed, 1 an error or an
/// answer that does not verify, 2 a partial submission).
#[derive(Debug)]
pub struct Restricted;
impl std::fmt::Display for Restricted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("restricted (限制)")
    }
}
impl std::error::Error for Restricted {}

#[derive(Subcommand, Debug)]
pub enum SanctionCommand {
    /// Impose a sanction (signed by a department's key, in its own name) on the basis of earlier
    /// entries about the firm: a listing, a penalty, or a grade decision where the policy allows.
    Impose {
        #[arg(long)]
        server: String,
        /// The department's key file.
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        uscc: String,
        /// The department's code (the key's department).
        #[arg(long)]
        department: String,
        /// Measures, comma-separated: bidding, government_procurement, fiscal_subsidy, new_credit,
        /// market_access, honours, notice_and_commitment.
        #[arg(long, value_delimiter = ',')]
        measures: Vec<String>,
        /// Basis entries, comma-separated log indices.
        #[arg(long, value_delimiter = ',')]
        basis: Vec<u64>,
        /// The legal basis, in words (法律依据).
        #[arg(long)]
        legal_basis: String,
        #[arg(long)]
        start: String,
        #[arg(long)]
        end: String,
        /// The document number (文号).
        #[arg(long)]
        reference: String,
        /// The day it is imposed (default: the jurisdiction's today).
        #[arg(long)]
        date: Option<String>,
    },
    /// Lift a sanction early (only the department that imposed it).
    Lift {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        uscc: String,
        #[arg(long)]
        department: String,
        /// The sanction's entry.
        #[arg(long)]
        sanction: u64,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        date: Option<String>,
    },
    /// A firm's sanctions and where each stands (on --as-of, default today).
    List {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        uscc: String,
        #[arg(long)]
        as_of: Option<String>,
    },
}

fn day(d: Option<&str>, c: &Client, flag: &str) -> Result<Date> {
    match d {
        Some(d) => Date::parse(d).map_err(|e| anyhow::anyhow!("{flag}: {e}")),
        None => c.today(None),
    }
}

pub fn run(cmd: SanctionCommand) -> Result<()> {
    match cmd {
        SanctionCommand::Impose {
            server,
            key,
            uscc,
            department,
            measures,
            basis,
            legal_basis,
            start,
            end,
            reference,
            date,
        } => {
            let k = keyfile::read(&key).with_context(|| format!("reading key {}", key.display()))?;
            let c = Client::new(&server, k.clone());
            let step = Step::Imposed {
                kind: SANCTION_FORMAT.into(),
                subject: uscc,
                department,
                measures: measures
                    .iter()
                    .map(|m| m.parse::<Measure>())
                    .collect::<Result<_, _>>()
                    .map_err(|e| anyhow::anyhow!("--measures: {e}"))?,
                basis,
                legal_basis,
                start: Date::parse(&start).map_err(|e| anyhow::anyhow!("--start: {e}"))?,
                end: Date::parse(&end).map_err(|e| anyhow::anyhow!("--end: {e}"))?,
                date: day(date.as_deref(), &c, "--date")?,
                reference,
            };
            Step::parse(&step.to_bytes()).map_err(|e| anyhow::anyhow!("the sanction is malformed: {e}"))?;
            let index = c.submit("/v1/sanctions", &step.sign(&k))?;
            println!("sanction (联合惩戒) imposed at entry {index}");
        }
        SanctionCommand::Lift { server, key, uscc, department, sanction, reason, date } => {
            let k = keyfile::read(&key).with_context(|| format!("reading key {}", key.display()))?;
            let c = Client::new(&server, k.clone());
            let step = Step::Lifted {
                kind: SANCTION_FORMAT.into(),
                subject: uscc,
                department,
                sanction_index: sanction,
                reason,
                date: day(date.as_deref(), &c, "--date")?,
            };
            let index = c.submit("/v1/sanctions", &step.sign(&k))?;
            println!("sanction {sanction} lifted (提前解除) at entry {index}");
        }
        SanctionCommand::List { server, key, uscc, as_of } => {
            let c = Client::new(&server, keyfile::read(&key)?);
            let query = as_of.map_or(String::new(), |d| format!("?as_of={d}"));
            let (status, v) = c.get(&format!("/v1/enterprises/{uscc}/sanctions{query}"))?;
            if status != 200 {
                bail!("the server refused ({status}): {}", problem_detail(&v));
            }
            let list = v["sanctions"].as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                println!("no sanctions");
            }
            for x in list {
                let s = &x["sanction"];
                println!(
                    "sanction {} by {} ({}), measures {}, basis {}: {}",
                    x["index"],
                    s["department"].as_str().unwrap_or("?"),
                    s["reference"].as_str().unwrap_or("?"),
                    s["measures"],
                    s["basis"],
                    x["explanation"].as_str().unwrap_or("?")
                );
            }
        }
    }
    Ok(())
}

/// `creditlog check`: asks, verifies, prints, and saves the answer if asked; `Err(Restricted)`
/// when the firm is restricted.
#[allow(clippy::too_many_arguments)]
pub fn check(
    uscc: &str,
    purpose: &str,
    date: Option<&str>,
    key: Option<&std::path::Path>,
    server: Option<&str>,
    log_key: Option<&str>,
    out: Option<&std::path::Path>,
    answer_file: Option<&std::path::Path>,
) -> Result<()> {
    let purpose: Measure = purpose.parse().map_err(|e| anyhow::anyhow!("--purpose: {e}"))?;
    let (answer, vkey) = match answer_file {
        // Verify an answer kept earlier, offline.
        Some(file) => {
            let text = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let v: serde_json::Value =
                serde_json::from_slice(&text).with_context(|| format!("parsing {}", file.display()))?;
            let vkey = log_key.context("an answer read from a file is verified with --log-key")?.to_owned();
            if v["type"] == verifier::federation::PROVINCE_CHECK_FORMAT {
                return province(v, &vkey, uscc, purpose, date, None);
            }
            let a: CheckAnswer = serde_json::from_value(v).with_context(|| format!("parsing {}", file.display()))?;
            (a, vkey)
        }
        None => {
            let (Some(key), Some(server)) = (key, server) else {
                bail!("give --key and --server to ask the server, or --answer FILE to verify a kept answer");
            };
            let c = Client::new(server, keyfile::read(key).with_context(|| format!("reading key {}", key.display()))?);
            let mut q = format!("/v1/check?uscc={uscc}&purpose={purpose}");
            if let Some(d) = date {
                Date::parse(d).map_err(|e| anyhow::anyhow!("--date: {e}"))?;
                q.push_str(&format!("&date={d}"));
            }
            let (status, v) = c.get(&q)?;
            if status != 200 {
                bail!("the server refused the check ({status}): {}", problem_detail(&v));
            }
            let vkey = match log_key {
                Some(k) => k.to_owned(),
                None => {
                    let (_, info) = c.get("/v1/log")?;
                    eprintln!(
                        "note: trusting the log key the server announces; pin it with --log-key for a real check"
                    );
                    info["verifier_key"].as_str().context("no verifier_key in /v1/log")?.to_owned()
                }
            };
            if v["type"] == verifier::federation::PROVINCE_CHECK_FORMAT {
                return province(v, &vkey, uscc, purpose, date, out);
            }
            let a: CheckAnswer = serde_json::from_value(v).context("the server's answer is not a check answer")?;
            (a, vkey)
        }
    };
    if answer.uscc != uscc || answer.purpose != purpose || date.is_some_and(|d| answer.date.to_string() != d) {
        bail!("the answer is about {} for {} on {}, not what was asked", answer.uscc, answer.purpose, answer.date);
    }
    let v =
        verify_answer(&answer, &Trust::LogKey(vkey)).map_err(|e| anyhow::anyhow!("the answer does not verify: {e}"))?;
    if let Some(out) = out {
        std::fs::write(out, serde_json::to_vec_pretty(&answer)?)
            .with_context(|| format!("writing {}", out.display()))?;
        eprintln!("answer kept as evidence in {}", out.display());
    }
    let label = format!("{} ({})", purpose, purpose.chinese_name());
    match v.answer {
        Verdict::Allowed => println!("allowed (允许): {} may take part in {label} on {}", answer.uscc, answer.date),
        Verdict::Restricted => println!(
            "restricted (限制): {} sanction(s) in force restrict {} from {label} on {}",
            answer.in_force.len(),
            answer.uscc,
            answer.date
        ),
    }
    for s in &answer.in_force {
        let basis: Vec<String> =
            s.basis.iter().map(|b| format!("entry {} {} by {}", b.index, b.kind, b.department)).collect();
        println!(
            "  in force (生效中): entry {} by {} ({}): {}; basis (依据): {}",
            s.index,
            s.signer.department,
            match &s.sanction {
                Step::Imposed { reference, .. } => reference.as_str(),
                Step::Lifted { .. } => "",
            },
            s.explanation,
            basis.join("; ")
        );
    }
    for s in &answer.not_in_force {
        println!("  not in force (未生效/已解除): entry {} by {}: {}", s.index, s.signer.department, s.explanation);
    }
    println!(
        "verified (已验证): checkpoint of {} at size {} signed by the log key; {} inclusion proof(s) and {} department signature(s) checked; checked by {} at {}",
        v.origin,
        v.size,
        v.proofs,
        answer.in_force.len() + answer.not_in_force.len(),
        answer.checked_by,
        answer.checked_at
    );
    if v.answer == Verdict::Restricted {
        return Err(Restricted.into());
    }
    Ok(())
}

/// A provincial answer ([`verifier::federation`]): verified with the province's key alone.
fn province(
    v: serde_json::Value,
    vkey: &str,
    uscc: &str,
    purpose: Measure,
    date: Option<&str>,
    out: Option<&std::path::Path>,
) -> Result<()> {
    let answer: verifier::federation::ProvinceAnswer =
        serde_json::from_value(v).context("the answer is not a provincial check answer")?;
    if answer.uscc != uscc || answer.purpose != purpose || date.is_some_and(|d| answer.date.to_string() != d) {
        bail!("the answer is about {} for {} on {}, not what was asked", answer.uscc, answer.purpose, answer.date);
    }
    let v = verifier::federation::verify_province_answer(&answer, &Trust::LogKey(vkey.to_owned()))
        .map_err(|e| anyhow::anyhow!("the provincial answer does not verify: {e}"))?;
    if let Some(out) = out {
        std::fs::write(out, serde_json::to_vec_pretty(&answer)?)
            .with_context(|| format!("writing {}", out.display()))?;
        eprintln!("answer kept as evidence in {}", out.display());
    }
    let label = format!("{} ({})", purpose, purpose.chinese_name());
    match v.answer {
        Verdict::Allowed => println!(
            "allowed (允许): no city of {} restricts {} from {label} on {}",
            answer.province, answer.uscc, answer.date
        ),
        Verdict::Restricted => println!(
            "restricted (限制): {} is restricted from {label} on {} in at least one city of {} (一处失信、处处受限)",
            answer.uscc, answer.date, answer.province
        ),
    }
    if let Some(home) = &answer.home {
        println!("  home city (登记地) by the USCC's region code: {home}");
    }
    for (c, (origin, verdict, in_force, anchor)) in answer.cities.iter().zip(&v.cities) {
        println!(
            "  {} ({origin}): {}, {in_force} sanction(s) in force; its answer is anchored at provincial entry {anchor}",
            c.name,
            match verdict {
                Verdict::Allowed => "allowed (允许)",
                Verdict::Restricted => "restricted (限制)",
            }
        );
        for s in &c.answer.in_force {
            println!("    in force (生效中): entry {} by {}: {}", s.index, s.signer.department, s.explanation);
        }
    }
    println!(
        "verified offline against the provincial checkpoint of {} entries: each city's answer under the city key the province logged, each anchored in the provincial log",
        v.size
    );
    if v.answer == Verdict::Restricted {
        return Err(Restricted.into());
    }
    Ok(())
}
