//! A general verifiable log that knows nothing about credit.
//!
//! Entries (1 to 65,535 bytes of opaque data) are sequenced in batches (group commit) into an
//! RFC 6962 Merkle tree kept as C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>), made durable
//! through a [`storage::LogStorage`] backend, and published as C2SP checkpoints
//! (<https://c2sp.org/tlog-checkpoint>) signed as C2SP signed notes
//! (<https://c2sp.org/signed-note>) with the log's Ed25519 key.
//!
//! Guarantees:
//! - [`Log::append`] returns only after the batch holding the entries is on stable storage
//!   (`fdatasync`), so an acknowledged entry survives power loss.
//! - A checkpoint is published only for a tree whose every entry is durable, and every
//!   published checkpoint is kept, so a consistency proof can be given from any of them.
//! - The tree math is `tlog_tiles`'; this crate only moves bytes and hashes around.

pub mod check;
pub mod crashlog;
pub mod fs;
pub mod keys;
pub mod storage;
pub mod tree;
pub mod witnessing;

use crate::fs::{FileStorage, OpenMode, RecoveryReport};
use crate::keys::LogKey;
use crate::storage::{Commit, LogStorage, StorageError};
use crate::tree::{BatchBuilder, Frontier, TileHashReader};
use signed_note::Note;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use verifier::{Hash, TileKind, TilePath, MAX_ENTRY_SIZE, TILE_WIDTH};

pub use verifier;

/// Errors from the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// An entry is empty or longer than an entry bundle allows.
    #[error("entry {position} of the batch is {size} bytes; an entry must be 1 to 65535 bytes")]
    EntrySize {
        /// Position in the submitted batch.
        position: usize,
        /// Its size.
        size: usize,
    },
    /// A batch with no entries.
    #[error("the batch holds no entries")]
    EmptyBatch,
    /// The sequencer stopped after a storage failure; restart to recover.
    #[error("the log stopped accepting entries after a storage failure ({0}); restart the server to recover")]
    Stopped(String),
    /// The entries are durable but no checkpoint covering them was published in time, because
    /// the log's witnesses did not cosign one ([`witnessing`]).
    #[error("entries up to {size} are recorded but not yet in a published checkpoint: {why}")]
    NotCosigned {
        /// The size waited for.
        size: u64,
        /// What the last round of witnessing reported.
        why: String,
    },
    /// A storage failure.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The log key could not be loaded.
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    /// The stored log failed a consistency check.
    #[error("the stored log failed its check: {0}")]
    Check(String),
    /// An entry index at or past the tree size.
    #[error("entry index {index} is not in a tree of {size} entries (indices run from 0 to size - 1)")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A tree size larger than the latest checkpoint.
    #[error("tree size {size} is larger than the latest checkpoint's size {latest}")]
    SizeBeyondCheckpoint {
        /// The size asked for.
        size: u64,
        /// The latest checkpoint's size.
        latest: u64,
    },
    /// A tree size of zero, where a non-empty tree is needed.
    #[error("{0} must be at least 1: an empty tree has no entries to prove")]
    ZeroSize(&'static str),
    /// Consistency asked from a larger to a smaller tree.
    #[error("consistency goes from an older tree to a newer one: from={from} is larger than to={to}")]
    FromAfterTo {
        /// Older size asked for.
        from: u64,
        /// Newer size asked for.
        to: u64,
    },
    /// The tree math failed (a stored hash was missing or unreadable).
    #[error("could not compute a proof from the stored tiles: {0}")]
    Proof(String),
    /// This process follows a log another one sequences ([`Log::follow`]): it never appends.
    #[error("this node follows the log and does not append to it: send the entries to the sequencer")]
    Follower,
}

/// Tuning of the sequencer and publisher.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// Minimum time between two published checkpoints.
    pub checkpoint_interval: Duration,
    /// Most entries sequenced in one batch (one `fdatasync` round).
    pub max_batch_entries: usize,
    /// Append requests that may wait for the sequencer before callers are slowed down.
    pub queue_depth: usize,
    /// Full hash tiles kept in memory for proofs (about 16 KiB each).
    pub cached_tiles: usize,
    /// Witnesses to cosign each checkpoint before it is published ([`witnessing`]); none by
    /// default.
    pub witnessing: Option<witnessing::Witnessing>,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            checkpoint_interval: Duration::from_millis(20),
            max_batch_entries: 16_384,
            queue_depth: 4096,
            cached_tiles: 8192,
            witnessing: None,
        }
    }
}

/// A published, signed checkpoint.
#[derive(Debug, Clone)]
pub struct SignedCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The signed note, as served at `/checkpoint`.
    pub note: Arc<[u8]>,
}

struct AppendRequest {
    entries: Vec<Vec<u8>>,
    ack: oneshot::Sender<Result<u64, LedgerError>>,
}

/// Upper bounds of the batch-size histogram ([`LogStats`]).
pub const BATCH_BUCKETS: [u64; 8] = [1, 4, 16, 64, 256, 1024, 4096, 16_384];

/// Counters of the sequencer, for `/metrics`.
#[derive(Debug, Default)]
pub struct LogStats {
    /// Batches made durable.
    pub batches: std::sync::atomic::AtomicU64,
    /// Entries in them.
    pub entries: std::sync::atomic::AtomicU64,
    /// Batches of at most [`BATCH_BUCKETS`]`[i]` entries (not cumulative; the last also counts
    /// larger ones).
    pub batch_sizes: [std::sync::atomic::AtomicU64; 8],
}

impl LogStats {
    fn record(&self, entries: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.batches.fetch_add(1, Relaxed);
        self.entries.fetch_add(entries, Relaxed);
        let i = BATCH_BUCKETS.iter().position(|b| entries <= *b).unwrap_or(BATCH_BUCKETS.len() - 1);
        self.batch_sizes[i].fetch_add(1, Relaxed);
    }
}

#[derive(Debug)]
struct Shared {
    committed: Commit,
    failed: Option<String>,
    closed: bool,
}

/// A running log: sequencer and checkpoint publisher threads over one storage backend.
/// Cheap to clone; the threads stop when the last clone is dropped.
#[derive(Clone)]
pub struct Log {
    inner: Arc<Inner>,
}

/// Full entry tiles whose entry offsets are kept (about 1 KiB each): 200,000 tiles cover 51
/// million entries. Past it the map starts again (a bound, not an eviction policy).
const OFFSET_CACHE_TILES: usize = 200_000;

struct Inner {
    /// Where each entry of a full entry tile starts (its length prefix), and the tile's end:
    /// `entry` then reads just that entry instead of the whole tile. Full tiles never change.
    offsets: Mutex<HashMap<u64, Arc<[u32]>>>,
    storage: Arc<dyn LogStorage>,
    reader: TileHashReader<dyn LogStorage>,
    key: LogKey,
    tx: Option<mpsc::Sender<AppendRequest>>,
    shared: Arc<(Mutex<Shared>, Condvar)>,
    published: watch::Receiver<Arc<SignedCheckpoint>>,
    /// Why the newest commit is not published, when witnesses did not cosign it.
    witnessing_problem: Arc<Mutex<Option<String>>>,
    /// With witnesses, how long a reader waits for a checkpoint before it is told why there is
    /// none: two witness timeouts and a retry.
    publish_wait: Option<Duration>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// Tells a follower's polling thread to stop ([`Log::follow`]).
    stop: Arc<std::sync::atomic::AtomicBool>,
    /// Whether this log only follows another process's ([`Log::follow`]).
    follower: bool,
    stats: Arc<LogStats>,
}

/// Opens a sled database, waiting up to 5 s for its file lock: a database just closed in this
/// process is unlocked only when sled's I/O threads let go of it, a moment after the last handle
/// is dropped. Another process holding the lock still fails, after the wait.
///
/// # Errors
///
/// What sled reports.
pub fn open_sled(config: &sled::Config) -> sled::Result<sled::Db> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match config.open() {
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            r => return r,
        }
    }
}

impl Drop for Inner {
    /// Stops the sequencer (after its current batch) and the publisher (after publishing what
    /// is committed), and waits for both, so the storage can be reopened at once.
    fn drop(&mut self) {
        drop(self.tx.take());
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log").field("origin", &self.inner.key.name).finish_non_exhaustive()
    }
}

/// Signs a checkpoint body for `size` and `root` with the log key.
///
/// # Panics
///
/// If the key name is not a valid origin, which [`LogKey`] rules out.
pub fn sign_checkpoint(key: &LogKey, size: u64, root: Hash) -> Vec<u8> {
    let body = tlog_tiles::Checkpoint::new(&key.name, size, root, "").expect("valid origin").to_bytes();
    let mut note = Note::new(&body, &[]).expect("a checkpoint is a valid note text");
    note.add_sigs(&[&key.signer]).expect("valid key name");
    note.to_bytes()
}

impl Log {
    /// Opens the log in `dir` (the `log/` part of a data folder), repairing a torn tail, runs the
    /// quick check and starts sequencing.
    ///
    /// # Errors
    ///
    /// If storage cannot be opened, or the stored log fails the quick check.
    pub fn open(dir: &Path, key: LogKey, config: LogConfig) -> Result<(Self, RecoveryReport), LedgerError> {
        let (storage, report) = FileStorage::open(dir, OpenMode::Repair)?;
        let storage: Arc<dyn LogStorage> = Arc::new(storage);
        let log = Self::start(storage, key, config)?;
        Ok((log, report))
    }

    /// Starts a log over any storage backend.
    ///
    /// # Errors
    ///
    /// If the stored log fails the quick check.
    pub fn start(storage: Arc<dyn LogStorage>, key: LogKey, config: LogConfig) -> Result<Self, LedgerError> {
        let reader = TileHashReader::new(storage.clone(), config.cached_tiles);
        let committed = storage.last_commit()?.unwrap_or(Commit { size: 0, root: tlog_tiles::EMPTY_HASH });
        check::quick(&*storage, &reader, &key)?;
        let frontier = Frontier::load(committed.size, &reader)
            .map_err(|e| LedgerError::Check(format!("loading the right edge of the tree: {e}")))?;
        if frontier.root() != committed.root {
            return Err(LedgerError::Check("the hash tiles do not hash to the root in the last commit record".into()));
        }
        // Publish at once if the last run acknowledged entries it did not get to publish; with
        // witnesses, the publisher does that once they cosign, and until then the newest
        // cosigned checkpoint stays the published one.
        let stored = storage.latest_checkpoint()?;
        let (latest, cosigned) = match stored {
            Some((size, note)) if size == committed.size => {
                (SignedCheckpoint { size, root: committed.root, note: note.into() }, Some(size))
            }
            Some((size, note)) if config.witnessing.is_some() => {
                let root = tlog_tiles::tree_hash(size, &reader).map_err(|e| LedgerError::Proof(e.to_string()))?;
                (SignedCheckpoint { size, root, note: note.into() }, Some(size))
            }
            _ if config.witnessing.is_some() => {
                // Nothing was ever published: the empty tree, signed by the log alone and not
                // stored, until the witnesses cosign a first checkpoint.
                let note = sign_checkpoint(&key, 0, tlog_tiles::EMPTY_HASH);
                (SignedCheckpoint { size: 0, root: tlog_tiles::EMPTY_HASH, note: note.into() }, None)
            }
            _ => {
                let note = sign_checkpoint(&key, committed.size, committed.root);
                storage.publish_checkpoint(committed.size, &note)?;
                (
                    SignedCheckpoint { size: committed.size, root: committed.root, note: note.into() },
                    Some(committed.size),
                )
            }
        };
        let (pub_tx, pub_rx) = watch::channel(Arc::new(latest));
        let shared = Arc::new((Mutex::new(Shared { committed, failed: None, closed: false }), Condvar::new()));
        let (tx, rx) = mpsc::channel(config.queue_depth);

        let (to_committer, committer_rx) = std::sync::mpsc::sync_channel(1);
        let max = config.max_batch_entries;
        let sequencer = std::thread::Builder::new()
            .name("sequencer".into())
            .spawn(move || sequence(rx, frontier, to_committer, max))
            .map_err(|e| LedgerError::Stopped(e.to_string()))?;
        let com_storage = storage.clone();
        let com_shared = shared.clone();
        let stats = Arc::new(LogStats::default());
        let com_stats = stats.clone();
        let committer = std::thread::Builder::new()
            .name("committer".into())
            .spawn(move || commit_batches(committer_rx, &*com_storage, &com_shared, &com_stats))
            .map_err(|e| LedgerError::Stopped(e.to_string()))?;

        let pub_storage = storage.clone();
        let pub_shared = shared.clone();
        let pub_key = key.clone();
        let interval = config.checkpoint_interval;
        let witnessing_problem = Arc::new(Mutex::new(None));
        let witnesses = config.witnessing.as_ref().map(|w| Witnesses {
            cosigners: witnessing::Cosigners::new(w),
            reader: TileHashReader::new(storage.clone(), 64),
            retry: w.retry,
            problem: witnessing_problem.clone(),
        });
        let publisher = std::thread::Builder::new()
            .name("publisher".into())
            .spawn(move || publish(&*pub_storage, &pub_shared, &pub_key, interval, &pub_tx, cosigned, witnesses))
            .map_err(|e| LedgerError::Stopped(e.to_string()))?;

        Ok(Self {
            inner: Arc::new(Inner {
                offsets: Mutex::default(),
                storage,
                reader,
                key,
                tx: Some(tx),
                shared,
                published: pub_rx,
                witnessing_problem,
                publish_wait: config.witnessing.as_ref().map(|w| 2 * w.timeout + w.retry + interval),
                threads: vec![sequencer, committer, publisher],
                stop: Arc::default(),
                follower: false,
                stats,
            }),
        })
    }

    /// Follows a log that another process sequences into shared storage (an API node of a
    /// cluster): reads are served from the storage, the newest checkpoint it records is polled
    /// every `poll`, and [`Log::append`] refuses with [`LedgerError::Follower`]. The committed
    /// size is the newest checkpoint's: storage may hold a committed batch whose tiles are still
    /// being written, which only a checkpoint guarantees readable.
    ///
    /// # Errors
    ///
    /// If the newest checkpoint cannot be read or its tree cannot be hashed from the tiles.
    pub fn follow(storage: Arc<dyn LogStorage>, key: LogKey, poll: Duration) -> Result<Self, LedgerError> {
        let reader = TileHashReader::new(storage.clone(), 1024);
        let empty = || SignedCheckpoint {
            size: 0,
            root: tlog_tiles::EMPTY_HASH,
            note: sign_checkpoint(&key, 0, tlog_tiles::EMPTY_HASH).into(),
        };
        let read = |storage: &dyn LogStorage,
                    reader: &TileHashReader<dyn LogStorage>|
         -> Result<Option<SignedCheckpoint>, LedgerError> {
            let Some((size, note)) = storage.latest_checkpoint()? else { return Ok(None) };
            let root = tlog_tiles::tree_hash(size, reader).map_err(|e| LedgerError::Proof(e.to_string()))?;
            Ok(Some(SignedCheckpoint { size, root, note: note.into() }))
        };
        let latest = read(&*storage, &reader)?.unwrap_or_else(empty);
        let shared = Arc::new((
            Mutex::new(Shared {
                committed: Commit { size: latest.size, root: latest.root },
                failed: None,
                closed: false,
            }),
            Condvar::new(),
        ));
        let (pub_tx, pub_rx) = watch::channel(Arc::new(latest));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (t_storage, t_shared, t_stop) = (storage.clone(), shared.clone(), stop.clone());
        let follower = std::thread::Builder::new()
            .name("follower".into())
            .spawn(move || {
                let reader = TileHashReader::new(t_storage.clone(), 256);
                let stopped = || t_stop.load(std::sync::atomic::Ordering::SeqCst);
                while !stopped() {
                    // In steps, so that dropping the log never waits a whole poll.
                    let woke = Instant::now() + poll;
                    while Instant::now() < woke && !stopped() {
                        std::thread::sleep(poll.min(Duration::from_millis(20)));
                    }
                    match read(&*t_storage, &reader) {
                        Ok(Some(cp)) if cp.size > pub_tx.borrow().size => {
                            t_shared.0.lock().expect("lock").committed = Commit { size: cp.size, root: cp.root };
                            pub_tx.send_replace(Arc::new(cp));
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "could not read the newest checkpoint; retrying"),
                    }
                }
            })
            .map_err(|e| LedgerError::Stopped(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                offsets: Mutex::default(),
                storage,
                reader,
                key,
                tx: None,
                shared,
                published: pub_rx,
                witnessing_problem: Arc::default(),
                publish_wait: None,
                threads: vec![follower],
                stop,
                follower: true,
                stats: Arc::default(),
            }),
        })
    }

    /// Why the newest committed entries are not in a published checkpoint: the witnesses'
    /// quorum was not met in the last round ([`witnessing`]). `None` when the last round met it,
    /// or the log has no witnesses.
    pub fn witnessing_problem(&self) -> Option<String> {
        self.inner.witnessing_problem.lock().expect("lock").clone()
    }

    /// Every published checkpoint, oldest first.
    ///
    /// # Errors
    ///
    /// If the history cannot be read.
    pub fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>, LedgerError> {
        Ok(self.inner.storage.checkpoints()?)
    }

    /// Why the sequencer stopped accepting entries after a storage failure, if it did (the log
    /// then refuses every append until the process restarts).
    pub fn failure(&self) -> Option<String> {
        self.inner.shared.0.lock().expect("lock").failed.clone()
    }

    /// The sequencer's counters.
    pub fn stats(&self) -> &LogStats {
        &self.inner.stats
    }

    /// Append requests waiting for the sequencer.
    pub fn queue_depth(&self) -> usize {
        self.inner.tx.as_ref().map_or(0, |tx| tx.max_capacity() - tx.capacity())
    }

    /// Whether this log only follows one that another process sequences ([`Log::follow`]).
    pub fn is_follower(&self) -> bool {
        self.inner.follower
    }

    /// The log's origin (its key name).
    pub fn origin(&self) -> &str {
        &self.inner.key.name
    }

    /// The verifier key string clients pin.
    pub fn verifier_key(&self) -> &str {
        &self.inner.key.verifier_key
    }

    /// Appends entries and returns the index of the first once they are durable.
    ///
    /// # Errors
    ///
    /// [`LedgerError::EntrySize`] or [`LedgerError::EmptyBatch`] before anything is sequenced;
    /// [`LedgerError::Stopped`] if the log has failed.
    pub async fn append(&self, entries: Vec<Vec<u8>>) -> Result<u64, LedgerError> {
        if entries.is_empty() {
            return Err(LedgerError::EmptyBatch);
        }
        if let Some((position, e)) = entries.iter().enumerate().find(|(_, e)| e.is_empty() || e.len() > MAX_ENTRY_SIZE)
        {
            return Err(LedgerError::EntrySize { position, size: e.len() });
        }
        let (ack, rx) = oneshot::channel();
        if self.inner.follower {
            return Err(LedgerError::Follower);
        }
        let tx = self.inner.tx.as_ref().ok_or_else(|| LedgerError::Stopped("the log is closing".into()))?;
        tx.send(AppendRequest { entries, ack })
            .await
            .map_err(|_| LedgerError::Stopped("sequencer has exited".into()))?;
        rx.await.map_err(|_| LedgerError::Stopped("sequencer has exited".into()))?
    }

    /// The latest published checkpoint.
    pub fn latest(&self) -> Arc<SignedCheckpoint> {
        self.inner.published.borrow().clone()
    }

    /// A receiver that sees every newly published checkpoint.
    pub fn subscribe(&self) -> watch::Receiver<Arc<SignedCheckpoint>> {
        self.inner.published.clone()
    }

    /// Waits until a published checkpoint covers `size` entries.
    ///
    /// # Errors
    ///
    /// [`LedgerError::Stopped`] if the publisher exits first; with witnesses,
    /// [`LedgerError::NotCosigned`] when none covers `size` within two witness timeouts and a
    /// retry (the witnesses' quorum is not answering).
    pub async fn wait_for_checkpoint(&self, size: u64) -> Result<Arc<SignedCheckpoint>, LedgerError> {
        let mut rx = self.subscribe();
        let wait = rx.wait_for(|c| c.size >= size);
        let cp = match self.inner.publish_wait {
            None => wait.await,
            Some(limit) => match tokio::time::timeout(limit, wait).await {
                Ok(r) => r,
                Err(_) => {
                    let why = self.witnessing_problem().unwrap_or_else(|| "the witnesses have not answered yet".into());
                    return Err(LedgerError::NotCosigned { size, why });
                }
            },
        }
        .map_err(|_| LedgerError::Stopped("publisher has exited".into()))?;
        Ok(cp.clone())
    }

    /// Number of durable (acknowledged) entries; may be ahead of the latest checkpoint.
    pub fn committed_size(&self) -> u64 {
        self.inner.shared.0.lock().expect("lock").committed.size
    }

    /// A tile, if the latest checkpoint covers it; `None` otherwise (serve 404).
    ///
    /// # Errors
    ///
    /// If the storage fails to read it.
    pub fn read_tile(&self, tile: TilePath) -> Result<Option<Vec<u8>>, LedgerError> {
        let size = self.latest().size;
        let items = match tile.kind {
            TileKind::Entries => size,
            TileKind::Hash(level) => size.checked_shr(u32::from(level) * 8).unwrap_or(0),
        };
        let needed = tile.index.saturating_mul(TILE_WIDTH).saturating_add(tile.width());
        if needed > items {
            return Ok(None);
        }
        Ok(self.inner.storage.read_tile(tile)?)
    }

    /// The entry at `index`, once durable.
    ///
    /// # Errors
    ///
    /// [`LedgerError::IndexOutOfRange`] past the committed size; storage errors.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, LedgerError> {
        let mut size = self.committed_size();
        let published = size;
        if index >= size && self.inner.follower {
            // A follower's shared views may name an entry its last checkpoint does not cover
            // yet: the sequencer applies a batch as soon as it is committed. The storage knows.
            if let Some(c) = self.inner.storage.last_commit()? {
                size = size.max(c.size);
            }
        }
        if index >= size {
            return Err(LedgerError::IndexOutOfRange { index, size });
        }
        if (index / TILE_WIDTH + 1) * TILE_WIDTH <= size {
            return self.entry_of_full_tile(index);
        }
        // The narrowest bundle that holds the entry; on a follower, the bundle as of its newest
        // checkpoint, which the sequencer certainly wrote and which the storage then keeps for
        // every newer entry of the tile that is read (each read of a bucket costs a request).
        let base = index - index % TILE_WIDTH;
        let width = if self.inner.follower && index < published { published - base } else { index % TILE_WIDTH + 1 };
        let tile = TilePath { kind: TileKind::Entries, index: index / TILE_WIDTH, partial: u8::try_from(width).ok() };
        let data = self.inner.storage.read_tile(tile)?.ok_or_else(|| {
            LedgerError::Storage(StorageError::Corrupt {
                path: tile.full().to_path(),
                problem: format!("entry {index} is missing"),
            })
        })?;
        let entries = verifier::parse_bundle(&data).map_err(|e| {
            LedgerError::Storage(StorageError::Corrupt { path: tile.full().to_path(), problem: e.to_string() })
        })?;
        Ok(entries[usize::try_from(index % TILE_WIDTH).expect("small")].to_vec())
    }

    /// An entry of a full tile: the tile's offsets (read once, then kept), then one read of
    /// exactly the entry's bytes.
    fn entry_of_full_tile(&self, index: u64) -> Result<Vec<u8>, LedgerError> {
        let tile = TilePath { kind: TileKind::Entries, index: index / TILE_WIDTH, partial: None };
        let corrupt = |problem: String| LedgerError::Storage(StorageError::Corrupt { path: tile.to_path(), problem });
        let cached = self.inner.offsets.lock().expect("lock").get(&tile.index).cloned();
        let offsets = match cached {
            Some(o) => o,
            None => {
                let data =
                    self.inner.storage.read_tile(tile)?.ok_or_else(|| corrupt(format!("entry {index} is missing")))?;
                let mut o = Vec::with_capacity(TILE_WIDTH as usize + 1);
                let mut at = 0usize;
                for _ in 0..TILE_WIDTH {
                    o.push(u32::try_from(at).map_err(|_| corrupt("a tile longer than 4 GiB".into()))?);
                    let len = data.get(at..at + 2).ok_or_else(|| corrupt("the tile ends inside an entry".into()))?;
                    at += 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
                }
                if at > data.len() {
                    return Err(corrupt("the tile ends inside an entry".into()));
                }
                o.push(u32::try_from(at).map_err(|_| corrupt("a tile longer than 4 GiB".into()))?);
                let o: Arc<[u32]> = o.into();
                let mut map = self.inner.offsets.lock().expect("lock");
                if map.len() >= OFFSET_CACHE_TILES {
                    map.clear();
                }
                map.insert(tile.index, o.clone());
                o
            }
        };
        let k = usize::try_from(index % TILE_WIDTH).expect("small");
        let (start, end) = (u64::from(offsets[k]) + 2, u64::from(offsets[k + 1]));
        let len = usize::try_from(end - start).expect("small");
        self.inner
            .storage
            .read_full_tile_range(tile, start, len)?
            .ok_or_else(|| corrupt(format!("entry {index} is missing")))
    }

    fn check_size(&self, size: u64, what: &'static str) -> Result<(), LedgerError> {
        let latest = self.latest().size;
        if size == 0 {
            return Err(LedgerError::ZeroSize(what));
        }
        if size > latest {
            return Err(LedgerError::SizeBeyondCheckpoint { size, latest });
        }
        Ok(())
    }

    /// Root hash of the tree of `size` entries (at most the latest checkpoint's size).
    ///
    /// # Errors
    ///
    /// If `size` is beyond the latest checkpoint or a stored hash is unreadable.
    pub fn tree_hash(&self, size: u64) -> Result<Hash, LedgerError> {
        let latest = self.latest();
        if size > latest.size {
            return Err(LedgerError::SizeBeyondCheckpoint { size, latest: latest.size });
        }
        if size == latest.size {
            return Ok(latest.root);
        }
        tlog_tiles::tree_hash(size, &self.inner.reader).map_err(|e| LedgerError::Proof(e.to_string()))
    }

    /// RFC 6962 inclusion proof of entry `index` in the tree of `size` entries.
    ///
    /// # Errors
    ///
    /// If `size` is zero or beyond the latest checkpoint, or `index >= size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
        self.check_size(size, "size")?;
        if index >= size {
            return Err(LedgerError::IndexOutOfRange { index, size });
        }
        tlog_tiles::prove_record(size, index, &self.inner.reader).map_err(|e| LedgerError::Proof(e.to_string()))
    }

    /// RFC 6962 consistency proof from the tree of `from` entries to the tree of `to` entries.
    ///
    /// # Errors
    ///
    /// If a size is zero or beyond the latest checkpoint, or `from > to`.
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, LedgerError> {
        self.check_size(from, "from")?;
        self.check_size(to, "to")?;
        if from > to {
            return Err(LedgerError::FromAfterTo { from, to });
        }
        tlog_tiles::prove_tree(to, from, &self.inner.reader).map_err(|e| LedgerError::Proof(e.to_string()))
    }

    /// The checkpoint published at exactly `size`, if any.
    ///
    /// # Errors
    ///
    /// If the history cannot be read.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.inner.storage.checkpoint_at(size)?)
    }
}

/// A built batch on its way to the committer, with the requests it answers.
struct Sequenced {
    batch: storage::TileBatch,
    requests: Vec<(AppendRequest, u64)>,
}

/// The sequencer thread: drain requests into a batch and hand it to the committer. Building
/// the next batch (hashing) overlaps with making the previous one durable.
fn sequence(
    mut rx: mpsc::Receiver<AppendRequest>,
    mut frontier: Frontier,
    committer: std::sync::mpsc::SyncSender<Sequenced>,
    max_batch: usize,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut requests = vec![first];
        let mut count = requests[0].entries.len();
        while count < max_batch {
            match rx.try_recv() {
                Ok(r) => {
                    count += r.entries.len();
                    requests.push(r);
                }
                Err(_) => break,
            }
        }
        let mut builder = BatchBuilder::new(&mut frontier);
        let mut firsts = Vec::with_capacity(requests.len());
        for r in &requests {
            let mut first = None;
            for e in &r.entries {
                let i = builder.push(e);
                first.get_or_insert(i);
            }
            firsts.push(first.expect("batches are non-empty"));
        }
        let batch = builder.finish();
        if committer.send(Sequenced { batch, requests: requests.into_iter().zip(firsts).collect() }).is_err() {
            return;
        }
    }
}

/// The committer thread: make each batch durable, then acknowledge its requests. After a
/// storage failure it refuses everything: the files may hold bytes past the last commit until
/// a restart cuts them.
fn commit_batches(
    rx: std::sync::mpsc::Receiver<Sequenced>,
    storage: &dyn LogStorage,
    shared: &(Mutex<Shared>, Condvar),
    stats: &LogStats,
) {
    let mut failed: Option<String> = None;
    for Sequenced { batch, requests } in rx {
        if let Some(reason) = &failed {
            for (r, _) in requests {
                let _ = r.ack.send(Err(LedgerError::Stopped(reason.clone())));
            }
            continue;
        }
        match storage.commit(&batch) {
            Ok(()) => {
                stats.record(batch.commit.size - lock_size(shared));
                {
                    let (lock, cv) = shared;
                    lock.lock().expect("lock").committed = batch.commit;
                    cv.notify_all();
                }
                for (r, first) in requests {
                    let _ = r.ack.send(Ok(first));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "storage failed during a commit; the log stops accepting entries until restarted");
                let reason = e.to_string();
                shared.0.lock().expect("lock").failed = Some(reason.clone());
                for (r, _) in requests {
                    let _ = r.ack.send(Err(LedgerError::Stopped(reason.clone())));
                }
                failed = Some(reason);
            }
        }
    }
    let (lock, cv) = shared;
    lock.lock().expect("lock").closed = true;
    cv.notify_all();
}

fn lock_size(shared: &(Mutex<Shared>, Condvar)) -> u64 {
    shared.0.lock().expect("lock").committed.size
}

/// The publisher's witnesses.
struct Witnesses {
    cosigners: witnessing::Cosigners,
    /// For consistency proofs, its own small cache.
    reader: TileHashReader<dyn LogStorage>,
    retry: Duration,
    problem: Arc<Mutex<Option<String>>>,
}

/// The publisher thread: at most once per interval, sign (and, with witnesses, have cosigned)
/// and durably record a checkpoint for the newest commit. `published`: the size of the newest
/// checkpoint recorded (`None`: none yet).
fn publish(
    storage: &dyn LogStorage,
    shared: &(Mutex<Shared>, Condvar),
    key: &LogKey,
    interval: Duration,
    tx: &watch::Sender<Arc<SignedCheckpoint>>,
    mut published: Option<u64>,
    mut witnesses: Option<Witnesses>,
) {
    let mut last = Instant::now() - interval;
    loop {
        let (lock, cv) = shared;
        let mut g = lock.lock().expect("lock");
        while Some(g.committed.size) == published && !g.closed {
            g = cv.wait(g).expect("lock");
        }
        if Some(g.committed.size) == published {
            return; // closed and nothing left to publish
        }
        let closing = g.closed;
        drop(g);
        let wait = interval.saturating_sub(last.elapsed());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        let commit = lock.lock().expect("lock").committed;
        let mut note = sign_checkpoint(key, commit.size, commit.root);
        if let Some(w) = &mut witnesses {
            let reader = &w.reader;
            let prove = |from: u64, to: u64| tlog_tiles::prove_tree(to, from, reader).map_err(|e| e.to_string());
            match w.cosigners.cosign(&note, commit.size, &prove) {
                Ok(cosigned) => {
                    note = cosigned;
                    *w.problem.lock().expect("lock") = None;
                }
                Err(why) => {
                    tracing::warn!("{why}");
                    *w.problem.lock().expect("lock") = Some(why);
                    if closing {
                        return; // shutting down: what is committed is durable, only unpublished
                    }
                    std::thread::sleep(w.retry);
                    last = Instant::now();
                    continue;
                }
            }
        }
        if let Err(e) = storage.publish_checkpoint(commit.size, &note) {
            tracing::error!(error = %e, "could not record a checkpoint; retrying after the interval");
            last = Instant::now();
            continue;
        }
        last = Instant::now();
        published = Some(commit.size);
        tx.send_replace(Arc::new(SignedCheckpoint { size: commit.size, root: commit.root, note: note.into() }));
    }
}
