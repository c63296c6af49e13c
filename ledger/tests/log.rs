//! The log end to end on real files: append, prove, verify, reopen, repair, detect corruption.

use ledger::check;
use ledger::keys::LogKey;
use ledger::{LedgerError, Log, LogConfig};
use proptest::prelude::*;
use std::path::Path;
use std::time::Duration;
use verifier::{leaf_hash, open_checkpoint, verify_consistency, verify_inclusion, TilePath};

fn config() -> LogConfig {
    LogConfig { checkpoint_interval: Duration::from_millis(2), ..LogConfig::default() }
}

fn open(dir: &Path) -> Log {
    let (key, _) = LogKey::load_or_create(dir, Some("test.example/log"), "x").unwrap();
    Log::open(&dir.join("log"), key, config()).unwrap().0
}

fn entry(i: u64) -> Vec<u8> {
    format!("entry {i}").into_bytes()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

async fn append_range(log: &Log, from: u64, to: u64, batch: u64) {
    let mut i = from;
    while i < to {
        let end = (i + batch).min(to);
        let first = log.append((i..end).map(entry).collect()).await.unwrap();
        assert_eq!(first, i);
        i = end;
    }
}

/// Entries of variable size, so that offsets inside a tile are not a multiple of anything.
fn sized_entry(i: u64) -> Vec<u8> {
    let mut e = format!("entry {i} ").into_bytes();
    e.resize(1 + (i as usize * 37) % 700, b'x');
    e
}

/// Every entry reads back as appended: those of full tiles by their offsets (kept after the
/// first read of the tile), those of the partial tail from the tile; again after a reopen.
#[test]
fn every_entry_reads_back_as_appended_from_full_and_partial_tiles() {
    let dir = tempfile::tempdir().unwrap();
    let rt = rt();
    let n = 256 * 3 + 77;
    {
        let log = open(dir.path());
        rt.block_on(async {
            let mut i = 0;
            while i < n {
                let end = (i + 50).min(n);
                log.append((i..end).map(sized_entry).collect()).await.unwrap();
                i = end;
            }
        });
        for pass in 0..2 {
            for i in (0..n).rev() {
                assert_eq!(log.entry(i).unwrap(), sized_entry(i), "entry {i}, pass {pass}");
            }
        }
        assert!(matches!(log.entry(n), Err(LedgerError::IndexOutOfRange { .. })));
    }
    let log = open(dir.path());
    for i in 0..n {
        assert_eq!(log.entry(i).unwrap(), sized_entry(i), "entry {i} after reopen");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]
    /// Prove-then-verify through the storage trait: proofs are computed from the tiles on disk.
    #[test]
    fn proofs_from_stored_tiles_verify(size in 1u64..1400, batch in 1u64..300, seed in any::<u64>()) {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        let rt = rt();
        rt.block_on(append_range(&log, 0, size, batch));
        let cp = rt.block_on(log.wait_for_checkpoint(size)).unwrap();
        let opened = open_checkpoint(&cp.note, log.verifier_key()).unwrap();
        prop_assert_eq!(opened.size, size);
        for k in 0..8u64 {
            let index = seed.wrapping_add(k * 7919) % size;
            let proof = log.inclusion_proof(index, size).unwrap();
            prop_assert!(verify_inclusion(leaf_hash(&entry(index)), index, size, opened.root, &proof).is_ok());
            prop_assert!(verify_inclusion(leaf_hash(&entry(index + 1)), index, size, opened.root, &proof).is_err());
            let old = 1 + index;
            let proof = log.consistency_proof(old, size).unwrap();
            let old_root = log.tree_hash(old).unwrap();
            prop_assert!(verify_consistency(old, old_root, size, opened.root, &proof).is_ok());
        }
    }
}

#[test]
fn reopen_keeps_everything_and_fsck_passes() {
    let dir = tempfile::tempdir().unwrap();
    let rt = rt();
    let first_root;
    {
        let log = open(dir.path());
        rt.block_on(append_range(&log, 0, 700, 64));
        first_root = rt.block_on(log.wait_for_checkpoint(700)).unwrap().root;
    }
    let log = open(dir.path());
    assert_eq!(log.latest().size, 700);
    assert_eq!(log.latest().root, first_root);
    assert_eq!(log.entry(699).unwrap(), entry(699));
    rt.block_on(append_range(&log, 700, 1000, 100));
    rt.block_on(log.wait_for_checkpoint(1000)).unwrap();
    // A tile the checkpoint covers is served; one past it is not.
    assert!(log.read_tile(TilePath::parse("tile/entries/003.p/232").unwrap()).unwrap().is_some());
    assert!(log.read_tile(TilePath::parse("tile/entries/003.p/233").unwrap()).unwrap().is_none());
    assert!(log.read_tile(TilePath::parse("tile/0/003").unwrap()).unwrap().is_none());
    drop(log);
    let key = LogKey::load(dir.path()).unwrap();
    let report = check::full(&dir.path().join("log"), &key).unwrap();
    assert_eq!(report.entries, 1000);
    assert!(report.checkpoints >= 2);
}

#[test]
fn rejects_bad_entries_without_appending() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let rt = rt();
    let err = rt.block_on(log.append(vec![b"ok".to_vec(), vec![]])).unwrap_err();
    assert!(matches!(err, LedgerError::EntrySize { position: 1, size: 0 }), "{err}");
    let err = rt.block_on(log.append(vec![vec![1u8; 65_536]])).unwrap_err();
    assert!(err.to_string().contains("1 to 65535"), "{err}");
    assert!(matches!(rt.block_on(log.append(vec![])), Err(LedgerError::EmptyBatch)));
    assert_eq!(log.committed_size(), 0);
    rt.block_on(log.append(vec![vec![9u8; 65_535]])).unwrap();
    assert_eq!(log.entry(0).unwrap().len(), 65_535);
}

#[test]
fn torn_tail_is_cut_and_corruption_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let rt = rt();
    {
        let log = open(dir.path());
        rt.block_on(append_range(&log, 0, 600, 50));
        rt.block_on(log.wait_for_checkpoint(600)).unwrap();
    }
    let logdir = dir.path().join("log");
    // A crash mid-batch: half an entry after the last committed one, and a stray hash.
    let bundle = logdir.join("tile/entries/002");
    let mut data = std::fs::read(&bundle).unwrap();
    data.extend_from_slice(&[0, 50, b'x', b'y']);
    std::fs::write(&bundle, &data).unwrap();
    let tile = logdir.join("tile/0/002");
    let mut hashes = std::fs::read(&tile).unwrap();
    hashes.extend_from_slice(&[7u8; 45]);
    std::fs::write(&tile, &hashes).unwrap();
    let key = LogKey::load(dir.path()).unwrap();
    let report = check::full(&logdir, &key).unwrap();
    assert_eq!(report.uncommitted.truncated.len(), 2, "{report:?}");
    {
        let log = open(dir.path());
        assert_eq!(log.committed_size(), 600);
        assert_eq!(log.entry(599).unwrap(), entry(599));
        rt.block_on(append_range(&log, 600, 650, 50));
        rt.block_on(log.wait_for_checkpoint(650)).unwrap();
    }
    check::full(&logdir, &key).unwrap();

    // A flipped byte inside an old, full bundle: fsck names the file.
    let old = logdir.join("tile/entries/000");
    let mut data = std::fs::read(&old).unwrap();
    data[4] ^= 0x20;
    std::fs::write(&old, &data).unwrap();
    let err = check::full(&logdir, &key).unwrap_err().to_string();
    assert!(err.contains("tile/0/000") && err.contains("tile/entries/000"), "{err}");
    data[4] ^= 0x20;
    std::fs::write(&old, &data).unwrap();

    // A full hash tile cut short: the start-up check refuses and names it.
    let full = logdir.join("tile/0/001");
    let data = std::fs::read(&full).unwrap();
    std::fs::write(&full, &data[..data.len() - 32]).unwrap();
    let err = Log::open(&logdir, key.clone(), config()).unwrap_err().to_string();
    assert!(err.contains("tile/0/001"), "{err}");
    assert!(check::full(&logdir, &key).unwrap_err().to_string().contains("tile/0/001"));
}
