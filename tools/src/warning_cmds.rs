//! `creditlog warning list|ack`: early warnings (风险预警). The registry raises them; a department
//! they are routed to acknowledges each with what it did.

use crate::client::Client;
use anyhow::{Context, Result};
use clap::Subcommand;
use registry::keyfile;
use std::path::PathBuf;
use verifier::warning::{Acknowledgement, ACK_FORMAT};

#[derive(Subcommand, Debug)]
pub enum WarningCommand {
    /// The warnings open for your department (all of them with --all), or a firm's with --uscc.
    List {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        uscc: Option<String>,
    },
    /// Acknowledge a warning routed to your department, saying what you did.
    Ack {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        department: String,
        #[arg(long)]
        uscc: String,
        /// The warning's entry.
        #[arg(long)]
        warning: u64,
        /// What the department did (约谈, 列入重点监管, 发起检查, ...).
        #[arg(long)]
        action: String,
        #[arg(long)]
        date: Option<String>,
    },
}

pub fn run(cmd: WarningCommand) -> Result<()> {
    match cmd {
        WarningCommand::List { server, key, all, uscc } => {
            let c =
                Client::new(&server, keyfile::read(&key).with_context(|| format!("reading key {}", key.display()))?);
            let path = match &uscc {
                Some(u) => format!("/v1/enterprises/{u}/warnings"),
                None if all => "/v1/warnings?all=true".to_owned(),
                None => "/v1/warnings".to_owned(),
            };
            let v = c.get_ok(&path)?;
            let list = v["warnings"].as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                println!("no warnings");
            }
            for w in list {
                let open: Vec<&str> =
                    w["open_for"].as_array().into_iter().flatten().filter_map(|d| d.as_str()).collect();
                println!(
                    "entry {}: {} — {} ({}) on {}, from entries {}; {}",
                    w["index"],
                    w["warning"]["subject"].as_str().unwrap_or("?"),
                    w["rule_zh"].as_str().unwrap_or("?"),
                    w["warning"]["rule"].as_str().unwrap_or("?"),
                    w["warning"]["date"].as_str().unwrap_or("?"),
                    w["warning"]["basis"],
                    if open.is_empty() {
                        "acknowledged by every department".to_owned()
                    } else {
                        format!("open for {}", open.join(", "))
                    },
                );
                for a in w["acknowledged"].as_array().into_iter().flatten() {
                    println!(
                        "    {} on {}: {} (entry {})",
                        a[1].as_str().unwrap_or("?"),
                        a[3].as_str().unwrap_or("?"),
                        a[2].as_str().unwrap_or(""),
                        a[0]
                    );
                }
            }
        }
        WarningCommand::Ack { server, key, department, uscc, warning, action, date } => {
            let k = keyfile::read(&key).with_context(|| format!("reading key {}", key.display()))?;
            let c = Client::new(&server, k.clone());
            let a = Acknowledgement {
                kind: ACK_FORMAT.into(),
                subject: uscc,
                warning_index: warning,
                department,
                action,
                date: c.today(date.as_deref())?,
            };
            let index = c.submit("/v1/warnings/acknowledgements", &a.sign(&k))?;
            println!("warning {warning} acknowledged by {} at entry {index}: {}", a.department, a.action);
        }
    }
    Ok(())
}
