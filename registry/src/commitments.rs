//! Flow 11, a firm's own commitments (信用承诺, seed 001 §三): the firm signs a commitment naming
//! the department that checks it and a due day; the department records the outcome as a
//! `commitment_outcome` record citing it (kept, or broken, which feeds grading). Who may do each
//! is [`verifier::authority`]'s; this module appends commitments and lists them with their
//! outcome, and the ones whose due day has passed unchecked as overdue, for the department.

use crate::{Outcome, Registry, RegistryError};
use serde::Serialize;
use verifier::authority::Payload;
use verifier::commitment::{Commitment, COMMITMENT_TYPE};
use verifier::entry::EntryContent;
use verifier::envelope::Envelope;
use verifier::record::RecordFields;
use verifier::Date;

/// A commitment and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitmentState {
    /// Its entry.
    pub index: u64,
    /// The commitment, as signed.
    pub commitment: Commitment,
    /// The outcome record's entry and whether it was kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<(u64, bool)>,
    /// `open`, `kept` or `broken`.
    pub status: &'static str,
    /// Due and not checked, as of the day asked about.
    pub overdue: bool,
}

/// The commitment in an entry's content.
pub(crate) fn commitment_of(index: u64, content: &EntryContent) -> Result<Commitment, RegistryError> {
    let (payload, _) = content
        .envelope
        .decode(COMMITMENT_TYPE)
        .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
    Commitment::parse(&payload).map_err(|problem| RegistryError::Inconsistent { index, problem })
}

impl Registry {
    /// Validates and appends a firm's commitment.
    ///
    /// # Errors
    ///
    /// Storage failures only; a refused commitment is an [`Outcome::Rejected`] naming the rule.
    pub async fn submit_commitment(&self, envelope: Envelope) -> Result<Outcome, RegistryError> {
        let _guard = self.inner.intake.lock().await;
        let (index, _c) = match self
            .append_step(
                envelope,
                COMMITMENT_TYPE,
                Commitment::parse,
                |c| Payload::Commitment(c),
                |c| c.subject.as_str(),
                |_| "commitment/made".to_owned(),
            )
            .await?
        {
            Ok(x) => x,
            Err(outcome) => return Ok(outcome),
        };
        Ok(Outcome::Appended { index })
    }

    /// The commitments a firm made, with their outcomes, as of `as_of`.
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub fn commitments_of(&self, uscc: &str, as_of: Date) -> Result<Vec<CommitmentState>, RegistryError> {
        let mut made = Vec::new();
        let mut outcomes = Vec::new();
        for i in self.subject_indices(uscc)? {
            let Some((h, content)) = self.read_entry(i)? else { continue };
            if h.kind == "commitment/made" {
                made.push((i, commitment_of(i, &content)?));
            } else if h.kind == "record/commitment_outcome" {
                if let RecordFields::CommitmentOutcome(f) = crate::pipeline::record_of(i, &content)?.fields() {
                    if let Some(ci) = f.commitment_index {
                        outcomes.push((ci, i, f.kept));
                    }
                }
            }
        }
        Ok(made
            .into_iter()
            .map(|(index, commitment)| {
                let outcome = outcomes.iter().find(|(ci, _, _)| *ci == index).map(|(_, i, kept)| (*i, *kept));
                let status = match outcome {
                    None => "open",
                    Some((_, true)) => "kept",
                    Some((_, false)) => "broken",
                };
                let overdue = outcome.is_none() && as_of > commitment.due;
                CommitmentState { index, commitment, outcome, status, overdue }
            })
            .collect())
    }

    /// Every firm's commitments checked by `department` (all departments if `None`), as of
    /// `as_of`.
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub fn commitments_checked_by(
        &self,
        department: Option<&str>,
        as_of: Date,
    ) -> Result<Vec<CommitmentState>, RegistryError> {
        let mut firms = std::collections::BTreeSet::new();
        for item in self.inner.views.commitments.iter() {
            let (_, v) = item?;
            firms.insert(String::from_utf8_lossy(&v).into_owned());
        }
        let mut out = Vec::new();
        for f in firms {
            out.extend(
                self.commitments_of(&f, as_of)?
                    .into_iter()
                    .filter(|c| department.is_none_or(|d| c.commitment.department == d)),
            );
        }
        Ok(out)
    }

    /// Applies a commitment entry to the commitments view (index → the firm).
    pub(crate) fn apply_commitment(&self, index: u64, content: &EntryContent) -> Result<(), RegistryError> {
        let c = commitment_of(index, content)?;
        self.inner.views.commitments.insert(index.to_be_bytes(), c.subject.as_bytes())?;
        Ok(())
    }
}
