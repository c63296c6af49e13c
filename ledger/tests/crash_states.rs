//! The crash-state explorer: power loss, not only `kill -9` (issue 12).
//!
//! An ingest runs on real files with the storage layer's writes and syncs recorded
//! ([`ledger::crashlog`]). Then, for many crash points and several variants each, the files a
//! power loss could leave are built from the record, as careful storage projects test
//! themselves (ALICE, CrashMonkey): each file holds what it held at its last `fdatasync`, plus
//! any subset of the writes after it, each whole, cut short, or applied in another order; a file
//! or directory created since its parent directory's last `fsync` may be missing. The log is
//! opened on each state (its start-up recovery runs) and must hold every entry acknowledged
//! before the crash, byte for byte, with a tree that checks out.
//!
//! The checkpoint index (`index/`, sled) is left out of every state: it is rebuilt from the
//! files when lost, and sled's own crash behaviour is not ours to explore.

use ledger::crashlog::{self, materialise, replay, snapshot, Op};
use ledger::keys::LogKey;
use ledger::{check, Log, LogConfig};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

fn config() -> LogConfig {
    LogConfig { checkpoint_interval: Duration::from_millis(1), ..LogConfig::default() }
}

fn key(dir: &Path) -> LogKey {
    LogKey::load_or_create(dir, Some("crash.example/log"), "x").unwrap().0
}

/// An entry of a size that varies, so that entries straddle every offset in a bundle.
fn entry(i: u64) -> Vec<u8> {
    let mut e = format!("entry {i} ").into_bytes();
    e.resize(1 + (i as usize * 53) % 400, b'a' + (i % 26) as u8);
    e
}

#[test]
fn every_crash_state_of_an_ingest_recovers_every_acknowledged_entry() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("log");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let (log, _) = Log::open(&root, key(work.path()), config()).unwrap();
    let mut initial = BTreeMap::new();
    snapshot(&root, &root, &["index"], &mut initial);
    // The ingest: batches of 1 to 90 entries, across several full bundles and a level-1 tile.
    let mut rng = rand::rngs::StdRng::seed_from_u64(12);
    crashlog::start();
    rt.block_on(async {
        while entries.len() < 256 * 4 + 100 {
            let n = rng.gen_range(1..=90u64);
            let batch: Vec<Vec<u8>> = (entries.len() as u64..entries.len() as u64 + n).map(entry).collect();
            let first = log.append(batch.clone()).await.unwrap();
            assert_eq!(first, entries.len() as u64);
            entries.extend(batch);
            crashlog::mark(entries.len() as u64);
            if rng.gen_bool(0.3) {
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        }
    });
    drop(log);
    let ops = crashlog::stop();
    let writes = ops.iter().filter(|o| matches!(o, Op::Write { .. })).count();
    let syncs = ops.iter().filter(|o| matches!(o, Op::Sync(_) | Op::SyncDir(_))).count();
    assert!(writes > 50 && syncs > 50, "the record holds the ingest: {writes} writes, {syncs} syncs");
    assert!(ops.iter().any(|o| matches!(o, Op::Create(_))) && ops.iter().any(|o| matches!(o, Op::Mkdir(_))));

    // Every crash point (before each operation, and after the last), three variants or more.
    let mut states = 0;
    let mut recovered_beyond = 0;
    for k in 0..=ops.len() {
        let r = replay(&initial, &ops, &root, k);
        let variants = if matches!(ops.get(k), Some(Op::Sync(_))) { 5 } else { 3 };
        for variant in 0..variants {
            let state = work.path().join(format!("state-{k}-{variant}"));
            let what = materialise(&r, &state.join("log"), variant, &mut rng);
            let context = format!("crash before operation {k} of {}, variant {variant}: {what}", ops.len());
            let (log, _) = Log::open(&state.join("log"), key(work.path()), config())
                .unwrap_or_else(|e| panic!("the log does not open: {e}\n{context}"));
            let size = log.committed_size();
            assert!(size >= r.acknowledged, "{size} entries, {} acknowledged\n{context}", r.acknowledged);
            for i in 0..size {
                assert_eq!(log.entry(i).unwrap(), entries[i as usize], "entry {i}\n{context}");
            }
            if size > r.acknowledged {
                recovered_beyond += 1;
            }
            drop(log);
            if states % 25 == 0 {
                check::full(&state.join("log"), &key(work.path())).unwrap_or_else(|e| panic!("fsck: {e}\n{context}"));
            }
            std::fs::remove_dir_all(&state).unwrap();
            states += 1;
        }
    }
    eprintln!(
        "{states} crash states from {} operations ({writes} writes, {syncs} syncs): each recovered every acknowledged entry; \
         {recovered_beyond} also kept a batch that was durable but not yet acknowledged",
        ops.len()
    );
    assert!(states > 300, "{states}");
}
