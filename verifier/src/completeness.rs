//! Complete histories (完整性承诺): the log's published map of every firm's chain head, and the
//! check that a firm's bundle leaves nothing out at the end of its history.
//!
//! A firm's chain (each entry about the firm names the leaf hash of the one before) proves that
//! nothing was left out *between* two entries of a bundle, but not that the bundle reaches the
//! firm's newest entry: a server could serve an honest but truncated chain, or none. So the
//! server publishes, at intervals and whenever a firm's bundle needs one, an entry of kind
//! [`HEADS_KIND`] signed by the grader: the root of a map ([`crate::heads`]) from each firm to its
//! chain head (the leaf hash of its newest entry below the map's `size`, and how many entries its
//! chain had there). The map is keyed by the ECVRF output ([`crate::vrf`], RFC 9381) of the
//! firm's USCC under the registry's VRF key, so the map names no firm: only the holder of the VRF
//! secret can find a firm's key, and the VRF proof in the firm's bundle shows the key is the one
//! and only key of that USCC.
//!
//! A bundle's [`Completeness`] carries the VRF proof and the map proof; [`check`] then requires
//! that the firm's entries below the map's size in the bundle are exactly as many as the map
//! says, ending at the head it names (or that the map proves the firm absent and the bundle has
//! none). The VRF key is fixed by the log's first map ([`HeadsMap::previous`] is `None` only
//! there), which the bundle carries too; monitors check that every later map keeps that key,
//! links to the map before it, and only appends to chains ([`crate::heads::audit_update`]).

use crate::heads::{self, Head, ProofJson};
use base64::prelude::*;
use serde::{Deserialize, Serialize};

/// Payload type of a map entry's envelope.
pub const HEADS_TYPE: &str = "application/vnd.creditlog.heads+json";
/// Entry kind of a published map.
pub const HEADS_KIND: &str = "heads/published";
/// The value of a map payload's `type`.
pub const HEADS_FORMAT: &str = "creditlog.heads/v1";

/// A published map of chain heads, as the grader signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadsMap {
    /// Always [`HEADS_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The map holds every firm's chain as it stood over the log's first `size` entries.
    pub size: u64,
    /// The map's root ([`crate::heads::Map::root`]), base64.
    pub root: String,
    /// How many firms the map holds.
    pub firms: u64,
    /// How many entries about firms the log has below `size`: the sum of every chain's length.
    pub entries: u64,
    /// The registry's VRF public key (RFC 9381 ECVRF-EDWARDS25519-SHA512-TAI), base64.
    pub vrf_key: String,
    /// The index of the map entry before this one; `None` only for the log's first map.
    pub previous: Option<u64>,
}

impl HeadsMap {
    /// Parses a map payload.
    ///
    /// # Errors
    ///
    /// What is malformed.
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        let m: Self = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        if m.kind != HEADS_FORMAT {
            return Err(format!("type must be {HEADS_FORMAT:?}, not {:?}", m.kind));
        }
        m.root_bytes()?;
        m.vrf_key_bytes()?;
        Ok(m)
    }

    /// The root, decoded.
    ///
    /// # Errors
    ///
    /// If it is not 32 bytes of base64.
    pub fn root_bytes(&self) -> Result<[u8; 32], String> {
        b32(&self.root).ok_or_else(|| format!("root {:?} is not 32 bytes of base64", self.root))
    }

    /// The VRF key, decoded.
    ///
    /// # Errors
    ///
    /// If it is not 32 bytes of base64.
    pub fn vrf_key_bytes(&self) -> Result<[u8; 32], String> {
        b32(&self.vrf_key).ok_or_else(|| format!("vrf_key {:?} is not 32 bytes of base64", self.vrf_key))
    }
}

fn b32(s: &str) -> Option<[u8; 32]> {
    BASE64_STANDARD.decode(s).ok().and_then(|b| b.try_into().ok())
}

/// What a whole-history bundle carries to prove that it leaves nothing out at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Completeness {
    /// Index of the map entry the proof is against (in the bundle's entries).
    pub map_index: u64,
    /// Index of the log's first map entry, which fixes the VRF key (in the bundle's entries).
    pub first_map_index: u64,
    /// The ECVRF proof (80 bytes, base64) for the firm's USCC under the map's VRF key.
    pub vrf_proof: String,
    /// The map proof for the firm's key: its head, or that it has none.
    pub proof: ProofJson,
}

/// A map entry as the bundle shows it.
#[derive(Debug, Clone, Copy)]
pub struct MapEntry<'a> {
    /// Its log index.
    pub index: u64,
    /// Its payload.
    pub map: &'a HeadsMap,
}

/// What [`check`] established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Established {
    /// The map's size: the bundle holds every entry about the firm below it.
    pub size: u64,
    /// The firm's chain length there.
    pub length: u64,
}

/// Checks a bundle's completeness proof for `subject`, given the map entries it names and the
/// firm's chain in the bundle as (index, leaf hash), by index.
///
/// # Errors
///
/// What does not hold, in one sentence.
pub fn check(
    subject: &str,
    completeness: &Completeness,
    map: MapEntry<'_>,
    first: MapEntry<'_>,
    chain: &[(u64, [u8; 32])],
) -> Result<Established, String> {
    if first.map.previous.is_some() {
        return Err(format!(
            "entry {} is given as the log's first map of chain heads, but it names an earlier map ({})",
            first.index,
            first.map.previous.unwrap_or_default()
        ));
    }
    if first.index > map.index {
        return Err(format!("the first map (entry {}) comes after the map used (entry {})", first.index, map.index));
    }
    if map.map.vrf_key != first.map.vrf_key {
        return Err(format!(
            "the map at entry {} keys firms with another VRF key than the log's first map (entry {}): a server that changes the key can hide a firm's newest entries",
            map.index, first.index
        ));
    }
    if map.map.size > map.index {
        return Err(format!(
            "the map at entry {} claims to cover {} entries, more than came before it",
            map.index, map.map.size
        ));
    }
    let vrf_key = map.map.vrf_key_bytes()?;
    let pi: [u8; crate::vrf::PROOF_LEN] = BASE64_STANDARD
        .decode(&completeness.vrf_proof)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("the VRF proof is not 80 bytes of base64")?;
    let beta = crate::vrf::verify(&vrf_key, subject.as_bytes(), &pi)
        .map_err(|e| format!("the VRF proof for {subject} does not hold under the map's key: {e}"))?;
    let key = heads::map_key(&beta);
    let proof = heads::Proof::try_from(&completeness.proof).map_err(|e| format!("the map proof is malformed: {e}"))?;
    let root = map.map.root_bytes()?;
    let found = heads::verify(&root, &key, &proof)
        .map_err(|e| format!("the map proof does not lead to the root the map entry {} signs: {e}", map.index))?;
    let below: Vec<&(u64, [u8; 32])> = chain.iter().filter(|(i, _)| *i < map.map.size).collect();
    match found {
        None if below.is_empty() => Ok(Established { size: map.map.size, length: 0 }),
        None => Err(format!(
            "the map at entry {} says {subject} had no entries below entry {}, but the bundle shows {}",
            map.index,
            map.map.size,
            below.len()
        )),
        Some(Head { leaf, length }) => {
            let shown = below.len() as u64;
            if shown != length {
                return Err(format!(
                    "the map at entry {} says {subject} had {length} entr{} below entry {}; the bundle shows {shown}: {}",
                    map.index,
                    if length == 1 { "y" } else { "ies" },
                    map.map.size,
                    if shown < length {
                        "entries at the end of its history were left out"
                    } else {
                        "the bundle holds entries the map does not count"
                    }
                ));
            }
            if below.last().map(|(_, l)| *l) != Some(leaf) {
                return Err(format!(
                    "the map at entry {} names another entry as {subject}'s newest below entry {}: the bundle's history ends elsewhere",
                    map.index, map.map.size
                ));
            }
            Ok(Established { size: map.map.size, length })
        }
    }
}
