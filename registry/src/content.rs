//! Private entry contents, stored beside the log and as durable as it (invariant 2).
//!
//! One append-only file, `DATA/contents/contents.log`, of records
//! `u32be(len) || leaf hash (32) || content (len bytes) || SHA-256(leaf hash || content)`,
//! made durable with `fdatasync` *before* the headers they belong to are appended to the log.
//! A crash between the two leaves a content record whose header never made it: harmless, never
//! served (contents are found through headers). A sled index maps leaf hash to offset; it is
//! rebuilt from the file for any tail it lacks.

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
}

/// The content file and its index.
#[derive(Debug)]
pub struct ContentStore {
    path: PathBuf,
    file: File,
    len: Mutex<u64>,
    index: sled::Tree,
    meta: sled::Tree,
}

fn record(leaf: &[u8; 32], content: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(content.len() + 68);
    r.extend_from_slice(&u32::try_from(content.len()).expect("contents are under 4 GiB").to_be_bytes());
    r.extend_from_slice(leaf);
    r.extend_from_slice(content);
    let mut h = Sha256::new();
    h.update(leaf);
    h.update(content);
    r.extend_from_slice(&h.finalize());
    r
}

impl ContentStore {
    /// Opens the store in `dir`, indexing any records the index lacks and cutting a torn tail.
    ///
    /// # Errors
    ///
    /// I/O or index failures.
    pub fn open(dir: &Path, index: sled::Tree, indexed_to: sled::Tree) -> Result<Self, ContentError> {
        std::fs::create_dir_all(dir).map_err(|source| ContentError::Io { path: dir.display().to_string(), source })?;
        let path = dir.join("contents.log");
        let io = |source| ContentError::Io { path: path.display().to_string(), source };
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        let file_len = file.metadata().map_err(io)?.len();
        let mut off = indexed_to
            .get(b"contents")?
            .map(|v| {
                v.as_ref().try_into().map(u64::from_be_bytes).map_err(|_| ContentError::Corrupt {
                    path: dir.display().to_string(),
                    problem: "the content index's stored offset is not 8 bytes".into(),
                })
            })
            .transpose()?
            .unwrap_or(0)
            .min(file_len);
        // Index the tail the index does not cover yet.
        loop {
            let mut head = [0u8; 36];
            if off + 36 > file_len || file.read_exact_at(&mut head, off).is_err() {
                break;
            }
            let len = u64::from(u32::from_be_bytes(head[..4].try_into().expect("4")));
            let end = off + 36 + len + 32;
            if end > file_len {
                break;
            }
            let mut rest = vec![0u8; usize::try_from(len + 32).expect("fits")];
            file.read_exact_at(&mut rest, off + 36).map_err(io)?;
            let (content, sum) = rest.split_at(rest.len() - 32);
            let mut h = Sha256::new();
            h.update(&head[4..36]);
            h.update(content);
            if h.finalize()[..] != *sum {
                break;
            }
            index.insert(&head[4..36], &off.to_be_bytes())?;
            off = end;
        }
        if off < file_len {
            tracing::warn!(file = %path.display(), cut = file_len - off, "cutting a torn content record (its header never reached the log)");
            file.set_len(off).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        indexed_to.insert(b"contents", &off.to_be_bytes())?;
        Ok(Self { path, file, len: Mutex::new(off), index, meta: indexed_to })
    }

    /// Appends contents keyed by the leaf hashes of their headers and makes them durable.
    ///
    /// # Errors
    ///
    /// I/O failures; nothing is indexed then.
    pub fn append(&self, items: &[([u8; 32], Vec<u8>)]) -> Result<(), ContentError> {
        let io = |source| ContentError::Io { path: self.path.display().to_string(), source };
        let mut len = self.len.lock().expect("lock");
        let mut buf = Vec::new();
        let mut offsets = Vec::with_capacity(items.len());
        for (leaf, content) in items {
            offsets.push(*len + buf.len() as u64);
            buf.extend_from_slice(&record(leaf, content));
        }
        self.file.write_all_at(&buf, *len).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        *len += buf.len() as u64;
        let mut batch = sled::Batch::default();
        for ((leaf, _), off) in items.iter().zip(offsets) {
            batch.insert(&leaf[..], &off.to_be_bytes());
        }
        self.index.apply_batch(batch)?;
        self.meta.insert(b"contents", &len.to_be_bytes())?;
        Ok(())
    }

    /// The content for a header's leaf hash, if stored.
    ///
    /// # Errors
    ///
    /// I/O failures or a damaged record.
    pub fn get(&self, leaf: &[u8; 32]) -> Result<Option<Vec<u8>>, ContentError> {
        let Some(off) = self.index.get(leaf)? else { return Ok(None) };
        let corrupt = |problem: String| ContentError::Corrupt { path: self.path.display().to_string(), problem };
        let off = u64::from_be_bytes(
            off.as_ref()
                .try_into()
                .map_err(|_| corrupt("the content index holds an offset that is not 8 bytes".into()))?,
        );
        let mut head = [0u8; 36];
        self.file.read_exact_at(&mut head, off).map_err(|e| corrupt(format!("reading at {off}: {e}")))?;
        let len = usize::try_from(u32::from_be_bytes(head[..4].try_into().expect("4"))).expect("fits");
        let mut rest = vec![0u8; len + 32];
        self.file.read_exact_at(&mut rest, off + 36).map_err(|e| corrupt(format!("reading at {off}: {e}")))?;
        let (content, sum) = rest.split_at(len);
        let mut h = Sha256::new();
        h.update(leaf);
        h.update(content);
        if head[4..36] != leaf[..] || h.finalize()[..] != *sum {
            return Err(corrupt(format!("the record at offset {off} fails its checksum")));
        }
        Ok(Some(content.to_vec()))
    }
}
