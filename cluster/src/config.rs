//! The cluster file (`creditlog serve --cluster FILE`): where PostgreSQL and the bucket are, and
//! what this node is.
//!
//! ```toml
//! [postgres]
//! url = "host=10.0.0.5 port=5432 user=creditlog password=... dbname=creditlog"
//!
//! [s3]
//! endpoint = "http://10.0.0.6:3900"
//! bucket = "creditlog"
//! region = "garage"
//! access_key_id = "GK..."
//! secret_access_key = "..."
//!
//! [node]
//! name = "seq-a"                 # unique in the cluster
//! role = "sequencer"             # or "api"
//! url = "http://10.0.0.2:8080"   # where the other nodes reach this one
//! lease_ms = 5000                # the sequencer's lease; a standby takes over after it expires
//! ```

use crate::ClusterError;
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The database.
    pub postgres: Postgres,
    /// The bucket.
    pub s3: S3,
    /// This node.
    pub node: Node,
}

/// Where PostgreSQL is.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Postgres {
    /// A libpq-style connection string (`host=... user=... dbname=...`) or URL.
    pub url: String,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres").finish_non_exhaustive()
    }
}

/// Where the bucket is.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3 {
    /// The S3 endpoint, e.g. `http://127.0.0.1:3900`.
    pub endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// The region the server expects in signatures (Garage: `garage`).
    #[serde(default = "default_region")]
    pub region: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret key.
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3").field("endpoint", &self.endpoint).field("bucket", &self.bucket).finish_non_exhaustive()
    }
}

fn default_region() -> String {
    "garage".into()
}

/// What this node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A sequencer candidate: waits for the lease, then sequences and serves everything.
    Sequencer,
    /// An API node: serves reads from the shared state and passes writes to the leader.
    Api,
}

/// This node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Its name, unique in the cluster (it is shown as the lease holder).
    pub name: String,
    /// Sequencer candidate or API node.
    pub role: Role,
    /// Where the other nodes reach it (an API node sends writes to the leader's).
    pub url: String,
    /// The sequencer's lease, in milliseconds (default 5,000). The leader renews it every
    /// quarter of it and stops writing when it could not renew for 80 % of it; a standby takes
    /// over once it has expired, so a failover takes about the lease plus a quarter of it plus
    /// the new leader's start.
    #[serde(default = "default_lease_ms")]
    pub lease_ms: u64,
}

fn default_lease_ms() -> u64 {
    5_000
}

impl ClusterConfig {
    /// Reads and checks a cluster file.
    ///
    /// # Errors
    ///
    /// If it cannot be read, is not the TOML above, or sets a lease under one second.
    pub fn load(path: &Path) -> Result<Self, ClusterError> {
        let bad = |detail: String| ClusterError::Config { path: path.display().to_string(), detail };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let c: Self = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if c.node.lease_ms < 1000 {
            return Err(bad(format!(
                "node.lease_ms is {}; a lease under 1000 ms would expire between two renewals on a busy machine",
                c.node.lease_ms
            )));
        }
        if c.node.name.is_empty() || c.node.name.len() > 100 {
            return Err(bad("node.name must be 1 to 100 characters".into()));
        }
        Ok(c)
    }

    /// The lease.
    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.node.lease_ms)
    }
}
