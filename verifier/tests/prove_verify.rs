//! proptest: proofs produced over random tree sizes verify, and fail for the wrong entry.

use proptest::prelude::*;
use tlog_tiles::{prove_record, prove_tree, stored_hashes, tree_hash, Hash, HashReader};
use verifier::{leaf_hash, verify_consistency, verify_inclusion};

struct Memory(Vec<Hash>);

impl HashReader for Memory {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        Ok(indexes.iter().map(|&i| self.0[usize::try_from(i).unwrap()]).collect())
    }
}

fn tree(n: u64) -> Memory {
    let mut m = Memory(Vec::new());
    for i in 0..n {
        let new = stored_hashes(i, format!("leaf {i}").as_bytes(), &m).unwrap();
        m.0.extend(new);
    }
    m
}

proptest! {
    #[test]
    fn inclusion_round_trip(size in 1u64..2000, seed in any::<u64>()) {
        let t = tree(size);
        let index = seed % size;
        let root = tree_hash(size, &t).unwrap();
        let proof = prove_record(size, index, &t).unwrap();
        let leaf = leaf_hash(format!("leaf {index}").as_bytes());
        prop_assert!(verify_inclusion(leaf, index, size, root, &proof).is_ok());
        let other = leaf_hash(format!("leaf {}", index + 1).as_bytes());
        prop_assert!(verify_inclusion(other, index, size, root, &proof).is_err());
    }

    #[test]
    fn consistency_round_trip(new in 1u64..2000, seed in any::<u64>()) {
        let t = tree(new);
        let old = 1 + seed % new;
        let proof = prove_tree(new, old, &t).unwrap();
        let (old_root, new_root) = (tree_hash(old, &t).unwrap(), tree_hash(new, &t).unwrap());
        prop_assert!(verify_consistency(old, old_root, new, new_root, &proof).is_ok());
        if old < new {
            prop_assert!(verify_consistency(old, new_root, new, new_root, &proof).is_err());
        }
    }
}
