//! Automatic interception (自动比对、自动拦截, DOMAIN §5): the answer to "may this firm do this
//! today?" that a procurement, bidding or bank system keeps as evidence, and its verification.
//!
//! `GET /v1/check?uscc=U&purpose=P&date=D` answers a [`CheckAnswer`]: `allowed` or `restricted`,
//! the sanctions in force for that purpose and those no longer (or not yet) in force, each with
//! the department-signed sanction (header, content, envelope), the basis entries' headers, and a
//! C2SP tlog-proof of every header against one signed checkpoint that the answer carries.
//!
//! [`verify_answer`] is what `creditlog check` runs on it, offline once the answer is saved:
//!
//! 1. the checkpoint is signed by the log's key (or meets the tlog-policy);
//! 2. every header shown (sanctions and basis entries) is in that checkpoint's tree at its index
//!    (RFC 6962 inclusion proof of `SHA-256(0x00 || header)`), each proof naming that checkpoint;
//! 3. each sanction's content opens its header's subject, content and chain commitments
//!    ([`crate::entry::EntryContent::check`]), is about the firm asked about, and its envelope is
//!    signed by the key the header names, which the answer shows as the department's (the
//!    signature under the one acceptance rule, docs/FORMAT.md §8);
//! 4. the signed sanction is the one shown, restricts the purpose asked about, and its basis is
//!    exactly the basis entries shown, each logged before it, of the kind shown;
//! 5. a sanction listed in force runs on the day asked about; one listed as not in force says why
//!    (not started, ended, lifted early, or a basis that fell) and the dates agree; and the
//!    answer is `restricted` exactly when a sanction is in force.
//!
//! What it cannot show on its own: that no sanction was left out (the server could omit one), nor
//! that a lift or a fallen basis is real (the lifting entries are the firm's private chain). The
//! firm's evidence bundle (`creditlog verify`) checks both for the firm; a relying party keeps the
//! answer to prove what it was told, and when.

use crate::entry::{EntryContent, EntryHeader};
use crate::evidence::{parse_tlog_proof, Trust};
use crate::sanction::{Measure, Status, Step, IMPOSED_KIND, SANCTION_TYPE};
use crate::Date;
use base64::prelude::*;
use serde::{Deserialize, Serialize};

/// The `type` of a check answer.
pub const CHECK_FORMAT: &str = "creditlog.check/v1";

/// Allowed or restricted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No sanction restricts the purpose on the day (允许).
    Allowed,
    /// At least one sanction restricts it (限制).
    Restricted,
}

/// The answer to an interception check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckAnswer {
    /// Always [`CHECK_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The firm asked about.
    pub uscc: String,
    /// The purpose asked about.
    pub purpose: Measure,
    /// The day asked about.
    pub date: Date,
    /// The answer.
    pub answer: Verdict,
    /// When the server answered, seconds since the epoch.
    pub checked_at: u64,
    /// Who asked, in words (the query is journalled for the firm).
    pub checked_by: String,
    /// The signed checkpoint every proof is against (C2SP signed note).
    pub checkpoint: String,
    /// The sanctions that restrict the purpose on the day.
    pub in_force: Vec<SanctionProof>,
    /// The sanctions for the purpose that do not restrict it on the day, each with why.
    pub not_in_force: Vec<SanctionProof>,
}

/// A sanction as the answer shows it, with what proves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SanctionProof {
    /// Its log index.
    pub index: u64,
    /// Where it stands on the day asked about.
    pub status: Status,
    /// The same, in one sentence.
    pub explanation: String,
    /// The signed sanction (also inside `content.envelope`).
    pub sanction: Step,
    /// The header, base64, exactly as logged.
    pub header: String,
    /// The content: envelope, firm and salts that open the header's commitments.
    pub content: EntryContent,
    /// A C2SP tlog-proof of the header in `checkpoint`.
    pub proof: String,
    /// The signing department and its key.
    pub signer: SignerKey,
    /// The basis entries.
    pub basis: Vec<BasisProof>,
}

/// The key that signed a sanction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerKey {
    /// Key id.
    pub keyid: String,
    /// The department.
    pub department: String,
    /// The Ed25519 public key, base64.
    pub key: String,
    /// The identity entry that registered it.
    pub registered: u64,
}

/// A basis entry, shown by its header only (its content is the firm's and its department's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasisProof {
    /// Its log index.
    pub index: u64,
    /// Its header kind, e.g. `record/administrative_penalty`.
    pub kind: String,
    /// The department (or role) whose key signed it.
    pub department: String,
    /// The header, base64.
    pub header: String,
    /// A C2SP tlog-proof of the header in `checkpoint`.
    pub proof: String,
}

/// What a verified answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The tree size of the checkpoint.
    pub size: u64,
    /// The log's origin.
    pub origin: String,
    /// The answer.
    pub answer: Verdict,
    /// Proofs checked.
    pub proofs: usize,
}

/// Checks that `header_b64` is at `index` in the checkpoint's tree; the parsed header.
fn proven(
    what: &str,
    index: u64,
    header_b64: &str,
    proof: &str,
    answer: &CheckAnswer,
    cp: &crate::OpenedCheckpoint,
) -> Result<EntryHeader, String> {
    let bytes = BASE64_STANDARD
        .decode(header_b64)
        .map_err(|e| format!("{what} entry {index}: the header is not base64: {e}"))?;
    let (i, hashes, cp_text) = parse_tlog_proof(proof).map_err(|e| format!("{what} entry {index}: proof: {e}"))?;
    if i != index {
        return Err(format!("{what} entry {index}: the proof is for entry {i}"));
    }
    if cp_text != answer.checkpoint {
        return Err(format!("{what} entry {index}: the proof names another checkpoint than the answer's"));
    }
    crate::verify_inclusion(crate::leaf_hash(&bytes), index, cp.size, cp.root, &hashes)
        .map_err(|e| format!("{what} entry {index}: the header is not in the log at that index ({e})"))?;
    EntryHeader::parse(&bytes).map_err(|e| format!("{what} entry {index}: the header is malformed: {e}"))
}

/// Verifies a check answer; see the module documentation for what is checked.
///
/// # Errors
///
/// The first check that fails, naming the entry.
pub fn verify_answer(answer: &CheckAnswer, trust: &Trust) -> Result<Verified, String> {
    if answer.kind != CHECK_FORMAT {
        return Err(format!("type must be {CHECK_FORMAT:?}, not {:?}", answer.kind));
    }
    let cp = trust.open(answer.checkpoint.as_bytes()).map_err(|e| format!("checkpoint: {e}"))?;
    let mut proofs = 0;
    let all = answer.in_force.iter().map(|s| (true, s)).chain(answer.not_in_force.iter().map(|s| (false, s)));
    for (in_force, s) in all {
        let i = s.index;
        let header = proven("sanction", i, &s.header, &s.proof, answer, &cp)?;
        proofs += 1;
        if header.kind != IMPOSED_KIND {
            return Err(format!("sanction entry {i}: the header's kind is {:?}, not {IMPOSED_KIND}", header.kind));
        }
        s.content
            .check(&header)
            .map_err(|e| format!("sanction entry {i}: the content does not open the header's commitments: {e}"))?;
        if s.content.subject.as_deref() != Some(answer.uscc.as_str()) {
            return Err(format!("sanction entry {i}: it is not about {}", answer.uscc));
        }
        let raw = BASE64_STANDARD
            .decode(&s.signer.key)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| format!("sanction entry {i}: the signer's key is not a base64 Ed25519 key"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&raw)
            .map_err(|_| format!("sanction entry {i}: the signer's key is not a valid Ed25519 key"))?;
        if crate::envelope::key_id(&key) != header.author || s.signer.keyid != header.author {
            return Err(format!("sanction entry {i}: the key shown is not the key {} the header names", header.author));
        }
        let payload = s
            .content
            .envelope
            .open(SANCTION_TYPE, &key)
            .map_err(|e| format!("sanction entry {i}: the department's signature does not verify: {e}"))?;
        let step = Step::parse(&payload).map_err(|e| format!("sanction entry {i}: the signed sanction: {e}"))?;
        if step != s.sanction {
            return Err(format!("sanction entry {i}: the sanction shown is not the one the department signed"));
        }
        let Step::Imposed { subject, department, measures, basis, start, end, .. } = &step else {
            return Err(format!("sanction entry {i}: the signed step is not an imposed sanction"));
        };
        if subject != &answer.uscc || department != &s.signer.department {
            return Err(format!(
                "sanction entry {i}: the signed sanction is about {subject} by {department}, not {} by {}",
                answer.uscc, s.signer.department
            ));
        }
        if !measures.contains(&answer.purpose) {
            return Err(format!("sanction entry {i}: it does not restrict {}", answer.purpose));
        }
        let shown: Vec<u64> = s.basis.iter().map(|b| b.index).collect();
        if &shown != basis {
            return Err(format!("sanction entry {i}: the basis shown {shown:?} is not the signed basis {basis:?}"));
        }
        for b in &s.basis {
            if b.index >= i {
                return Err(format!("basis entry {}: it is not logged before sanction {i}", b.index));
            }
            let h = proven("basis", b.index, &b.header, &b.proof, answer, &cp)?;
            proofs += 1;
            if h.kind != b.kind {
                return Err(format!("basis entry {}: its header says {:?}, the answer {:?}", b.index, h.kind, b.kind));
            }
        }
        let runs = *start <= answer.date && answer.date <= *end;
        let consistent = match &s.status {
            Status::InForce => in_force && runs,
            Status::NotStarted => !in_force && answer.date < *start,
            Status::Ended => !in_force && answer.date > *end,
            Status::LiftedEarly { date, .. } => !in_force && answer.date >= *date,
            Status::BasisFallen { basis: fallen, .. } => !in_force && basis.contains(fallen),
        };
        if !consistent {
            return Err(format!(
                "sanction entry {i}: it is listed as {} but its status is {:?} for {} (it runs {start} to {end})",
                if in_force { "in force" } else { "not in force" },
                s.status,
                answer.date
            ));
        }
    }
    let expected = if answer.in_force.is_empty() { Verdict::Allowed } else { Verdict::Restricted };
    if answer.answer != expected {
        return Err(format!("the answer says {:?}, but the sanctions it lists make it {expected:?}", answer.answer));
    }
    Ok(Verified { size: cp.size, origin: cp.origin, answer: answer.answer, proofs })
}
