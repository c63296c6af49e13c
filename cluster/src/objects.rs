//! The log's tiles and checkpoints as objects in an S3-compatible bucket, behind
//! [`ledger::storage::LogStorage`].
//!
//! | object | written | `Cache-Control` |
//! | --- | --- | --- |
//! | `tile/<L>/<N>`, `tile/entries/<N>` (full tiles) | once, when the tile fills | `public, max-age=31536000, immutable` |
//! | `tile/<L>/<N>.p/<W>`, `tile/entries/<N>.p/<W>` (partial tiles) | once per batch that ends the tile at width `W` | `public, max-age=31536000, immutable` (a width's bytes never change) |
//! | `checkpoint` | after each recorded checkpoint | `no-cache` |
//!
//! An object is written only after the batch holding its bytes was committed in PostgreSQL
//! ([`crate::coord::Coordinator::advance`]), so every object in the bucket belongs to the
//! committed log and any rewrite of it is byte-identical.

use crate::bridge::Bridge;
use crate::config::S3;
use crate::coord::{Coordinator, LeaseKeeper};
use crate::ClusterError;
use futures::TryStreamExt;
use ledger::storage::{Commit, LogStorage, StorageError, TileAppend, TileBatch};
use object_store::path::Path as ObjPath;
use object_store::{Attribute, Attributes, ObjectStore, PutOptions, PutPayload};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use verifier::{Hash, TileKind, TilePath, TILE_WIDTH};

/// Cache header of every tile object: a tile at a given width never changes.
pub const TILE_CACHE: &str = "public, max-age=31536000, immutable";
/// Cache header of the `checkpoint` object.
pub const CHECKPOINT_CACHE: &str = "no-cache";

/// Opens the bucket of a cluster file.
///
/// # Errors
///
/// If the settings are not usable (a malformed endpoint).
pub fn bucket(s3: &S3, timeout: Duration) -> Result<Arc<dyn ObjectStore>, ClusterError> {
    let store = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&s3.endpoint)
        .with_bucket_name(&s3.bucket)
        .with_region(&s3.region)
        .with_access_key_id(&s3.access_key_id)
        .with_secret_access_key(&s3.secret_access_key)
        .with_client_options(
            object_store::ClientOptions::new()
                .with_timeout(timeout)
                .with_allow_http(s3.endpoint.starts_with("http://")),
        )
        .with_retry(object_store::RetryConfig { max_retries: 3, retry_timeout: timeout, ..Default::default() })
        .build()
        .map_err(|e| ClusterError::Objects { action: "opening", path: s3.bucket.clone(), detail: chain(&e) })?;
    Ok(Arc::new(store))
}

/// An error with its causes, `a: b: c` (the store's own message is often only the outermost).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !s.contains(&more) {
            s.push_str(": ");
            s.push_str(&more);
        }
        cause = c.source();
    }
    s
}

/// Shared helpers over a bucket.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) bridge: Bridge,
    pub(crate) timeout: Duration,
}

impl Bucket {
    pub(crate) fn new(store: Arc<dyn ObjectStore>, timeout: Duration) -> Self {
        Self { store, bridge: Bridge::get(), timeout }
    }

    fn late(&self, action: &'static str, path: &str) -> ClusterError {
        ClusterError::Objects {
            action,
            path: path.to_owned(),
            detail: format!("no answer within {} ms", self.timeout.as_millis()),
        }
    }

    /// An object's bytes, or `None` if there is no such object.
    pub(crate) fn get(&self, path: &str) -> Result<Option<Vec<u8>>, ClusterError> {
        let store = self.store.clone();
        let p = ObjPath::from(path);
        self.bridge
            .run(self.timeout * 2, async move {
                match store.get(&p).await {
                    Ok(r) => r.bytes().await.map(|b| Some(b.to_vec())),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .ok_or_else(|| self.late("reading", path))?
            .map_err(|e| ClusterError::Objects { action: "reading", path: path.to_owned(), detail: chain(&e) })
    }

    /// An object's size, or `None` if there is no such object.
    pub(crate) fn size(&self, path: &str) -> Result<Option<u64>, ClusterError> {
        let store = self.store.clone();
        let p = ObjPath::from(path);
        self.bridge
            .run(self.timeout * 2, async move {
                match store.head(&p).await {
                    Ok(m) => Ok(Some(m.size)),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .ok_or_else(|| self.late("asking for", path))?
            .map_err(|e| ClusterError::Objects { action: "asking for", path: path.to_owned(), detail: chain(&e) })
    }

    /// The names of the objects under `prefix/`.
    pub(crate) fn list(&self, prefix: &str) -> Result<Vec<String>, ClusterError> {
        let store = self.store.clone();
        let p = ObjPath::from(prefix);
        self.bridge
            .run(self.timeout * 4, async move {
                let metas: Vec<_> = store.list(Some(&p)).try_collect().await?;
                Ok::<_, object_store::Error>(metas.into_iter().map(|m| m.location.to_string()).collect())
            })
            .ok_or_else(|| self.late("listing", prefix))?
            .map_err(|e| ClusterError::Objects { action: "listing", path: prefix.to_owned(), detail: chain(&e) })
    }

    /// Deletes an object (nothing happens if it is absent).
    pub(crate) fn delete(&self, path: &str) -> Result<(), ClusterError> {
        let store = self.store.clone();
        let p = ObjPath::from(path);
        match self
            .bridge
            .run(self.timeout, async move { store.delete(&p).await })
            .ok_or_else(|| self.late("deleting", path))?
        {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(ClusterError::Objects { action: "deleting", path: path.to_owned(), detail: chain(&e) }),
        }
    }

    /// Writes objects, all at once; each with its `Cache-Control`.
    pub(crate) fn put_all(&self, objects: Vec<(String, Vec<u8>, &'static str)>) -> Result<(), ClusterError> {
        if objects.is_empty() {
            return Ok(());
        }
        let first = objects[0].0.clone();
        let store = self.store.clone();
        self.bridge
            .run(self.timeout * 2, async move {
                let puts = objects.into_iter().map(|(path, bytes, cache)| {
                    let store = store.clone();
                    async move {
                        let mut attributes = Attributes::new();
                        attributes.insert(Attribute::CacheControl, cache.into());
                        let opts = PutOptions { attributes, ..Default::default() };
                        store
                            .put_opts(&ObjPath::from(path.as_str()), PutPayload::from(bytes), opts)
                            .await
                            .map_err(|e| ClusterError::Objects { action: "writing", path, detail: chain(&e) })
                    }
                });
                futures::future::try_join_all(puts).await.map(|_| ())
            })
            .ok_or_else(|| self.late("writing", &first))?
    }
}

/// Tile objects kept in memory by a reader, at most this many bytes: every tile object is
/// immutable (a full tile, or a partial one at its width), so a copy never goes stale.
const TILE_CACHE_BYTES: usize = 256 << 20;

/// Tile objects already read, by path, dropped oldest first past [`TILE_CACHE_BYTES`].
#[derive(Debug, Default)]
struct TileCache {
    tiles: HashMap<String, Arc<Vec<u8>>>,
    order: std::collections::VecDeque<String>,
    bytes: usize,
}

impl TileCache {
    fn get(&self, path: &str) -> Option<Arc<Vec<u8>>> {
        self.tiles.get(path).cloned()
    }

    fn put(&mut self, path: String, bytes: Arc<Vec<u8>>) {
        if self.tiles.contains_key(&path) {
            return;
        }
        self.bytes += bytes.len();
        self.order.push_back(path.clone());
        self.tiles.insert(path, bytes);
        while self.bytes > TILE_CACHE_BYTES {
            let Some(old) = self.order.pop_front() else { break };
            if let Some(b) = self.tiles.remove(&old) {
                self.bytes -= b.len();
            }
        }
    }
}

/// The log in a bucket, coordinated through PostgreSQL.
pub struct ObjectLog {
    cache: Mutex<TileCache>,
    bucket: Bucket,
    coord: Arc<Coordinator>,
    /// The lease this node writes under; `None` on an API node, which only reads.
    writer: Option<Arc<LeaseKeeper>>,
    /// The right edge: every tile that is partial at the newest commit, with its width and bytes
    /// then (keyed by its full path), so that the next batch need not read it back.
    edge: Mutex<HashMap<TilePath, (u64, Vec<u8>)>>,
    committed: Mutex<Commit>,
}

impl std::fmt::Debug for ObjectLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectLog").field("writer", &self.writer.is_some()).finish_non_exhaustive()
    }
}

impl ObjectLog {
    /// Opens the log for the sequencer holding `lease`: replays the last committed batch's tiles
    /// (the previous leader may have died before writing them all; the bytes are the same).
    ///
    /// # Errors
    ///
    /// If the database or the bucket fails, or the stored batch contradicts the tree row.
    pub fn open_writer(
        store: Arc<dyn ObjectStore>,
        lease: Arc<LeaseKeeper>,
        timeout: Duration,
    ) -> Result<Self, ClusterError> {
        let coord = lease.coordinator().clone();
        let (size, root, pending) = coord.tree()?;
        let log = Self {
            cache: Mutex::default(),
            bucket: Bucket::new(store, timeout),
            coord,
            writer: Some(lease),
            edge: Mutex::default(),
            committed: Mutex::new(Commit { size, root }),
        };
        if let Some(bytes) = pending {
            let batch = decode_batch(&bytes)?;
            if batch.commit.size != size || batch.commit.root != root {
                return Err(ClusterError::Corrupt(format!(
                    "the last batch stored in creditlog_tree ends at {} entries, the tree row says {size}",
                    batch.commit.size
                )));
            }
            log.write_tiles(&batch)?;
            tracing::info!(size, "replayed the last committed batch's tiles");
        }
        Ok(log)
    }

    /// Opens the log for reading only (an API node).
    ///
    /// # Errors
    ///
    /// If the database fails.
    pub fn open_reader(
        store: Arc<dyn ObjectStore>,
        coord: Arc<Coordinator>,
        timeout: Duration,
    ) -> Result<Self, ClusterError> {
        let (size, root, _) = coord.tree()?;
        Ok(Self {
            cache: Mutex::default(),
            bucket: Bucket::new(store, timeout),
            coord,
            writer: None,
            edge: Mutex::default(),
            committed: Mutex::new(Commit { size, root }),
        })
    }

    /// Writes tiles as they are, each with its `Cache-Control` (`creditlog migrate`).
    ///
    /// # Errors
    ///
    /// If the store fails.
    pub fn put_tiles(&self, tiles: Vec<(TilePath, Vec<u8>)>) -> Result<(), ClusterError> {
        self.bucket.put_all(tiles.into_iter().map(|(t, b)| (t.to_path(), b, TILE_CACHE)).collect())
    }

    /// Writes the `checkpoint` object (`creditlog migrate`).
    ///
    /// # Errors
    ///
    /// If the store fails.
    pub fn put_checkpoint(&self, note: &[u8]) -> Result<(), ClusterError> {
        self.bucket.put_all(vec![("checkpoint".into(), note.to_vec(), CHECKPOINT_CACHE)])
    }

    fn lease(&self) -> Result<&Arc<LeaseKeeper>, ClusterError> {
        let l = self.writer.as_ref().ok_or_else(|| {
            ClusterError::Fenced("this node is an API node: it reads the log and never writes it".into())
        })?;
        l.check()?;
        Ok(l)
    }

    /// The bytes of a tile at `start` entries or hashes, to which a batch appends.
    fn tile_at(&self, full: TilePath, start: u64) -> Result<Vec<u8>, ClusterError> {
        if start == 0 {
            return Ok(Vec::new());
        }
        if let Some((w, b)) = self.edge.lock().expect("lock").get(&full) {
            if *w == start {
                return Ok(b.clone());
            }
        }
        let path = partial(full, start).to_path();
        self.bucket.get(&path)?.ok_or_else(|| {
            ClusterError::Corrupt(format!("{path} is missing: the committed log holds that tile at this width"))
        })
    }

    /// Writes every tile object of a committed batch and keeps the new right edge.
    fn write_tiles(&self, batch: &TileBatch) -> Result<(), ClusterError> {
        let mut objects = Vec::with_capacity(batch.appends.len());
        let mut edge = Vec::new();
        for TileAppend { tile, start_width, end_width, data } in &batch.appends {
            let mut bytes = self.tile_at(*tile, *start_width)?;
            bytes.extend_from_slice(data);
            let path = if *end_width == TILE_WIDTH { *tile } else { partial(*tile, *end_width) };
            objects.push((path.to_path(), bytes.clone(), TILE_CACHE));
            edge.push((*tile, *end_width, bytes));
        }
        self.bucket.put_all(objects)?;
        let mut kept = self.edge.lock().expect("lock");
        for (tile, width, bytes) in edge {
            if width == TILE_WIDTH {
                kept.remove(&tile);
            } else {
                kept.insert(tile, (width, bytes));
            }
        }
        Ok(())
    }

    /// Cuts a tile's bytes to its first `width` items.
    fn prefix(tile: TilePath, data: Vec<u8>, width: u64, path: &str) -> Result<Vec<u8>, ClusterError> {
        let n = ledger::fs::prefix_len(tile.kind, &data, width)
            .ok_or_else(|| ClusterError::Corrupt(format!("{path} holds fewer than {width} items")))?;
        let mut data = data;
        data.truncate(n);
        Ok(data)
    }

    /// A tile object, from memory or the bucket (then kept).
    fn cached(&self, path: &str) -> Result<Option<Vec<u8>>, ClusterError> {
        if let Some(b) = self.cache.lock().expect("lock").get(path) {
            return Ok(Some(b.to_vec()));
        }
        let Some(b) = self.bucket.get(path)? else { return Ok(None) };
        self.cache.lock().expect("lock").put(path.to_owned(), Arc::new(b.clone()));
        Ok(Some(b))
    }

    fn read(&self, tile: TilePath) -> Result<Option<Vec<u8>>, ClusterError> {
        let width = tile.width();
        let full = tile.full();
        if let Some((w, b)) = self.edge.lock().expect("lock").get(&full) {
            if *w >= width {
                return Self::prefix(tile, b.clone(), width, &tile.to_path()).map(Some);
            }
        }
        let path = tile.to_path();
        if let Some(b) = self.cached(&path)? {
            return Self::prefix(tile, b, width, &path).map(Some);
        }
        if tile.partial.is_none() {
            return Ok(None);
        }
        // No batch ended the tile at this width: cut it from the full tile, or from the
        // narrowest wider partial one.
        let full_path = full.to_path();
        if let Some(b) = self.cached(&full_path)? {
            return Self::prefix(tile, b, width, &full_path).map(Some);
        }
        let wider = self
            .bucket
            .list(&format!("{full_path}.p"))?
            .iter()
            .filter_map(|name| name.rsplit('/').next()?.parse::<u64>().ok())
            .filter(|w| *w > width && *w < TILE_WIDTH)
            .min();
        let Some(w) = wider else { return Ok(None) };
        let wider_path = partial(full, w).to_path();
        match self.bucket.get(&wider_path)? {
            Some(b) => Self::prefix(tile, b, width, &wider_path).map(Some),
            None => Ok(None),
        }
    }
}

fn partial(full: TilePath, width: u64) -> TilePath {
    TilePath { partial: Some(u8::try_from(width).expect("a partial tile is narrower than 256")), ..full }
}

impl LogStorage for ObjectLog {
    fn last_commit(&self) -> Result<Option<Commit>, StorageError> {
        if self.writer.is_none() {
            // A reader: the tree as the database has it now (its tiles may still be on their
            // way; entries the sequencer has applied to the views are in the bucket).
            let (size, root, _) = self.coord.tree()?;
            return Ok((size > 0).then_some(Commit { size, root }));
        }
        let c = *self.committed.lock().expect("lock");
        Ok((c.size > 0).then_some(c))
    }

    fn commit(&self, batch: &TileBatch) -> Result<(), StorageError> {
        let lease = self.lease()?;
        let prev = self.committed.lock().expect("lock").size;
        self.coord.advance(lease.token(), prev, batch.commit.size, batch.commit.root, encode_batch(batch))?;
        self.write_tiles(batch)?;
        *self.committed.lock().expect("lock") = batch.commit;
        Ok(())
    }

    fn read_tile(&self, tile: TilePath) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.read(tile)?)
    }

    fn full_tile_present(&self, tile: TilePath) -> Result<bool, StorageError> {
        let size = self.bucket.size(&tile.full().to_path())?;
        Ok(match (tile.kind, size) {
            (_, None) => false,
            (TileKind::Hash(_), Some(n)) => n == TILE_WIDTH * 32,
            (TileKind::Entries, Some(n)) => n > 0,
        })
    }

    fn publish_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StorageError> {
        let lease = self.lease()?;
        self.coord.publish(lease.token(), size, note)?;
        self.bucket.put_all(vec![("checkpoint".into(), note.to_vec(), CHECKPOINT_CACHE)])?;
        Ok(())
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, StorageError> {
        Ok(self.coord.latest_checkpoint()?)
    }

    fn checkpoint_at(&self, size: u64) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.coord.checkpoint_at(size)?)
    }

    fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>, StorageError> {
        Ok(self.coord.checkpoints()?)
    }
}

const BATCH_MAGIC: &[u8; 8] = b"clbatch1";

/// `clbatch1 || size u64 || root (32) || count u32 || (kind u8 (level, or 255 for entries) ||
/// index u64 || start u64 || end u64 || length u32 || data)*`, all big-endian.
pub fn encode_batch(b: &TileBatch) -> Vec<u8> {
    let mut out = Vec::with_capacity(52 + b.appends.iter().map(|a| 29 + a.data.len()).sum::<usize>());
    out.extend_from_slice(BATCH_MAGIC);
    out.extend_from_slice(&b.commit.size.to_be_bytes());
    out.extend_from_slice(&b.commit.root.0);
    out.extend_from_slice(&u32::try_from(b.appends.len()).expect("few tiles per batch").to_be_bytes());
    for a in &b.appends {
        out.push(match a.tile.kind {
            TileKind::Hash(l) => l,
            TileKind::Entries => 255,
        });
        out.extend_from_slice(&a.tile.index.to_be_bytes());
        out.extend_from_slice(&a.start_width.to_be_bytes());
        out.extend_from_slice(&a.end_width.to_be_bytes());
        out.extend_from_slice(&u32::try_from(a.data.len()).expect("a tile is under 4 GiB").to_be_bytes());
        out.extend_from_slice(&a.data);
    }
    out
}

/// Reads back [`encode_batch`].
///
/// # Errors
///
/// [`ClusterError::Corrupt`] if the bytes are not such a batch.
pub fn decode_batch(bytes: &[u8]) -> Result<TileBatch, ClusterError> {
    let bad =
        |what: &str| ClusterError::Corrupt(format!("the last batch stored in creditlog_tree is malformed: {what}"));
    let mut r = bytes.strip_prefix(&BATCH_MAGIC[..]).ok_or_else(|| bad("no clbatch1 header"))?;
    let mut take = |n: usize| -> Result<&[u8], ClusterError> {
        if r.len() < n {
            return Err(bad("cut short"));
        }
        let (a, b) = r.split_at(n);
        r = b;
        Ok(a)
    };
    let u64_of = |b: &[u8]| u64::from_be_bytes(b.try_into().expect("8"));
    let size = u64_of(take(8)?);
    let root = Hash(take(32)?.try_into().expect("32"));
    let count = u32::from_be_bytes(take(4)?.try_into().expect("4"));
    let mut appends = Vec::new();
    for _ in 0..count {
        let kind = match take(1)?[0] {
            255 => TileKind::Entries,
            l if l < 64 => TileKind::Hash(l),
            _ => return Err(bad("a tile level over 63")),
        };
        let index = u64_of(take(8)?);
        let start_width = u64_of(take(8)?);
        let end_width = u64_of(take(8)?);
        if start_width >= end_width || end_width > TILE_WIDTH {
            return Err(bad("a tile append's widths are out of order"));
        }
        let len = u32::from_be_bytes(take(4)?.try_into().expect("4")) as usize;
        let data = take(len)?.to_vec();
        appends.push(TileAppend { tile: TilePath { kind, index, partial: None }, start_width, end_width, data });
    }
    if !r.is_empty() {
        return Err(bad("bytes after the last tile"));
    }
    Ok(TileBatch { appends, commit: Commit { size, root } })
}
