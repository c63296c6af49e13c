//! The append pipeline: every entry goes seal → contents (durable) → log → views, under the
//! intake lock, so the registry is the log's only writer and the views always follow it.

use crate::scoring::Row;
use crate::store::{be_u64, reference_key, subject_key, Reference};
use crate::{Registry, RegistryError};
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use verifier::entry::{EntryContent, EntryHeader};
use verifier::envelope::{Envelope, IDENTITY_TYPE, RECORD_TYPE};
use verifier::identity::{KeyBook, Statement};
use verifier::leaf_hash;
use verifier::record::{Record, RecordFields};

/// An envelope that passed every check, ready to be sealed and appended.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) envelope: Envelope,
    /// The header kind, e.g. `record/administrative_penalty`.
    pub(crate) kind: String,
    /// The enterprise the entry is about.
    pub(crate) subject: Option<String>,
    pub(crate) dedup: [u8; 32],
    /// For a department record, what the views need of it, computed where it was parsed (so
    /// the serial part of intake does not parse it again).
    pub(crate) facts: Option<RecordFacts>,
}

/// What the references view needs of a record.
#[derive(Debug, Clone)]
pub(crate) struct RecordFacts {
    /// Its references key (USCC, department, kind, document number).
    pub(crate) reference: Vec<u8>,
    /// For a retraction, the entry it retracts.
    pub(crate) retracts: Option<u64>,
    /// For an inspection result from a draw, the draw's entry.
    pub(crate) draw_index: Option<u64>,
    /// The early-warning rule the record may make hold, its date and its department.
    pub(crate) watched: Option<(verifier::warning::WarningRule, verifier::Date, String)>,
    /// Its JSON, the scoring view's row ([`crate::scoring`]).
    pub(crate) json: Vec<u8>,
}

impl RecordFacts {
    pub(crate) fn of(record: &Record) -> Self {
        Self {
            reference: reference_key(
                record.subject().as_str(),
                record.department(),
                record.kind().as_str(),
                record.reference(),
            ),
            retracts: match record.fields() {
                RecordFields::Retraction(f) => Some(f.target_index),
                _ => None,
            },
            draw_index: match record.fields() {
                RecordFields::InspectionResult(f) => f.draw_index,
                _ => None,
            },
            watched: crate::warnings::watched(record).map(|r| (r, record.date(), record.department().to_owned())),
            json: record.to_json_bytes(),
        }
    }
}

impl Prepared {
    pub(crate) fn new(envelope: Envelope, kind: String, subject: Option<String>) -> Self {
        let dedup = dedup_key(&envelope);
        Self { envelope, kind, subject, dedup, facts: None }
    }
}

/// The same signed bytes: payload type, payload and signature.
pub(crate) fn dedup_key(envelope: &Envelope) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(envelope.payload_type.as_bytes());
    h.update([0]);
    h.update(envelope.payload.as_bytes());
    for s in &envelope.signatures {
        h.update([0]);
        h.update(s.keyid.as_bytes());
        h.update([0]);
        h.update(s.sig.as_bytes());
    }
    h.finalize().into()
}

fn fresh_salts(rng: &mut impl RngCore) -> [[u8; 32]; 3] {
    let mut s = [[0u8; 32]; 3];
    for salt in &mut s {
        rng.fill_bytes(salt);
    }
    s
}

fn apply_identity(
    book: &mut KeyBook,
    index: u64,
    header: &EntryHeader,
    content: &EntryContent,
) -> Result<(), RegistryError> {
    let (payload, _) = content
        .envelope
        .decode(IDENTITY_TYPE)
        .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
    let st = Statement::parse(&payload).map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
    book.apply(&st, &header.author, index)
        .map_err(|e| RegistryError::Inconsistent { index, problem: format!("identity statement does not apply: {e}") })
}

/// Entries per transaction of the views when they catch up with the log.
const CATCH_UP_BATCH: u64 = 256;

impl Registry {
    /// How far the views are applied.
    pub(crate) fn applied(&self) -> Result<u64, RegistryError> {
        self.inner.views.applied()
    }

    pub(crate) fn load_book(&self) -> Result<(), RegistryError> {
        let applied = self.applied()?;
        let mut book = KeyBook::default();
        for item in self.inner.views.identities.iter() {
            let (k, _) = item?;
            let index = be_u64(&k, "identities")?;
            if index >= applied {
                break;
            }
            let (header, content) = self.read_entry(index)?.ok_or_else(|| RegistryError::Inconsistent {
                index,
                problem: "an identity entry is not a registry entry".into(),
            })?;
            apply_identity(&mut book, index, &header, &content)?;
            if content.subject.is_none() {
                *self.inner.public_identity_head.lock().expect("lock") = Some(index);
            }
        }
        *self.inner.book.write().expect("lock") = book;
        Ok(())
    }

    /// Applies every entry the views have not seen yet (on a cluster, only the sequencer
    /// writes the shared views: an API node leaves them to it), in transactions of up to
    /// [`CATCH_UP_BATCH`] entries.
    pub(crate) fn catch_up(&self) -> Result<u64, RegistryError> {
        if !self.inner.views.writable() {
            return Ok(0);
        }
        let size = self.inner.log.committed_size();
        let from = self.applied()?;
        let mut start = from;
        while start < size {
            let end = size.min(start + CATCH_UP_BATCH);
            self.applying(end, || {
                for index in start..end {
                    self.catch_up_one(index)?;
                    self.mark_applied(index + 1)?;
                }
                Ok(())
            })?;
            start = end;
        }
        Ok(size.saturating_sub(from))
    }

    fn catch_up_one(&self, index: u64) -> Result<(), RegistryError> {
        let bytes = self.inner.log.entry(index)?;
        match self.open_stored(index, &bytes)? {
            Some((header, crate::Stored::Content(content))) => {
                self.apply_all(&[(index, &bytes, &header, &content, None)])?;
            }
            // A redacted record: only its place in the firm's chain is left to index.
            Some((_, crate::Stored::Redacted(stub))) => {
                self.inner.views.subjects.insert(subject_key(&stub.subject, index), leaf_hash(&bytes).0)?;
                self.scoring_write(&[(index, None)])?;
            }
            None => self.scoring_write(&[(index, None)])?,
        }
        Ok(())
    }

    /// Runs `apply` (which applies entries up to `next` and marks them applied) as one
    /// transaction of the views; on a cluster, this node's own state then follows.
    fn applying(&self, next: u64, apply: impl FnOnce() -> Result<(), RegistryError>) -> Result<(), RegistryError> {
        self.inner.views.transaction(apply)?;
        if self.inner.views.shared() {
            self.inner.local_applied.store(next, std::sync::atomic::Ordering::SeqCst);
            self.mark_scoring(next)?;
        }
        Ok(())
    }

    /// On a cluster: records beside this node's scoring view that it holds entries `0..applied`
    /// ([`crate::scoring::write_mark`]).
    fn mark_scoring(&self, applied: u64) -> Result<(), RegistryError> {
        crate::scoring::write_mark(&self.inner.data.join("scoring"), applied, self.scoring_len())
    }

    /// Records that the views are applied up to `next`, with the length of the scoring view's
    /// file at that point, in one sled batch (on a cluster, the scoring view is this node's and
    /// its length is recorded beside it: [`crate::scoring::write_mark`]).
    pub(crate) fn mark_applied(&self, next: u64) -> Result<(), RegistryError> {
        let mut batch = crate::store::Batch::default();
        batch.insert(b"applied", next.to_be_bytes());
        if !self.inner.views.shared() {
            batch.insert(b"scoring", self.scoring_len().to_be_bytes());
        }
        self.inner.views.meta.apply_batch(batch)
    }

    /// On a cluster: brings this node's own derived state up to the shared views. The sequencer
    /// (on open) writes the rows its scoring view lacks, reading those entries from the log. An
    /// API node (whenever the sequencer may have applied more) reads nothing from the log: it
    /// asks the shared views whether identities or models were applied since, and only then
    /// loads its key book or models again.
    pub(crate) fn follow_shared(&self) -> Result<u64, RegistryError> {
        use std::sync::atomic::Ordering::SeqCst;
        let target = self.applied()?;
        let from = self.inner.local_applied.load(SeqCst);
        if target <= from {
            return Ok(0);
        }
        let (identities, models) = match &self.inner.scoring {
            Some(_) => {
                let changed = self.scoring_rows(from, target)?;
                self.mark_scoring(target)?;
                changed
            }
            None => {
                let identities = match self.inner.views.identities.range(from.to_be_bytes()..).next() {
                    Some(item) => crate::store::be_u64(&item?.0, "identities")? < target,
                    None => false,
                };
                let mut models = false;
                for item in self.inner.views.models.iter() {
                    models |= (from..target).contains(&crate::store::be_u64(&item?.1, "models")?);
                }
                (identities, models)
            }
        };
        if identities {
            self.load_book()?;
            self.resolve_grader();
        }
        if models {
            self.load_models()?;
        }
        self.inner.local_applied.store(target, SeqCst);
        Ok(target - from)
    }

    /// Writes the scoring view's rows of entries `from..target`, read from the log, zeroing the
    /// rows of records a redaction among them names: (whether identities, whether models were
    /// among them).
    fn scoring_rows(&self, from: u64, target: u64) -> Result<(bool, bool), RegistryError> {
        let (mut identities, mut models) = (false, false);
        let mut rows = Vec::new();
        for index in from..target {
            let bytes = self.inner.log.entry(index)?;
            let row = match self.open_stored(index, &bytes)? {
                Some((header, crate::Stored::Content(content))) => {
                    identities |= header.kind.starts_with("identity/");
                    models |= header.kind.starts_with("model/");
                    if header.kind == verifier::redaction::REDACTION_KIND {
                        // The redacted records' rows are zeroed, as intake zeroed them.
                        self.scoring_write(&std::mem::take(&mut rows))?;
                        for &t in &crate::redactions::redaction_of(index, &content)?.entries {
                            if let Some(s) = &self.inner.scoring {
                                s.erase(t)?;
                            }
                        }
                    }
                    self.scoring_row(index, &header, &content, None)?
                }
                _ => None,
            };
            rows.push((index, row));
            if rows.len() == 4096 {
                self.scoring_write(&std::mem::take(&mut rows))?;
            }
        }
        self.scoring_write(&rows)?;
        Ok((identities, models))
    }

    /// Writes rows to the scoring view (none on an API node).
    fn scoring_write(&self, rows: &[(u64, Option<Row>)]) -> Result<(), RegistryError> {
        match &self.inner.scoring {
            Some(s) => s.write(rows),
            None => Ok(()),
        }
    }

    fn scoring_len(&self) -> u64 {
        self.inner.scoring.as_ref().map_or(0, crate::scoring::ScoringView::len)
    }

    /// The scoring view's row of entry `index`: from the view, or on an API node of a cluster
    /// (which keeps none) from the log and the entry's content.
    pub(crate) fn scoring_read(&self, index: u64) -> Result<Option<Row>, RegistryError> {
        if let Some(s) = &self.inner.scoring {
            return s.read(index);
        }
        match self.read_entry(index)? {
            Some((header, content)) => self.scoring_row(index, &header, &content, None),
            None => Ok(None),
        }
    }

    /// The scoring view's row for an entry ([`crate::scoring`]): a record's JSON, or an approved
    /// repair.
    fn scoring_row(
        &self,
        index: u64,
        header: &EntryHeader,
        content: &EntryContent,
        facts: Option<&RecordFacts>,
    ) -> Result<Option<Row>, RegistryError> {
        if header.kind.starts_with("record/") {
            let json = match facts {
                Some(f) => f.json.clone(),
                None => record_of(index, content)?.to_json_bytes(),
            };
            return Ok(Some(Row::Record(json)));
        }
        if header.kind == "repair/decided" {
            return Ok(self.approved_repair(index, content)?.map(Row::Repair));
        }
        Ok(None)
    }

    /// Writes the scoring view again for entries `0..applied`, from the log (its files were
    /// lost or cut short).
    pub(crate) fn rebuild_scoring(&self, applied: u64) -> Result<(), RegistryError> {
        self.scoring_rows(0, applied)?;
        if self.inner.views.shared() {
            return self.mark_scoring(applied);
        }
        self.mark_applied(applied)
    }

    /// Applies entries to the views, one sled batch per tree.
    #[allow(clippy::type_complexity)]
    fn apply_all(
        &self,
        items: &[(u64, &[u8], &EntryHeader, &EntryContent, Option<&RecordFacts>)],
    ) -> Result<(), RegistryError> {
        let v = &self.inner.views;
        // The scoring view first: a redaction in this batch erases rows written before it.
        let mut rows = Vec::with_capacity(items.len());
        for &(index, _, header, content, facts) in items {
            rows.push((index, self.scoring_row(index, header, content, facts)?));
        }
        self.scoring_write(&rows)?;
        let (mut dedup, mut subjects, mut references, mut watch) = (
            crate::store::Batch::default(),
            crate::store::Batch::default(),
            crate::store::Batch::default(),
            crate::store::Batch::default(),
        );
        // References written by this batch, which the tree does not show yet.
        let mut written: HashMap<Vec<u8>, Reference> = HashMap::new();
        let mut identities_changed = false;
        let mut redactions = Vec::new();
        for &(index, bytes, header, content, facts) in items {
            if let Some(uscc) = &content.subject {
                // The value is the entry's leaf hash: the newest key of a USCC is its chain head.
                subjects.insert(subject_key(uscc, index), leaf_hash(bytes).0);
            }
            if header.kind.starts_with("record/") {
                // A live record is found by its document number (the references view); its
                // signed bytes enter the dedup view only when it is retracted.
                let facts = match facts {
                    Some(f) => f.clone(),
                    None => RecordFacts::of(&record_of(index, content)?),
                };
                references.insert(facts.reference.clone(), index.to_be_bytes());
                if let Some(d) = facts.draw_index {
                    // The results of a draw, published by its plan (一公开).
                    self.inner.views.plans.insert(crate::plans::result_key(d, index), [])?;
                }
                if facts.watched.is_some() || facts.retracts.is_some() {
                    if let Some(uscc) = &content.subject {
                        Self::watch(&mut watch, uscc, index, facts.watched.as_ref(), facts.retracts);
                    }
                }
                written.insert(facts.reference, Reference::Live(index));
                if let Some(target_index) = facts.retracts {
                    // (A retraction of a record redacted since leaves nothing to mark.)
                    if let Some((_, target)) = self.read_entry(target_index)? {
                        if let Ok(t) = record_of(target_index, &target) {
                            let key = RecordFacts::of(&t).reference;
                            let now = match written.get(&key) {
                                Some(r) => *r,
                                None => Reference::decode(v.references.get(&key)?.as_deref())?,
                            };
                            // The retracted record's document number is free again (for its
                            // correction); a replay of its signed bytes stays a duplicate.
                            if now == Reference::Live(target_index) {
                                references.insert(key.clone(), &Reference::retracted_value(target_index)[..]);
                                written.insert(key, Reference::Retracted(target_index));
                                dedup.insert(&dedup_key(&target.envelope)[..], target_index.to_be_bytes());
                            }
                        }
                    }
                }
            } else {
                dedup.insert(&dedup_key(&content.envelope)[..], index.to_be_bytes());
            }
            if header.kind.starts_with("identity/") {
                v.identities.insert(index.to_be_bytes(), [])?;
                let mut book = self.inner.book.write().expect("lock");
                apply_identity(&mut book, index, header, content)?;
                identities_changed = true;
                if content.subject.is_none() {
                    *self.inner.public_identity_head.lock().expect("lock") = Some(index);
                }
            }
            if header.kind.starts_with("model/")
                || header.kind.starts_with("decision/")
                || header.kind == "order/regrade"
            {
                self.apply_grading(index, header, content)?;
            }
            if crate::objections::is_objection(header) {
                self.apply_objection(index, content)?;
            }
            if crate::repairs::is_repair(header) {
                self.apply_repair(index, content)?;
            }
            if header.kind == "commitment/made" {
                self.apply_commitment(index, content)?;
            }
            if header.kind.starts_with("plan/") {
                self.apply_plan(index, header, content)?;
            }
            if header.kind.starts_with("warning/") {
                self.apply_warning(index, header, content)?;
            }
            if crate::sanctions::is_sanction(header) {
                self.apply_sanction(index, content)?;
            }
            if header.kind == verifier::redaction::REDACTION_KIND {
                redactions.push((index, content));
            }
            if header.kind == verifier::completeness::HEADS_KIND {
                self.apply_heads(index)?;
            }
        }
        v.dedup.apply_batch(dedup)?;
        v.subjects.apply_batch(subjects)?;
        v.references.apply_batch(references)?;
        v.warnings.apply_batch(watch)?;
        for (index, content) in redactions {
            self.apply_redaction(index, content)?;
        }
        if identities_changed {
            // A rotated grader key takes effect at once.
            self.resolve_grader();
        }
        Ok(())
    }

    /// Leaf hash of the newest entry about `uscc`, if any.
    pub(crate) fn chain_head(&self, uscc: &str) -> Result<Option<[u8; 32]>, RegistryError> {
        let key: Option<[u8; 18]> = uscc.as_bytes().try_into().ok();
        if let Some(k) = &key {
            if let Some(h) = self.inner.heads.lock().expect("lock").get(k) {
                return Ok(Some(*h));
            }
        }
        let head = self.chain_head_in_view(uscc)?;
        if let (Some(k), Some(h)) = (key, head) {
            self.inner.heads.lock().expect("lock").insert(k, h);
        }
        Ok(head)
    }

    /// [`Registry::chain_head`] as the subjects view has it.
    fn chain_head_in_view(&self, uscc: &str) -> Result<Option<[u8; 32]>, RegistryError> {
        match self.inner.views.subjects.last_with_prefix(crate::store::firm_prefix(uscc))? {
            Some((_, v)) => Ok(Some(v.as_ref().try_into().map_err(|_| RegistryError::Corrupt {
                tree: "subjects",
                problem: "a chain head is not 32 bytes".into(),
            })?)),
            None => Ok(None),
        }
    }

    /// The index of an entry with the same signed bytes, if one is on the log and is not a live
    /// department record (those are found by their document number, [`Registry::reference`]).
    pub(crate) fn duplicate_of(&self, dedup: &[u8; 32]) -> Result<Option<u64>, RegistryError> {
        match self.inner.views.dedup.get(dedup)? {
            Some(i) => Ok(Some(be_u64(&i, "dedup")?)),
            None => Ok(None),
        }
    }

    /// Checks a signed procedure step (an objection, repair or commitment step) as the entry it
    /// would become at `at`: signed by a key that counts now, at most a quarter of an entry,
    /// well formed, and allowed by the authority rules. The caller holds the intake lock.
    pub(crate) fn check_step<T>(
        &self,
        envelope: &Envelope,
        payload_type: &'static str,
        parse: impl Fn(&[u8]) -> Result<T, String>,
        payload: impl for<'a> Fn(&'a T) -> verifier::authority::Payload<'a>,
        subject: impl Fn(&T) -> Option<&str>,
        at: u64,
    ) -> Result<T, crate::Rejection> {
        use crate::Rejection;
        let book = self.inner.book.read().expect("lock");
        let keyid = envelope.keyid().map_err(|e| Rejection::new(400, "signatures", e.to_string()))?.to_owned();
        let key = book.valid_at(&keyid, at).map_err(|e| Rejection::new(403, "signatures[0].keyid", e.to_string()))?;
        let bytes = envelope
            .open(payload_type, &key.verifying_key())
            .map_err(|e| Rejection::new(400, "signatures[0].sig", e.to_string()))?;
        if bytes.len() > verifier::MAX_ENTRY_SIZE / 4 {
            return Err(Rejection::new(
                413,
                "payload",
                format!("this step is {} bytes; a step is at most {} bytes", bytes.len(), verifier::MAX_ENTRY_SIZE / 4),
            ));
        }
        let step = parse(&bytes).map_err(|e| Rejection::new(400, "payload", e))?;
        let candidate = verifier::authority::Candidate {
            index: at,
            time: crate::now(),
            author: &keyid,
            subject: subject(&step),
            payload: payload(&step),
        };
        verifier::authority::check_entry(&book, &candidate, &crate::intake::LogHistory::new(self, at))
            .map_err(crate::Rejection::from)?;
        drop(book);
        Ok(step)
    }

    /// Checks and appends one signed procedure step ([`Registry::check_step`]) as an entry of
    /// kind `kind(step)` about `subject(step)`: its index and the step, or the outcome that
    /// appended nothing (the same signed bytes already on the log, or a refusal naming the rule).
    /// The caller holds the intake lock (and may act on the step before releasing it).
    pub(crate) async fn append_step<T>(
        &self,
        envelope: Envelope,
        payload_type: &'static str,
        parse: impl Fn(&[u8]) -> Result<T, String>,
        payload: impl for<'a> Fn(&'a T) -> verifier::authority::Payload<'a>,
        subject: impl Fn(&T) -> &str,
        kind: impl Fn(&T) -> String,
    ) -> Result<Result<(u64, T), crate::Outcome>, RegistryError> {
        let prepared = Prepared::new(envelope, String::new(), None);
        if let Some(index) = self.duplicate_of(&prepared.dedup)? {
            return Ok(Err(crate::Outcome::Duplicate { index }));
        }
        let at = self.inner.log.committed_size();
        let step = match self.check_step(&prepared.envelope, payload_type, parse, payload, |s| Some(subject(s)), at) {
            Ok(step) => step,
            Err(r) => return Ok(Err(crate::Outcome::Rejected(r))),
        };
        let p = Prepared { kind: kind(&step), subject: Some(subject(&step).to_owned()), ..prepared };
        let index = self.append_prepared(vec![p]).await?[0];
        Ok(Ok((index, step)))
    }

    /// What the references view holds for a document number.
    pub(crate) fn reference(&self, key: &[u8]) -> Result<Reference, RegistryError> {
        Reference::decode(self.inner.views.references.get(key)?.as_deref())
    }

    /// Seals, stores contents durably, appends headers, applies views. The caller holds the
    /// intake lock.
    pub(crate) async fn append_prepared(&self, prepared: Vec<Prepared>) -> Result<Vec<u64>, RegistryError> {
        if prepared.is_empty() {
            return Ok(Vec::new());
        }
        // A full disk refuses what is submitted, never the decisions and warnings that follow
        // entries already appended (they are what the reserve is kept for).
        if !prepared.iter().all(|p| p.kind.starts_with("decision/") || p.kind == verifier::warning::WARNING_KIND) {
            self.check_space()?;
        }
        let now = crate::now();
        // The intake lock makes the registry the log's only writer: the batch gets the indices
        // from the committed size on, which each header's `keys` field relies on.
        let first_expected = self.inner.log.committed_size();
        let mut identity_head = *self.inner.public_identity_head.lock().expect("lock");
        let mut heads: BTreeMap<String, [u8; 32]> = BTreeMap::new();
        let mut chained: Vec<(String, [u8; 32])> = Vec::new();
        let mut headers = Vec::with_capacity(prepared.len());
        let mut contents = Vec::with_capacity(prepared.len());
        let mut parsed = Vec::with_capacity(prepared.len());
        let mut facts = Vec::with_capacity(prepared.len());
        // Salts from a ChaCha stream keyed by the OS generator once per batch.
        let mut rng = rand::rngs::StdRng::from_rng(rand::rngs::OsRng).expect("the OS random source works");
        for (i, p) in prepared.into_iter().enumerate() {
            let public_identity = p.kind.starts_with("identity/") && p.subject.is_none();
            let previous = match &p.subject {
                Some(u) => match heads.get(u) {
                    Some(h) => Some(*h),
                    None => self.chain_head(u)?,
                },
                None => None,
            };
            facts.push(p.facts);
            let (header, content) = EntryContent::seal(
                p.envelope,
                p.kind,
                now,
                p.subject.as_deref().map(|u| (u, previous)),
                fresh_salts(&mut rng),
            )
            .map_err(|e| RegistryError::Inconsistent { index: 0, problem: e.to_string() })?;
            let mut header = header;
            header.keys = identity_head;
            if public_identity {
                identity_head = Some(first_expected + i as u64);
            }
            let bytes = header.to_bytes();
            let leaf = leaf_hash(&bytes).0;
            if let Some(u) = &p.subject {
                heads.insert(u.clone(), leaf);
                chained.push((u.clone(), leaf));
            }
            contents.push((leaf, serde_json::to_vec(&content).expect("serialises")));
            headers.push(bytes);
            parsed.push((header, content));
        }
        // Contents first, durably: an acknowledged header always has its content.
        self.inner.contents.append(first_expected, &contents)?;
        // Whatever the log append's outcome, the chain heads kept in memory are those of the
        // log from here on: forgotten if it failed (it may have written part), else the new ones.
        let appended = self.inner.log.append(headers.clone()).await;
        {
            let mut kept = self.inner.heads.lock().expect("lock");
            match &appended {
                Ok(first) if *first == first_expected => {
                    for (u, h) in heads {
                        if let Ok(k) = <[u8; 18]>::try_from(u.as_bytes()) {
                            kept.insert(k, h);
                        }
                    }
                }
                _ => kept.clear(),
            }
        }
        self.keep_heads(match &appended {
            Ok(first) if *first == first_expected => Some(&chained),
            _ => None,
        });
        let first = appended?;
        if first != first_expected {
            return Err(RegistryError::Inconsistent {
                index: first,
                problem: format!("the log appended at {first}, not at {first_expected}: another writer appended to it"),
            });
        }
        #[allow(clippy::type_complexity)]
        let items: Vec<(u64, &[u8], &EntryHeader, &EntryContent, Option<&RecordFacts>)> = headers
            .iter()
            .zip(&parsed)
            .zip(&facts)
            .enumerate()
            .map(|(i, ((b, (h, c)), f))| (first + i as u64, b.as_slice(), h, c, f.as_ref()))
            .collect();
        // The intake lock makes the registry the only writer, so these are the newest entries.
        let next = first + headers.len() as u64;
        self.applying(next, || {
            self.apply_all(&items)?;
            self.mark_applied(next)
        })?;
        Ok((first..first + headers.len() as u64).collect())
    }
}

/// The department record in an entry's content.
pub(crate) fn record_of(index: u64, content: &EntryContent) -> Result<Record, RegistryError> {
    let (payload, _) = content
        .envelope
        .decode(RECORD_TYPE)
        .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
    Record::parse(&payload).map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })
}
