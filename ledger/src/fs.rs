//! The POSIX backend: the log as files in the C2SP tlog-tiles layout, made durable with
//! `fdatasync` at every group commit, plus a sled index that can be rebuilt from the files.
//!
//! ```text
//! <dir>/tile/<L>/<N>             hash tiles; the newest one at each level grows in place
//! <dir>/tile/entries/<N>         entry bundles; likewise
//! <dir>/commit                   two 64-byte commit slots, written alternately
//! <dir>/checkpoints              every published checkpoint, append-only
//! <dir>/index/                   sled: checkpoint size -> offset in `checkpoints`
//! ```
//!
//! A partial tile of width `W` is the first `W` hashes or entries of the growing file, so the
//! file of a full tile is exactly the C2SP full tile and never changes again.
//!
//! **Commit protocol.** For each batch: append the bytes to each tile file; `fdatasync` every
//! file touched and `fsync` every directory that gained a file; then write the next commit slot
//! (`seq`, tree size, root hash, and `SHA-256` of those over the slot) and `fdatasync` it. Only
//! then does [`LogStorage::commit`] return. A crash before the slot write leaves the previous
//! slot in force; a torn slot fails its checksum and the previous slot is used.
//!
//! **Recovery.** On open, the newest valid slot gives the committed size. Bytes past it in the
//! newest tiles (a torn or unacknowledged tail) are cut, tiles wholly past it are removed. A
//! tile shorter than the commit says is corruption: opening fails and names the file.
//!
//! sled is not used for anything that must survive power loss: its `flush` uses
//! `sync_file_range`, which does not flush the disk cache (sled issues #1351, #1452).

use crate::crashlog;
use crate::storage::{Commit, LogStorage, StorageError, TileBatch};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use verifier::bundle::parse_bundle_prefix;
use verifier::{Hash, TileKind, TilePath, TILE_WIDTH};

const SLOT_SIZE: usize = 64;
const HASH_TILE_BYTES: u64 = TILE_WIDTH * 32;

/// Whether opening may repair a torn tail (the server) or must only look (fsck).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Cut uncommitted bytes and files past the last commit.
    Repair,
    /// Change nothing; report what a repair would cut.
    ReadOnly,
}

/// What recovery found past the last commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Files whose uncommitted tail was (or would be) cut, with the bytes cut.
    pub truncated: Vec<(String, u64)>,
    /// Files wholly past the last commit, (to be) removed.
    pub removed: Vec<String>,
}

#[derive(Debug)]
struct OpenTile {
    file: File,
    len: u64,
}

#[derive(Debug)]
struct Writer {
    /// The newest, growing tile at each level, kept open between batches.
    open: HashMap<TilePath, OpenTile>,
    commit_file: File,
    seq: u64,
    history: File,
    history_len: u64,
}

/// Log storage in plain files; see the module documentation.
#[derive(Debug)]
pub struct FileStorage {
    dir: PathBuf,
    writer: Mutex<Option<Writer>>,
    index: sled::Tree,
    _db: sled::Db,
    last_commit: Mutex<Option<(u64, Commit)>>,
    latest: Mutex<Option<(u64, Vec<u8>)>>,
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StorageError + 'a {
    move |source| StorageError::Io { action, path: path.display().to_string(), source }
}

fn corrupt(path: impl Into<String>, problem: impl Into<String>) -> StorageError {
    StorageError::Corrupt { path: path.into(), problem: problem.into() }
}

fn fsync_dir(path: &Path) -> Result<(), StorageError> {
    File::open(path).and_then(|d| d.sync_all()).map_err(io("syncing directory", path))?;
    crashlog::record(|| crashlog::Op::SyncDir(path.to_owned()));
    Ok(())
}

/// `fdatasync` of a file, recorded for the crash-state explorer.
fn sync_file(f: &File, path: &Path) -> Result<(), StorageError> {
    f.sync_data().map_err(io("syncing", path))?;
    crashlog::record(|| crashlog::Op::Sync(path.to_owned()));
    Ok(())
}

/// A positioned write, recorded for the crash-state explorer.
fn write_at(f: &File, data: &[u8], offset: u64, path: &Path) -> Result<(), StorageError> {
    use std::os::unix::fs::FileExt;
    f.write_all_at(data, offset).map_err(io("writing", path))?;
    crashlog::record(|| crashlog::Op::Write { path: path.to_owned(), offset, data: data.to_vec() });
    Ok(())
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StorageError> {
    match std::fs::read(path) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("reading", path)(e)),
    }
}

fn slot_bytes(seq: u64, c: &Commit) -> [u8; SLOT_SIZE] {
    // seq (8, big endian) || size (8, big endian) || root (32) || SHA-256(first 48 bytes)[..16]
    let mut b = [0u8; SLOT_SIZE];
    b[..8].copy_from_slice(&seq.to_be_bytes());
    b[8..16].copy_from_slice(&c.size.to_be_bytes());
    b[16..48].copy_from_slice(&c.root.0);
    let sum = Sha256::digest(&b[..48]);
    b[48..].copy_from_slice(&sum[..16]);
    b
}

fn parse_slot(b: &[u8]) -> Option<(u64, Commit)> {
    if b.len() != SLOT_SIZE || Sha256::digest(&b[..48])[..16] != b[48..] {
        return None;
    }
    let seq = u64::from_be_bytes(b[..8].try_into().ok()?);
    let size = u64::from_be_bytes(b[8..16].try_into().ok()?);
    Some((seq, Commit { size, root: Hash(b[16..48].try_into().ok()?) }))
}

/// Bytes of the first `width` items of a tile's data, or `None` if it holds fewer.
pub fn prefix_len(kind: TileKind, data: &[u8], width: u64) -> Option<usize> {
    match kind {
        TileKind::Hash(_) => {
            let n = usize::try_from(width * 32).ok()?;
            (data.len() >= n).then_some(n)
        }
        TileKind::Entries => {
            let (entries, _) = parse_bundle_prefix(data).ok()?;
            if (entries.len() as u64) < width {
                return None;
            }
            let w = usize::try_from(width).ok()?;
            Some(entries[..w].iter().map(|e| e.len() + 2).sum())
        }
    }
}

impl FileStorage {
    /// Opens (creating if needed) the log stored in `dir`, repairing a torn tail in
    /// [`OpenMode::Repair`].
    ///
    /// # Errors
    ///
    /// If the files contradict the last commit (corruption, named by file) or cannot be read.
    pub fn open(dir: &Path, mode: OpenMode) -> Result<(Self, RecoveryReport), StorageError> {
        if mode == OpenMode::Repair {
            std::fs::create_dir_all(dir.join("tile")).map_err(io("creating", dir))?;
        }
        let commit_path = dir.join("commit");
        let last_commit = match read_optional(&commit_path)? {
            None => None,
            Some(data) => {
                let slots: Vec<_> = data.chunks(SLOT_SIZE).filter_map(parse_slot).collect();
                if slots.is_empty() && data.iter().any(|b| *b != 0) {
                    return Err(corrupt(commit_path.display().to_string(), "neither commit slot has a valid checksum"));
                }
                slots.into_iter().max_by_key(|(seq, _)| *seq)
            }
        };
        let report = recover(dir, last_commit.map_or(0, |(_, c)| c.size), mode)?;

        let db = crate::open_sled(
            &sled::Config::new().path(dir.join("index")).mode(sled::Mode::LowSpace).cache_capacity(8 << 20),
        )
        .map_err(|e| StorageError::Index(e.to_string()))?;
        let index = db.open_tree("checkpoints").map_err(|e| StorageError::Index(e.to_string()))?;
        let history_path = dir.join("checkpoints");
        let (latest, history_len) = index_history(&history_path, &index, mode)?;

        let writer = if mode == OpenMode::Repair {
            let commit_file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&commit_path)
                .map_err(io("opening", &commit_path))?;
            let history = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&history_path)
                .map_err(io("opening", &history_path))?;
            fsync_dir(dir)?;
            Some(Writer {
                open: HashMap::new(),
                commit_file,
                seq: last_commit.map_or(0, |(s, _)| s),
                history,
                history_len,
            })
        } else {
            None
        };
        Ok((
            Self {
                dir: dir.to_owned(),
                writer: Mutex::new(writer),
                index,
                _db: db,
                last_commit: Mutex::new(last_commit),
                latest: Mutex::new(latest),
            },
            report,
        ))
    }

    /// The directory holding the log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// File path of a tile (always the full tile's file).
    pub fn tile_file(&self, tile: TilePath) -> PathBuf {
        self.dir.join(tile.full().to_path())
    }

    /// Checks the checkpoint index against the history file: every indexed record at its
    /// offset, nothing else indexed. Returns how many records the index lags behind (not a
    /// problem: the next start indexes them).
    ///
    /// # Errors
    ///
    /// [`StorageError::Corrupt`] naming the first disagreement.
    pub fn check_index(&self) -> Result<u64, StorageError> {
        let history_path = self.dir.join("checkpoints");
        let data = read_optional(&history_path)?.unwrap_or_default();
        let records = parse_history(&data);
        let index_path = self.dir.join("index").display().to_string();
        let mut lagging = 0;
        for (offset, size, _) in &records {
            let got = self.index.get(size.to_be_bytes()).map_err(|e| StorageError::Index(e.to_string()))?;
            match got {
                // sled is not flushed at every write: after a crash the index may lag the history
                // file; the next start indexes what is missing.
                None => lagging += 1,
                Some(v) if v.as_ref() == offset.to_be_bytes() => {}
                Some(_) => {
                    return Err(corrupt(
                        index_path,
                        format!("the checkpoint of size {size} is indexed at a wrong offset (it is at {offset})"),
                    ))
                }
            }
        }
        let indexed = self.index.len() as u64;
        if indexed + lagging != records.len() as u64 {
            return Err(corrupt(
                index_path,
                format!("the index lists {indexed} checkpoints, some of them not in the history of {}", records.len()),
            ));
        }
        Ok(lagging)
    }
}

/// `fdatasync`s the files and `fsync`s the directories, spread over a few threads.
fn sync_all_parallel(files: &[(&File, PathBuf)], dirs: &[PathBuf]) -> Result<(), StorageError> {
    const THREADS: usize = 8;
    let jobs = files.len() + dirs.len();
    if jobs <= 1 {
        for (f, p) in files {
            sync_file(f, p)?;
        }
        return dirs.iter().try_for_each(|d| fsync_dir(d));
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS.min(jobs))
            .map(|_| {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= jobs {
                        return Ok(());
                    }
                    if i < files.len() {
                        let (f, p) = &files[i];
                        sync_file(f, p)?;
                    } else {
                        fsync_dir(&dirs[i - files.len()])?;
                    }
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| w.join().expect("sync thread panicked"))
    })
}

/// One history record: `len (4, BE) || size (8, BE) || note || SHA-256(size || note)`.
fn history_record(size: u64, note: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(note.len() + 44);
    r.extend_from_slice(&u32::try_from(note.len()).expect("notes are small").to_be_bytes());
    r.extend_from_slice(&size.to_be_bytes());
    r.extend_from_slice(note);
    let mut h = Sha256::new();
    h.update(size.to_be_bytes());
    h.update(note);
    r.extend_from_slice(&h.finalize());
    r
}

/// Complete, checksummed records of the history as `(offset, size, note)`; stops at the
/// first torn or damaged record.
fn parse_history(data: &[u8]) -> Vec<(u64, u64, &[u8])> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off + 12 <= data.len() {
        let len = u32::from_be_bytes(data[off..off + 4].try_into().expect("4")) as usize;
        let end = off + 12 + len + 32;
        if end > data.len() {
            break;
        }
        let size_bytes = &data[off + 4..off + 12];
        let note = &data[off + 12..off + 12 + len];
        let mut h = Sha256::new();
        h.update(size_bytes);
        h.update(note);
        if h.finalize()[..] != data[end - 32..end] {
            break;
        }
        out.push((off as u64, u64::from_be_bytes(size_bytes.try_into().expect("8")), note));
        off = end;
    }
    out
}

/// The newest checkpoint in the history: its size and signed note.
type LatestCheckpoint = Option<(u64, Vec<u8>)>;

/// Brings the sled index up to date with the history file and cuts a torn last record.
fn index_history(path: &Path, index: &sled::Tree, mode: OpenMode) -> Result<(LatestCheckpoint, u64), StorageError> {
    let data = read_optional(path)?.unwrap_or_default();
    let records = parse_history(&data);
    let valid_len = records.last().map_or(0, |(off, _, note)| off + 44 + note.len() as u64);
    if mode == OpenMode::Repair {
        if valid_len < data.len() as u64 {
            tracing::warn!(file = %path.display(), cut = data.len() as u64 - valid_len, "cutting a torn checkpoint record (never published)");
            let f = OpenOptions::new().write(true).open(path).map_err(io("opening", path))?;
            f.set_len(valid_len).map_err(io("truncating", path))?;
            f.sync_all().map_err(io("syncing", path))?;
        }
        let indexed = index.len();
        if indexed != records.len() {
            index.clear().map_err(|e| StorageError::Index(e.to_string()))?;
            for (off, size, _) in &records {
                index.insert(size.to_be_bytes(), &off.to_be_bytes()).map_err(|e| StorageError::Index(e.to_string()))?;
            }
        }
    }
    let latest = records.last().map(|(_, size, note)| (*size, note.to_vec()));
    Ok((latest, valid_len))
}

/// Cuts (or, read-only, reports) everything past `size` committed entries.
fn recover(dir: &Path, size: u64, mode: OpenMode) -> Result<RecoveryReport, StorageError> {
    let mut report = RecoveryReport::default();
    let mut level = 0u8;
    // Entry bundles, then hash tiles level by level, until a level has no files at all.
    let kinds = std::iter::once(TileKind::Entries).chain((0..64).map(TileKind::Hash));
    for kind in kinds {
        let shift = match kind {
            TileKind::Entries => 0,
            TileKind::Hash(l) => {
                level = l;
                u32::from(l) * 8
            }
        };
        let count = if shift >= 64 { 0 } else { size >> shift };
        let last_full = count / TILE_WIDTH;
        let width = count % TILE_WIDTH;
        // The growing tile.
        let mut n = last_full;
        let mut any = count > 0;
        loop {
            let tile = TilePath { kind, index: n, partial: None };
            let path = dir.join(tile.to_path());
            let Some(data) = read_optional(&path)? else {
                break;
            };
            any = true;
            let keep = if n == last_full { width } else { 0 };
            let keep_bytes = prefix_len(kind, &data, keep).ok_or_else(|| {
                corrupt(path.display().to_string(), format!("holds fewer than the {keep} items the last commit covers"))
            })? as u64;
            if keep == 0 {
                report.removed.push(tile.to_path());
                if mode == OpenMode::Repair {
                    std::fs::remove_file(&path).map_err(io("removing", &path))?;
                }
            } else if keep_bytes < data.len() as u64 {
                report.truncated.push((tile.to_path(), data.len() as u64 - keep_bytes));
                if mode == OpenMode::Repair {
                    let f = OpenOptions::new().write(true).open(&path).map_err(io("opening", &path))?;
                    f.set_len(keep_bytes).map_err(io("truncating", &path))?;
                    f.sync_all().map_err(io("syncing", &path))?;
                }
            }
            n += 1;
        }
        if n == last_full && width > 0 {
            let tile = TilePath { kind, index: last_full, partial: None };
            return Err(corrupt(
                dir.join(tile.to_path()).display().to_string(),
                format!("is missing, but the last commit says it holds {width} items"),
            ));
        }
        if !any && matches!(kind, TileKind::Hash(_)) && level > 0 {
            break;
        }
    }
    if mode == OpenMode::Repair && !(report.removed.is_empty() && report.truncated.is_empty()) {
        tracing::warn!(?report, "cut an uncommitted tail left by a crash; no acknowledged entry is affected");
    }
    Ok(report)
}

impl LogStorage for FileStorage {
    fn last_commit(&self) -> Result<Option<Commit>, StorageError> {
        Ok(self.last_commit.lock().expect("lock").map(|(_, c)| c))
    }

    fn commit(&self, batch: &TileBatch) -> Result<(), StorageError> {
        let mut guard = self.writer.lock().expect("writer lock");
        let w = guard.as_mut().ok_or_else(|| corrupt(self.dir.display().to_string(), "storage opened read-only"))?;
        let mut dirs_to_sync = BTreeSet::new();
        let mut touched = Vec::with_capacity(batch.appends.len());
        for a in &batch.appends {
            if let std::collections::hash_map::Entry::Vacant(slot) = w.open.entry(a.tile) {
                let path = self.dir.join(a.tile.to_path());
                let parent = path.parent().expect("tile paths have a parent").to_owned();
                if !parent.exists() {
                    let mut created = Vec::new();
                    let mut p = parent.as_path();
                    while p != self.dir {
                        if !p.exists() {
                            created.push(p.to_owned());
                        }
                        dirs_to_sync.insert(p.to_owned());
                        p = p.parent().expect("inside the log directory");
                    }
                    std::fs::create_dir_all(&parent).map_err(io("creating", &parent))?;
                    for d in created.into_iter().rev() {
                        crashlog::record(|| crashlog::Op::Mkdir(d));
                    }
                }
                let existed = path.exists();
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path)
                    .map_err(io("opening", &path))?;
                if !existed {
                    crashlog::record(|| crashlog::Op::Create(path.clone()));
                    dirs_to_sync.insert(parent);
                }
                let len = file.metadata().map_err(io("reading metadata of", &path))?.len();
                slot.insert(OpenTile { file, len });
            }
            let t = w.open.get_mut(&a.tile).expect("just opened");
            if let TileKind::Hash(_) = a.tile.kind {
                if t.len != a.start_width * 32 {
                    return Err(corrupt(
                        a.tile.to_path(),
                        format!("holds {} bytes, sequencing expected {}", t.len, a.start_width * 32),
                    ));
                }
            }
            let path = self.dir.join(a.tile.to_path());
            write_at(&t.file, &a.data, t.len, &path)?;
            t.len += a.data.len() as u64;
            touched.push(a.tile);
        }
        // Flush every touched file and new directory entry; in parallel, so the device sees
        // the requests together instead of one round trip each.
        let files: Vec<(&File, PathBuf)> =
            touched.iter().map(|t| (&w.open[t].file, self.dir.join(t.to_path()))).collect();
        let dirs: Vec<PathBuf> = dirs_to_sync.into_iter().collect();
        sync_all_parallel(&files, &dirs)?;
        // The commit point.
        let seq = w.seq + 1;
        let slot = slot_bytes(seq, &batch.commit);
        let commit_path = self.dir.join("commit");
        write_at(&w.commit_file, &slot, (seq % 2) * SLOT_SIZE as u64, &commit_path)?;
        sync_file(&w.commit_file, &commit_path)?;
        w.seq = seq;
        *self.last_commit.lock().expect("lock") = Some((seq, batch.commit));
        // Tiles that became full are immutable from now on.
        for a in &batch.appends {
            if a.end_width == TILE_WIDTH {
                w.open.remove(&a.tile);
            }
        }
        Ok(())
    }

    fn read_full_tile_range(&self, tile: TilePath, offset: u64, len: usize) -> Result<Option<Vec<u8>>, StorageError> {
        use std::os::unix::fs::FileExt;
        let path = self.tile_file(tile);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("reading", &path)(e)),
        };
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, offset).map_err(io("reading", &path))?;
        Ok(Some(buf))
    }

    fn read_tile(&self, tile: TilePath) -> Result<Option<Vec<u8>>, StorageError> {
        let path = self.tile_file(tile);
        let Some(mut data) = read_optional(&path)? else {
            return Ok(None);
        };
        match tile.partial {
            None => {
                // A full tile: exactly 256 items.
                match tile.kind {
                    TileKind::Hash(_) if data.len() as u64 == HASH_TILE_BYTES => Ok(Some(data)),
                    TileKind::Hash(_) if (data.len() as u64) < HASH_TILE_BYTES => Ok(None),
                    TileKind::Hash(_) => Err(corrupt(
                        path.display().to_string(),
                        format!("a hash tile of {} bytes is longer than a full tile", data.len()),
                    )),
                    TileKind::Entries => match prefix_len(tile.kind, &data, TILE_WIDTH) {
                        Some(n) => {
                            data.truncate(n);
                            Ok(Some(data))
                        }
                        None => Ok(None),
                    },
                }
            }
            Some(_) => match prefix_len(tile.kind, &data, tile.width()) {
                Some(n) => {
                    data.truncate(n);
                    Ok(Some(data))
                }
                None => Ok(None),
            },
        }
    }

    fn full_tile_present(&self, tile: TilePath) -> Result<bool, StorageError> {
        let path = self.tile_file(tile);
        match std::fs::metadata(&path) {
            Ok(m) => Ok(match tile.kind {
                TileKind::Hash(_) => m.len() == HASH_TILE_BYTES,
                // 256 entries of 1 to 65,535 bytes, each with a 2-byte length.
                TileKind::Entries => (TILE_WIDTH * 3..=TILE_WIDTH * 65_537).contains(&m.len()),
            }),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io("reading metadata of", &path)(e)),
        }
    }

    fn publish_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StorageError> {
        let mut guard = self.writer.lock().expect("writer lock");
        let w = guard.as_mut().ok_or_else(|| corrupt(self.dir.display().to_string(), "storage opened read-only"))?;
        let path = self.dir.join("checkpoints");
        let record = history_record(size, note);
        write_at(&w.history, &record, w.history_len, &path)?;
        sync_file(&w.history, &path)?;
        self.index
            .insert(size.to_be_bytes(), &w.history_len.to_be_bytes())
            .map_err(|e| StorageError::Index(e.to_string()))?;
        w.history_len += record.len() as u64;
        *self.latest.lock().expect("lock") = Some((size, note.to_vec()));
        Ok(())
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, StorageError> {
        Ok(self.latest.lock().expect("lock").clone())
    }

    fn checkpoint_at(&self, size: u64) -> Result<Option<Vec<u8>>, StorageError> {
        let Some(off) = self.index.get(size.to_be_bytes()).map_err(|e| StorageError::Index(e.to_string()))? else {
            return Ok(None);
        };
        let off = u64::from_be_bytes(off.as_ref().try_into().map_err(|_| StorageError::Index("bad offset".into()))?);
        let path = self.dir.join("checkpoints");
        let f = File::open(&path).map_err(io("opening", &path))?;
        let mut head = [0u8; 12];
        f.read_exact_at(&mut head, off).map_err(io("reading", &path))?;
        let len = u32::from_be_bytes(head[..4].try_into().expect("4")) as usize;
        let mut rec = vec![0u8; 12 + len + 32];
        f.read_exact_at(&mut rec, off).map_err(io("reading", &path))?;
        match parse_history(&rec).first() {
            Some((_, s, note)) if *s == size => Ok(Some(note.to_vec())),
            _ => Err(corrupt(
                path.display().to_string(),
                format!("the index points at offset {off} for size {size}, but no valid record of that size is there"),
            )),
        }
    }

    fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>, StorageError> {
        let path = self.dir.join("checkpoints");
        let data = read_optional(&path)?.unwrap_or_default();
        Ok(parse_history(&data).into_iter().map(|(_, s, n)| (s, n.to_vec())).collect())
    }
}
