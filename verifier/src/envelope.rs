//! Author signatures: a DSSE envelope (<https://github.com/secure-systems-lab/dsse>) with
//! Ed25519, over the exact payload bytes the author produced (invariant 3: never over a
//! re-serialisation).
//!
//! Signed message, the DSSE pre-authentication encoding (PAE):
//!
//! ```text
//! "DSSEv1" SP LEN(payloadType) SP payloadType SP LEN(payload) SP payload
//! ```
//!
//! where `LEN` is the byte length in ASCII decimal and `SP` is one space (0x20). The payload
//! type binds the signature to what it is: a record ([`RECORD_TYPE`]) cannot be replayed as an
//! identity statement ([`IDENTITY_TYPE`]).
//!
//! Key ids are `hex(SHA-256("creditlog/v1/key\0" || public key))[..32]`: 128 bits, enough to
//! name a key, never enough to stand in for it; the public key itself is on the log.
//!
//! Signatures are checked by [`crate::signature`], the one acceptance rule (docs/FORMAT.md §8),
//! one at a time in [`Envelope::open`] and in a batch in [`verify_all`], which agree.

use crate::signature::{self, SignatureError};
use base64::prelude::*;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Payload type of a department record.
pub const RECORD_TYPE: &str = "application/vnd.creditlog.record+json";
/// Payload type of an identity statement (registrations, rotations, revocations, bindings).
pub const IDENTITY_TYPE: &str = "application/vnd.creditlog.identity+json";
/// Payload type of a published scoring model (the exact TOML file).
pub const MODEL_TYPE: &str = "application/vnd.creditlog.model+toml";
/// Payload type of a re-grading order by the grading authority.
pub const ORDER_TYPE: &str = "application/vnd.creditlog.order+json";
/// Payload type of a grade decision or a re-grading run summary.
pub const DECISION_TYPE: &str = "application/vnd.creditlog.decision+json";

/// The id of an Ed25519 public key.
pub fn key_id(key: &VerifyingKey) -> String {
    key_id_of(key.as_bytes())
}

/// [`key_id`] of a public key given as its 32 bytes.
pub fn key_id_of(public: &[u8; 32]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut h = Sha256::new();
    h.update(b"creditlog/v1/key\0");
    h.update(public);
    let d = h.finalize();
    let mut id = String::with_capacity(32);
    for b in &d[..16] {
        id.push(char::from(HEX[usize::from(b >> 4)]));
        id.push(char::from(HEX[usize::from(b & 15)]));
    }
    id
}

/// DSSE pre-authentication encoding: the exact bytes an author signs.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    m.extend_from_slice(format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).as_bytes());
    m.extend_from_slice(payload);
    m
}

/// A signed payload as submitted and stored: JSON with base64 payload and one signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// What the payload is.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The payload, standard base64.
    pub payload: String,
    /// Exactly one signature.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One DSSE signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSignature {
    /// [`key_id`] of the signing key.
    pub keyid: String,
    /// Ed25519 signature over [`pae`], standard base64.
    pub sig: String,
}

/// Why an envelope was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Not exactly one signature.
    #[error("an envelope carries exactly one signature; this one has {0}")]
    SignatureCount(usize),
    /// Bad base64 in a field.
    #[error("{0} is not standard base64")]
    Base64(&'static str),
    /// The payload type is not the one expected here.
    #[error("payloadType is {found:?}; expected {expected:?}")]
    PayloadType {
        /// What the envelope says.
        found: String,
        /// What this endpoint takes.
        expected: &'static str,
    },
    /// The signature does not verify with the named key.
    #[error("the signature does not verify with key {keyid}: the payload was changed after signing, or signed by another key")]
    BadSignature {
        /// The key id the envelope names.
        keyid: String,
    },
    /// The key or the signature breaks a clause of the acceptance rule other than the equation.
    #[error("the signature by key {keyid} is refused: {reason}")]
    Refused {
        /// The key id the envelope names.
        keyid: String,
        /// The clause it breaks.
        #[source]
        reason: SignatureError,
    },
    /// The envelope names a key other than the one given to check it.
    #[error("the envelope names key {named}, but key {given} was given to check it")]
    KeyMismatch {
        /// Key id in the envelope.
        named: String,
        /// Key id of the key given.
        given: String,
    },
}

impl Envelope {
    /// Signs `payload` as `payload_type` with `key`.
    pub fn sign(payload_type: &str, payload: &[u8], key: &SigningKey) -> Self {
        let sig = key.sign(&pae(payload_type, payload));
        Self {
            payload_type: payload_type.to_owned(),
            payload: BASE64_STANDARD.encode(payload),
            signatures: vec![EnvelopeSignature {
                keyid: key_id(&key.verifying_key()),
                sig: BASE64_STANDARD.encode(sig.to_bytes()),
            }],
        }
    }

    /// The key id of the single signature.
    ///
    /// # Errors
    ///
    /// [`EnvelopeError::SignatureCount`] unless there is exactly one signature.
    pub fn keyid(&self) -> Result<&str, EnvelopeError> {
        match self.signatures.as_slice() {
            [s] => Ok(&s.keyid),
            other => Err(EnvelopeError::SignatureCount(other.len())),
        }
    }

    /// Decodes the payload and signature without checking the signature.
    ///
    /// # Errors
    ///
    /// If the type is not `expected`, there is not exactly one signature, or base64 is bad.
    pub fn decode(&self, expected: &'static str) -> Result<(Vec<u8>, [u8; 64]), EnvelopeError> {
        if self.payload_type != expected {
            return Err(EnvelopeError::PayloadType { found: self.payload_type.clone(), expected });
        }
        let keyid_sig = match self.signatures.as_slice() {
            [s] => s,
            other => return Err(EnvelopeError::SignatureCount(other.len())),
        };
        let payload = BASE64_STANDARD.decode(&self.payload).map_err(|_| EnvelopeError::Base64("payload"))?;
        let sig: [u8; 64] = BASE64_STANDARD
            .decode(&keyid_sig.sig)
            .ok()
            .and_then(|s| s.try_into().ok())
            .ok_or(EnvelopeError::Base64("signatures[0].sig (64 bytes)"))?;
        Ok((payload, sig))
    }

    /// Checks the signature with `key` under the acceptance rule ([`signature::verify`]) and
    /// returns the exact payload bytes.
    ///
    /// # Errors
    ///
    /// Any [`EnvelopeError`]: [`EnvelopeError::BadSignature`] if the equation fails,
    /// [`EnvelopeError::Refused`] for a small-order or non-canonical key, `R` or `S`.
    pub fn open(&self, expected: &'static str, key: &VerifyingKey) -> Result<Vec<u8>, EnvelopeError> {
        let (payload, sig) = self.decode(expected)?;
        let named = self.keyid()?;
        let given = key_id(key);
        if named != given {
            return Err(EnvelopeError::KeyMismatch { named: named.to_owned(), given });
        }
        signature::verify(key.as_bytes(), &pae(expected, &payload), &sig).map_err(|reason| match reason {
            SignatureError::Equation => EnvelopeError::BadSignature { keyid: given },
            reason => EnvelopeError::Refused { keyid: given, reason },
        })?;
        Ok(payload)
    }
}

/// The one place a creditlog author signature is checked outside envelopes (binding proofs,
/// cosignatures): the acceptance rule of [`signature::verify`].
///
/// # Errors
///
/// `Err(())` if the rule refuses it.
#[allow(clippy::result_unit_err)]
pub fn verify_signature(key: &VerifyingKey, message: &[u8], signature: &[u8; 64]) -> Result<(), ()> {
    signature::verify(key.as_bytes(), message, signature).map_err(|_| ())
}

/// Checks many envelopes at once with [`signature::verify_batch`]: `true` if and only if every
/// envelope decodes, names the key given with it, and [`Envelope::open`] would accept it (the
/// batch and the single check apply the same rule). On `false`, check them one by one with
/// [`Envelope::open`] to find which failed and why.
pub fn verify_all(items: &[(&Envelope, &[u8; 32])], expected: &'static str) -> bool {
    let mut messages = Vec::with_capacity(items.len());
    let mut signatures = Vec::with_capacity(items.len());
    for (env, key) in items {
        let Ok((payload, sig)) = env.decode(expected) else { return false };
        if env.keyid().ok() != Some(key_id_of(key).as_str()) {
            return false;
        }
        messages.push(pae(expected, &payload));
        signatures.push(sig);
    }
    let batch: Vec<(&[u8; 32], &[u8], &[u8; 64])> = items
        .iter()
        .zip(&messages)
        .zip(&signatures)
        .map(|(((_, key), message), sig)| (*key, message.as_slice(), sig))
        .collect();
    signature::verify_batch(&batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // From the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn batch_verification_accepts_good_and_rejects_one_bad() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let envs: Vec<Envelope> =
            (0..10).map(|i| Envelope::sign(RECORD_TYPE, format!("{i}").as_bytes(), &key)).collect();
        let public = key.verifying_key().to_bytes();
        let items: Vec<(&Envelope, &[u8; 32])> = envs.iter().map(|e| (e, &public)).collect();
        assert!(verify_all(&items, RECORD_TYPE));
        let mut bad = envs.clone();
        bad[4].payload = BASE64_STANDARD.encode(b"x");
        let items: Vec<(&Envelope, &[u8; 32])> = bad.iter().map(|e| (e, &public)).collect();
        assert!(!verify_all(&items, RECORD_TYPE));
    }

    #[test]
    fn key_ids_are_the_first_16_bytes_of_the_domain_separated_hash_in_lowercase_hex() {
        let key = SigningKey::from_bytes(&[7u8; 32]).verifying_key();
        let mut h = Sha256::new();
        h.update(b"creditlog/v1/key\0");
        h.update(key.as_bytes());
        let expected: String = h.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(key_id(&key), expected);
        assert_eq!(key_id_of(key.as_bytes()), expected);
    }

    #[test]
    fn sign_open_and_tamper() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let env = Envelope::sign(RECORD_TYPE, b"{\"a\":1}", &key);
        assert_eq!(env.open(RECORD_TYPE, &key.verifying_key()).unwrap(), b"{\"a\":1}");
        assert!(matches!(env.open(IDENTITY_TYPE, &key.verifying_key()), Err(EnvelopeError::PayloadType { .. })));
        let mut t = env.clone();
        t.payload = BASE64_STANDARD.encode(b"{\"a\":2}");
        assert!(matches!(t.open(RECORD_TYPE, &key.verifying_key()), Err(EnvelopeError::BadSignature { .. })));
        let other = SigningKey::from_bytes(&[8u8; 32]);
        assert!(matches!(env.open(RECORD_TYPE, &other.verifying_key()), Err(EnvelopeError::KeyMismatch { .. })));
    }

    #[test]
    fn open_and_verify_all_refuse_a_malleated_s() {
        // S + L: the same equation, other bytes.
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let mut env = Envelope::sign(RECORD_TYPE, b"{}", &key);
        let sig: [u8; 64] = BASE64_STANDARD.decode(&env.signatures[0].sig).unwrap().try_into().unwrap();
        let sig = signature::with_s_plus_order(&sig);
        env.signatures[0].sig = BASE64_STANDARD.encode(sig);
        assert!(matches!(
            env.open(RECORD_TYPE, &key.verifying_key()),
            Err(EnvelopeError::Refused { reason: SignatureError::ScalarNotCanonical, .. })
        ));
        assert!(!verify_all(&[(&env, &key.verifying_key().to_bytes())], RECORD_TYPE));
    }
}
