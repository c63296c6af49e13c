//! Early warnings (风险预警, seed 003: 监管+风险+信用): as records and specialised grades arrive, the
//! registry evaluates the rules of `rules/warnings.toml` for the firms concerned and raises a
//! warning, signed by the grader key, routed to the departments concerned; each acknowledges it
//! with what it did. Who may do what is [`verifier::warning`]'s.
//!
//! A rule raises a new warning only when a new entry makes it hold (the newest entry of its basis
//! is newer than that of the rule's last warning about the firm), so a firm is not warned twice
//! about the same facts.

use crate::pipeline::{record_of, Prepared};
use crate::{Outcome, Registry, RegistryError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use verifier::authority::Payload;
use verifier::decision::Decision;
use verifier::entry::EntryContent;
use verifier::envelope::{Envelope, DECISION_TYPE};
use verifier::record::{Record, RecordFields, Severity};
use verifier::warning::{
    evaluate, route, Acknowledgement, FirmEntries, Warning, WarningRule, WarningRules, ACK_KIND, ACK_TYPE,
    WARNING_FORMAT, WARNING_KIND, WARNING_TYPE,
};

/// A warning and who answered it.
#[derive(Debug, Clone, Serialize)]
pub struct WarningState {
    /// Its entry.
    pub index: u64,
    /// The warning.
    pub warning: Warning,
    /// The rule's Chinese name.
    pub rule_zh: &'static str,
    /// The acknowledgements: entry, department, what it did, day.
    pub acknowledged: Vec<(u64, String, String, verifier::Date)>,
    /// The departments that have not acknowledged it yet.
    pub open_for: BTreeSet<String>,
}

pub(crate) fn warning_of(index: u64, content: &EntryContent) -> Result<Warning, RegistryError> {
    let (payload, _) = content
        .envelope
        .decode(WARNING_TYPE)
        .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
    Warning::parse(&payload).map_err(|problem| RegistryError::Inconsistent { index, problem })
}

fn ack_of(index: u64, content: &EntryContent) -> Result<Acknowledgement, RegistryError> {
    let (payload, _) =
        content.envelope.decode(ACK_TYPE).map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
    Acknowledgement::parse(&payload).map_err(|problem| RegistryError::Inconsistent { index, problem })
}

fn ack_key(warning: u64, department: &str) -> Vec<u8> {
    let mut k = vec![b'a'];
    k.extend_from_slice(&warning.to_be_bytes());
    k.extend_from_slice(department.as_bytes());
    k
}

fn raised_key(index: u64) -> Vec<u8> {
    let mut k = vec![b'r'];
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// Whether a record may make a warning rule hold (the others need no evaluation).
pub(crate) fn may_warn(record: &Record) -> bool {
    match record.fields() {
        RecordFields::AdministrativePenalty(f) => f.severity == Severity::Minor,
        RecordFields::VerifiedComplaint(f) => f.substantiated,
        RecordFields::CommitmentOutcome(f) => !f.kept,
        _ => false,
    }
}

impl Registry {
    /// The domain of a published model.
    pub(crate) fn model_domain(&self, hash: &str) -> Option<String> {
        self.models().get(hash).map(|pm| pm.model.domain.clone())
    }

    /// Evaluates the warning rules for `firms` as of today and appends the warnings that a new
    /// entry makes hold. The caller holds the intake lock. Returns their indices.
    ///
    /// # Errors
    ///
    /// Storage failures, or no grader key.
    pub(crate) async fn raise_warnings(&self, firms: &BTreeSet<String>) -> Result<Vec<u64>, RegistryError> {
        if firms.is_empty() {
            return Ok(Vec::new());
        }
        let rules = WarningRules::shipped();
        let today = self.today();
        let domain = |h: &str| self.model_domain(h);
        let mut prepared = Vec::new();
        for uscc in firms {
            let mut records: Vec<(u64, Record)> = Vec::new();
            let mut decisions: Vec<(u64, Decision)> = Vec::new();
            let mut last: BTreeMap<WarningRule, u64> = BTreeMap::new();
            for i in self.subject_indices(uscc)? {
                let Some((h, content)) = self.read_entry(i)? else { continue };
                if h.kind.starts_with("record/") {
                    records.push((i, record_of(i, &content)?));
                } else if h.kind == "decision/grade" {
                    let (payload, _) = content
                        .envelope
                        .decode(DECISION_TYPE)
                        .map_err(|e| RegistryError::Inconsistent { index: i, problem: e.to_string() })?;
                    decisions.push((
                        i,
                        Decision::parse(&payload)
                            .map_err(|problem| RegistryError::Inconsistent { index: i, problem })?,
                    ));
                } else if h.kind == WARNING_KIND {
                    let w = warning_of(i, &content)?;
                    let newest = w.basis.last().copied().unwrap_or_default();
                    last.entry(w.rule).and_modify(|n| *n = (*n).max(newest)).or_insert(newest);
                }
            }
            let firm = FirmEntries { records: &records, decisions: &decisions };
            for rule in WarningRule::ALL {
                let Some(basis) = evaluate(rule, &rules, today, firm, &domain) else { continue };
                if last.get(&rule).is_some_and(|n| basis.last().is_some_and(|b| b <= n)) {
                    continue;
                }
                let departments = {
                    let book = self.inner.book.read().expect("lock");
                    route(rule, &basis, firm, &book, &domain)
                };
                let w = Warning {
                    kind: WARNING_FORMAT.into(),
                    subject: uscc.clone(),
                    rule,
                    basis,
                    departments,
                    date: today,
                };
                prepared.push(Prepared::new(w.sign(&self.grader()?), WARNING_KIND.into(), Some(uscc.clone())));
            }
        }
        self.append_prepared(prepared).await
    }

    /// Validates and appends a department's acknowledgement of a warning.
    ///
    /// # Errors
    ///
    /// Storage failures only; a refused acknowledgement is an [`Outcome::Rejected`].
    pub async fn submit_acknowledgement(&self, envelope: Envelope) -> Result<Outcome, RegistryError> {
        let _guard = self.inner.intake.lock().await;
        match self
            .append_step(
                envelope,
                ACK_TYPE,
                Acknowledgement::parse,
                |a| Payload::Acknowledgement(a),
                |a| a.subject.as_str(),
                |_| ACK_KIND.to_owned(),
            )
            .await?
        {
            Ok((index, _)) => Ok(Outcome::Appended { index }),
            Err(outcome) => Ok(outcome),
        }
    }

    /// The warning at `index`, if that entry is one.
    pub(crate) fn warning_at(&self, index: u64) -> Option<Warning> {
        match self.read_entry(index).ok()?? {
            (h, content) if h.kind == WARNING_KIND => warning_of(index, &content).ok(),
            _ => None,
        }
    }

    /// The acknowledgements of the warning at `index`: (entry, department).
    pub(crate) fn acks_of(&self, index: u64) -> Result<Vec<(u64, String)>, RegistryError> {
        let mut prefix = vec![b'a'];
        prefix.extend_from_slice(&index.to_be_bytes());
        let mut out = Vec::new();
        for item in self.inner.views.warnings.scan_prefix(&prefix) {
            let (k, v) = item?;
            out.push((crate::store::be_u64(&v, "warnings")?, String::from_utf8_lossy(&k[prefix.len()..]).into_owned()));
        }
        Ok(out)
    }

    /// Every warning routed to `department` (all of them if `None`), open for it only if
    /// `open_only`; or those about `firm`.
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub fn warnings(
        &self,
        department: Option<&str>,
        firm: Option<&str>,
        open_only: bool,
    ) -> Result<Vec<WarningState>, RegistryError> {
        let mut out = Vec::new();
        for item in self.inner.views.warnings.scan_prefix([b'r']) {
            let (k, v) = item?;
            if firm.is_some_and(|f| f.as_bytes() != &v[..]) {
                continue;
            }
            let index = crate::store::be_u64(&k[1..], "warnings")?;
            let Some(warning) = self.warning_at(index) else { continue };
            if department.is_some_and(|d| !warning.departments.contains(d)) {
                continue;
            }
            let mut acknowledged = Vec::new();
            for (i, dept) in self.acks_of(index)? {
                if let Some((_, content)) = self.read_entry(i)? {
                    let a = ack_of(i, &content)?;
                    acknowledged.push((i, dept, a.action, a.date));
                }
            }
            let open_for: BTreeSet<String> = warning
                .departments
                .iter()
                .filter(|d| !acknowledged.iter().any(|(_, a, _, _)| a == *d))
                .cloned()
                .collect();
            if open_only && department.is_some_and(|d| !open_for.contains(d)) {
                continue;
            }
            if open_only && department.is_none() && open_for.is_empty() {
                continue;
            }
            out.push(WarningState { index, rule_zh: warning.rule.chinese_name(), warning, acknowledged, open_for });
        }
        Ok(out)
    }

    /// Applies a warning or acknowledgement entry to the warnings view.
    pub(crate) fn apply_warning(
        &self,
        index: u64,
        header: &verifier::entry::EntryHeader,
        content: &EntryContent,
    ) -> Result<(), RegistryError> {
        if header.kind == WARNING_KIND {
            let w = warning_of(index, content)?;
            self.inner.views.warnings.insert(raised_key(index), w.subject.as_bytes())?;
        } else if header.kind == ACK_KIND {
            let a = ack_of(index, content)?;
            self.inner.views.warnings.insert(ack_key(a.warning_index, &a.department), &index.to_be_bytes())?;
        }
        Ok(())
    }
}
