//! The provincial side of the federation ([`verifier::federation`]): anchoring a city's
//! checkpoint as an entry signed by the grader, finding the anchors on the log, and proving one
//! against a provincial checkpoint.

use crate::pipeline::Prepared;
use crate::{Registry, RegistryError};
use base64::prelude::*;
use verifier::envelope::Envelope;
use verifier::evidence::tlog_proof;
use verifier::federation::{Anchor, AnchorProof, ANCHOR_KIND, ANCHOR_TYPE};

impl Registry {
    /// Appends `anchor` (a city checkpoint the caller checked) signed by the grader; its index.
    ///
    /// # Errors
    ///
    /// No grader key; storage failures.
    pub async fn append_anchor(&self, anchor: &Anchor) -> Result<u64, RegistryError> {
        let envelope = Envelope::sign(ANCHOR_TYPE, &serde_json::to_vec(anchor).expect("serialises"), &self.grader()?);
        let _intake = self.inner.intake.lock().await;
        Ok(self.append_prepared(vec![Prepared::new(envelope, ANCHOR_KIND.into(), None)]).await?[0])
    }

    /// Every anchor on the log, oldest first.
    ///
    /// # Errors
    ///
    /// Storage failures, or an anchor entry whose payload does not parse.
    pub fn anchors(&self) -> Result<Vec<(u64, Anchor)>, RegistryError> {
        let mut out = Vec::new();
        for index in 0..self.inner.log.committed_size() {
            let Some((header, content)) = self.read_entry(index)? else { continue };
            if header.kind != ANCHOR_KIND {
                continue;
            }
            let bad = |problem: String| RegistryError::Inconsistent { index, problem };
            let (payload, _) = content.envelope.decode(ANCHOR_TYPE).map_err(|e| bad(e.to_string()))?;
            out.push((index, Anchor::parse(&payload).map_err(bad)?.0));
        }
        Ok(out)
    }

    /// The anchor entry at `index` with its tlog-proof against the checkpoint `note` of `size`.
    ///
    /// # Errors
    ///
    /// Storage failures; an entry that is not an anchor.
    pub fn anchor_proof(&self, index: u64, size: u64, note: &str) -> Result<AnchorProof, RegistryError> {
        let bytes = self.inner.log.entry(index)?;
        let (header, content) = self
            .open_entry(index, &bytes)?
            .ok_or_else(|| RegistryError::Inconsistent { index, problem: "not a registry entry".into() })?;
        if header.kind != ANCHOR_KIND {
            return Err(RegistryError::Inconsistent {
                index,
                problem: format!("a {} entry, not an anchor", header.kind),
            });
        }
        let proof = self.inner.log.inclusion_proof(index, size)?;
        Ok(AnchorProof {
            index,
            header: BASE64_STANDARD.encode(&bytes),
            content,
            proof: tlog_proof(index, &proof, note),
        })
    }
}
