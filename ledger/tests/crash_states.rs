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

use ledger::crashlog::{self, Op};
use ledger::keys::LogKey;
use ledger::{check, Log, LogConfig};
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
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

/// What the files under the log directory hold, by path relative to it (`index/` left out).
fn snapshot(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let rel = path.strip_prefix(root).unwrap().to_owned();
        if rel == Path::new("index") {
            continue;
        }
        if path.is_dir() {
            out.insert(rel, None);
            snapshot(root, &path, out);
        } else {
            out.insert(rel, Some(std::fs::read(&path).unwrap()));
        }
    }
}

#[derive(Clone)]
enum Pending {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

#[derive(Clone)]
struct FileState {
    /// What the file held at its last sync.
    durable: Vec<u8>,
    /// Writes since.
    pending: Vec<Pending>,
    /// The file's name survives for sure (its directory was synced after it was created).
    name_durable: bool,
}

fn apply(content: &mut Vec<u8>, p: &Pending) {
    match p {
        Pending::Write { offset, data } => {
            let end = *offset as usize + data.len();
            if content.len() < end {
                content.resize(end, 0);
            }
            content[*offset as usize..end].copy_from_slice(data);
        }
        Pending::SetLen(len) => content.resize(*len as usize, 0),
    }
}

/// The state of the files after the first `k` operations: files, directories (name durable or
/// not), and the size acknowledged last.
struct Replay {
    files: BTreeMap<PathBuf, FileState>,
    dirs: BTreeMap<PathBuf, bool>,
    acknowledged: u64,
}

fn replay(initial: &BTreeMap<PathBuf, Option<Vec<u8>>>, ops: &[Op], root: &Path, k: usize) -> Replay {
    let mut files = BTreeMap::new();
    let mut dirs = BTreeMap::new();
    for (p, c) in initial {
        match c {
            Some(bytes) => {
                files.insert(p.clone(), FileState { durable: bytes.clone(), pending: Vec::new(), name_durable: true });
            }
            None => {
                dirs.insert(p.clone(), true);
            }
        }
    }
    let rel = |p: &PathBuf| p.strip_prefix(root).unwrap().to_owned();
    let mut acknowledged = 0;
    for op in &ops[..k] {
        match op {
            Op::Mkdir(p) => {
                dirs.insert(rel(p), false);
            }
            Op::Create(p) => {
                files.insert(rel(p), FileState { durable: Vec::new(), pending: Vec::new(), name_durable: false });
            }
            Op::Write { path, offset, data } => {
                let f = files.get_mut(&rel(path)).expect("a write to a known file");
                f.pending.push(Pending::Write { offset: *offset, data: data.clone() });
            }
            Op::SetLen { path, len } => {
                files.get_mut(&rel(path)).expect("a known file").pending.push(Pending::SetLen(*len));
            }
            Op::Sync(p) => {
                let f = files.get_mut(&rel(p)).expect("a sync of a known file");
                for w in std::mem::take(&mut f.pending) {
                    apply(&mut f.durable, &w);
                }
            }
            Op::SyncDir(d) => {
                let d = rel(d);
                for (p, f) in files.iter_mut() {
                    if p.parent() == Some(d.as_path()) {
                        f.name_durable = true;
                    }
                }
                for (p, durable) in dirs.iter_mut() {
                    if p.parent() == Some(d.as_path()) {
                        *durable = true;
                    }
                }
            }
            Op::Mark(n) => acknowledged = *n,
        }
    }
    Replay { files, dirs, acknowledged }
}

/// Writes one crash state of `r` into `out`: variant 0 loses every unsynced write, 1 keeps them
/// all in order (what `kill -9` leaves), the others keep a random subset, some cut short, in a
/// random order, and drop names not yet durable at random. Returns a description.
fn materialise(r: &Replay, out: &Path, variant: u64, rng: &mut rand::rngs::StdRng) -> String {
    let mut notes = Vec::new();
    let mut missing: BTreeSet<PathBuf> = BTreeSet::new();
    for (d, durable) in &r.dirs {
        if !durable && variant >= 2 && rng.gen_bool(0.5) {
            missing.insert(d.clone());
            notes.push(format!("dir {} lost", d.display()));
        }
    }
    let under_missing = |p: &Path| missing.iter().any(|m| p.starts_with(m));
    std::fs::create_dir_all(out).unwrap();
    for d in r.dirs.keys() {
        if !under_missing(d) {
            std::fs::create_dir_all(out.join(d)).unwrap();
        }
    }
    for (p, f) in &r.files {
        if under_missing(p) || (!f.name_durable && variant >= 2 && rng.gen_bool(0.5)) {
            notes.push(format!("{} lost", p.display()));
            continue;
        }
        let mut content = f.durable.clone();
        let mut kept: Vec<Pending> = match variant {
            0 => Vec::new(),
            1 => f.pending.clone(),
            _ => f.pending.iter().filter(|_| rng.gen_bool(0.5)).cloned().collect(),
        };
        if variant >= 2 && kept.len() > 1 && rng.gen_bool(0.3) {
            for i in (1..kept.len()).rev() {
                kept.swap(i, rng.gen_range(0..=i));
            }
            notes.push(format!("{} reordered", p.display()));
        }
        for w in &mut kept {
            if let Pending::Write { data, .. } = w {
                if variant >= 2 && data.len() > 1 && rng.gen_bool(0.2) {
                    data.truncate(rng.gen_range(1..data.len()));
                    notes.push(format!("{} torn", p.display()));
                }
            }
            apply(&mut content, w);
        }
        if kept.len() != f.pending.len() {
            notes.push(format!("{} kept {}/{} writes", p.display(), kept.len(), f.pending.len()));
        }
        std::fs::write(out.join(p), content).unwrap();
    }
    notes.join(", ")
}

#[test]
fn every_crash_state_of_an_ingest_recovers_every_acknowledged_entry() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("log");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let (log, _) = Log::open(&root, key(work.path()), config()).unwrap();
    let mut initial = BTreeMap::new();
    snapshot(&root, &root, &mut initial);
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
