//! The provincial side of the federation ([`verifier::federation`]): anchoring a city's
//! checkpoint as an entry signed by the grader, finding the anchors on the log, and proving one
//! against a provincial checkpoint.

use crate::pipeline::Prepared;
use crate::{Registry, RegistryError};
use base64::prelude::*;
use verifier::envelope::Envelope;
use verifier::evidence::tlog_proof;
use verifier::federation::{Anchor, AnchorProof, Cities, ANCHOR_KIND, ANCHOR_TYPE, CITIES_KIND, CITIES_TYPE};

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

    /// Appends the province's list of its cities, signed by the grader; its index.
    ///
    /// # Errors
    ///
    /// No grader key; storage failures.
    pub async fn append_cities(&self, cities: &Cities) -> Result<u64, RegistryError> {
        let envelope = Envelope::sign(CITIES_TYPE, &serde_json::to_vec(cities).expect("serialises"), &self.grader()?);
        let _intake = self.inner.intake.lock().await;
        Ok(self.append_prepared(vec![Prepared::new(envelope, CITIES_KIND.into(), None)]).await?[0])
    }

    /// Every anchor on the log, oldest first, and the newest list of cities.
    ///
    /// # Errors
    ///
    /// Storage failures, or an anchor or list entry whose payload does not parse.
    #[allow(clippy::type_complexity)]
    pub fn federation_entries(&self) -> Result<(Vec<(u64, Anchor)>, Option<(u64, Cities)>), RegistryError> {
        let mut anchors = Vec::new();
        let mut cities = None;
        for index in 0..self.inner.log.committed_size() {
            let Some((header, content)) = self.read_entry(index)? else { continue };
            let bad = |problem: String| RegistryError::Inconsistent { index, problem };
            if header.kind == ANCHOR_KIND {
                let (payload, _) = content.envelope.decode(ANCHOR_TYPE).map_err(|e| bad(e.to_string()))?;
                anchors.push((index, Anchor::parse(&payload).map_err(bad)?.0));
            } else if header.kind == CITIES_KIND {
                let (payload, _) = content.envelope.decode(CITIES_TYPE).map_err(|e| bad(e.to_string()))?;
                cities = Some((index, Cities::parse(&payload).map_err(bad)?));
            }
        }
        Ok((anchors, cities))
    }

    /// The anchor or city-list entry at `index` with its tlog-proof against the checkpoint
    /// `note` of `size`.
    ///
    /// # Errors
    ///
    /// Storage failures; an entry that is neither.
    pub fn anchor_proof(&self, index: u64, size: u64, note: &str) -> Result<AnchorProof, RegistryError> {
        let bytes = self.inner.log.entry(index)?;
        let (header, content) = self
            .open_entry(index, &bytes)?
            .ok_or_else(|| RegistryError::Inconsistent { index, problem: "not a registry entry".into() })?;
        if header.kind != ANCHOR_KIND && header.kind != CITIES_KIND {
            return Err(RegistryError::Inconsistent {
                index,
                problem: format!("a {} entry, not an anchor nor a list of cities", header.kind),
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
