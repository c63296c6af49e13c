//! `creditlog redaction apply|list|rules`: retention and redaction (保存期限与删除). A department
//! has the contents of its own records deleted for good under a rule of `rules/retention.toml`;
//! headers, proofs and the firm's chain stay, and `creditlog verify` accepts the redaction.

use crate::client::Client;
use anyhow::{Context, Result};
use clap::Subcommand;
use registry::keyfile;
use std::path::PathBuf;
use verifier::redaction::{Redaction, RedactionRule, RetentionRules, REDACTION_FORMAT};

#[derive(Subcommand, Debug)]
pub enum RedactionCommand {
    /// Delete the contents of some of a firm's records, signed by the department that made them.
    Apply {
        #[arg(long)]
        server: String,
        /// The department's key file.
        #[arg(long)]
        key: PathBuf,
        /// The department's code.
        #[arg(long)]
        department: String,
        #[arg(long)]
        uscc: String,
        /// The entries, comma-separated (e.g. 12,15).
        #[arg(long, value_delimiter = ',', required = true)]
        entries: Vec<u64>,
        /// `personal-data` (the record was retracted or corrected first) or `retention` (its
        /// retention period has passed and it no longer counts).
        #[arg(long)]
        rule: String,
        /// Why, in words.
        #[arg(long)]
        reason: String,
        #[arg(long)]
        date: Option<String>,
    },
    /// List a firm's redactions.
    List {
        #[arg(long)]
        server: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        uscc: String,
    },
    /// Print the retention rules and their sources.
    Rules,
}

pub fn run(cmd: RedactionCommand) -> Result<()> {
    match cmd {
        RedactionCommand::Apply { server, key, department, uscc, mut entries, rule, reason, date } => {
            let k = keyfile::read(&key).with_context(|| format!("reading key {}", key.display()))?;
            let c = Client::new(&server, k.clone());
            let rule = match rule.as_str() {
                "personal-data" => RedactionRule::PersonalData,
                "retention" => RedactionRule::Retention,
                other => anyhow::bail!("--rule {other:?}: the rules are personal-data and retention"),
            };
            entries.sort_unstable();
            entries.dedup();
            let r = Redaction {
                kind: REDACTION_FORMAT.into(),
                subject: uscc,
                department,
                entries,
                rule,
                reason,
                date: c.today(date.as_deref())?,
            };
            let index = c.submit("/v1/redactions", &r.sign(&k))?;
            println!(
                "redaction (删除) logged at entry {index}: the contents of entries {:?} are deleted for good under rule {}; their headers, proofs and the firm's chain stay, and `creditlog verify` accepts them as redacted at entry {index}",
                r.entries, r.rule
            );
        }
        RedactionCommand::List { server, key, uscc } => {
            let c = Client::new(&server, keyfile::read(&key)?);
            let list = c.list("redactions", Some(&uscc), "")?;
            if list.is_empty() {
                println!("no redactions");
            }
            for x in list {
                let r = &x["redaction"];
                println!(
                    "entry {}: {} redacted entries {} under rule {} on {}: {}",
                    x["index"],
                    r["department"].as_str().unwrap_or("?"),
                    r["entries"],
                    r["rule"].as_str().unwrap_or("?"),
                    r["date"].as_str().unwrap_or("?"),
                    r["reason"].as_str().unwrap_or("")
                );
            }
        }
        RedactionCommand::Rules => {
            let rules = RetentionRules::shipped();
            println!("retention and redaction rules ({})", rules.source);
            println!(
                "  personal-data: a record its department corrected (retracted, then logged again without the personal data; a duplicate needs no new record), at once — {}",
                rules.personal_data.source
            );
            for k in &rules.retention {
                println!(
                    "  retention: {} after {} years from the day it was logged, once no grade counts it — {}",
                    k.kind, k.years, k.source
                );
            }
            println!("  never redacted: retractions and removals from a list (they stop other records)");
        }
    }
    Ok(())
}
