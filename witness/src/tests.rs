//! The witness against data from other implementations: the tlog-witness spec's example
//! request, a checkpoint chain and proof from transparency-dev/witness's tests, and trees, proofs
//! and a log key from the Go checksum database (`testdata/tlog-vectors.json`).

use super::*;
use serde_json::Value;
use signed_note::StandardSigner;

fn vectors(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(name);
    serde_json::from_slice(&std::fs::read(&path).expect("test vectors")).expect("JSON")
}

fn hash(b64: &str) -> Hash {
    Hash(BASE64_STANDARD.decode(b64).unwrap().try_into().unwrap())
}

/// A witness named `w` with a fresh key, in a new folder, for `logs`.
fn witness(dir: &Path, logs: &[String]) -> Witness {
    let key = SigningKey::from_bytes(&[7u8; 32]);
    Witness::open("witness.example/w", key, dir, logs).unwrap()
}

/// The Go vectors' log: its verifier key, and checkpoints of any size signed with its key.
struct GoLog {
    vkey: String,
    skey: String,
    roots: Value,
    consistency: Vec<Value>,
}

impl GoLog {
    fn new() -> Self {
        let v = vectors("tlog-vectors.json");
        Self {
            vkey: v["signed_note"]["verifier_key"].as_str().unwrap().to_owned(),
            skey: v["signed_note"]["signer_key"].as_str().unwrap().to_owned(),
            roots: v["roots"].clone(),
            consistency: v["consistency"].as_array().unwrap().clone(),
        }
    }

    fn signed(&self, size: u64, root: Hash) -> Vec<u8> {
        let text = format!("vectors.example/log\n{size}\n{}\n", BASE64_STANDARD.encode(root.0));
        let mut note = Note::new(text.as_bytes(), &[]).unwrap();
        let signer = StandardSigner::new(&self.skey).unwrap();
        note.add_sigs(&[&signer]).unwrap();
        note.to_bytes()
    }

    fn checkpoint(&self, size: u64) -> Vec<u8> {
        self.signed(size, hash(self.roots[size.to_string()].as_str().unwrap()))
    }

    fn proof(&self, old: u64, new: u64) -> Vec<Hash> {
        let c = self.consistency.iter().find(|c| c["old_size"] == old && c["new_size"] == new).unwrap();
        c["proof"].as_array().unwrap().iter().map(|h| hash(h.as_str().unwrap())).collect()
    }

    fn request(&self, old: u64, proof: Vec<Hash>, size: u64) -> Vec<u8> {
        AddCheckpoint { old_size: old, proof, checkpoint: self.checkpoint(size) }.to_bytes()
    }
}

fn refused(w: &Witness, body: &[u8]) -> Refusal {
    w.add_checkpoint(body, 1_700_000_000).unwrap().unwrap_err()
}

/// The cosignature on `checkpoint` verifies with the witness's verifier key, by the verifier's
/// own check (which also accepts the deployed witnesses' cosignatures in
/// cosignature-vectors.json), and carries the time it was made at.
fn assert_cosigned(w: &Witness, checkpoint: &[u8], line: &str, time: u64) {
    assert!(line.starts_with("— witness.example/w ") && line.ends_with('\n'), "{line}");
    let mut cosigned = checkpoint.to_vec();
    cosigned.extend_from_slice(line.as_bytes());
    assert_eq!(verifier::policy::cosignature(&cosigned, &w.verifier_key()), Ok(Some(time)));
}

#[test]
fn the_spec_example_request_parses_and_writes_back_the_same_bytes() {
    let v = vectors("witness-vectors.json");
    let body = v["spec_example_request"]["body"].as_str().unwrap().as_bytes();
    let req = AddCheckpoint::parse(body).unwrap();
    assert_eq!(req.old_size, 20_852_014);
    assert_eq!(req.proof.len(), 4);
    assert_eq!(req.proof[0], hash("PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw="));
    assert!(req.checkpoint.starts_with(b"example.com/behind-the-sofa\n20852163\n"));
    assert_eq!(req.to_bytes(), body);
}

#[test]
fn malformed_requests_are_refused_with_400_naming_the_line() {
    let go = GoLog::new();
    let dir = tempfile::tempdir().unwrap();
    let w = witness(dir.path(), std::slice::from_ref(&go.vkey));
    let cp = String::from_utf8(go.checkpoint(3)).unwrap();
    let h = BASE64_STANDARD.encode([1u8; 32]);
    for (body, says) in [
        (format!("old 0\n{cp}"), "not base64"),
        (format!("olde 0\n\n{cp}"), "`old <size>`"),
        (format!("old 03\n\n{cp}"), "leading zeroes"),
        (format!("old -1\n\n{cp}"), "leading zeroes"),
        (format!("old 0\n{}\n{cp}", format!("{h}\n").repeat(64)), "more than 63"),
        (format!("old 0\nAAAA\n\n{cp}"), "not a 32-byte hash"),
        ("old 0".to_owned(), "newline"),
        ("old 0\n\nnot a note".to_owned(), "not a signed note"),
        (format!("old 4\n{h}\n\n{cp}"), "above the checkpoint's size 3"),
    ] {
        let r = refused(&w, body.as_bytes());
        assert_eq!(r.status(), 400, "{body}: {r}");
        assert!(r.to_string().contains(says), "{says}: {r}");
    }
    assert_eq!(w.size("vectors.example/log"), Some(0), "nothing was cosigned");
}

/// The Go reference's trees 3 → 7 → 1100, with its proofs: each step is cosigned; a stale old
/// size gets 409 with the witness's size; a proof for other sizes, a fork at the same size and a
/// size-0 checkpoint that is not the empty tree get 422 and are kept as evidence.
#[test]
fn a_log_growing_consistently_is_cosigned_and_a_fork_is_not() {
    let go = GoLog::new();
    let dir = tempfile::tempdir().unwrap();
    let w = witness(dir.path(), std::slice::from_ref(&go.vkey));
    let line = w.add_checkpoint(&go.request(0, vec![], 3), 1_700_000_001).unwrap().unwrap();
    assert_cosigned(&w, &go.checkpoint(3), &line, 1_700_000_001);
    let line = w.add_checkpoint(&go.request(3, go.proof(3, 7), 7), 1_700_000_002).unwrap().unwrap();
    assert_cosigned(&w, &go.checkpoint(7), &line, 1_700_000_002);
    // A wrong proof (that of 1 → 8) for 7 → 1100.
    let r = refused(&w, &go.request(7, go.proof(1, 8), 1100));
    assert_eq!(r.status(), 422, "{r}");
    assert!(r.to_string().contains("does not show that the tree of size 1100 extends"), "{r}");
    // A client that thinks the witness is still at 3.
    assert_eq!(refused(&w, &go.request(3, go.proof(3, 7), 7)), Refusal::Conflict(7));
    assert_eq!(refused(&w, &go.request(0, vec![], 1100)), Refusal::Conflict(7));
    let line = w.add_checkpoint(&go.request(7, go.proof(7, 1100), 1100), 1_700_000_003).unwrap().unwrap();
    assert_cosigned(&w, &go.checkpoint(1100), &line, 1_700_000_003);
    // The same tree again is cosigned again; another tree of the same size is a fork.
    assert!(w.add_checkpoint(&go.request(1100, vec![], 1100), 1_700_000_004).unwrap().is_ok());
    let fork = AddCheckpoint { old_size: 1100, proof: vec![], checkpoint: go.signed(1100, Hash([9; 32])) };
    let r = refused(&w, &fork.to_bytes());
    assert_eq!(r.status(), 422);
    assert!(r.to_string().contains("different tree of the same size 1100"), "{r}");
    let evidence = std::fs::read_to_string(dir.path().join("evidence")).unwrap();
    assert!(evidence.contains(&String::from_utf8(go.signed(1100, Hash([9; 32]))).unwrap()), "{evidence}");
    // A full evidence file: the next fork is still refused, and not kept.
    let file = std::fs::OpenOptions::new().write(true).open(dir.path().join("evidence")).unwrap();
    file.set_len(crate::MAX_EVIDENCE_BYTES).unwrap();
    let fork = AddCheckpoint { old_size: 1100, proof: vec![], checkpoint: go.signed(1100, Hash([8; 32])) };
    assert_eq!(refused(&w, &fork.to_bytes()).status(), 422);
    assert_eq!(std::fs::metadata(dir.path().join("evidence")).unwrap().len(), crate::MAX_EVIDENCE_BYTES);
    // The monitoring path serves the newest cosigned checkpoint with both signatures.
    let latest = w.latest_by_hash(&origin_hash("vectors.example/log")).unwrap();
    assert!(latest.starts_with(&go.checkpoint(1100)));
    assert_eq!(verifier::policy::cosignature(&latest, &w.verifier_key()), Ok(Some(1_700_000_004)));
    verifier::open_checkpoint(&latest, &go.vkey).unwrap();
}

#[test]
fn the_empty_tree_and_proofs_from_zero() {
    let go = GoLog::new();
    let dir = tempfile::tempdir().unwrap();
    let w = witness(dir.path(), std::slice::from_ref(&go.vkey));
    let r =
        refused(&w, &AddCheckpoint { old_size: 0, proof: vec![], checkpoint: go.signed(0, Hash([1; 32])) }.to_bytes());
    assert_eq!(r.status(), 422);
    assert!(r.to_string().contains("empty tree"), "{r}");
    // The empty tree with a proof: still a proof from size 0, which must be empty.
    let with_proof =
        AddCheckpoint { old_size: 0, proof: go.proof(1, 2), checkpoint: go.signed(0, tlog_tiles::EMPTY_HASH) };
    assert!(refused(&w, &with_proof.to_bytes()).to_string().contains("must be empty"));
    let empty = AddCheckpoint { old_size: 0, proof: vec![], checkpoint: go.signed(0, tlog_tiles::EMPTY_HASH) };
    assert!(w.add_checkpoint(&empty.to_bytes(), 5).unwrap().is_ok());
    let r = refused(&w, &go.request(0, go.proof(1, 2), 2));
    assert_eq!(r.status(), 422);
    assert!(r.to_string().contains("must be empty"), "{r}");
}

#[test]
fn only_the_logs_own_valid_signature_counts() {
    let go = GoLog::new();
    let dir = tempfile::tempdir().unwrap();
    let w = witness(dir.path(), std::slice::from_ref(&go.vkey));
    // Another log.
    let (skey, vkey) = signed_note::generate_key(&mut rand::rngs::OsRng, "other.example/log");
    let other = Witness::open("x", SigningKey::from_bytes(&[1; 32]), &dir.path().join("x"), &[vkey]).unwrap();
    drop(other);
    let mut note = Note::new(b"other.example/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", &[]).unwrap();
    note.add_sigs(&[&StandardSigner::new(&skey).unwrap()]).unwrap();
    let r = refused(&w, &AddCheckpoint { old_size: 0, proof: vec![], checkpoint: note.to_bytes() }.to_bytes());
    assert_eq!(r.status(), 404, "{r}");
    // The right origin signed by another key: no signature by the log's key.
    let (skey, _) = signed_note::generate_key(&mut rand::rngs::OsRng, "vectors.example/log");
    let text = String::from_utf8(go.checkpoint(3)).unwrap();
    let text = &text[..text.find("\n\n").unwrap() + 1];
    let mut note = Note::new(text.as_bytes(), &[]).unwrap();
    note.add_sigs(&[&StandardSigner::new(&skey).unwrap()]).unwrap();
    let r = refused(&w, &AddCheckpoint { old_size: 0, proof: vec![], checkpoint: note.to_bytes() }.to_bytes());
    assert_eq!(r.status(), 403, "{r}");
    // The log's key, a signature that does not verify (one bit of the root changed).
    let genuine = String::from_utf8(go.checkpoint(3)).unwrap();
    let root = go.roots["3"].as_str().unwrap();
    let mut flipped = BASE64_STANDARD.decode(root).unwrap();
    flipped[0] ^= 1;
    let forged = genuine.replace(root, &BASE64_STANDARD.encode(flipped));
    let r = refused(&w, &AddCheckpoint { old_size: 0, proof: vec![], checkpoint: forged.into_bytes() }.to_bytes());
    assert_eq!(r.status(), 403, "{r}");
    assert_eq!(w.size("vectors.example/log"), Some(0));
}

/// The transparency-dev witness's own test checkpoints (log "monkeys", 5 → 8): a chain cosigned
/// by that implementation's rules is cosigned by ours.
#[test]
fn the_transparency_dev_witness_test_chain_is_cosigned() {
    let v = vectors("witness-vectors.json");
    let c = &v["consistency"][0];
    let dir = tempfile::tempdir().unwrap();
    let w = witness(dir.path(), &[c["log_key"].as_str().unwrap().to_owned()]);
    let old = c["old"].as_str().unwrap().as_bytes().to_vec();
    let new = c["new"].as_str().unwrap().as_bytes().to_vec();
    let proof: Vec<Hash> = c["proof_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash(hex::decode(h.as_str().unwrap()).unwrap().try_into().unwrap()))
        .collect();
    let line = w
        .add_checkpoint(&AddCheckpoint { old_size: 0, proof: vec![], checkpoint: old.clone() }.to_bytes(), 10)
        .unwrap()
        .unwrap();
    assert_cosigned(&w, &old, &line, 10);
    let mut wrong = proof.clone();
    wrong[1].0[0] ^= 1;
    let r = refused(&w, &AddCheckpoint { old_size: 5, proof: wrong, checkpoint: new.clone() }.to_bytes());
    assert_eq!(r.status(), 422, "{r}");
    let line = w
        .add_checkpoint(&AddCheckpoint { old_size: 5, proof, checkpoint: new.clone() }.to_bytes(), 11)
        .unwrap()
        .unwrap();
    assert_cosigned(&w, &new, &line, 11);
}

/// The state survives reopening: the witness starts from the newest tree it cosigned, refuses a
/// fork of it and answers 409 to a stale old size.
#[test]
fn a_reopened_witness_remembers_what_it_cosigned() {
    let go = GoLog::new();
    let dir = tempfile::tempdir().unwrap();
    let w = witness(dir.path(), std::slice::from_ref(&go.vkey));
    w.add_checkpoint(&go.request(0, vec![], 7), 1).unwrap().unwrap();
    drop(w);
    let w = witness(dir.path(), std::slice::from_ref(&go.vkey));
    assert_eq!(w.size("vectors.example/log"), Some(7));
    assert_eq!(refused(&w, &go.request(3, go.proof(3, 7), 7)), Refusal::Conflict(7));
    let fork = AddCheckpoint { old_size: 7, proof: vec![], checkpoint: go.signed(7, Hash([3; 32])) };
    assert_eq!(refused(&w, &fork.to_bytes()).status(), 422);
    assert!(w.add_checkpoint(&go.request(7, go.proof(7, 1100), 1100), 2).unwrap().is_ok());
}
