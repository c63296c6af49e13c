//! Grading: published models, grade decisions as entries, instant and scheduled re-grading
//! (DOMAIN.md §1–§3, seed 000 第四). Scoring itself is `verifier::model`: the registry only
//! gathers the inputs from the log, so a court replays every decision with the verifier alone.

use crate::{Outcome, Prepared, Registry, RegistryError, Rejection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use verifier::date::Date;
use verifier::entry::{EntryContent, EntryHeader};
use verifier::envelope::{Envelope, DECISION_TYPE, MODEL_TYPE};
use verifier::identity::{Principal, Role};
use verifier::model::{Breakdown, Model, ScoredRecord};
use verifier::record::{Record, RecordFields};

/// The `type` of a grade decision payload.
pub const DECISION_FORMAT: &str = "creditlog.decision/v1";
/// The `type` of a re-grading run summary payload.
pub const RUN_FORMAT: &str = "creditlog.regrade/v1";

/// A model on the log.
#[derive(Debug, Clone)]
pub struct PublishedModel {
    /// Entry that published it.
    pub index: u64,
    /// The model.
    pub model: Arc<Model>,
}

/// Why a decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A scheduled full re-grade.
    Scheduled,
    /// A new record the model marks as a trigger.
    NewRecord,
    /// A credit repair.
    Repair,
    /// A retraction.
    Retraction,
    /// An upheld objection.
    Objection,
    /// A manual re-grade of one firm.
    Override,
}

/// A grade decision, as signed and logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Always [`DECISION_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The enterprise.
    pub subject: String,
    /// SHA-256 of the model file.
    pub model: String,
    /// Log index of the model's publication.
    pub model_index: u64,
    /// The as-of date.
    pub as_of: Date,
    /// Why.
    pub trigger: Trigger,
    /// The entry that triggered it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_index: Option<u64>,
    /// The class of the previous decision under this model, an input of the overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// Every record entry about the firm that scoring saw (in force or not), ascending; the
    /// replay uses exactly these, with the stop dates below.
    pub records: Vec<u64>,
    /// Record index → date from which a repair or retraction stopped it counting.
    #[serde(default)]
    pub stopped: BTreeMap<u64, Date>,
    /// The score breakdown down to each observation point.
    pub breakdown: Breakdown,
}

/// A re-grading run summary, so an auditor can tell the run happened and covered everyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSummary {
    /// Always [`RUN_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// SHA-256 of the model file.
    pub model: String,
    /// The as-of date.
    pub as_of: Date,
    /// Firms evaluated.
    pub evaluated: u64,
    /// Firms whose class or score changed (a decision was appended for each).
    pub changed: u64,
    /// The log size when the run started: every firm with an entry below it was evaluated.
    pub log_size: u64,
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

fn grade_key(uscc: &str, model: &str) -> Vec<u8> {
    let mut k = uscc.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(model.as_bytes());
    k
}

/// Today's date (UTC) from the registry's clock: scheduled and instant grades are as of today.
pub fn today() -> Date {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Date::from_days(i64::try_from(secs / 86_400).unwrap_or(0)).unwrap_or(Date::EPOCH)
}

/// The stop dates that retractions and list removals among `records` put on other records.
pub fn stop_dates(records: &[(u64, Record)]) -> BTreeMap<u64, Date> {
    let mut stopped = BTreeMap::new();
    // A removal that does not give the listing's index names its date: the listing of that kind
    // on that date is the one removed.
    let listed_on = |kind: verifier::record::RecordKind, date: Date| {
        records.iter().find(|(_, l)| l.kind() == kind && l.date() == date).map(|(i, _)| *i)
    };
    for (_, r) in records {
        let target = match r.fields() {
            RecordFields::Retraction(f) => Some(f.target_index),
            RecordFields::AbnormalOperationsRemoval(f) => f
                .listing_index
                .or_else(|| listed_on(verifier::record::RecordKind::AbnormalOperationsListing, f.listing_date)),
            RecordFields::SeriousDishonestyRemoval(f) => f
                .listing_index
                .or_else(|| listed_on(verifier::record::RecordKind::SeriousDishonestyListing, f.listing_date)),
            _ => None,
        };
        if let Some(t) = target {
            let d = r.date();
            stopped.entry(t).and_modify(|e: &mut Date| *e = (*e).min(d)).or_insert(d);
        }
    }
    stopped
}

/// Replays a logged decision with the verifier alone: the model, the records the decision cites
/// (as `(index, record)`), and its stop dates and previous class.
pub fn replay(model: &Model, records: &[(u64, Record)], decision: &Decision) -> Breakdown {
    let scored: Vec<ScoredRecord> = records
        .iter()
        .filter(|(i, _)| decision.records.binary_search(i).is_ok())
        .map(|(i, r)| ScoredRecord::new(*i, r.clone(), decision.stopped.get(i).copied()))
        .collect();
    model.score(&scored, decision.as_of, decision.previous.as_deref())
}

impl Registry {
    pub(crate) fn load_models(&self) -> Result<(), RegistryError> {
        let mut models = BTreeMap::new();
        for item in self.inner.views.models.iter() {
            let (hash, index) = item?;
            let index = u64::from_be_bytes(index.as_ref().try_into().unwrap_or([0; 8]));
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
            self.inner.views.models.insert(hash.as_bytes(), &index.to_be_bytes())?;
            self.inner.models.write().expect("lock").insert(hash, PublishedModel { index, model: Arc::new(model) });
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
            self.inner
                .views
                .grades
                .insert(grade_key(&d.subject, &d.model), serde_json::to_vec(&g).expect("serialises"))?;
        }
        Ok(())
    }

    /// Published models by hash.
    pub fn models(&self) -> BTreeMap<String, PublishedModel> {
        self.inner.models.read().expect("lock").clone()
    }

    /// Publishes a model signed by a grading authority (`POST /v1/models`).
    ///
    /// # Errors
    ///
    /// Storage failures; a bad model or signer is an [`Outcome::Rejected`].
    pub async fn publish_model(&self, envelope: Envelope) -> Result<Outcome, RegistryError> {
        let _guard = self.inner.intake.lock().await;
        let at = self.inner.log.committed_size();
        let dedup = crate::dedup_key(&envelope);
        if let Some(i) = self.inner.views.dedup.get(dedup)? {
            return Ok(Outcome::Duplicate { index: u64::from_be_bytes(i.as_ref().try_into().unwrap_or([0; 8])) });
        }
        let keyid = match envelope.keyid() {
            Ok(k) => k.to_owned(),
            Err(e) => return Ok(Outcome::Rejected(Rejection::new(400, "signatures", e.to_string()))),
        };
        let key = {
            let book = self.inner.book.read().expect("lock");
            match book.valid_at(&keyid, at) {
                Ok(k) if matches!(k.principal, Principal::Role(Role::GradingAuthority, _)) => k.verifying_key(),
                Ok(k) => {
                    return Ok(Outcome::Rejected(Rejection::new(
                        403,
                        "signatures[0].keyid",
                        format!("models are published by the grading authority; this key belongs to {}", k.principal),
                    )))
                }
                Err(e) => return Ok(Outcome::Rejected(Rejection::new(403, "signatures[0].keyid", e.to_string()))),
            }
        };
        let payload = match envelope.open(MODEL_TYPE, &key) {
            Ok(p) => p,
            Err(e) => return Ok(Outcome::Rejected(Rejection::new(400, "signatures[0].sig", e.to_string()))),
        };
        let model = match std::str::from_utf8(&payload)
            .map_err(|_| "the model file is not UTF-8".to_owned())
            .and_then(|t| Model::parse(t).map_err(|e| e.to_string()))
        {
            Ok(m) => m,
            Err(e) => return Ok(Outcome::Rejected(Rejection::new(400, "payload", e))),
        };
        let p = Prepared { author: keyid, envelope, kind: format!("model/{}", model.id), subject: None, dedup };
        let index = self.append_prepared(vec![p]).await?[0];
        Ok(Outcome::Appended { index })
    }

    /// The firm's records as scoring sees them: `(index, record)` in log order.
    fn firm_records(&self, uscc: &str) -> Result<Vec<(u64, Record)>, RegistryError> {
        let mut out = Vec::new();
        for index in self.subject_indices(uscc)? {
            let Some((header, content)) = self.read_entry(index)? else { continue };
            if !header.kind.starts_with("record/") {
                continue;
            }
            let (payload, _) = content
                .envelope
                .decode(verifier::envelope::RECORD_TYPE)
                .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
            let record =
                Record::parse(&payload).map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
            out.push((index, record));
        }
        Ok(out)
    }

    /// The current grade of `uscc` under `model`, if decided.
    ///
    /// # Errors
    ///
    /// Views failures.
    pub fn current_grade(&self, uscc: &str, model: &str) -> Result<Option<CurrentGrade>, RegistryError> {
        Ok(self.inner.views.grades.get(grade_key(uscc, model))?.and_then(|v| serde_json::from_slice(&v).ok()))
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
        let (payload, _) = content
            .envelope
            .decode(DECISION_TYPE)
            .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
        serde_json::from_slice(&payload).map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })
    }

    /// Every current grade of `uscc`, by model.
    ///
    /// # Errors
    ///
    /// Views failures.
    pub fn current_grades(&self, uscc: &str) -> Result<Vec<CurrentGrade>, RegistryError> {
        let mut prefix = uscc.as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        for item in self.inner.views.grades.scan_prefix(&prefix) {
            let (_, v) = item?;
            if let Ok(g) = serde_json::from_slice(&v) {
                out.push(g);
            }
        }
        Ok(out)
    }

    /// Class counts per model: model hash → class label → firms.
    ///
    /// # Errors
    ///
    /// Views failures.
    pub fn grade_stats(&self) -> Result<BTreeMap<String, BTreeMap<String, u64>>, RegistryError> {
        let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for item in self.inner.views.grades.iter() {
            let (_, v) = item?;
            if let Ok(g) = serde_json::from_slice::<CurrentGrade>(&v) {
                *out.entry(g.model).or_default().entry(g.class).or_default() += 1;
            }
        }
        Ok(out)
    }

    /// Scores one firm and returns the decision to log if the class or score changed.
    fn decide(
        &self,
        uscc: &str,
        hash: &str,
        pm: &PublishedModel,
        as_of: Date,
        trigger: Trigger,
        trigger_index: Option<u64>,
    ) -> Result<Option<Decision>, RegistryError> {
        let records = self.firm_records(uscc)?;
        let stopped = stop_dates(&records);
        let previous = self.current_grade(uscc, hash)?;
        let scored: Vec<ScoredRecord> =
            records.iter().map(|(i, r)| ScoredRecord::new(*i, r.clone(), stopped.get(i).copied())).collect();
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
            records: records.iter().map(|(i, _)| *i).collect(),
            stopped,
            breakdown,
        }))
    }

    fn signed_decisions(&self, decisions: Vec<Decision>) -> Result<Vec<Prepared>, RegistryError> {
        let signer = self.inner.signer.read().expect("lock").clone().ok_or_else(|| {
            RegistryError::Forbidden(
                "this server does not hold the operator key, so it cannot sign grade decisions".into(),
            )
        })?;
        Ok(decisions
            .into_iter()
            .map(|d| {
                let envelope = Envelope::sign(DECISION_TYPE, &serde_json::to_vec(&d).expect("serialises"), &signer);
                Prepared {
                    author: verifier::envelope::key_id(&signer.verifying_key()),
                    dedup: crate::dedup_key(&envelope),
                    envelope,
                    kind: "decision/grade".into(),
                    subject: Some(d.subject),
                }
            })
            .collect())
    }

    /// Re-grades the firms of newly appended records at once, for every general model whose
    /// triggers include the record's kind (动态调整). Returns the decisions' indices.
    pub(crate) async fn instant_regrade(&self, appended: &[(u64, String, String)]) -> Result<Vec<u64>, RegistryError> {
        let models: Vec<(String, PublishedModel)> =
            self.models().into_iter().filter(|(_, pm)| pm.model.domain == "general").collect();
        if models.is_empty() || self.inner.signer.read().expect("lock").is_none() {
            return Ok(Vec::new());
        }
        let today = today();
        let mut decisions = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (index, kind, uscc) in appended {
            for (hash, pm) in &models {
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
        if decisions.is_empty() {
            return Ok(Vec::new());
        }
        let prepared = self.signed_decisions(decisions)?;
        let _guard = self.inner.intake.lock().await;
        self.append_prepared(prepared).await
    }

    /// A full re-grade of every firm on the log under `model` as of `as_of`: a decision for each
    /// firm whose class or score changed, then a run summary. `progress` is called with
    /// (done, total) as firms are evaluated.
    ///
    /// # Errors
    ///
    /// [`RegistryError::NoModel`] for an unknown model; storage failures.
    pub async fn regrade(
        &self,
        model: &str,
        as_of: Date,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<(RunSummary, u64), RegistryError> {
        let pm = self.models().get(model).cloned().ok_or_else(|| RegistryError::NoModel(model.to_owned()))?;
        let _guard = self.inner.intake.lock().await;
        let log_size = self.inner.log.committed_size();
        let firms = self.firms()?;
        let total = firms.len() as u64;
        let mut decisions = Vec::new();
        for (done, uscc) in firms.iter().enumerate() {
            if let Some(d) = self.decide(uscc, model, &pm, as_of, Trigger::Scheduled, None)? {
                decisions.push(d);
            }
            if done % 1000 == 0 {
                progress(done as u64, total);
            }
        }
        progress(total, total);
        let changed = decisions.len() as u64;
        let mut prepared = self.signed_decisions(decisions)?;
        let summary =
            RunSummary { kind: RUN_FORMAT.into(), model: model.to_owned(), as_of, evaluated: total, changed, log_size };
        let signer = self.inner.signer.read().expect("lock").clone().expect("checked by signed_decisions");
        let envelope = Envelope::sign(DECISION_TYPE, &serde_json::to_vec(&summary).expect("serialises"), &signer);
        prepared.push(Prepared {
            author: verifier::envelope::key_id(&signer.verifying_key()),
            dedup: crate::dedup_key(&envelope),
            envelope,
            kind: "decision/regrade_run".into(),
            subject: None,
        });
        let indices = self.append_prepared(prepared).await?;
        Ok((summary, *indices.last().expect("the summary")))
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

    /// Every USCC with at least one entry, in order.
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
