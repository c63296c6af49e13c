//! The one read policy (invariant 7; DOMAIN §8): who may read which entry, history, grade and
//! decision.
//!
//! | what | who |
//! | --- | --- |
//! | public identity entries (registrations of departments and role keys, rotations, revocations), models, re-grading orders and run summaries | anyone |
//! | an entry's content | its author department (any key of it), its subject enterprise, auditors, courts |
//! | a firm's whole history, its evidence bundle, its full decisions | the firm itself, auditors, courts (and the grading authority for decisions) |
//! | a firm's class and score, without the decision's list of entries | departments, the grading authority, auditors, courts, the firm itself |
//! | the class distribution of all firms | departments, the grading authority, auditors, courts |
//! | the journal of who read a firm's class, decisions or history | the firm itself, auditors, courts |
//! | objections, repairs and commitments | the firm itself; the department each is routed to; all of them for the grading authority, auditors and courts |

use crate::{EntryView, Registry, RegistryError, Stored};
use base64::prelude::*;
use verifier::entry::EntryHeader;
use verifier::identity::{Principal, Role};

/// How much of a firm's grading a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradeView {
    /// The full decision, with the entries it cites.
    Full,
    /// Class and score only: the decision's list of entries would tell a department which log
    /// entries are about the firm.
    ClassOnly,
}

/// Whether `caller` is an auditor or a court.
pub fn is_overseer(caller: &Principal) -> bool {
    matches!(caller, Principal::Role(Role::Auditor | Role::Court, _))
}

/// Whether `caller` sees every firm's objections, repairs and commitments (the grading
/// authority, auditors, courts); a department sees those routed to it, a firm its own.
pub fn sees_all_procedures(caller: &Principal) -> bool {
    is_overseer(caller) || matches!(caller, Principal::Role(Role::GradingAuthority, _))
}

/// What of `uscc`'s grades `caller` may see, or why not.
///
/// # Errors
///
/// [`RegistryError::Forbidden`] for the public, other enterprises and keys of no supervising role.
pub fn grade_view(caller: &Principal, uscc: &str) -> Result<GradeView, RegistryError> {
    match caller {
        Principal::Enterprise(u) if u == uscc => Ok(GradeView::Full),
        Principal::Role(Role::Auditor | Role::Court | Role::GradingAuthority, _) => Ok(GradeView::Full),
        Principal::Department(_) => Ok(GradeView::ClassOnly),
        _ => Err(RegistryError::Forbidden(format!(
            "risk classes are internal to supervising departments and visible to the enterprise itself (DOMAIN §8); {caller} may not read those of {uscc}"
        ))),
    }
}

/// Whether `caller` may read the class distribution of all firms: those who may read a firm's
/// class in their work (not the operator, who runs the server and grades no one).
///
/// # Errors
///
/// [`RegistryError::Forbidden`] otherwise.
pub fn may_read_class_statistics(caller: &Principal) -> Result<(), RegistryError> {
    match caller {
        Principal::Department(_) | Principal::Role(Role::Auditor | Role::Court | Role::GradingAuthority, _) => Ok(()),
        _ => Err(RegistryError::Forbidden(format!(
            "the class distribution is internal to supervising departments, the grading authority, auditors and courts (DOMAIN §8); {caller} may not read it"
        ))),
    }
}

/// Whether `caller` may read `uscc`'s whole history and evidence bundle.
///
/// # Errors
///
/// [`RegistryError::Forbidden`] otherwise.
pub fn may_read_history(caller: &Principal, uscc: &str) -> Result<(), RegistryError> {
    match caller {
        Principal::Enterprise(u) if u == uscc => Ok(()),
        c if is_overseer(c) => Ok(()),
        _ => Err(RegistryError::Forbidden(format!(
            "a firm's whole history goes to the firm itself, auditors and courts; {caller} may not read that of {uscc}"
        ))),
    }
}

impl Registry {
    /// Whether `caller` may read the content of an entry.
    pub(crate) fn entitled(&self, caller: Option<&Principal>, header: &EntryHeader, subject: Option<&str>) -> bool {
        let public_kind = header.kind.starts_with("identity/")
            || header.kind.starts_with("model/")
            || header.kind.starts_with("order/")
            || header.kind == "decision/regrade_run"
            || header.kind == verifier::completeness::HEADS_KIND
            || header.kind == verifier::federation::ANCHOR_KIND
            || header.kind == verifier::federation::CITIES_KIND;
        if public_kind && subject.is_none() {
            return true;
        }
        let Some(caller) = caller else { return false };
        match caller {
            c if is_overseer(c) => true,
            Principal::Enterprise(u) => subject == Some(u.as_str()),
            Principal::Department(code) => {
                // Any key of the department that authored it, including keys rotated out since.
                let book = self.inner.book.read().expect("lock");
                book.keys.get(&header.author).is_some_and(|k| k.principal == Principal::Department(code.clone()))
            }
            _ => false,
        }
    }

    /// The content of entry `index`, for an entitled caller.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Forbidden`] if the caller is not entitled; [`RegistryError::NoEntry`].
    pub fn entry(&self, index: u64, caller: Option<&Principal>) -> Result<EntryView, RegistryError> {
        let size = self.inner.log.committed_size();
        if index >= size {
            return Err(RegistryError::NoEntry { index, size });
        }
        let bytes = self.inner.log.entry(index)?;
        let (header, stored) = self.open_stored(index, &bytes)?.ok_or_else(|| {
            RegistryError::Forbidden(format!("entry {index} is a raw ledger entry with no registry content"))
        })?;
        if !self.entitled(caller, &header, stored.subject()) {
            return Err(RegistryError::Forbidden(format!(
                "entry {index} is private: only its author department, its subject enterprise, auditors and courts may read it (信息安全)"
            )));
        }
        self.entry_view(index, &bytes, stored)
    }

    fn entry_view(&self, index: u64, bytes: &[u8], stored: Stored) -> Result<EntryView, RegistryError> {
        let (content, redacted) = match stored {
            Stored::Content(c) => (Some(c), None),
            Stored::Redacted(r) => (None, Some(r)),
        };
        Ok(EntryView {
            index,
            header: BASE64_STANDARD.encode(bytes),
            content,
            redacted,
            disputed_by: self.disputed_by(index)?,
        })
    }

    /// Every entry about enterprise `uscc` that `caller` may read, oldest first: the whole
    /// history for the firm, auditors and courts; a department's own entries for a department.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Forbidden`] for callers with no right to this history.
    pub fn history(&self, uscc: &str, caller: &Principal) -> Result<Vec<EntryView>, RegistryError> {
        let whole = match caller {
            Principal::Department(_) => false,
            c => {
                may_read_history(c, uscc)?;
                true
            }
        };
        if whole && is_overseer(caller) {
            self.journal_read(uscc, caller, "history")?;
        }
        let mut out = Vec::new();
        for index in self.subject_indices(uscc)? {
            let bytes = self.inner.log.entry(index)?;
            let (header, stored) = self.open_stored(index, &bytes)?.ok_or_else(|| RegistryError::Inconsistent {
                index,
                problem: "indexed but not a registry entry".into(),
            })?;
            if whole || self.entitled(Some(caller), &header, stored.subject()) {
                out.push(self.entry_view(index, &bytes, stored)?);
            }
        }
        Ok(out)
    }
}
