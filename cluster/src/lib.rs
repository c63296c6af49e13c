//! creditlog beyond one machine (DESIGN.md, "ledger storage"): the log's tiles, entry bundles,
//! checkpoints and entry contents as objects in an S3-compatible store, and the one sequencer's
//! lease, fencing token, tree state, checkpoint history and the registry's views ([`views`]) in
//! PostgreSQL.
//!
//! The split is Tessera's (its AWS backend): the database decides *what* the log is (which batch
//! comes next, under which leader), the object store only holds bytes that the database's record
//! fixes. Every batch goes through three steps:
//!
//! 1. **Fenced commit.** One SQL statement advances the tree row from the size this sequencer
//!    last saw to the new size and root, stores the batch's tile bytes beside it (`pending`), and
//!    does so only if this sequencer's lease token is still the current one and unexpired, read
//!    under a row lock that a taking-over standby must wait for. A sequencer that lost its lease
//!    changes nothing and learns it then.
//! 2. **Tiles.** The batch's tiles are written as objects. Their bytes are fixed by step 1, so a
//!    retried write, a replay by the next leader, or a late write by a paused old leader all put
//!    the same bytes: correctness never rests on conditional writes (Garage ignores
//!    `If-None-Match`).
//! 3. **Checkpoint.** The publisher records a signed checkpoint in the same fenced way and then
//!    writes the `checkpoint` object. Readers (API nodes, a CDN in front of the bucket) only ever
//!    ask for tiles a published checkpoint covers, so a half-written batch is never visible.
//!
//! A new leader replays the last `pending` batch before it sequences anything.

pub mod bridge;
pub mod config;
pub mod contents;
pub mod coord;
pub mod objects;
pub mod views;

pub use config::{ClusterConfig, Role};
pub use contents::ObjectContents;
pub use coord::{Coordinator, Leader, LeaseKeeper};
pub use objects::ObjectLog;
pub use views::PgViews;

/// An error from the object store or the database, naming what was being done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The object store failed or refused.
    #[error("object store: {action} {path}: {detail}")]
    Objects {
        /// What was being done.
        action: &'static str,
        /// The object.
        path: String,
        /// What the store said.
        detail: String,
    },
    /// PostgreSQL failed, refused, or did not answer in time.
    #[error("PostgreSQL: {action}: {detail}")]
    Database {
        /// What was being done.
        action: &'static str,
        /// What the database (or the timeout) said.
        detail: String,
    },
    /// This node's lease is gone: another sequencer took over, or this one could not renew in
    /// time. It must not write again.
    #[error("fenced: {0}")]
    Fenced(String),
    /// Stored state contradicts itself.
    #[error("{0}")]
    Corrupt(String),
    /// The cluster configuration file.
    #[error("cluster configuration {path}: {detail}")]
    Config {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
}

impl From<ClusterError> for ledger::storage::StorageError {
    fn from(e: ClusterError) -> Self {
        match e {
            ClusterError::Objects { action, path, detail } => {
                ledger::storage::StorageError::Io { action, path, source: std::io::Error::other(detail) }
            }
            ClusterError::Corrupt(problem) => {
                ledger::storage::StorageError::Corrupt { path: "cluster state".into(), problem }
            }
            other => ledger::storage::StorageError::Index(other.to_string()),
        }
    }
}
