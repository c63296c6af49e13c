//! Flow 10, sanctions and interception (联合惩戒, 自动比对、自动拦截; DOMAIN §5): a department
//! imposes a sanction about a firm on an explicit basis, and may lift it early; other systems ask
//! whether the firm is restricted for a purpose on a day and keep the answer, with its proofs, as
//! evidence. Every rule is the verifier's ([`verifier::sanction`]: who may impose and lift, what
//! the basis may be and whether it still stands, whether a sanction is in force on a day); this
//! module appends the steps, keeps the sanctions view, answers checks and journals every check
//! for the firm to see.
//!
//! Answers are computed once per firm and checkpoint: the sanctions, whether each still stands,
//! and the proofs against the checkpoint are cached until the log grows past it (a check of a
//! firm with no sanction costs a look-up in the sanctions view and nothing else).

use crate::{Outcome, Registry, RegistryError};
use base64::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use verifier::authority::Payload;
use verifier::entry::{EntryContent, EntryHeader};
use verifier::envelope::Envelope;
use verifier::evidence::tlog_proof;
use verifier::identity::Principal;
use verifier::interception::{BasisProof, CheckAnswer, SanctionProof, SignerKey, Verdict, CHECK_FORMAT};
use verifier::sanction::{Measure, Standing, Status, Step, SANCTION_TYPE};
use verifier::Date;

/// The sanction step in an entry's content.
pub(crate) fn step_of(index: u64, content: &EntryContent) -> Result<Step, RegistryError> {
    let (payload, _) = content
        .envelope
        .decode(SANCTION_TYPE)
        .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
    Step::parse(&payload).map_err(|problem| RegistryError::Inconsistent { index, problem })
}

/// Whether a header is a sanction step.
pub(crate) fn is_sanction(header: &EntryHeader) -> bool {
    header.kind.starts_with("sanction/")
}

/// A sanction and where it stands on a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SanctionState {
    /// Its entry.
    pub index: u64,
    /// The sanction, as signed.
    pub sanction: Step,
    /// Where it stands on the day asked about.
    pub status: Status,
    /// The same, in one sentence.
    pub explanation: String,
}

/// One sanction of a firm with everything an answer shows of it, as of one checkpoint.
#[derive(Debug)]
struct Proven {
    index: u64,
    step: Step,
    standing: Standing,
    header: String,
    content: EntryContent,
    proof: String,
    signer: SignerKey,
    basis: Vec<BasisProof>,
}

/// A firm's sanctions as of one checkpoint.
#[derive(Debug)]
pub(crate) struct FirmSanctions {
    size: u64,
    checkpoint: Arc<str>,
    sanctions: Vec<Proven>,
}

/// Cached answers per firm (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct CheckCache {
    firms: std::sync::RwLock<HashMap<String, Arc<FirmSanctions>>>,
}

fn sanction_key(uscc: &str, index: u64) -> Vec<u8> {
    crate::store::subject_key(uscc, index)
}

impl Registry {
    /// Applies a sanction entry to the sanctions view (USCC, index of each imposed sanction).
    pub(crate) fn apply_sanction(&self, index: u64, content: &EntryContent) -> Result<(), RegistryError> {
        if let Step::Imposed { subject, .. } = step_of(index, content)? {
            self.inner.views.sanctions.insert(sanction_key(&subject, index), [])?;
        }
        Ok(())
    }

    /// Validates and appends one sanction step (imposed or lifted).
    ///
    /// # Errors
    ///
    /// Storage failures only; a refused step is an [`Outcome::Rejected`] naming the rule.
    pub async fn submit_sanction(&self, envelope: Envelope) -> Result<Outcome, RegistryError> {
        let _guard = self.inner.intake.lock().await;
        match self
            .append_step(
                envelope,
                SANCTION_TYPE,
                Step::parse,
                |s| Payload::Sanction(s),
                Step::subject,
                Step::header_kind,
            )
            .await?
        {
            Ok((index, _)) => Ok(Outcome::Appended { index }),
            Err(outcome) => Ok(outcome),
        }
    }

    /// Indices of the sanctions imposed on `uscc`, ascending.
    fn sanction_indices(&self, uscc: &str) -> Result<Vec<u64>, RegistryError> {
        let prefix = crate::store::firm_prefix(uscc);
        let mut out = Vec::new();
        for item in self.inner.views.sanctions.scan_prefix(&prefix) {
            let (k, _) = item?;
            out.push(crate::store::be_u64(&k[prefix.len()..], "sanctions")?);
        }
        Ok(out)
    }

    /// The sanctions imposed on `uscc` and where each stands on `on`, by the log as it is now.
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub fn sanctions_of(&self, uscc: &str, on: Date) -> Result<Vec<SanctionState>, RegistryError> {
        let history = crate::intake::LogHistory::new(self, self.inner.log.committed_size());
        let mut out = Vec::new();
        for index in self.sanction_indices(uscc)? {
            let Some((_, content)) = self.read_entry(index)? else { continue };
            let step = step_of(index, &content)?;
            let Step::Imposed { start, end, .. } = &step else { continue };
            let status = Standing::of(index, &step, &history).on(*start, *end, on);
            let explanation = status.explain(*start, *end);
            out.push(SanctionState { index, sanction: step, status, explanation });
        }
        Ok(out)
    }

    /// A firm's sanctions with their proofs against the newest checkpoint (cached per checkpoint).
    async fn proven_sanctions(&self, uscc: &str) -> Result<Arc<FirmSanctions>, RegistryError> {
        // A checkpoint covering every entry logged so far: a sanction just imposed is answered.
        let cp = self.inner.log.wait_for_checkpoint(self.inner.log.committed_size().max(1)).await?;
        if let Some(f) = self.inner.checks.firms.read().expect("lock").get(uscc) {
            if f.size == cp.size {
                return Ok(f.clone());
            }
        }
        let checkpoint: Arc<str> = String::from_utf8_lossy(&cp.note).into();
        // The log as the checkpoint shows it: nothing after it counts for this answer.
        let history = crate::intake::LogHistory::new(self, cp.size);
        let book = self.key_book();
        let proof = |i: u64| -> Result<String, RegistryError> {
            Ok(tlog_proof(i, &self.inner.log.inclusion_proof(i, cp.size)?, &checkpoint))
        };
        let mut sanctions = Vec::new();
        for index in self.sanction_indices(uscc)?.into_iter().filter(|i| *i < cp.size) {
            let bytes = self.inner.log.entry(index)?;
            let Some((header, content)) = self.open_entry(index, &bytes)? else { continue };
            let step = step_of(index, &content)?;
            let Step::Imposed { basis, .. } = &step else { continue };
            let key = book.keys.get(&header.author).ok_or_else(|| RegistryError::Inconsistent {
                index,
                problem: format!("signed by key {}, which the key book does not hold", header.author),
            })?;
            let signer = SignerKey {
                keyid: header.author.clone(),
                department: step.department().to_owned(),
                key: BASE64_STANDARD.encode(key.public),
                registered: key.registered,
            };
            let mut shown = Vec::new();
            for b in basis {
                let bytes = self.inner.log.entry(*b)?;
                let h = EntryHeader::parse(&bytes)
                    .map_err(|e| RegistryError::Inconsistent { index: *b, problem: e.to_string() })?;
                let department = match book.keys.get(&h.author).map(|k| &k.principal) {
                    Some(Principal::Department(code)) => code.clone(),
                    Some(p) => p.to_string(),
                    None => String::new(),
                };
                shown.push(BasisProof {
                    index: *b,
                    kind: h.kind,
                    department,
                    header: BASE64_STANDARD.encode(&bytes),
                    proof: proof(*b)?,
                });
            }
            sanctions.push(Proven {
                index,
                standing: Standing::of(index, &step, &history),
                step,
                header: BASE64_STANDARD.encode(&bytes),
                content,
                proof: proof(index)?,
                signer,
                basis: shown,
            });
        }
        let firm = Arc::new(FirmSanctions { size: cp.size, checkpoint, sanctions });
        let mut firms = self.inner.checks.firms.write().expect("lock");
        if firms.len() > 100_000 {
            firms.clear();
        }
        firms.insert(uscc.to_owned(), firm.clone());
        Ok(firm)
    }

    /// Answers an interception check: whether `uscc` is restricted for `purpose` on `on`, with
    /// the sanctions and their proofs; journals the check (who, purpose, day) for the firm.
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub async fn check(
        &self,
        uscc: &str,
        purpose: Measure,
        on: Date,
        caller: &Principal,
    ) -> Result<CheckAnswer, RegistryError> {
        let firm = self.proven_sanctions(uscc).await?;
        self.journal_read(uscc, caller, &format!("check {purpose} on {on}"))?;
        let (mut in_force, mut not_in_force) = (Vec::new(), Vec::new());
        for s in &firm.sanctions {
            let Step::Imposed { measures, start, end, .. } = &s.step else { continue };
            if !measures.contains(&purpose) {
                continue;
            }
            let status = s.standing.on(*start, *end, on);
            let shown = SanctionProof {
                index: s.index,
                explanation: status.explain(*start, *end),
                status,
                sanction: s.step.clone(),
                header: s.header.clone(),
                content: s.content.clone(),
                proof: s.proof.clone(),
                signer: s.signer.clone(),
                basis: s.basis.clone(),
            };
            if shown.status == Status::InForce {
                in_force.push(shown);
            } else {
                not_in_force.push(shown);
            }
        }
        Ok(CheckAnswer {
            kind: CHECK_FORMAT.into(),
            uscc: uscc.to_owned(),
            purpose,
            date: on,
            answer: if in_force.is_empty() { Verdict::Allowed } else { Verdict::Restricted },
            checked_at: crate::now(),
            checked_by: caller.to_string(),
            checkpoint: firm.checkpoint.to_string(),
            in_force,
            not_in_force,
        })
    }

    /// The interception checks made about `uscc` (who, for which purpose and day, when), oldest
    /// first: the entries of the read journal whose `what` is a check.
    ///
    /// # Errors
    ///
    /// Views database failures.
    pub fn checks_of(&self, uscc: &str) -> Result<Vec<crate::journal::Read>, RegistryError> {
        Ok(self.reads(uscc)?.into_iter().filter(|r| r.what.starts_with("check ")).collect())
    }
}
