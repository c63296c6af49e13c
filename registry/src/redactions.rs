//! Retention and redaction (保存期限与删除): a department has the contents of its own records
//! deleted for good, under a rule of `rules/retention.toml` ([`verifier::redaction`] decides who
//! may, and when). The redaction is an entry about the firm; applying it removes what the views
//! hold of each record (its document number, its signed bytes' fingerprint), makes that durable,
//! then erases the content ([`crate::content::ContentStore::erase`]) and keeps a stub: the firm and
//! the salts that open the header's subject and chain commitments, so the firm's chain and every
//! proof stay valid.

use crate::pipeline::{dedup_key, record_of, RecordFacts};
use crate::store::Reference;
use crate::{Outcome, Registry, RegistryError, StoredRedacted};
use serde::Serialize;
use verifier::authority::Payload;
use verifier::entry::EntryContent;
use verifier::envelope::Envelope;
use verifier::redaction::{Redacted, Redaction, RetentionRules, REDACTION_KIND, REDACTION_TYPE};

/// A redaction, as listed for a firm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedactionView {
    /// Its entry.
    pub index: u64,
    /// The redaction, as signed.
    pub redaction: Redaction,
}

/// The redaction in an entry's content.
pub(crate) fn redaction_of(index: u64, content: &EntryContent) -> Result<Redaction, RegistryError> {
    let (payload, _) = content
        .envelope
        .decode(REDACTION_TYPE)
        .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
    Redaction::parse(&payload).map_err(|problem| RegistryError::Inconsistent { index, problem })
}

impl Registry {
    /// Validates and appends a department's redaction; once it is on the log, the contents it
    /// names are deleted.
    ///
    /// # Errors
    ///
    /// Storage failures only; a refused redaction is an [`Outcome::Rejected`] naming the rule.
    pub async fn submit_redaction(&self, envelope: Envelope) -> Result<Outcome, RegistryError> {
        let _guard = self.inner.intake.lock().await;
        match self
            .append_step(
                envelope,
                REDACTION_TYPE,
                Redaction::parse,
                |r| Payload::Redaction(r),
                |r| r.subject.as_str(),
                |_| REDACTION_KIND.to_owned(),
            )
            .await?
        {
            Ok((index, _)) => Ok(Outcome::Appended { index }),
            Err(outcome) => Ok(outcome),
        }
    }

    /// The redactions about a firm, oldest first.
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub fn redactions_of(&self, uscc: &str) -> Result<Vec<RedactionView>, RegistryError> {
        let mut out = Vec::new();
        for i in self.subject_indices(uscc)? {
            let Some((h, content)) = self.read_entry(i)? else { continue };
            if h.kind == REDACTION_KIND {
                out.push(RedactionView { index: i, redaction: redaction_of(i, &content)? });
            }
        }
        Ok(out)
    }

    /// The retention rules this registry applies.
    pub fn retention_rules(&self) -> RetentionRules {
        RetentionRules::shipped()
    }

    /// Applies the redaction at `index`: for each entry it names whose content is still stored,
    /// removes what the views hold of it, flushes the views, then erases the content. Run again
    /// after a crash, it finishes what is left.
    pub(crate) fn apply_redaction(&self, index: u64, content: &EntryContent) -> Result<(), RegistryError> {
        let r = redaction_of(index, content)?;
        let v = &self.inner.views;
        let mut stubs = Vec::new();
        for &t in &r.entries {
            let bytes = self.inner.log.entry(t)?;
            let Some((_, crate::Stored::Content(target))) = self.open_stored(t, &bytes)? else { continue };
            if let Ok(record) = record_of(t, &target) {
                let key = RecordFacts::of(&record).reference;
                if matches!(Reference::decode(v.references.get(&key)?.as_deref())?, Reference::Live(i) | Reference::Retracted(i) if i == t)
                {
                    v.references.remove(&key)?;
                }
            }
            let dedup = dedup_key(&target.envelope);
            if v.dedup.get(dedup)?.is_some_and(|i| i.as_ref() == t.to_be_bytes()) {
                v.dedup.remove(dedup)?;
            }
            // The record's row in the scoring view, zeroed in place and made durable.
            if let Some(s) = &self.inner.scoring {
                s.erase(t)?;
            }
            let stub = Redacted::of(&target, r.rule, index).ok_or_else(|| RegistryError::Inconsistent {
                index: t,
                problem: "a redacted entry is about no firm".into(),
            })?;
            stubs.push((t, verifier::leaf_hash(&bytes).0, stub));
        }
        if stubs.is_empty() {
            return Ok(());
        }
        // The views no longer name the records before their contents go: a crash in between
        // leaves nothing that points at a content that is gone.
        // (On a cluster the views' transaction commits them; the content goes first there.)
        self.flush()?;
        for (t, leaf, stub) in stubs {
            let bytes = serde_json::to_vec(&StoredRedacted { redacted: stub }).expect("serialises");
            self.inner.contents.erase(t, &leaf, &bytes)?;
        }
        Ok(())
    }
}
