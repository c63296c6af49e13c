//! The storage contract the sequencer writes through.
//!
//! Sequencing turns a batch of entries into a [`TileBatch`]: bytes to add at the end of entry
//! bundles and hash tiles (<https://c2sp.org/tlog-tiles>), and the [`Commit`] record (tree size
//! and root hash) that makes them count. A backend only has to store those bytes and hand them
//! back; it never computes a hash. The POSIX backend is [`crate::fs::FileStorage`]; an object
//! store could write each `.p/<W>` partial tile as an object and the commit record last.

use verifier::{Hash, TilePath};

/// The state a committed batch leaves behind: the tree size and its root hash.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Commit {
    /// Number of entries durably in the log.
    pub size: u64,
    /// RFC 6962 root hash of the tree of that size.
    pub root: Hash,
}

/// Bytes to add at the end of one tile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileAppend {
    /// The tile, always given as its full path (`partial: None`).
    pub tile: TilePath,
    /// How many hashes or entries the tile held before this append.
    pub start_width: u64,
    /// How many it holds after.
    pub end_width: u64,
    /// The bytes to add: 32-byte hashes, or `uint16`-length-prefixed entries.
    pub data: Vec<u8>,
}

/// One sequenced batch, ready to be made durable.
#[derive(Debug, Clone)]
pub struct TileBatch {
    /// Appends, at most one per tile, in tile order.
    pub appends: Vec<TileAppend>,
    /// The state after this batch.
    pub commit: Commit,
}

/// An error from a storage backend, naming the object it was working on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// An I/O operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or object.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Stored data contradicts the last commit or its own format.
    #[error("{path}: {problem}")]
    Corrupt {
        /// The file or object.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The index database failed.
    #[error("index database: {0}")]
    Index(String),
}

/// Durable storage for a tiled log.
///
/// # Contract
///
/// - **Durability.** When [`LogStorage::commit`] returns `Ok`, the batch's bytes, its commit
///   record and everything committed before are on stable storage: they survive a crash or a
///   power loss at any later instant. When [`LogStorage::publish_checkpoint`] returns `Ok`, the
///   checkpoint is durable in the same sense.
/// - **Atomicity.** A batch is all or nothing. After a crash during `commit`, reopening the
///   storage yields the state of the last commit that returned `Ok` (or, if the crash came after
///   the commit record itself reached the disk, of the batch being committed); bytes a batch
///   wrote past that state are cut away, never exposed.
/// - **Prefix stability.** Bytes once committed never change. Reading a tile at a width the
///   last commit covers always returns the same bytes, even while a later batch is being
///   written to the same tile.
/// - **Single writer.** Only one sequencer calls `commit` and `publish_checkpoint`; reads may
///   come from any thread at any time.
pub trait LogStorage: Send + Sync + 'static {
    /// The last durable commit, or `None` for an empty log.
    ///
    /// # Errors
    ///
    /// If the commit record cannot be read.
    fn last_commit(&self) -> Result<Option<Commit>, StorageError>;

    /// Makes a batch durable; see the contract above.
    ///
    /// # Errors
    ///
    /// Any I/O failure. After an error the writer must stop: the storage may hold bytes past
    /// the last commit until it is reopened.
    fn commit(&self, batch: &TileBatch) -> Result<(), StorageError>;

    /// Reads the first `tile.width()` hashes or entries of a tile, or `None` if the tile does
    /// not hold that many. The caller only asks for what a commit covers.
    ///
    /// # Errors
    ///
    /// If the tile cannot be read or is malformed.
    fn read_tile(&self, tile: TilePath) -> Result<Option<Vec<u8>>, StorageError>;

    /// Reads `len` bytes at `offset` of a *full* tile (which never changes once written), or
    /// `None` if the full tile is not stored. The default reads the whole tile.
    ///
    /// # Errors
    ///
    /// If the tile cannot be read, or is shorter than the range.
    fn read_full_tile_range(&self, tile: TilePath, offset: u64, len: usize) -> Result<Option<Vec<u8>>, StorageError> {
        let Some(data) = self.read_tile(tile.full())? else { return Ok(None) };
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        data.get(start..start.saturating_add(len)).map(|b| Some(b.to_vec())).ok_or_else(|| StorageError::Corrupt {
            path: tile.full().to_path(),
            problem: format!("{len} bytes at {offset} are beyond the tile's {} bytes", data.len()),
        })
    }

    /// Whether a full tile is stored with the length of a full tile, checked without reading
    /// its contents (the quick start-up check calls this for every full tile).
    ///
    /// # Errors
    ///
    /// If the storage cannot be asked.
    fn full_tile_present(&self, tile: TilePath) -> Result<bool, StorageError>;

    /// Durably records a signed checkpoint of `size` entries; it becomes the latest one.
    ///
    /// # Errors
    ///
    /// Any I/O failure; the checkpoint must then not be published.
    fn publish_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StorageError>;

    /// The latest published checkpoint, if any.
    ///
    /// # Errors
    ///
    /// If the checkpoint history cannot be read.
    fn latest_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, StorageError>;

    /// The checkpoint published at exactly `size` entries, if one was.
    ///
    /// # Errors
    ///
    /// If the checkpoint history cannot be read.
    fn checkpoint_at(&self, size: u64) -> Result<Option<Vec<u8>>, StorageError>;

    /// Every published checkpoint, oldest first.
    ///
    /// # Errors
    ///
    /// If the checkpoint history cannot be read.
    fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>, StorageError>;
}
