//! Checks of a stored log: the quick form run at every start, and the full form of
//! `creditlog fsck`.
//!
//! Quick (cost grows with the number of files, not their contents):
//! 1. the hash tiles along the right edge hash to the root in the last commit record;
//! 2. the latest checkpoint is signed by the log key and its root is the stored tree's root at
//!    its size;
//! 3. the newest entry bundle hashes to the leaf hashes in its level-0 tile;
//! 4. every full tile the commit covers exists and has the length of a full tile.
//!
//! Full: every entry is re-read and every hash tile recomputed from the entries and compared
//! byte for byte, every kept checkpoint is checked for its signature and shown consistent with
//! the latest one, and the checkpoint index is compared with the history file.

use crate::fs::{FileStorage, OpenMode, RecoveryReport};
use crate::keys::LogKey;
use crate::storage::{Commit, LogStorage};
use crate::tree::{BatchBuilder, Frontier, TileHashReader};
use crate::LedgerError;
use std::path::Path;
use std::sync::Arc;
use verifier::{leaf_hash, open_checkpoint, parse_bundle, verify_consistency, TileKind, TilePath, TILE_WIDTH};

fn fail(msg: impl Into<String>) -> LedgerError {
    LedgerError::Check(msg.into())
}

/// The quick check; see the module documentation.
///
/// # Errors
///
/// [`LedgerError::Check`] naming the first problem and the file it is in.
pub fn quick(
    storage: &dyn LogStorage,
    reader: &TileHashReader<dyn LogStorage>,
    key: &LogKey,
) -> Result<(), LedgerError> {
    let commit = storage.last_commit()?.unwrap_or(Commit { size: 0, root: tlog_tiles::EMPTY_HASH });
    let size = commit.size;
    let root =
        tlog_tiles::tree_hash(size, reader).map_err(|e| fail(format!("reading the right edge of the tree: {e}")))?;
    if root != commit.root {
        return Err(fail(format!(
            "the hash tiles along the right edge (tile/0/{} and above) do not hash to the root recorded by the last commit",
            TilePath::hash(0, size.saturating_sub(1) / TILE_WIDTH).to_path().trim_start_matches("tile/0/")
        )));
    }
    if let Some((cp_size, note)) = storage.latest_checkpoint()? {
        check_checkpoint(&note, cp_size, key, size, reader)?;
    }
    if size > 0 {
        let last = (size - 1) / TILE_WIDTH;
        let width = (size - 1) % TILE_WIDTH + 1;
        let partial = u8::try_from(width).ok();
        let bundle_path = TilePath { kind: TileKind::Entries, index: last, partial };
        let hashes_path = TilePath { kind: TileKind::Hash(0), index: last, partial };
        let bundle = storage
            .read_tile(bundle_path)?
            .ok_or_else(|| fail(format!("{}: holds fewer than {width} entries", bundle_path.full())))?;
        let hashes = storage
            .read_tile(hashes_path)?
            .ok_or_else(|| fail(format!("{}: holds fewer than {width} hashes", hashes_path.full())))?;
        let entries = parse_bundle(&bundle).map_err(|e| fail(format!("{}: {e}", bundle_path.full())))?;
        for (i, e) in entries.iter().enumerate() {
            if leaf_hash(e).0 != hashes[i * 32..i * 32 + 32] {
                return Err(fail(format!(
                    "{}: entry {} does not hash to its leaf hash in {}",
                    bundle_path.full(),
                    last * TILE_WIDTH + i as u64,
                    hashes_path.full()
                )));
            }
        }
    }
    check_full_tiles_present(storage, size)
}

fn check_full_tiles_present(storage: &dyn LogStorage, size: u64) -> Result<(), LedgerError> {
    let kinds = std::iter::once(TileKind::Entries).chain((0..8).map(TileKind::Hash));
    for kind in kinds {
        let count = match kind {
            TileKind::Entries => size,
            TileKind::Hash(l) => size >> (u32::from(l) * 8),
        };
        for n in 0..count / TILE_WIDTH {
            let tile = TilePath { kind, index: n, partial: None };
            if !storage.full_tile_present(tile)? {
                return Err(fail(format!("{tile}: a full tile the last commit covers is missing or short")));
            }
        }
    }
    Ok(())
}

fn check_checkpoint(
    note: &[u8],
    cp_size: u64,
    key: &LogKey,
    committed: u64,
    reader: &TileHashReader<dyn LogStorage>,
) -> Result<verifier::OpenedCheckpoint, LedgerError> {
    let cp =
        open_checkpoint(note, &key.verifier_key).map_err(|e| fail(format!("checkpoint of size {cp_size}: {e}")))?;
    if cp.size != cp_size {
        return Err(fail(format!(
            "the checkpoint history files a checkpoint of size {} under size {cp_size}",
            cp.size
        )));
    }
    if cp.size > committed {
        return Err(fail(format!("checkpoint of size {} is larger than the {committed} entries committed", cp.size)));
    }
    let root =
        tlog_tiles::tree_hash(cp.size, reader).map_err(|e| fail(format!("reading tiles for size {}: {e}", cp.size)))?;
    if root != cp.root {
        return Err(fail(format!("checkpoint of size {}: the stored tiles hash to a different root", cp.size)));
    }
    Ok(cp)
}

/// What a full check covered.
#[derive(Debug, Clone, Default)]
pub struct FsckReport {
    /// Committed entries, all re-read and re-hashed.
    pub entries: u64,
    /// Tiles compared byte for byte.
    pub tiles: u64,
    /// Kept checkpoints checked.
    pub checkpoints: u64,
    /// What a restart would cut past the last commit (not a problem: never acknowledged).
    pub uncommitted: RecoveryReport,
    /// Checkpoints the index has not recorded yet (not a problem: indexed at the next start).
    pub index_lag: u64,
}

/// The full check of the log stored in `dir`; changes nothing.
///
/// # Errors
///
/// [`LedgerError::Check`] or [`LedgerError::Storage`] naming the first problem.
pub fn full(dir: &Path, key: &LogKey) -> Result<FsckReport, LedgerError> {
    let (files, uncommitted) = FileStorage::open(dir, OpenMode::ReadOnly)?;
    let files = Arc::new(files);
    let storage: Arc<dyn LogStorage> = files.clone();
    let commit = storage.last_commit()?.unwrap_or(Commit { size: 0, root: tlog_tiles::EMPTY_HASH });
    let mut report = FsckReport { uncommitted, ..FsckReport::default() };

    // 1. Replay every entry through the same sequencing code and compare the tiles it makes.
    let mut frontier = Frontier::default();
    let bundles = commit.size.div_ceil(TILE_WIDTH);
    for n in 0..bundles {
        let width = (commit.size - n * TILE_WIDTH).min(TILE_WIDTH);
        let partial = if width == TILE_WIDTH { None } else { u8::try_from(width).ok() };
        let path = TilePath { kind: TileKind::Entries, index: n, partial };
        let data = storage
            .read_tile(path)?
            .ok_or_else(|| fail(format!("{}: holds fewer than the {width} entries committed", path.full())))?;
        let entries = parse_bundle(&data).map_err(|e| fail(format!("{}: {e}", path.full())))?;
        let mut builder = BatchBuilder::new(&mut frontier);
        for e in &entries {
            builder.push(e);
        }
        let batch = builder.finish();
        for a in &batch.appends {
            if a.tile.kind == TileKind::Entries {
                continue;
            }
            let stored = read_hashes(&*storage, a.tile, a.end_width)?;
            let range =
                usize::try_from(a.start_width * 32).expect("small")..usize::try_from(a.end_width * 32).expect("small");
            if stored[range.clone()] != a.data[..] {
                let first_bad = (range.start..range.end)
                    .step_by(32)
                    .zip(a.data.chunks(32))
                    .find(|(off, h)| &stored[*off..off + 32] != *h)
                    .map_or(a.start_width, |(off, _)| off as u64 / 32);
                return Err(fail(format!(
                    "{}: hash {first_bad} differs from the hash recomputed from the entries in {}",
                    a.tile,
                    path.full()
                )));
            }
            if a.end_width == TILE_WIDTH {
                report.tiles += 1;
            }
        }
        report.entries += entries.len() as u64;
        report.tiles += 1;
    }
    if frontier.root() != commit.root {
        return Err(fail("the entries hash to a root different from the one in the last commit record (commit)"));
    }

    // 2. Every kept checkpoint: signed, no larger than the log, consistent with the latest.
    let reader = TileHashReader::new(storage.clone(), 1024);
    let checkpoints = storage.checkpoints()?;
    if let Some((latest_size, latest_note)) = checkpoints.last() {
        let latest = check_checkpoint(latest_note, *latest_size, key, commit.size, &reader)?;
        let mut previous = 0;
        for (size, note) in &checkpoints {
            let cp = check_checkpoint(note, *size, key, commit.size, &reader)?;
            if cp.size < previous {
                return Err(fail(format!("checkpoints: size {} was published after size {previous}", cp.size)));
            }
            previous = cp.size;
            if cp.size > 0 {
                let proof = tlog_tiles::prove_tree(latest.size, cp.size, &reader)
                    .map_err(|e| fail(format!("proof from size {}: {e}", cp.size)))?;
                verify_consistency(cp.size, cp.root, latest.size, latest.root, &proof)
                    .map_err(|e| fail(format!("checkpoint of size {}: {e}", cp.size)))?;
            }
            report.checkpoints += 1;
        }
    }
    // 3. The index agrees with the history file.
    report.index_lag = files.check_index()?;
    Ok(report)
}

fn read_hashes(storage: &dyn LogStorage, tile: TilePath, width: u64) -> Result<Vec<u8>, LedgerError> {
    let path = if width == TILE_WIDTH { tile.full() } else { TilePath { partial: u8::try_from(width).ok(), ..tile } };
    storage
        .read_tile(path)?
        .ok_or_else(|| fail(format!("{}: holds fewer than the {width} hashes the entries imply", tile.full())))
}
