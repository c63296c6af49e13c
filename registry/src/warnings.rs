//! Early warnings (风险预警, seed 003: 监管+风险+信用): as records and specialised grades arrive, the
//! registry evaluates the rules of `rules/warnings.toml` for the firms concerned and raises a
//! warning, signed by the grader key, routed to the departments concerned; each acknowledges it
//! with what it did. Who may do what is [`verifier::warning`]'s.
//!
//! A rule raises a new warning only when a new entry makes it hold (the newest entry of its basis
//! is newer than that of the rule's last warning about the firm), so a firm is not warned twice
//! about the same facts.

use crate::pipeline::Prepared;
use crate::{Outcome, Registry, RegistryError};
use serde::Serialize;
use std::collections::BTreeSet;
use verifier::authority::Payload;
use verifier::entry::EntryContent;
use verifier::envelope::Envelope;
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

/// The rule a record may make hold, if any (the others need no evaluation).
pub(crate) fn watched(record: &Record) -> Option<WarningRule> {
    match record.fields() {
        RecordFields::AdministrativePenalty(f) if f.severity == Severity::Minor => Some(WarningRule::RepeatedMinor),
        RecordFields::VerifiedComplaint(f) if f.substantiated => Some(WarningRule::ComplaintSurge),
        RecordFields::CommitmentOutcome(f) if !f.kept => Some(WarningRule::BrokenCommitment),
        _ => None,
    }
}

/// The rules evaluated as records arrive (a specialised grade raises the other).
pub(crate) const RECORD_RULES: [WarningRule; 3] =
    [WarningRule::RepeatedMinor, WarningRule::ComplaintSurge, WarningRule::BrokenCommitment];

fn rule_byte(rule: WarningRule) -> u8 {
    match rule {
        WarningRule::RepeatedMinor => 0,
        WarningRule::HighRiskModels => 1,
        WarningRule::ComplaintSurge => 2,
        WarningRule::BrokenCommitment => 3,
    }
}

/// `q` USCC `\0` rule: the records that may make the rule hold for the firm.
fn watch_prefix(uscc: &str, rule: WarningRule) -> Vec<u8> {
    let mut k = vec![b'q'];
    k.extend_from_slice(uscc.as_bytes());
    k.push(0);
    k.push(rule_byte(rule));
    k
}

/// `q` USCC `\0` rule index (u64 BE) → the record's date (days since the epoch, i64 BE), then its
/// department.
pub(crate) fn watch_key(uscc: &str, rule: WarningRule, index: u64) -> Vec<u8> {
    let mut k = watch_prefix(uscc, rule);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// `l` USCC `\0` rule → the newest basis entry of the rule's last warning about the firm (u64 BE).
fn last_key(uscc: &str, rule: WarningRule) -> Vec<u8> {
    let mut k = vec![b'l'];
    k.extend_from_slice(uscc.as_bytes());
    k.push(0);
    k.push(rule_byte(rule));
    k
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
    pub(crate) async fn raise_warnings(
        &self,
        firms: &BTreeSet<String>,
        which: &[WarningRule],
    ) -> Result<Vec<u64>, RegistryError> {
        let prepared = self.prepare_warnings(firms, which)?;
        self.append_prepared(prepared).await
    }

    /// The warnings [`Registry::raise_warnings`] would append, signed, not appended.
    ///
    /// # Errors
    ///
    /// Storage failures, or no grader key.
    pub(crate) fn prepare_warnings(
        &self,
        firms: &BTreeSet<String>,
        which: &[WarningRule],
    ) -> Result<Vec<Prepared>, RegistryError> {
        if firms.is_empty() {
            return Ok(Vec::new());
        }
        let rules = WarningRules::shipped();
        let today = self.today();
        let domain = |h: &str| self.model_domain(h);
        let mut prepared = Vec::new();
        for uscc in firms {
            for &rule in which {
                let warning = if rule == WarningRule::HighRiskModels {
                    self.high_risk_warning(uscc, &rules, today, &domain)?
                } else {
                    self.record_rule_warning(uscc, rule, &rules, today)?
                };
                if let Some(w) = warning {
                    prepared.push(Prepared::new(w.sign(&self.grader()?), WARNING_KIND.into(), Some(uscc.clone())));
                }
            }
        }
        Ok(prepared)
    }

    /// The newest basis entry of `rule`'s last warning about `uscc`, if any.
    fn last_warned(&self, uscc: &str, rule: WarningRule) -> Result<Option<u64>, RegistryError> {
        match self.inner.views.warnings.get(last_key(uscc, rule))? {
            Some(v) => Ok(Some(crate::store::be_u64(&v, "warnings")?)),
            None => Ok(None),
        }
    }

    /// A warning under a record rule, from the watch view alone: the view holds exactly the live
    /// records that may make the rule hold, so the basis is those dated in the rule's window (the
    /// newest one for a broken commitment), as [`verifier::warning::evaluate`] finds it on the
    /// firm's records; only the basis records are read, for their departments. `None` if the
    /// rule does not hold, or no entry is newer than the last warning's basis.
    fn record_rule_warning(
        &self,
        uscc: &str,
        rule: WarningRule,
        rules: &WarningRules,
        today: verifier::Date,
    ) -> Result<Option<Warning>, RegistryError> {
        let (min, days) = match rule {
            WarningRule::RepeatedMinor => (rules.repeated_minor.min, rules.repeated_minor.days),
            WarningRule::ComplaintSurge => (rules.complaint_surge.min, rules.complaint_surge.days),
            WarningRule::BrokenCommitment => (1, rules.broken_commitment.days),
            WarningRule::HighRiskModels => return Ok(None),
        };
        let (from, to) = (today.days_since_epoch() - i64::from(days), today.days_since_epoch());
        let mut found: Vec<(u64, String)> = Vec::new();
        for item in self.inner.views.warnings.scan_prefix(watch_prefix(uscc, rule)) {
            let (k, v) = item?;
            let corrupt = || RegistryError::Corrupt {
                tree: "warnings",
                problem: "a watched record is not its date (8 bytes) and department".into(),
            };
            let day = i64::from_be_bytes(v.get(..8).ok_or_else(corrupt)?.try_into().map_err(|_| corrupt())?);
            if (from..=to).contains(&day) {
                let department = String::from_utf8(v[8..].to_vec()).map_err(|_| corrupt())?;
                found.push((crate::store::be_u64(&k[k.len() - 8..], "warnings")?, department));
            }
        }
        if rule == WarningRule::BrokenCommitment && found.len() > 1 {
            found.drain(..found.len() - 1);
        }
        let Some(&(newest, _)) = found.last() else { return Ok(None) };
        if found.len() < min || self.last_warned(uscc, rule)?.is_some_and(|l| newest <= l) {
            return Ok(None);
        }
        let basis: Vec<u64> = found.iter().map(|(i, _)| *i).collect();
        let departments: BTreeSet<String> = found.into_iter().map(|(_, d)| d).collect();
        Ok(Some(Warning {
            kind: WARNING_FORMAT.into(),
            subject: uscc.to_owned(),
            rule,
            basis,
            departments,
            date: today,
        }))
    }

    /// A warning under the high-risk rule, from the firm's records and decisions (read after a
    /// specialised re-grade, not at intake).
    fn high_risk_warning(
        &self,
        uscc: &str,
        rules: &WarningRules,
        today: verifier::Date,
        domain: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Warning>, RegistryError> {
        let rule = WarningRule::HighRiskModels;
        let (records, decisions) = self.records_and_decisions(&self.subject_indices(uscc)?)?;
        let firm = FirmEntries { records: &records, decisions: &decisions };
        let Some(basis) = evaluate(rule, rules, today, firm, domain) else { return Ok(None) };
        if self.last_warned(uscc, rule)?.is_some_and(|l| basis.last().is_some_and(|b| *b <= l)) {
            return Ok(None);
        }
        let departments = {
            let book = self.inner.book.read().expect("lock");
            route(rule, &basis, firm, &book, domain)
        };
        Ok(Some(Warning {
            kind: WARNING_FORMAT.into(),
            subject: uscc.to_owned(),
            rule,
            basis,
            departments,
            date: today,
        }))
    }

    /// Watches a record that may make a rule hold, or stops watching the record a retraction
    /// names (the watch view behind [`Registry::record_rule_warning`]), in the batch of the
    /// warnings tree that [`Registry::apply_all`] applies.
    pub(crate) fn watch(
        batch: &mut crate::store::Batch,
        uscc: &str,
        index: u64,
        watched: Option<&(WarningRule, verifier::Date, String)>,
        retracts: Option<u64>,
    ) {
        if let Some((rule, date, department)) = watched {
            let mut v = date.days_since_epoch().to_be_bytes().to_vec();
            v.extend_from_slice(department.as_bytes());
            batch.insert(watch_key(uscc, *rule, index), v);
        }
        if let Some(t) = retracts {
            for rule in RECORD_RULES {
                batch.remove(watch_key(uscc, rule, t));
            }
        }
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
            let newest = w.basis.last().copied().unwrap_or_default();
            let key = last_key(&w.subject, w.rule);
            let before = match self.inner.views.warnings.get(&key)? {
                Some(v) => crate::store::be_u64(&v, "warnings")?,
                None => 0,
            };
            self.inner.views.warnings.insert(key, newest.max(before).to_be_bytes())?;
        } else if header.kind == ACK_KIND {
            let a = ack_of(index, content)?;
            self.inner.views.warnings.insert(ack_key(a.warning_index, &a.department), index.to_be_bytes())?;
        }
        Ok(())
    }
}
