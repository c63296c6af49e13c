//! Adversarial vectors for the signature acceptance rule (docs/FORMAT.md §8), stored as data in
//! `testdata/ed25519-acceptance.json` and regenerated here by construction: each vector's
//! expected outcome is the clause it was built to break, not what our code says. Two other
//! implementations are recorded beside ours to show why the rule exists: ed25519-dalek's
//! non-strict `verify` (which the log used to call) and ed25519-consensus (ZIP-215, used as an
//! independent oracle for the equation). Regenerate with
//! `REGENERATE=1 cargo test -p verifier --test signature_rule`.

use base64::prelude::*;
use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};
use verifier::identity::{decode_key, IdentityError};
use verifier::signature::{check_public_key, verify, verify_batch, SignatureError};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/ed25519-acceptance.json");

/// The 8 points of small order, canonically encoded (Chalkias et al., "Taming the many EdDSAs",
/// table 6; libsodium's blocklist): order 1, 2, 4, 4 and four of order 8.
const SMALL_ORDER: [&str; 8] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
];

/// The group order L, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Vectors {
    #[serde(rename = "@generated")]
    generated: String,
    cases: Vec<Case>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Case {
    name: String,
    public: String,
    message: String,
    signature: String,
    /// `accept`, or the name of the `SignatureError` variant of the clause the case breaks.
    expect: String,
    /// What ed25519-dalek's non-strict `VerifyingKey::verify` says.
    dalek_verify: bool,
    /// What ed25519-consensus (ZIP-215) says.
    zip215: bool,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn scalar(label: &str) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&Sha512::digest(label.as_bytes()).into())
}

fn k(r: &[u8; 32], a: &[u8; 32], m: &[u8]) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&Sha512::new().chain_update(r).chain_update(a).chain_update(m).finalize().into())
}

/// `R_bytes || S` with `S = r + k·a` (r may be zero for a forged nonce).
fn sign(r_bytes: [u8; 32], r: Scalar, a: Scalar, public: &[u8; 32], m: &[u8]) -> [u8; 64] {
    let s = r + k(&r_bytes, public, m) * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_bytes);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

/// The encoding of y = p + t (non-canonical: y >= p), sign bit `sign`.
fn y_above_p(t: u8, sign: bool) -> [u8; 32] {
    let mut y = [0xffu8; 32];
    y[0] = 0xed + t; // p = 2^255 - 19 = ed ff .. ff 7f, little-endian
    y[31] = 0x7f | if sign { 0x80 } else { 0 };
    y
}

fn dalek_verify(public: &[u8; 32], m: &[u8], sig: &[u8; 64]) -> bool {
    use ed25519_dalek::Verifier;
    ed25519_dalek::VerifyingKey::from_bytes(public)
        .and_then(|k| k.verify(m, &ed25519_dalek::Signature::from_bytes(sig)))
        .is_ok()
}

fn zip215(public: &[u8; 32], m: &[u8], sig: &[u8; 64]) -> bool {
    ed25519_consensus::VerificationKey::try_from(*public)
        .and_then(|k| k.verify(&ed25519_consensus::Signature::from(*sig), m))
        .is_ok()
}

fn case(name: &str, public: [u8; 32], message: &[u8], signature: [u8; 64], expect: &str) -> Case {
    Case {
        name: name.to_owned(),
        public: hex(&public),
        message: hex(message),
        signature: hex(&signature),
        expect: expect.to_owned(),
        dalek_verify: dalek_verify(&public, message, &signature),
        zip215: zip215(&public, message, &signature),
    }
}

/// Builds every vector from fixed labels: the same output on every run.
fn generate() -> Vectors {
    let mut cases = Vec::new();
    let m = b"creditlog record".as_slice();
    let keypair = |label: &str| {
        let a = scalar(label);
        (a, (a * B).compress().to_bytes())
    };
    // Honest signatures.
    for i in 0..4 {
        let (a, public) = keypair(&format!("key {i}"));
        let r = scalar(&format!("nonce {i}"));
        let msg = format!("message {i}").into_bytes();
        cases.push(case(
            &format!("valid-{i}"),
            public,
            &msg,
            sign((r * B).compress().to_bytes(), r, a, &public, &msg),
            "accept",
        ));
    }
    let (a, public) = keypair("key 0");
    let r = scalar("nonce 0");
    let good = sign((r * B).compress().to_bytes(), r, a, &public, m);
    cases.push(case("valid-signature-other-message", public, b"creditlog recorD", good, "Equation"));
    // Mixed-order key and nonce: a prime-order point plus a point of order 8. Accepted: the
    // cofactored equation ignores the torsion part, the same way alone and in a batch.
    let mixed_a = a * B + EIGHT_TORSION[1];
    let mixed_public = mixed_a.compress().to_bytes();
    cases.push(case(
        "mixed-order-key",
        mixed_public,
        m,
        sign((r * B).compress().to_bytes(), r, a, &mixed_public, m),
        "accept",
    ));
    let mixed_r = (r * B + EIGHT_TORSION[3]).compress().to_bytes();
    cases.push(case("mixed-order-nonce", public, m, sign(mixed_r, r, a, &public, m), "accept"));
    // Small-order keys: R = identity, S = 0 satisfies the cofactored equation for any message,
    // and ed25519-dalek's non-strict equation for A = identity: the classic forgery.
    let identity = SMALL_ORDER[0];
    for (i, t) in SMALL_ORDER.iter().enumerate() {
        let t: [u8; 32] = unhex(t).try_into().unwrap();
        let forged = sign(unhex(identity).try_into().unwrap(), Scalar::ZERO, Scalar::ZERO, &t, m);
        cases.push(case(&format!("small-order-key-{i}-forgery"), t, m, forged, "KeySmallOrder"));
    }
    // Small-order R under an honest key: S = k·a (no nonce at all).
    for (i, t) in [SMALL_ORDER[0], SMALL_ORDER[4]].iter().enumerate() {
        let t: [u8; 32] = unhex(t).try_into().unwrap();
        cases.push(case(
            &format!("small-order-nonce-{i}"),
            public,
            m,
            sign(t, Scalar::ZERO, a, &public, m),
            "NonceSmallOrder",
        ));
    }
    // Non-canonical S: S + L verifies like S in the equation.
    let mut s_plus_l = good;
    let mut carry = 0u16;
    for (byte, l) in s_plus_l[32..].iter_mut().zip(L) {
        let sum = u16::from(*byte) + u16::from(l) + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
    cases.push(case("non-canonical-s-plus-l", public, m, s_plus_l, "ScalarNotCanonical"));
    // Non-canonical R: the identity with the sign bit set, and y = p + 1 (also the identity),
    // with S = k·a: the cofactored equation holds on the decoded point.
    let mut identity_signed = [0u8; 32];
    identity_signed[0] = 1;
    identity_signed[31] = 0x80;
    cases.push(case(
        "non-canonical-nonce-x0-sign",
        public,
        m,
        sign(identity_signed, Scalar::ZERO, a, &public, m),
        "NonceNotCanonical",
    ));
    cases.push(case(
        "non-canonical-nonce-y-above-p",
        public,
        m,
        sign(y_above_p(1, false), Scalar::ZERO, a, &public, m),
        "NonceNotCanonical",
    ));
    // y = p + t for the first t whose point exists and is not of small order.
    let (t, big) = (2..19)
        .find_map(|t| {
            let p = CompressedEdwardsY(y_above_p(t, false)).decompress()?;
            (!p.is_small_order()).then_some((t, p))
        })
        .expect("one exists");
    let mut forged_r = good;
    forged_r[..32].copy_from_slice(&y_above_p(t, false));
    cases.push(case("non-canonical-nonce-large-order", public, m, forged_r, "NonceNotCanonical"));
    // Non-canonical keys: encodings of the identity (forgery as above) and of a large-order point.
    let forged = sign(unhex(identity).try_into().unwrap(), Scalar::ZERO, Scalar::ZERO, &identity_signed, m);
    cases.push(case("non-canonical-key-x0-sign-forgery", identity_signed, m, forged, "KeyNotCanonical"));
    let forged = sign(unhex(identity).try_into().unwrap(), Scalar::ZERO, Scalar::ZERO, &y_above_p(1, false), m);
    cases.push(case("non-canonical-key-y-above-p-forgery", y_above_p(1, false), m, forged, "KeyNotCanonical"));
    assert_eq!(big.compress().as_bytes()[0], t, "y = p + t decodes to y = t");
    cases.push(case("non-canonical-key-large-order", y_above_p(t, false), m, good, "KeyNotCanonical"));
    // Not on the curve: the first y whose x² = (y² - 1)/(d·y² + 1) has no square root.
    let off_curve = (2..=255u8)
        .map(|y| {
            let mut b = [0u8; 32];
            b[0] = y;
            b
        })
        .find(|b| CompressedEdwardsY(*b).decompress().is_none())
        .expect("one exists");
    cases.push(case("key-not-on-curve", off_curve, m, good, "KeyNotOnCurve"));
    let mut off_r = good;
    off_r[..32].copy_from_slice(&off_curve);
    cases.push(case("nonce-not-on-curve", public, m, off_r, "NonceNotOnCurve"));
    Vectors {
        generated: "@generated by REGENERATE=1 cargo test -p verifier --test signature_rule; do not edit".into(),
        cases,
    }
}

fn stored() -> Vectors {
    serde_json::from_str(&std::fs::read_to_string(VECTORS).expect("testdata/ed25519-acceptance.json")).unwrap()
}

fn outcome(r: Result<(), SignatureError>) -> String {
    r.map_or_else(|e| format!("{e:?}"), |()| "accept".to_owned())
}

fn parts(c: &Case) -> ([u8; 32], Vec<u8>, [u8; 64]) {
    (unhex(&c.public).try_into().unwrap(), unhex(&c.message), unhex(&c.signature).try_into().unwrap())
}

#[test]
fn stored_vectors_are_what_the_generator_makes() {
    let fresh = generate();
    if std::env::var_os("REGENERATE").is_some() {
        std::fs::write(VECTORS, serde_json::to_string_pretty(&fresh).unwrap() + "\n").unwrap();
    }
    assert_eq!(stored(), fresh, "run REGENERATE=1 cargo test -p verifier --test signature_rule");
}

#[test]
fn small_order_table_is_the_eight_torsion_points() {
    // Independent of the rule: each entry decodes canonically and is killed by the cofactor,
    // and together they are the 8 distinct points of the torsion subgroup.
    let mut seen: Vec<[u8; 32]> = EIGHT_TORSION.iter().map(|p| p.compress().to_bytes()).collect();
    seen.sort();
    let mut table: Vec<[u8; 32]> = SMALL_ORDER.iter().map(|h| unhex(h).try_into().unwrap()).collect();
    table.sort();
    assert_eq!(seen, table);
}

#[test]
fn every_vector_gets_the_expected_outcome() {
    for c in stored().cases {
        let (public, message, sig) = parts(&c);
        assert_eq!(outcome(verify(&public, &message, &sig)), c.expect, "{}", c.name);
        assert_eq!(verify_batch(&[(&public, &message, &sig)]), c.expect == "accept", "{}", c.name);
        // Registration refuses exactly the keys the rule refuses.
        let key_check = outcome(check_public_key(&public).map(|_| ()));
        match decode_key(&BASE64_STANDARD.encode(public)) {
            Err(IdentityError::RefusedKey { reason, .. }) => assert_eq!(format!("{reason:?}"), key_check),
            Ok(_) => assert_eq!(key_check, "accept", "{}", c.name),
            Err(e) => panic!("{}: {e}", c.name),
        }
        if c.expect.starts_with("Key") {
            assert_eq!(key_check, c.expect, "{}", c.name);
        } else {
            assert_eq!(key_check, "accept", "{}", c.name);
        }
        // The other implementations still say what they said when the vectors were made.
        assert_eq!(dalek_verify(&public, &message, &sig), c.dalek_verify, "{}", c.name);
        assert_eq!(zip215(&public, &message, &sig), c.zip215, "{}", c.name);
        // Where A and R are canonical and not of small order, our equation is ZIP-215's.
        if c.expect == "accept" || c.expect == "Equation" {
            assert_eq!(c.zip215, c.expect == "accept", "{}: ed25519-consensus disagrees", c.name);
        }
    }
}

#[test]
fn the_classic_small_order_forgery_fools_plain_dalek_but_not_the_rule() {
    // A = identity (01 00..00), R = identity, S = 0: [S]B - [k]A = identity = R for any
    // message, so ed25519-dalek's non-strict verify accepts it; so does ZIP-215.
    let mut a = [0u8; 32];
    a[0] = 1;
    let mut sig = [0u8; 64];
    sig[0] = 1;
    for message in [b"pay 1 yuan".as_slice(), b"pay 1000000 yuan", b""] {
        assert!(dalek_verify(&a, message, &sig), "ed25519-dalek's non-strict verify accepts the forgery");
        assert!(zip215(&a, message, &sig));
        assert_eq!(verify(&a, message, &sig), Err(SignatureError::KeySmallOrder));
        assert!(!verify_batch(&[(&a, message, &sig)]));
    }
    assert_eq!(check_public_key(&a).err(), Some(SignatureError::KeySmallOrder));
    assert!(matches!(
        decode_key(&BASE64_STANDARD.encode(a)),
        Err(IdentityError::RefusedKey { reason: SignatureError::KeySmallOrder, .. })
    ));
    assert!(SignatureError::KeySmallOrder.to_string().contains("anyone can forge signatures"));
}

#[test]
fn batch_accepts_exactly_when_every_item_does() {
    let cases: Vec<([u8; 32], Vec<u8>, [u8; 64])> = stored().cases.iter().map(parts).collect();
    let alone: Vec<bool> = cases.iter().map(|(a, m, s)| verify(a, m, s).is_ok()).collect();
    assert!(alone.iter().filter(|ok| **ok).count() >= 6 && alone.iter().any(|ok| !ok));
    let check = |subset: &[usize]| {
        let items: Vec<(&[u8; 32], &[u8], &[u8; 64])> =
            subset.iter().map(|&i| (&cases[i].0, cases[i].1.as_slice(), &cases[i].2)).collect();
        assert_eq!(verify_batch(&items), subset.iter().all(|&i| alone[i]), "subset {subset:?}");
    };
    check(&[]);
    // Every subset of one and two items.
    for i in 0..cases.len() {
        for j in i..cases.len() {
            check(&[i, j]);
        }
    }
    // Random subsets, often all good: the good ones (including mixed-order key and nonce), plus
    // at most one adversarial item.
    let good: Vec<usize> = (0..cases.len()).filter(|&i| alone[i]).collect();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..300 {
        let mut subset: Vec<usize> = good.iter().copied().filter(|_| next() % 2 == 0).collect();
        if next() % 2 == 0 {
            let at = (next() as usize) % (subset.len() + 1);
            subset.insert(at, (next() as usize) % cases.len());
        }
        check(&subset);
    }
}
