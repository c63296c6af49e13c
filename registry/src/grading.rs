//! Grading: published models, grade decisions as entries, instant and scheduled re-grading
//! (DOMAIN.md §1–§3, seed 000 第四). Scoring itself is `verifier::model`: the registry only
//! gathers the inputs from the log, so a court replays every decision with the verifier alone.

use crate::pipeline::{record_of, Prepared};
use crate::scoring::Row;
use crate::{Outcome, Registry, RegistryError, Rejection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use verifier::authority::{Candidate, Payload};
use verifier::date::Date;
use verifier::decision::stop_dates;
pub use verifier::decision::{Decision, RegradeOrder, RunSummary, Trigger, DECISION_FORMAT, ORDER_FORMAT, RUN_FORMAT};
use verifier::entry::{EntryContent, EntryHeader};
use verifier::envelope::{Envelope, DECISION_TYPE, MODEL_TYPE, ORDER_TYPE};
use verifier::model::{Model, ScoredRecord};
use verifier::record::Record;

/// Decisions of a full re-grade appended under one hold of the intake lock: intake waits at
/// most for one such batch.
pub const REGRADE_APPEND_BATCH: usize = 1_000;

/// A model on the log.
#[derive(Debug, Clone)]
pub struct PublishedModel {
    /// Entry that published it.
    pub index: u64,
    /// The model.
    pub model: Arc<Model>,
}

/// The current grade of a firm under one model (the grades view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentGrade {
    /// SHA-256 of the model.
    pub model: String,
    /// Entry of the decision.
    pub decision: u64,
    /// Class label.
    pub class: String,
    /// Score.
    pub score: i64,
    /// As-of date.
    pub as_of: Date,
}

/// The class distribution over time: model hash → `(YYYY-MM, class label → firms)` by month.
pub type ClassHistory = BTreeMap<String, Vec<(String, BTreeMap<String, u64>)>>;

/// `YYYY-MM`: the month a decision as of `day` counts in.
fn month_of(day: Date) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

fn grade_key(uscc: &str, model: &str) -> Vec<u8> {
    let mut k = uscc.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(model.as_bytes());
    k
}

impl Registry {
    pub(crate) fn load_models(&self) -> Result<(), RegistryError> {
        let mut models = BTreeMap::new();
        for item in self.inner.views.models.iter() {
            let (hash, index) = item?;
            let index = crate::store::be_u64(&index, "models")?;
            if let Some((_, content)) = self.read_entry(index)? {
                let (payload, _) = content
                    .envelope
                    .decode(MODEL_TYPE)
                    .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
                let text = String::from_utf8(payload)
                    .map_err(|_| RegistryError::Inconsistent { index, problem: "model is not UTF-8".into() })?;
                let model =
                    Model::parse(&text).map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
                models.insert(
                    String::from_utf8_lossy(&hash).into_owned(),
                    PublishedModel { index, model: Arc::new(model) },
                );
            }
        }
        *self.inner.models.write().expect("lock") = models;
        Ok(())
    }

    pub(crate) fn apply_grading(
        &self,
        index: u64,
        header: &EntryHeader,
        content: &EntryContent,
    ) -> Result<(), RegistryError> {
        let bad = |problem: String| RegistryError::Inconsistent { index, problem };
        if header.kind.starts_with("model/") {
            let (payload, _) = content.envelope.decode(MODEL_TYPE).map_err(|e| bad(e.to_string()))?;
            let hash = Model::hash(&payload);
            let text = String::from_utf8(payload).map_err(|_| bad("model is not UTF-8".into()))?;
            let model = Model::parse(&text).map_err(|e| bad(e.to_string()))?;
            self.inner.views.models.insert(hash.as_bytes(), index.to_be_bytes())?;
            self.inner.models.write().expect("lock").insert(hash, PublishedModel { index, model: Arc::new(model) });
        } else if header.kind == "order/regrade" {
            // A run to resume until its summary is on the log.
            self.inner.views.regrades.insert(index.to_be_bytes(), [])?;
        } else if header.kind == "decision/regrade_run" {
            let (payload, _) = content.envelope.decode(DECISION_TYPE).map_err(|e| bad(e.to_string()))?;
            let run: RunSummary = serde_json::from_slice(&payload).map_err(|e| bad(e.to_string()))?;
            if let Some(order) = run.order {
                self.inner.views.regrades.remove(order.to_be_bytes())?;
            }
        } else if header.kind == "decision/grade" {
            let (payload, _) = content.envelope.decode(DECISION_TYPE).map_err(|e| bad(e.to_string()))?;
            let d: Decision = serde_json::from_slice(&payload).map_err(|e| bad(e.to_string()))?;
            let g = CurrentGrade {
                model: d.model.clone(),
                decision: index,
                class: d.breakdown.class,
                score: d.breakdown.score,
                as_of: d.as_of,
            };
            let key = grade_key(&d.subject, &d.model);
            let before = self.inner.views.grades.get(&key)?;
            self.inner.views.grades.insert(&key, serde_json::to_vec(&g).expect("serialises"))?;
            let before: Option<CurrentGrade> = before
                .map(|v| serde_json::from_slice(&v))
                .transpose()
                .map_err(|e| RegistryError::Corrupt { tree: "grades", problem: e.to_string() })?;
            // A firm's months never go back: a decision as of an earlier day than the firm's
            // current grade (a re-grade as of a past day) counts in the current grade's month.
            let month = month_of(before.as_ref().map_or(d.as_of, |b| b.as_of.max(d.as_of)));
            if let Some(b) = before.as_ref().filter(|b| b.class != g.class) {
                self.count_class(&d.model, &month, &b.class, -1)?;
            }
            if before.as_ref().is_none_or(|b| b.class != g.class) {
                self.count_class(&d.model, &month, &g.class, 1)?;
            }
        }
        Ok(())
    }

    /// Adds `by` to the net count of firms entering `class` in `month` under `model`.
    fn count_class(&self, model: &str, month: &str, class: &str, by: i64) -> Result<(), RegistryError> {
        let key = [model.as_bytes(), &[0], month.as_bytes(), &[0], class.as_bytes()].concat();
        let tree = &self.inner.views.classes;
        let now = match tree.get(&key)? {
            Some(v) => crate::store::be_u64(&v, "classes")?.cast_signed(),
            None => 0,
        };
        tree.insert(key, (now + by).to_be_bytes())?;
        Ok(())
    }

    /// The class distribution over time, per model: model hash → (month, class label → firms at
    /// the end of that month), for each month in which a decision changed a firm's class. A
    /// decision counts in the month of its `as_of` day, or of the firm's grade before it if that
    /// is later (a re-grade as of a past day, which the rules allow, does not rewrite a month
    /// already counted).
    ///
    /// # Errors
    ///
    /// Views failures, or a stored count that does not decode.
    pub fn class_history(&self) -> Result<ClassHistory, RegistryError> {
        let corrupt = |problem: String| RegistryError::Corrupt { tree: "classes", problem };
        let mut out = ClassHistory::new();
        let mut running: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        for item in self.inner.views.classes.iter() {
            let (k, v) = item?;
            let mut parts = k.splitn(3, |b| *b == 0);
            let (Some(model), Some(month), Some(class)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(corrupt("a key without model, month and class".into()));
            };
            let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| corrupt("a key is not UTF-8".into()));
            let (model, month, class) = (text(model)?, text(month)?, text(class)?);
            let by = crate::store::be_u64(&v, "classes")?.cast_signed();
            let counts = running.entry(model.clone()).or_default();
            *counts.entry(class).or_default() += by;
            let snapshot: BTreeMap<String, u64> = counts
                .iter()
                .map(|(c, n)| u64::try_from(*n).map(|n| (c.clone(), n)))
                .collect::<Result<_, _>>()
                .map_err(|_| corrupt(format!("fewer than no firms in a class of {model} by {month}")))?;
            let months = out.entry(model).or_default();
            match months.last_mut() {
                Some((m, counts)) if *m == month => *counts = snapshot,
                _ => months.push((month, snapshot)),
            }
        }
        Ok(out)
    }

    /// Published models by hash.
    pub fn models(&self) -> BTreeMap<String, PublishedModel> {
        self.inner.models.read().expect("lock").clone()
    }

    /// Checks an envelope signed by the grading authority (a model or a re-grading order)
    /// against the authority rules, under the intake lock.
    pub(crate) fn check_authority_entry(&self, envelope: &Envelope, payload: Payload<'_>) -> Result<(), Rejection> {
        let at = self.inner.log.committed_size();
        let keyid = envelope.keyid().map_err(|e| Rejection::new(400, "signatures", e.to_string()))?;
        let book = self.inner.book.read().expect("lock");
        let candidate = Candidate { index: at, time: crate::now(), author: keyid, subject: None, payload };
        verifier::authority::check_entry(&book, &candidate, &crate::intake::LogHistory::new(self, at))
            .map_err(Rejection::from)
    }

    /// Opens an envelope with the key the book holds for its signer now.
    pub(crate) fn open_signed(&self, envelope: &Envelope, payload_type: &'static str) -> Result<Vec<u8>, Rejection> {
        let at = self.inner.log.committed_size();
        let keyid = envelope.keyid().map_err(|e| Rejection::new(400, "signatures", e.to_string()))?;
        let key = self
            .inner
            .book
            .read()
            .expect("lock")
            .valid_at(keyid, at)
            .map_err(|e| Rejection::new(403, "signatures[0].keyid", format!("{e} (rule key-valid)")))?
            .verifying_key();
        envelope.open(payload_type, &key).map_err(|e| Rejection::new(400, "signatures[0].sig", e.to_string()))
    }

    /// Publishes a model signed by a grading authority (`POST /v1/models`).
    ///
    /// # Errors
    ///
    /// Storage failures; a bad model or signer is an [`Outcome::Rejected`].
    pub async fn publish_model(&self, envelope: Envelope) -> Result<Outcome, RegistryError> {
        let _guard = self.inner.intake.lock().await;
        let p = Prepared::new(envelope, String::new(), None);
        if let Some(i) = self.duplicate_of(&p.dedup)? {
            return Ok(Outcome::Duplicate { index: i });
        }
        let payload = match self.open_signed(&p.envelope, MODEL_TYPE) {
            Ok(x) => x,
            Err(r) => return Ok(Outcome::Rejected(r)),
        };
        let model = match std::str::from_utf8(&payload)
            .map_err(|_| "the model file is not UTF-8".to_owned())
            .and_then(|t| Model::parse(t).map_err(|e| e.to_string()))
        {
            Ok(m) => m,
            Err(e) => return Ok(Outcome::Rejected(Rejection::new(400, "payload", e))),
        };
        let hash = Model::hash(&payload);
        if let Err(r) = self.check_authority_entry(&p.envelope, Payload::Model(&hash)) {
            return Ok(Outcome::Rejected(r));
        }
        let p = Prepared { kind: format!("model/{}", model.id), ..p };
        let index = self.append_prepared(vec![p]).await?[0];
        Ok(Outcome::Appended { index })
    }

    /// The firm's records as scoring sees them: `(index, record)` in log order.
    pub(crate) fn firm_records(&self, uscc: &str) -> Result<Vec<(u64, Record)>, RegistryError> {
        Ok(self.firm_records_and_repairs(uscc)?.0)
    }

    /// A firm's records of one kind below `position`, in log order: what the authority rules
    /// look up for a removal or a commitment's outcome. Only the rows of that kind are parsed
    /// ([`Record::kind_in_json`]): the lookup ran over every record of the firm before, and
    /// took about 29 % of the server's CPU during a bulk load.
    pub(crate) fn firm_records_of_kind(
        &self,
        uscc: &str,
        kind: verifier::record::RecordKind,
        position: u64,
    ) -> Result<Vec<(u64, Record)>, RegistryError> {
        let mut out = Vec::new();
        for index in self.subject_indices(uscc)?.into_iter().take_while(|i| *i < position) {
            if let Some(Row::Record(json)) = self.scoring_read(index)? {
                if Record::kind_in_json(&json).is_some_and(|k| k != kind.as_str().as_bytes()) {
                    continue;
                }
                let record =
                    Record::parse(&json).map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
                if record.kind() == kind {
                    out.push((index, record));
                }
            }
        }
        Ok(out)
    }

    /// A firm's records and approved credit repairs, in log order, in one pass over its entries.
    #[allow(clippy::type_complexity)]
    pub(crate) fn firm_records_and_repairs(
        &self,
        uscc: &str,
    ) -> Result<(Vec<(u64, Record)>, Vec<verifier::decision::Repaired>), RegistryError> {
        self.firm_records_and_repairs_before(uscc, u64::MAX)
    }

    /// [`Registry::firm_records_and_repairs`] as the log stood at size `position`: only the
    /// entries with an index below it.
    #[allow(clippy::type_complexity)]
    fn firm_records_and_repairs_before(
        &self,
        uscc: &str,
        position: u64,
    ) -> Result<(Vec<(u64, Record)>, Vec<verifier::decision::Repaired>), RegistryError> {
        let (scored, repairs) = self.firm_scoring_before(uscc, position)?;
        Ok((scored.into_iter().map(|s| (s.index, s.record)).collect(), repairs))
    }

    /// A firm's records, ready to score, and approved credit repairs, from the scoring view
    /// ([`crate::scoring`]), for the entries below `position`.
    fn firm_scoring_before(
        &self,
        uscc: &str,
        position: u64,
    ) -> Result<(Vec<ScoredRecord>, Vec<verifier::decision::Repaired>), RegistryError> {
        let mut records = Vec::new();
        let mut repairs = Vec::new();
        for index in self.subject_indices(uscc)?.into_iter().take_while(|i| *i < position) {
            match self.scoring_read(index)? {
                Some(Row::Record(json)) => records.push(
                    ScoredRecord::from_json(index, &json)
                        .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?,
                ),
                Some(Row::Repair(r)) => repairs.push(r),
                None => {}
            }
        }
        Ok((records, repairs))
    }

    /// The current grade of `uscc` under `model`, if decided.
    ///
    /// # Errors
    ///
    /// Views failures, or a stored grade that does not decode.
    pub fn current_grade(&self, uscc: &str, model: &str) -> Result<Option<CurrentGrade>, RegistryError> {
        match self.inner.views.grades.get(grade_key(uscc, model))? {
            Some(v) => Ok(Some(
                serde_json::from_slice(&v)
                    .map_err(|e| RegistryError::Corrupt { tree: "grades", problem: e.to_string() })?,
            )),
            None => Ok(None),
        }
    }

    /// The decision logged at `index` (callers check entitlement first).
    ///
    /// # Errors
    ///
    /// If the entry is not a grade decision.
    pub fn decision(&self, index: u64) -> Result<Decision, RegistryError> {
        let (header, content) = self
            .read_entry(index)?
            .ok_or_else(|| RegistryError::Inconsistent { index, problem: "not a registry entry".into() })?;
        if header.kind != "decision/grade" {
            return Err(RegistryError::Inconsistent {
                index,
                problem: format!("{} is not a grade decision", header.kind),
            });
        }
        decision_of(index, &content)
    }

    /// The records and grade decisions among a firm's entries at `indices` (from
    /// [`Registry::subject_indices`]), in log order, redacted records left out: what a plan's
    /// population and the high-risk warning read.
    #[allow(clippy::type_complexity)]
    pub(crate) fn records_and_decisions(
        &self,
        indices: &[u64],
    ) -> Result<(Vec<(u64, Record)>, Vec<(u64, Decision)>), RegistryError> {
        let (mut records, mut decisions) = (Vec::new(), Vec::new());
        for &i in indices {
            let Some((h, content)) = self.read_entry(i)? else { continue };
            if h.kind.starts_with("record/") {
                records.push((i, record_of(i, &content)?));
            } else if h.kind == "decision/grade" {
                decisions.push((i, decision_of(i, &content)?));
            }
        }
        Ok((records, decisions))
    }

    /// Every current grade of `uscc`, by model.
    ///
    /// # Errors
    ///
    /// Views failures, or a stored grade that does not decode.
    pub fn current_grades(&self, uscc: &str) -> Result<Vec<CurrentGrade>, RegistryError> {
        let mut out = Vec::new();
        for item in self.inner.views.grades.scan_prefix(crate::store::firm_prefix(uscc)) {
            let (_, v) = item?;
            out.push(
                serde_json::from_slice(&v)
                    .map_err(|e| RegistryError::Corrupt { tree: "grades", problem: e.to_string() })?,
            );
        }
        Ok(out)
    }

    /// Class counts per model: model hash → class label → firms.
    ///
    /// # Errors
    ///
    /// Views failures, or a stored grade that does not decode.
    pub fn grade_stats(&self) -> Result<BTreeMap<String, BTreeMap<String, u64>>, RegistryError> {
        let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for item in self.inner.views.grades.iter() {
            let (_, v) = item?;
            let g: CurrentGrade = serde_json::from_slice(&v)
                .map_err(|e| RegistryError::Corrupt { tree: "grades", problem: e.to_string() })?;
            *out.entry(g.model).or_default().entry(g.class).or_default() += 1;
        }
        Ok(out)
    }

    /// Scores one firm and returns the decision to log if the class or score changed. The
    /// caller holds the intake lock, so the decision cites every record before it.
    pub(crate) fn decide(
        &self,
        uscc: &str,
        hash: &str,
        pm: &PublishedModel,
        as_of: Date,
        trigger: Trigger,
        trigger_index: Option<u64>,
    ) -> Result<Option<Decision>, RegistryError> {
        self.decide_before(uscc, hash, pm, as_of, trigger, trigger_index, u64::MAX)
    }

    /// [`Registry::decide`] on the firm's entries below `position` only. Its decision cites every
    /// record of the firm as long as the firm has no entry at or after `position`; a full
    /// re-grade checks that under the intake lock before it appends (see [`Registry::regrade`]).
    #[allow(clippy::too_many_arguments)]
    fn decide_before(
        &self,
        uscc: &str,
        hash: &str,
        pm: &PublishedModel,
        as_of: Date,
        trigger: Trigger,
        trigger_index: Option<u64>,
        position: u64,
    ) -> Result<Option<Decision>, RegistryError> {
        let (records, repairs) = self.firm_scoring_before(uscc, position)?;
        let refs: Vec<(u64, &Record)> = records.iter().map(|s| (s.index, &s.record)).collect();
        let stopped = stop_dates(&refs, &repairs);
        let previous = self.current_grade(uscc, hash)?;
        let indices: Vec<u64> = records.iter().map(|s| s.index).collect();
        let scored: Vec<ScoredRecord> = records
            .into_iter()
            .map(|mut s| {
                s.stopped = stopped.get(&s.index).copied();
                s
            })
            .collect();
        let breakdown = pm.model.score(&scored, as_of, previous.as_ref().map(|p| p.class.as_str()));
        if previous.as_ref().is_some_and(|p| p.class == breakdown.class && p.score == breakdown.score) {
            return Ok(None);
        }
        Ok(Some(Decision {
            kind: DECISION_FORMAT.into(),
            subject: uscc.to_owned(),
            model: hash.to_owned(),
            model_index: pm.index,
            as_of,
            trigger,
            trigger_index,
            previous: previous.map(|p| p.class),
            records: indices,
            stopped,
            breakdown,
        }))
    }

    pub(crate) fn signed_decisions(&self, decisions: Vec<Decision>) -> Result<Vec<Prepared>, RegistryError> {
        let grader = self.grader()?;
        Ok(decisions
            .into_iter()
            .map(|d| {
                let envelope = Envelope::sign(DECISION_TYPE, &serde_json::to_vec(&d).expect("serialises"), &grader);
                Prepared::new(envelope, "decision/grade".into(), Some(d.subject))
            })
            .collect())
    }

    /// Re-grades the firms of newly appended records at once, for every general model whose
    /// triggers include the record's kind (动态调整). The caller holds the intake lock.
    /// Returns the decisions' indices.
    /// `also`: entries to append with the decisions (the batch's early warnings).
    pub(crate) async fn instant_regrade(
        &self,
        appended: &[(u64, String, String)],
        also: Vec<Prepared>,
    ) -> Result<Vec<u64>, RegistryError> {
        let models: Vec<(String, PublishedModel)> =
            self.models().into_iter().filter(|(_, pm)| pm.model.domain == "general").collect();
        if models.is_empty() || appended.is_empty() {
            return self.append_prepared(also).await;
        }
        let today = self.today();
        let mut decisions = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (index, kind, uscc) in appended.iter().rev() {
            for (hash, pm) in &models {
                // The newest trigger of a firm in the batch decides; one decision per firm.
                if pm.model.triggers.contains(kind) && seen.insert((uscc.clone(), hash.clone())) {
                    let trigger = match kind.as_str() {
                        "retraction" => Trigger::Retraction,
                        "abnormal_operations_removal" | "serious_dishonesty_removal" => Trigger::Repair,
                        _ => Trigger::NewRecord,
                    };
                    if let Some(d) = self.decide(uscc, hash, pm, today, trigger, Some(*index))? {
                        decisions.push(d);
                    }
                }
            }
        }
        let mut prepared = self.signed_decisions(decisions)?;
        prepared.extend(also);
        self.append_prepared(prepared).await
    }

    /// Re-grades one firm at once under every general model, for an upheld objection or an
    /// approved repair (the decision names that entry as its trigger). The caller holds the
    /// intake lock.
    pub(crate) async fn regrade_firm(
        &self,
        uscc: &str,
        trigger: Trigger,
        trigger_index: u64,
    ) -> Result<Vec<u64>, RegistryError> {
        let today = self.today();
        let mut decisions = Vec::new();
        for (hash, pm) in self.models().into_iter().filter(|(_, pm)| pm.model.domain == "general") {
            if let Some(d) = self.decide(uscc, &hash, &pm, today, trigger, Some(trigger_index))? {
                decisions.push(d);
            }
        }
        if decisions.is_empty() {
            return Ok(Vec::new());
        }
        let prepared = self.signed_decisions(decisions)?;
        self.append_prepared(prepared).await
    }

    /// Scores `firms` on the entries below `position` on every core, and signs each decision
    /// that changes a grade: `(decision, its signed entry)` in the order of `firms`. `done`
    /// counts the firms scored.
    pub(crate) fn score_all(
        &self,
        firms: &[String],
        o: &RegradeOrder,
        pm: &PublishedModel,
        order_index: u64,
        position: u64,
        done: &std::sync::atomic::AtomicU64,
    ) -> Result<(u64, Vec<(Decision, Prepared)>), RegistryError> {
        use std::sync::atomic::Ordering;
        let evaluated = std::sync::atomic::AtomicU64::new(0);
        let grader = self.grader()?;
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let next = std::sync::atomic::AtomicUsize::new(0);
        const CHUNK: usize = 256;
        // Each thread's decisions, with each firm's place in `firms`.
        type Part = Result<Vec<(usize, Decision, Prepared)>, RegistryError>;
        let parts: Vec<Part> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut out = Vec::new();
                        loop {
                            let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                            if start >= firms.len() {
                                return Ok(out);
                            }
                            for (i, uscc) in firms.iter().enumerate().skip(start).take(CHUNK) {
                                // A firm first seen at or after `position` is not graded by this run.
                                if self.subject_indices(uscc)?.first().is_none_or(|f| *f >= position) {
                                    continue;
                                }
                                evaluated.fetch_add(1, Ordering::Relaxed);
                                let decided = self.decide_before(
                                    uscc,
                                    &o.model,
                                    pm,
                                    o.as_of,
                                    Trigger::Scheduled,
                                    Some(order_index),
                                    position,
                                )?;
                                if let Some(d) = decided {
                                    let bytes = serde_json::to_vec(&d).expect("serialises");
                                    let envelope = Envelope::sign(DECISION_TYPE, &bytes, &grader);
                                    let p = Prepared::new(envelope, "decision/grade".into(), Some(d.subject.clone()));
                                    out.push((i, d, p));
                                }
                            }
                            done.fetch_add(CHUNK.min(firms.len() - start) as u64, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().expect("a scoring thread panicked")).collect()
        });
        let mut all = Vec::new();
        for part in parts {
            all.extend(part?);
        }
        all.sort_by_key(|(i, _, _)| *i);
        Ok((evaluated.into_inner(), all.into_iter().map(|(_, d, p)| (d, p)).collect()))
    }

    /// Scores one firm under `model` as of `as_of` without logging anything: the work of an
    /// instant re-grade before its append (used by `creditlog bench regrade`).
    ///
    /// # Errors
    ///
    /// [`RegistryError::NoModel`]; storage failures.
    pub fn score_firm(&self, uscc: &str, model: &str, as_of: Date) -> Result<Option<Decision>, RegistryError> {
        let pm = self.models().get(model).cloned().ok_or_else(|| RegistryError::NoModel(model.to_owned()))?;
        self.decide(uscc, model, &pm, as_of, Trigger::Override, None)
    }

    /// How many entries are about `uscc`.
    ///
    /// # Errors
    ///
    /// Views failures.
    pub fn history_len(&self, uscc: &str) -> Result<usize, RegistryError> {
        Ok(self.subject_indices(uscc)?.len())
    }

    /// Every USCC with at least one entry, in order.
    ///
    /// # Errors
    ///
    /// Views failures.
    pub fn firms(&self) -> Result<Vec<String>, RegistryError> {
        let mut out: Vec<String> = Vec::new();
        for item in self.inner.views.subjects.iter() {
            let (k, _) = item?;
            let end = k.iter().position(|b| *b == 0).unwrap_or(k.len());
            let uscc = String::from_utf8_lossy(&k[..end]);
            if out.last().map(String::as_str) != Some(&*uscc) {
                out.push(uscc.into_owned());
            }
        }
        Ok(out)
    }
}

/// The grade decision in an entry's content.
pub(crate) fn decision_of(index: u64, content: &EntryContent) -> Result<Decision, RegistryError> {
    let (payload, _) = content
        .envelope
        .decode(DECISION_TYPE)
        .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
    Decision::parse(&payload).map_err(|problem| RegistryError::Inconsistent { index, problem })
}

/// Signs a re-grading order with the grading authority's key: what `creditlog regrade` sends.
pub fn sign_order(model: &str, as_of: Date, key: &ed25519_dalek::SigningKey) -> Envelope {
    let order = RegradeOrder { kind: ORDER_FORMAT.into(), model: model.to_owned(), as_of };
    Envelope::sign(ORDER_TYPE, &serde_json::to_vec(&order).expect("serialises"), key)
}
