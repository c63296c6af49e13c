//! `creditlog export`, `creditlog verify` and `creditlog history`: evidence bundles, checked
//! offline with the `verifier` crate alone (`docs/BUNDLE.md`).

use crate::client::{problem_detail, Client};
use anyhow::{bail, Context, Result};
use registry::keyfile;
use std::path::{Path, PathBuf};
use verifier::evidence::{verify_bundle, Bundle, Report, Since, Trust};

/// Fetches a firm's bundle (`--entry`: the chain up to that entry; `since`: with a consistency
/// proof from that tree size).
fn fetch(client: &Client, uscc: &str, entry: Option<u64>, since: Option<u64>) -> Result<Bundle> {
    let uscc = verifier::uscc::Uscc::parse(uscc).map_err(|e| anyhow::anyhow!("--uscc: {e}"))?;
    let mut query = Vec::new();
    if let Some(e) = entry {
        query.push(format!("upto={e}"));
    }
    if let Some(s) = since {
        query.push(format!("since={s}"));
    }
    let path = format!(
        "/v1/enterprises/{}/bundle{}{}",
        uscc.as_str(),
        if query.is_empty() { "" } else { "?" },
        query.join("&")
    );
    let (status, v) = client.get(&path)?;
    if status != 200 {
        bail!("the server refused ({status}): {}", problem_detail(&v));
    }
    serde_json::from_value(v).context("the server's answer is not an evidence bundle")
}

/// `creditlog export`.
pub fn export(uscc: &str, key: &Path, server: &str, out: &Path, entry: Option<u64>, since: Option<u64>) -> Result<()> {
    let client = Client::new(server, keyfile::read(key)?);
    let bundle = fetch(&client, uscc, entry, since)?;
    let bytes = serde_json::to_vec_pretty(&bundle)?;
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "wrote {} ({} entries, {} bytes); check it offline with: creditlog verify {} --log-key '<the log's verifier key>'",
        out.display(),
        bundle.entries.len(),
        bytes.len(),
        out.display()
    );
    Ok(())
}

/// Reads a trust setting: a verifier key, or a C2SP tlog-policy file.
fn trust(log_key: Option<&str>, policy: Option<&Path>) -> Result<Trust> {
    match (log_key, policy) {
        (Some(k), None) => Ok(Trust::LogKey(k.to_owned())),
        (None, Some(p)) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Ok(Trust::Policy(
                verifier::policy::Policy::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
            ))
        }
        _ => bail!("give exactly one of --log-key VKEY and --policy FILE: what the checkpoint must be signed by"),
    }
}

fn read_since(path: &Path) -> Result<Since> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    match serde_json::from_slice::<Bundle>(&bytes) {
        Ok(b) => Ok(Since::Bundle(Box::new(b))),
        Err(_) => Ok(Since::Checkpoint(bytes)),
    }
}

fn print_report(r: &Report) {
    let firm = r.subject.as_deref().unwrap_or("(no enterprise)");
    println!("evidence for {firm} in the log {}", r.origin);
    println!(
        "  checkpoint: {} entries, root {}{}",
        r.checkpoint_size,
        r.checkpoint_root,
        r.newest_time.map_or(String::new(), |t| format!(
            ", newest entry logged on {} (the jurisdiction's local date)",
            r.jurisdiction.settings.local_date(t)
        ))
    );
    println!(
        "  {} entries checked: {} about the firm ({} department records, {} grade decisions), {} identity entries",
        r.entries, r.chain, r.records, r.decisions, r.identities
    );
    println!("  checked:");
    for c in &r.checks {
        println!("  - {c}");
    }
    println!("ok: every check passed");
}

/// `creditlog verify`: exits 0 only if everything passed.
pub fn verify(
    file: &Path,
    log_key: Option<&str>,
    policy: Option<&Path>,
    since: Option<&PathBuf>,
    json: bool,
) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let bundle: Bundle = serde_json::from_slice(&bytes)
        .map_err(|e| crate::Failure(format!("{}: not an evidence bundle: {e}", file.display())))?;
    let trust = trust(log_key, policy)?;
    let since = since.map(|p| read_since(p)).transpose()?;
    match verify_bundle(&bundle, &trust, since.as_ref()) {
        Ok(report) => {
            if json {
                println!("{}", serde_json::json!({ "ok": true, "report": report }));
            } else {
                print_report(&report);
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
            Err(crate::Failure(format!("verification failed: {e}")).into())
        }
    }
}

/// `creditlog history`: fetches the firm's bundle and verifies it as `creditlog verify` does.
pub fn history(uscc: &str, key: &Path, server: &str, log_key: Option<&str>) -> Result<()> {
    let client = Client::new(server, keyfile::read(key)?);
    let vkey = match log_key {
        Some(k) => k.to_owned(),
        None => {
            eprintln!("note: trusting the log key the server announces; pin it with --log-key for a real check");
            let (status, log) = client.get("/v1/log")?;
            if status != 200 {
                bail!("GET /v1/log: {}", problem_detail(&log));
            }
            log["verifier_key"].as_str().context("verifier_key")?.to_owned()
        }
    };
    let bundle = fetch(&client, uscc, None, None)?;
    let report = verify_bundle(&bundle, &Trust::LogKey(vkey), None)
        .map_err(|e| crate::Failure(format!("verification failed: {e}")))?;
    for e in &bundle.entries {
        if e.content.subject.is_some() {
            let kind = base64::Engine::decode(&base64::prelude::BASE64_STANDARD, &e.header)
                .ok()
                .and_then(|h| verifier::entry::EntryHeader::parse(&h).ok())
                .map(|h| h.kind)
                .unwrap_or_default();
            // Who wrote it, in the terms an official uses: the department and the document number
            // of a record (an objection is routed to that department).
            let by = e
                .content
                .envelope
                .decode(verifier::envelope::RECORD_TYPE)
                .ok()
                .and_then(|(p, _)| verifier::record::Record::parse(&p).ok())
                .map_or(String::new(), |r| format!(" by {} ({})", r.department(), r.reference()));
            println!("entry {}: {kind}{by}: in the log, content matches, signature and authority checked", e.index);
        }
    }
    print_report(&report);
    Ok(())
}
