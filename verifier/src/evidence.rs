//! Evidence bundles and their offline verification (`docs/BUNDLE.md`): what `creditlog verify`
//! runs, on this crate alone, with no network and no clock.
//!
//! A bundle is one JSON document holding one enterprise's whole history (or one entry and the
//! history before it), every entry with its content and a C2SP tlog-proof
//! (<https://c2sp.org/tlog-proof>) against one signed checkpoint, plus the public entries that
//! make its signatures and decisions checkable: every public identity entry (registrations,
//! role keys, rotations, revocations), the models and re-grading orders its decisions cite.
//!
//! [`verify_bundle`] checks, in this order, and stops at the first failure naming the entry and
//! the check: the checkpoint's signature (log key or C2SP tlog-policy); each entry's inclusion
//! proof, whose embedded checkpoint must be the bundle's; each content against its header's
//! commitments; each author signature with the key the identity entries before it make valid;
//! every authority rule ([`crate::authority`]); that every entry about an enterprise is about the
//! one the bundle names, and that they form one unbroken chain from the firm's first entry
//! (nothing left out, nothing swapped); every grade decision ([`crate::decision`]); and, given an
//! older checkpoint or bundle the firm kept, that the log only grew since.

use crate::authority::{self, Candidate, History, Payload, PriorEntry};
use crate::decision::{self, Decision, DecisionContext, RegradeOrder, RunSummary};
use crate::entry::{EntryContent, EntryHeader};
use crate::envelope::{DECISION_TYPE, IDENTITY_TYPE, MODEL_TYPE, ORDER_TYPE, RECORD_TYPE};
use crate::identity::{KeyBook, Principal, Statement};
use crate::model::{Model, ScoredRecord};
use crate::objection::{Step, OBJECTION_TYPE};
use crate::record::{Record, RecordFields, RecordKind};
use crate::redaction::{Redacted, Redaction, REDACTION_TYPE};
use crate::{leaf_hash, Hash};
use base64::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The value of a bundle's `type`.
pub const BUNDLE_FORMAT: &str = "creditlog.bundle/v1";
/// First line of a C2SP tlog-proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// An evidence bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Always [`BUNDLE_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The enterprise whose history this is (checked against every entry's content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The signed checkpoint (C2SP signed note) that every proof leads to.
    pub checkpoint: String,
    /// Consistency proofs from older tree sizes to the checkpoint's size (for `--since`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consistency: Vec<ConsistencyStep>,
    /// The entries, by ascending index.
    pub entries: Vec<BundleEntry>,
    /// Root hashes of older tree sizes, each with a consistency proof to the checkpoint: the
    /// root at an inspection plan, which its draw's seed hashes (`docs/DRAW.md`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roots: Vec<RootAt>,
    /// For a whole history: the proof, against the log's map of chain heads, that the bundle
    /// holds every entry about the firm below the map's size ([`crate::completeness`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness: Option<crate::completeness::Completeness>,
}

/// The root hash of the log at an older size, and the proof that the checkpoint's tree extends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootAt {
    /// The older size.
    pub size: u64,
    /// Its root hash, base64.
    pub root: String,
    /// RFC 6962 consistency proof from `size` to the checkpoint's size, base64 hashes.
    pub proof: Vec<String>,
}

/// A consistency proof from an older tree size to the bundle's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyStep {
    /// The older size.
    pub from: u64,
    /// RFC 6962 consistency proof, base64 hashes.
    pub proof: Vec<String>,
}

/// One entry of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleEntry {
    /// Log index (repeated from the proof's `index` line, and checked against it).
    pub index: u64,
    /// The header, exactly as logged, base64.
    pub header: String,
    /// The content (envelope, salts, subject, previous leaf); absent for a redacted entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<EntryContent>,
    /// In place of the content, for an entry redacted (删除) after retention or a correction: what
    /// is kept of it, and the rule and entry that deleted the rest ([`crate::redaction`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted: Option<Redacted>,
    /// A C2SP tlog-proof of the header at `index` in the bundle's checkpoint.
    pub proof: String,
}

/// Writes a C2SP tlog-proof.
pub fn tlog_proof(index: u64, proof: &[Hash], checkpoint: &str) -> String {
    let mut s = format!("{TLOG_PROOF_HEADER}\nindex {index}\n");
    for h in proof {
        s.push_str(&BASE64_STANDARD.encode(h.0));
        s.push('\n');
    }
    s.push('\n');
    s.push_str(checkpoint);
    s
}

/// Parses a C2SP tlog-proof into (index, hashes, checkpoint text). `extra` lines are refused:
/// creditlog never writes them, and a field no check reads is not accepted.
///
/// # Errors
///
/// A description of what is malformed.
pub fn parse_tlog_proof(text: &str) -> Result<(u64, Vec<Hash>, &str), String> {
    let (head, checkpoint) = text.split_once("\n\n").ok_or("no blank line before the checkpoint")?;
    let mut lines = head.split('\n');
    if lines.next() != Some(TLOG_PROOF_HEADER) {
        return Err(format!("the first line is not {TLOG_PROOF_HEADER}"));
    }
    let index_line = lines.next().ok_or("no index line")?;
    let digits = index_line.strip_prefix("index ").ok_or("the second line is not `index N`")?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !(digits.len() > 1 && digits.starts_with('0'));
    let index = digits.parse::<u64>().ok().filter(|_| canonical).ok_or("the index is not a decimal number")?;
    let mut hashes = Vec::new();
    for line in lines {
        let h: [u8; 32] = BASE64_STANDARD
            .decode(line)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("proof line {line:?} is not a base64 hash of 32 bytes"))?;
        hashes.push(Hash(h));
        if hashes.len() > 64 {
            return Err("more than 64 proof hashes".into());
        }
    }
    Ok((index, hashes, checkpoint))
}

/// How the checkpoint is trusted.
#[derive(Debug, Clone)]
pub enum Trust {
    /// The log's verifier key (`name+id+base64`), as `creditlog log key` prints it.
    LogKey(String),
    /// A C2SP tlog-policy: logs, witnesses and the cosigning quorum.
    Policy(crate::policy::Policy),
}

impl Trust {
    /// Opens a signed checkpoint under this trust.
    ///
    /// # Errors
    ///
    /// If the signature or the quorum does not hold.
    pub fn open(&self, note: &[u8]) -> Result<crate::OpenedCheckpoint, String> {
        match self {
            Trust::LogKey(k) => crate::open_checkpoint(note, k).map_err(|e| e.to_string()),
            Trust::Policy(p) => p.open_checkpoint(note),
        }
    }
}

/// What the firm kept from before: an older checkpoint, or an older bundle.
#[derive(Debug, Clone)]
pub enum Since {
    /// A signed checkpoint (note bytes).
    Checkpoint(Vec<u8>),
    /// An older bundle.
    Bundle(Box<Bundle>),
}

/// Why a bundle does not verify: the entry (if one), the check, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{check}: {detail}", match index { Some(i) => format!("entry {i}: "), None => String::new() })]
pub struct EvidenceError {
    /// The first failing entry, if the failure is about one.
    pub index: Option<u64>,
    /// The check or rule that failed (`inclusion`, `signature`, `chain`, `decision`, a rule name, ...).
    pub check: String,
    /// What is wrong, in plain language.
    pub detail: String,
}

fn fail(index: Option<u64>, check: &str, detail: impl Into<String>) -> EvidenceError {
    EvidenceError { index, check: check.to_owned(), detail: detail.into() }
}

/// What a successful verification checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The log's origin.
    pub origin: String,
    /// The checkpoint's tree size.
    pub checkpoint_size: u64,
    /// The checkpoint's root hash, base64.
    pub checkpoint_root: String,
    /// The enterprise, if the bundle names one.
    pub subject: Option<String>,
    /// Entries verified.
    pub entries: u64,
    /// Entries about the enterprise (its chain).
    pub chain: u64,
    /// Department records about the enterprise.
    pub records: u64,
    /// Grade decisions replayed.
    pub decisions: u64,
    /// Grade decisions checked for what they cite but not replayed: they cite a record redacted
    /// since.
    pub unreplayed: u64,
    /// Identity entries replayed into the key book.
    pub identities: u64,
    /// Intake time of the newest entry, seconds since the epoch.
    pub newest_time: Option<u64>,
    /// Size of the older checkpoint the log was shown consistent with, if given.
    pub consistent_since: Option<u64>,
    /// The bundle holds every entry about the firm below this log size, as the log's map of
    /// chain heads proves ([`crate::completeness`]); `None`: the bundle carries no such proof
    /// (an excerpt, or a history whose end is not proved).
    pub complete_up_to: Option<u64>,
    /// The checks made, in plain language.
    pub checks: Vec<String>,
    /// The jurisdiction and the date settings the rules applied, as the newest
    /// `set_jurisdiction` entry in the bundle sets them.
    pub jurisdiction: crate::jurisdiction::Jurisdiction,
}

/// An entry of the bundle as the walk has parsed it.
struct Parsed {
    index: u64,
    header: EntryHeader,
    leaf: Hash,
    /// The firm it is about.
    subject: Option<String>,
    /// Leaf hash of the previous entry about the firm, base64.
    previous_leaf: Option<String>,
    payload: Owned,
    author: Principal,
    /// The jurisdiction's local date of its intake, by the settings in force before it.
    logged: crate::Date,
}

enum Owned {
    Record(Record),
    Identity(Statement),
    Model(Box<Model>, String),
    Order(RegradeOrder),
    Decision(Box<Decision>),
    Run(RunSummary),
    Objection(Step),
    Repair(crate::repair::Step),
    Commitment(crate::commitment::Commitment),
    Redaction(Redaction),
    Plan(Box<crate::plan::Plan>),
    Draw(crate::plan::Draw),
    Warning(crate::warning::Warning),
    Acknowledgement(crate::warning::Acknowledgement),
    Sanction(crate::sanction::Step),
    Heads(crate::completeness::HeadsMap),
    Anchor(crate::federation::Anchor),
    Cities(crate::federation::Cities),
    /// A redacted entry: only its header and its stub (in `stubs`) are left.
    Redacted,
}

/// An entry's content as the bundle carries it.
enum Opened {
    Content(EntryContent),
    Redacted(Redacted),
}

/// The earlier entries whose records the authority rules read for this payload: the record a
/// retraction, an objection or a repair names (for a later step, the one its filing or
/// application names), an upheld objection's correction, and for a removal from a list the
/// listings it may name.
fn points_at(payload: &Owned, seen: &BTreeMap<u64, Parsed>) -> Vec<u64> {
    let filed_target = |i: u64| match seen.get(&i).map(|p| &p.payload) {
        Some(Owned::Objection(Step::Filed { target_index, .. })) => *target_index,
        Some(Owned::Repair(crate::repair::Step::Applied { target_index, .. })) => Some(*target_index),
        _ => None,
    };
    match payload {
        Owned::Record(r) => match r.fields() {
            RecordFields::Retraction(f) => vec![f.target_index],
            RecordFields::AbnormalOperationsRemoval(_) | RecordFields::SeriousDishonestyRemoval(_) => seen
                .iter()
                .filter(|(_, p)| {
                    p.subject.as_deref() == Some(r.subject().as_str()) && p.header.kind.ends_with("_listing")
                })
                .map(|(i, _)| *i)
                .collect(),
            _ => Vec::new(),
        },
        Owned::Objection(step) => match step {
            Step::Filed { target_index, .. } => target_index.iter().copied().collect(),
            Step::Resolved { objection_index, correction_index, .. } => {
                filed_target(*objection_index).into_iter().chain(*correction_index).collect()
            }
            other => other.objection_index().and_then(filed_target).into_iter().collect(),
        },
        Owned::Repair(step) => step
            .application_index()
            .and_then(filed_target)
            .into_iter()
            .chain(match step {
                crate::repair::Step::Applied { target_index, .. } => Some(*target_index),
                _ => None,
            })
            .collect(),
        Owned::Sanction(crate::sanction::Step::Imposed { basis, .. }) => basis.clone(),
        _ => Vec::new(),
    }
}

/// The entries before the one being checked, as far as the bundle shows them.
struct Seen<'a> {
    entries: &'a BTreeMap<u64, Parsed>,
    before: u64,
    /// (subject, department, kind, reference) → the records with that key, by index.
    references: &'a BTreeMap<(String, String, RecordKind, String), Vec<u64>>,
    /// Entries a retraction among `entries` points at.
    retracted: &'a BTreeSet<u64>,
    /// Records a redaction among `entries` deleted → that redaction's index. From the redaction
    /// on, such a record is gone for every rule, whether the bundle still holds its content or not.
    redacted_at: &'a BTreeMap<u64, u64>,
    /// Root hashes at older sizes, proved consistent with the checkpoint.
    roots: &'a BTreeMap<u64, [u8; 32]>,
}

impl Seen<'_> {
    fn gone(&self, index: u64) -> bool {
        self.redacted_at.get(&index).is_some_and(|r| *r < self.before)
    }
}

impl History for Seen<'_> {
    fn prior(&self, index: u64) -> Option<PriorEntry> {
        let p = self.entries.get(&index).filter(|_| index < self.before)?;
        if self.gone(index) {
            // What the registry still has of a redacted record: its header.
            return Some(PriorEntry {
                kind: p.header.kind.clone(),
                author: p.author.clone(),
                subject: p.subject.clone(),
                time: p.header.time,
                record: None,
                objection: None,
                repair: None,
                commitment: None,
                redacted: true,
                sanction: None,
            });
        }
        Some(PriorEntry {
            kind: p.header.kind.clone(),
            author: p.author.clone(),
            subject: p.subject.clone(),
            time: p.header.time,
            redacted: false,
            record: match &p.payload {
                Owned::Record(r) => Some(r.clone()),
                _ => None,
            },
            objection: match &p.payload {
                Owned::Objection(s) => Some(s.clone()),
                _ => None,
            },
            repair: match &p.payload {
                Owned::Repair(s) => Some(s.clone()),
                _ => None,
            },
            commitment: match &p.payload {
                Owned::Commitment(c) => Some(c.clone()),
                _ => None,
            },
            sanction: match &p.payload {
                Owned::Sanction(s) => Some(s.clone()),
                _ => None,
            },
        })
    }

    fn firm_entries(&self, subject: &str) -> Vec<(u64, PriorEntry)> {
        self.entries
            .range(..self.before)
            .filter(|(_, p)| p.subject.as_deref() == Some(subject))
            .filter_map(|(i, _)| Some((*i, self.prior(*i)?)))
            .collect()
    }

    fn repair_steps(&self, application_index: u64) -> Vec<(u64, crate::repair::Step)> {
        self.entries
            .range(application_index + 1..self.before)
            .filter_map(|(i, p)| match &p.payload {
                Owned::Repair(s) if s.application_index() == Some(application_index) => Some((*i, s.clone())),
                _ => None,
            })
            .collect()
    }

    fn firm_records(&self, subject: &str) -> Vec<(u64, Record)> {
        self.subject_records(subject).into_iter().map(|(i, r)| (i, r.clone())).collect()
    }

    fn objection_steps(&self, objection_index: u64) -> Vec<(u64, Step)> {
        self.entries
            .range(objection_index + 1..self.before)
            .filter_map(|(i, p)| match &p.payload {
                Owned::Objection(s) if s.objection_index() == Some(objection_index) => Some((*i, s.clone())),
                _ => None,
            })
            .collect()
    }

    fn live_record(&self, subject: &str, department: &str, kind: RecordKind, reference: &str) -> Option<u64> {
        let key = (subject.to_owned(), department.to_owned(), kind, reference.to_owned());
        self.references
            .get(&key)?
            .iter()
            .copied()
            .find(|i| *i < self.before && !self.retracted.contains(i) && !self.gone(*i))
    }

    fn records_of_kind(&self, subject: &str, kind: RecordKind) -> Vec<(u64, Record)> {
        self.subject_records(subject)
            .into_iter()
            .filter(|(_, r)| r.kind() == kind)
            .map(|(i, r)| (i, r.clone()))
            .collect()
    }

    fn model_published(&self, hash: &str) -> bool {
        self.entries.range(..self.before).any(|(_, p)| matches!(&p.payload, Owned::Model(_, h) if h == hash))
    }

    fn firm_decisions(&self, subject: &str) -> Vec<(u64, Decision)> {
        self.entries
            .range(..self.before)
            .filter_map(|(i, p)| match &p.payload {
                Owned::Decision(d) if d.subject == subject => Some((*i, (**d).clone())),
                _ => None,
            })
            .collect()
    }
    fn plan(&self, index: u64) -> Option<(crate::plan::Plan, [u8; 32])> {
        match self.entries.get(&index).filter(|_| index < self.before).map(|p| (&p.payload, p.leaf)) {
            Some((Owned::Plan(plan), leaf)) => Some(((**plan).clone(), leaf.0)),
            _ => None,
        }
    }
    fn draws_of(&self, plan_index: u64) -> Vec<u64> {
        self.entries
            .range(..self.before)
            .filter_map(|(i, p)| match &p.payload {
                Owned::Draw(d) if d.plan_index == plan_index => Some(*i),
                _ => None,
            })
            .collect()
    }
    fn tree_root(&self, size: u64) -> Option<[u8; 32]> {
        self.roots.get(&size).copied()
    }
    fn model_domain(&self, hash: &str) -> Option<String> {
        self.entries.values().find_map(|p| match &p.payload {
            Owned::Model(m, h) if h == hash => Some(m.domain.clone()),
            _ => None,
        })
    }
    fn warning(&self, index: u64) -> Option<crate::warning::Warning> {
        match self.entries.get(&index).filter(|_| index < self.before).map(|p| &p.payload) {
            Some(Owned::Warning(w)) => Some(w.clone()),
            _ => None,
        }
    }
    fn warning_acks(&self, index: u64) -> Vec<(u64, String)> {
        self.entries
            .range(..self.before)
            .filter_map(|(i, p)| match &p.payload {
                Owned::Acknowledgement(a) if a.warning_index == index => Some((*i, a.department.clone())),
                _ => None,
            })
            .collect()
    }
}

impl Seen<'_> {
    fn subject_records(&self, subject: &str) -> Vec<(u64, &Record)> {
        self.entries
            .range(..self.before)
            .filter_map(|(i, p)| match &p.payload {
                Owned::Record(r) if r.subject().as_str() == subject && !self.gone(*i) => Some((*i, r)),
                _ => None,
            })
            .collect()
    }
}

fn decode_hashes(proof: &[String]) -> Result<Vec<Hash>, String> {
    proof
        .iter()
        .map(|h| {
            BASE64_STANDARD
                .decode(h)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .map(Hash)
                .ok_or_else(|| format!("{h:?} is not a base64 hash of 32 bytes"))
        })
        .collect()
}

/// A signature whose check is deferred to one batch verification at the end of the walk (the
/// batch accepts exactly what the single check accepts, docs/FORMAT.md §8).
struct PendingSignature {
    index: u64,
    key: ed25519_dalek::VerifyingKey,
    payload_type: &'static str,
    envelope: crate::envelope::Envelope,
    message: Vec<u8>,
    signature: [u8; 64],
}

/// Opens an entry's signed payload as its header kind says; the signature check with `key` is
/// queued in `pending`.
fn open_payload(
    index: u64,
    header: &EntryHeader,
    content: &EntryContent,
    key: &ed25519_dalek::VerifyingKey,
    pending: &mut Vec<PendingSignature>,
) -> Result<Owned, (String, String)> {
    let (prefix, name) = header
        .kind
        .split_once('/')
        .ok_or_else(|| ("format".to_owned(), format!("unknown entry kind {:?}", header.kind)))?;
    let payload_type = match prefix {
        "record" => RECORD_TYPE,
        "identity" => IDENTITY_TYPE,
        "model" => MODEL_TYPE,
        "order" => ORDER_TYPE,
        "decision" => DECISION_TYPE,
        "objection" => OBJECTION_TYPE,
        "repair" => crate::repair::REPAIR_TYPE,
        "commitment" => crate::commitment::COMMITMENT_TYPE,
        "redaction" => REDACTION_TYPE,
        "plan" if name == "published" => crate::plan::PLAN_TYPE,
        "plan" if name == "drawn" => crate::plan::DRAW_TYPE,
        "warning" if name == "raised" => crate::warning::WARNING_TYPE,
        "warning" if name == "acknowledged" => crate::warning::ACK_TYPE,
        "sanction" => crate::sanction::SANCTION_TYPE,
        "heads" if name == "published" => crate::completeness::HEADS_TYPE,
        "federation" if name == "anchored" => crate::federation::ANCHOR_TYPE,
        "federation" if name == "cities" => crate::federation::CITIES_TYPE,
        _ => return Err(("format".into(), format!("unknown entry kind {:?}", header.kind))),
    };
    let (payload, signature) =
        content.envelope.decode(payload_type).map_err(|e| ("signature".to_owned(), e.to_string()))?;
    let given = crate::envelope::key_id(key);
    if content.envelope.keyid().ok() != Some(given.as_str()) {
        return Err(("signature".to_owned(), format!("the envelope is not signed by key {given}")));
    }
    pending.push(PendingSignature {
        index,
        key: *key,
        payload_type,
        envelope: content.envelope.clone(),
        message: crate::envelope::pae(payload_type, &payload),
        signature,
    });
    let mismatch =
        |what: &str| ("format".to_owned(), format!("the header says {:?}, the signed payload is {what}", header.kind));
    let malformed = |e: String| ("format".to_owned(), format!("the signed payload is malformed: {e}"));
    match prefix {
        "record" => {
            let r = Record::parse(&payload).map_err(|e| malformed(e.to_string()))?;
            if r.kind().as_str() != name {
                return Err(mismatch(&format!("a {} record", r.kind())));
            }
            Ok(Owned::Record(r))
        }
        "identity" => {
            let st = Statement::parse(&payload).map_err(|e| malformed(e.to_string()))?;
            if st.action() != name {
                return Err(mismatch(&format!("a {} statement", st.action())));
            }
            Ok(Owned::Identity(st))
        }
        "model" => {
            let text = std::str::from_utf8(&payload).map_err(|_| malformed("not UTF-8".into()))?;
            let m = Model::parse(text).map_err(|e| malformed(e.to_string()))?;
            if m.id != name {
                return Err(mismatch(&format!("model {:?}", m.id)));
            }
            Ok(Owned::Model(Box::new(m), Model::hash(&payload)))
        }
        "order" if name == "regrade" => Ok(Owned::Order(RegradeOrder::parse(&payload).map_err(malformed)?)),
        "decision" if name == "grade" => Ok(Owned::Decision(Box::new(Decision::parse(&payload).map_err(malformed)?))),
        "decision" if name == "regrade_run" => Ok(Owned::Run(RunSummary::parse(&payload).map_err(malformed)?)),
        "objection" => {
            let step = Step::parse(&payload).map_err(malformed)?;
            if step.name() != name {
                return Err(mismatch(&format!("an objection step {:?}", step.name())));
            }
            Ok(Owned::Objection(step))
        }
        "repair" => {
            let step = crate::repair::Step::parse(&payload).map_err(malformed)?;
            if step.name() != name {
                return Err(mismatch(&format!("a repair step {:?}", step.name())));
            }
            Ok(Owned::Repair(step))
        }
        "commitment" if name == "made" => {
            Ok(Owned::Commitment(crate::commitment::Commitment::parse(&payload).map_err(malformed)?))
        }
        "redaction" if name == "redacted" => Ok(Owned::Redaction(Redaction::parse(&payload).map_err(malformed)?)),
        "plan" if name == "published" => {
            Ok(Owned::Plan(Box::new(crate::plan::Plan::parse(&payload).map_err(malformed)?)))
        }
        "plan" if name == "drawn" => Ok(Owned::Draw(crate::plan::Draw::parse(&payload).map_err(malformed)?)),
        "warning" if name == "raised" => {
            Ok(Owned::Warning(crate::warning::Warning::parse(&payload).map_err(malformed)?))
        }
        "warning" if name == "acknowledged" => {
            Ok(Owned::Acknowledgement(crate::warning::Acknowledgement::parse(&payload).map_err(malformed)?))
        }
        "sanction" => {
            let step = crate::sanction::Step::parse(&payload).map_err(malformed)?;
            if step.name() != name {
                return Err(mismatch(&format!("a sanction step {:?}", step.name())));
            }
            Ok(Owned::Sanction(step))
        }
        "heads" if name == "published" => {
            Ok(Owned::Heads(crate::completeness::HeadsMap::parse(&payload).map_err(malformed)?))
        }
        "federation" if name == "anchored" => {
            Ok(Owned::Anchor(crate::federation::Anchor::parse(&payload).map_err(malformed)?.0))
        }
        "federation" if name == "cities" => {
            Ok(Owned::Cities(crate::federation::Cities::parse(&payload).map_err(malformed)?))
        }
        _ => Err(("format".into(), format!("unknown entry kind {:?}", header.kind))),
    }
}

/// Verifies a bundle; see the module documentation for what is checked.
///
/// # Errors
///
/// The first failing check, naming the entry.
pub fn verify_bundle(bundle: &Bundle, trust: &Trust, since: Option<&Since>) -> Result<Report, EvidenceError> {
    // Author signatures are checked in one batch after the walk; the first failure reported is
    // the same as checking each one in the walk: a bad signature at or before the entry where the
    // walk stopped is reported first, at its own entry.
    let mut pending = Vec::new();
    let result = judge(bundle, trust, since, &mut pending);
    let upto = match &result {
        Err(e) => e.index,
        Ok(_) => None,
    };
    let relevant: Vec<&PendingSignature> = pending.iter().filter(|p| upto.is_none_or(|j| p.index <= j)).collect();
    let items: Vec<(&[u8; 32], &[u8], &[u8; 64])> =
        relevant.iter().map(|p| (p.key.as_bytes(), p.message.as_slice(), &p.signature)).collect();
    if !crate::signature::verify_batch(&items) {
        for p in relevant {
            if let Err(e) = p.envelope.open(p.payload_type, &p.key) {
                return Err(fail(Some(p.index), "signature", e.to_string()));
            }
        }
    }
    result
}

fn judge(
    bundle: &Bundle,
    trust: &Trust,
    since: Option<&Since>,
    pending: &mut Vec<PendingSignature>,
) -> Result<Report, EvidenceError> {
    let mut checks = Vec::new();
    if bundle.kind != BUNDLE_FORMAT {
        return Err(fail(None, "format", format!("type is {:?}, not {BUNDLE_FORMAT:?}", bundle.kind)));
    }
    // 1. The checkpoint.
    let cp = trust.open(bundle.checkpoint.as_bytes()).map_err(|e| fail(None, "checkpoint", e))?;
    checks.push(format!("the checkpoint of {} entries is signed by the log {}", cp.size, cp.origin));
    // Older roots (a plan's, for its draw's seed): each shown to be a root the checkpoint's tree
    // grew from.
    let mut roots = BTreeMap::new();
    for r in &bundle.roots {
        let root: [u8; 32] = BASE64_STANDARD.decode(&r.root).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| {
            fail(None, "consistency", format!("the root at size {} is not 32 bytes of base64", r.size))
        })?;
        let proof = decode_hashes(&r.proof).map_err(|d| fail(None, "consistency", d))?;
        crate::verify_consistency(r.size, Hash(root), cp.size, cp.root, &proof).map_err(|e| {
            fail(
                None,
                "consistency",
                format!("the root given for tree size {} is not the log's root at that size: {e}", r.size),
            )
        })?;
        roots.insert(r.size, root);
    }
    if !roots.is_empty() {
        checks.push(format!(
            "the roots at sizes {:?} are the log's: the checkpoint's tree grew from them",
            roots.keys().collect::<Vec<_>>()
        ));
    }
    // 2. Inclusion, headers, contents.
    let mut previous_index = None;
    let mut raw = Vec::with_capacity(bundle.entries.len());
    for e in &bundle.entries {
        let at = Some(e.index);
        if previous_index.is_some_and(|p| e.index <= p) {
            return Err(fail(
                at,
                "format",
                "entries must be listed once each, by ascending index (two entries swapped or repeated)",
            ));
        }
        previous_index = Some(e.index);
        let (index, proof, checkpoint) = parse_tlog_proof(&e.proof).map_err(|d| fail(at, "proof", d))?;
        if index != e.index {
            return Err(fail(
                at,
                "proof",
                format!("the entry is listed at index {} but its proof is for index {index}", e.index),
            ));
        }
        if checkpoint != bundle.checkpoint {
            return Err(fail(at, "proof", "the proof leads to another checkpoint than the bundle's"));
        }
        if e.index >= cp.size {
            return Err(fail(
                at,
                "inclusion",
                format!("the checkpoint covers entries 0 to {} only", cp.size.saturating_sub(1)),
            ));
        }
        let bytes = BASE64_STANDARD.decode(&e.header).map_err(|_| fail(at, "format", "the header is not base64"))?;
        let leaf = leaf_hash(&bytes);
        crate::verify_inclusion(leaf, e.index, cp.size, cp.root, &proof)
            .map_err(|err| fail(at, "inclusion", err.to_string()))?;
        let header = EntryHeader::parse(&bytes).map_err(|err| fail(at, "format", err.to_string()))?;
        let opened = match (&e.content, &e.redacted) {
            (Some(content), None) => {
                content.check(&header).map_err(|err| fail(at, "commitment", err.to_string()))?;
                Opened::Content(content.clone())
            }
            (None, Some(stub)) => {
                if !crate::redaction::redactable_kind(&header.kind) {
                    return Err(fail(
                        at,
                        "redaction",
                        format!(
                            "a {} entry is never redacted: only department records are, and never a retraction or a removal from a list",
                            header.kind
                        ),
                    ));
                }
                stub.check(&header).map_err(|err| fail(at, "commitment", err.to_string()))?;
                Opened::Redacted(stub.clone())
            }
            _ => {
                return Err(fail(
                    at,
                    "format",
                    "an entry carries either its content or, once redacted, what is kept of it (`redacted`), never both or neither",
                ))
            }
        };
        raw.push((e.index, header, leaf, opened));
    }
    checks.push("every entry is included in the checkpoint's tree (C2SP tlog-proof)".into());
    checks.push("every content opens its header's subject, content and chain commitments (a redacted entry's stub opens its subject and chain commitments)".into());
    // 3. Walk in log order: key book, signatures, authority.
    let mut book = KeyBook::default();
    let mut seen: BTreeMap<u64, Parsed> = BTreeMap::new();
    let mut references: BTreeMap<(String, String, RecordKind, String), Vec<u64>> = BTreeMap::new();
    let mut retracted: BTreeSet<u64> = BTreeSet::new();
    let mut keys: BTreeMap<String, ed25519_dalek::VerifyingKey> = BTreeMap::new();
    let mut identities = 0;
    // The newest public identity entry of the bundle so far: each header names the log's.
    let mut identity_head: Option<u64> = None;
    // Redacted entries, by index: the stub (checked against its redaction entry in the walk).
    let stubs: BTreeMap<u64, Redacted> = raw
        .iter()
        .filter_map(|(i, _, _, o)| match o {
            Opened::Redacted(stub) => Some((*i, stub.clone())),
            Opened::Content(_) => None,
        })
        .collect();
    // Stubs whose redaction entry the walk has seen redact them under their rule.
    let mut confirmed: BTreeSet<u64> = BTreeSet::new();
    // Entries logged before a redaction that point at the entry it redacted: checked by their
    // headers only (entry, the redacted entry it points at).
    let mut header_only: Vec<(u64, u64)> = Vec::new();
    let mut redacted_at: BTreeMap<u64, u64> = BTreeMap::new();
    for (index, header, leaf, opened) in raw {
        let at = Some(index);
        if header.keys != identity_head {
            let show = |k: Option<u64>| k.map_or_else(|| "none".to_owned(), |k| format!("entry {k}"));
            let detail = if header.keys.unwrap_or(0) > identity_head.unwrap_or(0) || identity_head.is_none() {
                format!(
                    "the log records {} as the newest identity entry before this one, but the bundle's newest is {}: a registration, rotation or revocation was left out",
                    show(header.keys),
                    show(identity_head)
                )
            } else {
                format!(
                    "the header names {} as the newest identity entry before it, but {} is one: the header is false",
                    show(header.keys),
                    show(identity_head)
                )
            };
            return Err(fail(at, "keys", detail));
        }
        let content = match opened {
            Opened::Content(content) => content,
            Opened::Redacted(stub) => {
                // Only the header is left: the key must have been valid, and it names the author.
                let key = book.valid_at(&header.author, index).map_err(|e| fail(at, "key-valid", e.to_string()))?;
                let author = key.principal.clone();
                let logged = book.jurisdiction.settings.local_date(header.time);
                seen.insert(
                    index,
                    Parsed {
                        index,
                        subject: Some(stub.subject.clone()),
                        previous_leaf: stub.previous_leaf.clone(),
                        header,
                        leaf,
                        payload: Owned::Redacted,
                        author,
                        logged,
                    },
                );
                continue;
            }
        };
        if header.kind.starts_with("identity/") && content.subject.is_none() {
            identity_head = Some(index);
        }
        let key = match Statement::parse(&content.envelope.decode(IDENTITY_TYPE).map(|(p, _)| p).unwrap_or_default()) {
            Ok(Statement::RegisterOperator { key, .. }) if header.kind == "identity/register_operator" => {
                crate::identity::decode_key(&key).map_err(|err| fail(at, "signature", err.to_string()))?
            }
            _ => {
                let record = book.keys.get(&header.author).ok_or_else(|| {
                    fail(
                        at,
                        "key-valid",
                        format!(
                            "key {} is not registered by any identity entry before this one in the bundle",
                            header.author
                        ),
                    )
                })?;
                // Decompressing a key costs about as much as half a signature check: once per key.
                *keys.entry(header.author.clone()).or_insert_with(|| record.verifying_key())
            }
        };
        let payload =
            open_payload(index, &header, &content, &key, pending).map_err(|(check, d)| fail(at, &check, d))?;
        let candidate_payload = match &payload {
            Owned::Record(r) => Payload::Record(r),
            Owned::Identity(s) => Payload::Identity(s),
            Owned::Model(_, h) => Payload::Model(h),
            Owned::Order(o) => Payload::Order(o),
            Owned::Decision(d) => Payload::Decision(d),
            Owned::Run(r) => Payload::Run(r),
            Owned::Objection(o) => Payload::Objection(o),
            Owned::Repair(r) => Payload::Repair(r),
            Owned::Commitment(c) => Payload::Commitment(c),
            Owned::Redaction(r) => Payload::Redaction(r),
            Owned::Plan(p) => Payload::Plan(p),
            Owned::Draw(d) => Payload::Draw(d),
            Owned::Warning(w) => Payload::Warning(w),
            Owned::Acknowledgement(a) => Payload::Acknowledgement(a),
            Owned::Sanction(s) => Payload::Sanction(s),
            Owned::Heads(m) => Payload::Heads(m),
            Owned::Anchor(a) => Payload::Anchor(a),
            Owned::Cities(c) => Payload::Cities(c),
            Owned::Redacted => unreachable!("a redacted entry has no payload"),
        };
        let candidate = Candidate {
            index,
            time: header.time,
            author: &header.author,
            subject: content.subject.as_deref(),
            payload: candidate_payload,
        };
        let history = Seen {
            entries: &seen,
            before: index,
            references: &references,
            retracted: &retracted,
            redacted_at: &redacted_at,
            roots: &roots,
        };
        // An entry that points at a record redacted after it was logged cannot have the rules
        // that read that record checked any more: its header, signature and place in the chain
        // still are. After the redaction, nothing may point at the redacted record.
        let gone = points_at(&payload, &seen).into_iter().find(|t| stubs.get(t).is_some_and(|s| s.by > index));
        match gone {
            Some(t) => header_only.push((index, t)),
            None => {
                authority::check_entry(&book, &candidate, &history).map_err(|r| fail(at, r.rule.name(), r.detail))?
            }
        }
        if let Owned::Redaction(r) = &payload {
            for t in &r.entries {
                redacted_at.entry(*t).or_insert(index);
                if let Some(stub) = stubs.get(t) {
                    if stub.by != index || stub.rule != r.rule {
                        return Err(fail(
                            Some(*t),
                            "redaction",
                            format!(
                                "the bundle says this entry was redacted under rule {} at entry {}, but entry {index} redacts it under rule {}",
                                stub.rule, stub.by, r.rule
                            ),
                        ));
                    }
                    confirmed.insert(*t);
                }
            }
        }
        let author = match &payload {
            Owned::Identity(Statement::RegisterOperator { .. }) => Principal::Operator,
            _ => book.keys.get(&header.author).map(|k| k.principal.clone()).unwrap_or(Principal::Operator),
        };
        let logged = book.jurisdiction.settings.local_date(header.time);
        if let Owned::Identity(st) = &payload {
            book.apply(st, &header.author, index).map_err(|err| fail(at, "identity-rules", err.to_string()))?;
            identities += 1;
        }
        if let Owned::Record(r) = &payload {
            references
                .entry((r.subject().as_str().to_owned(), r.department().to_owned(), r.kind(), r.reference().to_owned()))
                .or_default()
                .push(index);
            if let crate::record::RecordFields::Retraction(f) = r.fields() {
                retracted.insert(f.target_index);
            }
        }
        let (subject, previous_leaf) = (content.subject, content.previous_leaf);
        seen.insert(index, Parsed { index, header, leaf, subject, previous_leaf, payload, author, logged });
    }
    // Every stub stands in for a content only with the redaction entry that deleted it.
    if let Some((t, stub)) = stubs.iter().find(|(t, _)| !confirmed.contains(t)) {
        return Err(fail(
            Some(*t),
            "redaction",
            format!(
                "the bundle shows no content for this entry and claims it was redacted under rule {} at entry {}, but {}",
                stub.rule,
                stub.by,
                match seen.get(&stub.by).map(|p| &p.payload) {
                    None => format!("entry {} is not in the bundle", stub.by),
                    Some(Owned::Redaction(_)) => format!("entry {} does not redact this entry", stub.by),
                    Some(_) => format!("entry {} is not a redaction", stub.by),
                }
            ),
        ));
    }
    checks.push(
        "every author signature verifies with a key that the identity entries before it make valid (log order)".into(),
    );
    checks.push("every entry follows the authority rules: who may write what, about whom, pointing at what".into());
    let count = |f: &dyn Fn(&Owned) -> bool| seen.values().filter(|p| f(&p.payload)).count();
    let (objections, repairs, commitments) = (
        count(&|o| matches!(o, Owned::Objection(Step::Filed { .. }))),
        count(&|o| matches!(o, Owned::Repair(crate::repair::Step::Applied { .. }))),
        count(&|o| matches!(o, Owned::Commitment(_))),
    );
    if objections + repairs + commitments > 0 {
        checks.push(format!(
            "{objections} objection(s) (异议), {repairs} credit repair(s) (信用修复) and {commitments} commitment(s) (信用承诺) were each filed by the firm itself and answered only by the department they belong to, in order"
        ));
    }
    if !stubs.is_empty() {
        let mut rules: Vec<String> = stubs.values().map(|s| s.rule.to_string()).collect();
        rules.dedup();
        rules.sort();
        rules.dedup();
        checks.push(format!(
            "{} entr{} redacted (删除) under rule {}: each by the department that signed it, with the redaction entry in the bundle; only their headers, the firm and the chain are left to check",
            stubs.len(),
            if stubs.len() == 1 { "y was" } else { "ies were" },
            rules.join(", ")
        ));
    }
    for (i, t) in &header_only {
        checks.push(format!(
            "entry {i} points at entry {t}, which was redacted after it: it was checked by its header, signature and place in the chain, not by the rules that read entry {t}"
        ));
    }
    // The witnesses: each cosigner's key, and whether the log itself registered it as a
    // witness role key (invariant 8) by the bundle's identity entries.
    if let Trust::Policy(policy) = trust {
        let cosigners = policy.cosigners(bundle.checkpoint.as_bytes()).map_err(|e| fail(None, "checkpoint", e))?;
        let named: Vec<String> = cosigners
            .iter()
            .map(|(name, key)| {
                let registered = book.keys.values().find(|k| {
                    k.public == *key && matches!(k.principal, Principal::Role(crate::identity::Role::Witness, _))
                });
                match registered {
                    Some(k) => format!("{name} (a witness role key registered on the log at entry {})", k.registered),
                    None => format!("{name} (its key is not registered on the log as a witness role key)"),
                }
            })
            .collect();
        checks.push(format!(
            "the checkpoint is cosigned (见证人联署) by {}, which meets the policy's quorum {}",
            if named.is_empty() { "no witness".to_owned() } else { named.join(", ") },
            policy.quorum.as_deref().unwrap_or("none")
        ));
    }
    checks.push(match book.jurisdiction.set_at {
        Some(i) => format!(
            "every date is judged by the jurisdiction's settings in force at its entry; the newest, set by entry {i}: {}, {} ({})",
            book.jurisdiction.name,
            book.jurisdiction.settings.utc_label(),
            book.jurisdiction.time_zone
        ),
        None => "dates are judged by the default settings (UTC+08:00, Asia/Shanghai): no entry in the bundle sets them".into(),
    });
    // 4. The firm's chain.
    let chain: Vec<&Parsed> = seen.values().filter(|p| p.subject.is_some()).collect();
    if let Some(subject) = &bundle.subject {
        let mut previous: Option<String> = None;
        for p in &chain {
            let at = Some(p.index);
            if p.subject.as_deref() != Some(subject.as_str()) {
                return Err(fail(
                    at,
                    "subject",
                    format!(
                        "the entry is about {}, not about {subject} whose history this bundle claims to be",
                        p.subject.as_deref().unwrap_or("?")
                    ),
                ));
            }
            if p.previous_leaf != previous {
                let detail = match (&previous, &p.previous_leaf) {
                    (None, Some(_)) => "the firm's first entry in the bundle links to an earlier entry about the firm that the bundle leaves out".to_owned(),
                    (Some(_), None) => "the entry claims to be the firm's first, but earlier entries about the firm are in the bundle".to_owned(),
                    _ => "the entry does not link to the entry about the firm before it in the bundle: an entry was left out or the order changed".to_owned(),
                };
                return Err(fail(at, "chain", detail));
            }
            previous = Some(BASE64_STANDARD.encode(p.leaf.0));
        }
        checks.push(format!(
            "every entry about an enterprise is about {subject}, and they form one unbroken chain from its first entry"
        ));
    } else if !chain.is_empty() {
        return Err(fail(
            Some(chain[0].index),
            "subject",
            "the bundle names no enterprise but holds entries about one",
        ));
    }
    // 4b. Nothing left out at the end: the map of chain heads.
    let mut complete_up_to = None;
    if let Some(c) = &bundle.completeness {
        let Some(subject) = &bundle.subject else {
            return Err(fail(None, "completeness", "a completeness proof needs the enterprise the bundle is about"));
        };
        let map_at = |i: u64, what: &str| {
            match seen.get(&i).map(|p| &p.payload) {
            Some(Owned::Heads(m)) => Ok(crate::completeness::MapEntry { index: i, map: m }),
            _ => Err(fail(
                Some(i),
                "completeness",
                format!("the completeness proof names entry {i} as {what}, but the bundle holds no map of chain heads there"),
            )),
        }
        };
        let map = map_at(c.map_index, "its map of chain heads")?;
        let first = map_at(c.first_map_index, "the log's first map")?;
        let links: Vec<(u64, [u8; 32])> = chain.iter().map(|p| (p.index, p.leaf.0)).collect();
        let got = crate::completeness::check(subject, c, map, first, &links)
            .map_err(|d| fail(Some(c.map_index), "completeness", d))?;
        checks.push(format!(
            "nothing is left out at the end of the history (完整性): the log's map of chain heads at entry {} says {subject} had {} entr{} before entry {}, and the bundle holds exactly those, ending at the head the map names; the map's key for the firm is proved by a VRF proof under the key of the log's first map (entry {})",
            c.map_index,
            got.length,
            if got.length == 1 { "y" } else { "ies" },
            got.size,
            c.first_map_index
        ));
        complete_up_to = Some(got.size);
    }
    // 5. Decisions.
    let mut decisions = 0;
    // Each record is prepared for scoring once, not once per decision that cites it.
    let mut records: Vec<ScoredRecord> = Vec::new();
    let mut earlier: Vec<(u64, &Decision)> = Vec::new();
    let mut repairs: Vec<decision::Repaired> = Vec::new();
    // Decisions that cite a record redacted since: (decision, a record it cites that is gone).
    let mut unreplayed: Vec<(u64, u64)> = Vec::new();
    for p in &chain {
        match &p.payload {
            Owned::Repair(crate::repair::Step::Decided { approved: true, application_index, date, .. }) => {
                if let Some(Owned::Repair(crate::repair::Step::Applied { target_index, .. })) =
                    seen.get(application_index).map(|a| &a.payload)
                {
                    repairs.push(decision::Repaired { decided: p.index, target: *target_index, date: *date });
                }
            }
            Owned::Record(r) => records.push(ScoredRecord::new(p.index, r.clone(), None)),
            Owned::Decision(d) => {
                // Records whose content was deleted after the decision: it cites them, and cannot
                // be replayed. What it cites is still checked: every record before it, the
                // redacted ones too.
                let cited_gone: Vec<u64> =
                    stubs.range(..p.index).filter(|(_, s)| s.by > p.index).map(|(i, _)| *i).collect();
                if let Some(&t) = cited_gone.first() {
                    let mut expected: Vec<u64> = records
                        .iter()
                        .map(|s| s.index)
                        .filter(|i| redacted_at.get(i).is_none_or(|r| *r > p.index))
                        .chain(cited_gone.iter().copied())
                        .collect();
                    expected.sort_unstable();
                    if d.subject.as_str() != p.subject.as_deref().unwrap_or_default() || d.records != expected {
                        return Err(fail(
                            Some(p.index),
                            "decision",
                            format!(
                                "the decision must cite exactly the firm's records before it ({expected:?}, some since redacted), and it cites {:?}",
                                d.records
                            ),
                        ));
                    }
                    unreplayed.push((p.index, t));
                    earlier.push((p.index, d));
                    continue;
                }
                let model = seen.get(&d.model_index).and_then(|m| match &m.payload {
                    Owned::Model(model, hash) => Some((model.as_ref(), hash.as_str())),
                    _ => None,
                });
                let order = d.trigger_index.and_then(|t| seen.get(&t)).and_then(|o| match &o.payload {
                    Owned::Order(order) => Some(order),
                    _ => None,
                });
                let upheld_objection = d.trigger_index.and_then(|t| seen.get(&t)).is_some_and(|o| {
                    matches!(&o.payload, Owned::Objection(Step::Resolved { outcome: crate::objection::Outcome::Upheld, subject, .. })
                        if Some(subject.as_str()) == p.subject.as_deref())
                });
                // A record redacted before the decision is gone for it, even if the bundle still
                // holds its content (the server that made the decision no longer did).
                let live: Option<Vec<ScoredRecord>> =
                    records.iter().any(|s| redacted_at.get(&s.index).is_some_and(|r| *r < p.index)).then(|| {
                        records
                            .iter()
                            .filter(|s| redacted_at.get(&s.index).is_none_or(|r| *r > p.index))
                            .cloned()
                            .collect()
                    });
                let ctx = DecisionContext {
                    subject: p.subject.as_deref().unwrap_or_default(),
                    index: p.index,
                    logged: p.logged,
                    records: live.as_ref().unwrap_or(&records),
                    earlier: &earlier,
                    model,
                    order,
                    upheld_objection,
                    repairs: &repairs,
                };
                decision::check_decision(d, &ctx).map_err(|err| fail(Some(p.index), "decision", err.to_string()))?;
                earlier.push((p.index, d));
                decisions += 1;
            }
            _ => {}
        }
    }
    if decisions > 0 {
        checks.push(format!(
            "{decisions} grade decision(s) cite exactly the firm's records before them, with the stop dates those records give, and replay to the same breakdown, score and class"
        ));
    }
    for (d, t) in &unreplayed {
        checks.push(format!(
            "decision {d} cites exactly the firm's records before it, but cannot be replayed: record {t}, which it cites, was redacted since"
        ));
    }
    // 6. Since.
    let mut consistent_since = None;
    if let Some(since) = since {
        let (note, old_bundle): (Vec<u8>, Option<&Bundle>) = match since {
            Since::Checkpoint(n) => (n.clone(), None),
            Since::Bundle(b) => (b.checkpoint.as_bytes().to_vec(), Some(b)),
        };
        let old = trust.open(&note).map_err(|e| fail(None, "since", format!("the older checkpoint: {e}")))?;
        if old.size > cp.size {
            return Err(fail(
                None,
                "stale",
                format!("the bundle's checkpoint ({} entries) is older than the one you kept ({} entries): the server showed you an old state", cp.size, old.size),
            ));
        }
        if old.size == cp.size {
            if old.root != cp.root {
                return Err(fail(
                    None,
                    "consistency",
                    "the checkpoint you kept and the bundle's have the same size and different roots: the log forked",
                ));
            }
        } else {
            let step = bundle.consistency.iter().find(|s| s.from == old.size).ok_or_else(|| {
                fail(
                    None,
                    "consistency",
                    format!(
                        "the bundle carries no consistency proof from size {}; export it with --since {}",
                        old.size, old.size
                    ),
                )
            })?;
            let proof = decode_hashes(&step.proof).map_err(|d| fail(None, "consistency", d))?;
            crate::verify_consistency(old.size, old.root, cp.size, cp.root, &proof).map_err(|e| {
                fail(
                    None,
                    "consistency",
                    format!("{e}: the log is not an extension of the one you saw (a fork or a rewrite)"),
                )
            })?;
        }
        if let Some(old_bundle) = old_bundle {
            for e in &old_bundle.entries {
                let new = bundle.entries.iter().find(|n| n.index == e.index);
                let about_firm = e.redacted.is_some() || e.content.as_ref().is_some_and(|c| c.subject.is_some());
                if new.map(|n| &n.header) != Some(&e.header) && (about_firm || new.is_some()) {
                    return Err(fail(
                        Some(e.index),
                        "since",
                        "an entry of the older bundle is missing or different in this one",
                    ));
                }
            }
        }
        checks.push(format!(
            "the log of {} entries is an extension of the log of {} entries you kept",
            cp.size, old.size
        ));
        consistent_since = Some(old.size);
    }
    let records_n = chain.iter().filter(|p| matches!(p.payload, Owned::Record(_))).count() as u64;
    Ok(Report {
        origin: cp.origin.clone(),
        checkpoint_size: cp.size,
        checkpoint_root: BASE64_STANDARD.encode(cp.root.0),
        subject: bundle.subject.clone(),
        entries: seen.len() as u64,
        chain: chain.len() as u64,
        records: records_n,
        decisions,
        unreplayed: unreplayed.len() as u64,
        identities,
        newest_time: seen.values().map(|p| p.header.time).max(),
        consistent_since,
        complete_up_to,
        checks,
        jurisdiction: book.jurisdiction.clone(),
    })
}
