//! The public entry header and the private content beside it (see `docs/FORMAT.md`).
//!
//! Every ledger entry is a header that reveals no record content and no enterprise identity:
//!
//! ```json
//! {"v":1,"kind":"record/administrative_penalty","time":1763845200,"author":"<key id>",
//!  "subject":"<base64>","content":"<base64>","chain":"<base64>","keys":12}
//! ```
//!
//! (`keys`: the index of the newest public identity entry before this one, see
//! [`EntryHeader::keys`].)
//!
//! with these commitments (`||` is concatenation, `u32be`/`u64be` big-endian lengths and
//! numbers, salts are 32 fresh random bytes per entry):
//!
//! ```text
//! subject = SHA-256("creditlog/v1/subject\0" || salt_subject || USCC)
//! content = SHA-256("creditlog/v1/content\0" || salt_content
//!                   || u32be(len payloadType) || payloadType || u32be(len payload) || payload
//!                   || u32be(len keyid) || keyid || signature)
//! chain   = SHA-256("creditlog/v1/chain\0" || salt_chain || USCC
//!                   || leaf hash of the previous entry about the same USCC (32 zero bytes if none))
//! ```
//!
//! The content (the envelope, the salts, the subject and the previous leaf hash) is stored beside
//! the log and shown only to those entitled; whoever holds it checks it against the header with
//! [`EntryContent::check`].

use crate::envelope::Envelope;
use base64::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The public header, exactly as stored in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryHeader {
    /// Format version, 1.
    pub v: u32,
    /// `record/<record kind>` or `identity/<action>`.
    pub kind: String,
    /// Intake time, seconds since 1970-01-01T00:00:00Z, set by the log.
    pub time: u64,
    /// Key id of the author's key.
    pub author: String,
    /// Commitment to the subject enterprise, base64; absent for entries about no enterprise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Commitment to the content, base64.
    pub content: String,
    /// Commitment to the previous entry about the same enterprise, base64; absent with `subject`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// Index of the newest public identity entry (an identity entry about no enterprise) before
    /// this one; absent if there is none. It publicly fixes which registrations, rotations and
    /// revocations preceded every entry, so a bundle cannot leave out a revocation unless the
    /// log itself carries a header that is provably false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<u64>,
}

/// The salts of one entry, base64 of 32 bytes each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Salts {
    /// For the subject commitment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// For the content commitment.
    pub content: String,
    /// For the chain commitment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
}

/// The private part of an entry: what the author signed, and what opens the commitments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryContent {
    /// The author's envelope, payload bytes exactly as signed.
    pub envelope: Envelope,
    /// The subject enterprise's USCC, if the entry is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Leaf hash of the header of the previous entry about the same enterprise, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_leaf: Option<String>,
    /// The salts.
    pub salts: Salts,
}

/// Why content does not match a header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The header is not the v1 JSON format.
    #[error("the entry header is malformed: {0}")]
    Header(String),
    /// A commitment does not open.
    #[error("the content does not match the header's {0} commitment: the content or the header was altered")]
    Mismatch(&'static str),
    /// The author named in the header differs from the envelope's key.
    #[error("the header names author key {header}, the envelope is signed by {envelope}")]
    Author {
        /// In the header.
        header: String,
        /// In the envelope.
        envelope: String,
    },
    /// A field that must be present with the subject is missing, or base64 is bad.
    #[error("the content is incomplete: {0}")]
    Incomplete(&'static str),
}

fn salt(b64: &str, what: &'static str) -> Result<[u8; 32], EntryError> {
    BASE64_STANDARD.decode(b64).ok().and_then(|s| s.try_into().ok()).ok_or(EntryError::Incomplete(what))
}

/// `SHA-256("creditlog/v1/subject\0" || salt || USCC)`.
pub fn subject_commitment(salt: &[u8; 32], uscc: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"creditlog/v1/subject\0");
    h.update(salt);
    h.update(uscc.as_bytes());
    h.finalize().into()
}

/// The content commitment; see the module documentation.
///
/// # Errors
///
/// If the envelope does not hold exactly one signature in base64.
pub fn content_commitment(salt: &[u8; 32], envelope: &Envelope) -> Result<[u8; 32], EntryError> {
    let payload = BASE64_STANDARD.decode(&envelope.payload).map_err(|_| EntryError::Incomplete("envelope payload"))?;
    let [sig] = envelope.signatures.as_slice() else { return Err(EntryError::Incomplete("exactly one signature")) };
    let signature = BASE64_STANDARD.decode(&sig.sig).map_err(|_| EntryError::Incomplete("signature"))?;
    let mut h = Sha256::new();
    h.update(b"creditlog/v1/content\0");
    h.update(salt);
    for part in [envelope.payload_type.as_bytes(), &payload, sig.keyid.as_bytes()] {
        h.update(u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        h.update(part);
    }
    h.update(&signature);
    Ok(h.finalize().into())
}

/// The chain commitment; see the module documentation.
pub fn chain_commitment(salt: &[u8; 32], uscc: &str, previous: Option<[u8; 32]>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"creditlog/v1/chain\0");
    h.update(salt);
    h.update(uscc.as_bytes());
    h.update(previous.unwrap_or([0u8; 32]));
    h.finalize().into()
}

impl EntryHeader {
    /// Parses a header from the exact bytes of a log entry.
    ///
    /// # Errors
    ///
    /// [`EntryError::Header`] if it is not a v1 header.
    pub fn parse(bytes: &[u8]) -> Result<Self, EntryError> {
        let h: Self = serde_json::from_slice(bytes).map_err(|e| EntryError::Header(e.to_string()))?;
        if h.v != 1 {
            return Err(EntryError::Header(format!("version {} is not 1", h.v)));
        }
        Ok(h)
    }

    /// The exact bytes to append to the log.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a header serialises")
    }
}

impl EntryContent {
    /// Builds the content and header for an envelope, with the caller's fresh salts.
    pub fn seal(
        envelope: Envelope,
        kind: String,
        time: u64,
        subject: Option<(&str, Option<[u8; 32]>)>,
        salts: [[u8; 32]; 3],
    ) -> Result<(EntryHeader, EntryContent), EntryError> {
        let author = envelope.keyid().map_err(|_| EntryError::Incomplete("exactly one signature"))?.to_owned();
        let content = content_commitment(&salts[1], &envelope)?;
        let b64 = |b: &[u8]| BASE64_STANDARD.encode(b);
        let (subject_c, chain_c, uscc, previous) = match subject {
            Some((uscc, prev)) => (
                Some(b64(&subject_commitment(&salts[0], uscc))),
                Some(b64(&chain_commitment(&salts[2], uscc, prev))),
                Some(uscc.to_owned()),
                prev,
            ),
            None => (None, None, None, None),
        };
        let header = EntryHeader {
            v: 1,
            kind,
            time,
            author,
            subject: subject_c,
            content: b64(&content),
            chain: chain_c,
            keys: None,
        };
        let with_subject = uscc.is_some();
        let content = EntryContent {
            envelope,
            subject: uscc,
            previous_leaf: previous.map(|p| b64(&p)),
            salts: Salts {
                subject: with_subject.then(|| b64(&salts[0])),
                content: b64(&salts[1]),
                chain: with_subject.then(|| b64(&salts[2])),
            },
        };
        Ok((header, content))
    }

    /// Checks that this content opens every commitment of `header`.
    ///
    /// # Errors
    ///
    /// [`EntryError`] naming the first commitment that does not open.
    pub fn check(&self, header: &EntryHeader) -> Result<(), EntryError> {
        let author = self.envelope.keyid().map_err(|_| EntryError::Incomplete("exactly one signature"))?;
        if author != header.author {
            return Err(EntryError::Author { header: header.author.clone(), envelope: author.to_owned() });
        }
        let c = content_commitment(&salt(&self.salts.content, "content salt")?, &self.envelope)?;
        if BASE64_STANDARD.encode(c) != header.content {
            return Err(EntryError::Mismatch("content"));
        }
        match (&header.subject, &self.subject) {
            (None, None) => Ok(()),
            (Some(subject), Some(uscc)) => {
                let s = subject_commitment(&salt(self.salts.subject.as_deref().unwrap_or(""), "subject salt")?, uscc);
                if BASE64_STANDARD.encode(s) != *subject {
                    return Err(EntryError::Mismatch("subject"));
                }
                let previous = match &self.previous_leaf {
                    Some(leaf) => Some(salt(leaf, "previous leaf hash")?),
                    None => None,
                };
                let chain =
                    chain_commitment(&salt(self.salts.chain.as_deref().unwrap_or(""), "chain salt")?, uscc, previous);
                if Some(BASE64_STANDARD.encode(chain)) != header.chain {
                    return Err(EntryError::Mismatch("chain"));
                }
                Ok(())
            }
            _ => Err(EntryError::Mismatch("subject")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{Envelope, RECORD_TYPE};

    #[test]
    fn seal_then_check_and_every_tamper_fails() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
        let env = Envelope::sign(RECORD_TYPE, b"{\"kind\":\"x\"}", &key);
        let prev = Some([9u8; 32]);
        let (h, c) = EntryContent::seal(
            env,
            "record/x".into(),
            1_700_000_000,
            Some(("11370306004220465W", prev)),
            [[1; 32], [2; 32], [3; 32]],
        )
        .unwrap();
        let bytes = h.to_bytes();
        assert!(!String::from_utf8_lossy(&bytes).contains("11370306004220465W"));
        let parsed = EntryHeader::parse(&bytes).unwrap();
        c.check(&parsed).unwrap();

        let mut t = c.clone();
        t.subject = Some("91370303MA3C8DXA2K".into());
        assert_eq!(t.check(&parsed), Err(EntryError::Mismatch("subject")));
        let mut t = c.clone();
        t.previous_leaf = Some(BASE64_STANDARD.encode([8u8; 32]));
        assert_eq!(t.check(&parsed), Err(EntryError::Mismatch("chain")));
        let mut t = c.clone();
        t.envelope.payload = BASE64_STANDARD.encode(b"{\"kind\":\"y\"}");
        assert_eq!(t.check(&parsed), Err(EntryError::Mismatch("content")));
    }
}
