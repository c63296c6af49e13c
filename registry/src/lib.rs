//! The credit service: identities and keys, intake of department-signed records, private
//! contents, grading, evidence, and the views derived from the log.
//!
//! Every state change is a log entry first (invariant 1). An entry is a public
//! [`verifier::entry::EntryHeader`]; its [`verifier::entry::EntryContent`] is stored durably in
//! the [`content::ContentStore`] *before* the header is appended, and shown only to those
//! entitled (invariant 7). The registry decides nothing the verifier cannot re-check: every rule
//! that decides whether an entry counts is [`verifier::authority::check_entry`] or
//! [`verifier::decision::check_decision`], applied here at intake and by `creditlog verify`
//! offline (invariant 9).
//!
//! | flow | file |
//! | --- | --- |
//! | append pipeline: dedup, salts, seal → contents (durable) → log → views | [`pipeline`] |
//! | the views store (the only module that names sled trees) | `store` |
//! | the scoring view: records and repairs as scoring reads them, erasable | `scoring` |
//! | who may read which entry, grade, decision, journal | [`access`] |
//! | identities and keys, the grader's signing key (invariant 8) | [`identities`] |
//! | flow 1, intake 信息归集 | [`intake`] |
//! | flows 2–4, models, grading, re-grading 指标体系 / 分级分类 / 动态调整 | [`grading`] |
//! | evidence bundles for `creditlog verify` | [`evidence`] |
//! | the journal of reads of a firm's class, decisions and history | [`journal`] |
//! | objections 异议, credit repair 信用修复, commitments 信用承诺, disclosure 公示 | [`objections`], [`repairs`], [`commitments`], [`disclosure`] |
//! | retention and redaction 保存期限与删除 | [`redactions`] |
//! | flows 5–7, inspection plans and draws 双随机、一公开 | [`plans`] |
//! | early warnings 风险预警 | [`warnings`] |
//! | flow 10, sanctions 联合惩戒 and interception checks 自动拦截 | [`sanctions`] |

pub mod access;
pub mod commitments;
pub mod completeness;
pub mod content;
pub mod disclosure;
pub mod evidence;
pub mod federation;
pub mod grading;
pub mod identities;
pub mod intake;
pub mod journal;
pub mod keyfile;
pub mod objections;
pub mod pipeline;
pub mod plans;
pub mod redactions;
pub mod regrade;
pub mod repairs;
pub mod sanctions;
mod scoring;
mod store;
pub mod warnings;

use content::{ContentError, ContentStore, Contents};
use ledger::{LedgerError, Log};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use verifier::entry::{EntryContent, EntryHeader};
use verifier::identity::KeyBook;
use verifier::jurisdiction::Jurisdiction;
use verifier::leaf_hash;

/// File name of the operator key in the data folder (created on first start; move it offline).
pub const OPERATOR_KEY_FILE: &str = "operator.key";
/// File name of the grader key in the data folder: the server's key that signs decisions.
pub const GRADER_KEY_FILE: &str = "grader.key";
/// Folder of further grader keys: a new key placed here and then registered by a `rotate_key`
/// entry takes over at once, without a restart.
pub const GRADER_KEYS_DIR: &str = "grader-keys";

/// Registry failures (not the per-record rejections, which are [`Rejection`]s).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The log failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The content store failed.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// The views database failed.
    #[error("views database: {0}")]
    Views(#[from] sled::Error),
    /// The cluster's PostgreSQL (its shared views, its journal of reads) or bucket failed, or
    /// this node may not write there.
    #[error("cluster: {0}")]
    Cluster(#[from] cluster::ClusterError),
    /// A stored view value does not decode.
    #[error("views database, tree {tree}: {problem} (run `creditlog rebuild`)")]
    Corrupt {
        /// The tree.
        tree: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A key file.
    #[error(transparent)]
    KeyFile(#[from] keyfile::KeyFileError),
    /// The log and the contents disagree.
    #[error("entry {index}: {problem}")]
    Inconsistent {
        /// The entry.
        index: u64,
        /// What is wrong.
        problem: String,
    },
    /// The caller may not see or do this.
    #[error("{0}")]
    Forbidden(String),
    /// No published model with that hash.
    #[error("no model with hash {0} is published on this log")]
    NoModel(String),
    /// No such entry.
    #[error("entry {index} does not exist: the log holds {size} entries")]
    NoEntry {
        /// Asked for.
        index: u64,
        /// Log size.
        size: u64,
    },
    /// The server holds no valid grader key.
    #[error("this server holds no grader key that is valid on the log ({0}); grade decisions cannot be signed")]
    NoGrader(String),
    /// Something asked for is not kept here (named in the message).
    #[error("{0}")]
    NotFound(String),
    /// The disk of the data folder is (nearly) full: nothing was appended.
    #[error(
        "the disk of the data folder has {} MiB free, under the {} MiB that intake keeps in reserve (rule \
         storage-reserve): nothing was appended; submit again once space is freed",
        available >> 20,
        reserve >> 20
    )]
    StorageFull {
        /// Bytes free for the server.
        available: u64,
        /// Bytes intake keeps free.
        reserve: u64,
    },
}

/// What intake keeps free on the data folder's disk by default (`creditlog serve
/// --storage-reserve-mb`): room for the views, the nonce file and the decisions that follow
/// records already appended, so that a full disk refuses new submissions cleanly instead of
/// failing a write half-way.
pub const DEFAULT_STORAGE_RESERVE: u64 = 256 << 20;

/// Why one submitted record or statement was refused; nothing was appended for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// The field concerned, e.g. `signatures[0].keyid` or `fields.fine_amount_fen`.
    pub field: String,
    /// The rule it breaks, in plain language (ending with the rule's name when it has one).
    pub rule: String,
    /// The rule's name, for authority rules (`retraction-by-author`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_name: Option<&'static str>,
    /// Suggested HTTP status: 400 malformed, 403 not allowed, 413 too large, 422 refused by a rule.
    pub status: u16,
}

impl Rejection {
    pub(crate) fn new(status: u16, field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self { field: field.into(), rule: rule.into(), rule_name: None, status }
    }
}

impl From<verifier::authority::Refusal> for Rejection {
    fn from(r: verifier::authority::Refusal) -> Self {
        Self { field: r.field.to_owned(), rule: r.to_string(), rule_name: Some(r.rule.name()), status: r.rule.status() }
    }
}

/// What happened to one submitted item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Appended at this index.
    Appended {
        /// Its index.
        index: u64,
    },
    /// Already on the log (the same signed bytes, or the same record signed again): nothing
    /// appended.
    Duplicate {
        /// The original index.
        index: u64,
    },
    /// Refused.
    Rejected(Rejection),
    /// A dry run ([`Registry::check_records`]): every check passed and the item would be
    /// appended; nothing was.
    WouldAppend,
}

/// What the content store holds for an entry.
#[derive(Debug, Clone)]
pub(crate) enum Stored {
    /// Its content.
    Content(EntryContent),
    /// What is kept of it after a redaction.
    Redacted(verifier::redaction::Redacted),
}

impl Stored {
    /// The firm the entry is about.
    pub(crate) fn subject(&self) -> Option<&str> {
        match self {
            Stored::Content(c) => c.subject.as_deref(),
            Stored::Redacted(r) => Some(&r.subject),
        }
    }
}

/// How a redaction stub is stored in `contents.log`: `{"redacted":{...}}`.
#[derive(Debug, Clone, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoredRedacted {
    pub(crate) redacted: verifier::redaction::Redacted,
}

/// The first bytes of a stored stub.
pub(crate) const REDACTED_PREFIX: &[u8] = b"{\"redacted\":";

/// An entry with its content, as shown to an entitled caller.
#[derive(Debug, Clone, Serialize)]
pub struct EntryView {
    /// Its index.
    pub index: u64,
    /// The header, exactly as in the log (base64).
    pub header: String,
    /// The content; absent once the entry is redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<EntryContent>,
    /// In place of the content, for a redacted entry: the rule, the redaction entry and what is
    /// kept (the firm, the chain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redacted: Option<verifier::redaction::Redacted>,
    /// The open objection contesting it, if any: the entry is disputed (有异议).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disputed_by: Option<u64>,
}

/// How often an API node of a cluster looks whether the sequencer has applied more to the shared
/// views ([`Registry::spawn_follower`]): one small query to PostgreSQL each time.
pub const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// An entry's content as it is kept: the leaf hash of its header, and the bytes.
pub type StoredContent = ([u8; 32], Vec<u8>);

/// The registry over one log.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    data: PathBuf,
    log: Log,
    /// The sled database of the views; `None` on a cluster, whose views are in PostgreSQL.
    db: Option<sled::Db>,
    views: store::Views,
    /// On a cluster: how far this node's own derived state (the sequencer's scoring view; the
    /// key book and models in memory) follows the shared views; an API node reads them up to here.
    local_applied: std::sync::atomic::AtomicU64,
    contents: Contents,
    /// Records and repairs as scoring reads them ([`scoring`]); `None` on an API node of a
    /// cluster, which keeps no files and reads a row from the log when it needs one.
    scoring: Option<scoring::ScoringView>,
    /// The number of entries the scoring view was rebuilt for when the registry opened.
    scoring_rebuilt: Option<u64>,
    book: RwLock<KeyBook>,
    intake: tokio::sync::Mutex<()>,
    models: RwLock<BTreeMap<String, grading::PublishedModel>>,
    grader: RwLock<Option<ed25519_dalek::SigningKey>>,
    /// What a new log's `set_jurisdiction` entry says.
    initial_jurisdiction: Jurisdiction,
    /// Working days, for deadlines.
    calendar: verifier::calendar::Calendar,
    /// Objection deadlines.
    objection_rules: objections::ObjectionRules,
    reads_seq: std::sync::atomic::AtomicU64,
    /// On a cluster: the journal of reads in PostgreSQL, shared by every node ([`journal`]).
    shared_journal: Option<Arc<cluster::Coordinator>>,
    /// Index of the newest public identity entry applied (each header names it in `keys`).
    public_identity_head: std::sync::Mutex<Option<u64>>,
    /// Each firm's chain head (the leaf hash of its newest entry) as the log has it, filled on
    /// first use from the subjects view and kept by every append: intake reads a chain head for
    /// every record, and a tree walk each time was 5 % of the server's CPU in a bulk load. Keyed
    /// by the 18 bytes of a USCC; 50 bytes and the table's overhead per firm.
    heads: std::sync::Mutex<std::collections::HashMap<[u8; 18], [u8; 32]>>,
    /// The map of chain heads: live heads, firms' map keys, the newest published map.
    heads_map: std::sync::Mutex<completeness::HeadsState>,
    /// One map publication at a time.
    heads_publishing: tokio::sync::Mutex<()>,
    /// Populations and selections of plans, computed once from the log ([`plans`]).
    draws: std::sync::Mutex<BTreeMap<u64, Arc<plans::DrawnPlan>>>,
    /// Interception answers per firm and checkpoint.
    checks: sanctions::CheckCache,
    /// Full re-grades run by this process, by order index.
    jobs: std::sync::Mutex<BTreeMap<u64, Arc<regrade::RegradeJob>>>,
    /// Bytes intake keeps free on the data folder's disk: none until the server sets it
    /// ([`Registry::set_storage_reserve`], [`DEFAULT_STORAGE_RESERVE`]), so that a new log's first
    /// entries and a rebuild are never refused.
    reserve: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Registry {
    /// Opens the registry of the data folder `data` over `log`; a new log gets the default
    /// jurisdiction settings, named after the log's origin.
    ///
    /// # Errors
    ///
    /// See [`Registry::open_with`].
    pub async fn open(data: &Path, log: Log) -> Result<Self, RegistryError> {
        let jurisdiction = Jurisdiction { name: log.origin().to_owned(), ..Jurisdiction::default() };
        Self::open_with(data, log, jurisdiction).await
    }

    /// Opens the registry: opens the contents and views, applies any entries the views lack, and
    /// on a new log registers the operator and the grader (creating `operator.key` and
    /// `grader.key`, mode 0600). Afterwards the server never reads `operator.key`: move it
    /// offline; registrations are signed by the CLI.
    ///
    /// # Errors
    ///
    /// Storage failures, or a log whose contents are missing.
    pub async fn open_with(data: &Path, log: Log, jurisdiction: Jurisdiction) -> Result<Self, RegistryError> {
        Self::open_inner(data, log, jurisdiction, None).await
    }

    /// Opens the registry of a cluster node: the contents are in the cluster's bucket, the views
    /// in its PostgreSQL (`views`), shared by every node. A sequencer (whose `views` write under
    /// its lease) registers the operator and grader of a new log and applies what the views lack;
    /// an API node (whose log follows, [`Log::follow`], and whose `views` only read) waits for
    /// the sequencer to have done so and follows the views ([`Registry::spawn_follower`]). The
    /// sequencer keeps its scoring view in `data`, derived from the log; an API node keeps no
    /// files at all.
    ///
    /// # Errors
    ///
    /// See [`Registry::open_with`].
    pub async fn open_cluster(
        data: &Path,
        log: Log,
        contents: cluster::ObjectContents,
        coord: Arc<cluster::Coordinator>,
        views: Arc<cluster::PgViews>,
    ) -> Result<Self, RegistryError> {
        let jurisdiction = Jurisdiction { name: log.origin().to_owned(), ..Jurisdiction::default() };
        Self::open_inner(data, log, jurisdiction, Some((contents, coord, views))).await
    }

    async fn open_inner(
        data: &Path,
        log: Log,
        jurisdiction: Jurisdiction,
        cluster: Option<(cluster::ObjectContents, Arc<cluster::Coordinator>, Arc<cluster::PgViews>)>,
    ) -> Result<Self, RegistryError> {
        let (db, views, contents, shared_journal) = match cluster {
            Some((objects, coord, pg)) => (None, store::Views::open_pg(pg), Contents::Objects(objects), Some(coord)),
            None => {
                let db = ledger::open_sled(
                    &sled::Config::new()
                        .path(data.join("registry"))
                        .cache_capacity(256 << 20)
                        .mode(sled::Mode::HighThroughput)
                        .flush_every_ms(Some(2000)),
                )?;
                let views = store::Views::open(&db)?;
                let contents = Contents::File(ContentStore::open(&data.join("contents"), db.open_tree("meta")?)?);
                (Some(db), views, contents, None)
            }
        };
        if views.check_format()? {
            tracing::warn!("the views were written in an older layout: rebuilding them from the log");
        }
        let applied = views.applied()?;
        // The scoring view's length as last recorded with how far it is applied: beside the
        // views in sled; in this node's own folder on a cluster (the shared views are not
        // this node's).
        let (scoring_applied, recorded) = if views.shared() {
            match scoring::read_mark(&data.join("scoring"))? {
                Some((at, len)) if at <= applied => (at, Some(len)),
                _ => (0, None),
            }
        } else {
            (applied, views.meta.get(b"scoring")?.map(|v| store::be_u64(&v, "meta")).transpose()?)
        };
        let (scoring, rebuild_scoring) = if views.writable() {
            let (s, rebuild) = scoring::ScoringView::open(&data.join("scoring"), scoring_applied, recorded)?;
            (Some(s), rebuild)
        } else {
            (None, false)
        };
        let registry = Self {
            inner: Arc::new(Inner {
                data: data.to_owned(),
                log,
                db,
                views,
                local_applied: scoring_applied.into(),
                contents,
                scoring,
                scoring_rebuilt: rebuild_scoring.then_some(applied),
                book: RwLock::default(),
                intake: Default::default(),
                draws: Default::default(),
                models: RwLock::default(),
                grader: RwLock::default(),
                initial_jurisdiction: jurisdiction,
                calendar: verifier::calendar::Calendar::china(),
                objection_rules: objections::ObjectionRules::shipped(),
                reads_seq: Default::default(),
                shared_journal,
                public_identity_head: Default::default(),
                heads: Default::default(),
                heads_map: Default::default(),
                heads_publishing: Default::default(),
                checks: Default::default(),
                jobs: Default::default(),
                reserve: 0.into(),
            }),
        };
        registry.load_book()?;
        registry.load_models()?;
        if rebuild_scoring {
            tracing::warn!("the scoring view is behind the other views: rebuilding it from the log");
            registry.rebuild_scoring(scoring_applied)?;
        }
        if registry.inner.views.shared() {
            // This node's scoring view, up to the shared views; then, on the sequencer, the
            // shared views up to the log (what the last leader appended but did not apply).
            registry.follow_shared()?;
        }
        registry.catch_up()?;
        if registry.key_book().operator.is_none() && !registry.inner.log.is_follower() {
            registry.bootstrap().await?;
        }
        // The map of chain heads is the sequencer's to publish (an API node passes its requests
        // on): an API node does not walk the whole history index at start for it.
        if registry.inner.views.writable() {
            registry.load_heads()?;
        }
        registry.resolve_grader();
        Ok(registry)
    }

    /// On an API node of a cluster (its log follows the sequencer's, [`Log::follow`]): brings
    /// this node's own derived state up to the shared views whenever the sequencer has applied
    /// more, looking each time a newer checkpoint is seen and every [`FOLLOW_POLL`] (the
    /// sequencer applies a batch just after it commits it, before its checkpoint). Must be
    /// called within a Tokio runtime.
    pub fn spawn_follower(&self) {
        let reg = self.clone();
        let mut rx = self.inner.log.subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    changed = rx.changed() => if changed.is_err() { return },
                    () = tokio::time::sleep(FOLLOW_POLL) => {}
                }
                let r = reg.clone();
                match tokio::task::spawn_blocking(move || r.follow_once()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "could not follow the sequencer's new entries on this node")
                    }
                    Err(e) => tracing::error!(error = %e, "the view follower panicked"),
                }
            }
        });
    }

    fn follow_once(&self) -> Result<u64, RegistryError> {
        let _one = self.inner.intake.blocking_lock();
        let n = if self.inner.views.shared() { self.follow_shared()? } else { self.catch_up()? };
        if n > 0 {
            // Chain heads are filled again from the views on demand.
            self.inner.heads.lock().expect("lock").clear();
        }
        Ok(n)
    }

    /// How many entries of the log this node's views reflect (an API node's lag behind the
    /// sequencer is the log's size minus this).
    ///
    /// # Errors
    ///
    /// If the views cannot be read.
    pub fn views_applied(&self) -> Result<u64, RegistryError> {
        if self.inner.views.shared() {
            return Ok(self.inner.local_applied.load(std::sync::atomic::Ordering::SeqCst));
        }
        self.applied()
    }

    /// If the scoring view had fallen behind the other views (its files lost or cut short, as a
    /// power loss may leave them) and was rebuilt from the log on open: for how many entries.
    pub fn scoring_rebuilt(&self) -> Option<u64> {
        self.inner.scoring_rebuilt
    }

    /// Sets how many bytes intake keeps free on the data folder's disk (0: none; a full disk
    /// then fails the write that meets it).
    pub fn set_storage_reserve(&self, bytes: u64) {
        self.inner.reserve.store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// Refuses with [`RegistryError::StorageFull`] when the data folder's disk has less free
    /// than the reserve.
    pub(crate) fn check_space(&self) -> Result<(), RegistryError> {
        let reserve = self.inner.reserve.load(std::sync::atomic::Ordering::Relaxed);
        if reserve == 0 {
            return Ok(());
        }
        let st = rustix::fs::statvfs(&self.inner.data).map_err(|e| RegistryError::Corrupt {
            tree: "data folder",
            problem: format!("cannot read how much space its disk has free: {e}"),
        })?;
        let available = st.f_bavail.saturating_mul(st.f_frsize);
        if available < reserve {
            return Err(RegistryError::StorageFull { available, reserve });
        }
        Ok(())
    }

    /// The log underneath.
    pub fn log(&self) -> &Log {
        &self.inner.log
    }

    /// The stored content of entry `index` exactly as it is kept (for `creditlog migrate`): the
    /// leaf hash of its header, which the content is stored under, and the bytes; `None` for an
    /// entry without one (a raw ledger entry).
    ///
    /// # Errors
    ///
    /// If the log or the contents cannot be read.
    pub fn stored_content(&self, index: u64) -> Result<Option<StoredContent>, RegistryError> {
        let bytes = self.inner.log.entry(index)?;
        let leaf = leaf_hash(&bytes).0;
        Ok(self.inner.contents.get(index, &leaf)?.map(|c| (leaf, c)))
    }

    /// The jurisdiction and its settings (dates, local time), as the log sets them now.
    pub fn jurisdiction(&self) -> Jurisdiction {
        self.inner.book.read().expect("lock").jurisdiction.clone()
    }

    /// The jurisdiction's local date today.
    pub fn today(&self) -> verifier::Date {
        self.inner.book.read().expect("lock").jurisdiction.settings.local_date(now())
    }

    /// A copy of the key book as the log makes it now.
    pub fn key_book(&self) -> KeyBook {
        self.inner.book.read().expect("lock").clone()
    }

    /// Reads header and content of entry `index`; `None` for an entry that is not a registry
    /// header (a raw ledger entry).
    pub(crate) fn read_entry(&self, index: u64) -> Result<Option<(EntryHeader, EntryContent)>, RegistryError> {
        self.open_entry(index, &self.inner.log.entry(index)?)
    }

    /// Header and content of entry `index`, given its bytes as read from the log; `None` for a
    /// raw ledger entry, and for a redacted entry (whose content is gone: see
    /// [`Registry::open_stored`]).
    pub(crate) fn open_entry(
        &self,
        index: u64,
        bytes: &[u8],
    ) -> Result<Option<(EntryHeader, EntryContent)>, RegistryError> {
        Ok(match self.open_stored(index, bytes)? {
            Some((header, Stored::Content(content))) => Some((header, content)),
            _ => None,
        })
    }

    /// Header and what is stored of entry `index`: its content, or what is kept of it once
    /// redacted.
    pub(crate) fn open_stored(&self, index: u64, bytes: &[u8]) -> Result<Option<(EntryHeader, Stored)>, RegistryError> {
        let Ok(header) = EntryHeader::parse(bytes) else { return Ok(None) };
        let leaf = leaf_hash(bytes).0;
        let raw = self.inner.contents.get(index, &leaf)?.ok_or_else(|| RegistryError::Inconsistent {
            index,
            problem: "its content is missing from the content store".into(),
        })?;
        let malformed = |e: serde_json::Error| RegistryError::Inconsistent {
            index,
            problem: format!("stored content is malformed: {e}"),
        };
        let stored = if raw.starts_with(REDACTED_PREFIX) {
            Stored::Redacted(serde_json::from_slice::<StoredRedacted>(&raw).map_err(malformed)?.redacted)
        } else {
            Stored::Content(serde_json::from_slice(&raw).map_err(malformed)?)
        };
        Ok(Some((header, stored)))
    }

    /// Indices of every entry about `uscc`, ascending (the history index).
    pub(crate) fn subject_indices(&self, uscc: &str) -> Result<Vec<u64>, RegistryError> {
        let prefix = store::firm_prefix(uscc);
        let mut out = Vec::new();
        for item in self.inner.views.subjects.scan_prefix(&prefix) {
            let (k, _) = item?;
            out.push(store::be_u64(&k[prefix.len()..], "subjects")?);
        }
        Ok(out)
    }

    /// A digest of every derived view (and the key book), to show that a rebuild from the log
    /// gives an identical result.
    ///
    /// # Errors
    ///
    /// Views database failures.
    pub fn views_digest(&self) -> Result<String, RegistryError> {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for (name, tree) in self.inner.views.derived() {
            h.update(name.as_bytes());
            for item in tree.iter() {
                let (k, val) = item?;
                h.update((k.len() as u64).to_be_bytes());
                h.update(&k);
                h.update((val.len() as u64).to_be_bytes());
                h.update(&val);
            }
        }
        scoring::digest(self.applied()?, |i| self.scoring_read(i), &mut h)?;
        h.update(serde_json::to_vec(&*self.inner.book.read().expect("lock")).expect("serialises"));
        Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Drops every view derived from the log, so that opening the registry again rebuilds them
    /// (`creditlog rebuild` of a cluster's shared views; this node's scoring view is in its own
    /// folder, which the caller empties).
    ///
    /// # Errors
    ///
    /// Views failures; on a cluster, a node that does not hold the lease.
    pub fn clear_views(&self) -> Result<(), RegistryError> {
        self.inner.views.clear_derived()
    }

    /// Flushes the views (not needed for safety: they are rebuilt from the log).
    ///
    /// # Errors
    ///
    /// Views database failures.
    pub fn flush(&self) -> Result<(), RegistryError> {
        if let Some(db) = &self.inner.db {
            db.flush()?;
        }
        Ok(())
    }
}

/// Seconds since the epoch from the system clock: the one place the registry reads it.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
