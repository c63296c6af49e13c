//! `creditlog commitment make|list`: a firm's own commitments (信用承诺). The department records
//! the outcome with `creditlog submit` (a `commitment_outcome` record with `commitment_index`).

use crate::client::Client;
use anyhow::{Context, Result};
use clap::Subcommand;
use registry::keyfile;
use std::path::PathBuf;
use verifier::commitment::{Commitment, COMMITMENT_FORMAT};
use verifier::Date;

#[derive(Subcommand, Debug)]
pub enum CommitmentCommand {
    /// Make a commitment (signed by the firm's bound key), checked by a department by a due day.
    Make {
        #[arg(long)]
        server: String,
        /// The firm's key file.
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        uscc: String,
        /// notice_and_commitment (告知承诺), certification, voluntary, industry_self_discipline.
        #[arg(long, default_value = "notice_and_commitment")]
        r#type: String,
        /// The department that checks it.
        #[arg(long)]
        department: String,
        /// What the firm promises.
        #[arg(long)]
        content: String,
        /// The day by which it is kept.
        #[arg(long)]
        due: String,
    },
    /// List commitments: a firm's (--uscc), or those a department checks; --overdue keeps the
    /// ones due and unchecked.
    List {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        uscc: Option<String>,
        #[arg(long)]
        overdue: bool,
        #[arg(long)]
        as_of: Option<String>,
    },
}

pub fn run(cmd: CommitmentCommand) -> Result<()> {
    match cmd {
        CommitmentCommand::Make { server, key, uscc, r#type, department, content, due } => {
            let k = keyfile::read(&key).with_context(|| format!("reading key {}", key.display()))?;
            let c = Client::new(&server, k.clone());
            let today = c.today(None)?;
            let commitment = Commitment {
                kind: COMMITMENT_FORMAT.into(),
                subject: uscc,
                commitment_type: r#type.parse().map_err(|e| anyhow::anyhow!("--type: {e}"))?,
                department,
                content,
                due: Date::parse(&due).map_err(|e| anyhow::anyhow!("--due: {e}"))?,
                date: today,
            };
            let index = c.submit("/v1/commitments", &commitment.sign(&k))?;
            println!(
                "commitment made at entry {}; {} records whether it was kept by {} (a commitment_outcome record with commitment_index {})",
                index, commitment.department, commitment.due, index
            );
        }
        CommitmentCommand::List { server, key, uscc, overdue, as_of } => {
            let c = Client::new(&server, keyfile::read(&key)?);
            let query = format!("overdue={overdue}{}", as_of.map_or(String::new(), |d| format!("&as_of={d}")));
            let list = c.list("commitments", uscc.as_deref(), &query)?;
            if list.is_empty() {
                println!("no commitments");
            }
            for x in list {
                println!(
                    "commitment {} by {} ({}), checked by {}, due {}: {}{}",
                    x["index"],
                    x["commitment"]["subject"].as_str().unwrap_or("?"),
                    x["commitment"]["commitment_type"].as_str().unwrap_or("?"),
                    x["commitment"]["department"].as_str().unwrap_or("?"),
                    x["commitment"]["due"].as_str().unwrap_or("?"),
                    x["status"].as_str().unwrap_or("?"),
                    if x["overdue"] == true { " — OVERDUE (逾期未核查)" } else { "" }
                );
            }
        }
    }
    Ok(())
}
