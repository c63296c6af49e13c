//! PostgreSQL: the one sequencer's lease and fencing token, the tree's committed size and root,
//! the last batch's tile bytes, and the checkpoint history.
//!
//! | table | row |
//! | --- | --- |
//! | `creditlog_lease` | per log (origin): the holder's name and URL, the fencing token (raised by one at every take-over), the expiry (the database's clock) |
//! | `creditlog_tree` | per log: the committed size and root, and the last committed batch's tile bytes (`pending`), replayed by the next leader |
//! | `creditlog_checkpoints` | per log and size: the signed checkpoint note |
//! | `creditlog_nonces` | per log and request-signature nonce: when the signature expires (every node refuses a nonce any node accepted) |
//! | `creditlog_reads` | per log and firm: the journal of reads of its class, decisions, history and bundles, from every node |
//!
//! Every write a sequencer makes checks, in the same statement and under a share lock on the
//! lease row, that its token is the current one and unexpired. A standby takes the lease with an
//! update of that row, so it waits for a write in flight and every later write of the old leader
//! finds the token changed.

use crate::bridge::Bridge;
use crate::ClusterError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_postgres::{Client, NoTls};
use verifier::Hash;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS creditlog_lease (
    origin text PRIMARY KEY,
    holder text NOT NULL,
    url text NOT NULL,
    token bigint NOT NULL,
    expires timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS creditlog_tree (
    origin text PRIMARY KEY,
    size bigint NOT NULL,
    root bytea NOT NULL,
    pending bytea
);
CREATE TABLE IF NOT EXISTS creditlog_nonces (
    origin text NOT NULL,
    nonce text NOT NULL,
    expires bigint NOT NULL,
    PRIMARY KEY (origin, nonce)
);
CREATE TABLE IF NOT EXISTS creditlog_reads (
    origin text NOT NULL,
    uscc text NOT NULL,
    seq bigserial NOT NULL,
    read bytea NOT NULL,
    PRIMARY KEY (origin, uscc, seq)
);
CREATE TABLE IF NOT EXISTS creditlog_checkpoints (
    origin text NOT NULL,
    size bigint NOT NULL,
    note bytea NOT NULL,
    PRIMARY KEY (origin, size)
);
";

/// The current leader, as the lease row says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leader {
    /// Its node name.
    pub holder: String,
    /// Where it is reached.
    pub url: String,
    /// Its fencing token.
    pub token: i64,
    /// Whether the lease is unexpired by the database's clock.
    pub live: bool,
}

/// A connection to the coordination database for one log.
pub struct Coordinator {
    pg: Pg,
}

impl std::fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordinator").field("origin", &self.pg.origin).finish_non_exhaustive()
    }
}

/// One PostgreSQL connection for one log, opened on first use and opened again after a failure;
/// every call runs on the bridge within the timeout.
pub(crate) struct Pg {
    bridge: Bridge,
    url: String,
    pub(crate) origin: String,
    /// Every call's limit: a partitioned node fails after it instead of hanging.
    pub(crate) timeout: Duration,
    client: Mutex<Option<Arc<Client>>>,
}

pub(crate) fn db(action: &'static str) -> impl Fn(tokio_postgres::Error) -> ClusterError {
    move |e| ClusterError::Database { action, detail: crate::objects::chain(&e) }
}

impl Coordinator {
    /// Connects for the log `origin` and creates the tables if they are missing.
    ///
    /// # Errors
    ///
    /// If the database cannot be reached in `timeout` or refuses.
    pub fn connect(url: &str, origin: &str, timeout: Duration) -> Result<Self, ClusterError> {
        let pg = Pg::new(url, origin, timeout);
        pg.call("creating the tables", |client, origin| async move {
            client.batch_execute(SCHEMA).await.map_err(db("creating the tables"))?;
            // The tree's row, once: every later read and write of the tree finds it.
            client
                .execute(
                    "INSERT INTO creditlog_tree (origin, size, root, pending) VALUES ($1, 0, $2, NULL) ON CONFLICT DO NOTHING",
                    &[&origin, &tlog_empty()],
                )
                .await
                .map_err(db("creating the tree row"))?;
            Ok(())
        })?;
        Ok(Self { pg })
    }

    /// The log this coordinator is for.
    pub fn origin(&self) -> &str {
        &self.pg.origin
    }
}

impl Pg {
    pub(crate) fn new(url: &str, origin: &str, timeout: Duration) -> Self {
        Self {
            bridge: Bridge::get(),
            url: url.to_owned(),
            origin: origin.to_owned(),
            timeout,
            client: Mutex::new(None),
        }
    }

    /// The connection, opened if there is none.
    pub(crate) fn connection(&self) -> Result<Arc<Client>, ClusterError> {
        self.client()
    }

    /// Drops the connection: the next call opens a fresh one.
    pub(crate) fn reset(&self) {
        *self.client.lock().expect("lock") = None;
    }

    /// Runs `fut` on the bridge within the timeout; `None` if it did not finish in time.
    pub(crate) fn block<F>(&self, fut: F) -> Option<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.bridge.run(self.timeout, fut)
    }

    /// The failure of a call that did not answer in time.
    pub(crate) fn no_answer(&self, action: &'static str) -> ClusterError {
        ClusterError::Database { action, detail: format!("no answer within {} ms", self.timeout.as_millis()) }
    }

    fn client(&self) -> Result<Arc<Client>, ClusterError> {
        if let Some(c) = self.client.lock().expect("lock").as_ref().filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let url = self.url.clone();
        let bridge = self.bridge.clone();
        let connected = self
            .bridge
            .run(self.timeout, async move {
                let (client, connection) = tokio_postgres::connect(&url, NoTls).await?;
                bridge.spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::warn!(error = %e, "the PostgreSQL connection ended");
                    }
                });
                Ok::<_, tokio_postgres::Error>(client)
            })
            .ok_or_else(|| ClusterError::Database {
                action: "connecting",
                detail: format!("no answer within {} ms", self.timeout.as_millis()),
            })?
            .map_err(db("connecting"))?;
        let client = Arc::new(connected);
        *self.client.lock().expect("lock") = Some(client.clone());
        Ok(client)
    }

    /// Runs one call on the bridge within the timeout; any failure drops the connection, so the
    /// next call starts a fresh one.
    pub(crate) fn call<T, F, Fut>(&self, action: &'static str, f: F) -> Result<T, ClusterError>
    where
        F: FnOnce(Arc<Client>, String) -> Fut,
        Fut: std::future::Future<Output = Result<T, ClusterError>> + Send + 'static,
        T: Send + 'static,
    {
        let client = self.client()?;
        let out = self.bridge.run(self.timeout, f(client, self.origin.clone())).unwrap_or_else(|| {
            Err(ClusterError::Database { action, detail: format!("no answer within {} ms", self.timeout.as_millis()) })
        });
        if matches!(out, Err(ClusterError::Database { .. })) {
            *self.client.lock().expect("lock") = None;
        }
        out
    }
}

impl Coordinator {
    /// Takes the lease if it is free (never held, or expired by the database's clock): the
    /// token is then one more than the last holder's. `None` while another node holds it.
    ///
    /// # Errors
    ///
    /// If the database fails.
    pub fn try_acquire(&self, holder: &str, url: &str, lease: Duration) -> Result<Option<i64>, ClusterError> {
        let (holder, url, ms) = (holder.to_owned(), url.to_owned(), lease.as_secs_f64() * 1000.0);
        self.pg.call("taking the lease", |c, origin| async move {
            let row = c
                .query_opt(
                    "INSERT INTO creditlog_lease (origin, holder, url, token, expires)
                     VALUES ($1, $2, $3, 1, now() + $4::float8 * interval '1 millisecond')
                     ON CONFLICT (origin) DO UPDATE SET holder = EXCLUDED.holder, url = EXCLUDED.url,
                         token = creditlog_lease.token + 1, expires = EXCLUDED.expires
                     WHERE creditlog_lease.expires < now()
                     RETURNING token",
                    &[&origin, &holder, &url, &ms],
                )
                .await
                .map_err(db("taking the lease"))?;
            Ok(row.map(|r| r.get::<_, i64>(0)))
        })
    }

    /// Extends the lease held under `token`; false if it is no longer this token's (or expired).
    ///
    /// # Errors
    ///
    /// If the database fails or does not answer in time.
    pub fn renew(&self, token: i64, lease: Duration) -> Result<bool, ClusterError> {
        let ms = lease.as_secs_f64() * 1000.0;
        self.pg.call("renewing the lease", |c, origin| async move {
            let n = c
                .execute(
                    "UPDATE creditlog_lease SET expires = now() + $3::float8 * interval '1 millisecond'
                     WHERE origin = $1 AND token = $2 AND expires > now()",
                    &[&origin, &token, &ms],
                )
                .await
                .map_err(db("renewing the lease"))?;
            Ok(n == 1)
        })
    }

    /// Gives the lease up at once (a clean shutdown), so a standby need not wait for it to expire.
    ///
    /// # Errors
    ///
    /// If the database fails.
    pub fn release(&self, token: i64) -> Result<(), ClusterError> {
        self.pg.call("releasing the lease", |c, origin| async move {
            c.execute(
                "UPDATE creditlog_lease SET expires = now() WHERE origin = $1 AND token = $2",
                &[&origin, &token],
            )
            .await
            .map_err(db("releasing the lease"))?;
            Ok(())
        })
    }

    /// Who leads now, if anyone ever did.
    ///
    /// # Errors
    ///
    /// If the database fails.
    pub fn leader(&self) -> Result<Option<Leader>, ClusterError> {
        self.pg.call("reading the lease", |c, origin| async move {
            let row = c
                .query_opt(
                    "SELECT holder, url, token, expires > now() FROM creditlog_lease WHERE origin = $1",
                    &[&origin],
                )
                .await
                .map_err(db("reading the lease"))?;
            Ok(row.map(|r| Leader { holder: r.get(0), url: r.get(1), token: r.get(2), live: r.get(3) }))
        })
    }

    /// The committed size and root, and the last batch's encoded tiles; creates the row of an
    /// empty tree if there is none.
    ///
    /// # Errors
    ///
    /// If the database fails or holds a malformed root.
    pub fn tree(&self) -> Result<(u64, Hash, Option<Vec<u8>>), ClusterError> {
        self.pg.call("reading the tree", |c, origin| async move {
            let r = c
                .query_one("SELECT size, root, pending FROM creditlog_tree WHERE origin = $1", &[&origin])
                .await
                .map_err(db("reading the tree"))?;
            let size: i64 = r.get(0);
            let root: Vec<u8> = r.get(1);
            let root: [u8; 32] =
                root.try_into().map_err(|_| ClusterError::Corrupt("creditlog_tree.root is not 32 bytes".into()))?;
            Ok((u64::try_from(size).unwrap_or(0), Hash(root), r.get(2)))
        })
    }

    /// Advances the tree from `prev` entries to `size` entries with root `root`, storing the
    /// batch's tile bytes, if and only if `token` still holds an unexpired lease.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Fenced`] if the lease is no longer this token's; [`ClusterError::Corrupt`]
    /// if the tree is not at `prev` (two writers: never with the lease); database failures.
    pub fn advance(&self, token: i64, prev: u64, size: u64, root: Hash, pending: Vec<u8>) -> Result<(), ClusterError> {
        let (prev, size) = (as_i64(prev)?, as_i64(size)?);
        let root = root.0.to_vec();
        let n = self.pg.call("committing a batch", |c, origin| async move {
            c.execute(
                "UPDATE creditlog_tree SET size = $3, root = $4, pending = $5
                 WHERE origin = $1 AND size = $2 AND EXISTS (
                     SELECT 1 FROM creditlog_lease l
                     WHERE l.origin = $1 AND l.token = $6 AND l.expires > now() FOR SHARE)",
                &[&origin, &prev, &size, &root, &pending, &token],
            )
            .await
            .map_err(db("committing a batch"))
        })?;
        if n == 1 {
            return Ok(());
        }
        self.explain_refusal(token, "commit a batch")?;
        let (now, _, _) = self.tree()?;
        Err(ClusterError::Corrupt(format!(
            "the tree holds {now} entries where this sequencer expected {prev}: another writer advanced it"
        )))
    }

    /// Records a signed checkpoint of `size` entries, if `token` still holds an unexpired lease.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Fenced`] if it does not; database failures.
    pub fn publish(&self, token: i64, size: u64, note: &[u8]) -> Result<(), ClusterError> {
        let size = as_i64(size)?;
        let note = note.to_vec();
        let n = self.pg.call("recording a checkpoint", |c, origin| async move {
            c.execute(
                "INSERT INTO creditlog_checkpoints (origin, size, note)
                 SELECT $1, $2, $3 WHERE EXISTS (
                     SELECT 1 FROM creditlog_lease l
                     WHERE l.origin = $1 AND l.token = $4 AND l.expires > now() FOR SHARE)
                 ON CONFLICT (origin, size) DO UPDATE SET note = EXCLUDED.note",
                &[&origin, &size, &note, &token],
            )
            .await
            .map_err(db("recording a checkpoint"))
        })?;
        if n == 1 {
            return Ok(());
        }
        self.explain_refusal(token, "publish a checkpoint")?;
        Err(ClusterError::Fenced("the checkpoint was not recorded".into()))
    }

    /// After a fenced write changed nothing: says whose lease it is now.
    fn explain_refusal(&self, token: i64, what: &str) -> Result<(), ClusterError> {
        match self.leader()? {
            Some(l) if l.token != token => Err(ClusterError::Fenced(format!(
                "this sequencer (lease token {token}) may not {what}: {} took the lease over with token {}",
                l.holder, l.token
            ))),
            Some(l) if !l.live => Err(ClusterError::Fenced(format!(
                "this sequencer (lease token {token}) may not {what}: its lease expired before it could renew it"
            ))),
            None => Err(ClusterError::Fenced(format!("no lease is recorded: this sequencer may not {what}"))),
            Some(_) => Ok(()),
        }
    }

    /// Claims a request signature's nonce until `expires` (Unix seconds): false if another
    /// request, on any node, claimed it and it has not expired at `now`. Expired nonces are
    /// deleted now and then.
    ///
    /// # Errors
    ///
    /// If the database fails.
    pub fn claim_nonce(&self, nonce: &str, expires: u64, now: u64) -> Result<bool, ClusterError> {
        let (nonce, expires, now) = (nonce.to_owned(), as_i64(expires)?, as_i64(now)?);
        let sweep = sweep_now();
        self.pg.call("claiming a request nonce", |c, origin| async move {
            if sweep {
                c.execute("DELETE FROM creditlog_nonces WHERE origin = $1 AND expires < $2", &[&origin, &now])
                    .await
                    .map_err(db("deleting expired nonces"))?;
            }
            let n = c
                .execute(
                    "INSERT INTO creditlog_nonces (origin, nonce, expires) VALUES ($1, $2, $3)
                     ON CONFLICT (origin, nonce) DO UPDATE SET expires = EXCLUDED.expires
                     WHERE creditlog_nonces.expires < $4",
                    &[&origin, &nonce, &expires, &now],
                )
                .await
                .map_err(db("claiming a request nonce"))?;
            Ok(n == 1)
        })
    }

    /// Adds a read to a firm's journal of reads.
    ///
    /// # Errors
    ///
    /// If the database fails.
    pub fn journal_read(&self, uscc: &str, read: Vec<u8>) -> Result<(), ClusterError> {
        let uscc = uscc.to_owned();
        self.pg.call("journalling a read", |c, origin| async move {
            c.execute("INSERT INTO creditlog_reads (origin, uscc, read) VALUES ($1, $2, $3)", &[&origin, &uscc, &read])
                .await
                .map_err(db("journalling a read"))?;
            Ok(())
        })
    }

    /// The whole journal of reads of this log, as `(USCC, read)`, oldest first (for a backup).
    ///
    /// # Errors
    ///
    /// If the database fails.
    pub fn all_reads(&self) -> Result<Vec<(String, Vec<u8>)>, ClusterError> {
        self.pg.call("reading the journal of reads", |c, origin| async move {
            let rows = c
                .query("SELECT uscc, read FROM creditlog_reads WHERE origin = $1 ORDER BY seq", &[&origin])
                .await
                .map_err(db("reading the journal of reads"))?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// A firm's journal of reads, oldest first.
    ///
    /// # Errors
    ///
    /// If the database fails.
    pub fn reads(&self, uscc: &str) -> Result<Vec<Vec<u8>>, ClusterError> {
        let uscc = uscc.to_owned();
        self.pg.call("reading the journal of reads", |c, origin| async move {
            let rows = c
                .query(
                    "SELECT read FROM creditlog_reads WHERE origin = $1 AND uscc = $2 ORDER BY seq",
                    &[&origin, &uscc],
                )
                .await
                .map_err(db("reading the journal of reads"))?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    /// The newest recorded checkpoint.
    ///
    /// # Errors
    ///
    /// If the database fails.
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, ClusterError> {
        self.pg.call("reading the newest checkpoint", |c, origin| async move {
            let r = c
                .query_opt(
                    "SELECT size, note FROM creditlog_checkpoints WHERE origin = $1 ORDER BY size DESC LIMIT 1",
                    &[&origin],
                )
                .await
                .map_err(db("reading the newest checkpoint"))?;
            Ok(r.map(|r| (u64::try_from(r.get::<_, i64>(0)).unwrap_or(0), r.get(1))))
        })
    }

    /// The checkpoint recorded at exactly `size`.
    ///
    /// # Errors
    ///
    /// If the database fails.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<Vec<u8>>, ClusterError> {
        let size = as_i64(size)?;
        self.pg.call("reading a checkpoint", |c, origin| async move {
            let r = c
                .query_opt("SELECT note FROM creditlog_checkpoints WHERE origin = $1 AND size = $2", &[&origin, &size])
                .await
                .map_err(db("reading a checkpoint"))?;
            Ok(r.map(|r| r.get(0)))
        })
    }

    /// Every recorded checkpoint, oldest first.
    ///
    /// # Errors
    ///
    /// If the database fails.
    pub fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>, ClusterError> {
        self.pg.call("reading the checkpoints", |c, origin| async move {
            let rows = c
                .query("SELECT size, note FROM creditlog_checkpoints WHERE origin = $1 ORDER BY size", &[&origin])
                .await
                .map_err(db("reading the checkpoints"))?;
            Ok(rows.iter().map(|r| (u64::try_from(r.get::<_, i64>(0)).unwrap_or(0), r.get(1))).collect())
        })
    }
}

/// About one call in 1,000 also deletes expired nonces.
fn sweep_now() -> bool {
    use std::sync::atomic::AtomicU64;
    static CALLS: AtomicU64 = AtomicU64::new(0);
    CALLS.fetch_add(1, Ordering::Relaxed).is_multiple_of(1000)
}

fn as_i64(n: u64) -> Result<i64, ClusterError> {
    i64::try_from(n).map_err(|_| ClusterError::Corrupt(format!("a tree size of {n} does not fit PostgreSQL's bigint")))
}

fn tlog_empty() -> Vec<u8> {
    tlog_tiles::EMPTY_HASH.0.to_vec()
}

/// A held lease, kept alive by a thread that renews it every quarter of its length.
///
/// The holder may write while [`LeaseKeeper::check`] passes: until 80 % of the lease after the
/// last renewal was *sent* (the database's expiry is later than that, whatever its clock says).
/// When it could not renew for that long, or found the lease taken, the lease is lost for good
/// and `on_lost` is called once.
pub struct LeaseKeeper {
    coord: Arc<Coordinator>,
    token: i64,
    lease: Duration,
    deadline: Mutex<Instant>,
    lost: AtomicBool,
}

impl std::fmt::Debug for LeaseKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseKeeper").field("token", &self.token).finish_non_exhaustive()
    }
}

impl LeaseKeeper {
    /// Waits (polling every quarter lease) until this node takes the lease, then keeps it.
    /// `waiting` is called once if another node holds it at first.
    ///
    /// # Errors
    ///
    /// Never returns an error for a held lease: it waits; database failures are retried.
    pub fn acquire(
        coord: Arc<Coordinator>,
        holder: &str,
        url: &str,
        lease: Duration,
        waiting: impl FnOnce(&Leader),
        on_lost: impl Fn(String) + Send + 'static,
    ) -> Arc<Self> {
        let mut waiting = Some(waiting);
        loop {
            let sent = Instant::now();
            match coord.try_acquire(holder, url, lease) {
                Ok(Some(token)) => {
                    let keeper = Arc::new(Self {
                        coord,
                        token,
                        lease,
                        deadline: Mutex::new(sent + lease.mul_f64(0.8)),
                        lost: AtomicBool::new(false),
                    });
                    let k = keeper.clone();
                    std::thread::Builder::new()
                        .name("lease".into())
                        .spawn(move || k.keep(on_lost))
                        .expect("the lease thread starts");
                    return keeper;
                }
                Ok(None) => {
                    if let Some(f) = waiting.take() {
                        match coord.leader() {
                            Ok(Some(l)) => f(&l),
                            _ => waiting = Some(f),
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not ask for the lease; retrying"),
            }
            std::thread::sleep(lease / 4);
        }
    }

    /// The fencing token.
    pub fn token(&self) -> i64 {
        self.token
    }

    /// The coordinator.
    pub fn coordinator(&self) -> &Arc<Coordinator> {
        &self.coord
    }

    /// Passes while this node may still write under its lease.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Fenced`] once the lease is lost or too old.
    pub fn check(&self) -> Result<(), ClusterError> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(ClusterError::Fenced(format!("this sequencer's lease (token {}) is lost", self.token)));
        }
        if Instant::now() >= *self.deadline.lock().expect("lock") {
            return Err(ClusterError::Fenced(format!(
                "this sequencer could not renew its lease (token {}) for {} ms: it stops writing before another may take over",
                self.token,
                self.lease.mul_f64(0.8).as_millis()
            )));
        }
        Ok(())
    }

    /// Gives the lease up (a clean shutdown).
    pub fn release(&self) {
        self.lost.store(true, Ordering::SeqCst);
        if let Err(e) = self.coord.release(self.token) {
            tracing::warn!(error = %e, "could not release the lease; a standby takes over when it expires");
        }
    }

    fn keep(&self, on_lost: impl Fn(String)) {
        loop {
            std::thread::sleep(self.lease / 4);
            if self.lost.load(Ordering::SeqCst) {
                return;
            }
            let sent = Instant::now();
            let why = match self.coord.renew(self.token, self.lease) {
                Ok(true) => {
                    *self.deadline.lock().expect("lock") = sent + self.lease.mul_f64(0.8);
                    continue;
                }
                Ok(false) => format!("the lease (token {}) was taken over or expired", self.token),
                Err(e) => {
                    if Instant::now() < *self.deadline.lock().expect("lock") {
                        tracing::warn!(error = %e, "could not renew the lease; retrying");
                        continue;
                    }
                    format!("could not renew the lease (token {}) in time: {e}", self.token)
                }
            };
            self.lost.store(true, Ordering::SeqCst);
            on_lost(why);
            return;
        }
    }
}
