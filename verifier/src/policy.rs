//! Trust policies in the C2SP tlog-policy format (<https://c2sp.org/tlog-policy>), and
//! witness cosignatures in the C2SP tlog-cosignature format
//! (<https://c2sp.org/tlog-cosignature>, `cosignature/v1`, Ed25519).
//!
//! A policy lists the logs whose checkpoints are accepted (`log <vkey>`), the witnesses
//! (`witness <name> <vkey>`), groups (`group <name> all|any|<k> <member>...`) and exactly one
//! `quorum <name>` (or `quorum none`). A checkpoint is valid when one of the logs signed it and
//! the quorum of witnesses cosigned it.
//!
//! A cosignature line is `— <witness key name> base64(key id (4) || timestamp (8, big endian) ||
//! Ed25519 signature (64))`; the witness key's id is the first four bytes of
//! `SHA-256(<name> || "\n" || 0x04 || public key)` and the signature covers
//! `"cosignature/v1\ntime <timestamp>\n" || <checkpoint text>`.

use base64::prelude::*;
use sha2::{Digest, Sha256};
use signed_note::{Note, StandardVerifier, VerificationError, Verifier, Verifiers};
use std::collections::BTreeMap;

/// A parsed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Log verifier keys (`name+id+base64`).
    pub logs: Vec<String>,
    /// Witnesses by name: (key name, 32-byte public key).
    pub witnesses: BTreeMap<String, (String, [u8; 32])>,
    /// Groups by name: (threshold, members).
    pub groups: BTreeMap<String, (usize, Vec<String>)>,
    /// Witness submission prefixes (tlog-witness) by witness name, where the policy gives one:
    /// where a log asks for cosignatures.
    pub urls: BTreeMap<String, String>,
    /// The quorum: `None` for `quorum none`.
    pub quorum: Option<String>,
}

/// A witness cosignature verifier (key type 0x04).
#[derive(Debug, Clone)]
struct Cosigner {
    name: String,
    id: u32,
    key: [u8; 32],
}

/// `SHA-256(name || "\n" || type || key)[..4]` as a big-endian number.
fn key_id(name: &str, kind: u8, key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([kind]);
    h.update(key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// The key id of a witness's `cosignature/v1` key: `SHA-256(name || "\n" || 0x04 || key)[..4]`.
pub fn cosignature_key_id(name: &str, key: &[u8; 32]) -> u32 {
    key_id(name, 0x04, key)
}

/// A witness's verifier key as C2SP tlog-cosignature writes it: `name+hexid+base64(0x04 || key)`.
pub fn witness_verifier_key(name: &str, key: &[u8; 32]) -> String {
    let mut raw = vec![0x04];
    raw.extend_from_slice(key);
    format!("{name}+{:08x}+{}", cosignature_key_id(name, key), BASE64_STANDARD.encode(raw))
}

impl Verifier for Cosigner {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Some((ts, sig)) = sig.split_first_chunk::<8>() else { return false };
        let Ok(sig) = <[u8; 64]>::try_from(sig) else { return false };
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&self.key) else { return false };
        let mut m = format!("cosignature/v1\ntime {}\n", u64::from_be_bytes(*ts)).into_bytes();
        m.extend_from_slice(msg);
        crate::envelope::verify_signature(&key, &m, &sig).is_ok()
    }
}

/// Parses a witness verifier key: `name+hexid+base64(0x04 || key)`; a 0x01 (Ed25519 note) key
/// is accepted as the same public key used for cosignatures, as C2SP tlog-cosignature allows.
fn parse_witness_vkey(vkey: &str) -> Result<(String, [u8; 32]), String> {
    let mut parts = vkey.splitn(3, '+');
    let (Some(name), Some(_id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("{vkey:?} is not a verifier key name+id+base64"));
    };
    let raw = BASE64_STANDARD.decode(b64).map_err(|_| format!("{vkey:?}: the key is not base64"))?;
    match raw.split_first() {
        Some((0x04 | 0x01, key)) if key.len() == 32 => Ok((name.to_owned(), key.try_into().expect("32 bytes"))),
        _ => Err(format!("{vkey:?}: not an Ed25519 cosignature key (type 0x04, 32 bytes)")),
    }
}

struct Known<'a> {
    log: &'a StandardVerifier,
    cosigners: &'a [Cosigner],
}

impl Verifiers for Known<'_> {
    fn verifier(&self, name: &str, id: u32) -> Result<&dyn Verifier, VerificationError> {
        if self.log.name() == name && self.log.key_id() == id {
            return Ok(self.log);
        }
        self.cosigners
            .iter()
            .find(|c| c.name == name && c.id == id)
            .map(|c| c as &dyn Verifier)
            .ok_or_else(|| VerificationError::UnknownKey { name: name.to_owned(), id })
    }
}

/// The timestamp of a valid `cosignature/v1` by the witness with verifier key `vkey` on the
/// signed note `note`, `None` if it has none.
///
/// # Errors
///
/// A malformed key or note, or a cosignature by that key that does not verify.
pub fn cosignature(note: &[u8], vkey: &str) -> Result<Option<u64>, String> {
    let (name, key) = parse_witness_vkey(vkey)?;
    let c = Cosigner { id: key_id(&name, 0x04, &key), name, key };
    let text_end = note.windows(2).rposition(|w| w == b"\n\n").ok_or("not a signed note")? + 1;
    let (text, sigs) = note.split_at(text_end);
    for line in sigs[1..].split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let line = std::str::from_utf8(line).map_err(|_| "not UTF-8")?;
        let Some((sig_name, b64)) = line.strip_prefix("— ").and_then(|l| l.split_once(' ')) else {
            return Err(format!("malformed signature line {line:?}"));
        };
        let raw = BASE64_STANDARD.decode(b64).map_err(|_| format!("malformed signature line {line:?}"))?;
        if sig_name != c.name || raw.len() < 4 || raw[..4] != c.id.to_be_bytes() {
            continue;
        }
        if raw.len() != 4 + 8 + 64 || !c.verify(text, &raw[4..]) {
            return Err(format!("the cosignature by {} does not verify", c.name));
        }
        return Ok(Some(u64::from_be_bytes(raw[4..12].try_into().expect("8 bytes"))));
    }
    Ok(None)
}

impl Policy {
    /// Parses a policy file.
    ///
    /// # Errors
    ///
    /// The line and the rule it breaks.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut p = Policy {
            logs: Vec::new(),
            witnesses: BTreeMap::new(),
            groups: BTreeMap::new(),
            urls: BTreeMap::new(),
            quorum: None,
        };
        let mut quorum_seen = false;
        for (n, line) in text.lines().enumerate() {
            let at = |m: String| format!("line {}: {m}", n + 1);
            let words: Vec<&str> = line.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
            match words.as_slice() {
                [] => {}
                [w, ..] if w.starts_with('#') => {}
                ["log", vkey] | ["log", vkey, _] => {
                    StandardVerifier::new(vkey).map_err(|e| at(format!("log key: {e}")))?;
                    p.logs.push((*vkey).to_owned());
                }
                ["witness", name, vkey, url @ ..] if url.len() <= 1 => {
                    let key = parse_witness_vkey(vkey).map_err(at)?;
                    if *name == "none" || p.witnesses.contains_key(*name) || p.groups.contains_key(*name) {
                        return Err(at(format!("the name {name:?} is reserved or already defined")));
                    }
                    if p.witnesses.values().any(|(_, k)| *k == key.1) {
                        return Err(at(format!("witness {name:?} has the same public key as another witness")));
                    }
                    p.witnesses.insert((*name).to_owned(), key);
                    if let Some(url) = url.first() {
                        p.urls.insert((*name).to_owned(), url.trim_end_matches('/').to_owned());
                    }
                }
                ["group", name, k, members @ ..] if !members.is_empty() => {
                    if *name == "none" || p.witnesses.contains_key(*name) || p.groups.contains_key(*name) {
                        return Err(at(format!("the name {name:?} is reserved or already defined")));
                    }
                    for m in members {
                        if !p.witnesses.contains_key(*m) && !p.groups.contains_key(*m) {
                            return Err(at(format!("group member {m:?} is not defined on a line before")));
                        }
                    }
                    let mut unique = members.to_vec();
                    unique.sort_unstable();
                    unique.dedup();
                    if unique.len() != members.len() {
                        return Err(at("a group lists each member at most once".into()));
                    }
                    let threshold =
                        match *k {
                            "all" => members.len(),
                            "any" => 1,
                            k => k.parse::<usize>().ok().filter(|k| (1..=members.len()).contains(k)).ok_or_else(
                                || at(format!("threshold {k:?} is not all, any or 1 to {}", members.len())),
                            )?,
                        };
                    p.groups.insert((*name).to_owned(), (threshold, members.iter().map(|m| (*m).to_owned()).collect()));
                }
                ["quorum", name] => {
                    if quorum_seen {
                        return Err(at("a policy has exactly one quorum line".into()));
                    }
                    quorum_seen = true;
                    if *name != "none" {
                        if !p.witnesses.contains_key(*name) && !p.groups.contains_key(*name) {
                            return Err(at(format!("quorum {name:?} is not defined on a line before")));
                        }
                        p.quorum = Some((*name).to_owned());
                    }
                }
                _ => return Err(at(format!("not a log, witness, group or quorum line: {line:?}"))),
            }
        }
        if !quorum_seen {
            return Err("the policy has no quorum line (write `quorum none` for no witnesses)".into());
        }
        if p.logs.is_empty() {
            return Err("the policy lists no log (`log <verifier key>`)".into());
        }
        Ok(p)
    }

    /// Whether the witnesses named (by their policy names) in `cosigned` meet the quorum.
    pub fn quorum_met(&self, cosigned: &std::collections::BTreeSet<String>) -> bool {
        let all: BTreeMap<String, bool> = self.witnesses.keys().map(|w| (w.clone(), cosigned.contains(w))).collect();
        self.quorum.as_ref().is_none_or(|q| self.satisfied(q, &all))
    }

    /// The verifier key (`name+id+base64`) of the witness the policy calls `name`.
    pub fn witness_vkey(&self, name: &str) -> Option<String> {
        self.witnesses.get(name).map(|(key_name, key)| witness_verifier_key(key_name, key))
    }

    fn satisfied(&self, name: &str, cosigned: &BTreeMap<String, bool>) -> bool {
        if let Some(ok) = cosigned.get(name) {
            return *ok;
        }
        match self.groups.get(name) {
            Some((k, members)) => members.iter().filter(|m| self.satisfied(m, cosigned)).count() >= *k,
            None => false,
        }
    }

    /// The witnesses (policy names, with their public keys) whose valid `cosignature/v1` is on
    /// `note`. Lines by other keys are ignored; a line by a policy witness that does not verify
    /// is an error.
    ///
    /// # Errors
    ///
    /// A malformed note, or a cosignature by a policy witness that does not verify.
    pub fn cosigners(&self, note: &[u8]) -> Result<Vec<(String, [u8; 32])>, String> {
        let mut out = Vec::new();
        for (name, (key_name, key)) in &self.witnesses {
            if cosignature(note, &witness_verifier_key(key_name, key))?.is_some() {
                out.push((name.clone(), *key));
            }
        }
        Ok(out)
    }

    /// Opens a checkpoint: signed by one of the logs, origin equal to that log's key name, and
    /// cosigned by the quorum.
    ///
    /// # Errors
    ///
    /// What does not hold, in plain language.
    pub fn open_checkpoint(&self, note: &[u8]) -> Result<crate::OpenedCheckpoint, String> {
        let cosigners: Vec<Cosigner> = self
            .witnesses
            .values()
            .map(|(name, key)| Cosigner { name: name.clone(), id: key_id(name, 0x04, key), key: *key })
            .collect();
        let mut last = String::from("the policy lists no log");
        for vkey in &self.logs {
            let opened = match crate::open_checkpoint(note, vkey) {
                Ok(o) => o,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            let log = StandardVerifier::new(vkey).map_err(|e| e.to_string())?;
            let parsed = Note::from_bytes(note).map_err(|e| e.to_string())?;
            let (verified, _) = parsed
                .verify(&Known { log: &log, cosigners: &cosigners })
                .map_err(|e| format!("a cosignature does not verify: {e}"))?;
            let cosigned: BTreeMap<String, bool> = self
                .witnesses
                .iter()
                .map(|(policy_name, (name, key))| {
                    let id = key_id(name, 0x04, key);
                    (policy_name.clone(), verified.iter().any(|s| s.name() == name && s.id() == id))
                })
                .collect();
            if let Some(q) = &self.quorum {
                if !self.satisfied(q, &cosigned) {
                    let have: Vec<&str> = cosigned.iter().filter(|(_, v)| **v).map(|(k, _)| k.as_str()).collect();
                    return Err(format!(
                        "the checkpoint is not cosigned by the policy's quorum {q:?} (valid cosignatures from: {})",
                        if have.is_empty() { "none".to_owned() } else { have.join(", ") }
                    ));
                }
            }
            return Ok(opened);
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cosigned notes from other implementations (shared/testdata/cosignature-vectors.json,
    /// copied into testdata/): every witness's cosignature verifies with the timestamp the
    /// vectors expect, and fails once the note's text is changed.
    #[test]
    fn cosignatures_from_other_implementations_verify() {
        let data: serde_json::Value =
            serde_json::from_str(include_str!("../../testdata/cosignature-vectors.json")).expect("vectors");
        let mut checked = 0;
        for n in data["notes"].as_array().expect("notes") {
            let note = n["note"].as_str().expect("note");
            for w in n["witnesses"].as_array().expect("witnesses") {
                let vkey = w.as_str().expect("vkey");
                let name = vkey.split('+').next().expect("name");
                let expected = n["expect_timestamps"][name].as_u64();
                assert_eq!(cosignature(note.as_bytes(), vkey), Ok(expected), "{} {name}", n["id"]);
                let tampered = note.replacen('\n', " \n", 1);
                assert!(cosignature(tampered.as_bytes(), vkey) != Ok(expected), "{} {name}", n["id"]);
                checked += 1;
            }
        }
        assert!(checked >= 5, "only {checked} cosignatures checked");
    }

    #[test]
    fn policy_syntax_errors_name_the_line() {
        assert!(Policy::parse("quorum none\n").unwrap_err().contains("no log"));
        let log = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6";
        assert!(Policy::parse(&format!("log {log}\n")).unwrap_err().contains("no quorum"));
        assert!(Policy::parse(&format!("log {log}\nquorum w\n")).unwrap_err().starts_with("line 2"));
        assert!(Policy::parse(&format!("log {log}\nquorum none\nquorum none\n")).unwrap_err().contains("exactly one"));
        assert!(Policy::parse(&format!("# comment\nlog {log}\n\nquorum none\n")).is_ok());
    }
}
