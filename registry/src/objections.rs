//! Flow 8, objections (异议, DOMAIN §6): a firm contests a record or decision about it, or reports
//! a missing record; the department that produced it (for a decision, the grading authority)
//! accepts and resolves. Who may take each step is [`verifier::authority`]'s (the same rules the
//! offline verifier applies); this module appends the steps, keeps the objections view, counts
//! the deadlines in working days ([`verifier::calendar`], rules in `rules/objections.toml`), marks
//! contested records as disputed while an objection is open, and re-grades the firm at once when
//! an objection is upheld.

use crate::store::be_u64;
use crate::{Outcome, Registry, RegistryError};
use serde::{Deserialize, Serialize};
use verifier::authority::{Payload, Routed};
use verifier::entry::{EntryContent, EntryHeader};
use verifier::envelope::Envelope;
use verifier::identity::Principal;
use verifier::objection::{Grounds, Omission, Step, OBJECTION_TYPE};
use verifier::Date;

/// The shipped deadlines (`rules/objections.toml`).
pub const RULES: &str = include_str!("../../rules/objections.toml");

/// Objection deadlines in working days.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectionRules {
    /// Working days from the day the objection is logged to the last day to accept it.
    pub accept_working_days: u32,
    /// Working days from the day of acceptance to the last day to resolve it.
    pub resolve_working_days: u32,
    /// Where the figures come from.
    pub source: String,
}

impl ObjectionRules {
    /// The shipped rules.
    ///
    /// # Panics
    ///
    /// Never: the shipped file is tested.
    pub fn shipped() -> Self {
        toml::from_str(RULES).expect("rules/objections.toml parses")
    }
}

/// Where an objection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Filed, not yet accepted or refused.
    AwaitingAcceptance,
    /// Acceptance refused (不予受理): closed.
    AcceptanceRefused,
    /// Accepted, being verified.
    UnderReview,
    /// Upheld: the record was corrected or retracted (or the missing one added).
    Upheld,
    /// Rejected, with the reason.
    Rejected,
}

impl Status {
    /// Whether the contested record is disputed while the objection stands so.
    pub fn is_open(self) -> bool {
        matches!(self, Status::AwaitingAcceptance | Status::UnderReview)
    }
}

/// A step taken on an objection, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepView {
    /// Its entry.
    pub index: u64,
    /// The day it states.
    pub date: Date,
    /// The reason given, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a resolution: the correction cited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correction_index: Option<u64>,
}

/// An objection and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectionState {
    /// The entry that filed it.
    pub index: u64,
    /// The firm.
    pub subject: String,
    /// The record or decision contested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_index: Option<u64>,
    /// The record reported missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub omission: Option<Omission>,
    /// Why.
    pub grounds: Grounds,
    /// The firm's account.
    pub statement: String,
    /// Who must answer.
    pub routed_to: String,
    /// The local date it was logged (deadlines count from it).
    pub logged: Date,
    /// Last day to accept or refuse it.
    pub accept_by: Date,
    /// Last day to resolve it, once accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolve_by: Option<Date>,
    /// Whether a deadline was counted into a year without a published holiday calendar.
    pub provisional: bool,
    /// Acceptance (or its refusal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<StepView>,
    /// Resolution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<StepView>,
    /// Where it stands.
    pub status: Status,
    /// Whether the step due is late as of the day asked about.
    pub overdue: bool,
    #[serde(skip)]
    routed: Option<Routed>,
}

impl ObjectionState {
    /// Whether `caller` must answer this objection.
    pub fn is_routed_to(&self, caller: &Principal) -> bool {
        self.routed.as_ref().is_some_and(|r| r.is(caller))
    }
}

/// `o` || objection index || step index: the objections view key of a step.
fn step_key(objection: u64, step: u64) -> Vec<u8> {
    let mut k = vec![b'o'];
    k.extend_from_slice(&objection.to_be_bytes());
    k.extend_from_slice(&step.to_be_bytes());
    k
}

/// `t` || target index || objection index: objections about an entry.
fn target_key(target: u64, objection: u64) -> Vec<u8> {
    let mut k = vec![b't'];
    k.extend_from_slice(&target.to_be_bytes());
    k.extend_from_slice(&objection.to_be_bytes());
    k
}

/// The objection step in an entry's content.
pub(crate) fn step_of(index: u64, content: &EntryContent) -> Result<Step, RegistryError> {
    let (payload, _) = content
        .envelope
        .decode(OBJECTION_TYPE)
        .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
    Step::parse(&payload).map_err(|problem| RegistryError::Inconsistent { index, problem })
}

impl Registry {
    /// Applies an objection entry to the objections view.
    pub(crate) fn apply_objection(&self, index: u64, content: &EntryContent) -> Result<(), RegistryError> {
        let step = step_of(index, content)?;
        let tree = &self.inner.views.objections;
        match (&step, step.objection_index()) {
            (Step::Filed { target_index, .. }, None) => {
                tree.insert(step_key(index, index), [])?;
                if let Some(t) = target_index {
                    tree.insert(target_key(*t, index), [])?;
                }
            }
            (_, Some(o)) => {
                tree.insert(step_key(o, index), [])?;
            }
            _ => {}
        }
        Ok(())
    }

    /// The steps of objection `objection` (its filing first), by index, before `before`.
    pub(crate) fn objection_step_indices(&self, objection: u64, before: u64) -> Result<Vec<u64>, RegistryError> {
        let mut prefix = vec![b'o'];
        prefix.extend_from_slice(&objection.to_be_bytes());
        let mut out = Vec::new();
        for item in self.inner.views.objections.scan_prefix(&prefix) {
            let (k, _) = item?;
            let i = be_u64(&k[9..], "objections")?;
            if i < before {
                out.push(i);
            }
        }
        Ok(out)
    }

    /// Validates and appends one objection step (signed by the firm, or by the department or
    /// grading authority it is routed to). An upheld resolution re-grades the firm at once.
    ///
    /// # Errors
    ///
    /// Storage failures only; a refused step is an [`Outcome::Rejected`] naming the rule.
    pub async fn submit_objection(&self, envelope: Envelope) -> Result<Outcome, RegistryError> {
        let guard = self.inner.intake.lock().await;
        let (index, step) = match self
            .append_step(
                envelope,
                OBJECTION_TYPE,
                Step::parse,
                |s| Payload::Objection(s),
                Step::subject,
                |s| format!("objection/{}", s.name()),
            )
            .await?
        {
            Ok(x) => x,
            Err(outcome) => return Ok(outcome),
        };
        if let Step::Resolved { outcome: verifier::objection::Outcome::Upheld, .. } = &step {
            // An upheld objection re-grades the firm at once (DOMAIN §6).
            if let Err(e) = self.regrade_firm(step.subject(), verifier::decision::Trigger::Objection, index).await {
                tracing::error!(error = %e, "re-grading after an upheld objection failed; the next scheduled run will grade the firm");
            }
        }
        drop(guard);
        Ok(Outcome::Appended { index })
    }

    /// Where the objection filed at `index` stands, as of `as_of` (for overdue).
    ///
    /// # Errors
    ///
    /// [`RegistryError::NoEntry`] if `index` is not an objection filing; storage failures.
    pub fn objection(&self, index: u64, as_of: Date) -> Result<ObjectionState, RegistryError> {
        let not_found = || RegistryError::NoEntry { index, size: self.inner.log.committed_size() };
        let (header, content) = self.read_entry(index)?.ok_or_else(not_found)?;
        if header.kind != "objection/filed" {
            return Err(not_found());
        }
        let filed = step_of(index, &content)?;
        let Step::Filed { subject, target_index, omission, grounds, statement, .. } = &filed else {
            return Err(not_found());
        };
        let book = self.key_book();
        let logged = book.jurisdiction.settings.local_date(header.time);
        let history = crate::intake::LogHistory::new(self, self.inner.log.committed_size());
        let routed = verifier::authority::routed(&filed, &history);
        let rules = &self.inner.objection_rules;
        let calendar = &self.inner.calendar;
        let accept_by = calendar.add_working_days(logged, rules.accept_working_days);
        let mut provisional = accept_by.provisional;
        let (mut acceptance, mut resolution, mut status) = (None, None, Status::AwaitingAcceptance);
        let mut resolve_by = None;
        for i in self.objection_step_indices(index, u64::MAX)? {
            if i == index {
                continue;
            }
            let (_, c) = self.read_entry(i)?.ok_or_else(not_found)?;
            match step_of(i, &c)? {
                Step::Accepted { accepted, reason, date, .. } => {
                    acceptance = Some(StepView { index: i, date, reason, correction_index: None });
                    if accepted {
                        status = Status::UnderReview;
                        let by = calendar.add_working_days(date, rules.resolve_working_days);
                        provisional |= by.provisional;
                        resolve_by = Some(by.date);
                    } else {
                        status = Status::AcceptanceRefused;
                    }
                }
                Step::Resolved { outcome, reason, correction_index, date, .. } => {
                    resolution = Some(StepView { index: i, date, reason: Some(reason), correction_index });
                    status = match outcome {
                        verifier::objection::Outcome::Upheld => Status::Upheld,
                        verifier::objection::Outcome::Rejected => Status::Rejected,
                    };
                }
                Step::Filed { .. } => {}
            }
        }
        let overdue = match status {
            Status::AwaitingAcceptance => as_of > accept_by.date,
            Status::UnderReview => resolve_by.is_some_and(|d| as_of > d),
            _ => false,
        };
        Ok(ObjectionState {
            index,
            subject: subject.clone(),
            target_index: *target_index,
            omission: omission.clone(),
            grounds: *grounds,
            statement: statement.clone(),
            routed_to: routed.as_ref().map_or_else(|| "unknown".into(), ToString::to_string),
            logged,
            accept_by: accept_by.date,
            resolve_by,
            provisional,
            acceptance,
            resolution,
            status,
            overdue,
            routed,
        })
    }

    /// Every objection filed, oldest first, as of `as_of`.
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub fn objections(&self, as_of: Date) -> Result<Vec<ObjectionState>, RegistryError> {
        let mut out = Vec::new();
        for item in self.inner.views.objections.scan_prefix([b'o']) {
            let (k, _) = item?;
            let (o, i) = (be_u64(&k[1..9], "objections")?, be_u64(&k[9..], "objections")?);
            if o == i {
                out.push(self.objection(o, as_of)?);
            }
        }
        Ok(out)
    }

    /// The objections about `uscc`, oldest first, as of `as_of`.
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub fn objections_about(&self, uscc: &str, as_of: Date) -> Result<Vec<ObjectionState>, RegistryError> {
        let mut out = Vec::new();
        for i in self.subject_indices(uscc)? {
            if let Some((h, _)) = self.read_entry(i)? {
                if h.kind == "objection/filed" {
                    out.push(self.objection(i, as_of)?);
                }
            }
        }
        Ok(out)
    }

    /// The open objection contesting entry `target`, if any: the entry is disputed (有异议).
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub fn disputed_by(&self, target: u64) -> Result<Option<u64>, RegistryError> {
        let mut prefix = vec![b't'];
        prefix.extend_from_slice(&target.to_be_bytes());
        let today = self.today();
        for item in self.inner.views.objections.scan_prefix(&prefix) {
            let (k, _) = item?;
            let o = be_u64(&k[9..], "objections")?;
            if self.objection(o, today)?.status.is_open() {
                return Ok(Some(o));
            }
        }
        Ok(None)
    }
}

/// Whether a header is an objection step (for the views).
pub(crate) fn is_objection(header: &EntryHeader) -> bool {
    header.kind.starts_with("objection/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rules_parse_and_cite_their_source() {
        let r = ObjectionRules::shipped();
        assert_eq!((r.accept_working_days, r.resolve_working_days), (5, 20));
        assert!(r.source.contains("DOMAIN.md §6"));
        let _ = verifier::calendar::Calendar::china();
    }
}
