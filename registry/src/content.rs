//! Private entry contents, stored beside the log and as durable as it (invariant 2).
//!
//! One append-only file, `DATA/contents/contents.log`: the 16 bytes `creditlog-cnt/2\n`, then records
//! `u32be(len) || u64be(index) || leaf hash (32) || content (len bytes) ||
//! SHA-256(u64be(index) || leaf hash || content)`, made durable with `fdatasync` *before* the
//! headers they belong to are appended to the log at `index`. A crash between the two leaves a
//! content record whose header never made it: harmless, never served (a content is served only
//! for a header whose leaf hash it names), and the next append at that index supersedes it. A
//! dense index, `contents.idx`, holds for each log index the offset of its newest record (8 bytes
//! at `8 × index`); it is written durably before the registry records how far it reaches, and
//! rebuilt from `contents.log` for any tail it lacks.
//!
//! A redaction ([`ContentStore::erase`]) deletes a content for good, in three durable steps: the
//! record's offset is added to `contents.erased` (u64 BE each; a scan skips a listed record whose
//! checksum no longer holds, by its length); a new record for the same index, holding what is
//! kept of the entry (the stub), is appended and indexed; then the old record's content and
//! checksum are overwritten with zeros in place. A crash between the steps is finished on the next
//! open: once the stub supersedes it, the newest listed record is zeroed if it is not yet; before
//! that, the record is still the entry's content, and the redaction is applied again from the log.

use ledger::crashlog;
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Content store errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContentError {
    /// I/O on the content file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A record fails its checksum or the index points at nothing valid.
    #[error("{path}: {problem}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// The index database.
    #[error("content index: {0}")]
    Index(#[from] sled::Error),
    /// The object store holding the contents of a cluster.
    #[error("contents in the object store: {0}")]
    Objects(#[from] cluster::ClusterError),
}

/// Where the contents are kept: the file beside the log (one machine, the default), or the
/// cluster's bucket ([`cluster::ObjectContents`]).
#[derive(Debug)]
pub enum Contents {
    /// `DATA/contents/`.
    File(ContentStore),
    /// `contents/` objects in the cluster's bucket.
    Objects(cluster::ObjectContents),
}

impl Contents {
    /// See [`ContentStore::append`].
    ///
    /// # Errors
    ///
    /// If the store fails.
    pub fn append(&self, first: u64, items: &[([u8; 32], Vec<u8>)]) -> Result<(), ContentError> {
        match self {
            Self::File(f) => f.append(first, items),
            Self::Objects(o) => Ok(o.append(first, items)?),
        }
    }

    /// See [`ContentStore::erase`].
    ///
    /// # Errors
    ///
    /// If the store fails.
    pub fn erase(&self, index: u64, leaf: &[u8; 32], replacement: &[u8]) -> Result<(), ContentError> {
        match self {
            Self::File(f) => f.erase(index, leaf, replacement),
            Self::Objects(o) => Ok(o.erase(index, leaf, replacement)?),
        }
    }

    /// See [`ContentStore::get`].
    ///
    /// # Errors
    ///
    /// If the store fails.
    pub fn get(&self, index: u64, leaf: &[u8; 32]) -> Result<Option<Vec<u8>>, ContentError> {
        match self {
            Self::File(f) => f.get(index, leaf),
            Self::Objects(o) => Ok(o.get(index, leaf)?),
        }
    }
}

/// The content file and its index.
#[derive(Debug)]
pub struct ContentStore {
    path: PathBuf,
    index_path: PathBuf,
    file: File,
    /// `contents.idx`: for log index `i`, at `8 * i`, the offset (u64 BE) of its content record
    /// in `contents.log` (0: none).
    index: File,
    len: Mutex<u64>,
    meta: sled::Tree,
    /// `contents.erased`: the offsets of the records whose content was deleted.
    erased_path: PathBuf,
    erased: Mutex<std::collections::HashSet<u64>>,
}

/// Bytes before a record's content: length, index, leaf hash.
const HEAD: u64 = 44;

/// The file's first bytes: its format. A file of another format is refused, never "repaired".
const MAGIC: &[u8; 16] = b"creditlog-cnt/2\n";

fn checksum(head: &[u8], content: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(&head[4..]);
    h.update(content);
    h.finalize().into()
}

fn record(index: u64, leaf: &[u8; 32], content: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&u32::try_from(content.len()).expect("contents are under 4 GiB").to_be_bytes());
    out.extend_from_slice(&index.to_be_bytes());
    out.extend_from_slice(leaf);
    out.extend_from_slice(content);
    let sum = checksum(&out[start..start + 44], content);
    out.extend_from_slice(&sum);
}

/// A positioned write, recorded for the crash-state explorer ([`ledger::crashlog`]).
fn write_at(file: &File, path: &Path, data: &[u8], offset: u64) -> std::io::Result<()> {
    file.write_all_at(data, offset)?;
    crashlog::record(|| crashlog::Op::Write { path: path.to_owned(), offset, data: data.to_vec() });
    Ok(())
}

/// An `fdatasync`, recorded for the crash-state explorer.
fn sync(file: &File, path: &Path) -> std::io::Result<()> {
    file.sync_data()?;
    crashlog::record(|| crashlog::Op::Sync(path.to_owned()));
    Ok(())
}

impl ContentStore {
    /// The content store of the data folder `data` (its progress kept in the folder's views
    /// database, as the registry keeps it), for a tool that fills a new folder (`creditlog
    /// backup`) before the registry opens it. Call [`ContentStore::flush`] when done.
    ///
    /// # Errors
    ///
    /// As [`ContentStore::open`], and the views database's.
    pub fn open_in_folder(data: &Path) -> Result<Self, ContentError> {
        let db = ledger::open_sled(&sled::Config::new().path(data.join("registry")))?;
        Self::open(&data.join("contents"), db.open_tree("meta")?)
    }

    /// Makes the store's progress durable in the views database.
    ///
    /// # Errors
    ///
    /// The views database's.
    pub fn flush(&self) -> Result<(), ContentError> {
        self.meta.flush()?;
        Ok(())
    }

    /// Opens the store in `dir`, indexing any records the index lacks and cutting a torn tail.
    /// `meta` holds how far `contents.log` is indexed (`contents`: offset, u64 BE).
    ///
    /// # Errors
    ///
    /// I/O or index failures, or a content file of another format.
    pub fn open(dir: &Path, meta: sled::Tree) -> Result<Self, ContentError> {
        std::fs::create_dir_all(dir).map_err(|source| ContentError::Io { path: dir.display().to_string(), source })?;
        let path = dir.join("contents.log");
        let io = |source| ContentError::Io { path: path.display().to_string(), source };
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        let mut file_len = file.metadata().map_err(io)?.len();
        if file_len == 0 {
            file.write_all_at(MAGIC, 0).map_err(io)?;
            file.sync_all().map_err(io)?;
            file_len = MAGIC.len() as u64;
        }
        let mut magic = [0u8; 16];
        if file.read_exact_at(&mut magic, 0).is_err() || magic != *MAGIC {
            return Err(ContentError::Corrupt {
                path: path.display().to_string(),
                problem: "this is not a content file of this version of creditlog (it lacks the \"creditlog-cnt/2\" \
                          header; files written before contents named their log index are not read)"
                    .into(),
            });
        }
        let index_path = dir.join("contents.idx");
        let index = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&index_path)
            .map_err(|source| ContentError::Io { path: index_path.display().to_string(), source })?;
        let mut off = meta
            .get(b"contents")?
            .map(|v| {
                v.as_ref().try_into().map(u64::from_be_bytes).map_err(|_| ContentError::Corrupt {
                    path: dir.display().to_string(),
                    problem: "the content index's stored offset is not 8 bytes".into(),
                })
            })
            .transpose()?
            .unwrap_or(MAGIC.len() as u64)
            .min(file_len);
        // An index file lost (deleted, or a fresh disk for it) while the database says how far it
        // reached: index the whole content file again.
        let index_len = index
            .metadata()
            .map_err(|source| ContentError::Io { path: index_path.display().to_string(), source })?
            .len();
        if index_len == 0 {
            off = MAGIC.len() as u64;
        }
        // Records erased for good: skipped unchecked; the newest is zeroed again in case a crash
        // interrupted it.
        let erased_path = dir.join("contents.erased");
        let erased_bytes = match std::fs::read(&erased_path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(ContentError::Io { path: erased_path.display().to_string(), source }),
        };
        if erased_bytes.len() % 8 != 0 {
            // A torn append of an intent: its redaction had not begun; it is applied again.
            let f = OpenOptions::new()
                .write(true)
                .open(&erased_path)
                .map_err(|source| ContentError::Io { path: erased_path.display().to_string(), source })?;
            f.set_len((erased_bytes.len() / 8 * 8) as u64)
                .and_then(|()| f.sync_all())
                .map_err(|source| ContentError::Io { path: erased_path.display().to_string(), source })?;
        }
        let erased_list: Vec<u64> =
            erased_bytes.chunks_exact(8).map(|c| u64::from_be_bytes(c.try_into().expect("8"))).collect();
        let store = Self {
            path: path.clone(),
            index_path,
            file,
            index,
            len: Mutex::new(off),
            meta,
            erased_path,
            erased: Mutex::new(erased_list.iter().copied().collect()),
        };
        // Index the tail the index does not cover yet.
        let mut slots = Vec::new();
        loop {
            let mut head = [0u8; HEAD as usize];
            if off + HEAD > file_len || store.file.read_exact_at(&mut head, off).is_err() {
                break;
            }
            let len = u64::from(u32::from_be_bytes(head[..4].try_into().expect("4")));
            let end = off + HEAD + len + 32;
            if end > file_len {
                break;
            }
            let mut rest = vec![0u8; usize::try_from(len + 32).expect("fits")];
            store.file.read_exact_at(&mut rest, off + HEAD).map_err(io)?;
            let (content, sum) = rest.split_at(rest.len() - 32);
            if checksum(&head, content)[..] != *sum {
                if store.erased.lock().expect("lock").contains(&off) {
                    // Erased for good (zeros): skipped.
                    off = end;
                    continue;
                }
                break;
            }
            // A later record for the same index supersedes an orphan written before a crash.
            slots.push((u64::from_be_bytes(head[4..12].try_into().expect("8")), off));
            off = end;
        }
        if off < file_len {
            tracing::warn!(file = %store.path.display(), cut = file_len - off, "cutting a torn content record (its header never reached the log)");
            store.file.set_len(off).map_err(io)?;
            store.file.sync_all().map_err(io)?;
        }
        store.write_slots(&slots)?;
        store.meta.insert(b"contents", &off.to_be_bytes())?;
        *store.len.lock().expect("lock") = off;
        // A crash may have interrupted the newest erasure after its stub was indexed: finish it.
        // (Before the stub, the record is still the entry's content, and the redaction is
        // applied again from the log.)
        if let Some(&last) = erased_list.last() {
            store.zero_if_superseded(last, off)?;
        }
        Ok(store)
    }

    /// Writes `(index, offset)` slots to the index file, in order (a later slot for the same
    /// index wins), and makes them durable before the caller records how far it indexed.
    fn write_slots(&self, slots: &[(u64, u64)]) -> Result<(), ContentError> {
        let io = |source| ContentError::Io { path: self.index_path.display().to_string(), source };
        // Consecutive indices are written as one run.
        let mut run: Vec<u8> = Vec::new();
        let mut run_start = 0;
        for (n, &(index, off)) in slots.iter().enumerate() {
            if n > 0 && index != slots[n - 1].0 + 1 {
                write_at(&self.index, &self.index_path, &run, run_start * 8).map_err(io)?;
                run.clear();
            }
            if run.is_empty() {
                run_start = index;
            }
            run.extend_from_slice(&off.to_be_bytes());
        }
        if !run.is_empty() {
            write_at(&self.index, &self.index_path, &run, run_start * 8).map_err(io)?;
            sync(&self.index, &self.index_path).map_err(io)?;
        }
        Ok(())
    }

    /// Appends the contents of the entries about to be appended to the log at `first`,
    /// `first + 1`, ..., each with the leaf hash of its header, and makes them durable.
    ///
    /// # Errors
    ///
    /// I/O failures; nothing is indexed then.
    pub fn append(&self, first: u64, items: &[([u8; 32], Vec<u8>)]) -> Result<(), ContentError> {
        let io = |source| ContentError::Io { path: self.path.display().to_string(), source };
        let mut len = self.len.lock().expect("lock");
        let mut buf = Vec::with_capacity(items.iter().map(|(_, c)| c.len() + 76).sum());
        let mut slots = Vec::with_capacity(items.len());
        for (i, (leaf, content)) in items.iter().enumerate() {
            slots.push((first + i as u64, *len + buf.len() as u64));
            record(first + i as u64, leaf, content, &mut buf);
        }
        write_at(&self.file, &self.path, &buf, *len).map_err(io)?;
        sync(&self.file, &self.path).map_err(io)?;
        *len += buf.len() as u64;
        self.write_slots(&slots)?;
        self.meta.insert(b"contents", &len.to_be_bytes())?;
        Ok(())
    }

    /// Deletes the content of the entry at `index` (leaf hash `leaf`) for good, keeping
    /// `replacement` (what is kept of it) in its place; see the module documentation. Nothing
    /// happens if no content is stored for it.
    ///
    /// # Errors
    ///
    /// I/O failures, or a stored content for another header at that index.
    pub fn erase(&self, index: u64, leaf: &[u8; 32], replacement: &[u8]) -> Result<(), ContentError> {
        if self.get(index, leaf)?.is_none() {
            return Ok(());
        }
        let old = self.offset(index)?;
        let io = |path: &Path, source| ContentError::Io { path: path.display().to_string(), source };
        // 1. The intent, durably: a scan skips the old record from now on.
        let mut list = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.erased_path)
            .map_err(|e| io(&self.erased_path, e))?;
        std::io::Write::write_all(&mut list, &old.to_be_bytes()).map_err(|e| io(&self.erased_path, e))?;
        list.sync_data().map_err(|e| io(&self.erased_path, e))?;
        self.erased.lock().expect("lock").insert(old);
        // 2. The stub, as the entry's newest record.
        self.append(index, &[(*leaf, replacement.to_vec())])?;
        // 3. The old bytes, gone.
        let file_len = *self.len.lock().expect("lock");
        self.zero_if_superseded(old, file_len)
    }

    /// The offset of the newest record for `index` (0: none).
    fn offset(&self, index: u64) -> Result<u64, ContentError> {
        let mut slot = [0u8; 8];
        match self.index.read_exact_at(&mut slot, index * 8) {
            Ok(()) => Ok(u64::from_be_bytes(slot)),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
            Err(source) => Err(ContentError::Io { path: self.index_path.display().to_string(), source }),
        }
    }

    /// Overwrites the content and checksum of the record at `off` with zeros, durably, once a
    /// later record for its index supersedes it (and unless they are zeros already).
    fn zero_if_superseded(&self, off: u64, file_len: u64) -> Result<(), ContentError> {
        let io = |source| ContentError::Io { path: self.path.display().to_string(), source };
        let mut head = [0u8; HEAD as usize];
        if off + HEAD > file_len || self.file.read_exact_at(&mut head, off).is_err() {
            return Ok(());
        }
        let index = u64::from_be_bytes(head[4..12].try_into().expect("8"));
        let newest = self.offset(index)?;
        if newest == off || newest == 0 {
            return Ok(());
        }
        let len = u64::from(u32::from_be_bytes(head[..4].try_into().expect("4"))) + 32;
        if off + HEAD + len > file_len {
            return Ok(());
        }
        let mut body = vec![0u8; usize::try_from(len).expect("fits")];
        self.file.read_exact_at(&mut body, off + HEAD).map_err(io)?;
        if body.iter().all(|b| *b == 0) {
            return Ok(());
        }
        body.fill(0);
        write_at(&self.file, &self.path, &body, off + HEAD).map_err(io)?;
        sync(&self.file, &self.path).map_err(io)
    }

    /// The content of the entry at `index` whose header has leaf hash `leaf`, if stored.
    ///
    /// # Errors
    ///
    /// I/O failures, a damaged record, or a stored content for another header at that index.
    pub fn get(&self, index: u64, leaf: &[u8; 32]) -> Result<Option<Vec<u8>>, ContentError> {
        let corrupt = |problem: String| ContentError::Corrupt { path: self.path.display().to_string(), problem };
        let off = self.offset(index)?;
        if off == 0 {
            return Ok(None);
        }
        let mut head = [0u8; HEAD as usize];
        self.file.read_exact_at(&mut head, off).map_err(|e| corrupt(format!("reading at {off}: {e}")))?;
        let len = usize::try_from(u32::from_be_bytes(head[..4].try_into().expect("4"))).expect("fits");
        let mut rest = vec![0u8; len + 32];
        self.file.read_exact_at(&mut rest, off + HEAD).map_err(|e| corrupt(format!("reading at {off}: {e}")))?;
        let (content, sum) = rest.split_at(len);
        if checksum(&head, content)[..] != *sum || head[4..12] != index.to_be_bytes() {
            return Err(corrupt(format!("the record at offset {off} fails its checksum")));
        }
        if head[12..44] != leaf[..] {
            return Err(corrupt(format!(
                "the content stored for entry {index} belongs to another header than the one on the log"
            )));
        }
        rest.truncate(len);
        Ok(Some(rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(dir: &Path) -> (sled::Db, sled::Tree) {
        let db = sled::Config::new().path(dir.join("db")).open().unwrap();
        let t = db.open_tree("meta").unwrap();
        (db, t)
    }

    #[test]
    fn contents_are_found_by_index_and_leaf_and_a_later_record_supersedes_an_orphan() {
        let dir = tempfile::tempdir().unwrap();
        let (_db, m) = meta(dir.path());
        let store = ContentStore::open(dir.path(), m.clone()).unwrap();
        store.append(0, &[([1; 32], b"zero".to_vec()), ([2; 32], b"one".to_vec())]).unwrap();
        // An orphan: written for index 2, but its header never reached the log.
        store.append(2, &[([9; 32], b"orphan".to_vec())]).unwrap();
        store.append(2, &[([3; 32], b"two".to_vec())]).unwrap();
        assert_eq!(store.get(1, &[2; 32]).unwrap().as_deref(), Some(&b"one"[..]));
        assert_eq!(store.get(2, &[3; 32]).unwrap().as_deref(), Some(&b"two"[..]));
        assert_eq!(store.get(3, &[4; 32]).unwrap(), None, "nothing stored for index 3");
        let err = store.get(1, &[7; 32]).unwrap_err().to_string();
        assert!(err.contains("belongs to another header"), "{err}");
        drop(store);
        // The index file lost (or the registry's database rebuilt): it is rebuilt from the
        // content file, and the later record for index 2 still wins.
        std::fs::remove_file(dir.path().join("contents.idx")).unwrap();
        let store = ContentStore::open(dir.path(), m).unwrap();
        assert_eq!(store.get(0, &[1; 32]).unwrap().as_deref(), Some(&b"zero"[..]));
        assert_eq!(store.get(2, &[3; 32]).unwrap().as_deref(), Some(&b"two"[..]));
    }

    fn holds(path: &Path, needle: &[u8]) -> bool {
        std::fs::read(path).unwrap().windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn an_erased_content_is_gone_from_the_file_and_its_stub_survives_a_lost_index_and_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let (_db, m) = meta(dir.path());
        let log = dir.path().join("contents.log");
        let store = ContentStore::open(dir.path(), m.clone()).unwrap();
        store.append(0, &[([1; 32], b"secret-zero".to_vec()), ([2; 32], b"kept-one".to_vec())]).unwrap();
        store.append(2, &[([3; 32], b"secret-two".to_vec())]).unwrap();
        store.erase(0, &[1; 32], b"stub-zero").unwrap();
        assert!(!holds(&log, b"secret-zero"), "the content bytes are overwritten in place");
        assert_eq!(store.get(0, &[1; 32]).unwrap().as_deref(), Some(&b"stub-zero"[..]));
        assert_eq!(store.get(1, &[2; 32]).unwrap().as_deref(), Some(&b"kept-one"[..]));
        // Erasing again, or erasing what is not stored, changes nothing.
        store.erase(0, &[1; 32], b"stub-zero").unwrap();
        store.erase(9, &[9; 32], b"nothing").unwrap();
        drop(store);
        // The index lost: the scan skips the erased record and finds the stub.
        std::fs::remove_file(dir.path().join("contents.idx")).unwrap();
        let store = ContentStore::open(dir.path(), m.clone()).unwrap();
        assert_eq!(store.get(0, &[1; 32]).unwrap().as_deref(), Some(&b"stub-zero"[..]));
        assert_eq!(store.get(2, &[3; 32]).unwrap().as_deref(), Some(&b"secret-two"[..]));
        // A crash after the intent and the stub, before the old bytes were zeroed: the next open
        // zeroes them.
        let old = store.offset(2).unwrap();
        store.append(2, &[([3; 32], b"stub-two".to_vec())]).unwrap();
        let mut list = OpenOptions::new().append(true).open(dir.path().join("contents.erased")).unwrap();
        std::io::Write::write_all(&mut list, &old.to_be_bytes()).unwrap();
        drop(store);
        assert!(holds(&log, b"secret-two"));
        let store = ContentStore::open(dir.path(), m.clone()).unwrap();
        assert!(!holds(&log, b"secret-two"), "the interrupted erasure is finished on open");
        assert_eq!(store.get(2, &[3; 32]).unwrap().as_deref(), Some(&b"stub-two"[..]));
        assert_eq!(store.get(1, &[2; 32]).unwrap().as_deref(), Some(&b"kept-one"[..]));
        // A crash after the intent, before the stub: the content is still the entry's (the
        // redaction is applied again from the log), even with the index lost; a torn intent is cut.
        let old = store.offset(1).unwrap();
        drop(store);
        let mut list = OpenOptions::new().append(true).open(dir.path().join("contents.erased")).unwrap();
        std::io::Write::write_all(&mut list, &old.to_be_bytes()).unwrap();
        std::io::Write::write_all(&mut list, &[0, 0, 1]).unwrap();
        drop(list);
        std::fs::remove_file(dir.path().join("contents.idx")).unwrap();
        let store = ContentStore::open(dir.path(), m.clone()).unwrap();
        assert_eq!(store.get(1, &[2; 32]).unwrap().as_deref(), Some(&b"kept-one"[..]));
        assert_eq!(store.get(0, &[1; 32]).unwrap().as_deref(), Some(&b"stub-zero"[..]));
        assert_eq!(std::fs::metadata(dir.path().join("contents.erased")).unwrap().len() % 8, 0);
        store.erase(1, &[2; 32], b"stub-one").unwrap();
        assert!(!holds(&log, b"kept-one"));
        assert_eq!(store.get(1, &[2; 32]).unwrap().as_deref(), Some(&b"stub-one"[..]));
    }

    #[test]
    fn a_torn_tail_is_cut_and_a_file_of_another_format_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let (_db, m) = meta(dir.path());
        let store = ContentStore::open(dir.path(), m.clone()).unwrap();
        store.append(0, &[([1; 32], b"kept".to_vec())]).unwrap();
        let good = std::fs::metadata(dir.path().join("contents.log")).unwrap().len();
        store.append(1, &[([2; 32], b"torn".to_vec())]).unwrap();
        drop(store);
        let file = OpenOptions::new().write(true).open(dir.path().join("contents.log")).unwrap();
        file.set_len(good + 20).unwrap();
        m.remove(b"contents").unwrap();
        let store = ContentStore::open(dir.path(), m).unwrap();
        assert_eq!(std::fs::metadata(dir.path().join("contents.log")).unwrap().len(), good);
        assert_eq!(store.get(0, &[1; 32]).unwrap().as_deref(), Some(&b"kept"[..]));

        // A content file of the earlier format (no header) is refused and left as it was.
        let old = tempfile::tempdir().unwrap();
        let (_db2, m2) = meta(old.path());
        std::fs::write(old.path().join("contents.log"), [0u8, 0, 0, 4, 1, 2, 3]).unwrap();
        let err = ContentStore::open(old.path(), m2).unwrap_err().to_string();
        assert!(err.contains("creditlog-cnt/2"), "{err}");
        assert_eq!(std::fs::read(old.path().join("contents.log")).unwrap(), [0u8, 0, 0, 4, 1, 2, 3]);
    }
}
