//! Private entry contents as objects: `contents/<index, 16 hex digits>-<leaf hash, hex>`.
//!
//! The key carries the leaf hash of the header the content belongs to, so a content written by a
//! sequencer whose header never made it into the log (it lost its lease, or died first) can never
//! stand in for the content of the entry the next leader put at that index. Contents are not
//! public: the bucket must not be readable anonymously (tiles may be served from it; contents
//! only through the API, which checks who asks).
//!
//! A redaction overwrites the object with the stub, in place. Whether the store also forgets the
//! old bytes at once is the store's: Garage frees an overwritten object's blocks after its
//! block-reference garbage collection (a delay of minutes), an S3 bucket with versioning keeps
//! them until the old version is deleted.

use crate::objects::Bucket;
use crate::ClusterError;
use object_store::ObjectStore;
use std::sync::Arc;
use std::time::Duration;

/// Contents in a bucket.
#[derive(Debug, Clone)]
pub struct ObjectContents {
    bucket: Bucket,
}

fn key(index: u64, leaf: &[u8; 32]) -> String {
    format!("contents/{index:016x}-{}", hex::encode(leaf))
}

impl ObjectContents {
    /// Contents in `store`.
    pub fn new(store: Arc<dyn ObjectStore>, timeout: Duration) -> Self {
        Self { bucket: Bucket::new(store, timeout) }
    }

    /// Stores the contents of entries `first`, `first + 1`, ..., each under its header's leaf
    /// hash, before the headers are appended.
    ///
    /// # Errors
    ///
    /// If the store fails.
    pub fn append(&self, first: u64, items: &[([u8; 32], Vec<u8>)]) -> Result<(), ClusterError> {
        let objects = items
            .iter()
            .zip(first..)
            .map(|((leaf, content), index)| (key(index, leaf), content.clone(), "private, no-store"))
            .collect();
        self.bucket.put_all(objects)
    }

    /// Stores contents of any entries (`creditlog migrate`): (index, leaf hash, bytes).
    ///
    /// # Errors
    ///
    /// If the store fails.
    pub fn put_many(&self, items: Vec<(u64, [u8; 32], Vec<u8>)>) -> Result<(), ClusterError> {
        self.bucket.put_all(items.into_iter().map(|(i, leaf, c)| (key(i, &leaf), c, "private, no-store")).collect())
    }

    /// The content of entry `index` whose header has leaf hash `leaf`.
    ///
    /// # Errors
    ///
    /// If the store fails.
    pub fn get(&self, index: u64, leaf: &[u8; 32]) -> Result<Option<Vec<u8>>, ClusterError> {
        self.bucket.get(&key(index, leaf))
    }

    /// Writes the leaves of a published map of chain heads as `heads/<root hex>` (private, as
    /// contents are), and deletes every other map's leaves but those named in `keep`: any
    /// sequencer that leads next serves them, not only the one that published the map.
    ///
    /// # Errors
    ///
    /// If the store fails.
    pub fn put_map_leaves(&self, root_hex: &str, leaves: Vec<u8>, keep: &[String]) -> Result<(), ClusterError> {
        self.bucket.put_all(vec![(format!("heads/{root_hex}"), leaves, "private, no-store")])?;
        for name in self.bucket.list("heads")? {
            let n = name.rsplit('/').next().unwrap_or_default();
            if n != root_hex && !keep.iter().any(|k| k == n) {
                self.bucket.delete(&name)?;
            }
        }
        Ok(())
    }

    /// The leaves of the map whose root is `root_hex`, if they are kept.
    ///
    /// # Errors
    ///
    /// If the store fails.
    pub fn map_leaves(&self, root_hex: &str) -> Result<Option<Vec<u8>>, ClusterError> {
        self.bucket.get(&format!("heads/{root_hex}"))
    }

    /// Replaces a content by what a redaction keeps of it (nothing happens if it is absent).
    ///
    /// # Errors
    ///
    /// If the store fails.
    pub fn erase(&self, index: u64, leaf: &[u8; 32], replacement: &[u8]) -> Result<(), ClusterError> {
        if self.bucket.size(&key(index, leaf))?.is_none() {
            return Ok(());
        }
        self.bucket.put_all(vec![(key(index, leaf), replacement.to_vec(), "private, no-store")])
    }
}
