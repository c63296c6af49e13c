//! The chain-head map: a verifiable map from a 32-byte key to a firm's chain head, as a
//! compressed sparse Merkle tree.
//!
//! At intervals the log publishes a commitment to every firm's chain head: the leaf hash of the
//! firm's newest entry and how many entries its chain has. Each head is filed under the first
//! 32 bytes of the VRF output (`beta`, [`crate::vrf`]) of the firm's USCC under the registry's VRF
//! key, so the map reveals no firm's code. A firm's bundle then proves its history complete up
//! to the map's size: the map holds this firm's head, and the bundle's chain ends at it.
//!
//! # Definitions
//!
//! - A key is [`Key`]` = [u8; 32]`, its bits read most-significant-bit first (bit 0 is the top
//!   bit of byte 0). Bit 0 chooses the root's child (0 = left, 1 = right); bit `i` chooses the
//!   child at depth `i + 1`.
//! - A head is a [`Head`]: `leaf`, the leaf hash of the firm's newest entry, and `length`, how
//!   many entries the firm's chain has.
//! - The **leaf node hash** of `key -> head` is
//!   `SHA-256(0x00 || "creditlog/v1/heads" || key || head.leaf || head.length as u64 big-endian)`
//!   (the domain string is the 18 ASCII bytes `creditlog/v1/heads`, with no length prefix or
//!   terminator).
//! - The **internal node hash** is `SHA-256(0x01 || left || right)`.
//! - An empty subtree's hash is 32 zero bytes; the empty map's root is 32 zero bytes.
//! - A subtree that holds exactly one leaf has that leaf's node hash (the leaf sits at the
//!   highest position where it is alone); a subtree with two or more leaves is an internal node,
//!   even if one child is empty.
//!
//! # Proofs
//!
//! A [`Proof`] for a key lists `siblings[i]`, the hash of the sibling at depth `i + 1` on the
//! key's path (`siblings[0]` is the child of the root not on the path), down to the point where
//! the path reaches the terminal at depth `siblings.len()`: an empty subtree, or a subtree with
//! exactly one leaf. If that leaf is the key's, the map holds the key; if the terminal is empty,
//! or its leaf is another key (sharing the key's first `siblings.len()` bits), the map does not
//! hold the key. [`verify`] recomputes the root from the terminal upward.
//!
//! # Audit
//!
//! [`audit_update`] checks that a map only appends to what the map before it held.

use std::collections::{HashMap, HashSet};

use base64::prelude::{Engine as _, BASE64_STANDARD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A map key: the first 32 bytes of a firm's VRF output ([`map_key`]).
pub type Key = [u8; 32];

/// The domain string of a leaf node hash.
const LEAF_DOMAIN: &[u8] = b"creditlog/v1/heads";

/// The most siblings a proof can have: one per bit of a key.
pub const MAX_DEPTH: usize = 256;

/// Subtrees holding more leaves than this have their hash kept in the map, so a proof never
/// hashes more than this many leaves per level.
const CACHE_THRESHOLD: usize = 64;

/// A firm's chain head: its newest entry and the length of its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The leaf hash (RFC 6962) of the firm's newest entry.
    pub leaf: [u8; 32],
    /// How many entries the firm's chain has.
    pub length: u64,
}

/// Why a map could not be built, a proof was refused, or a map update failed its audit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeadsError {
    /// The same key was given twice when building a map.
    #[error("the map cannot be built: key {key} is listed more than once")]
    DuplicateKey {
        /// The key, in hex.
        key: String,
    },
    /// The proof is longer than a key has bits.
    #[error("the map proof has {count} siblings, but a key has only 256 bits, so no proof can be that long")]
    TooManySiblings {
        /// How many siblings the proof has.
        count: usize,
    },
    /// The proof's terminal leaf is another key that does not share the path to the terminal.
    #[error("the proof shows a leaf that is not on this key's path")]
    LeafOffPath,
    /// Recomputing the root from the proof does not give the published root.
    #[error("the map proof does not lead to the published root: the proof or the head in it was altered, or it is for another key or map")]
    RootMismatch,
    /// A field of a proof's JSON form is not what it must be.
    #[error("the map proof's field {field} is invalid: {reason}")]
    BadField {
        /// The field, e.g. `siblings[3]` or `leaf.key`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A key of the earlier map is missing from the later one.
    #[error("key {key} is in the earlier map but missing from the later one, and keys are never removed")]
    KeyRemoved {
        /// The key, in hex (first 8 bytes).
        key: String,
    },
    /// A chain is shorter in the later map.
    #[error("the chain under key {key} shrank from {old} to {new} entries, and chains never shrink")]
    ChainShrank {
        /// The key, in hex (first 8 bytes).
        key: String,
        /// The chain's length in the earlier map.
        old: u64,
        /// The chain's length in the later map.
        new: u64,
    },
    /// A head moved although its chain kept its length.
    #[error("the head under key {key} changed although its chain did not grow")]
    HeadChangedWithoutGrowth {
        /// The key, in hex (first 8 bytes).
        key: String,
    },
    /// A chain grew but its head stayed where it was.
    #[error("the chain under key {key} grew but its head did not move to a new entry")]
    GrewWithoutNewHead {
        /// The key, in hex (first 8 bytes).
        key: String,
    },
    /// A key was added with a chain of no entries.
    #[error("key {key} was added with a chain of no entries, which has no head")]
    EmptyChain {
        /// The key, in hex (first 8 bytes).
        key: String,
    },
    /// A new or moved head is not one of the entries appended between the two maps.
    #[error("the new head under key {key} is not one of the entries appended between the two maps")]
    HeadNotAppended {
        /// The key, in hex (first 8 bytes).
        key: String,
    },
    /// Two keys were given the same new head.
    #[error("keys {first} and {second} were given the same new head, but an entry belongs to one firm's chain only")]
    SharedHead {
        /// One key, in hex (first 8 bytes).
        first: String,
        /// The other key, in hex (first 8 bytes).
        second: String,
    },
    /// The chains grew in total by a different number of entries than were appended.
    #[error("the chains grew by {grew} entries in total, but {appended} entries were appended between the two maps")]
    GrowthMismatch {
        /// The total growth of all chains.
        grew: u128,
        /// How many entries were appended.
        appended: usize,
    },
}

/// The first 8 bytes of a key in hex, for error messages.
fn short(key: &Key) -> String {
    format!("{}…", hex::encode(&key[..8]))
}

/// The map key for a VRF output: its first 32 bytes.
pub fn map_key(beta: &[u8; 64]) -> Key {
    let mut key = [0u8; 32];
    key.copy_from_slice(&beta[..32]);
    key
}

/// Bit `i` of a key, most-significant-bit first.
fn bit(key: &Key, i: usize) -> bool {
    (key[i / 8] >> (7 - i % 8)) & 1 == 1
}

/// The leaf node hash of `key -> head`:
/// `SHA-256(0x00 || "creditlog/v1/heads" || key || head.leaf || head.length big-endian)`.
pub fn leaf_node(key: &Key, head: &Head) -> [u8; 32] {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(LEAF_DOMAIN)
        .chain_update(key)
        .chain_update(head.leaf)
        .chain_update(head.length.to_be_bytes())
        .finalize()
        .into()
}

/// The internal node hash `SHA-256(0x01 || left || right)`.
fn internal_node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    Sha256::new().chain_update([0x01]).chain_update(left).chain_update(right).finalize().into()
}

/// A published snapshot of the chain-head map. Immutable once built.
#[derive(Debug, Clone)]
pub struct Map {
    /// The leaves, sorted by key, no key twice.
    leaves: Vec<(Key, Head)>,
    /// The root hash.
    root: [u8; 32],
    /// The hash of every subtree holding more than [`CACHE_THRESHOLD`] leaves, by its depth and
    /// the position of its first leaf in `leaves`.
    cache: HashMap<(u16, u32), [u8; 32]>,
}

/// The leaves in `leaves[lo..hi]` (sharing their first `depth` bits) whose bit `depth` is 0 come
/// first; returns where those with bit 1 start.
fn split(leaves: &[(Key, Head)], depth: usize, lo: usize, hi: usize) -> usize {
    lo + leaves[lo..hi].partition_point(|(key, _)| !bit(key, depth))
}

/// The hash of the subtree at `depth` holding `leaves[lo..hi]`, computed from the leaves.
/// Records in `cache`, when given, every subtree holding more than [`CACHE_THRESHOLD`] leaves.
fn subtree_hash(
    leaves: &[(Key, Head)],
    depth: usize,
    lo: usize,
    hi: usize,
    cache: &mut Option<&mut HashMap<(u16, u32), [u8; 32]>>,
) -> [u8; 32] {
    match hi - lo {
        0 => [0u8; 32],
        1 => leaf_node(&leaves[lo].0, &leaves[lo].1),
        count => {
            // Keys are distinct, so two leaves cannot reach depth 256 together.
            let mid = split(leaves, depth, lo, hi);
            let left = subtree_hash(leaves, depth + 1, lo, mid, cache);
            let right = subtree_hash(leaves, depth + 1, mid, hi, cache);
            let hash = internal_node(&left, &right);
            if count > CACHE_THRESHOLD {
                if let Some(cache) = cache {
                    cache.insert((depth as u16, lo as u32), hash);
                }
            }
            hash
        }
    }
}

impl Map {
    /// Builds the map from its leaves, in any order. Refuses a key given twice.
    pub fn build(mut leaves: Vec<(Key, Head)>) -> Result<Map, HeadsError> {
        assert!(leaves.len() <= u32::MAX as usize, "a chain-head map holds at most 2^32 - 1 firms");
        leaves.sort_unstable_by_key(|a| a.0);
        if let Some(pair) = leaves.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(HeadsError::DuplicateKey { key: hex::encode(pair[0].0) });
        }
        let mut cache = HashMap::new();
        let root = subtree_hash(&leaves, 0, 0, leaves.len(), &mut Some(&mut cache));
        Ok(Map { leaves, root, cache })
    }

    /// The map's root hash: what is published and signed.
    pub fn root(&self) -> [u8; 32] {
        self.root
    }

    /// How many keys the map holds.
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Whether the map holds no key.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// The head the map holds under `key`, if any.
    pub fn get(&self, key: &Key) -> Option<Head> {
        self.leaves.binary_search_by(|(k, _)| k.cmp(key)).ok().map(|i| self.leaves[i].1)
    }

    /// All the map's keys and heads, sorted by key.
    pub fn leaves(&self) -> &[(Key, Head)] {
        &self.leaves
    }

    /// The hash of the subtree at `depth` holding `leaves[lo..hi]`, from the cache when it holds
    /// more than [`CACHE_THRESHOLD`] leaves.
    fn node(&self, depth: usize, lo: usize, hi: usize) -> [u8; 32] {
        if hi - lo > CACHE_THRESHOLD {
            if let Some(hash) = self.cache.get(&(depth as u16, lo as u32)) {
                return *hash;
            }
        }
        subtree_hash(&self.leaves, depth, lo, hi, &mut None)
    }

    /// A proof that the map holds `key` (with its head), or that it does not hold it.
    pub fn prove(&self, key: &Key) -> Proof {
        let mut siblings = Vec::new();
        let (mut lo, mut hi) = (0, self.leaves.len());
        let mut depth = 0;
        while hi - lo > 1 {
            let mid = split(&self.leaves, depth, lo, hi);
            if bit(key, depth) {
                siblings.push(self.node(depth + 1, lo, mid));
                lo = mid;
            } else {
                siblings.push(self.node(depth + 1, mid, hi));
                hi = mid;
            }
            depth += 1;
        }
        let terminal = match hi - lo {
            0 => Terminal::Empty,
            _ => Terminal::Leaf { key: self.leaves[lo].0, head: self.leaves[lo].1 },
        };
        Proof { siblings, terminal }
    }
}

/// Where a proof's path ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Terminal {
    /// An empty subtree: the key is not in the map.
    Empty,
    /// A subtree holding exactly one leaf: the key's own (the key is in the map) or another key's
    /// (the key is not in the map).
    Leaf {
        /// The leaf's key.
        key: Key,
        /// The leaf's head.
        head: Head,
    },
}

/// A proof that a map holds a key, or that it does not (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The sibling hashes along the key's path, from the root's child downward.
    pub siblings: Vec<[u8; 32]>,
    /// Where the path ends, at depth `siblings.len()`.
    pub terminal: Terminal,
}

/// Checks a proof for `key` against `root`: `Ok(Some(head))` if the map holds `key -> head`,
/// `Ok(None)` if it proves the key absent; `Err` if the proof does not lead to the root or is
/// malformed.
pub fn verify(root: &[u8; 32], key: &Key, proof: &Proof) -> Result<Option<Head>, HeadsError> {
    let depth = proof.siblings.len();
    if depth > MAX_DEPTH {
        return Err(HeadsError::TooManySiblings { count: depth });
    }
    let (mut hash, found) = match &proof.terminal {
        Terminal::Empty => ([0u8; 32], None),
        Terminal::Leaf { key: leaf_key, head } => {
            if leaf_key == key {
                (leaf_node(leaf_key, head), Some(*head))
            } else if (0..depth).all(|i| bit(leaf_key, i) == bit(key, i)) {
                (leaf_node(leaf_key, head), None)
            } else {
                return Err(HeadsError::LeafOffPath);
            }
        }
    };
    for (i, sibling) in proof.siblings.iter().enumerate().rev() {
        hash = if bit(key, i) { internal_node(sibling, &hash) } else { internal_node(&hash, sibling) };
    }
    if hash != *root {
        return Err(HeadsError::RootMismatch);
    }
    Ok(found)
}

/// A map proof as it appears in a bundle (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofJson {
    /// The sibling hashes from the root's child downward, each base64 (standard alphabet).
    pub siblings: Vec<String>,
    /// The leaf the path ends at; absent when it ends at an empty subtree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf: Option<LeafJson>,
}

/// The leaf a map proof's path ends at, in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeafJson {
    /// The leaf's key, base64 (standard alphabet).
    pub key: String,
    /// The leaf hash of the chain's newest entry, base64 (standard alphabet).
    pub head: String,
    /// How many entries the chain has.
    pub length: u64,
}

impl From<&Proof> for ProofJson {
    fn from(proof: &Proof) -> ProofJson {
        ProofJson {
            siblings: proof.siblings.iter().map(|s| BASE64_STANDARD.encode(s)).collect(),
            leaf: match &proof.terminal {
                Terminal::Empty => None,
                Terminal::Leaf { key, head } => Some(LeafJson {
                    key: BASE64_STANDARD.encode(key),
                    head: BASE64_STANDARD.encode(head.leaf),
                    length: head.length,
                }),
            },
        }
    }
}

/// Decodes a base64 field that must hold exactly 32 bytes.
fn decode_32(field: impl Fn() -> String, value: &str) -> Result<[u8; 32], HeadsError> {
    let bytes = BASE64_STANDARD
        .decode(value)
        .map_err(|e| HeadsError::BadField { field: field(), reason: format!("it is not standard base64 ({e})") })?;
    let len = bytes.len();
    bytes
        .try_into()
        .map_err(|_| HeadsError::BadField { field: field(), reason: format!("it holds {len} bytes instead of 32") })
}

impl TryFrom<&ProofJson> for Proof {
    type Error = HeadsError;

    fn try_from(json: &ProofJson) -> Result<Proof, HeadsError> {
        if json.siblings.len() > MAX_DEPTH {
            return Err(HeadsError::TooManySiblings { count: json.siblings.len() });
        }
        let siblings = json
            .siblings
            .iter()
            .enumerate()
            .map(|(i, s)| decode_32(|| format!("siblings[{i}]"), s))
            .collect::<Result<Vec<_>, _>>()?;
        let terminal = match &json.leaf {
            None => Terminal::Empty,
            Some(leaf) => Terminal::Leaf {
                key: decode_32(|| "leaf.key".into(), &leaf.key)?,
                head: Head { leaf: decode_32(|| "leaf.head".into(), &leaf.head)?, length: leaf.length },
            },
        };
        Ok(Proof { siblings, terminal })
    }
}

/// What a map update may do: keys are never removed; a chain never shrinks; a head changes only
/// when its chain grew; each new or moved head is one of `appended` (the leaf hashes of entries
/// about a firm appended between the two maps' sizes), no two keys share a new head, and the
/// chains together grew by exactly `appended.len()`. A key added by the update must have a
/// chain of at least one entry, and a chain that grew must have a new head.
pub fn audit_update(old: &Map, new: &Map, appended: &HashSet<[u8; 32]>) -> Result<(), HeadsError> {
    let mut grew: u128 = 0;
    let mut new_heads: HashMap<[u8; 32], Key> = HashMap::new();
    let mut old_iter = old.leaves().iter().peekable();
    for (key, head) in new.leaves() {
        // Both lists are sorted: every old key before this one must have been removed.
        let previous = match old_iter.peek() {
            Some((old_key, _)) if old_key < key => return Err(HeadsError::KeyRemoved { key: short(old_key) }),
            Some((old_key, old_head)) if old_key == key => {
                let old_head = *old_head;
                old_iter.next();
                Some(old_head)
            }
            _ => None,
        };
        let moved = match previous {
            None => {
                if head.length == 0 {
                    return Err(HeadsError::EmptyChain { key: short(key) });
                }
                grew += u128::from(head.length);
                true
            }
            Some(previous) => {
                if head.length < previous.length {
                    return Err(HeadsError::ChainShrank { key: short(key), old: previous.length, new: head.length });
                }
                let grown = head.length > previous.length;
                let changed = head.leaf != previous.leaf;
                match (grown, changed) {
                    (false, true) => return Err(HeadsError::HeadChangedWithoutGrowth { key: short(key) }),
                    (true, false) => return Err(HeadsError::GrewWithoutNewHead { key: short(key) }),
                    _ => {}
                }
                grew += u128::from(head.length - previous.length);
                grown
            }
        };
        if moved {
            if !appended.contains(&head.leaf) {
                return Err(HeadsError::HeadNotAppended { key: short(key) });
            }
            if let Some(first) = new_heads.insert(head.leaf, *key) {
                return Err(HeadsError::SharedHead { first: short(&first), second: short(key) });
            }
        }
    }
    if let Some((old_key, _)) = old_iter.next() {
        return Err(HeadsError::KeyRemoved { key: short(old_key) });
    }
    if grew != appended.len() as u128 {
        return Err(HeadsError::GrowthMismatch { grew, appended: appended.len() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn head(n: u64) -> Head {
        let mut leaf = [0u8; 32];
        leaf[..8].copy_from_slice(&n.to_be_bytes());
        leaf[31] = 0xaa;
        Head { leaf, length: n + 1 }
    }

    /// A deterministic pseudo-random key (SHA-256 of a counter and a seed).
    fn key(seed: u64, i: u64) -> Key {
        Sha256::new().chain_update(seed.to_be_bytes()).chain_update(i.to_be_bytes()).finalize().into()
    }

    fn random_map(seed: u64, n: u64) -> Map {
        Map::build((0..n).map(|i| (key(seed, i), head(i))).collect()).expect("distinct keys")
    }

    // ---- The oracle: written from the definitions, independently of the code above. ----

    fn oracle_bit(key: &Key, i: usize) -> u8 {
        (key[i / 8] >> (7 - (i % 8))) & 1
    }

    fn oracle_leaf(key: &Key, head: &Head) -> [u8; 32] {
        let mut bytes = vec![0x00];
        bytes.extend_from_slice(b"creditlog/v1/heads");
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(&head.leaf);
        bytes.extend_from_slice(&head.length.to_be_bytes());
        Sha256::digest(&bytes).into()
    }

    fn oracle_internal(left: [u8; 32], right: [u8; 32]) -> [u8; 32] {
        let mut bytes = vec![0x01];
        bytes.extend_from_slice(&left);
        bytes.extend_from_slice(&right);
        Sha256::digest(&bytes).into()
    }

    /// The root of the subtree at `depth` holding `set`, by plain bit-by-bit recursion.
    fn oracle_root(set: &BTreeMap<Key, Head>, depth: usize) -> [u8; 32] {
        match set.len() {
            0 => [0u8; 32],
            1 => {
                let (k, h) = set.iter().next().expect("one");
                oracle_leaf(k, h)
            }
            _ => {
                assert!(depth < 256, "two distinct keys cannot share 256 bits");
                let left: BTreeMap<Key, Head> =
                    set.iter().filter(|(k, _)| oracle_bit(k, depth) == 0).map(|(k, h)| (*k, *h)).collect();
                let right: BTreeMap<Key, Head> =
                    set.iter().filter(|(k, _)| oracle_bit(k, depth) == 1).map(|(k, h)| (*k, *h)).collect();
                oracle_internal(oracle_root(&left, depth + 1), oracle_root(&right, depth + 1))
            }
        }
    }

    /// Key sets with many shared prefixes: random keys, keys sharing all but their last byte
    /// with a base key, keys differing from a base key in one bit near the end.
    fn key_set() -> impl Strategy<Value = BTreeMap<Key, Head>> {
        (any::<[u8; 32]>(), prop::collection::vec((any::<[u8; 32]>(), 0u8..4, any::<u8>(), any::<u64>()), 0..150))
            .prop_map(|(base, items)| {
                let mut set = BTreeMap::new();
                for (random, mode, byte, n) in items {
                    let mut k = match mode {
                        0 => random,
                        _ => base,
                    };
                    match mode {
                        1 => k[31] = byte,
                        2 => k[31 - (byte as usize % 3)] ^= 1 << (byte % 8),
                        3 => {
                            k[16..].copy_from_slice(&random[16..]);
                        }
                        _ => {}
                    }
                    set.insert(k, Head { leaf: random, length: n });
                }
                set
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn build_matches_the_oracle(set in key_set()) {
            let mut leaves: Vec<(Key, Head)> = set.iter().map(|(k, h)| (*k, *h)).collect();
            leaves.reverse();
            let map = Map::build(leaves).expect("distinct keys");
            prop_assert_eq!(map.root(), oracle_root(&set, 0));
            prop_assert_eq!(map.len(), set.len());
            let sorted: Vec<(Key, Head)> = set.iter().map(|(k, h)| (*k, *h)).collect();
            prop_assert_eq!(map.leaves(), &sorted[..]);
        }

        #[test]
        fn every_key_proves_and_absent_keys_prove_absent(set in key_set(), absent in any::<[u8; 32]>()) {
            let map = Map::build(set.iter().map(|(k, h)| (*k, *h)).collect()).expect("distinct keys");
            let root = map.root();
            for (k, h) in &set {
                prop_assert_eq!(verify(&root, k, &map.prove(k)), Ok(Some(*h)));
                prop_assert_eq!(map.get(k), Some(*h));
            }
            // An absent key near the others (last bit flipped) and a random one.
            for (k, _) in set.iter().take(5) {
                let mut near = *k;
                near[31] ^= 1;
                if !set.contains_key(&near) {
                    prop_assert_eq!(verify(&root, &near, &map.prove(&near)), Ok(None));
                }
            }
            if !set.contains_key(&absent) {
                prop_assert_eq!(verify(&root, &absent, &map.prove(&absent)), Ok(None));
                prop_assert_eq!(map.get(&absent), None);
            }
        }
    }

    #[test]
    fn build_matches_the_oracle_on_large_clustered_maps() {
        // Clusters of more than 64 keys sharing 200 bits, and random keys: exercises the cache.
        let mut set = BTreeMap::new();
        for i in 0..3000u64 {
            set.insert(key(1, i), head(i));
        }
        for c in 0..3u64 {
            let base = key(2, c);
            for i in 0..100u64 {
                let mut k = base;
                k[25] = 0;
                k[26..].copy_from_slice(&key(3, c * 1000 + i)[26..]);
                set.insert(k, head(i));
            }
        }
        let map = Map::build(set.iter().map(|(k, h)| (*k, *h)).collect()).expect("distinct keys");
        assert_eq!(map.root(), oracle_root(&set, 0));
        assert!(!map.cache.is_empty());
        for (k, h) in &set {
            let proof = map.prove(k);
            assert_eq!(verify(&map.root(), k, &proof), Ok(Some(*h)));
        }
        for i in 0..500 {
            let absent = key(9, i);
            assert_eq!(verify(&map.root(), &absent, &map.prove(&absent)), Ok(None));
        }
    }

    #[test]
    fn golden_root_of_a_three_leaf_map() {
        // K1 = 000…, K2 = 001…, K3 = 1…: the root's left child holds K1 and K2, whose bit 1 is 0
        // for both, so it is an internal node with an empty right child.
        let k1 = [0x00u8; 32];
        let mut k2 = [0x00u8; 32];
        k2[0] = 0x20;
        k2[31] = 0x07;
        let mut k3 = [0x11u8; 32];
        k3[0] = 0x80;
        let h1 = Head { leaf: [0x01; 32], length: 1 };
        let h2 = Head { leaf: [0x02; 32], length: 2 };
        let h3 = Head { leaf: [0x03; 32], length: 300 };
        let sha = |parts: &[&[u8]]| -> [u8; 32] {
            let mut hasher = Sha256::new();
            for part in parts {
                hasher.update(part);
            }
            hasher.finalize().into()
        };
        let dom: &[u8] = b"creditlog/v1/heads";
        let l1 = sha(&[&[0x00], dom, &k1, &h1.leaf, &1u64.to_be_bytes()]);
        let l2 = sha(&[&[0x00], dom, &k2, &h2.leaf, &2u64.to_be_bytes()]);
        let l3 = sha(&[&[0x00], dom, &k3, &h3.leaf, &300u64.to_be_bytes()]);
        let depth2 = sha(&[&[0x01], &l1, &l2]);
        let depth1 = sha(&[&[0x01], &depth2, &[0u8; 32]]);
        let expected = sha(&[&[0x01], &depth1, &l3]);
        assert_eq!(hex::encode(expected), GOLDEN_ROOT);
        let map = Map::build(vec![(k3, h3), (k1, h1), (k2, h2)]).expect("distinct keys");
        assert_eq!(hex::encode(map.root()), GOLDEN_ROOT);
        // K2's proof: siblings l3 (depth 1), zero (depth 2), l1 (depth 3).
        assert_eq!(
            map.prove(&k2),
            Proof { siblings: vec![l3, [0; 32], l1], terminal: Terminal::Leaf { key: k2, head: h2 } }
        );
    }

    /// Computed once with Python's hashlib from the definitions, independently of this crate.
    const GOLDEN_ROOT: &str = "b86c51fca2e69b8925210e6b8e0b6cfdfc6947e039cf058ca48fe605940bd2ff";

    #[test]
    fn small_maps() {
        let empty = Map::build(vec![]).expect("empty");
        assert_eq!(empty.root(), [0u8; 32]);
        assert!(empty.is_empty());
        let proof = empty.prove(&key(0, 0));
        assert_eq!(proof, Proof { siblings: vec![], terminal: Terminal::Empty });
        assert_eq!(verify(&[0u8; 32], &key(0, 0), &proof), Ok(None));

        let one = random_map(5, 1);
        let (k, h) = one.leaves()[0];
        assert_eq!(one.root(), leaf_node(&k, &h));
        assert_eq!(verify(&one.root(), &k, &one.prove(&k)), Ok(Some(h)));
        let other = key(6, 0);
        let absent = one.prove(&other);
        assert!(absent.siblings.is_empty());
        assert_eq!(verify(&one.root(), &other, &absent), Ok(None));
        // An empty terminal cannot prove absence from a non-empty map.
        let forged = Proof { siblings: vec![], terminal: Terminal::Empty };
        assert_eq!(verify(&one.root(), &other, &forged), Err(HeadsError::RootMismatch));

        let two = random_map(7, 2);
        for (k, h) in two.leaves() {
            assert_eq!(verify(&two.root(), k, &two.prove(k)), Ok(Some(*h)));
        }
        for i in 0..20 {
            let absent = key(8, i);
            assert_eq!(verify(&two.root(), &absent, &two.prove(&absent)), Ok(None));
        }
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let k = key(1, 1);
        let err = Map::build(vec![(k, head(1)), (key(1, 2), head(2)), (k, head(3))]).unwrap_err();
        assert_eq!(err, HeadsError::DuplicateKey { key: hex::encode(k) });
        assert!(err.to_string().contains(&hex::encode(k)));
    }

    #[test]
    fn forgeries_are_refused() {
        let map = random_map(11, 1000);
        let root = map.root();
        let (ka, ha) = map.leaves()[10];
        let (kb, _) = map.leaves()[900];
        let proof = map.prove(&ka);
        assert!(proof.siblings.len() >= 2);

        // The terminal leaf with another head.
        let mut forged = proof.clone();
        forged.terminal = Terminal::Leaf { key: ka, head: Head { leaf: ha.leaf, length: ha.length + 1 } };
        assert_eq!(verify(&root, &ka, &forged), Err(HeadsError::RootMismatch));
        forged.terminal = Terminal::Leaf { key: ka, head: Head { leaf: [9; 32], length: ha.length } };
        assert_eq!(verify(&root, &ka, &forged), Err(HeadsError::RootMismatch));

        // A sibling changed, at every depth.
        for i in 0..proof.siblings.len() {
            let mut forged = proof.clone();
            forged.siblings[i][0] ^= 1;
            assert_eq!(verify(&root, &ka, &forged), Err(HeadsError::RootMismatch));
        }

        // Truncated by one sibling (either end).
        let mut forged = proof.clone();
        forged.siblings.pop();
        assert!(verify(&root, &ka, &forged).is_err());
        let mut forged = proof.clone();
        forged.siblings.remove(0);
        assert!(verify(&root, &ka, &forged).is_err());

        // A's proof presented for B: A's leaf is not on B's path (they differ early).
        assert_ne!(bit(&ka, 0), bit(&kb, 0));
        assert_eq!(verify(&root, &kb, &proof), Err(HeadsError::LeafOffPath));

        // A's proof for a key that shares A's path down to the terminal: the leaf is then a valid
        // absence proof only if that key is really absent; flip the last bit, so it is.
        let mut near = ka;
        near[31] ^= 1;
        assert_eq!(verify(&root, &near, &proof), Ok(None));

        // A's proof for a key on A's path except at the last step: the leaf is off its path.
        let mut diverging = ka;
        let last = proof.siblings.len() - 1;
        diverging[last / 8] ^= 1 << (7 - last % 8);
        assert_eq!(verify(&root, &diverging, &proof), Err(HeadsError::LeafOffPath));

        // An absence proof for B made from a leaf not on B's path, with B's own siblings.
        let b_proof = map.prove(&kb);
        let forged = Proof { siblings: b_proof.siblings.clone(), terminal: Terminal::Leaf { key: ka, head: ha } };
        assert_eq!(verify(&root, &kb, &forged), Err(HeadsError::LeafOffPath));
        // And an empty terminal in place of B's leaf.
        let forged = Proof { siblings: b_proof.siblings.clone(), terminal: Terminal::Empty };
        assert_eq!(verify(&root, &kb, &forged), Err(HeadsError::RootMismatch));

        // More than 256 siblings.
        let forged = Proof { siblings: vec![[0; 32]; 257], terminal: Terminal::Empty };
        assert_eq!(verify(&root, &ka, &forged), Err(HeadsError::TooManySiblings { count: 257 }));
        // And a wrong root.
        assert_eq!(verify(&[7; 32], &ka, &proof), Err(HeadsError::RootMismatch));
    }

    #[test]
    fn json_round_trips_and_names_bad_fields() {
        let map = random_map(12, 50);
        let (k, h) = map.leaves()[3];
        for probe in [k, key(13, 0)] {
            let proof = map.prove(&probe);
            let json = ProofJson::from(&proof);
            let text = serde_json::to_string(&json).expect("serialize");
            let back: ProofJson = serde_json::from_str(&text).expect("parse");
            assert_eq!(Proof::try_from(&back), Ok(proof));
        }
        let empty = ProofJson::from(&Proof { siblings: vec![], terminal: Terminal::Empty });
        assert_eq!(serde_json::to_string(&empty).expect("serialize"), r#"{"siblings":[]}"#);

        let mut json = ProofJson::from(&map.prove(&k));
        assert_eq!(verify(&map.root(), &k, &Proof::try_from(&json).expect("valid")), Ok(Some(h)));
        json.siblings[1] = "AAAA".into();
        let err = Proof::try_from(&json).unwrap_err();
        assert!(err.to_string().contains("siblings[1]"), "{err}");
        let mut json = ProofJson::from(&map.prove(&k));
        json.leaf.as_mut().expect("leaf").key = "not base64!".into();
        assert!(Proof::try_from(&json).unwrap_err().to_string().contains("leaf.key"));
        let mut json = ProofJson::from(&map.prove(&k));
        json.leaf.as_mut().expect("leaf").head = BASE64_STANDARD.encode([0u8; 31]);
        assert!(Proof::try_from(&json).unwrap_err().to_string().contains("leaf.head"));

        let unknown = r#"{"siblings":[],"extra":1}"#;
        assert!(serde_json::from_str::<ProofJson>(unknown).is_err());
        let unknown_leaf = r#"{"siblings":[],"leaf":{"key":"","head":"","length":1,"x":2}}"#;
        assert!(serde_json::from_str::<ProofJson>(unknown_leaf).is_err());
    }

    // ---- audit_update ----

    fn leaf_hash(n: u64) -> [u8; 32] {
        Sha256::new().chain_update(b"entry").chain_update(n.to_be_bytes()).finalize().into()
    }

    /// An old map of 5 firms; firm i has length i + 1 and head leaf_hash(100 + i).
    fn old_map() -> Map {
        Map::build((0..5).map(|i| (key(20, i), Head { leaf: leaf_hash(100 + i), length: i + 1 })).collect())
            .expect("distinct")
    }

    /// A valid update: firm 1 grew by 2 (entries 200, 201), firm 3 by 1 (202), and a new firm 9
    /// with 1 entry (203).
    fn valid_update() -> (Vec<(Key, Head)>, HashSet<[u8; 32]>) {
        let mut leaves: Vec<(Key, Head)> = old_map().leaves().to_vec();
        set_head(&mut leaves, key(20, 1), Head { leaf: leaf_hash(201), length: 4 });
        set_head(&mut leaves, key(20, 3), Head { leaf: leaf_hash(202), length: 5 });
        leaves.push((key(20, 9), Head { leaf: leaf_hash(203), length: 1 }));
        let appended = [200, 201, 202, 203].into_iter().map(leaf_hash).collect();
        (leaves, appended)
    }

    fn audit(leaves: Vec<(Key, Head)>, appended: &HashSet<[u8; 32]>) -> Result<(), HeadsError> {
        audit_update(&old_map(), &Map::build(leaves).expect("distinct"), appended)
    }

    fn set_head(leaves: &mut [(Key, Head)], k: Key, head: Head) {
        leaves.iter_mut().find(|(x, _)| *x == k).expect("present").1 = head;
    }

    #[test]
    fn audit_accepts_valid_growth() {
        let (leaves, appended) = valid_update();
        assert_eq!(audit(leaves, &appended), Ok(()));
        // No change at all, nothing appended.
        assert_eq!(audit_update(&old_map(), &old_map(), &HashSet::new()), Ok(()));
        // From the empty map.
        let empty = Map::build(vec![]).expect("empty");
        let one = Map::build(vec![(key(1, 1), Head { leaf: leaf_hash(1), length: 1 })]).expect("one");
        assert_eq!(audit_update(&empty, &one, &[leaf_hash(1)].into_iter().collect()), Ok(()));
    }

    #[test]
    fn audit_refuses_a_removed_key() {
        let (mut leaves, appended) = valid_update();
        leaves.retain(|(k, _)| *k != key(20, 2));
        assert_eq!(audit(leaves.clone(), &appended), Err(HeadsError::KeyRemoved { key: short(&key(20, 2)) }));
        // The last old key (in key order) removed.
        let (mut leaves, appended) = valid_update();
        let last_old = old_map().leaves().last().expect("five").0;
        leaves.retain(|(k, _)| *k != last_old);
        assert_eq!(audit(leaves, &appended), Err(HeadsError::KeyRemoved { key: short(&last_old) }));
    }

    #[test]
    fn audit_refuses_a_shrunk_chain() {
        let (mut leaves, appended) = valid_update();
        set_head(&mut leaves, key(20, 4), Head { leaf: leaf_hash(104), length: 4 });
        assert_eq!(audit(leaves, &appended), Err(HeadsError::ChainShrank { key: short(&key(20, 4)), old: 5, new: 4 }));
    }

    #[test]
    fn audit_refuses_a_head_changed_without_growth() {
        let (mut leaves, mut appended) = valid_update();
        appended.insert(leaf_hash(300));
        set_head(&mut leaves, key(20, 0), Head { leaf: leaf_hash(300), length: 1 });
        assert_eq!(audit(leaves, &appended), Err(HeadsError::HeadChangedWithoutGrowth { key: short(&key(20, 0)) }));
        // Growth with the head unmoved.
        let (mut leaves, appended) = valid_update();
        set_head(&mut leaves, key(20, 0), Head { leaf: leaf_hash(100), length: 2 });
        assert_eq!(audit(leaves, &appended), Err(HeadsError::GrewWithoutNewHead { key: short(&key(20, 0)) }));
    }

    #[test]
    fn audit_refuses_a_head_not_appended() {
        let (mut leaves, appended) = valid_update();
        set_head(&mut leaves, key(20, 3), Head { leaf: leaf_hash(999), length: 5 });
        assert_eq!(audit(leaves, &appended), Err(HeadsError::HeadNotAppended { key: short(&key(20, 3)) }));
        // A new key whose head was not appended.
        let (mut leaves, appended) = valid_update();
        leaves.push((key(20, 10), Head { leaf: leaf_hash(998), length: 1 }));
        assert_eq!(audit(leaves, &appended), Err(HeadsError::HeadNotAppended { key: short(&key(20, 10)) }));
        // A new key with no entries.
        let (mut leaves, appended) = valid_update();
        leaves.push((key(20, 11), Head { leaf: leaf_hash(203), length: 0 }));
        assert_eq!(audit(leaves, &appended), Err(HeadsError::EmptyChain { key: short(&key(20, 11)) }));
    }

    #[test]
    fn audit_refuses_two_keys_moved_to_the_same_head() {
        let (mut leaves, appended) = valid_update();
        // Firm 3 takes firm 1's new head; growth still totals 4.
        set_head(&mut leaves, key(20, 3), Head { leaf: leaf_hash(201), length: 5 });
        let err = audit(leaves, &appended).unwrap_err();
        assert!(matches!(err, HeadsError::SharedHead { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains(&short(&key(20, 1))) && text.contains(&short(&key(20, 3))), "{text}");
    }

    #[test]
    fn audit_refuses_growth_other_than_appended() {
        let (mut leaves, appended) = valid_update();
        set_head(&mut leaves, key(20, 1), Head { leaf: leaf_hash(201), length: 5 });
        assert_eq!(audit(leaves, &appended), Err(HeadsError::GrowthMismatch { grew: 5, appended: 4 }));
        let (leaves, mut appended) = valid_update();
        appended.insert(leaf_hash(204));
        assert_eq!(audit(leaves, &appended), Err(HeadsError::GrowthMismatch { grew: 4, appended: 5 }));
    }

    #[test]
    fn errors_are_one_sentence() {
        let errors = [
            HeadsError::DuplicateKey { key: "ab".into() },
            HeadsError::TooManySiblings { count: 300 },
            HeadsError::LeafOffPath,
            HeadsError::RootMismatch,
            HeadsError::KeyRemoved { key: "ab".into() },
            HeadsError::GrowthMismatch { grew: 1, appended: 2 },
        ];
        for e in errors {
            let text = e.to_string();
            assert!(!text.contains(". ") && !text.ends_with('.'), "{text}");
        }
    }
}
