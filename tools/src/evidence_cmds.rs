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
        "  {} entries checked: {} about the firm ({} department records, {} grade decisions replayed{}), {} identity entries",
        r.entries,
        r.chain,
        r.records,
        r.decisions,
        if r.unreplayed > 0 { format!(", {} not replayable since a redaction", r.unreplayed) } else { String::new() },
        r.identities
    );
    println!("  checked:");
    for c in &r.checks {
        println!("  - {c}");
    }
    if let Some(size) = r.complete_up_to {
        println!("  complete (完整): every entry about the firm among the log's first {size} is in the bundle");
    } else if r.subject.is_some() {
        println!("  an excerpt: the bundle does not prove that nothing follows its last entry");
    }
    println!("ok: every check passed");
}

/// A firm's whole history must prove that nothing is left out at its end; `partial` accepts an
/// excerpt.
fn require_complete(report: Report, partial: bool) -> Result<Report, verifier::evidence::EvidenceError> {
    if report.subject.is_some() && report.complete_up_to.is_none() && !partial {
        return Err(verifier::evidence::EvidenceError {
            index: None,
            check: "completeness".into(),
            detail: "the bundle does not prove against the log's map of chain heads (完整性承诺) that it holds the firm's whole history: entries at its end may have been left out. A whole history from the server carries that proof; for an excerpt made with `export --entry`, pass --partial".into(),
        });
    }
    Ok(report)
}

/// `creditlog verify`: exits 0 only if everything passed.
pub fn verify(
    file: &Path,
    log_key: Option<&str>,
    policy: Option<&Path>,
    since: Option<&PathBuf>,
    json: bool,
    partial: bool,
) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let bundle: Bundle = serde_json::from_slice(&bytes)
        .map_err(|e| crate::Failure(format!("{}: not an evidence bundle: {e}", file.display())))?;
    let trust = trust(log_key, policy)?;
    let since = since.map(|p| read_since(p)).transpose()?;
    match verify_bundle(&bundle, &trust, since.as_ref()).and_then(|r| require_complete(r, partial)) {
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
        .and_then(|r| require_complete(r, false))
        .map_err(|e| crate::Failure(format!("verification failed: {e}")))?;
    for e in &bundle.entries {
        if let Some(stub) = &e.redacted {
            println!(
                "entry {}: redacted (删除) under rule {} at entry {}: its content is deleted for good; header, proof and chain checked",
                e.index, stub.rule, stub.by
            );
        } else if let Some(content) = e.content.as_ref().filter(|c| c.subject.is_some()) {
            let kind = base64::Engine::decode(&base64::prelude::BASE64_STANDARD, &e.header)
                .ok()
                .and_then(|h| verifier::entry::EntryHeader::parse(&h).ok())
                .map(|h| h.kind)
                .unwrap_or_default();
            // Who wrote it, in the terms an official uses: the department and the document number
            // of a record (an objection is routed to that department).
            let by = content
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

/// `creditlog disclosure`: what anyone sees of a firm (公示), each record checked: included in the
/// log's signed checkpoint, committed to the firm and to the signed record in its header, and
/// signed by the department's key registered on the log.
pub fn disclosure(uscc: &str, server: &str, log_key: Option<&str>, as_of: Option<&str>) -> Result<()> {
    use verifier::entry::{content_commitment, subject_commitment, EntryHeader};
    let get = |path: &str| -> Result<serde_json::Value> {
        let url = format!("{}{path}", server.trim_end_matches('/'));
        match ureq::get(&url).call() {
            Ok(r) => Ok(r.into_json()?),
            Err(ureq::Error::Status(code, r)) => {
                let v: serde_json::Value = r.into_json().unwrap_or_default();
                bail!("GET {path} ({code}): {}", problem_detail(&v))
            }
            Err(e) => Err(e.into()),
        }
    };
    let vkey = match log_key {
        Some(k) => k.to_owned(),
        None => {
            eprintln!("note: trusting the log key the server announces; pin it with --log-key for a real check");
            get("/v1/log")?["verifier_key"].as_str().context("verifier_key")?.to_owned()
        }
    };
    let path = match as_of {
        Some(d) => format!("/v1/enterprises/{uscc}/disclosure?as_of={d}"),
        None => format!("/v1/enterprises/{uscc}/disclosure"),
    };
    let d = get(&path)?;
    let cp = verifier::open_checkpoint(d["checkpoint"].as_str().context("checkpoint")?.as_bytes(), &vkey)
        .map_err(|e| crate::Failure(format!("the checkpoint: {e}")))?;
    let b64 = |v: &serde_json::Value, what: &str| -> Result<Vec<u8>> {
        base64::Engine::decode(&base64::prelude::BASE64_STANDARD, v.as_str().with_context(|| what.to_owned())?)
            .with_context(|| format!("{what}: not base64"))
    };
    println!(
        "公示 public disclosure of {uscc} as of {} (log {}, checkpoint of {} entries)",
        d["as_of"].as_str().unwrap_or("?"),
        cp.origin,
        cp.size
    );
    let records = d["records"].as_array().cloned().unwrap_or_default();
    if records.is_empty() {
        println!("  no public records");
    }
    for r in &records {
        let index = r["index"].as_u64().context("index")?;
        let line = format!(
            "entry {index}: {} {} by {} on {} ({})",
            r["kind_name"].as_str().unwrap_or("?"),
            r["kind"].as_str().unwrap_or("?"),
            r["department"].as_str().unwrap_or("?"),
            r["date"].as_str().unwrap_or("?"),
            r["reference"].as_str().unwrap_or("?")
        );
        let o = &r["opening"];
        if o.is_null() {
            println!("  {line}: shown without proof (the signed record holds fields that are not public)");
            continue;
        }
        let header_bytes = b64(&o["header"], "header")?;
        let header = EntryHeader::parse(&header_bytes).map_err(|e| crate::Failure(format!("entry {index}: {e}")))?;
        let proof: Vec<verifier::Hash> = o["proof"]
            .as_array()
            .context("proof")?
            .iter()
            .map(|h| {
                b64(h, "proof").and_then(|b| {
                    Ok(verifier::Hash(b.try_into().map_err(|_| anyhow::anyhow!("a proof hash is not 32 bytes"))?))
                })
            })
            .collect::<Result<_>>()?;
        verifier::verify_inclusion(verifier::leaf_hash(&header_bytes), index, cp.size, cp.root, &proof)
            .map_err(|e| crate::Failure(format!("entry {index}: not in the checkpoint's tree: {e}")))?;
        let salt = |f: &str| -> Result<[u8; 32]> {
            b64(&o[f], f)?.try_into().map_err(|_| anyhow::anyhow!("entry {index}: {f} is not 32 bytes"))
        };
        let envelope: verifier::envelope::Envelope = serde_json::from_value(o["envelope"].clone())?;
        let commits = |ours: [u8; 32], theirs: &Option<String>| {
            theirs.as_deref().map(|t| base64::Engine::encode(&base64::prelude::BASE64_STANDARD, ours) == t)
                == Some(true)
        };
        if !commits(subject_commitment(&salt("subject_salt")?, uscc), &header.subject)
            || !commits(
                content_commitment(&salt("content_salt")?, &envelope).map_err(|e| crate::Failure(e.to_string()))?,
                &Some(header.content.clone()),
            )
        {
            return Err(crate::Failure(format!(
                "entry {index}: the header does not commit to this firm and this record"
            ))
            .into());
        }
        let key = get(&format!("/v1/keys/{}", header.author))?;
        let public: [u8; 32] = b64(&key["public_key"], "public_key")?
            .try_into()
            .map_err(|_| anyhow::anyhow!("entry {index}: the key is not 32 bytes"))?;
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&public).map_err(|e| crate::Failure(e.to_string()))?;
        let payload = envelope
            .open(verifier::envelope::RECORD_TYPE, &vk)
            .map_err(|e| crate::Failure(format!("entry {index}: {e}")))?;
        let record =
            verifier::record::Record::parse(&payload).map_err(|e| crate::Failure(format!("entry {index}: {e}")))?;
        if record.subject().as_str() != uscc || record.reference() != r["reference"].as_str().unwrap_or_default() {
            return Err(crate::Failure(format!("entry {index}: the signed record is not the one shown")).into());
        }
        println!("  {line}: in the log, committed to this firm, signed by {}", key["holder"].as_str().unwrap_or("?"));
    }
    for s in d["stopped"].as_array().cloned().unwrap_or_default() {
        println!(
            "  entry {}: {} {} ({}) — {} on {}, no longer shown",
            s["index"],
            s["kind"].as_str().unwrap_or("?"),
            s["department"].as_str().unwrap_or("?"),
            s["reference"].as_str().unwrap_or("?"),
            match s["how"].as_str() {
                Some("repaired") => "credit repaired (信用修复)",
                Some("corrected") => "corrected (更正/撤回)",
                Some("corrected_and_redacted") => {
                    "corrected (更正/撤回); the original's content since deleted (删除) under a retention rule"
                }
                _ => "removed from the list (移出)",
            },
            s["on"].as_str().unwrap_or("?")
        );
    }
    Ok(())
}
