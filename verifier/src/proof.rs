//! Inclusion and consistency checks over RFC 6962 Merkle trees (RFC 6962 §2.1), done by the
//! `tlog_tiles` port of the Go checksum database's `tlog` package.
//!
//! - Leaf hash: `SHA-256(0x00 || entry)`.
//! - Interior node: `SHA-256(0x01 || left || right)`.
//! - Proofs list sibling hashes from the leaf (or the old tree) upwards, as in RFC 6962.

use tlog_tiles::{check_record, check_tree, record_hash, Hash};

/// Why a proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The inclusion proof does not lead from the entry to the root.
    #[error("entry {index} is not proven to be in the tree of size {size}: the proof does not lead to the checkpoint's root hash")]
    Inclusion {
        /// Index of the entry.
        index: u64,
        /// Size of the tree.
        size: u64,
    },
    /// The consistency proof does not show the old tree to be a prefix of the new one.
    #[error("the tree of size {old_size} is not proven to be a prefix of the tree of size {new_size}: the log may have rewritten history")]
    Consistency {
        /// Size of the older tree.
        old_size: u64,
        /// Size of the newer tree.
        new_size: u64,
    },
}

/// `SHA-256(0x00 || entry)`: the RFC 6962 leaf hash of an entry.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    record_hash(entry)
}

/// Checks that the entry with leaf hash `leaf` is at `index` in the tree of `size` entries with
/// root hash `root`.
///
/// # Errors
///
/// [`ProofError::Inclusion`] if the proof is wrong, too short, too long or out of range.
pub fn verify_inclusion(leaf: Hash, index: u64, size: u64, root: Hash, proof: &[Hash]) -> Result<(), ProofError> {
    check_record(&proof.to_vec(), size, root, index, leaf).map_err(|_| ProofError::Inclusion { index, size })
}

/// Checks that the tree of `old_size` entries with root `old_root` is a prefix of the tree of
/// `new_size` entries with root `new_root`.
///
/// # Errors
///
/// [`ProofError::Consistency`] if the proof does not show it.
pub fn verify_consistency(
    old_size: u64,
    old_root: Hash,
    new_size: u64,
    new_root: Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    check_tree(&proof.to_vec(), new_size, new_root, old_size, old_root)
        .map_err(|_| ProofError::Consistency { old_size, new_size })
}
