//! Tree bookkeeping on top of `tlog_tiles`: the right edge of the tree while sequencing, the
//! tiles a batch adds, and a [`HashReader`] that serves stored hashes from tiles.
//!
//! Stored hashes follow the Go `tlog` numbering: node `(level, n)` is the root of leaves
//! `n·2^level .. (n+1)·2^level`. A hash tile at tile level `L` holds the nodes of tree level
//! `8L` (<https://c2sp.org/tlog-tiles#merkle-tree>); nodes of other levels are recomputed from
//! the tile below them.

use crate::storage::{Commit, LogStorage, StorageError, TileAppend, TileBatch};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use tlog_tiles::{
    node_hash, split_stored_hash_index, stored_hash_index, stored_hashes_for_record_hash, tree_hash, Hash, HashReader,
    HASH_SIZE,
};
use verifier::bundle::push_entry;
use verifier::{leaf_hash, TileKind, TilePath, TILE_HEIGHT, TILE_WIDTH};

/// The newest complete node at every tree level: all that sequencing needs to extend the tree
/// and to compute its root (each new leaf only combines with nodes on the right edge).
#[derive(Debug, Clone, Default)]
pub struct Frontier {
    /// `levels[l] = (n, stored index of (l, n), hash)` for the newest complete node at level `l`.
    levels: Vec<Option<(u64, u64, Hash)>>,
    size: u64,
}

impl Frontier {
    /// Loads the right edge of a tree of `size` entries from stored hashes.
    ///
    /// # Errors
    ///
    /// If a stored hash cannot be read.
    pub fn load(size: u64, reader: &impl HashReader) -> Result<Self, tlog_tiles::Error> {
        let mut f = Frontier { levels: Vec::new(), size };
        let mut level = 0u8;
        while level < 64 && (size >> level) > 0 {
            let n = (size >> level) - 1;
            let index = stored_hash_index(level, n);
            let hash = reader.read_hashes(&[index])?[0];
            f.levels.push(Some((n, index, hash)));
            level += 1;
        }
        Ok(f)
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds a leaf and returns the stored hashes it completes as `(level, n, hash)`, leaf first.
    pub fn push(&mut self, leaf: Hash) -> Vec<(u8, u64, Hash)> {
        let n = self.size;
        let hashes =
            stored_hashes_for_record_hash(n, leaf, &*self).expect("the frontier holds every hash a new leaf needs");
        let mut out = Vec::with_capacity(hashes.len());
        for (level, hash) in hashes.into_iter().enumerate() {
            let level = u8::try_from(level).expect("at most 64 levels");
            let node = n >> level;
            let l = usize::from(level);
            if self.levels.len() <= l {
                self.levels.resize(l + 1, None);
            }
            self.levels[l] = Some((node, stored_hash_index(level, node), hash));
            out.push((level, node, hash));
        }
        self.size += 1;
        out
    }

    /// Root hash of the tree.
    pub fn root(&self) -> Hash {
        tree_hash(self.size, self).expect("the frontier holds every hash of the root")
    }
}

impl HashReader for Frontier {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&want| {
                self.levels
                    .iter()
                    .flatten()
                    .find(|(_, index, _)| *index == want)
                    .map(|(_, _, h)| *h)
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// Turns entries into the tile bytes of one batch.
#[derive(Debug)]
pub struct BatchBuilder<'a> {
    frontier: &'a mut Frontier,
    appends: BTreeMap<TilePath, TileAppend>,
}

impl<'a> BatchBuilder<'a> {
    /// Starts a batch at the frontier's size.
    pub fn new(frontier: &'a mut Frontier) -> Self {
        Self { frontier, appends: BTreeMap::new() }
    }

    fn append(&mut self, tile: TilePath, position: u64, bytes: impl FnOnce(&mut Vec<u8>)) {
        let a = self.appends.entry(tile).or_insert_with(|| TileAppend {
            tile,
            start_width: position,
            end_width: position,
            data: Vec::new(),
        });
        debug_assert_eq!(a.end_width, position);
        bytes(&mut a.data);
        a.end_width = position + 1;
    }

    /// Sequences one entry (1 to 65,535 bytes, checked by the caller) and returns its index.
    pub fn push(&mut self, entry: &[u8]) -> u64 {
        let index = self.frontier.size();
        self.append(TilePath::entries(index / TILE_WIDTH), index % TILE_WIDTH, |d| push_entry(d, entry));
        for (level, node, hash) in self.frontier.push(leaf_hash(entry)) {
            if level % TILE_HEIGHT == 0 {
                let tile = TilePath::hash(level / TILE_HEIGHT, node / TILE_WIDTH);
                self.append(tile, node % TILE_WIDTH, |d| d.extend_from_slice(&hash.0));
            }
        }
        index
    }

    /// The batch, with the commit record of the new tree.
    pub fn finish(self) -> TileBatch {
        TileBatch {
            appends: self.appends.into_values().collect(),
            commit: Commit { size: self.frontier.size(), root: self.frontier.root() },
        }
    }
}

/// A full hash tile with the nodes of its eight inner levels computed once:
/// `levels[k]` holds the `256 >> k` nodes of tree level `8L + k`.
#[derive(Debug)]
struct ExpandedTile {
    levels: Vec<Vec<Hash>>,
}

impl ExpandedTile {
    fn new(data: &[u8]) -> Self {
        let mut levels =
            vec![data.chunks_exact(HASH_SIZE).map(|c| Hash(c.try_into().expect("32 bytes"))).collect::<Vec<_>>()];
        while levels.last().expect("one level").len() > 1 {
            let below = levels.last().expect("one level");
            let above = below.chunks_exact(2).map(|p| node_hash(p[0], p[1])).collect();
            levels.push(above);
        }
        Self { levels }
    }
}

/// Serves stored hashes (in `tlog` numbering) from the hash tiles of a storage backend, with a
/// bounded cache of full tiles. Only for hashes the caller knows to be committed.
#[derive(Debug)]
pub struct TileHashReader<S: ?Sized> {
    storage: Arc<S>,
    cache: RwLock<HashMap<(u8, u64), Arc<ExpandedTile>>>,
    /// The growing tile at each level, as far as it was last read. Committed hashes never
    /// change, so a copy stays valid for every node inside its width.
    partial: RwLock<HashMap<(u8, u64), Arc<ExpandedTile>>>,
    capacity: usize,
}

impl<S: LogStorage + ?Sized> TileHashReader<S> {
    /// A reader caching at most `capacity` full tiles (about 16 KiB each).
    pub fn new(storage: Arc<S>, capacity: usize) -> Self {
        Self { storage, cache: RwLock::new(HashMap::new()), partial: RwLock::new(HashMap::new()), capacity }
    }

    fn full_tile(&self, level: u8, index: u64) -> Result<Option<Arc<ExpandedTile>>, StorageError> {
        if let Some(t) = self.cache.read().expect("cache lock").get(&(level, index)) {
            return Ok(Some(t.clone()));
        }
        let Some(data) = self.storage.read_tile(TilePath::hash(level, index))? else {
            return Ok(None);
        };
        let tile = Arc::new(ExpandedTile::new(&data));
        let mut cache = self.cache.write().expect("cache lock");
        if cache.len() >= self.capacity {
            cache.clear();
        }
        cache.insert((level, index), tile.clone());
        Ok(Some(tile))
    }

    /// The hash of node `(level, n)`.
    ///
    /// # Errors
    ///
    /// If the tile holding it is missing, short or unreadable.
    pub fn node(&self, level: u8, n: u64) -> Result<Hash, StorageError> {
        let tile_level = level / TILE_HEIGHT;
        let k = level % TILE_HEIGHT;
        // Position among the nodes of tree level 8·tile_level.
        let first = n << k;
        let count = 1u64 << k;
        let tile_index = first / TILE_WIDTH;
        let offset = first % TILE_WIDTH;
        let pick = |t: &ExpandedTile| t.levels[usize::from(k)][usize::try_from(offset >> k).expect("small")];
        let needed = offset + count;
        if let Some(t) = self.partial.read().expect("cache lock").get(&(tile_level, tile_index)) {
            if t.levels[0].len() as u64 >= needed {
                return Ok(pick(t));
            }
        }
        if let Some(t) = self.full_tile(tile_level, tile_index)? {
            self.partial.write().expect("cache lock").remove(&(tile_level, tile_index));
            return Ok(pick(&t));
        }
        let path = TilePath { kind: TileKind::Hash(tile_level), index: tile_index, partial: u8::try_from(needed).ok() };
        let data = self.storage.read_tile(path)?.ok_or_else(|| StorageError::Corrupt {
            path: path.to_path(),
            problem: format!("hash tile is missing or shorter than the {needed} hashes the last commit covers"),
        })?;
        let tile = Arc::new(ExpandedTile::new(&data));
        let hash = pick(&tile);
        let mut partial = self.partial.write().expect("cache lock");
        if partial.len() > 256 {
            partial.clear();
        }
        partial.insert((tile_level, tile_index), tile);
        Ok(hash)
    }

    /// Forgets cached tiles (after a repair or in tests).
    pub fn clear_cache(&self) {
        self.cache.write().expect("cache lock").clear();
        self.partial.write().expect("cache lock").clear();
    }
}

impl<S: LogStorage + ?Sized> HashReader for TileHashReader<S> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                let (level, n) = split_stored_hash_index(i);
                self.node(level, n).map_err(|e| {
                    tracing::error!(error = %e, "reading a stored hash");
                    tlog_tiles::Error::InvalidTile
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Memory(Vec<Hash>);
    impl HashReader for Memory {
        fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
            Ok(indexes.iter().map(|&i| self.0[i as usize]).collect())
        }
    }

    #[test]
    fn frontier_matches_the_reference_tree_at_every_size() {
        let mut memory = Memory(Vec::new());
        let mut frontier = Frontier::default();
        for i in 0..600u64 {
            let data = format!("entry {i}");
            memory.0.extend(tlog_tiles::stored_hashes(i, data.as_bytes(), &memory).unwrap());
            frontier.push(leaf_hash(data.as_bytes()));
            assert_eq!(frontier.root(), tree_hash(i + 1, &memory).unwrap(), "size {}", i + 1);
            let reloaded = Frontier::load(i + 1, &memory).unwrap();
            assert_eq!(reloaded.root(), frontier.root());
        }
    }
}
