//! The scoring view (评分视图): every record and approved credit repair (信用修复) in the form
//! scoring reads, so that grading a firm reads neither the log nor the contents back and checks
//! no signature or checksum a second time (intake checked them once).
//!
//! Two files in `DATA/scoring/`, derived from the log alone and written by the views' apply,
//! after the log append:
//! - `scoring.dat`: the 16 bytes `creditlog-scv/1\n`, then rows
//!   `u32be(len) || u64be(index) || u8 kind || body (len bytes)`. Kind 1 is a record, its body
//!   the record's JSON ([`verifier::record::Record::to_json_bytes`]); kind 2 an approved credit
//!   repair, its body `u64be(decided) || u64be(target) || i64be(day since 1970-01-01)`; kind 0 a
//!   row erased by a redaction, its body zeros.
//! - `scoring.idx`: dense; for log index `i`, at `8 × i`, the offset of its row in `scoring.dat`,
//!   or `u64::MAX` for an entry with no row. 0 means never written.
//!
//! **Why files of our own, not sled.** A full re-grade reads every firm's rows and an instant
//! re-grade one firm's: both are reads by offset, a `pread` each from the page cache, with no
//! tree walk and no checksum. And a redaction (保存期限与删除) must leave nothing of a record
//! behind: its row is overwritten with zeros in place and made durable before its content is
//! erased. sled cannot promise that: its files keep a deleted value until the space is reused.
//!
//! **Crashes.** The registry records the length of `scoring.dat` in the same sled batch as how
//! far the views are applied (`meta`: `applied`, `scoring`). On open, a longer file is cut back
//! to that length: its tail holds rows of entries that are applied again from the log. A shorter
//! file or index (writes lost with the power) makes the view be rebuilt from the log. Every read
//! checks the row's own index, and an index slot that was never written is an error. A view that
//! lost writes therefore fails loudly; it never leaves a record out of a decision.

use crate::RegistryError;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use verifier::decision::Repaired;
use verifier::Date;

const MAGIC: &[u8; 16] = b"creditlog-scv/1\n";
/// `len (4) || index (8) || kind (1)`.
const HEAD: usize = 13;
/// An index slot of an entry that has no row.
const NONE: u64 = u64::MAX;
/// How much of a row the first read takes: most records fit.
const FIRST_READ: usize = 1024;

/// One row of the scoring view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Row {
    /// A record's JSON.
    Record(Vec<u8>),
    /// An approved credit repair.
    Repair(Repaired),
}

/// The scoring view's two files.
#[derive(Debug)]
pub(crate) struct ScoringView {
    dat_path: PathBuf,
    idx_path: PathBuf,
    dat: File,
    idx: File,
    /// The length of `scoring.dat`.
    len: Mutex<u64>,
    /// Held for writing while a row is erased, so that no read sees half of one.
    erasing: RwLock<()>,
}

fn encode(index: u64, row: &Row, out: &mut Vec<u8>) {
    let (kind, len) = match row {
        Row::Record(json) => (1, json.len()),
        Row::Repair(_) => (2, 24),
    };
    out.extend_from_slice(&u32::try_from(len).expect("a record is under 4 GiB").to_be_bytes());
    out.extend_from_slice(&index.to_be_bytes());
    out.push(kind);
    match row {
        Row::Record(json) => out.extend_from_slice(json),
        Row::Repair(r) => {
            out.extend_from_slice(&r.decided.to_be_bytes());
            out.extend_from_slice(&r.target.to_be_bytes());
            out.extend_from_slice(&r.date.days_since_epoch().to_be_bytes());
        }
    }
}

impl ScoringView {
    fn corrupt(&self, problem: String) -> RegistryError {
        RegistryError::Corrupt { tree: "scoring", problem }
    }

    fn io(path: &Path, source: std::io::Error) -> RegistryError {
        RegistryError::Corrupt { tree: "scoring", problem: format!("{}: {source}", path.display()) }
    }

    /// Opens the view in `dir` for views applied up to `applied`, whose `scoring.dat` was
    /// `recorded` bytes long then. True if the view must be rebuilt from the log for the entries
    /// below `applied` (it was emptied).
    pub(crate) fn open(dir: &Path, applied: u64, recorded: Option<u64>) -> Result<(Self, bool), RegistryError> {
        std::fs::create_dir_all(dir).map_err(|e| Self::io(dir, e))?;
        let dat_path = dir.join("scoring.dat");
        let idx_path = dir.join("scoring.idx");
        let open = |p: &Path| {
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(p).map_err(|e| Self::io(p, e))
        };
        let view = Self {
            dat: open(&dat_path)?,
            idx: open(&idx_path)?,
            dat_path,
            idx_path,
            len: Mutex::new(MAGIC.len() as u64),
            erasing: RwLock::new(()),
        };
        let dat_len = view.dat.metadata().map_err(|e| Self::io(&view.dat_path, e))?.len();
        let idx_len = view.idx.metadata().map_err(|e| Self::io(&view.idx_path, e))?.len();
        let mut magic = [0u8; 16];
        let magic_ok = view.dat.read_exact_at(&mut magic, 0).is_ok() && magic == *MAGIC;
        let whole = applied > 0
            && magic_ok
            && recorded.is_some_and(|r| r >= MAGIC.len() as u64 && r <= dat_len)
            && idx_len >= 8 * applied;
        if whole {
            let r = recorded.expect("checked");
            view.dat.set_len(r).map_err(|e| Self::io(&view.dat_path, e))?;
            *view.len.lock().expect("lock") = r;
            Ok((view, false))
        } else {
            view.reset()?;
            Ok((view, applied > 0))
        }
    }

    /// Empties both files.
    fn reset(&self) -> Result<(), RegistryError> {
        self.dat.set_len(0).map_err(|e| Self::io(&self.dat_path, e))?;
        self.dat.write_all_at(MAGIC, 0).map_err(|e| Self::io(&self.dat_path, e))?;
        self.idx.set_len(0).map_err(|e| Self::io(&self.idx_path, e))?;
        *self.len.lock().expect("lock") = MAGIC.len() as u64;
        Ok(())
    }

    /// The length of `scoring.dat`, to record with how far the views are applied.
    pub(crate) fn len(&self) -> u64 {
        *self.len.lock().expect("lock")
    }

    /// Writes the rows of log entries `rows` (ascending indices; `None`: no row).
    pub(crate) fn write(&self, rows: &[(u64, Option<Row>)]) -> Result<(), RegistryError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut len = self.len.lock().expect("lock");
        let mut buf = Vec::new();
        let mut slots = Vec::with_capacity(rows.len());
        for (index, row) in rows {
            match row {
                Some(r) => {
                    slots.push((*index, *len + buf.len() as u64));
                    encode(*index, r, &mut buf);
                }
                None => slots.push((*index, NONE)),
            }
        }
        self.dat.write_all_at(&buf, *len).map_err(|e| Self::io(&self.dat_path, e))?;
        *len += buf.len() as u64;
        // One write per run of consecutive indices.
        let mut start = 0;
        while start < slots.len() {
            let mut end = start + 1;
            while end < slots.len() && slots[end].0 == slots[end - 1].0 + 1 {
                end += 1;
            }
            let bytes: Vec<u8> = slots[start..end].iter().flat_map(|(_, off)| off.to_be_bytes()).collect();
            self.idx.write_all_at(&bytes, 8 * slots[start].0).map_err(|e| Self::io(&self.idx_path, e))?;
            start = end;
        }
        Ok(())
    }

    /// Where the row of `index` is: `None` for an entry without one.
    fn slot(&self, index: u64) -> Result<Option<u64>, RegistryError> {
        let mut s = [0u8; 8];
        self.idx
            .read_exact_at(&mut s, 8 * index)
            .map_err(|_| self.corrupt(format!("it holds nothing for entry {index}, which the views have applied")))?;
        match u64::from_be_bytes(s) {
            0 => Err(self.corrupt(format!("its slot for entry {index} was never written"))),
            NONE => Ok(None),
            off => Ok(Some(off)),
        }
    }

    /// The row of log entry `index`; `None` for an entry without one or an erased row.
    pub(crate) fn read(&self, index: u64) -> Result<Option<Row>, RegistryError> {
        let Some(off) = self.slot(index)? else { return Ok(None) };
        let _reading = self.erasing.read().expect("lock");
        let mut buf = vec![0u8; FIRST_READ];
        let got = self.dat.read_at(&mut buf, off).map_err(|e| Self::io(&self.dat_path, e))?;
        if got < HEAD {
            return Err(self.corrupt(format!("the row of entry {index} is cut short")));
        }
        let len = u32::from_be_bytes(buf[..4].try_into().expect("4")) as usize;
        let stored = u64::from_be_bytes(buf[4..12].try_into().expect("8"));
        if stored != index {
            return Err(self.corrupt(format!("the slot of entry {index} points at the row of entry {stored}")));
        }
        let kind = buf[12];
        if HEAD + len > got {
            buf.resize(HEAD + len, 0);
            self.dat.read_exact_at(&mut buf[got..], off + got as u64).map_err(|e| Self::io(&self.dat_path, e))?;
        }
        let body = &buf[HEAD..HEAD + len];
        match kind {
            0 => Ok(None),
            1 => Ok(Some(Row::Record(body.to_vec()))),
            2 if len == 24 => {
                let n = |i: usize| u64::from_be_bytes(body[i..i + 8].try_into().expect("8"));
                let day = i64::from_be_bytes(body[16..24].try_into().expect("8"));
                let date = Date::from_days(day)
                    .ok_or_else(|| self.corrupt(format!("the repair row of entry {index} holds no valid day")))?;
                Ok(Some(Row::Repair(Repaired { decided: n(0), target: n(8), date })))
            }
            k => Err(self.corrupt(format!("the row of entry {index} has an unknown kind {k}"))),
        }
    }

    /// Erases the row of `index` for good (a redaction): its kind and body become zeros, made
    /// durable before this returns.
    pub(crate) fn erase(&self, index: u64) -> Result<(), RegistryError> {
        let Some(off) = self.slot(index)? else { return Ok(()) };
        let _erasing = self.erasing.write().expect("lock");
        let mut head = [0u8; HEAD];
        self.dat.read_exact_at(&mut head, off).map_err(|e| Self::io(&self.dat_path, e))?;
        let len = u32::from_be_bytes(head[..4].try_into().expect("4")) as usize;
        self.dat.write_all_at(&vec![0u8; 1 + len], off + 12).map_err(|e| Self::io(&self.dat_path, e))?;
        self.dat.sync_data().map_err(|e| Self::io(&self.dat_path, e))
    }
}

/// Feeds the rows of entries `0..applied`, as `read` gives them, to `h`: an erased row and an
/// entry without a row read alike, so a rebuilt view digests as the live one, and rows read from
/// the log (an API node of a cluster keeps no scoring view) as the view's.
pub(crate) fn digest(
    applied: u64,
    read: impl Fn(u64) -> Result<Option<Row>, RegistryError>,
    h: &mut sha2::Sha256,
) -> Result<(), RegistryError> {
    {
        use sha2::Digest;
        h.update(b"scoring");
        for index in 0..applied {
            match read(index)? {
                None => h.update([0]),
                Some(Row::Record(json)) => {
                    h.update([1]);
                    h.update((json.len() as u64).to_be_bytes());
                    h.update(&json);
                }
                Some(Row::Repair(r)) => {
                    h.update([2]);
                    h.update(r.decided.to_be_bytes());
                    h.update(r.target.to_be_bytes());
                    h.update(r.date.days_since_epoch().to_be_bytes());
                }
            }
        }
        Ok(())
    }
}

/// The file beside a cluster node's scoring view that records how far it is applied and the
/// length of `scoring.dat` then (16 bytes: two u64 BE). Written after the rows it covers; a
/// missing or torn file makes the view be rebuilt from the log.
const MARK: &str = "applied";

/// Records that the scoring view in `dir` holds the rows of entries `0..applied`, with
/// `scoring.dat` `len` bytes long.
pub(crate) fn write_mark(dir: &Path, applied: u64, len: u64) -> Result<(), RegistryError> {
    let mut b = applied.to_be_bytes().to_vec();
    b.extend_from_slice(&len.to_be_bytes());
    let p = dir.join(MARK);
    std::fs::write(&p, b).map_err(|e| ScoringView::io(&p, e))
}

/// What [`write_mark`] recorded, if its file is whole.
pub(crate) fn read_mark(dir: &Path) -> Result<Option<(u64, u64)>, RegistryError> {
    let p = dir.join(MARK);
    match std::fs::read(&p) {
        Ok(b) if b.len() == 16 => Ok(Some((
            u64::from_be_bytes(b[..8].try_into().expect("8")),
            u64::from_be_bytes(b[8..].try_into().expect("8")),
        ))),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ScoringView::io(&p, e)),
    }
}
