//! A verifiable random function: ECVRF-EDWARDS25519-SHA512-TAI of RFC 9381 (suite string `0x03`).
//!
//! The holder of a secret key computes, for any input `alpha`, a 64-byte output `beta` and an
//! 80-byte proof `pi`. Anyone with the public key can check the proof and learn `beta`, but no
//! one without the secret key can compute `beta`, or guess which `alpha` gave it. The registry
//! uses it to turn a firm's USCC into a map key that reveals nothing about the code
//! ([`crate::heads`]).
//!
//! The construction follows RFC 9381 §5.1–§5.4 to the letter, with `B` the Ed25519 base point,
//! `L` its prime order and the cofactor 8:
//!
//! - **Keys** (RFC 8032 §5.1.5): `x` is the first half of `SHA-512(SK)`, clamped; `Y = x·B`; the
//!   public key is the encoding of `Y`.
//! - **Encode to curve** (§5.4.1.1, try-and-increment, salt = the public key bytes): for
//!   `ctr = 0, 1, …`, the first 32 bytes of
//!   `SHA-512(0x03 || 0x01 || PK || alpha || ctr || 0x00)` are decoded as a point; the first that
//!   decodes, multiplied by 8, is `H`.
//! - **Nonce** (§5.4.2.2): `k = SHA-512(second half of SHA-512(SK) || encode(H))` mod `L`.
//! - **Challenge** (§5.4.3): `c` is the first 16 bytes of
//!   `SHA-512(0x03 || 0x02 || Y || H || Gamma || U || V || 0x00)`, little-endian.
//! - **Proof** (§5.1): `Gamma = x·H`, `s = k + c·x mod L`, `pi = Gamma || c || s`
//!   (32 + 16 + 32 bytes, integers little-endian).
//! - **Output** (§5.2): `beta = SHA-512(0x03 || 0x03 || encode(8·Gamma) || 0x00)`.
//! - **Verification** (§5.3, with `validate_key`): the public key must decode and not be of small
//!   order; `Gamma` must decode; `s` must be below `L`; with `U = s·B − c·Y` and
//!   `V = s·H − c·Gamma` the recomputed challenge must equal `c`.
//!
//! Point decoding is RFC 8032 §5.1.3's, which refuses non-canonical encodings (`y ≥ 2^255 − 19`,
//! or `x = 0` with the sign bit set): a point is accepted only if re-encoding it gives back the
//! same bytes.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::{clamp_integer, Scalar};
use curve25519_dalek::traits::VartimeMultiscalarMul;
use sha2::{Digest, Sha512};

/// The length in bytes of a proof: `Gamma` (32), `c` (16) and `s` (32).
pub const PROOF_LEN: usize = 80;

/// The suite string of ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381 §5.5).
const SUITE: u8 = 0x03;

/// The length of the challenge `c` in bytes (RFC 9381 §5.5, `cLen`).
const C_LEN: usize = 16;

/// Why a VRF public key or proof is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VrfError {
    /// The public key bytes do not decode to a point of the Ed25519 curve.
    #[error("the VRF public key is not a valid point of the Ed25519 curve")]
    KeyNotAPoint,
    /// The public key is one of the 8 points of small order, with which proofs prove nothing.
    #[error("the VRF public key is a point of small order, with which any output could be proved")]
    KeySmallOrder,
    /// The proof's first 32 bytes (`Gamma`) do not decode to a point of the curve.
    #[error("the VRF proof is malformed: its first 32 bytes (Gamma) are not a valid point of the Ed25519 curve")]
    GammaNotAPoint,
    /// The proof's last 32 bytes (`s`) are not below the group order, so the proof is malleable.
    #[error(
        "the VRF proof is malformed: its last 32 bytes (s) are not a canonical scalar (s is not below the group order)"
    )]
    ScalarNotCanonical,
    /// The proof is well formed but does not match the public key and input.
    #[error("the VRF proof does not verify: it was not made with this key for this input")]
    DoesNotVerify,
}

/// Hashes the secret key with SHA-512 (RFC 8032 §5.1.5 step 1).
fn expand_secret(secret: &[u8; 32]) -> [u8; 64] {
    Sha512::digest(secret).into()
}

/// The secret scalar `x`: the clamped first half of `SHA-512(SK)`, reduced mod `L`. Every point
/// it multiplies lies in the prime-order subgroup, so the reduction changes no result.
fn secret_scalar(expanded: &[u8; 64]) -> Scalar {
    let mut low = [0u8; 32];
    low.copy_from_slice(&expanded[..32]);
    Scalar::from_bytes_mod_order(clamp_integer(low))
}

/// Decodes a point as RFC 8032 §5.1.3 does, refusing non-canonical encodings.
fn decode_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    let point = CompressedEdwardsY(*bytes).decompress()?;
    (point.compress().to_bytes() == *bytes).then_some(point)
}

/// The public key for a 32-byte secret key (RFC 8032 §5.1.5): the encoding of `x·B`.
pub fn public_key(secret: &[u8; 32]) -> [u8; 32] {
    let x = secret_scalar(&expand_secret(secret));
    EdwardsPoint::mul_base(&x).compress().to_bytes()
}

/// ECVRF_encode_to_curve_try_and_increment (RFC 9381 §5.4.1.1) with the public key bytes as salt.
fn encode_to_curve(public: &[u8; 32], alpha: &[u8]) -> EdwardsPoint {
    // The loop ends after two tries on average; each try fails with probability about 1/2.
    // Running past 255 happens with probability 2^-256, and then the RFC's one-byte counter
    // cannot go on; we follow the RFC's description, which simply never gets there.
    let mut ctr: u8 = 0;
    loop {
        let digest = Sha512::new()
            .chain_update([SUITE, 0x01])
            .chain_update(public)
            .chain_update(alpha)
            .chain_update([ctr, 0x00])
            .finalize();
        let mut candidate = [0u8; 32];
        candidate.copy_from_slice(&digest[..32]);
        if let Some(point) = decode_point(&candidate) {
            return point.mul_by_cofactor();
        }
        ctr = ctr.checked_add(1).expect("try-and-increment found no point in 256 tries (probability 2^-256)");
    }
}

/// The encoding of the point `H` that RFC 9381 §5.4.1.1 derives from a public key and an input,
/// for tests against the RFC's intermediate values. Always `Some`.
#[cfg(test)]
pub(crate) fn hash_to_curve(public: &[u8; 32], alpha: &[u8]) -> Option<[u8; 32]> {
    Some(encode_to_curve(public, alpha).compress().to_bytes())
}

/// ECVRF_challenge_generation (RFC 9381 §5.4.3): the first 16 bytes of the hash, as a scalar.
fn challenge(points: [&EdwardsPoint; 5]) -> [u8; C_LEN] {
    let mut hasher = Sha512::new().chain_update([SUITE, 0x02]);
    for point in points {
        hasher.update(point.compress().as_bytes());
    }
    hasher.update([0x00]);
    let digest = hasher.finalize();
    let mut c = [0u8; C_LEN];
    c.copy_from_slice(&digest[..C_LEN]);
    c
}

/// A 16-byte little-endian integer as a scalar (it is below `L`, so no reduction happens).
fn challenge_scalar(c: &[u8; C_LEN]) -> Scalar {
    let mut wide = [0u8; 32];
    wide[..C_LEN].copy_from_slice(c);
    Scalar::from_bytes_mod_order(wide)
}

/// Computes the proof `pi` for input `alpha` under a 32-byte secret key (RFC 9381 §5.1). The
/// output `beta` is [`proof_to_hash`] of the proof. Deterministic: the same key and input always
/// give the same proof.
pub fn prove(secret: &[u8; 32], alpha: &[u8]) -> [u8; PROOF_LEN] {
    let expanded = expand_secret(secret);
    let x = secret_scalar(&expanded);
    let y = EdwardsPoint::mul_base(&x);
    let public = y.compress().to_bytes();
    let h = encode_to_curve(&public, alpha);
    let h_string = h.compress().to_bytes();
    let gamma = h * x;
    // Nonce generation, RFC 9381 §5.4.2.2.
    let k_string: [u8; 64] = Sha512::new().chain_update(&expanded[32..]).chain_update(h_string).finalize().into();
    let k = Scalar::from_bytes_mod_order_wide(&k_string);
    let u = EdwardsPoint::mul_base(&k);
    let v = h * k;
    let c = challenge([&y, &h, &gamma, &u, &v]);
    let s = k + challenge_scalar(&c) * x;
    let mut pi = [0u8; PROOF_LEN];
    pi[..32].copy_from_slice(gamma.compress().as_bytes());
    pi[32..48].copy_from_slice(&c);
    pi[48..].copy_from_slice(s.as_bytes());
    pi
}

/// ECVRF_decode_proof (RFC 9381 §5.4.4): `Gamma`, `c` and `s`, refusing a `Gamma` that does not
/// decode and an `s` not below `L`.
fn decode_proof(pi: &[u8; PROOF_LEN]) -> Result<(EdwardsPoint, [u8; C_LEN], Scalar), VrfError> {
    let mut gamma_bytes = [0u8; 32];
    gamma_bytes.copy_from_slice(&pi[..32]);
    let gamma = decode_point(&gamma_bytes).ok_or(VrfError::GammaNotAPoint)?;
    let mut c = [0u8; C_LEN];
    c.copy_from_slice(&pi[32..48]);
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&pi[48..]);
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)).ok_or(VrfError::ScalarNotCanonical)?;
    Ok((gamma, c, s))
}

/// The output `beta` of a proof (RFC 9381 §5.2), without checking the proof against a key: use
/// [`verify`] to learn `beta` from an untrusted proof.
pub fn proof_to_hash(pi: &[u8; PROOF_LEN]) -> Result<[u8; 64], VrfError> {
    let (gamma, _, _) = decode_proof(pi)?;
    Ok(gamma_to_hash(&gamma))
}

/// `SHA-512(suite || 0x03 || encode(8·Gamma) || 0x00)`.
fn gamma_to_hash(gamma: &EdwardsPoint) -> [u8; 64] {
    Sha512::new()
        .chain_update([SUITE, 0x03])
        .chain_update(gamma.mul_by_cofactor().compress().as_bytes())
        .chain_update([0x00])
        .finalize()
        .into()
}

/// Checks the proof `pi` for input `alpha` under `public` (RFC 9381 §5.3, with key validation,
/// §5.4.5) and returns the output `beta` if the proof is valid.
pub fn verify(public: &[u8; 32], alpha: &[u8], pi: &[u8; PROOF_LEN]) -> Result<[u8; 64], VrfError> {
    let y = decode_point(public).ok_or(VrfError::KeyNotAPoint)?;
    if y.is_small_order() {
        return Err(VrfError::KeySmallOrder);
    }
    let (gamma, c, s) = decode_proof(pi)?;
    let h = encode_to_curve(public, alpha);
    let c_scalar = challenge_scalar(&c);
    // U = s·B − c·Y and V = s·H − c·Gamma, computed as s·B + c·(−Y) and s·H + c·(−Gamma) so that
    // the integer c multiplies the points even when they carry a torsion component.
    let u = EdwardsPoint::vartime_double_scalar_mul_basepoint(&c_scalar, &(-y), &s);
    let v = EdwardsPoint::vartime_multiscalar_mul([s, c_scalar], [h, -gamma]);
    if challenge([&y, &h, &gamma, &u, &v]) != c {
        return Err(VrfError::DoesNotVerify);
    }
    Ok(gamma_to_hash(&gamma))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Vector {
        sk: &'static str,
        pk: &'static str,
        alpha: &'static str,
        h: &'static str,
        pi: &'static str,
        beta: &'static str,
    }

    /// RFC 9381 Appendix B.3, examples 16, 17 and 18.
    const VECTORS: [Vector; 3] = [
        Vector {
            sk: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            pk: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            alpha: "",
            h: "91bbed02a99461df1ad4c6564a5f5d829d0b90cfc7903e7a5797bd658abf3318",
            pi: "8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f26f8a57ccaed74ee1b190bed1f479d9727d2d0f9b005a6e456a35d4fb0daab1268a1b0db10836d9826a528ca76567805",
            beta: "90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff66b71dda49d2de59d03450451af026798e8f81cd2e333de5cdf4f3e140fdd8ae",
        },
        Vector {
            sk: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            pk: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            alpha: "72",
            h: "5b659fc3d4e9263fd9a4ed1d022d75eaacc20df5e09f9ea937502396598dc551",
            pi: "f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed5933bf0864a62558b3ed7f2fea45c92a465301b3bbf5e3e54ddf2d935be3b67926da3ef39226bbc355bdc9850112c8f4b02",
            beta: "eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb5e33821bc613efb94db5e5b54c70a848a0bef4553a41befc57663b56373a5031",
        },
        Vector {
            sk: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            pk: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            alpha: "af82",
            h: "bf4339376f5542811de615e3313d2b36f6f53c0acfebb482159711201192576a",
            pi: "9bc0f79119cc5604bf02d23b4caede71393cedfbb191434dd016d30177ccbf8096bb474e53895c362d8628ee9f9ea3c0e52c7a5c691b6c18c9979866568add7a2d41b00b05081ed0f58ee5e31b3a970e",
            beta: "645427e5d00c62a23fb703732fa5d892940935942101e456ecca7bb217c61c452118fec1219202a0edcf038bb6373241578be7217ba85a2687f7a0310b2df19f",
        },
    ];

    fn arr<const N: usize>(hex_str: &str) -> [u8; N] {
        hex::decode(hex_str).expect("hex").try_into().expect("length")
    }

    struct Decoded {
        sk: [u8; 32],
        pk: [u8; 32],
        alpha: Vec<u8>,
        h: [u8; 32],
        pi: [u8; 80],
        beta: [u8; 64],
    }

    fn decoded(v: &Vector) -> Decoded {
        Decoded {
            sk: arr(v.sk),
            pk: arr(v.pk),
            alpha: hex::decode(v.alpha).expect("hex"),
            h: arr(v.h),
            pi: arr(v.pi),
            beta: arr(v.beta),
        }
    }

    /// `s + L` as 32 little-endian bytes (fits: s < L < 2^253).
    fn add_order(s: &[u8]) -> [u8; 32] {
        // L = 2^252 + 27742317777372353535851937790883648493, little-endian.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut out = [0u8; 32];
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = s[i] as u16 + L[i] as u16 + carry;
            out[i] = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        out
    }

    #[test]
    fn rfc_9381_known_answers() {
        for v in VECTORS.iter().map(decoded) {
            assert_eq!(public_key(&v.sk), v.pk, "public key");
            assert_eq!(hash_to_curve(&v.pk, &v.alpha), Some(v.h), "H");
            assert_eq!(prove(&v.sk, &v.alpha), v.pi, "pi");
            assert_eq!(proof_to_hash(&v.pi), Ok(v.beta), "beta");
            assert_eq!(verify(&v.pk, &v.alpha, &v.pi), Ok(v.beta), "verify");
        }
    }

    #[test]
    fn verify_refuses_flipped_bits() {
        for v in VECTORS.iter().map(decoded) {
            // One bit in each of Gamma (bytes 0..32), c (32..48) and s (48..80), at several places.
            for byte in [0, 5, 17, 31, 32, 40, 47, 48, 60, 78, 79] {
                for bit in [0, 3, 6] {
                    let mut pi = v.pi;
                    pi[byte] ^= 1 << bit;
                    assert!(verify(&v.pk, &v.alpha, &pi).is_err(), "byte {byte} bit {bit} accepted");
                }
            }
        }
    }

    #[test]
    fn verify_refuses_other_inputs_and_keys() {
        let all: Vec<Decoded> = VECTORS.iter().map(decoded).collect();
        for (i, v) in all.iter().enumerate() {
            let mut other_alpha = v.alpha.clone();
            other_alpha.push(0);
            assert_eq!(verify(&v.pk, &other_alpha, &v.pi), Err(VrfError::DoesNotVerify));
            let other = &all[(i + 1) % all.len()];
            assert_eq!(verify(&other.pk, &v.alpha, &v.pi), Err(VrfError::DoesNotVerify));
        }
    }

    #[test]
    fn verify_refuses_small_order_and_invalid_keys() {
        let v = decoded(&VECTORS[0]);
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(verify(&identity, &v.alpha, &v.pi), Err(VrfError::KeySmallOrder));
        // The point of order 2, (0, -1): y = p - 1.
        let mut order_two = [0xffu8; 32];
        order_two[0] = 0xec;
        order_two[31] = 0x7f;
        assert_eq!(verify(&order_two, &v.alpha, &v.pi), Err(VrfError::KeySmallOrder));
        // y = 2 is not on the curve.
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        assert_eq!(verify(&not_a_point, &v.alpha, &v.pi), Err(VrfError::KeyNotAPoint));
        // A non-canonical encoding of the identity: y = p + 1.
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        assert_eq!(verify(&non_canonical, &v.alpha, &v.pi), Err(VrfError::KeyNotAPoint));
    }

    #[test]
    fn verify_refuses_non_canonical_s_and_bad_gamma() {
        for v in VECTORS.iter().map(decoded) {
            let mut pi = v.pi;
            let s_plus_l = add_order(&v.pi[48..]);
            pi[48..].copy_from_slice(&s_plus_l);
            assert_eq!(verify(&v.pk, &v.alpha, &pi), Err(VrfError::ScalarNotCanonical));
            assert_eq!(proof_to_hash(&pi), Err(VrfError::ScalarNotCanonical));

            let mut pi = v.pi;
            pi[..32].copy_from_slice(&{
                let mut y2 = [0u8; 32];
                y2[0] = 2;
                y2
            });
            assert_eq!(verify(&v.pk, &v.alpha, &pi), Err(VrfError::GammaNotAPoint));
            assert_eq!(proof_to_hash(&pi), Err(VrfError::GammaNotAPoint));
        }
    }

    #[test]
    fn prove_then_verify_round_trips() {
        for seed in 0u8..8 {
            let sk = [seed.wrapping_mul(37).wrapping_add(1); 32];
            let pk = public_key(&sk);
            let alpha = [seed; 5];
            let pi = prove(&sk, &alpha);
            let beta = verify(&pk, &alpha, &pi).expect("own proof verifies");
            assert_eq!(proof_to_hash(&pi), Ok(beta));
        }
    }
}
