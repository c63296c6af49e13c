//! Request authentication: RFC 9421 HTTP Message Signatures with Ed25519, and RFC 9530
//! `Content-Digest` for bodies. Every write, and every read of private data, is signed by a key
//! that is on the log.
//!
//! A signed request carries:
//!
//! ```text
//! Content-Digest: sha-256=:<base64 SHA-256 of the body>:
//! Signature-Input: sig1=("@method" "@path" "@query" "content-digest");created=<unix seconds>;nonce="<random>";keyid="<key id>";alg="ed25519"
//! Signature: sig1=:<base64 Ed25519 signature of the signature base>:
//! ```
//!
//! The signature base (RFC 9421 §2.5) is one line per covered component and a last line with
//! the parameters, joined by `\n`, no trailing newline:
//!
//! ```text
//! "@method": POST
//! "@path": /v1/records
//! "@query": ?
//! "content-digest": sha-256=:...:
//! "@signature-params": ("@method" "@path" "@query" "content-digest");created=...;nonce="...";keyid="...";alg="ed25519"
//! ```
//!
//! The server accepts a signature whose `created` is within the replay window (300 s by
//! default) of its clock and whose nonce it has not seen in that window. GET requests cover
//! `"@method" "@path" "@query"`; requests with a body must also cover `content-digest`.
//!
//! The Ed25519 signature is checked by [`verifier::signature::verify`], the one acceptance rule
//! for every creditlog signature (docs/FORMAT.md §8): the same rule as for envelopes.

use base64::prelude::*;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use verifier::signature::SignatureError;

/// Why a request signature was not accepted; each message is one plain sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No Signature-Input / Signature headers.
    #[error("this request must be signed by a key on the log (HTTP Message Signatures, RFC 9421: Signature-Input and Signature headers)")]
    Missing,
    /// Header syntax.
    #[error("the {0} header is malformed")]
    Malformed(&'static str),
    /// A component that must be covered is not.
    #[error("the signature must cover {0}")]
    Uncovered(&'static str),
    /// Outside the window.
    #[error("the signature was created at {created}, more than {window} seconds from the server's time {now}; sign the request again")]
    Stale {
        /// Signature's created.
        created: u64,
        /// Server time.
        now: u64,
        /// Allowed skew.
        window: u64,
    },
    /// Nonce seen before.
    #[error("replayed request: nonce {0:?} was already used")]
    Replay(String),
    /// Content-Digest does not match the body.
    #[error("the Content-Digest header does not match the request body")]
    Digest,
    /// Signature does not verify.
    #[error("the signature does not verify with key {0}")]
    BadSignature(String),
    /// The key or the signature breaks a clause of the acceptance rule other than the equation.
    #[error("the signature by key {keyid} is refused: {reason}")]
    Refused {
        /// The key id.
        keyid: String,
        /// The clause it breaks.
        #[source]
        reason: SignatureError,
    },
    /// The key does not count.
    #[error("{0}")]
    Key(String),
}

/// `sha-256=:<base64>:` for a body.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", BASE64_STANDARD.encode(Sha256::digest(body)))
}

fn signature_base(method: &str, path: &str, query: &str, digest: Option<&str>, params: &str) -> String {
    let mut base = format!("\"@method\": {method}\n\"@path\": {path}\n\"@query\": ?{query}\n");
    if let Some(d) = digest {
        base.push_str(&format!("\"content-digest\": {d}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {params}"));
    base
}

/// Headers that sign a request: `(name, value)` pairs to add.
pub fn sign_request(
    method: &str,
    path: &str,
    query: &str,
    body: Option<&[u8]>,
    key: &SigningKey,
    created: u64,
    nonce: &str,
) -> Vec<(&'static str, String)> {
    let keyid = verifier::envelope::key_id(&key.verifying_key());
    let digest = body.map(content_digest);
    let components = if digest.is_some() {
        "(\"@method\" \"@path\" \"@query\" \"content-digest\")"
    } else {
        "(\"@method\" \"@path\" \"@query\")"
    };
    let params = format!("{components};created={created};nonce=\"{nonce}\";keyid=\"{keyid}\";alg=\"ed25519\"");
    let base = signature_base(method, path, query, digest.as_deref(), &params);
    let sig = key.sign(base.as_bytes());
    let mut headers = vec![
        ("signature-input", format!("sig1={params}")),
        ("signature", format!("sig1=:{}:", BASE64_STANDARD.encode(sig.to_bytes()))),
    ];
    if let Some(d) = digest {
        headers.push(("content-digest", d));
    }
    headers
}

/// A parsed, not yet verified, signature.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    /// The key id.
    pub keyid: String,
    params: String,
    covers_digest: bool,
    created: u64,
    nonce: String,
    signature: [u8; 64],
}

fn param<'a>(params: &'a str, name: &str) -> Option<&'a str> {
    params.split(';').skip(1).find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
}

/// Parses the `Signature-Input` and `Signature` headers.
///
/// # Errors
///
/// [`AuthError`] naming the header or component.
pub fn parse(signature_input: Option<&str>, signature: Option<&str>) -> Result<SignedRequest, AuthError> {
    let (Some(input), Some(sig)) = (signature_input, signature) else { return Err(AuthError::Missing) };
    let (label, params) = input.split_once('=').ok_or(AuthError::Malformed("Signature-Input"))?;
    let sig = sig
        .strip_prefix(label)
        .and_then(|s| s.strip_prefix("=:"))
        .and_then(|s| s.strip_suffix(':'))
        .ok_or(AuthError::Malformed("Signature"))?;
    let signature: [u8; 64] =
        BASE64_STANDARD.decode(sig).ok().and_then(|s| s.try_into().ok()).ok_or(AuthError::Malformed("Signature"))?;
    let components = params.split(';').next().unwrap_or_default();
    for c in ["\"@method\"", "\"@path\"", "\"@query\""] {
        if !components.contains(c) {
            return Err(AuthError::Uncovered(c));
        }
    }
    let covers_digest = components.contains("\"content-digest\"");
    let expected = if covers_digest {
        "(\"@method\" \"@path\" \"@query\" \"content-digest\")"
    } else {
        "(\"@method\" \"@path\" \"@query\")"
    };
    if components != expected {
        return Err(AuthError::Malformed(
            "Signature-Input (components must be listed as @method @path @query [content-digest])",
        ));
    }
    let unquote = |v: &str| v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).map(str::to_owned);
    let created = param(params, "created")
        .and_then(|v| v.parse().ok())
        .ok_or(AuthError::Malformed("Signature-Input (created)"))?;
    let nonce = param(params, "nonce")
        .and_then(unquote)
        .filter(|n| (8..=128).contains(&n.len()))
        .ok_or(AuthError::Malformed("Signature-Input (nonce of 8 to 128 characters)"))?;
    let keyid = param(params, "keyid").and_then(unquote).ok_or(AuthError::Malformed("Signature-Input (keyid)"))?;
    if param(params, "alg").and_then(unquote).as_deref() != Some("ed25519") {
        return Err(AuthError::Malformed("Signature-Input (alg must be \"ed25519\")"));
    }
    Ok(SignedRequest { keyid, params: params.to_owned(), covers_digest, created, nonce, signature })
}

/// Nonces seen within the replay window. In memory: after a restart a request signed in the last
/// window could be replayed once; submissions are idempotent, so that appends nothing.
#[derive(Debug, Default)]
pub struct NonceCache {
    seen: Mutex<HashMap<String, u64>>,
}

impl SignedRequest {
    /// Verifies the signature over this request with `key` under the acceptance rule, checks
    /// the window, the digest and the nonce (recording it).
    ///
    /// # Errors
    ///
    /// The first check that fails: [`AuthError::BadSignature`] if the equation fails,
    /// [`AuthError::Refused`] for a small-order or non-canonical key, `R` or `S`.
    #[allow(clippy::too_many_arguments)]
    pub fn verify(
        &self,
        method: &str,
        path: &str,
        query: &str,
        body: &[u8],
        digest_header: Option<&str>,
        key: &VerifyingKey,
        now: u64,
        window: u64,
        nonces: &NonceCache,
    ) -> Result<(), AuthError> {
        if self.created.abs_diff(now) > window {
            return Err(AuthError::Stale { created: self.created, now, window });
        }
        if !body.is_empty() && !self.covers_digest {
            return Err(AuthError::Uncovered("\"content-digest\""));
        }
        let digest = if self.covers_digest {
            let d = digest_header.ok_or(AuthError::Malformed("Content-Digest"))?;
            if d != content_digest(body) {
                return Err(AuthError::Digest);
            }
            Some(d)
        } else {
            None
        };
        let base = signature_base(method, path, query, digest, &self.params);
        verifier::signature::verify(key.as_bytes(), base.as_bytes(), &self.signature).map_err(
            |reason| match reason {
                SignatureError::Equation => AuthError::BadSignature(self.keyid.clone()),
                reason => AuthError::Refused { keyid: self.keyid.clone(), reason },
            },
        )?;
        let mut seen = nonces.seen.lock().expect("lock");
        if seen.len() > 100_000 {
            seen.retain(|_, t| t.abs_diff(now) <= window);
        }
        if seen.get(&self.nonce).is_some_and(|t| t.abs_diff(now) <= window) {
            return Err(AuthError::Replay(self.nonce.clone()));
        }
        seen.insert(self.nonce.clone(), now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify_and_every_failure() {
        let key = SigningKey::from_bytes(&[5u8; 32]);
        let body = br#"{"records":[]}"#;
        let headers = sign_request("POST", "/v1/records", "", Some(body), &key, 1000, "nonce-0001");
        let get = |n: &str| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
        let req = parse(get("signature-input"), get("signature")).unwrap();
        let nonces = NonceCache::default();
        let vk = key.verifying_key();
        assert_eq!(
            req.verify("POST", "/v1/records", "", body, get("content-digest"), &vk, 1100, 300, &NonceCache::default()),
            Ok(())
        );
        assert_eq!(
            req.verify("POST", "/v1/other", "", body, get("content-digest"), &vk, 1100, 300, &nonces),
            Err(AuthError::BadSignature(req.keyid.clone()))
        );
        assert_eq!(
            req.verify("POST", "/v1/records", "", b"{}", get("content-digest"), &vk, 1100, 300, &nonces),
            Err(AuthError::Digest)
        );
        assert!(matches!(
            req.verify("POST", "/v1/records", "", body, get("content-digest"), &vk, 2000, 300, &nonces),
            Err(AuthError::Stale { .. })
        ));
        req.verify("POST", "/v1/records", "", body, get("content-digest"), &vk, 1000, 300, &nonces).unwrap();
        assert_eq!(
            req.verify("POST", "/v1/records", "", body, get("content-digest"), &vk, 1000, 300, &nonces),
            Err(AuthError::Replay("nonce-0001".into()))
        );
        assert_eq!(parse(None, None).unwrap_err(), AuthError::Missing);
    }

    #[test]
    fn a_request_signed_with_a_non_canonical_s_is_refused() {
        // S + L verifies like S in the equation; the rule refuses it (docs/FORMAT.md §8,
        // clause 4), so a captured request cannot be re-sent with other signature bytes.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let key = SigningKey::from_bytes(&[5u8; 32]);
        let body = br#"{"records":[]}"#;
        let headers = sign_request("POST", "/v1/records", "", Some(body), &key, 1000, "nonce-0002");
        let get = |n: &str| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
        let good = parse(get("signature-input"), get("signature")).unwrap();
        let mut sig = good.signature;
        let mut carry = 0u16;
        for (b, l) in sig[32..].iter_mut().zip(L) {
            let sum = u16::from(*b) + u16::from(l) + carry;
            *b = sum as u8;
            carry = sum >> 8;
        }
        let malleated = format!("sig1=:{}:", BASE64_STANDARD.encode(sig));
        let req = parse(get("signature-input"), Some(&malleated)).unwrap();
        let vk = key.verifying_key();
        let nonces = NonceCache::default();
        assert_eq!(
            req.verify("POST", "/v1/records", "", body, get("content-digest"), &vk, 1000, 300, &nonces),
            Err(AuthError::Refused { keyid: req.keyid.clone(), reason: SignatureError::ScalarNotCanonical })
        );
        // The refused request recorded no nonce: the honest one still goes through.
        assert_eq!(
            good.verify("POST", "/v1/records", "", body, get("content-digest"), &vk, 1000, 300, &nonces),
            Ok(())
        );
    }
}
