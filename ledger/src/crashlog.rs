//! A record of the log's own writes and syncs, for the crash-state explorer
//! (`ledger/tests/crash_states.rs`). Off unless a test turns it on: each hook in [`crate::fs`] is
//! then one relaxed atomic load.
//!
//! The explorer replays the record up to a crash point and builds the files a power loss could
//! leave: what a file held at its last sync, plus any subset of the writes after it, each whole,
//! cut short or in another order, and a created name only if its directory was synced since (or
//! by chance). It then opens the log on them and checks that every acknowledged entry is there.

use std::path::PathBuf;
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

/// Records `op` if recording is on.
pub(crate) fn record(op: impl FnOnce() -> Op) {
    if ON.load(Ordering::Relaxed) {
        OPS.lock().expect("lock").push(op());
    }
}
