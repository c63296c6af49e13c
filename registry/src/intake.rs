//! Flow 1, intake (信息归集): department-signed records, checked one by one. Signatures and
//! fields are checked outside the intake lock, on all cores; the authority rules
//! ([`verifier::authority::check_entry`]) are checked against the log under the lock, where no
//! other append can slip in between the check and the append.

use crate::pipeline::{record_of, Prepared, RecordFacts};
use crate::store::{reference_key, Reference};
use crate::{Outcome, Registry, RegistryError, Rejection};
use std::collections::{HashMap, HashSet};
use verifier::authority::{Candidate, History, Payload, PriorEntry};
use verifier::envelope::{Envelope, RECORD_TYPE};
use verifier::identity::{KeyBook, Principal};
use verifier::record::{Record, RecordKind};
use verifier::MAX_ENTRY_SIZE;

/// The log before entry `before`, as the authority rules see it at intake.
pub(crate) struct LogHistory<'a> {
    reg: &'a Registry,
    before: u64,
    /// Records accepted earlier in the same request, at the indices they will get.
    pending: Vec<(u64, Record)>,
    /// Their reference keys → index.
    pending_references: HashMap<Vec<u8>, u64>,
    /// Entries retracted by records accepted earlier in the same request.
    pending_retracted: HashSet<u64>,
}

impl<'a> LogHistory<'a> {
    pub(crate) fn new(reg: &'a Registry, before: u64) -> Self {
        Self { reg, before, pending: Vec::new(), pending_references: HashMap::new(), pending_retracted: HashSet::new() }
    }
}

impl LogHistory<'_> {
    /// The references view for a document number, with the records accepted earlier in this
    /// request applied.
    fn reference(&self, key: &[u8]) -> Result<Reference, RegistryError> {
        let found = match self.pending_references.get(key) {
            Some(i) => Reference::Live(*i),
            None => self.reg.reference(key)?,
        };
        Ok(match found {
            Reference::Live(i) if self.pending_retracted.contains(&i) => Reference::Retracted(i),
            r => r,
        })
    }

    /// The entry already on the log (or earlier in this request) that `record`, signed as
    /// `dedup`, repeats: the live record under its document number if it is the same record
    /// (in any serialisation), the newest retracted one if it is that record, or any earlier
    /// entry with the same signed bytes.
    fn repeated(&self, record: &Record, reference: &[u8], dedup: &[u8; 32]) -> Result<Option<u64>, RegistryError> {
        let newest = match self.reference(reference)? {
            // A document number never used: no record on the log can be this one.
            Reference::Unused => return Ok(None),
            Reference::Live(i) | Reference::Retracted(i) => i,
        };
        if self.prior(newest).and_then(|p| p.record).as_ref() == Some(record) {
            return Ok(Some(newest));
        }
        self.reg.duplicate_of(dedup)
    }
}

impl History for LogHistory<'_> {
    fn prior(&self, index: u64) -> Option<PriorEntry> {
        if index >= self.before {
            return None;
        }
        if let Some((_, r)) = self.pending.iter().find(|(i, _)| *i == index) {
            return Some(PriorEntry {
                kind: format!("record/{}", r.kind()),
                author: Principal::Department(r.department().to_owned()),
                subject: Some(r.subject().as_str().to_owned()),
                record: Some(r.clone()),
                objection: None,
                repair: None,
                commitment: None,
                time: crate::now(),
                redacted: false,
                sanction: None,
            });
        }
        let bytes = self.reg.inner.log.entry(index).ok()?;
        let (header, stored) = self.reg.open_stored(index, &bytes).ok()??;
        let author = self.reg.inner.book.read().expect("lock").keys.get(&header.author)?.principal.clone();
        let content = match stored {
            crate::Stored::Content(c) => c,
            // Redacted: what its header still tells.
            crate::Stored::Redacted(stub) => {
                return Some(PriorEntry {
                    kind: header.kind,
                    author,
                    subject: Some(stub.subject),
                    record: None,
                    objection: None,
                    repair: None,
                    commitment: None,
                    time: header.time,
                    redacted: true,
                    sanction: None,
                })
            }
        };
        let record = if header.kind.starts_with("record/") { record_of(index, &content).ok() } else { None };
        let objection = if crate::objections::is_objection(&header) {
            crate::objections::step_of(index, &content).ok()
        } else {
            None
        };
        let repair =
            if crate::repairs::is_repair(&header) { crate::repairs::step_of(index, &content).ok() } else { None };
        let commitment = if header.kind == "commitment/made" {
            crate::commitments::commitment_of(index, &content).ok()
        } else {
            None
        };
        let sanction =
            if crate::sanctions::is_sanction(&header) { crate::sanctions::step_of(index, &content).ok() } else { None };
        Some(PriorEntry {
            kind: header.kind,
            author,
            subject: content.subject,
            record,
            objection,
            repair,
            commitment,
            time: header.time,
            redacted: false,
            sanction,
        })
    }

    fn live_record(&self, subject: &str, department: &str, kind: RecordKind, reference: &str) -> Option<u64> {
        match self.reference(&reference_key(subject, department, kind.as_str(), reference)).ok()? {
            Reference::Live(i) => Some(i),
            Reference::Unused | Reference::Retracted(_) => None,
        }
    }

    fn records_of_kind(&self, subject: &str, kind: RecordKind) -> Vec<(u64, Record)> {
        let mut out = self.reg.firm_records_of_kind(subject, kind, self.before).unwrap_or_default();
        out.extend(
            self.pending
                .iter()
                .filter(|(i, r)| *i < self.before && r.kind() == kind && r.subject().as_str() == subject)
                .cloned(),
        );
        out
    }

    fn model_published(&self, hash: &str) -> bool {
        self.reg.inner.models.read().expect("lock").contains_key(hash)
    }

    fn repair_steps(&self, application_index: u64) -> Vec<(u64, verifier::repair::Step)> {
        self.reg
            .repair_step_indices(application_index, self.before)
            .unwrap_or_default()
            .into_iter()
            .filter(|i| *i != application_index)
            .filter_map(|i| {
                let (_, content) = self.reg.read_entry(i).ok()??;
                Some((i, crate::repairs::step_of(i, &content).ok()?))
            })
            .collect()
    }

    fn firm_records(&self, subject: &str) -> Vec<(u64, Record)> {
        let mut out: Vec<(u64, Record)> =
            self.reg.firm_records(subject).unwrap_or_default().into_iter().filter(|(i, _)| *i < self.before).collect();
        out.extend(self.pending.iter().filter(|(i, r)| *i < self.before && r.subject().as_str() == subject).cloned());
        out
    }

    fn firm_decisions(&self, subject: &str) -> Vec<(u64, verifier::decision::Decision)> {
        let indices = self.reg.subject_indices(subject).unwrap_or_default();
        indices
            .into_iter()
            .filter(|i| *i < self.before)
            .filter_map(|i| {
                let (header, _) = self.reg.read_entry(i).ok()??;
                (header.kind == "decision/grade").then(|| self.reg.decision(i).ok()).flatten().map(|d| (i, d))
            })
            .collect()
    }

    fn plan(&self, index: u64) -> Option<(verifier::plan::Plan, [u8; 32])> {
        (index < self.before).then(|| self.reg.plan_with_leaf(index)).flatten()
    }

    fn draws_of(&self, plan_index: u64) -> Vec<u64> {
        self.reg.draw_index(plan_index).ok().flatten().filter(|i| *i < self.before).into_iter().collect()
    }

    fn model_domain(&self, hash: &str) -> Option<String> {
        self.reg.model_domain(hash)
    }

    fn warning(&self, index: u64) -> Option<verifier::warning::Warning> {
        (index < self.before).then(|| self.reg.warning_at(index)).flatten()
    }

    fn warning_acks(&self, index: u64) -> Vec<(u64, String)> {
        self.reg.acks_of(index).unwrap_or_default().into_iter().filter(|(i, _)| *i < self.before).collect()
    }

    fn draw_lookup(&self, draw_index: u64, uscc: &str) -> verifier::authority::DrawLookup {
        use verifier::authority::DrawLookup;
        if draw_index >= self.before {
            return DrawLookup::NotADraw;
        }
        match self.reg.draw_entry(draw_index) {
            Ok(Some(d)) => match self.reg.drawn(d.plan_index) {
                Ok(Some((_, _, sel))) => {
                    DrawLookup::Drawn { department: d.department, selected: sel.iter().any(|s| s.uscc == uscc) }
                }
                _ => DrawLookup::NotADraw,
            },
            _ => DrawLookup::NotADraw,
        }
    }

    fn tree_root(&self, size: u64) -> Option<[u8; 32]> {
        (size <= self.before).then(|| self.reg.inner.log.tree_hash(size).ok().map(|h| h.0)).flatten()
    }

    fn objection_steps(&self, objection_index: u64) -> Vec<(u64, verifier::objection::Step)> {
        self.reg
            .objection_step_indices(objection_index, self.before)
            .unwrap_or_default()
            .into_iter()
            .filter(|i| *i != objection_index)
            .filter_map(|i| {
                let (_, content) = self.reg.read_entry(i).ok()??;
                Some((i, crate::objections::step_of(i, &content).ok()?))
            })
            .collect()
    }

    fn firm_entries(&self, subject: &str) -> Vec<(u64, PriorEntry)> {
        let mut indices: Vec<u64> =
            self.reg.subject_indices(subject).unwrap_or_default().into_iter().filter(|i| *i < self.before).collect();
        indices.extend(
            self.pending.iter().filter(|(i, r)| *i < self.before && r.subject().as_str() == subject).map(|(i, _)| *i),
        );
        indices.into_iter().filter_map(|i| Some((i, self.prior(i)?))).collect()
    }
}

/// A record whose signature and fields passed, waiting for the authority rules.
pub(crate) struct Checked {
    prepared: Prepared,
    author: String,
    record: Record,
}

impl Registry {
    /// Validates and appends department-signed records. Per record: each is checked on its
    /// own; the good ones are appended in order, the others rejected with the field and rule.
    /// A record already on the log (the same signed bytes, or the same department, kind and
    /// document number with the same content) returns its original index and appends nothing.
    ///
    /// # Errors
    ///
    /// Storage failures only (then nothing of this call was acknowledged).
    pub async fn submit_records(&self, envelopes: Vec<Envelope>) -> Result<Vec<Outcome>, RegistryError> {
        self.records(envelopes, false).await
    }

    /// A dry run of [`Registry::submit_records`]: every check it makes, against the log as it
    /// stands, with the same outcomes, except that a record that would be appended is
    /// [`Outcome::WouldAppend`] and nothing is appended (`creditlog import --check`).
    ///
    /// # Errors
    ///
    /// Storage failures only.
    pub async fn check_records(&self, envelopes: Vec<Envelope>) -> Result<Vec<Outcome>, RegistryError> {
        self.records(envelopes, true).await
    }

    async fn records(&self, envelopes: Vec<Envelope>, dry_run: bool) -> Result<Vec<Outcome>, RegistryError> {
        let this = self.clone();
        let checked = tokio::task::spawn_blocking(move || this.prepare_all(envelopes))
            .await
            .map_err(|e| RegistryError::Inconsistent { index: 0, problem: format!("validation task failed: {e}") })?;
        let guard = self.inner.intake.lock().await;
        let at = self.inner.log.committed_size();
        let time = crate::now();
        let mut outcomes = Vec::with_capacity(checked.len());
        let mut prepared = Vec::new();
        let mut triggers = Vec::new();
        let mut warn = std::collections::BTreeSet::new();
        {
            let book = self.inner.book.read().expect("lock");
            let mut history = LogHistory::new(self, at);
            let mut seen = HashSet::new();
            for c in checked {
                let c = match c {
                    Ok(c) => c,
                    Err(r) => {
                        outcomes.push(Some(Outcome::Rejected(r)));
                        continue;
                    }
                };
                // Each record is checked as the entry it would become, after those before it.
                let index = at + prepared.len() as u64;
                history.before = index;
                let reference = &c.prepared.facts.as_ref().expect("a prepared record has its facts").reference;
                // Only a department's own records are looked up as duplicates: a record in another
                // department's name is refused by the authority rules below, and never answers
                // whether that department has such a record on the log (an oracle a dry run
                // would make cheap).
                let own = matches!(
                    book.keys.get(&c.author).map(|k| &k.principal),
                    Some(Principal::Department(d)) if d == c.record.department()
                );
                if own {
                    if let Some(i) = history.repeated(&c.record, reference, &c.prepared.dedup)? {
                        outcomes.push(Some(Outcome::Duplicate { index: i }));
                        continue;
                    }
                }
                if !seen.insert(c.prepared.dedup) {
                    outcomes.push(Some(Outcome::Rejected(Rejection::new(
                        400,
                        "records",
                        "the same signed record appears twice in this request",
                    ))));
                    continue;
                }
                let candidate = Candidate {
                    index,
                    time,
                    author: &c.author,
                    subject: Some(c.record.subject().as_str()),
                    payload: Payload::Record(&c.record),
                };
                match verifier::authority::check_entry(&book, &candidate, &history) {
                    Ok(()) => {}
                    Err(r) => {
                        outcomes.push(Some(Outcome::Rejected(r.into())));
                        continue;
                    }
                }
                if let verifier::record::RecordFields::Retraction(f) = c.record.fields() {
                    history.pending_retracted.insert(f.target_index);
                }
                history.pending.push((index, c.record.clone()));
                history.pending_references.insert(reference.clone(), index);
                triggers.push((index, c.record.kind().as_str().to_owned(), c.record.subject().as_str().to_owned()));
                if crate::warnings::watched(&c.record).is_some() {
                    warn.insert(c.record.subject().as_str().to_owned());
                }
                outcomes.push(None);
                prepared.push(c.prepared);
            }
        }
        if dry_run {
            return Ok(outcomes.into_iter().map(|o| o.unwrap_or(Outcome::WouldAppend)).collect());
        }
        let indices = self.append_prepared(prepared).await?;
        // Records a model marks as triggers re-grade their firm at once (动态调整), still under
        // the intake lock, so that each decision cites every record before it.
        // Early warnings (风险预警) for the firms of records that may make a rule hold go in the
        // same append as the decisions: one more group commit per request would cost intake.
        let warnings = match self.prepare_warnings(&warn, &crate::warnings::RECORD_RULES) {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(error = %e, "raising early warnings failed; the records are appended");
                Vec::new()
            }
        };
        if let Err(e) = self.instant_regrade(&triggers, warnings).await {
            tracing::error!(error = %e, "instant re-grading failed; the records are appended and the next scheduled run will grade them");
        }
        drop(guard);
        let mut it = indices.into_iter();
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::Appended { index: it.next().expect("one index each") }))
            .collect())
    }

    /// Checks every envelope's signature and fields against the key book as it is now, split
    /// over the machine's cores.
    fn prepare_all(&self, envelopes: Vec<Envelope>) -> Vec<Result<Checked, Rejection>> {
        let at = self.inner.log.committed_size();
        let book = self.inner.book.read().expect("lock");
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        // Batch-verify a chunk; if any signature in it is bad, check that chunk one by one.
        let check_chunk = |chunk: Vec<Envelope>| -> Vec<Result<Checked, Rejection>> {
            let keyed: Vec<(&Envelope, &[u8; 32])> =
                chunk.iter().filter_map(|e| Some((e, &book.valid_at(e.keyid().ok()?, at).ok()?.public))).collect();
            let all_good = keyed.len() == chunk.len() && verifier::envelope::verify_all(&keyed, RECORD_TYPE);
            chunk.into_iter().map(|e| prepare_record(&book, e, at, all_good)).collect()
        };
        if envelopes.len() < 64 || threads == 1 {
            return check_chunk(envelopes);
        }
        let chunk = envelopes.len().div_ceil(threads);
        let mut chunks: Vec<Vec<Envelope>> = Vec::new();
        let mut rest = envelopes;
        while !rest.is_empty() {
            let tail = rest.split_off(chunk.min(rest.len()));
            chunks.push(rest);
            rest = tail;
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunks.into_iter().map(|c| scope.spawn(|| check_chunk(c))).collect();
            handles.into_iter().flat_map(|h| h.join().expect("validation thread panicked")).collect()
        })
    }
}

/// Checks one record envelope's signature and fields. `verified`: the signature was already
/// checked by a batch verification that accepts exactly what the single check accepts.
fn prepare_record(book: &KeyBook, envelope: Envelope, at: u64, verified: bool) -> Result<Checked, Rejection> {
    let keyid = envelope.keyid().map_err(|e| Rejection::new(400, "signatures", e.to_string()))?.to_owned();
    let key = book.valid_at(&keyid, at).map_err(|e| Rejection::new(403, "signatures[0].keyid", e.to_string()))?;
    let payload = if verified {
        envelope.decode(RECORD_TYPE).map(|(p, _)| p)
    } else {
        envelope.open(RECORD_TYPE, &key.verifying_key())
    }
    .map_err(|e| Rejection::new(400, "signatures[0].sig", e.to_string()))?;
    if payload.len() > MAX_ENTRY_SIZE {
        return Err(Rejection::new(
            413,
            "payload",
            format!("the record is {} bytes; a record is at most {MAX_ENTRY_SIZE} bytes", payload.len()),
        ));
    }
    if !matches!(key.principal, Principal::Department(_)) {
        return Err(Rejection::new(
            403,
            "signatures[0].keyid",
            format!(
                "records are signed by departments (谁产生、谁提供、谁负责); key {keyid} belongs to {} (rule records-by-departments)",
                key.principal
            ),
        ));
    }
    let record = Record::parse(&payload).map_err(|e| Rejection::new(400, e.field.clone(), e.rule.clone()))?;
    let kind = format!("record/{}", record.kind());
    let subject = Some(record.subject().as_str().to_owned());
    let prepared = Prepared { facts: Some(RecordFacts::of(&record)), ..Prepared::new(envelope, kind, subject) };
    Ok(Checked { prepared, author: keyid, record })
}
