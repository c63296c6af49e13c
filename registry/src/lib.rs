//! The credit service: identities and keys, intake of department-signed records, private
//! contents, and the views (dedup, per-enterprise history, key book) derived from the log.
//!
//! Every state change is a log entry first (invariant 1). An entry is a public
//! [`verifier::entry::EntryHeader`]; its [`verifier::entry::EntryContent`] is stored durably in
//! the [`content::ContentStore`] *before* the header is appended, and shown only to those
//! entitled (invariant 7). The sled views are applied after the append and can always be rebuilt
//! from the log and the contents ([`Registry::rebuild_digest`]).

pub mod content;
pub mod grading;
pub mod keyfile;

use base64::prelude::*;
use content::{ContentError, ContentStore};
use ledger::{LedgerError, Log};
use rand::{RngCore, SeedableRng};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, RwLock};
use verifier::entry::{EntryContent, EntryHeader};
use verifier::envelope::{Envelope, IDENTITY_TYPE, RECORD_TYPE};
use verifier::identity::{IdentityError, KeyBook, Principal, Role, Statement};
use verifier::record::Record;
use verifier::{leaf_hash, MAX_ENTRY_SIZE};

/// File name of the operator key in the data folder.
pub const OPERATOR_KEY_FILE: &str = "operator.key";

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
    /// The operator key.
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
    /// The caller may not see this.
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
}

/// Why one submitted record or statement was refused; nothing was appended for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// The field concerned, e.g. `signatures[0].keyid` or `fields.fine_amount_fen`.
    pub field: String,
    /// The rule it breaks, in plain language.
    pub rule: String,
    /// Suggested HTTP status: 400 malformed, 403 not allowed, 413 too large.
    pub status: u16,
}

impl Rejection {
    fn new(status: u16, field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self { field: field.into(), rule: rule.into(), status }
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
    /// Already on the log (the same signed bytes): nothing appended.
    Duplicate {
        /// The original index.
        index: u64,
    },
    /// Refused.
    Rejected(Rejection),
}

/// An entry with its content, as shown to an entitled caller.
#[derive(Debug, Clone, Serialize)]
pub struct EntryView {
    /// Its index.
    pub index: u64,
    /// The header, exactly as in the log (base64).
    pub header: String,
    /// The content.
    pub content: EntryContent,
}

struct Views {
    models: sled::Tree,
    grades: sled::Tree,
    dedup: sled::Tree,
    subjects: sled::Tree,
    identities: sled::Tree,
    meta: sled::Tree,
}

struct Prepared {
    author: String,
    envelope: Envelope,
    kind: String,
    subject: Option<String>,
    dedup: [u8; 32],
}

/// The registry over one log.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    log: Log,
    db: sled::Db,
    views: Views,
    contents: ContentStore,
    book: RwLock<KeyBook>,
    intake: tokio::sync::Mutex<()>,
    models: RwLock<BTreeMap<String, grading::PublishedModel>>,
    signer: RwLock<Option<ed25519_dalek::SigningKey>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

fn dedup_key(envelope: &Envelope) -> [u8; 32] {
    // The same signed bytes: payload type, payload and signature.
    let mut h = Sha256::new();
    h.update(envelope.payload_type.as_bytes());
    h.update([0]);
    h.update(envelope.payload.as_bytes());
    for s in &envelope.signatures {
        h.update([0]);
        h.update(s.keyid.as_bytes());
        h.update([0]);
        h.update(s.sig.as_bytes());
    }
    h.finalize().into()
}

fn subject_key(uscc: &str, index: u64) -> Vec<u8> {
    let mut k = uscc.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

fn fresh_salts(rng: &mut impl RngCore) -> [[u8; 32]; 3] {
    let mut s = [[0u8; 32]; 3];
    for salt in &mut s {
        rng.fill_bytes(salt);
    }
    s
}

impl Registry {
    /// Opens the registry of the data folder `data` over `log`: opens the contents and views,
    /// applies any entries the views lack, and on a new log registers the operator (creating
    /// `operator.key`, mode 0600).
    ///
    /// # Errors
    ///
    /// Storage failures, or a log whose contents are missing.
    pub async fn open(data: &Path, log: Log) -> Result<Self, RegistryError> {
        let db = sled::Config::new()
            .path(data.join("registry"))
            .cache_capacity(256 << 20)
            .mode(sled::Mode::HighThroughput)
            .flush_every_ms(Some(2000))
            .open()?;
        let meta = db.open_tree("meta")?;
        let contents = ContentStore::open(&data.join("contents"), db.open_tree("contents")?, meta.clone())?;
        let views = Views {
            models: db.open_tree("models")?,
            grades: db.open_tree("grades")?,
            dedup: db.open_tree("dedup")?,
            subjects: db.open_tree("subjects")?,
            identities: db.open_tree("identities")?,
            meta,
        };
        let registry = Self {
            inner: Arc::new(Inner {
                log,
                db,
                views,
                contents,
                book: RwLock::default(),
                intake: Default::default(),
                models: RwLock::default(),
                signer: RwLock::default(),
            }),
        };
        registry.load_book()?;
        registry.load_models()?;
        registry.catch_up()?;
        if registry.inner.book.read().expect("lock").operator.is_none() {
            let path = data.join(OPERATOR_KEY_FILE);
            let key = if path.exists() {
                keyfile::read(&path)?
            } else {
                let k = keyfile::generate();
                keyfile::write(&path, &k)?;
                k
            };
            let st = Statement::RegisterOperator {
                kind: verifier::identity::IDENTITY_STATEMENT.into(),
                name: registry.inner.log.origin().to_owned(),
                key: keyfile::public_b64(&key),
            };
            let env = Envelope::sign(IDENTITY_TYPE, &st.to_bytes(), &key);
            match registry.submit_identity(env).await? {
                Outcome::Appended { .. } | Outcome::Duplicate { .. } => {}
                Outcome::Rejected(r) => {
                    return Err(RegistryError::Inconsistent {
                        index: 0,
                        problem: format!("registering the operator: {}", r.rule),
                    })
                }
            }
        }
        // The server signs grade decisions with the operator key, when it holds it.
        let path = data.join(OPERATOR_KEY_FILE);
        if path.exists() {
            let key = keyfile::read(&path)?;
            let id = verifier::envelope::key_id(&key.verifying_key());
            if registry.inner.book.read().expect("lock").operator.as_deref() == Some(id.as_str()) {
                *registry.inner.signer.write().expect("lock") = Some(key);
            } else {
                tracing::warn!("operator.key is not the operator's current key; grade decisions are disabled");
            }
        }
        Ok(registry)
    }

    /// The log underneath.
    pub fn log(&self) -> &Log {
        &self.inner.log
    }

    /// A copy of the key book as the log makes it now.
    pub fn key_book(&self) -> KeyBook {
        self.inner.book.read().expect("lock").clone()
    }

    /// The principal of a key that counts now.
    ///
    /// # Errors
    ///
    /// Unknown, not yet valid or revoked.
    pub fn principal(&self, keyid: &str) -> Result<(Principal, [u8; 32]), IdentityError> {
        let at = self.inner.log.committed_size();
        let book = self.inner.book.read().expect("lock");
        let k = book.valid_at(keyid, at)?;
        Ok((k.principal.clone(), k.public))
    }

    fn applied(&self) -> Result<u64, RegistryError> {
        Ok(self
            .inner
            .views
            .meta
            .get(b"applied")?
            .map_or(0, |v| u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8]))))
    }

    fn load_book(&self) -> Result<(), RegistryError> {
        let applied = self.applied()?;
        let mut book = KeyBook::default();
        for item in self.inner.views.identities.iter() {
            let (k, _) = item?;
            let index = u64::from_be_bytes(k.as_ref().try_into().unwrap_or([0; 8]));
            if index >= applied {
                break;
            }
            let (header, content) = self.read_entry(index)?.ok_or_else(|| RegistryError::Inconsistent {
                index,
                problem: "an identity entry is not a registry entry".into(),
            })?;
            apply_identity(&mut book, index, &header, &content)?;
        }
        *self.inner.book.write().expect("lock") = book;
        Ok(())
    }

    /// Reads header and content of entry `index`; `None` for an entry that is not a registry
    /// header (a raw ledger entry).
    fn read_entry(&self, index: u64) -> Result<Option<(EntryHeader, EntryContent)>, RegistryError> {
        self.open_entry(index, &self.inner.log.entry(index)?)
    }

    /// Header and content of entry `index`, given its bytes as read from the log.
    fn open_entry(&self, index: u64, bytes: &[u8]) -> Result<Option<(EntryHeader, EntryContent)>, RegistryError> {
        let Ok(header) = EntryHeader::parse(bytes) else { return Ok(None) };
        let leaf = leaf_hash(bytes).0;
        let raw = self.inner.contents.get(&leaf)?.ok_or_else(|| RegistryError::Inconsistent {
            index,
            problem: "its content is missing from the content store".into(),
        })?;
        let content: EntryContent = serde_json::from_slice(&raw)
            .map_err(|e| RegistryError::Inconsistent { index, problem: format!("stored content is malformed: {e}") })?;
        Ok(Some((header, content)))
    }

    /// Applies every entry the views have not seen yet.
    fn catch_up(&self) -> Result<u64, RegistryError> {
        let size = self.inner.log.committed_size();
        let mut n = 0;
        for index in self.applied()?..size {
            let bytes = self.inner.log.entry(index)?;
            if let Some((header, content)) = self.open_entry(index, &bytes)? {
                self.apply(index, &bytes, &header, &content)?;
            }
            self.inner.views.meta.insert(b"applied", &(index + 1).to_be_bytes())?;
            n += 1;
        }
        Ok(n)
    }

    fn apply(
        &self,
        index: u64,
        bytes: &[u8],
        header: &EntryHeader,
        content: &EntryContent,
    ) -> Result<(), RegistryError> {
        self.apply_all(&[(index, bytes, header, content)])
    }

    /// Applies entries to the views, one sled batch per tree.
    fn apply_all(&self, items: &[(u64, &[u8], &EntryHeader, &EntryContent)]) -> Result<(), RegistryError> {
        let v = &self.inner.views;
        let (mut dedup, mut subjects) = (sled::Batch::default(), sled::Batch::default());
        for &(index, bytes, header, content) in items {
            dedup.insert(&dedup_key(&content.envelope)[..], &index.to_be_bytes());
            if let Some(uscc) = &content.subject {
                // The value is the entry's leaf hash: the newest key of a USCC is its chain head.
                subjects.insert(subject_key(uscc, index), &leaf_hash(bytes).0);
            }
            if header.kind.starts_with("identity/") {
                v.identities.insert(index.to_be_bytes(), &[])?;
                let mut book = self.inner.book.write().expect("lock");
                apply_identity(&mut book, index, header, content)?;
            }
            if header.kind.starts_with("model/") || header.kind.starts_with("decision/") {
                self.apply_grading(index, header, content)?;
            }
        }
        v.dedup.apply_batch(dedup)?;
        v.subjects.apply_batch(subjects)?;
        Ok(())
    }

    /// Checks one record envelope against the key book as of entry `at`.
    /// `verified`: the signature was already checked by a batch verification.
    fn prepare_record(
        &self,
        book: &KeyBook,
        envelope: Envelope,
        at: u64,
        verified: bool,
    ) -> Result<Prepared, Rejection> {
        let keyid = envelope.keyid().map_err(|e| Rejection::new(400, "signatures", e.to_string()))?.to_owned();
        let key = book.valid_at(&keyid, at).map_err(|e| Rejection::new(403, "signatures[0].keyid", e.to_string()))?;
        let payload = if verified {
            envelope.decode(RECORD_TYPE).map(|(p, _)| p)
        } else {
            envelope.open(RECORD_TYPE, &key.verifying_key())
        }
        .map_err(|e| Rejection::new(400, "signatures[0].sig", e.to_string()))?;
        if payload.len() > MAX_ENTRY_SIZE {
            return Err(Rejection::new(
                413,
                "payload",
                format!("the record is {} bytes; a record is at most {MAX_ENTRY_SIZE} bytes", payload.len()),
            ));
        }
        let record = Record::parse(&payload).map_err(|e| Rejection::new(400, e.field.clone(), e.rule.clone()))?;
        let Principal::Department(code) = &key.principal else {
            return Err(Rejection::new(
                403,
                "signatures[0].keyid",
                format!("records are signed by departments; key {keyid} belongs to {}", key.principal),
            ));
        };
        if code != record.department() {
            return Err(Rejection::new(
                403,
                "department",
                format!(
                    "the record names department {:?} but is signed by a key of department {code:?}",
                    record.department()
                ),
            ));
        }
        let kind = record.kind().as_str();
        let dept = book
            .departments
            .get(code)
            .ok_or_else(|| Rejection::new(403, "department", "department is not registered"))?;
        if !dept.kinds.contains(kind) {
            return Err(Rejection::new(
                403,
                "kind",
                format!(
                    "department {code} is not authorised to submit {kind} ({}); it may submit: {}",
                    record.kind().chinese_name(),
                    dept.kinds.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        if let verifier::record::RecordFields::Retraction(r) = record.fields() {
            let size = self.inner.log.committed_size();
            if r.target_index >= size {
                return Err(Rejection::new(
                    400,
                    "fields.target_index",
                    format!("entry {} does not exist; the log holds {size} entries", r.target_index),
                ));
            }
        }
        let dedup = dedup_key(&envelope);
        Ok(Prepared {
            author: keyid,
            envelope,
            kind: format!("record/{kind}"),
            subject: Some(record.subject().as_str().to_owned()),
            dedup,
        })
    }

    /// Validates and appends department-signed records. Per record: each is checked on its
    /// own; the good ones are appended in order, the others rejected with the field and rule.
    /// A record already on the log returns its original index and appends nothing.
    ///
    /// # Errors
    ///
    /// Storage failures only (then nothing of this call was acknowledged).
    pub async fn submit_records(&self, envelopes: Vec<Envelope>) -> Result<Vec<Outcome>, RegistryError> {
        // Signatures and fields are checked before taking the intake lock, on all cores, so
        // that concurrent requests validate in parallel; only sequencing is serial.
        let this = self.clone();
        let checked = tokio::task::spawn_blocking(move || this.prepare_all(envelopes))
            .await
            .map_err(|e| RegistryError::Inconsistent { index: 0, problem: format!("validation task failed: {e}") })?;
        let _guard = self.inner.intake.lock().await;
        let at = self.inner.log.committed_size();
        let mut outcomes = Vec::with_capacity(checked.len());
        let mut prepared = Vec::new();
        {
            let book = self.inner.book.read().expect("lock");
            let mut seen = HashSet::new();
            for p in checked {
                let p = match p {
                    // A key revoked while the batch was being checked no longer counts.
                    Ok(p) => match book.valid_at(&p.author, at) {
                        Ok(_) => p,
                        Err(e) => {
                            outcomes.push(Some(Outcome::Rejected(Rejection::new(
                                403,
                                "signatures[0].keyid",
                                e.to_string(),
                            ))));
                            continue;
                        }
                    },
                    Err(r) => {
                        outcomes.push(Some(Outcome::Rejected(r)));
                        continue;
                    }
                };
                if let Some(i) = self.inner.views.dedup.get(p.dedup)? {
                    outcomes.push(Some(Outcome::Duplicate {
                        index: u64::from_be_bytes(i.as_ref().try_into().unwrap_or([0; 8])),
                    }));
                } else if !seen.insert(p.dedup) {
                    outcomes.push(Some(Outcome::Rejected(Rejection::new(
                        400,
                        "records",
                        "the same signed record appears twice in this request",
                    ))));
                } else {
                    outcomes.push(None);
                    prepared.push(p);
                }
            }
        }
        let appended_kinds: Vec<(String, String)> = prepared
            .iter()
            .map(|p| (p.kind.trim_start_matches("record/").to_owned(), p.subject.clone().unwrap_or_default()))
            .collect();
        let indices = self.append_prepared(prepared).await?;
        drop(_guard);
        // Records a model marks as triggers re-grade their firm at once (动态调整).
        let appended: Vec<(u64, String, String)> =
            indices.iter().zip(appended_kinds).map(|(i, (k, u))| (*i, k, u)).collect();
        if let Err(e) = self.instant_regrade(&appended).await {
            tracing::error!(error = %e, "instant re-grading failed; the records are appended and the next scheduled run will grade them");
        }
        let mut it = indices.into_iter();
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::Appended { index: it.next().expect("one index each") }))
            .collect())
    }

    /// Checks every envelope against the key book as it is now, split over the machine's cores.
    fn prepare_all(&self, envelopes: Vec<Envelope>) -> Vec<Result<Prepared, Rejection>> {
        let at = self.inner.log.committed_size();
        let book = self.inner.book.read().expect("lock");
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        // Batch-verify a chunk; if any signature in it is bad, check that chunk one by one. Both
        // apply the one acceptance rule (verifier::signature, docs/FORMAT.md §8), so the batch
        // accepts a chunk exactly when every envelope in it would pass alone.
        let check_chunk = |chunk: Vec<Envelope>| -> Vec<Result<Prepared, Rejection>> {
            let keyed: Vec<(&Envelope, ed25519_dalek::VerifyingKey)> = chunk
                .iter()
                .filter_map(|e| Some((e, book.valid_at(e.keyid().ok()?, at).ok()?.verifying_key())))
                .collect();
            let all_good = keyed.len() == chunk.len() && verifier::envelope::verify_all(&keyed, RECORD_TYPE);
            chunk.into_iter().map(|e| self.prepare_record(&book, e, at, all_good)).collect()
        };
        if envelopes.len() < 64 || threads == 1 {
            return check_chunk(envelopes);
        }
        let chunk = envelopes.len().div_ceil(threads);
        let mut chunks: Vec<Vec<Envelope>> = Vec::new();
        let mut rest = envelopes;
        while !rest.is_empty() {
            let tail = rest.split_off(chunk.min(rest.len()));
            chunks.push(rest);
            rest = tail;
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunks.into_iter().map(|c| scope.spawn(|| check_chunk(c))).collect();
            handles.into_iter().flat_map(|h| h.join().expect("validation thread panicked")).collect()
        })
    }

    /// Validates and appends one identity statement.
    ///
    /// # Errors
    ///
    /// Storage failures only.
    pub async fn submit_identity(&self, envelope: Envelope) -> Result<Outcome, RegistryError> {
        let _guard = self.inner.intake.lock().await;
        let at = self.inner.log.committed_size();
        let dedup = dedup_key(&envelope);
        if let Some(i) = self.inner.views.dedup.get(dedup)? {
            return Ok(Outcome::Duplicate { index: u64::from_be_bytes(i.as_ref().try_into().unwrap_or([0; 8])) });
        }
        let prepared = {
            let book = self.inner.book.read().expect("lock");
            match check_identity(&book, &envelope, at) {
                Ok(st) => Prepared {
                    author: envelope.keyid().unwrap_or_default().to_owned(),
                    kind: format!("identity/{}", st.action()),
                    subject: st.subject().map(str::to_owned),
                    envelope,
                    dedup,
                },
                Err(r) => return Ok(Outcome::Rejected(r)),
            }
        };
        let index = self.append_prepared(vec![prepared]).await?[0];
        Ok(Outcome::Appended { index })
    }

    /// Seals, stores contents durably, appends headers, applies views.
    async fn append_prepared(&self, prepared: Vec<Prepared>) -> Result<Vec<u64>, RegistryError> {
        if prepared.is_empty() {
            return Ok(Vec::new());
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut heads: BTreeMap<String, [u8; 32]> = BTreeMap::new();
        let mut headers = Vec::with_capacity(prepared.len());
        let mut contents = Vec::with_capacity(prepared.len());
        let mut parsed = Vec::with_capacity(prepared.len());
        // Salts from a ChaCha stream keyed by the OS generator once per batch.
        let mut rng = rand::rngs::StdRng::from_rng(rand::rngs::OsRng).expect("the OS random source works");
        for p in prepared {
            let previous = match &p.subject {
                Some(u) => match heads.get(u) {
                    Some(h) => Some(*h),
                    None => self.chain_head(u)?,
                },
                None => None,
            };
            let (header, content) = EntryContent::seal(
                p.envelope,
                p.kind,
                now,
                p.subject.as_deref().map(|u| (u, previous)),
                fresh_salts(&mut rng),
            )
            .map_err(|e| RegistryError::Inconsistent { index: 0, problem: e.to_string() })?;
            let bytes = header.to_bytes();
            let leaf = leaf_hash(&bytes).0;
            if let Some(u) = &p.subject {
                heads.insert(u.clone(), leaf);
            }
            contents.push((leaf, serde_json::to_vec(&content).expect("serialises")));
            headers.push(bytes);
            parsed.push((header, content));
        }
        // Contents first, durably: an acknowledged header always has its content.
        self.inner.contents.append(&contents)?;
        let first = self.inner.log.append(headers.clone()).await?;
        let items: Vec<(u64, &[u8], &EntryHeader, &EntryContent)> = headers
            .iter()
            .zip(&parsed)
            .enumerate()
            .map(|(i, (b, (h, c)))| (first + i as u64, b.as_slice(), h, c))
            .collect();
        self.apply_all(&items)?;
        // The intake lock makes the registry the only writer, so these are the newest entries.
        self.inner.views.meta.insert(b"applied", &(first + headers.len() as u64).to_be_bytes())?;
        Ok((first..first + headers.len() as u64).collect())
    }

    /// Whether `caller` may read the content of an entry.
    fn entitled(&self, caller: Option<&Principal>, header: &EntryHeader, content: &EntryContent) -> bool {
        if header.kind.starts_with("identity/") && content.subject.is_none() {
            return true; // registrations of departments and role keys are public
        }
        let Some(caller) = caller else { return false };
        match caller {
            Principal::Role(Role::Auditor | Role::Court, _) => true,
            Principal::Enterprise(u) => content.subject.as_deref() == Some(u.as_str()),
            Principal::Department(code) => {
                // Any key of the department that authored it, including keys rotated out since.
                let book = self.inner.book.read().expect("lock");
                book.keys.get(&header.author).is_some_and(|k| k.principal == Principal::Department(code.clone()))
            }
            _ => false,
        }
    }

    /// The content of entry `index`, for an entitled caller.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Forbidden`] if the caller is not entitled; [`RegistryError::NoEntry`].
    pub fn entry(&self, index: u64, caller: Option<&Principal>) -> Result<EntryView, RegistryError> {
        let size = self.inner.log.committed_size();
        if index >= size {
            return Err(RegistryError::NoEntry { index, size });
        }
        let bytes = self.inner.log.entry(index)?;
        let (header, content) = self.open_entry(index, &bytes)?.ok_or_else(|| {
            RegistryError::Forbidden(format!("entry {index} is a raw ledger entry with no registry content"))
        })?;
        if !self.entitled(caller, &header, &content) {
            return Err(RegistryError::Forbidden(format!(
                "entry {index} is private: only its author department, its subject enterprise, auditors and courts may read it (信息安全)"
            )));
        }
        Ok(EntryView { index, header: BASE64_STANDARD.encode(&bytes), content })
    }

    /// Indices of every entry about `uscc`, ascending (the history index).
    pub(crate) fn subject_indices(&self, uscc: &str) -> Result<Vec<u64>, RegistryError> {
        let mut prefix = uscc.as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        for item in self.inner.views.subjects.scan_prefix(&prefix) {
            let (k, _) = item?;
            out.push(u64::from_be_bytes(k[prefix.len()..].try_into().unwrap_or([0; 8])));
        }
        Ok(out)
    }

    /// Leaf hash of the newest entry about `uscc`, if any.
    fn chain_head(&self, uscc: &str) -> Result<Option<[u8; 32]>, RegistryError> {
        let mut prefix = uscc.as_bytes().to_vec();
        prefix.push(0);
        match self.inner.views.subjects.scan_prefix(&prefix).next_back() {
            Some(item) => Ok(item?.1.as_ref().try_into().ok()),
            None => Ok(None),
        }
    }

    /// Every entry about enterprise `uscc` that `caller` may read, oldest first.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Forbidden`] for callers with no right to this history.
    pub fn history(&self, uscc: &str, caller: &Principal) -> Result<Vec<EntryView>, RegistryError> {
        let whole = match caller {
            Principal::Role(Role::Auditor | Role::Court, _) => true,
            Principal::Enterprise(u) if u == uscc => true,
            Principal::Department(_) => false,
            _ => {
                return Err(RegistryError::Forbidden(format!("{caller} may not read the history of enterprise {uscc}")))
            }
        };
        let mut out = Vec::new();
        for index in self.subject_indices(uscc)? {
            let bytes = self.inner.log.entry(index)?;
            let (header, content) = self.open_entry(index, &bytes)?.ok_or_else(|| RegistryError::Inconsistent {
                index,
                problem: "indexed but not a registry entry".into(),
            })?;
            if whole || self.entitled(Some(caller), &header, &content) {
                out.push(EntryView { index, header: BASE64_STANDARD.encode(&bytes), content });
            }
        }
        Ok(out)
    }

    /// A digest of every view (and the key book), to show that a rebuild from the log gives an
    /// identical result.
    ///
    /// # Errors
    ///
    /// Views database failures.
    pub fn views_digest(&self) -> Result<String, RegistryError> {
        let mut h = Sha256::new();
        let v = &self.inner.views;
        for (name, tree) in [
            ("dedup", &v.dedup),
            ("subjects", &v.subjects),
            ("identities", &v.identities),
            ("models", &v.models),
            ("grades", &v.grades),
        ] {
            h.update(name.as_bytes());
            for item in tree.iter() {
                let (k, val) = item?;
                h.update((k.len() as u64).to_be_bytes());
                h.update(&k);
                h.update((val.len() as u64).to_be_bytes());
                h.update(&val);
            }
        }
        h.update(serde_json::to_vec(&*self.inner.book.read().expect("lock")).expect("serialises"));
        Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Flushes the views (not needed for safety: they are rebuilt from the log).
    ///
    /// # Errors
    ///
    /// Views database failures.
    pub fn flush(&self) -> Result<(), RegistryError> {
        self.inner.db.flush()?;
        Ok(())
    }
}

fn check_identity(book: &KeyBook, envelope: &Envelope, at: u64) -> Result<Statement, Rejection> {
    let keyid = envelope.keyid().map_err(|e| Rejection::new(400, "signatures", e.to_string()))?.to_owned();
    let (payload, _) = envelope.decode(IDENTITY_TYPE).map_err(|e| Rejection::new(400, "payloadType", e.to_string()))?;
    let st = Statement::parse(&payload).map_err(|e| Rejection::new(400, "payload", e.to_string()))?;
    // The operator's self-registration is checked with the key it carries.
    let key = match &st {
        Statement::RegisterOperator { key, .. } => {
            verifier::identity::decode_key(key).map_err(|e| Rejection::new(400, "payload.key", e.to_string()))?
        }
        _ => book
            .valid_at(&keyid, at)
            .map_err(|e| Rejection::new(403, "signatures[0].keyid", e.to_string()))?
            .verifying_key(),
    };
    envelope.open(IDENTITY_TYPE, &key).map_err(|e| Rejection::new(400, "signatures[0].sig", e.to_string()))?;
    book.check(&st, &keyid, at).map_err(|e| {
        let status =
            if matches!(e, IdentityError::Malformed(_) | IdentityError::BadKey | IdentityError::RefusedKey { .. }) {
                400
            } else {
                403
            };
        Rejection::new(status, "payload", e.to_string())
    })?;
    Ok(st)
}

fn apply_identity(
    book: &mut KeyBook,
    index: u64,
    header: &EntryHeader,
    content: &EntryContent,
) -> Result<(), RegistryError> {
    let (payload, _) = content
        .envelope
        .decode(IDENTITY_TYPE)
        .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
    let st = Statement::parse(&payload).map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
    book.apply(&st, &header.author, index)
        .map_err(|e| RegistryError::Inconsistent { index, problem: format!("identity statement does not apply: {e}") })
}
