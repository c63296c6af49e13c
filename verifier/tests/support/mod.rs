//! Test support: a log operator played in memory, with no server, for tests and benches.
//!
//! [`Log`] holds an Ed25519 log key in signed-note form, appends entries (sealing envelopes into
//! header and content with [`EntryContent::seal`], keeping one chain head per USCC, fresh salts
//! per entry), keeps the RFC 6962 stored hashes in memory (`tlog_tiles::stored_hashes`), signs
//! C2SP checkpoints and exports an evidence [`Bundle`] for one firm exactly as
//! `registry/src/evidence.rs` does.
//!
//! It runs **no** authority rule: a test appends whatever a malicious server would, and checks
//! that [`verifier::evidence::verify_bundle`] catches it. [`World`] plays the jurisdiction on top
//! of it (operator, departments, grading authority, grader, a firm with a bound key, the shipped
//! general model) and computes decisions the way `registry/src/grading.rs` `decide` does.
//!
//! Included with `mod support;` from a test and `#[path = "../tests/support/mod.rs"] mod
//! support;` from a bench, so it stays out of the verifier's public API.

#![allow(dead_code)]

use base64::prelude::*;
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};
use signed_note::{Note, StandardSigner};
use std::collections::{BTreeMap, BTreeSet};
use tlog_tiles::{prove_record, prove_tree, stored_hashes, tree_hash, Hash, HashReader};
use verifier::date::Date;
use verifier::decision::{stop_dates, Decision, RegradeOrder, Trigger, DECISION_FORMAT, ORDER_FORMAT};
use verifier::entry::{EntryContent, EntryHeader};
use verifier::envelope::{key_id, Envelope, DECISION_TYPE, IDENTITY_TYPE, MODEL_TYPE, ORDER_TYPE, RECORD_TYPE};
use verifier::evidence::{tlog_proof, Bundle, BundleEntry, ConsistencyStep, BUNDLE_FORMAT};
use verifier::identity::{sign_binding, Capability, Role, Statement, IDENTITY_STATEMENT};
use verifier::model::{Model, ScoredRecord};
use verifier::record::Record;

/// The firm whose history the tests export.
pub const FIRM: &str = "91370303MA3C8DXA25";
/// Another firm on the same log.
pub const OTHER_FIRM: &str = "11370306004220465W";
/// The market regulator (binds enterprise keys).
pub const AMR: &str = "zibo-amr";
/// The tax department.
pub const TAX: &str = "zibo-tax";
/// The intermediate court (judgments).
pub const COURT: &str = "zibo-court";
/// The shipped general model, byte for byte.
pub const GENERAL_MODEL: &str = include_str!("../../../models/general.toml");

/// Stored hashes of the tree, in memory.
struct Memory<'a>(&'a [Hash]);

impl HashReader for Memory<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                self.0.get(usize::try_from(i).expect("small")).copied().ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// An Ed25519 key from a one-byte seed: deterministic keys for deterministic tests.
pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// Base64 of a key's public half.
pub fn public_b64(key: &SigningKey) -> String {
    BASE64_STANDARD.encode(key.verifying_key().as_bytes())
}

/// The key id of a key.
pub fn id_of(key: &SigningKey) -> String {
    key_id(&key.verifying_key())
}

/// Seconds since the epoch at 10:00 local time (UTC+8) on `date`.
pub fn morning_of(date: Date) -> u64 {
    u64::try_from(date.days_since_epoch() * 86_400 + 2 * 3600).expect("after 1970")
}

/// Parses `YYYY-MM-DD`.
pub fn day(text: &str) -> Date {
    Date::parse(text).expect("a valid date")
}

/// A log operator in memory: headers, contents, stored hashes and the log key.
#[derive(Clone)]
pub struct Log {
    /// The checkpoint signer (signed-note private key).
    pub signer: StandardSigner,
    /// The verifier key clients pin: `name+hex id+base64(0x01 || key)`.
    pub verifier_key: String,
    /// The origin.
    pub name: String,
    /// Header bytes, by index.
    pub headers: Vec<Vec<u8>>,
    /// Contents, by index.
    pub contents: Vec<EntryContent>,
    /// Intake time stamped on the next entries.
    pub time: u64,
    stored: Vec<Hash>,
    heads: BTreeMap<String, [u8; 32]>,
    /// The newest public identity entry, named in each new header's `keys`.
    identity_head: Option<u64>,
    salt_counter: u64,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log").field("name", &self.name).field("size", &self.headers.len()).finish_non_exhaustive()
    }
}

impl Log {
    /// A log named `name` whose key is derived from `seed`.
    pub fn new(name: &str, seed: u8) -> Self {
        let sk = key(seed);
        let public = [&[1u8][..], sk.verifying_key().as_bytes()].concat();
        let private = [&[1u8][..], &sk.to_bytes()[..]].concat();
        let skey = format!(
            "PRIVATE+KEY+{name}+{:08x}+{}",
            signed_note::key_id(name, &public),
            BASE64_STANDARD.encode(private)
        );
        Self {
            signer: StandardSigner::new(&skey).expect("a valid signer key"),
            verifier_key: signed_note::new_ed25519_verifier_key(name, &sk.verifying_key()),
            name: name.to_owned(),
            headers: Vec::new(),
            contents: Vec::new(),
            time: morning_of(day("2026-11-20")),
            stored: Vec::new(),
            heads: BTreeMap::new(),
            identity_head: None,
            salt_counter: 0,
        }
    }

    /// Entries so far.
    pub fn size(&self) -> u64 {
        self.headers.len() as u64
    }

    /// Three fresh 32-byte salts (SHA-256 of the log name and a counter: never reused).
    fn salts(&mut self) -> [[u8; 32]; 3] {
        let mut out = [[0u8; 32]; 3];
        for s in &mut out {
            self.salt_counter += 1;
            let mut h = Sha256::new();
            h.update(b"test salt\0");
            h.update(self.name.as_bytes());
            h.update(self.salt_counter.to_be_bytes());
            *s = h.finalize().into();
        }
        out
    }

    /// The leaf hash of the current head of `uscc`'s chain.
    pub fn head(&self, uscc: &str) -> Option<[u8; 32]> {
        self.heads.get(uscc).copied()
    }

    /// Seals an envelope with an explicit previous leaf (honest or not), without appending.
    pub fn seal(
        &mut self,
        envelope: Envelope,
        kind: &str,
        subject: Option<&str>,
        previous: Option<[u8; 32]>,
    ) -> (EntryHeader, EntryContent) {
        let salts = self.salts();
        let (mut header, content) =
            EntryContent::seal(envelope, kind.to_owned(), self.time, subject.map(|u| (u, previous)), salts)
                .expect("one signature");
        header.keys = self.identity_head;
        (header, content)
    }

    /// Appends an envelope as the honest sequencer does: linked to the head of its subject's chain.
    pub fn append(&mut self, envelope: Envelope, kind: &str, subject: Option<&str>) -> u64 {
        let previous = subject.and_then(|u| self.head(u));
        let (header, content) = self.seal(envelope, kind, subject, previous);
        self.append_sealed(header, content)
    }

    /// Appends a header and content exactly as given (any chain link, any time), and moves the
    /// subject's chain head to it.
    pub fn append_sealed(&mut self, header: EntryHeader, content: EntryContent) -> u64 {
        let bytes = header.to_bytes();
        let index = self.size();
        let new = stored_hashes(index, &bytes, &Memory(&self.stored)).expect("in memory");
        self.stored.extend(new);
        if let Some(u) = &content.subject {
            self.heads.insert(u.clone(), verifier::leaf_hash(&bytes).0);
        }
        if header.kind.starts_with("identity/") && content.subject.is_none() {
            self.identity_head = Some(index);
        }
        self.headers.push(bytes);
        self.contents.push(content);
        index
    }

    /// The root of the tree of `size` entries.
    pub fn root(&self, size: u64) -> Hash {
        tree_hash(size, &Memory(&self.stored)).expect("in memory")
    }

    /// The signed checkpoint (C2SP signed note) of the tree of `size` entries.
    pub fn checkpoint(&self, size: u64) -> String {
        let body = tlog_tiles::Checkpoint::new(&self.name, size, self.root(size), "").expect("valid origin").to_bytes();
        let mut note = Note::new(&body, &[]).expect("a checkpoint is a valid note text");
        note.add_sigs(&[&self.signer]).expect("valid key name");
        String::from_utf8(note.to_bytes()).expect("UTF-8")
    }

    /// RFC 6962 inclusion proof of `index` in the tree of `size`.
    pub fn inclusion(&self, index: u64, size: u64) -> Vec<Hash> {
        prove_record(size, index, &Memory(&self.stored)).expect("in memory")
    }

    /// RFC 6962 consistency proof from `from` to `to`.
    pub fn consistency(&self, from: u64, to: u64) -> Vec<Hash> {
        prove_tree(to, from, &Memory(&self.stored)).expect("in memory")
    }

    /// The parsed header at `index`.
    pub fn header(&self, index: u64) -> EntryHeader {
        EntryHeader::parse(&self.headers[usize::try_from(index).expect("small")]).expect("a header")
    }

    /// The bundle entry for `index` with its tlog-proof against `checkpoint` (of `size`).
    pub fn bundle_entry(&self, index: u64, size: u64, checkpoint: &str) -> BundleEntry {
        let i = usize::try_from(index).expect("small");
        BundleEntry {
            index,
            header: BASE64_STANDARD.encode(&self.headers[i]),
            content: Some(self.contents[i].clone()),
            redacted: None,
            proof: tlog_proof(index, &self.inclusion(index, size), checkpoint),
        }
    }

    /// The evidence bundle of `uscc` as `registry/src/evidence.rs` builds it, against the
    /// checkpoint of `size`: the firm's chain, the models and orders its decisions cite, every
    /// public identity entry up to the newest of those; `since` adds a consistency step.
    pub fn bundle(&self, uscc: &str, size: u64, since: Option<u64>) -> Bundle {
        self.bundle_with(uscc, size, since, &[])
    }

    /// [`Log::bundle`] with `extra` entries slipped in (as a malicious server might).
    pub fn bundle_with(&self, uscc: &str, size: u64, since: Option<u64>, extra: &[u64]) -> Bundle {
        let chain: Vec<u64> =
            (0..size).filter(|&i| self.contents[i as usize].subject.as_deref() == Some(uscc)).collect();
        let mut indices: BTreeSet<u64> = BTreeSet::new();
        for &i in &chain {
            if self.header(i).kind == "decision/grade" {
                let (payload, _) = self.contents[i as usize].envelope.decode(DECISION_TYPE).expect("a decision");
                let d = Decision::parse(&payload).expect("a decision");
                indices.insert(d.model_index);
                indices.extend(d.trigger_index);
            }
        }
        let last = chain.iter().chain(indices.iter()).max().copied().unwrap_or(0);
        for i in 0..=last.min(size.saturating_sub(1)) {
            if self.header(i).kind.starts_with("identity/") && self.contents[i as usize].subject.is_none() {
                indices.insert(i);
            }
        }
        indices.extend(chain);
        indices.extend(extra.iter().copied());
        let checkpoint = self.checkpoint(size);
        let entries = indices.into_iter().map(|i| self.bundle_entry(i, size, &checkpoint)).collect();
        let consistency = match since {
            Some(from) if from > 0 && from < size => vec![ConsistencyStep {
                from,
                proof: self.consistency(from, size).iter().map(|h| BASE64_STANDARD.encode(h.0)).collect(),
            }],
            _ => Vec::new(),
        };
        Bundle {
            kind: BUNDLE_FORMAT.into(),
            subject: Some(uscc.to_owned()),
            checkpoint,
            consistency,
            entries,
            roots: Vec::new(),
            completeness: None,
        }
    }

    /// The firm's records before `before`, in log order, as scoring sees them.
    pub fn records_of(&self, uscc: &str, before: u64) -> Vec<(u64, Record)> {
        (0..before.min(self.size()))
            .filter(|&i| {
                self.contents[i as usize].subject.as_deref() == Some(uscc) && self.header(i).kind.starts_with("record/")
            })
            .map(|i| {
                let (payload, _) = self.contents[i as usize].envelope.decode(RECORD_TYPE).expect("a record");
                (i, Record::parse(&payload).expect("a valid record"))
            })
            .collect()
    }

    /// The firm's decisions before `before`, in log order.
    pub fn decisions_of(&self, uscc: &str, before: u64) -> Vec<(u64, Decision)> {
        (0..before.min(self.size()))
            .filter(|&i| {
                self.contents[i as usize].subject.as_deref() == Some(uscc) && self.header(i).kind == "decision/grade"
            })
            .map(|i| {
                let (payload, _) = self.contents[i as usize].envelope.decode(DECISION_TYPE).expect("a decision");
                (i, Decision::parse(&payload).expect("a decision"))
            })
            .collect()
    }
}

/// A jurisdiction on an in-memory log: every actor's key and the published general model.
#[derive(Clone)]
pub struct World {
    /// The log.
    pub log: Log,
    /// The operator (registered first, self-signed).
    pub operator: SigningKey,
    /// The market regulator, with the `register_enterprises` capability.
    pub amr: SigningKey,
    /// The tax department.
    pub tax: SigningKey,
    /// The court.
    pub court: SigningKey,
    /// The grading authority (publishes models, orders re-grades).
    pub authority: SigningKey,
    /// The grader (signs decisions).
    pub grader: SigningKey,
    /// The firm's own key, bound by the market regulator.
    pub firm: SigningKey,
    /// The general model.
    pub model: Model,
    /// Its hash.
    pub model_hash: String,
    /// Its publication entry.
    pub model_index: u64,
    references: u64,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World").field("log", &self.log).finish_non_exhaustive()
    }
}

fn set<const N: usize>(items: [&str; N]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

impl World {
    /// The jurisdiction: operator, three departments, grading authority, grader, the firm's key
    /// bound by the market regulator, and the general model published.
    pub fn new() -> Self {
        let mut w = World {
            log: Log::new("creditlog.test/zibo", 1),
            operator: key(10),
            amr: key(11),
            tax: key(12),
            court: key(13),
            authority: key(14),
            grader: key(15),
            firm: key(16),
            model: Model::parse(GENERAL_MODEL).expect("the shipped model parses"),
            model_hash: Model::hash(GENERAL_MODEL.as_bytes()),
            model_index: 0,
            references: 0,
        };
        let t = || IDENTITY_STATEMENT.to_owned();
        let op = w.operator.clone();
        w.identity(&op, &Statement::RegisterOperator { kind: t(), name: "zibo ops".into(), key: public_b64(&op) });
        w.identity(
            &op,
            &Statement::RegisterDepartment {
                kind: t(),
                code: AMR.into(),
                name: "淄博市市场监督管理局".into(),
                kinds: set([
                    "administrative_licence",
                    "administrative_penalty",
                    "inspection_result",
                    "annual_report",
                    "abnormal_operations_listing",
                    "abnormal_operations_removal",
                    "serious_dishonesty_listing",
                    "serious_dishonesty_removal",
                    "commendation",
                    "verified_complaint",
                    "credit_commitment",
                    "retraction",
                ]),
                domains: set(["market"]),
                capabilities: [Capability::RegisterEnterprises].into(),
                key: public_b64(&w.amr),
            },
        );
        w.identity(
            &op,
            &Statement::RegisterDepartment {
                kind: t(),
                code: TAX.into(),
                name: "国家税务总局淄博市税务局".into(),
                kinds: set(["tax_credit_grade", "social_security_arrears", "administrative_penalty", "retraction"]),
                domains: set(["tax"]),
                capabilities: BTreeSet::new(),
                key: public_b64(&w.tax),
            },
        );
        w.identity(
            &op,
            &Statement::RegisterDepartment {
                kind: t(),
                code: COURT.into(),
                name: "淄博市中级人民法院".into(),
                kinds: set(["judgment", "black_list", "retraction"]),
                domains: set(["justice"]),
                capabilities: BTreeSet::new(),
                key: public_b64(&w.court),
            },
        );
        w.identity(
            &op,
            &Statement::RegisterKey {
                kind: t(),
                role: Role::GradingAuthority,
                name: "淄博市信用办".into(),
                key: public_b64(&w.authority),
            },
        );
        w.identity(
            &op,
            &Statement::RegisterKey {
                kind: t(),
                role: Role::Grader,
                name: "grader".into(),
                key: public_b64(&w.grader),
            },
        );
        let amr = w.amr.clone();
        let firm = w.firm.clone();
        w.bind(&amr, FIRM, &firm, &firm);
        let envelope = Envelope::sign(MODEL_TYPE, GENERAL_MODEL.as_bytes(), &w.authority);
        w.model_index = w.log.append(envelope, &format!("model/{}", w.model.id), None);
        w
    }

    /// Logs an identity statement signed by `by`, about the enterprise it concerns.
    pub fn identity(&mut self, by: &SigningKey, st: &Statement) -> u64 {
        let subject = match st {
            Statement::BindEnterpriseKey { subject, .. } => Some(subject.clone()),
            _ => None,
        };
        let envelope = Envelope::sign(IDENTITY_TYPE, &st.to_bytes(), by);
        self.log.append(envelope, &format!("identity/{}", st.action()), subject.as_deref())
    }

    /// Binds `key` to `uscc`, signed by department `by`, with a proof of possession made by `prover`.
    pub fn bind(&mut self, by: &SigningKey, uscc: &str, key: &SigningKey, prover: &SigningKey) -> u64 {
        let st = Statement::BindEnterpriseKey {
            kind: IDENTITY_STATEMENT.into(),
            subject: uscc.into(),
            key: public_b64(key),
            proof: sign_binding(uscc, prover),
        };
        self.identity(by, &st)
    }

    /// A fresh document number.
    pub fn reference(&mut self, prefix: &str) -> String {
        self.references += 1;
        format!("{prefix}〔2026〕{}号", self.references)
    }

    /// Logs a record (JSON) signed by `by`, about the subject it names.
    pub fn record(&mut self, by: &SigningKey, record: &serde_json::Value) -> u64 {
        let bytes = serde_json::to_vec(record).expect("serialises");
        let parsed = Record::parse(&bytes).unwrap_or_else(|e| panic!("test record {record}: {e}"));
        let envelope = Envelope::sign(RECORD_TYPE, &bytes, by);
        self.log.append(envelope, &format!("record/{}", parsed.kind()), Some(parsed.subject().as_str()))
    }

    /// Logs an objection step signed by `by`.
    pub fn objection(&mut self, by: &SigningKey, step: &verifier::objection::Step) -> u64 {
        let subject = step.subject().to_owned();
        self.log.append(step.sign(by), &format!("objection/{}", step.name()), Some(&subject))
    }

    /// Logs a credit repair step signed by `by`.
    pub fn repair(&mut self, by: &SigningKey, step: &verifier::repair::Step) -> u64 {
        let subject = step.subject().to_owned();
        self.log.append(step.sign(by), &format!("repair/{}", step.name()), Some(&subject))
    }

    /// Logs a re-grading order signed by `by`.
    pub fn order(&mut self, by: &SigningKey, as_of: Date) -> u64 {
        let o = RegradeOrder { kind: ORDER_FORMAT.into(), model: self.model_hash.clone(), as_of };
        let envelope = Envelope::sign(ORDER_TYPE, &serde_json::to_vec(&o).expect("serialises"), by);
        self.log.append(envelope, "order/regrade", None)
    }

    /// The decision the honest grader would log next for `uscc`: every record before it, the
    /// stop dates they give, the previous class under the model, the model's breakdown.
    pub fn honest_decision(&self, uscc: &str, as_of: Date, trigger: Trigger, trigger_index: Option<u64>) -> Decision {
        let records = self.log.records_of(uscc, self.log.size());
        self.decision_over(uscc, &records, as_of, trigger, trigger_index)
    }

    /// A decision over exactly `records` (honest or not), scored by the model.
    pub fn decision_over(
        &self,
        uscc: &str,
        records: &[(u64, Record)],
        as_of: Date,
        trigger: Trigger,
        trigger_index: Option<u64>,
    ) -> Decision {
        let refs: Vec<(u64, &Record)> = records.iter().map(|(i, r)| (*i, r)).collect();
        let stopped = stop_dates(&refs, &[]);
        let previous = self
            .log
            .decisions_of(uscc, self.log.size())
            .into_iter()
            .rev()
            .find(|(_, d)| d.model == self.model_hash)
            .map(|(_, d)| d.breakdown.class);
        let scored: Vec<ScoredRecord> =
            records.iter().map(|(i, r)| ScoredRecord::new(*i, r.clone(), stopped.get(i).copied())).collect();
        let breakdown = self.model.score(&scored, as_of, previous.as_deref());
        Decision {
            kind: DECISION_FORMAT.into(),
            subject: uscc.to_owned(),
            model: self.model_hash.clone(),
            model_index: self.model_index,
            as_of,
            trigger,
            trigger_index,
            previous,
            records: records.iter().map(|(i, _)| *i).collect(),
            stopped,
            breakdown,
        }
    }

    /// Logs a decision signed by `by`.
    pub fn publish_decision(&mut self, by: &SigningKey, d: &Decision) -> u64 {
        let envelope = Envelope::sign(DECISION_TYPE, &serde_json::to_vec(d).expect("serialises"), by);
        self.log.append(envelope, "decision/grade", Some(&d.subject.clone()))
    }

    /// The firm's bundle against the current checkpoint.
    pub fn bundle(&self, uscc: &str) -> Bundle {
        self.log.bundle(uscc, self.log.size(), None)
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

/// Record JSON builders: `(department, subject, date, reference)` and the kind's fields.
pub mod records {
    use serde_json::{json, Value};

    fn record(kind: &str, dept: &str, subject: &str, date: &str, reference: &str, fields: Value) -> Value {
        json!({"type": "creditlog.record/v1", "kind": kind, "subject": subject, "department": dept,
               "date": date, "reference": reference, "fields": fields})
    }

    /// A minor administrative penalty (warning, small fine).
    pub fn penalty(dept: &str, subject: &str, date: &str, reference: &str) -> Value {
        record(
            "administrative_penalty",
            dept,
            subject,
            date,
            reference,
            json!({
            "violation_type": "虚假广告", "violation": "发布虚假广告", "penalties": ["warning", "fine"],
            "fine_amount_fen": 500_000, "severity": "ordinary", "publicity_months": 12}),
        )
    }

    /// An administrative licence.
    pub fn licence(dept: &str, subject: &str, date: &str, reference: &str) -> Value {
        record(
            "administrative_licence",
            dept,
            subject,
            date,
            reference,
            json!({
            "licence_name": "食品经营许可证", "licence_number": reference, "valid_from": date}),
        )
    }

    /// An inspection with no issue.
    pub fn inspection(dept: &str, subject: &str, date: &str, reference: &str) -> Value {
        record(
            "inspection_result",
            dept,
            subject,
            date,
            reference,
            json!({
            "task": "双随机抽查", "items": ["营业执照", "年报公示"], "inspector_count": 2, "result": "no_issue"}),
        )
    }

    /// An annual report filed on time.
    pub fn annual_report(dept: &str, subject: &str, date: &str, reference: &str, year: u16) -> Value {
        record(
            "annual_report",
            dept,
            subject,
            date,
            reference,
            json!({
            "report_year": year, "status": "operating", "staff": 42, "on_time": true}),
        )
    }

    /// A listing in the abnormal-operations list.
    pub fn abnormal_listing(dept: &str, subject: &str, date: &str, reference: &str) -> Value {
        record(
            "abnormal_operations_listing",
            dept,
            subject,
            date,
            reference,
            json!({
            "reason": "unreachable_at_address"}),
        )
    }

    /// A removal from the abnormal-operations list naming the listing by date and index.
    pub fn abnormal_removal(
        dept: &str,
        subject: &str,
        date: &str,
        reference: &str,
        listing_date: &str,
        listing_index: u64,
    ) -> Value {
        record(
            "abnormal_operations_removal",
            dept,
            subject,
            date,
            reference,
            json!({
            "listing_date": listing_date, "listing_index": listing_index, "ground": "cause_cured"}),
        )
    }

    /// A commendation.
    pub fn commendation(dept: &str, subject: &str, date: &str, reference: &str) -> Value {
        record(
            "commendation",
            dept,
            subject,
            date,
            reference,
            json!({
            "title": "守合同重信用企业", "level": "municipal"}),
        )
    }

    /// A verified complaint.
    pub fn complaint(dept: &str, subject: &str, date: &str, reference: &str) -> Value {
        record(
            "verified_complaint",
            dept,
            subject,
            date,
            reference,
            json!({
            "channel": "12345", "complaint_type": "价格", "substantiated": true}),
        )
    }

    /// A credit commitment.
    pub fn commitment(dept: &str, subject: &str, date: &str, reference: &str) -> Value {
        record(
            "credit_commitment",
            dept,
            subject,
            date,
            reference,
            json!({
            "commitment_type": "voluntary", "content": "依法诚信经营"}),
        )
    }

    /// A tax credit grade.
    pub fn tax_grade(dept: &str, subject: &str, date: &str, reference: &str, year: u16, grade: &str) -> Value {
        record("tax_credit_grade", dept, subject, date, reference, json!({"tax_year": year, "grade": grade}))
    }

    /// Social-security arrears, settled.
    pub fn arrears(dept: &str, subject: &str, date: &str, reference: &str) -> Value {
        record(
            "social_security_arrears",
            dept,
            subject,
            date,
            reference,
            json!({
            "period_from": "2025-01-01", "period_until": "2025-03-31", "amount_fen": 1_200_000, "settled": true}),
        )
    }

    /// A civil judgment, performed.
    pub fn judgment(dept: &str, subject: &str, date: &str, reference: &str) -> Value {
        record(
            "judgment",
            dept,
            subject,
            date,
            reference,
            json!({
            "stage": "judgment", "obligation": "支付货款", "amount_fen": 3_000_000, "performed": true}),
        )
    }

    /// A retraction of entry `target`.
    pub fn retraction(dept: &str, subject: &str, date: &str, reference: &str, target: u64) -> Value {
        record(
            "retraction",
            dept,
            subject,
            date,
            reference,
            json!({
            "target_index": target, "ground": "error", "reason": "处罚决定书文号录入错误"}),
        )
    }
}
