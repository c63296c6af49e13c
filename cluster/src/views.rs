//! The registry's views in PostgreSQL (`creditlog_views`): every view tree of the registry (its
//! `store` module names them) as rows `(origin, tree, key, value)`, keys ordered bytewise as sled
//! orders them, so that every node of a cluster reads the same views and API nodes keep none of
//! their own.
//!
//! **One writer, fenced.** Only the sequencer that holds the lease writes, and every write is one
//! statement that checks, under a share lock on the lease row, that the writer's token is current
//! and unexpired (as [`crate::Coordinator::advance`] does for the tree). The share lock is held to
//! the end of the writer's transaction, so a standby's take-over waits for a transaction in
//! flight, and every later write of the old leader changes nothing and fails as
//! [`ClusterError::Fenced`]. A node opened without a token (an API node) cannot write at all.
//!
//! **Transactions.** The registry applies each batch of entries, and records how far the views
//! are applied, in one transaction ([`PgViews::begin`], [`PgViews::commit`]): readers see a batch
//! whole or not at all, and a sequencer that dies half-way leaves the views as they were. The
//! transaction runs on a connection of its own, used only by the thread that began it; reads from
//! every other thread go to a second connection and see committed rows only.

use crate::coord::{db, Pg};
use crate::ClusterError;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS creditlog_views (
    origin text NOT NULL,
    tree text NOT NULL,
    key bytea NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (origin, tree, key)
);
";

/// The fence: the lease row of `$1`, if `$N` is its current, unexpired token.
fn fence(token: usize) -> String {
    format!(
        "SELECT 1 FROM creditlog_lease WHERE origin = $1 AND token = ${token} AND expires > clock_timestamp() FOR SHARE"
    )
}

/// A key-value pair of a view.
pub type Pair = (Vec<u8>, Vec<u8>);

/// An open transaction: the thread that began it and the connection it runs on.
struct Txn {
    thread: ThreadId,
    client: Arc<Client>,
    /// The first failure inside it: the transaction can then only be rolled back.
    failed: Option<ClusterError>,
}

/// The views of one log in PostgreSQL.
pub struct PgViews {
    reads: Pg,
    writes: Pg,
    /// The lease token this node writes under; `None` on a node that only reads.
    token: Option<i64>,
    txn: Mutex<Option<Txn>>,
}

impl std::fmt::Debug for PgViews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgViews")
            .field("origin", &self.reads.origin)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl PgViews {
    /// Connects for the log `origin` and creates the table if it is missing. `token`: the lease
    /// token of a sequencer that writes the views (`None`: this node only reads them).
    ///
    /// # Errors
    ///
    /// If the database cannot be reached in `timeout` or refuses.
    pub fn connect(url: &str, origin: &str, timeout: Duration, token: Option<i64>) -> Result<Self, ClusterError> {
        let reads = Pg::new(url, origin, timeout);
        reads.call("creating the views table", |c, _| async move {
            c.batch_execute(SCHEMA).await.map_err(db("creating the views table"))
        })?;
        Ok(Self { reads, writes: Pg::new(url, origin, timeout), token, txn: Mutex::new(None) })
    }

    /// Whether this node may write the views.
    pub fn writes(&self) -> bool {
        self.token.is_some()
    }

    /// Runs `f` on the connection of the transaction this thread holds, else on the reading
    /// connection.
    fn run<T, F, Fut>(&self, action: &'static str, f: F) -> Result<T, ClusterError>
    where
        F: FnOnce(Arc<Client>, String) -> Fut,
        Fut: std::future::Future<Output = Result<T, ClusterError>> + Send + 'static,
        T: Send + 'static,
    {
        let mine = {
            let txn = self.txn.lock().expect("lock");
            match txn.as_ref().filter(|t| t.thread == std::thread::current().id()) {
                Some(t) => {
                    if let Some(e) = &t.failed {
                        return Err(ClusterError::Database {
                            action,
                            detail: format!("the transaction had already failed: {e}"),
                        });
                    }
                    Some(t.client.clone())
                }
                None => None,
            }
        };
        let Some(client) = mine else { return self.reads.call(action, f) };
        let out = self
            .writes
            .block(f(client, self.reads.origin.clone()))
            .unwrap_or_else(|| Err(self.writes.no_answer(action)));
        if let Err(e) = &out {
            if let Some(t) = self.txn.lock().expect("lock").as_mut() {
                t.failed.get_or_insert_with(|| clone_error(e));
            }
        }
        out
    }

    fn token(&self, action: &str) -> Result<i64, ClusterError> {
        self.token.ok_or_else(|| {
            ClusterError::Fenced(format!(
                "this node only reads the shared views (an API node, or a sequencer without the lease) and may not {action}"
            ))
        })
    }

    /// The value of `key` in `tree`.
    ///
    /// # Errors
    ///
    /// Database failures.
    pub fn get(&self, tree: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, ClusterError> {
        let key = key.to_vec();
        self.run("reading a view", move |c, origin| async move {
            let row = c
                .query_opt(
                    "SELECT value FROM creditlog_views WHERE origin = $1 AND tree = $2 AND key = $3",
                    &[&origin, &tree, &key],
                )
                .await
                .map_err(db("reading a view"))?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    /// Up to `limit` pairs of `tree` between `lower` and `upper`, in key order (descending if
    /// `reverse`).
    ///
    /// # Errors
    ///
    /// Database failures.
    pub fn scan(
        &self,
        tree: &'static str,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<Pair>, ClusterError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run("reading a view", move |c, origin| async move {
            let mut sql = String::from("SELECT key, value FROM creditlog_views WHERE origin = $1 AND tree = $2");
            let mut params: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(origin), Box::new(tree)];
            for (bound, op_in, op_ex) in [(lower, ">=", ">"), (upper, "<=", "<")] {
                let (op, k) = match bound {
                    Bound::Included(k) => (op_in, k),
                    Bound::Excluded(k) => (op_ex, k),
                    Bound::Unbounded => continue,
                };
                params.push(Box::new(k));
                sql.push_str(&format!(" AND key {op} ${}", params.len()));
            }
            params.push(Box::new(limit));
            sql.push_str(&format!(" ORDER BY key {} LIMIT ${}", if reverse { "DESC" } else { "ASC" }, params.len()));
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
            let rows = c.query(&sql, &refs).await.map_err(db("reading a view"))?;
            Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// Writes `ops` to `tree` at once (a `None` value removes the key; of several writes of one
    /// key the last counts), if this node's lease is current.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Fenced`] on a node that only reads or whose lease is gone; database
    /// failures.
    pub fn apply(&self, tree: &'static str, ops: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), ClusterError> {
        let token = self.token("write them")?;
        let last: BTreeMap<Vec<u8>, Option<Vec<u8>>> = ops.into_iter().collect();
        if last.is_empty() {
            return Ok(());
        }
        let (mut dels, mut keys, mut values) = (Vec::new(), Vec::new(), Vec::new());
        for (k, v) in last {
            match v {
                Some(v) => {
                    keys.push(k);
                    values.push(v);
                }
                None => dels.push(k),
            }
        }
        let live = self.run("writing a view", move |c, origin| async move {
            let sql = format!(
                "WITH fence AS ({}),
                 del AS (DELETE FROM creditlog_views WHERE origin = $1 AND tree = $2 AND key = ANY($3)
                         AND EXISTS (SELECT 1 FROM fence)),
                 ins AS (INSERT INTO creditlog_views (origin, tree, key, value)
                         SELECT $1, $2, k, v FROM unnest($4::bytea[], $5::bytea[]) AS t(k, v)
                         WHERE EXISTS (SELECT 1 FROM fence)
                         ON CONFLICT (origin, tree, key) DO UPDATE SET value = EXCLUDED.value)
                 SELECT count(*) FROM fence",
                fence(6)
            );
            let row = c
                .query_one(&sql, &[&origin, &tree, &dels, &keys, &values, &token])
                .await
                .map_err(db("writing a view"))?;
            Ok(row.get::<_, i64>(0))
        })?;
        self.fenced_unless(live > 0, token)
    }

    /// Removes every key of `tree`, if this node's lease is current.
    ///
    /// # Errors
    ///
    /// As [`PgViews::apply`].
    pub fn clear(&self, tree: &'static str) -> Result<(), ClusterError> {
        let token = self.token("clear them")?;
        let live = self.run("clearing a view", move |c, origin| async move {
            let sql = format!(
                "WITH fence AS ({}),
                 del AS (DELETE FROM creditlog_views WHERE origin = $1 AND tree = $2 AND EXISTS (SELECT 1 FROM fence))
                 SELECT count(*) FROM fence",
                fence(3)
            );
            let row = c.query_one(&sql, &[&origin, &tree, &token]).await.map_err(db("clearing a view"))?;
            Ok(row.get::<_, i64>(0))
        })?;
        self.fenced_unless(live > 0, token)
    }

    /// Removes every view of this log (an empty cluster's leftovers, before `creditlog migrate`
    /// writes them), if this node's lease is current.
    ///
    /// # Errors
    ///
    /// As [`PgViews::apply`].
    pub fn clear_all(&self) -> Result<(), ClusterError> {
        let token = self.token("clear them")?;
        let live = self.run("clearing the views", move |c, origin| async move {
            let sql = format!(
                "WITH fence AS ({}),
                 del AS (DELETE FROM creditlog_views WHERE origin = $1 AND EXISTS (SELECT 1 FROM fence))
                 SELECT count(*) FROM fence",
                fence(2)
            );
            let row = c.query_one(&sql, &[&origin, &token]).await.map_err(db("clearing the views"))?;
            Ok(row.get::<_, i64>(0))
        })?;
        self.fenced_unless(live > 0, token)
    }

    fn fenced_unless(&self, live: bool, token: i64) -> Result<(), ClusterError> {
        if live {
            return Ok(());
        }
        let e = ClusterError::Fenced(format!(
            "the lease of token {token} is gone (another sequencer took over, or it expired): this node may no longer write the shared views"
        ));
        if let Some(t) = self.txn.lock().expect("lock").as_mut().filter(|t| t.thread == std::thread::current().id()) {
            t.failed.get_or_insert_with(|| clone_error(&e));
        }
        Err(e)
    }

    /// Begins a transaction for this thread: until [`PgViews::commit`] or
    /// [`PgViews::rollback`], this thread's reads and writes go through it, and no other thread's
    /// reads see its writes.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Fenced`] on a node that only reads; database failures; a transaction
    /// already open (one writer at a time: the registry's intake lock).
    pub fn begin(&self) -> Result<(), ClusterError> {
        self.token("write them")?;
        if self.txn.lock().expect("lock").is_some() {
            return Err(ClusterError::Corrupt("a views transaction is already open".into()));
        }
        let client = self.writes.connection()?;
        let c = client.clone();
        self.writes
            .block(async move { c.batch_execute("BEGIN").await.map_err(db("beginning a views transaction")) })
            .unwrap_or_else(|| Err(self.writes.no_answer("beginning a views transaction")))
            .inspect_err(|_| self.writes.reset())?;
        *self.txn.lock().expect("lock") = Some(Txn { thread: std::thread::current().id(), client, failed: None });
        Ok(())
    }

    /// Commits this thread's transaction; if anything in it failed, rolls it back instead and
    /// returns that failure.
    ///
    /// # Errors
    ///
    /// The transaction's failure, or the commit's.
    pub fn commit(&self) -> Result<(), ClusterError> {
        let Some(t) = self.take_txn() else {
            return Err(ClusterError::Corrupt("no views transaction is open on this thread".into()));
        };
        if let Some(e) = t.failed {
            let _ = self.end(t.client, "ROLLBACK");
            return Err(e);
        }
        // (A commit that did not answer may or may not have happened: `end` drops the
        // connection, and the caller treats the batch as not applied.)
        self.end(t.client, "COMMIT")
    }

    /// Rolls back this thread's transaction (if it has one).
    pub fn rollback(&self) {
        if let Some(t) = self.take_txn() {
            let _ = self.end(t.client, "ROLLBACK");
        }
    }

    fn take_txn(&self) -> Option<Txn> {
        let mut txn = self.txn.lock().expect("lock");
        if txn.as_ref().is_some_and(|t| t.thread == std::thread::current().id()) {
            txn.take()
        } else {
            None
        }
    }

    fn end(&self, client: Arc<Client>, sql: &'static str) -> Result<(), ClusterError> {
        let out = self
            .writes
            .block(async move { client.batch_execute(sql).await.map_err(db("ending a views transaction")) })
            .unwrap_or_else(|| Err(self.writes.no_answer("ending a views transaction")));
        if out.is_err() {
            self.writes.reset();
        }
        out
    }
}

/// A copy of a failure, kept to report again (the error type holds only strings).
fn clone_error(e: &ClusterError) -> ClusterError {
    match e {
        ClusterError::Fenced(s) => ClusterError::Fenced(s.clone()),
        ClusterError::Database { action, detail } => ClusterError::Database { action, detail: detail.clone() },
        other => ClusterError::Corrupt(other.to_string()),
    }
}
