//! `creditlog objection file|accept|resolve|list`: objections (异议) from the firm's side and the
//! department's.

use crate::client::Client;
use anyhow::{Context, Result};
use clap::Subcommand;
use registry::keyfile;
use std::path::{Path, PathBuf};
use verifier::objection::{Grounds, Omission, Outcome, Step, OBJECTION_FORMAT};

/// The objection commitment (异议承诺) a firm signs unless it gives its own text.
pub const DEFAULT_COMMITMENT: &str = "本企业承诺所提异议及所附材料真实、准确、完整，如有虚假，愿承担相应法律责任。";

#[derive(Subcommand, Debug)]
pub enum ObjectionCommand {
    /// File an objection (signed by the firm's bound key) against a record or decision about
    /// it, or report a missing record.
    File {
        #[arg(long)]
        server: String,
        /// The firm's key file.
        #[arg(long)]
        key: PathBuf,
        /// The firm's USCC.
        #[arg(long)]
        uscc: String,
        /// The entry contested (a record or a grade decision about the firm).
        #[arg(long, conflicts_with = "missing_kind")]
        target: Option<u64>,
        /// error, duplicate, expired or should_not_be_published (omission with --missing-*).
        #[arg(long, default_value = "error")]
        grounds: String,
        /// For a missing record: the department that should have recorded it.
        #[arg(long, requires = "missing_kind")]
        missing_department: Option<String>,
        /// For a missing record: its kind, e.g. commendation.
        #[arg(long, requires = "missing_department")]
        missing_kind: Option<String>,
        /// The firm's account.
        #[arg(long)]
        statement: String,
        /// The objection commitment (异议承诺); a standard text if absent.
        #[arg(long)]
        commitment: Option<String>,
        /// The day of filing (default: the jurisdiction's today).
        #[arg(long)]
        date: Option<String>,
    },
    /// Accept an objection, or refuse acceptance with --refuse REASON (the department it is
    /// routed to).
    Accept {
        #[arg(long)]
        server: String,
        /// The department's (or grading authority's) key file.
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        uscc: String,
        /// The entry that filed the objection.
        #[arg(long)]
        objection: u64,
        /// Refuse acceptance (不予受理), for this reason.
        #[arg(long)]
        refuse: Option<String>,
        #[arg(long)]
        date: Option<String>,
    },
    /// Resolve an accepted objection: --upheld (citing --correction, the retraction or the
    /// record added) or --rejected, with --reason.
    Resolve {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        uscc: String,
        #[arg(long)]
        objection: u64,
        #[arg(long, conflicts_with = "rejected", required_unless_present = "rejected")]
        upheld: bool,
        #[arg(long)]
        rejected: bool,
        /// The reason, shown to the firm.
        #[arg(long)]
        reason: String,
        /// For an upheld objection about a record: the retraction entry; about a missing
        /// record: the record added.
        #[arg(long)]
        correction: Option<u64>,
        #[arg(long)]
        date: Option<String>,
    },
    /// List objections: a firm's (--uscc), or those to answer (a department's, or all for the
    /// grading authority, auditors and courts); --overdue keeps the late ones.
    List {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        uscc: Option<String>,
        #[arg(long)]
        overdue: bool,
        /// Judge lateness as of this day (default today).
        #[arg(long)]
        as_of: Option<String>,
    },
}

fn client(server: &str, key: &Path) -> Result<Client> {
    let k = keyfile::read(key).with_context(|| format!("reading key {}", key.display()))?;
    Ok(Client::new(server, k))
}

pub fn run(cmd: ObjectionCommand) -> Result<()> {
    let kind = || OBJECTION_FORMAT.to_owned();
    match cmd {
        ObjectionCommand::File {
            server,
            key,
            uscc,
            target,
            grounds,
            missing_department,
            missing_kind,
            statement,
            commitment,
            date,
        } => {
            let c = client(&server, &key)?;
            let omission = missing_department.zip(missing_kind).map(|(department, kind)| Omission {
                department,
                kind,
                description: statement.clone(),
            });
            let grounds: Grounds = if omission.is_some() {
                Grounds::Omission
            } else {
                serde_json::from_value(serde_json::Value::String(grounds.clone())).map_err(|_| {
                    anyhow::anyhow!(
                        "--grounds {grounds:?}: expected error, duplicate, expired or should_not_be_published"
                    )
                })?
            };
            let step = Step::Filed {
                kind: kind(),
                subject: uscc.clone(),
                target_index: target,
                omission,
                grounds,
                statement,
                commitment: commitment.unwrap_or_else(|| DEFAULT_COMMITMENT.to_owned()),
                date: c.today(date.as_deref())?,
            };
            let index = c.submit("/v1/objections", &step.sign(c.key()))?;
            println!("objection filed at entry {index}; follow it with: creditlog objection list --uscc {uscc} --key {} --server {server}", key.display());
        }
        ObjectionCommand::Accept { server, key, uscc, objection, refuse, date } => {
            let c = client(&server, &key)?;
            let step = Step::Accepted {
                kind: kind(),
                subject: uscc,
                objection_index: objection,
                accepted: refuse.is_none(),
                reason: refuse.clone(),
                date: c.today(date.as_deref())?,
            };
            let index = c.submit("/v1/objections", &step.sign(c.key()))?;
            match refuse {
                None => println!("objection {objection} accepted at entry {index}"),
                Some(_) => println!("acceptance of objection {objection} refused at entry {index}"),
            }
        }
        ObjectionCommand::Resolve { server, key, uscc, objection, upheld, rejected: _, reason, correction, date } => {
            let c = client(&server, &key)?;
            let step = Step::Resolved {
                kind: kind(),
                subject: uscc,
                objection_index: objection,
                outcome: if upheld { Outcome::Upheld } else { Outcome::Rejected },
                reason,
                correction_index: correction,
                date: c.today(date.as_deref())?,
            };
            let index = c.submit("/v1/objections", &step.sign(c.key()))?;
            println!(
                "objection {objection} {} at entry {index}{}",
                if upheld { "upheld" } else { "rejected" },
                if upheld { "; the firm is re-graded at once" } else { "" }
            );
        }
        ObjectionCommand::List { server, key, uscc, overdue, as_of } => {
            let c = client(&server, &key)?;
            let query = format!("overdue={overdue}{}", as_of.map_or(String::new(), |d| format!("&as_of={d}")));
            let list = c.list("objections", uscc.as_deref(), &query)?;
            if list.is_empty() {
                println!("no objections");
            }
            for o in list {
                let about = match (o["target_index"].as_u64(), o["omission"]["kind"].as_str()) {
                    (Some(t), _) => format!("entry {t}"),
                    (None, Some(k)) => format!("a missing {k} record"),
                    _ => "?".into(),
                };
                println!(
                    "objection {} by {} about {about} ({}): {}{}; routed to {}; accept by {}{}",
                    o["index"],
                    o["subject"].as_str().unwrap_or("?"),
                    o["grounds"].as_str().unwrap_or("?"),
                    o["status"].as_str().unwrap_or("?"),
                    if o["overdue"] == true { " — OVERDUE (逾期)" } else { "" },
                    o["routed_to"].as_str().unwrap_or("?"),
                    o["accept_by"].as_str().unwrap_or("?"),
                    o["resolve_by"].as_str().map_or(String::new(), |d| format!(", resolve by {d}")),
                );
                if let Some(r) = o["resolution"]["reason"].as_str() {
                    println!("    reason: {r}");
                } else if let Some(r) = o["acceptance"]["reason"].as_str() {
                    println!("    reason: {r}");
                }
            }
        }
    }
    Ok(())
}
