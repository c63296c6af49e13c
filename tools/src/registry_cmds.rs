//! Commands of departments, operators and enterprises: keys, identities, submissions, imports.

use crate::client::{problem_detail, Client};
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use registry::keyfile;
use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use verifier::envelope::{Envelope, IDENTITY_TYPE, RECORD_TYPE};
use verifier::identity::{Role, Statement, IDENTITY_STATEMENT};
use verifier::record::{Record, RecordKind};

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Create a new Ed25519 key file (mode 0600).
    New {
        /// Where to write it; refuses to overwrite.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a key file's key id and public key.
    Show {
        /// The key file.
        file: PathBuf,
    },
}

pub fn key(cmd: KeyCommand) -> Result<()> {
    match cmd {
        KeyCommand::New { out } => {
            let k = keyfile::generate();
            keyfile::write(&out, &k)?;
            println!("key id:     {}", verifier::envelope::key_id(&k.verifying_key()));
            println!("public key: {}", keyfile::public_b64(&k));
            println!("written to {} (mode 0600); keep it secret", out.display());
        }
        KeyCommand::Show { file } => {
            let k = keyfile::read(&file)?;
            println!("key id:     {}", verifier::envelope::key_id(&k.verifying_key()));
            println!("public key: {}", keyfile::public_b64(&k));
        }
    }
    Ok(())
}

/// Signs and submits one identity statement.
fn submit_statement(server: &str, signer: &Path, st: &Statement) -> Result<u64> {
    let key = keyfile::read(signer)?;
    let env = Envelope::sign(IDENTITY_TYPE, &st.to_bytes(), &key);
    let client = Client::new(server, key);
    let (status, v) = client.post("/v1/identities", &serde_json::to_value(&env)?)?;
    if status != 200 {
        bail!("the server refused the statement ({status}): {}", problem_detail(&v));
    }
    let index = v["index"].as_u64().context("answer without index")?;
    println!(
        "{} at entry {index}{}",
        st.action(),
        if v["outcome"] == "duplicate" { " (already on the log)" } else { "" }
    );
    Ok(index)
}

fn public_of(path: &Path) -> Result<String> {
    Ok(keyfile::public_b64(&keyfile::read(path).with_context(|| format!("reading key {}", path.display()))?))
}

#[derive(Subcommand, Debug)]
pub enum DeptCommand {
    /// Register a department and its first key (signed by the operator key).
    Add {
        /// Server URL.
        #[arg(long)]
        server: String,
        /// The operator key file (DATA/operator.key).
        #[arg(long)]
        key: PathBuf,
        /// Department code, e.g. zibo-amr.
        #[arg(long)]
        code: String,
        /// Department name.
        #[arg(long)]
        name: String,
        /// Record kinds it may submit, comma-separated (see `creditlog kinds`).
        #[arg(long, value_delimiter = ',')]
        kinds: Vec<String>,
        /// Supervision domains, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "")]
        domains: Vec<String>,
        /// Capabilities beyond records, comma-separated: register_enterprises (binding firms'
        /// keys at the service counter; the market regulator).
        #[arg(long, value_delimiter = ',', default_value = "")]
        capabilities: Vec<String>,
        /// The department's key file (its public key is registered).
        #[arg(long)]
        dept_key: PathBuf,
    },
}

pub fn dept(cmd: DeptCommand) -> Result<()> {
    let DeptCommand::Add { server, key, code, name, kinds, domains, capabilities, dept_key } = cmd;
    let capabilities = capabilities
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| {
            serde_json::from_value(serde_json::Value::String(c.clone()))
                .map_err(|_| anyhow::anyhow!("--capabilities {c:?}: the only capability is register_enterprises"))
        })
        .collect::<Result<_>>()?;
    for k in &kinds {
        k.parse::<RecordKind>().map_err(|e| anyhow::anyhow!("--kinds: {e}"))?;
    }
    let st = Statement::RegisterDepartment {
        kind: IDENTITY_STATEMENT.into(),
        code,
        name,
        kinds: kinds.into_iter().collect(),
        domains: domains.into_iter().filter(|d| !d.is_empty()).collect::<BTreeSet<_>>(),
        capabilities,
        key: public_of(&dept_key)?,
    };
    submit_statement(&server, &key, &st).map(|_| ())
}

#[derive(Subcommand, Debug)]
pub enum IdentityCommand {
    /// Register a key for a role (signed by the operator key).
    RegisterKey {
        #[arg(long)]
        server: String,
        /// Operator key file.
        #[arg(long)]
        key: PathBuf,
        /// grading_authority, auditor, court or witness.
        #[arg(long)]
        role: String,
        /// Holder's name.
        #[arg(long)]
        name: String,
        /// The holder's key file.
        #[arg(long)]
        holder_key: PathBuf,
    },
    /// Replace a key with a new one (signed by the operator or the old key).
    Rotate {
        #[arg(long)]
        server: String,
        /// Signing key file (operator, or the old key).
        #[arg(long)]
        key: PathBuf,
        /// Key id of the key to replace.
        #[arg(long)]
        old: String,
        /// The new key file.
        #[arg(long)]
        new_key: PathBuf,
    },
    /// Revoke a key (signed by the operator).
    Revoke {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        /// Key id to revoke.
        #[arg(long)]
        old: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Bind an enterprise's key to its USCC (signed by a department key, as at a service counter).
    BindEnterprise {
        #[arg(long)]
        server: String,
        /// Department key file.
        #[arg(long)]
        key: PathBuf,
        /// The enterprise's Unified Social Credit Code.
        #[arg(long)]
        uscc: String,
        /// The enterprise's key file.
        #[arg(long)]
        enterprise_key: PathBuf,
    },
    /// Set the jurisdiction's name, time zone and date settings for every later entry (signed
    /// by the operator key). Defaults: docs/FORMAT.md §10.
    SetJurisdiction {
        #[arg(long)]
        server: String,
        /// Operator key file.
        #[arg(long)]
        key: PathBuf,
        /// The jurisdiction's name, e.g. 淄博市张店区.
        #[arg(long)]
        name: String,
        /// Its IANA time zone (a label).
        #[arg(long, default_value = "Asia/Shanghai")]
        time_zone: String,
        /// Its offset from UTC, e.g. +08:00 (the rules use this).
        #[arg(long, default_value = "+08:00", allow_hyphen_values = true)]
        utc_offset: String,
        /// No record may be dated before this day.
        #[arg(long, default_value = "1988-07-01")]
        earliest_record_date: String,
        /// How many days after the day it is logged a record may be dated.
        #[arg(long, default_value_t = 1)]
        future_tolerance_days: u32,
    },
}

/// Parses `+08:00`, `-05:30` or `+8` into minutes.
pub fn parse_utc_offset(s: &str) -> Result<i32> {
    let bad = || anyhow::anyhow!("--utc-offset {s:?}: expected +HH:MM or -HH:MM, e.g. +08:00");
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let h: i32 = h.parse().map_err(|_| bad())?;
    let m: i32 = m.parse().map_err(|_| bad())?;
    if !(0..60).contains(&m) {
        return Err(bad());
    }
    Ok(sign * (h * 60 + m))
}

pub fn identity(cmd: IdentityCommand) -> Result<()> {
    let t = || IDENTITY_STATEMENT.to_owned();
    let (server, key, st) = match cmd {
        IdentityCommand::RegisterKey { server, key, role, name, holder_key } => {
            let role: Role = serde_json::from_value(serde_json::Value::String(role.clone())).map_err(|_| {
                anyhow::anyhow!("--role {role:?}: expected grading_authority, grader, auditor, court or witness")
            })?;
            (server, key, Statement::RegisterKey { kind: t(), role, name, key: public_of(&holder_key)? })
        }
        IdentityCommand::Rotate { server, key, old, new_key } => {
            (server, key, Statement::RotateKey { kind: t(), old, key: public_of(&new_key)? })
        }
        IdentityCommand::Revoke { server, key, old, reason } => {
            (server, key, Statement::RevokeKey { kind: t(), old, reason })
        }
        IdentityCommand::BindEnterprise { server, key, uscc, enterprise_key } => {
            let uscc = verifier::uscc::Uscc::parse(&uscc).map_err(|e| anyhow::anyhow!("--uscc: {e}"))?;
            (server, key, {
                // The enterprise signs the binding with its own key (proof of possession).
                let firm = keyfile::read(&enterprise_key)
                    .with_context(|| format!("reading the enterprise's key {}", enterprise_key.display()))?;
                Statement::BindEnterpriseKey {
                    kind: t(),
                    subject: uscc.as_str().to_owned(),
                    key: keyfile::public_b64(&firm),
                    proof: verifier::identity::sign_binding(uscc.as_str(), &firm),
                }
            })
        }
        IdentityCommand::SetJurisdiction {
            server,
            key,
            name,
            time_zone,
            utc_offset,
            earliest_record_date,
            future_tolerance_days,
        } => {
            let earliest_record_date = verifier::Date::parse(&earliest_record_date)
                .map_err(|e| anyhow::anyhow!("--earliest-record-date: {e}"))?;
            let st = Statement::SetJurisdiction {
                kind: t(),
                name,
                time_zone,
                utc_offset_minutes: parse_utc_offset(&utc_offset)?,
                earliest_record_date,
                future_tolerance_days,
            };
            (server, key, st)
        }
    };
    submit_statement(&server, &key, &st).map(|_| ())
}

/// Submits envelopes in requests of `batch`, printing every rejection; returns
/// (appended, duplicates, rejected).
pub fn submit_envelopes(
    client: &Client,
    envelopes: Vec<(String, Envelope)>,
    batch: usize,
    progress: &indicatif::ProgressBar,
) -> Result<(u64, u64, u64)> {
    let (mut appended, mut duplicates, mut rejected) = (0, 0, 0);
    for chunk in envelopes.chunks(batch.max(1)) {
        let body = serde_json::json!({ "records": chunk.iter().map(|(_, e)| e).collect::<Vec<_>>() });
        let (status, v) = client.post("/v1/records", &body)?;
        if status != 200 {
            bail!("the server refused the request ({status}): {}", problem_detail(&v));
        }
        let results = v["results"].as_array().context("answer without results")?;
        for ((place, _), r) in chunk.iter().zip(results) {
            match r["outcome"].as_str() {
                Some("appended") => appended += 1,
                Some("duplicate") => duplicates += 1,
                _ => {
                    rejected += 1;
                    progress.suspend(|| {
                        eprintln!(
                            "{place}: rejected: {}: {}",
                            r["field"].as_str().unwrap_or("?"),
                            r["rule"].as_str().unwrap_or("?")
                        )
                    });
                }
            }
        }
        progress.inc(chunk.len() as u64);
    }
    Ok((appended, duplicates, rejected))
}

/// `creditlog submit FILE.jsonl`: each line is a signed envelope, or a record payload to sign
/// with `--key`. The file is streamed: read, signed and sent `batch` lines at a time, so memory
/// holds one batch whatever the file's size; the progress bar counts the file's bytes. Sending
/// the same file again after an interruption is safe: what is on the log already comes back as
/// a duplicate. `Ok(false)` if any line was rejected.
pub fn submit(file: &Path, key_path: &Path, server: &str, batch: usize) -> Result<bool> {
    let key = keyfile::read(key_path)?;
    let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let total = f.metadata().with_context(|| format!("reading {}", file.display()))?.len();
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}")
            .expect("template"),
    );
    let client = Client::new(server, key.clone());
    let mut reader = std::io::BufReader::new(f);
    let batch = batch.max(1);
    let mut pending: Vec<(String, Envelope)> = Vec::with_capacity(batch);
    let (mut appended, mut duplicates, mut rejected, mut bad) = (0u64, 0u64, 0u64, 0u64);
    let mut send = |pending: &mut Vec<(String, Envelope)>, bar: &indicatif::ProgressBar| -> Result<()> {
        let (a, d, r) = submit_envelopes(&client, std::mem::take(pending), batch, &indicatif::ProgressBar::hidden())
            .map_err(|e| {
                e.context(format!(
                    "after {appended} records appended and {duplicates} already on the log; sending the file again \
                     resumes where this stopped"
                ))
            })?;
        (appended, duplicates, rejected) = (appended + a, duplicates + d, rejected + r);
        bar.set_message(format!("{appended} appended, {duplicates} already on the log"));
        Ok(())
    };
    let mut line = String::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let got = reader.read_line(&mut line).with_context(|| format!("reading {}", file.display()))?;
        if got == 0 {
            break;
        }
        number += 1;
        bar.inc(got as u64);
        if line.trim().is_empty() {
            continue;
        }
        let place = format!("{}:{number}", file.display());
        let mut refuse = |why: String| {
            bar.suspend(|| eprintln!("{place}: {why}"));
            bad += 1;
        };
        let value: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                refuse(format!("not JSON: {e}"));
                continue;
            }
        };
        if value.get("payloadType").is_some() {
            match serde_json::from_value::<Envelope>(value) {
                Ok(env) => pending.push((place, env)),
                Err(e) => refuse(format!("malformed envelope: {e}")),
            }
        } else {
            let payload = serde_json::to_vec(&value)?;
            match Record::parse(&payload) {
                Ok(_) => pending.push((place, Envelope::sign(RECORD_TYPE, &payload, &key))),
                Err(e) => refuse(e.to_string()),
            }
        }
        if pending.len() == batch {
            send(&mut pending, &bar)?;
        }
    }
    if !pending.is_empty() {
        send(&mut pending, &bar)?;
    }
    bar.finish_and_clear();
    println!("{appended} appended, {duplicates} already on the log, {} rejected", rejected + bad);
    Ok(rejected + bad == 0)
}

/// `creditlog model publish`.
pub fn publish_model(file: &Path, key_path: &Path, server: &str) -> Result<()> {
    let text = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let model = verifier::model::Model::parse(std::str::from_utf8(&text).context("the model file is not UTF-8")?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let key = keyfile::read(key_path)?;
    let env = Envelope::sign(verifier::envelope::MODEL_TYPE, &text, &key);
    let (status, v) = Client::new(server, key).post("/v1/models", &serde_json::to_value(&env)?)?;
    if status != 200 {
        bail!("the server refused the model ({status}): {}", problem_detail(&v));
    }
    println!("published {:?} at entry {}; cite it as {}", model.id, v["index"], v["model"].as_str().unwrap_or("?"));
    Ok(())
}

/// `creditlog regrade`.
pub fn regrade(
    model: Option<&str>,
    job: Option<u64>,
    as_of: Option<&str>,
    key_path: &Path,
    server: &str,
) -> Result<()> {
    let key = keyfile::read(key_path)?;
    let client = Client::new(server, key.clone());
    let id = match (job, model) {
        (Some(id), _) => id,
        (None, Some(model)) => {
            let as_of = match as_of {
                Some(d) => verifier::Date::parse(d).map_err(|e| anyhow::anyhow!("--as-of: {e}"))?,
                // The jurisdiction's local date, as the log's settings make it.
                None => client.today(None)?,
            };
            // The order is signed by the grading authority and logged: the run's decisions cite it.
            let order = registry::grading::sign_order(model, as_of, &key);
            let (status, v) = client.post("/v1/regrade", &serde_json::to_value(&order)?)?;
            if status != 202 {
                bail!("the server refused ({status}): {}", problem_detail(&v));
            }
            let id = v["order"].as_u64().context("the answer names no job")?;
            eprintln!("re-grade started: job {id} (follow it again with `creditlog regrade --job {id} --key ... --server ...`)");
            id
        }
        (None, None) => bail!("give --model to start a re-grade, or --job to follow one"),
    };
    // The job runs on the server: a lost connection only pauses the bar, and polling resumes.
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("re-grading {bar:40} {pos}/{len} firms {per_sec} eta {eta} {msg}")
            .expect("template"),
    );
    let mut lost = 0u32;
    let status = loop {
        match client.get(&format!("/v1/regrade/jobs/{id}")) {
            Ok((200, v)) => {
                lost = 0;
                bar.set_length(v["total"].as_u64().unwrap_or(0));
                bar.set_position(v["done"].as_u64().unwrap_or(0));
                bar.set_message(format!("{} decisions", v["changed"]));
                if v["state"] != "running" {
                    break v;
                }
            }
            Ok((status, v)) => bail!("job {id}: the server answered {status}: {}", problem_detail(&v)),
            Err(e) => {
                lost += 1;
                bar.set_message(format!("connection lost ({e}); retrying"));
                if lost > 600 {
                    bail!("job {id}: no answer from {server} for 10 minutes; follow it later with --job {id}");
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(if lost > 0 { 1000 } else { 300 }));
    };
    bar.finish_and_clear();
    if status["state"] == "failed" {
        bail!("job {id} failed: {} (it resumes when the server restarts)", status["error"].as_str().unwrap_or("?"));
    }
    let s = &status["summary"];
    println!(
        "as of {}: {} firms evaluated, {} changed (a decision logged for each); run summary at entry {} ({:.1} s)",
        s["as_of"].as_str().unwrap_or("?"),
        s["evaluated"],
        s["changed"],
        status["summary_index"],
        status["elapsed_s"].as_f64().unwrap_or(0.0)
    );
    Ok(())
}

/// `creditlog grades`.
pub fn grades(uscc: &str, key_path: &Path, server: &str) -> Result<()> {
    let uscc = verifier::uscc::Uscc::parse(uscc).map_err(|e| anyhow::anyhow!("--uscc: {e}"))?;
    let (status, v) =
        Client::new(server, keyfile::read(key_path)?).get(&format!("/v1/enterprises/{}", uscc.as_str()))?;
    if status != 200 {
        bail!("the server refused ({status}): {}", problem_detail(&v));
    }
    let grades = v["grades"].as_array().context("grades")?;
    if grades.is_empty() {
        println!("{}: not graded yet", uscc.as_str());
    }
    for g in grades {
        let d = &g["decision"];
        println!(
            "model {}: class {} (score {}) as of {}, decision entry {}, trigger {}",
            &g["model"].as_str().unwrap_or("?")[..12],
            g["class"].as_str().unwrap_or("?"),
            g["score"],
            g["as_of"].as_str().unwrap_or("?"),
            g["decision_index"],
            d["trigger"].as_str().unwrap_or("?")
        );
        let b = &d["breakdown"];
        println!("  base {}", b["base"]);
        fn walk(line: &serde_json::Value, depth: usize) {
            println!(
                "{}{}: {} (raw {})",
                "  ".repeat(depth),
                line["id"].as_str().unwrap_or("?"),
                line["capped"],
                line["raw"]
            );
            for p in line["points"].as_array().into_iter().flatten() {
                if p["points"].as_i64() != Some(0) {
                    println!(
                        "{}{}: {} from entries {}",
                        "  ".repeat(depth + 1),
                        p["id"].as_str().unwrap_or("?"),
                        p["points"],
                        p["records"]
                    );
                }
            }
            for c in line["children"].as_array().into_iter().flatten() {
                walk(c, depth + 1);
            }
        }
        for line in b["indicators"].as_array().into_iter().flatten() {
            walk(line, 1);
        }
        if let Some(o) = b["overrides"].as_array().filter(|o| !o.is_empty()) {
            println!("  overrides: {}", o.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", "));
        }
    }
    Ok(())
}
