//! Known-answer vectors produced by the Go checksum database packages
//! (golang.org/x/mod/sumdb/tlog and note): tree roots, inclusion and consistency proofs, and a
//! signed note. The file is copied unchanged from `shared/testdata`.

use base64::prelude::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use tlog_tiles::{tree_hash, Hash, HashReader};
use verifier::{leaf_hash, open_checkpoint, verify_consistency, verify_inclusion};

#[derive(Deserialize)]
struct Vectors {
    roots: BTreeMap<String, String>,
    inclusion: Vec<Inclusion>,
    consistency: Vec<Consistency>,
    signed_note: SignedNote,
}

#[derive(Deserialize)]
struct Inclusion {
    index: u64,
    tree_size: u64,
    leaf_hash: String,
    root: String,
    proof: Vec<String>,
}

#[derive(Deserialize)]
struct Consistency {
    old_size: u64,
    new_size: u64,
    old_root: String,
    new_root: String,
    proof: Vec<String>,
}

#[derive(Deserialize)]
struct SignedNote {
    signed: String,
    verifier_key: String,
}

fn vectors() -> Vectors {
    let text = include_str!("../../testdata/tlog-vectors.json");
    serde_json::from_str(text).expect("vector file parses")
}

fn hash(b64: &str) -> Hash {
    Hash(BASE64_STANDARD.decode(b64).unwrap().try_into().unwrap())
}

fn entry(i: u64) -> Vec<u8> {
    format!("entry {i}").into_bytes()
}

/// All stored hashes of the 1,100-entry vector tree, kept in memory.
struct Memory(Vec<Hash>);

impl HashReader for Memory {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        Ok(indexes.iter().map(|&i| self.0[usize::try_from(i).unwrap()]).collect())
    }
}

fn memory_tree(n: u64) -> Memory {
    let mut m = Memory(Vec::new());
    for i in 0..n {
        let new = tlog_tiles::stored_hashes(i, &entry(i), &m).unwrap();
        m.0.extend(new);
    }
    m
}

#[test]
fn tree_roots_match_go() {
    let v = vectors();
    let tree = memory_tree(1100);
    for (size, root) in &v.roots {
        let size: u64 = size.parse().unwrap();
        assert_eq!(tree_hash(size, &tree).unwrap(), hash(root), "root of size {size}");
    }
}

#[test]
fn inclusion_proofs_match_go_and_verify() {
    let v = vectors();
    let tree = memory_tree(1100);
    for case in &v.inclusion {
        let proof: Vec<Hash> = case.proof.iter().map(|p| hash(p)).collect();
        assert_eq!(leaf_hash(&entry(case.index)), hash(&case.leaf_hash));
        let ours = tlog_tiles::prove_record(case.tree_size, case.index, &tree).unwrap();
        assert_eq!(ours, proof, "proof of {} in {}", case.index, case.tree_size);
        verify_inclusion(hash(&case.leaf_hash), case.index, case.tree_size, hash(&case.root), &proof).unwrap();
        // A proof for a different entry must fail.
        let wrong = leaf_hash(b"not an entry");
        assert!(verify_inclusion(wrong, case.index, case.tree_size, hash(&case.root), &proof).is_err());
    }
}

#[test]
fn consistency_proofs_match_go_and_verify() {
    let v = vectors();
    let tree = memory_tree(1100);
    for case in &v.consistency {
        let proof: Vec<Hash> = case.proof.iter().map(|p| hash(p)).collect();
        let ours = tlog_tiles::prove_tree(case.new_size, case.old_size, &tree).unwrap();
        assert_eq!(ours, proof, "proof {} -> {}", case.old_size, case.new_size);
        verify_consistency(case.old_size, hash(&case.old_root), case.new_size, hash(&case.new_root), &proof).unwrap();
        let mut tampered = proof.clone();
        if let Some(first) = tampered.first_mut() {
            first.0[0] ^= 1;
            assert!(verify_consistency(
                case.old_size,
                hash(&case.old_root),
                case.new_size,
                hash(&case.new_root),
                &tampered
            )
            .is_err());
        }
    }
}

#[test]
fn go_signed_note_opens_and_tampering_fails() {
    let v = vectors();
    let cp = open_checkpoint(v.signed_note.signed.as_bytes(), &v.signed_note.verifier_key).unwrap();
    assert_eq!(cp.origin, "vectors.example/log");
    assert_eq!(cp.size, 1100);
    assert_eq!(cp.root, hash(&v.roots["1100"]));
    let tampered = v.signed_note.signed.replace("1100", "1101");
    assert!(open_checkpoint(tampered.as_bytes(), &v.signed_note.verifier_key).is_err());
}
