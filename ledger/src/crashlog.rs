//! A record of the log's own writes and syncs, for the crash-state explorer
//! (`ledger/tests/crash_states.rs`). Off unless a test turns it on: each hook in [`crate::fs`] is
//! then one relaxed atomic load.
//!
//! The explorer replays the record up to a crash point and builds the files a power loss could
//! leave: what a file held at its last sync, plus any subset of the writes after it, each whole,
//! cut short or in another order, and a created name only if its directory was synced since (or
//! by chance). It then opens the log on them and checks that every acknowledged entry is there.

use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// One recorded operation, in the order the calls returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A directory was created.
    Mkdir(PathBuf),
    /// A file was created, empty.
    Create(PathBuf),
    /// Bytes written at an offset.
    Write {
        /// The file.
        path: PathBuf,
        /// Where.
        offset: u64,
        /// What.
        data: Vec<u8>,
    },
    /// A file cut (or extended) to a length.
    SetLen {
        /// The file.
        path: PathBuf,
        /// Its new length.
        len: u64,
    },
    /// An `fdatasync` of the file returned: what it holds is durable.
    Sync(PathBuf),
    /// An `fsync` of the directory returned: the names in it are durable.
    SyncDir(PathBuf),
    /// A marker of the caller's (the explorer marks each acknowledged append with the log size).
    Mark(u64),
}

static ON: AtomicBool = AtomicBool::new(false);
static OPS: Mutex<Vec<Op>> = Mutex::new(Vec::new());

/// Starts recording (and forgets an earlier record).
pub fn start() {
    OPS.lock().expect("lock").clear();
    ON.store(true, Ordering::SeqCst);
}

/// Stops recording and returns the record.
pub fn stop() -> Vec<Op> {
    ON.store(false, Ordering::SeqCst);
    std::mem::take(&mut *OPS.lock().expect("lock"))
}

/// Records a marker of the caller's.
pub fn mark(n: u64) {
    record(|| Op::Mark(n));
}

/// Records `op` if recording is on (the log's files, and the stores beside it that share its
/// durability, such as the registry's content store).
pub fn record(op: impl FnOnce() -> Op) {
    if ON.load(Ordering::Relaxed) {
        OPS.lock().expect("lock").push(op());
    }
}

// The explorer's side: crash states built from a record.

/// What the files under `dir` hold, by path relative to `root` (`None`: a directory); the
/// paths in `skip` (relative to `root`) left out. For tests.
///
/// # Panics
///
/// If a file cannot be read.
pub fn snapshot(root: &Path, dir: &Path, skip: &[&str], out: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let rel = path.strip_prefix(root).unwrap().to_owned();
        if skip.iter().any(|s| rel == Path::new(s)) {
            continue;
        }
        if path.is_dir() {
            out.insert(rel, None);
            snapshot(root, &path, skip, out);
        } else {
            out.insert(rel, Some(std::fs::read(&path).unwrap()));
        }
    }
}

#[derive(Debug, Clone)]
enum Pending {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

#[derive(Debug, Clone)]
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

/// The files after the first `k` operations of a record, taken in `root` from the state
/// `initial` ([`snapshot`]): what each held at its last sync and the writes since, whether each
/// name is durable, and the newest mark.
#[derive(Debug)]
pub struct Replay {
    files: BTreeMap<PathBuf, FileState>,
    dirs: BTreeMap<PathBuf, bool>,
    /// The newest [`Op::Mark`] before the crash point (0 if none).
    pub acknowledged: u64,
}

/// Replays the first `k` operations of `ops` (paths under `root`) onto `initial`.
///
/// # Panics
///
/// If the record writes to or syncs a file it never created and `initial` does not hold.
pub fn replay(initial: &BTreeMap<PathBuf, Option<Vec<u8>>>, ops: &[Op], root: &Path, k: usize) -> Replay {
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
pub fn materialise(r: &Replay, out: &Path, variant: u64, rng: &mut rand::rngs::StdRng) -> String {
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
