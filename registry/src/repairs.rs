//! Flow 9, credit repair (信用修复, DOMAIN §5): the firm applies with its integrity commitment and
//! proof of compliance; the department that made the penalty or listing records the credit
//! interview (信用约谈) and decides. Whether the repair may be approved is the verifier's
//! ([`verifier::authority`] with [`verifier::repair::RepairRules`], `rules/repair.toml`), so a
//! premature or ineligible application is refused at intake naming the rule and the earliest day
//! it could succeed. An approved repair stops the record from the day of the decision (every
//! later grade decision cites it) and re-grades the firm at once; the record stays on the log.

use crate::store::be_u64;
use crate::{Outcome, Registry, RegistryError};
use serde::Serialize;
use verifier::authority::Payload;
use verifier::decision::Repaired;
use verifier::entry::{EntryContent, EntryHeader};
use verifier::envelope::Envelope;
use verifier::repair::{Proof, Step, REPAIR_TYPE};
use verifier::Date;

/// A repair and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepairState {
    /// The application's entry.
    pub index: u64,
    /// The firm.
    pub subject: String,
    /// The record to repair.
    pub target_index: u64,
    /// The department that decides.
    pub department: String,
    /// The day of the application.
    pub applied: Date,
    /// The proof documents (by SHA-256).
    pub proofs: Vec<Proof>,
    /// The credit interview: its entry and day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interviewed: Option<(u64, Date)>,
    /// The decision: entry, day, approved, reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// `awaiting_interview`, `awaiting_decision`, `approved` or `refused`.
    pub status: &'static str,
}

/// A repair decision, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Its entry.
    pub index: u64,
    /// Its day: an approved repair stops the record from then.
    pub date: Date,
    /// Approved or refused.
    pub approved: bool,
    /// The reason.
    pub reason: String,
}

fn step_key(application: u64, step: u64) -> Vec<u8> {
    let mut k = application.to_be_bytes().to_vec();
    k.extend_from_slice(&step.to_be_bytes());
    k
}

/// The repair step in an entry's content.
pub(crate) fn step_of(index: u64, content: &EntryContent) -> Result<Step, RegistryError> {
    let (payload, _) = content
        .envelope
        .decode(REPAIR_TYPE)
        .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
    Step::parse(&payload).map_err(|problem| RegistryError::Inconsistent { index, problem })
}

/// Whether a header is a repair step.
pub(crate) fn is_repair(header: &EntryHeader) -> bool {
    header.kind.starts_with("repair/")
}

impl Registry {
    /// Applies a repair entry to the repairs view.
    pub(crate) fn apply_repair(&self, index: u64, content: &EntryContent) -> Result<(), RegistryError> {
        let step = step_of(index, content)?;
        let application = step.application_index().unwrap_or(index);
        self.inner.views.repairs.insert(step_key(application, index), [])?;
        Ok(())
    }

    /// The steps of the repair applied for at `application` (the application first), before
    /// `before`.
    pub(crate) fn repair_step_indices(&self, application: u64, before: u64) -> Result<Vec<u64>, RegistryError> {
        let mut out = Vec::new();
        for item in self.inner.views.repairs.scan_prefix(application.to_be_bytes()) {
            let (k, _) = item?;
            let i = be_u64(&k[8..], "repairs")?;
            if i < before {
                out.push(i);
            }
        }
        Ok(out)
    }

    /// The repair a `repair/decided` entry approves, if it approves one.
    pub(crate) fn approved_repair(
        &self,
        index: u64,
        content: &EntryContent,
    ) -> Result<Option<Repaired>, RegistryError> {
        let Step::Decided { approved: true, application_index, date, .. } = step_of(index, content)? else {
            return Ok(None);
        };
        let (_, application) = self.read_entry(application_index)?.ok_or(RegistryError::Inconsistent {
            index,
            problem: "the repair decision names no application on the log".into(),
        })?;
        match step_of(application_index, &application)? {
            Step::Applied { target_index, .. } => Ok(Some(Repaired { decided: index, target: target_index, date })),
            _ => Err(RegistryError::Inconsistent { index, problem: "the repair decision names no application".into() }),
        }
    }

    /// Validates and appends one repair step. An approval re-grades the firm at once.
    ///
    /// # Errors
    ///
    /// Storage failures only; a refused step is an [`Outcome::Rejected`] naming the rule.
    pub async fn submit_repair(&self, envelope: Envelope) -> Result<Outcome, RegistryError> {
        let guard = self.inner.intake.lock().await;
        let (index, step) = match self
            .append_step(
                envelope,
                REPAIR_TYPE,
                Step::parse,
                |s| Payload::Repair(s),
                Step::subject,
                |s| format!("repair/{}", s.name()),
            )
            .await?
        {
            Ok(x) => x,
            Err(outcome) => return Ok(outcome),
        };
        if let Step::Decided { approved: true, .. } = &step {
            // An approved repair re-grades the firm at once (DOMAIN §5).
            if let Err(e) = self.regrade_firm(step.subject(), verifier::decision::Trigger::Repair, index).await {
                tracing::error!(error = %e, "re-grading after an approved repair failed; the next scheduled run will grade the firm");
            }
        }
        drop(guard);
        Ok(Outcome::Appended { index })
    }

    /// Where the repair applied for at `index` stands.
    ///
    /// # Errors
    ///
    /// [`RegistryError::NoEntry`] if `index` is not a repair application; storage failures.
    pub fn repair(&self, index: u64) -> Result<RepairState, RegistryError> {
        let not_found = || RegistryError::NoEntry { index, size: self.inner.log.committed_size() };
        let (header, content) = self.read_entry(index)?.ok_or_else(not_found)?;
        if header.kind != "repair/applied" {
            return Err(not_found());
        }
        let Step::Applied { subject, target_index, proofs, date, .. } = step_of(index, &content)? else {
            return Err(not_found());
        };
        // The department that made the record (from its header's key once it is redacted).
        let history = crate::intake::LogHistory::new(self, self.inner.log.committed_size());
        let department = verifier::authority::History::prior(&history, target_index)
            .and_then(|p| p.record_department())
            .unwrap_or_default();
        let (mut interviewed, mut decision) = (None, None);
        for i in self.repair_step_indices(index, u64::MAX)? {
            if i == index {
                continue;
            }
            let (_, c) = self.read_entry(i)?.ok_or_else(not_found)?;
            match step_of(i, &c)? {
                Step::Interviewed { date, .. } => interviewed = Some((i, date)),
                Step::Decided { approved, reason, date, .. } => {
                    decision = Some(Decision { index: i, date, approved, reason });
                }
                Step::Applied { .. } => {}
            }
        }
        let status = match (&interviewed, &decision) {
            (_, Some(d)) if d.approved => "approved",
            (_, Some(_)) => "refused",
            (Some(_), None) => "awaiting_decision",
            (None, None) => "awaiting_interview",
        };
        Ok(RepairState {
            index,
            subject,
            target_index,
            department,
            applied: date,
            proofs,
            interviewed,
            decision,
            status,
        })
    }

    /// The repairs applied for by `uscc`, oldest first.
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub fn repairs_of(&self, uscc: &str) -> Result<Vec<RepairState>, RegistryError> {
        let mut out = Vec::new();
        for i in self.subject_indices(uscc)? {
            if let Some((h, _)) = self.read_entry(i)? {
                if h.kind == "repair/applied" {
                    out.push(self.repair(i)?);
                }
            }
        }
        Ok(out)
    }

    /// Every repair application, oldest first.
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub fn repairs(&self) -> Result<Vec<RepairState>, RegistryError> {
        let mut out = Vec::new();
        for item in self.inner.views.repairs.iter() {
            let (k, _) = item?;
            let (a, i) = (be_u64(&k[..8], "repairs")?, be_u64(&k[8..], "repairs")?);
            if a == i {
                out.push(self.repair(a)?);
            }
        }
        Ok(out)
    }
}
