//! The one Ed25519 signature acceptance rule of creditlog (docs/FORMAT.md §8, "Signature
//! acceptance rule"). Server intake, the offline verifier and the CLI all call this module, so a
//! signature the log accepted is a signature a court accepts, one at a time or in a batch.
//!
//! RFC 8032 (§5.1.7) leaves implementations free on three points, and real ones disagree on
//! them: whether small-order keys and nonces are allowed, whether non-canonical point encodings
//! are, and whether the check is cofactored. We fix all three. With `L` the prime order of the
//! base point `B`, `p = 2^255 - 19`, a public key `A_bytes` (32 bytes), a message `M` and a
//! signature `R_bytes || S_bytes` (32 + 32 bytes), a signature is accepted if and only if:
//!
//! 1. `A_bytes` decodes to a point `A` (RFC 8032 §5.1.3) **and is canonical**: re-encoding `A`
//!    (§5.1.2) gives exactly `A_bytes`. This refuses `y >= p` and `x = 0` with the sign bit set.
//! 2. `A` is **not of small order**: `[8]A` is not the neutral element. (There are 8 such
//!    points; with one as the key, anyone can forge signatures.)
//! 3. `R_bytes` decodes to a point `R`, is canonical, and `R` is not of small order, as 1 and 2.
//! 4. `S_bytes`, read as a little-endian integer `S`, is **canonical**: `S < L`.
//! 5. `k = SHA-512(R_bytes || A_bytes || M)`, read as a little-endian 512-bit integer, mod `L`
//!    (the bytes as received, never re-encoded).
//! 6. The **cofactored** equation holds: `[8]([S]B - R - [k]A)` is the neutral element.
//!
//! Points of mixed order (a prime-order point plus a torsion point) are accepted as keys and
//! nonces: the cofactored equation gives them the same answer one at a time and in a batch.
//! The rule is ZIP-215's (what `ed25519-consensus` implements) with canonical, non-small-order
//! `A` and `R` required in addition, and RFC 8032's cofactored variant of §5.1.7 step 3.
//!
//! [`verify_batch`] accepts a batch if and only if [`verify`] accepts every item: every item is
//! first checked against 1–4 exactly as one alone, then one random linear combination of the
//! equations of 6 is checked, `[8]([-Σ zᵢSᵢ]B + Σ [zᵢ]Rᵢ + Σ [zᵢkᵢ]Aᵢ) = 0`. Because each term
//! is multiplied by 8 it lies in the prime-order subgroup, so a batch of valid signatures always
//! passes, and a batch with an invalid one passes with probability at most 2⁻¹²⁸. The 128-bit
//! coefficients `zᵢ` are derived from a hash of the whole batch (see [`verify_batch`]), so this
//! crate reads no randomness and the result is reproducible.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha512};

/// Why a signature or a public key is refused. One variant per clause of the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// Clause 1: the key bytes are not the encoding of a curve point.
    #[error("the public key is not the encoding of a point on the Ed25519 curve (RFC 8032 §5.1.3); refused (docs/FORMAT.md §8, clause 1)")]
    KeyNotOnCurve,
    /// Clause 1: the key decodes, but not from its one canonical encoding.
    #[error("the public key is a non-canonical encoding of its point (y >= 2^255-19, or x = 0 with the sign bit set): another byte string names the same key; refused (docs/FORMAT.md §8, clause 1)")]
    KeyNotCanonical,
    /// Clause 2: the key is one of the 8 points of small order.
    #[error("the public key is a small-order point: with it anyone can forge signatures; refused (RFC 8032 strict rule, docs/FORMAT.md §8, clause 2)")]
    KeySmallOrder,
    /// Clause 3: `R` is not the encoding of a curve point.
    #[error("the signature's R (its first 32 bytes) is not the encoding of a point on the Ed25519 curve; refused (docs/FORMAT.md §8, clause 3)")]
    NonceNotOnCurve,
    /// Clause 3: `R` decodes, but not from its canonical encoding.
    #[error("the signature's R (its first 32 bytes) is a non-canonical point encoding: the same signature could be sent as other bytes; refused (docs/FORMAT.md §8, clause 3)")]
    NonceNotCanonical,
    /// Clause 3: `R` is a point of small order.
    #[error("the signature's R (its first 32 bytes) is a small-order point, which no honest signer produces; refused (RFC 8032 strict rule, docs/FORMAT.md §8, clause 3)")]
    NonceSmallOrder,
    /// Clause 4: `S >= L`.
    #[error("the signature's S (its last 32 bytes) is not below the group order L: it is malleable (S + L verifies like S); refused (RFC 8032 §5.1.7, docs/FORMAT.md §8, clause 4)")]
    ScalarNotCanonical,
    /// Clause 6: the equation does not hold.
    #[error("the signature does not verify: the message was changed after signing, or signed by another key (docs/FORMAT.md §8, clause 6)")]
    Equation,
}

/// Whether `bytes` is the one encoding RFC 8032 §5.1.2 gives its point, assuming it decodes:
/// `y < p`, and not `x = 0` with the sign bit set (`x = 0` only for `y = 1` and `y = p - 1`).
/// Equivalent to re-encoding the decoded point and comparing, without the field inversion.
fn is_canonical_encoding(bytes: &[u8; 32]) -> bool {
    let sign = bytes[31] >> 7 == 1;
    let mut y = *bytes;
    y[31] &= 0x7f;
    // p = 2^255 - 19, little-endian: ed ff .. ff 7f.
    let at_least_p = y[31] == 0x7f && y[1..31].iter().all(|b| *b == 0xff) && y[0] >= 0xed;
    if at_least_p {
        return false;
    }
    let one = y[0] == 1 && y[1..].iter().all(|b| *b == 0);
    let p_minus_one = y[0] == 0xec && y[1..31].iter().all(|b| *b == 0xff) && y[31] == 0x7f;
    !(sign && (one || p_minus_one))
}

/// Decodes a point, refusing it unless it is canonical and not of small order (clauses 1–3).
fn decode_point(
    bytes: &[u8; 32],
    not_on_curve: SignatureError,
    not_canonical: SignatureError,
    small_order: SignatureError,
) -> Result<EdwardsPoint, SignatureError> {
    let point = CompressedEdwardsY(*bytes).decompress().ok_or(not_on_curve)?;
    // The encoder of RFC 8032 §5.1.2 has one output per point: any other input is non-canonical.
    if !is_canonical_encoding(bytes) {
        return Err(not_canonical);
    }
    if point.is_small_order() {
        return Err(small_order);
    }
    Ok(point)
}

/// Checks a public key against clauses 1 and 2 of the rule, as at key registration.
///
/// # Errors
///
/// [`SignatureError::KeyNotOnCurve`], [`SignatureError::KeyNotCanonical`] or
/// [`SignatureError::KeySmallOrder`].
pub fn check_public_key(bytes: &[u8; 32]) -> Result<VerifyingKey, SignatureError> {
    decode_point(bytes, SignatureError::KeyNotOnCurve, SignatureError::KeyNotCanonical, SignatureError::KeySmallOrder)?;
    // ed25519-dalek decodes a superset of what we accept, so this cannot fail here.
    VerifyingKey::from_bytes(bytes).map_err(|_| SignatureError::KeyNotOnCurve)
}

/// One signature after clauses 1–5: the points, `S` and `k`.
struct Decoded {
    a: EdwardsPoint,
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

fn decode_key(public: &[u8; 32]) -> Result<EdwardsPoint, SignatureError> {
    decode_point(public, SignatureError::KeyNotOnCurve, SignatureError::KeyNotCanonical, SignatureError::KeySmallOrder)
}

fn decode(public: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> Result<Decoded, SignatureError> {
    decode_with_key(decode_key(public)?, public, message, signature)
}

/// Clauses 3–5, given `A` already decoded from `public` (clauses 1–2).
fn decode_with_key(
    a: EdwardsPoint,
    public: &[u8; 32],
    message: &[u8],
    signature: &[u8; 64],
) -> Result<Decoded, SignatureError> {
    let r_bytes: &[u8; 32] = signature[..32].try_into().expect("32 bytes");
    let s_bytes: [u8; 32] = signature[32..].try_into().expect("32 bytes");
    let r = decode_point(
        r_bytes,
        SignatureError::NonceNotOnCurve,
        SignatureError::NonceNotCanonical,
        SignatureError::NonceSmallOrder,
    )?;
    let s = Option::from(Scalar::from_canonical_bytes(s_bytes)).ok_or(SignatureError::ScalarNotCanonical)?;
    // k = SHA-512(R_bytes || A_bytes || M) mod L
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(public);
    h.update(message);
    let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
    Ok(Decoded { a, r, s, k })
}

/// Checks one signature against the whole rule (module docs; docs/FORMAT.md §8).
///
/// # Errors
///
/// The [`SignatureError`] of the first clause that fails, in the order of the rule.
pub fn verify(public: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> Result<(), SignatureError> {
    let d = decode(public, message, signature)?;
    // [S]B - [k]A, then subtract R and multiply by the cofactor 8.
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&d.k, &-d.a, &d.s);
    if (sb_minus_ka - d.r).mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(SignatureError::Equation)
    }
}

/// The signature with `S` replaced by `S + L` (L the group order): the same verification
/// equation holds, so a check without the `S < L` clause accepts these other bytes, and a
/// captured signature could be re-sent as a "new" one. The rule refuses it
/// ([`SignatureError::ScalarNotCanonical`]); this builds the case for tests and fuzzing.
pub fn with_s_plus_order(signature: &[u8; 64]) -> [u8; 64] {
    // L = 2^252 + 27742317777372353535851937790883648493, little-endian.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = *signature;
    let mut carry = 0u16;
    for (b, l) in out[32..].iter_mut().zip(L) {
        let sum = u16::from(*b) + u16::from(l) + carry;
        *b = sum.to_le_bytes()[0];
        carry = sum >> 8;
    }
    out
}

/// Checks many signatures at once: `true` if and only if [`verify`] accepts every
/// `(public key, message, signature)` item (an empty batch is `true`). On `false`, check the
/// items one by one with [`verify`] to learn which failed and why.
///
/// The coefficients are `zᵢ = first 16 bytes of SHA-512(seed || u64le(i))` read little-endian,
/// with `seed = SHA-512("creditlog/v1/ed25519-batch\0" || u64le(n) || for each item:
/// A_bytes || R_bytes || S_bytes || kᵢ)`, `kᵢ` as its 32 canonical bytes. Every input of the
/// batch is fixed before the coefficients are known, so an invalid batch passes only if SHA-512
/// hits one value in 2¹²⁸ (the Fiat–Shamir argument).
pub fn verify_batch(items: &[(&[u8; 32], &[u8], &[u8; 64])]) -> bool {
    let mut decoded = Vec::with_capacity(items.len());
    // A batch usually holds many signatures by few keys: each key is decoded once, and its
    // coefficients are summed into one term of the equation.
    let mut keys: Vec<([u8; 32], EdwardsPoint, Scalar)> = Vec::new();
    let mut slots: std::collections::BTreeMap<[u8; 32], usize> = std::collections::BTreeMap::new();
    let mut key_of = Vec::with_capacity(items.len());
    // seed = SHA-512("creditlog/v1/ed25519-batch\0" || u64le(n) || (A || R || S || k)*)
    let mut seed = Sha512::new();
    seed.update(b"creditlog/v1/ed25519-batch\0");
    seed.update((items.len() as u64).to_le_bytes());
    for (public, message, signature) in items {
        let slot = match slots.get(*public) {
            Some(slot) => *slot,
            None => {
                let Ok(a) = decode_key(public) else { return false };
                keys.push((**public, a, Scalar::ZERO));
                slots.insert(**public, keys.len() - 1);
                keys.len() - 1
            }
        };
        key_of.push(slot);
        let Ok(d) = decode_with_key(keys[slot].1, public, message, signature) else { return false };
        seed.update(public);
        seed.update(signature);
        seed.update(d.k.as_bytes());
        decoded.push(d);
    }
    if decoded.is_empty() {
        return true;
    }
    let seed = seed.finalize();
    let mut scalars = Vec::with_capacity(2 * decoded.len() + 1);
    let mut points = Vec::with_capacity(2 * decoded.len() + 1);
    let mut b_coefficient = Scalar::ZERO;
    for (i, d) in decoded.iter().enumerate() {
        // z_i = SHA-512(seed || u64le(i))[..16], little-endian
        let mut h = Sha512::new();
        h.update(seed);
        h.update((i as u64).to_le_bytes());
        let mut z = [0u8; 32];
        z[..16].copy_from_slice(&h.finalize()[..16]);
        let z = Scalar::from_bytes_mod_order(z);
        b_coefficient -= z * d.s;
        scalars.push(z);
        points.push(d.r);
        keys[key_of[i]].2 += z * d.k;
    }
    for (_, a, coefficient) in keys {
        scalars.push(coefficient);
        points.push(a);
    }
    scalars.push(b_coefficient);
    points.push(ED25519_BASEPOINT_POINT);
    // [8]([-Σ z_i S_i]B + Σ [z_i]R_i + Σ [z_i k_i]A_i) == 0
    EdwardsPoint::vartime_multiscalar_mul(scalars, points).mul_by_cofactor().is_identity()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    #[test]
    fn accepts_what_ed25519_dalek_signs() {
        for seed in 0..20u8 {
            let key = SigningKey::from_bytes(&[seed; 32]);
            let message = vec![seed; usize::from(seed) * 7];
            let sig = key.sign(&message).to_bytes();
            assert_eq!(verify(key.verifying_key().as_bytes(), &message, &sig), Ok(()));
            assert_eq!(verify(key.verifying_key().as_bytes(), b"other", &sig), Err(SignatureError::Equation));
        }
    }

    #[test]
    fn rfc8032_test_1() {
        // RFC 8032 §7.1, TEST 1 (empty message).
        let public = hex32("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        let sig: [u8; 64] = hex(concat!(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155",
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        ))
        .try_into()
        .unwrap();
        assert_eq!(verify(&public, b"", &sig), Ok(()));
        assert!(verify_batch(&[(&public, b"", &sig)]));
    }

    /// The byte test for canonical encodings agrees with re-encoding the decoded point, on the
    /// edge cases (y >= p, x = 0 with the sign bit) and on a sweep of pseudo-random strings.
    #[test]
    fn canonical_encoding_test_agrees_with_re_encoding() {
        let agrees = |b: [u8; 32]| {
            if let Some(point) = CompressedEdwardsY(b).decompress() {
                assert_eq!(is_canonical_encoding(&b), point.compress().to_bytes() == b, "{b:02x?}");
                true
            } else {
                false
            }
        };
        let mut edge = Vec::new();
        for low in 0..=0xffu8 {
            let mut y = [0xff; 32];
            y[0] = low;
            y[31] = 0x7f; // values around p = 2^255 - 19
            edge.push(y);
            let mut small = [0u8; 32];
            small[0] = low; // small y
            edge.push(small);
        }
        for mut b in edge.clone() {
            b[31] |= 0x80; // the same with the sign bit
            edge.push(b);
        }
        let decodable = edge.into_iter().filter(|b| agrees(*b)).count();
        assert!(decodable > 100, "{decodable}");
        let mut state = [7u8; 32];
        let mut decoded = 0;
        for _ in 0..4000 {
            state = Sha512::digest(state)[..32].try_into().unwrap();
            decoded += usize::from(agrees(state));
        }
        assert!(decoded > 1000, "{decoded}");
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn hex32(s: &str) -> [u8; 32] {
        hex(s).try_into().unwrap()
    }
}
