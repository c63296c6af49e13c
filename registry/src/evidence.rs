//! Evidence bundles (`docs/BUNDLE.md`): everything `creditlog verify` needs to check a firm's
//! history offline, built from the log. Verification itself is [`verifier::evidence`].
//!
//! A firm's bundle holds its whole chain (every entry about it, oldest first), every public
//! identity entry (so that the key book can be replayed: which key counted at which entry), the
//! models and re-grading orders its decisions cite, each with a C2SP tlog-proof against one
//! signed checkpoint that covers them all, and on request a consistency proof from an older tree
//! size the firm kept.

use crate::access::may_read_history;
use crate::{Registry, RegistryError};
use base64::prelude::*;
use std::collections::BTreeSet;
use verifier::evidence::{tlog_proof, Bundle, BundleEntry, ConsistencyStep, RootAt, BUNDLE_FORMAT};
use verifier::identity::Principal;

impl Registry {
    /// The evidence bundle of `uscc`'s history for `caller` (the firm, an auditor or a court).
    /// `upto`: only the chain up to and including that entry (a one-entry bundle), or up to the
    /// redaction of a record before it, which the bundle must carry; `since`: add a consistency
    /// proof from that older tree size.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Forbidden`] for other callers; storage failures.
    pub async fn bundle(
        &self,
        uscc: &str,
        caller: &Principal,
        upto: Option<u64>,
        since: Option<u64>,
    ) -> Result<Bundle, RegistryError> {
        may_read_history(caller, uscc)?;
        self.journal_read(uscc, caller, "bundle")?;
        let mut indices: BTreeSet<u64> = BTreeSet::new();
        let all = self.subject_indices(uscc)?;
        if let Some(u) = upto {
            if !all.contains(&u) {
                return Err(RegistryError::Forbidden(format!("entry {u} is not about {uscc}")));
            }
        }
        // A record before `upto` redacted since stands only with its redaction entry: the chain
        // then reaches that far.
        let mut upto = upto;
        if let Some(u) = upto {
            for &i in all.iter().filter(|i| **i <= u) {
                let bytes = self.inner.log.entry(i)?;
                if let Some((_, crate::Stored::Redacted(stub))) = self.open_stored(i, &bytes)? {
                    upto = upto.map(|u| u.max(stub.by));
                }
            }
        }
        let chain: Vec<u64> = all.into_iter().filter(|i| upto.is_none_or(|u| *i <= u)).collect();
        // Decisions cite models and orders: those entries come too.
        for &i in &chain {
            let Some((header, content)) = self.read_entry(i)? else { continue };
            if header.kind == "decision/grade" {
                let d = crate::grading::decision_of(i, &content)?;
                indices.insert(d.model_index);
                if let Some(t) = d.trigger_index {
                    indices.insert(t);
                }
            }
        }
        indices.extend(chain.iter().copied());
        // A whole history proves that nothing is left out at its end (verifier::completeness).
        let completeness = match upto {
            Some(_) => None,
            None => self.completeness_for(uscc, chain.last().copied()).await?,
        };
        if let Some(c) = &completeness {
            indices.insert(c.map_index);
            indices.insert(c.first_map_index);
        }
        let mut bundle = self.bundle_of(indices, Some(uscc), since, &[]).await?;
        bundle.completeness = completeness;
        Ok(bundle)
    }

    /// A bundle of the entries at `indices` and every public identity entry up to the newest of
    /// them (so that the key book can be replayed), each with its proof against one checkpoint
    /// that covers them all; `since`: a consistency proof from that older size; `roots`: the root
    /// hashes at these older sizes, each with its consistency proof.
    pub(crate) async fn bundle_of(
        &self,
        mut indices: BTreeSet<u64>,
        subject: Option<&str>,
        since: Option<u64>,
        roots: &[u64],
    ) -> Result<Bundle, RegistryError> {
        let last = indices.iter().max().copied().unwrap_or(0);
        for item in self.inner.views.identities.range(..=last.to_be_bytes()) {
            let (k, _) = item?;
            let i = crate::store::be_u64(&k, "identities")?;
            if let Some((_, content)) = self.read_entry(i)? {
                if content.subject.is_none() {
                    indices.insert(i);
                }
            }
        }
        let newest = indices.iter().max().map_or(1, |i| i + 1);
        let cp = self.inner.log.wait_for_checkpoint(newest).await?;
        let checkpoint = String::from_utf8_lossy(&cp.note).into_owned();
        let mut entries = Vec::with_capacity(indices.len());
        for i in indices {
            let bytes = self.inner.log.entry(i)?;
            let (_, stored) = self
                .open_stored(i, &bytes)?
                .ok_or_else(|| RegistryError::Inconsistent { index: i, problem: "not a registry entry".into() })?;
            let (content, redacted) = match stored {
                crate::Stored::Content(c) => (Some(c), None),
                crate::Stored::Redacted(r) => (None, Some(r)),
            };
            let proof = self.inner.log.inclusion_proof(i, cp.size)?;
            entries.push(BundleEntry {
                index: i,
                header: BASE64_STANDARD.encode(&bytes),
                content,
                redacted,
                proof: tlog_proof(i, &proof, &checkpoint),
            });
        }
        let b64 = |proof: Vec<verifier::Hash>| proof.iter().map(|h| BASE64_STANDARD.encode(h.0)).collect();
        let consistency = match since {
            Some(from) if from > 0 && from < cp.size => {
                vec![ConsistencyStep { from, proof: b64(self.inner.log.consistency_proof(from, cp.size)?) }]
            }
            _ => Vec::new(),
        };
        let mut at = Vec::new();
        for &size in roots.iter().filter(|s| **s > 0 && **s <= cp.size) {
            at.push(RootAt {
                size,
                root: BASE64_STANDARD.encode(self.inner.log.tree_hash(size)?.0),
                proof: if size == cp.size {
                    Vec::new()
                } else {
                    b64(self.inner.log.consistency_proof(size, cp.size)?)
                },
            });
        }
        Ok(Bundle {
            kind: BUNDLE_FORMAT.into(),
            subject: subject.map(str::to_owned),
            checkpoint,
            consistency,
            entries,
            roots: at,
            completeness: None,
        })
    }
}
