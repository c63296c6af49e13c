//! `creditlog repair apply|interview|decide|list|rules`: credit repair (信用修复).

use crate::client::Client;
use anyhow::{Context, Result};
use clap::Subcommand;
use registry::keyfile;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use verifier::repair::{Proof, Step, REPAIR_FORMAT};

/// The integrity commitment (守信承诺书) a firm signs unless it gives its own text.
pub const DEFAULT_COMMITMENT: &str =
    "本企业承诺：已履行行政处罚决定规定的义务，已纠正失信行为、消除不良影响，今后依法诚信经营，如有违反，愿接受相应惩戒。";

#[derive(Subcommand, Debug)]
pub enum RepairCommand {
    /// Apply for the repair of a penalty or listing (signed by the firm's bound key), with proof
    /// documents (only their SHA-256 goes on the log).
    Apply {
        #[arg(long)]
        server: String,
        /// The firm's key file.
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        uscc: String,
        /// The penalty or listing entry.
        #[arg(long)]
        target: u64,
        /// A proof document, as DESCRIPTION=FILE (repeat for several).
        #[arg(long = "proof", required = true)]
        proofs: Vec<String>,
        /// The integrity commitment (守信承诺书); a standard text if absent.
        #[arg(long)]
        commitment: Option<String>,
        #[arg(long)]
        date: Option<String>,
    },
    /// Record the credit interview (信用约谈) of an application (the department that made the
    /// record).
    Interview {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        uscc: String,
        /// The application's entry.
        #[arg(long)]
        application: u64,
        /// What was said and agreed.
        #[arg(long)]
        summary: String,
        #[arg(long)]
        date: Option<String>,
    },
    /// Decide an application: --approve or --refuse, with --reason.
    Decide {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        uscc: String,
        #[arg(long)]
        application: u64,
        #[arg(long, conflicts_with = "refuse", required_unless_present = "refuse")]
        approve: bool,
        #[arg(long)]
        refuse: bool,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        date: Option<String>,
    },
    /// List repairs: a firm's (--uscc), or those a department decides (all for the grading
    /// authority, auditors and courts).
    List {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        uscc: Option<String>,
    },
    /// Print the repair rules, each with its source.
    Rules,
}

fn client(server: &str, key: &Path) -> Result<(Client, ed25519_dalek::SigningKey)> {
    let k = keyfile::read(key).with_context(|| format!("reading key {}", key.display()))?;
    Ok((Client::new(server, k.clone()), k))
}

pub fn run(cmd: RepairCommand) -> Result<()> {
    let kind = || REPAIR_FORMAT.to_owned();
    match cmd {
        RepairCommand::Apply { server, key, uscc, target, proofs, commitment, date } => {
            let (c, k) = client(&server, &key)?;
            let proofs = proofs
                .iter()
                .map(|p| {
                    let (description, file) =
                        p.split_once('=').with_context(|| format!("--proof {p:?}: expected DESCRIPTION=FILE"))?;
                    let bytes = std::fs::read(file).with_context(|| format!("reading the proof document {file}"))?;
                    Ok(Proof { description: description.to_owned(), sha256: hex(&Sha256::digest(&bytes)) })
                })
                .collect::<Result<Vec<_>>>()?;
            let step = Step::Applied {
                kind: kind(),
                subject: uscc.clone(),
                target_index: target,
                commitment: commitment.unwrap_or_else(|| DEFAULT_COMMITMENT.to_owned()),
                proofs,
                date: c.today(date.as_deref())?,
            };
            let index = c.submit("/v1/repairs", &step.sign(&k))?;
            println!("repair applied for at entry {index}; the department that made entry {target} holds the credit interview (信用约谈) and decides");
        }
        RepairCommand::Interview { server, key, uscc, application, summary, date } => {
            let (c, k) = client(&server, &key)?;
            let step = Step::Interviewed {
                kind: kind(),
                subject: uscc,
                application_index: application,
                summary,
                date: c.today(date.as_deref())?,
            };
            let index = c.submit("/v1/repairs", &step.sign(&k))?;
            println!("credit interview of repair {application} recorded at entry {index}");
        }
        RepairCommand::Decide { server, key, uscc, application, approve, refuse: _, reason, date } => {
            let (c, k) = client(&server, &key)?;
            let step = Step::Decided {
                kind: kind(),
                subject: uscc,
                application_index: application,
                approved: approve,
                reason,
                date: c.today(date.as_deref())?,
            };
            let index = c.submit("/v1/repairs", &step.sign(&k))?;
            if approve {
                println!("repair {application} approved at entry {index}; the record no longer counts and the firm is re-graded at once");
            } else {
                println!("repair {application} refused at entry {index}");
            }
        }
        RepairCommand::List { server, key, uscc } => {
            let (c, _) = client(&server, &key)?;
            let list = c.list("repairs", uscc.as_deref(), "")?;
            if list.is_empty() {
                println!("no repairs");
            }
            for r in list {
                println!(
                    "repair {} by {} of entry {} (decided by {}): {}",
                    r["index"],
                    r["subject"].as_str().unwrap_or("?"),
                    r["target_index"],
                    r["department"].as_str().unwrap_or("?"),
                    r["status"].as_str().unwrap_or("?")
                );
                if let Some(reason) = r["decision"]["reason"].as_str() {
                    println!("    {}: {reason}", r["decision"]["date"].as_str().unwrap_or("?"));
                }
            }
        }
        RepairCommand::Rules => {
            let rules = verifier::repair::RepairRules::shipped();
            println!("credit repair rules ({})", rules.source);
            for r in &rules.rules {
                println!(
                    "  {}: {}{} after {} months — {}",
                    r.id,
                    r.kind,
                    r.severity.as_ref().map_or(String::new(), |s| format!(" ({s})")),
                    r.min_months,
                    r.source
                );
            }
            println!("  never repaired: penalties that include {}", rules.conditions.unrepairable_penalties.join(", "));
            if rules.conditions.no_repeat {
                println!("  refused while a later penalty by the same department is in force");
            }
            if rules.conditions.no_listing_in_force {
                println!("  refused while the firm is on the serious-dishonesty list");
            }
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
