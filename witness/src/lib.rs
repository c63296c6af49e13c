//! A C2SP tlog-witness (<https://c2sp.org/tlog-witness>): a server that cosigns a log's
//! checkpoints only when each one grows the tree it cosigned before, so that a log cannot show
//! one history to a firm and another to a court (a split view) without a witness noticing.
//!
//! In creditlog the witnesses are bodies the public already trusts: a court, the provincial
//! credit centre, the discipline inspection commission. Each runs `creditlog witness` with its
//! own key, registered on the log as a witness role key (invariant 8).
//!
//! **The protocol** (tlog-witness, the text at C2SP commit 5ba5ee8):
//! - `POST /add-checkpoint`: the body is `old <size>\n`, at most 63 base64 consistency-proof
//!   lines, an empty line, then a signed checkpoint. The answers:
//!   - 404 for an origin the witness does not witness;
//!   - 403 when no signature by the log's key is on it, or one by that key does not verify;
//!   - 400 for a malformed body or an old size above the checkpoint's size;
//!   - 409 with the witness's own size (`text/x.tlog.size`) when the old size is not the size it
//!     last cosigned;
//!   - 422 when the proof does not show consistency, or the root differs from the one cosigned
//!     at the same size (tlog-witness v1.0.0 answered 409 there; the latest text answers 422,
//!     which this follows), or a size-0 checkpoint is not the empty tree;
//!   - 200 with one `cosignature/v1` line (Ed25519, C2SP tlog-cosignature).
//! - `GET /<hex SHA-256 of the origin>/checkpoint`: the newest checkpoint it cosigned, with the
//!   log's signature and its own cosignature; 404 before the first.
//!
//! **Never two trees of one size.** For each log the witness keeps the newest checkpoint it
//! cosigned in `DIR/logs/<hex SHA-256 of the origin>`. The check of the old size and the write of
//! the new state are one step under that log's lock (a compare-and-swap on the size), and the
//! state is on disk (written to a temporary file, `fdatasync`, renamed over the old one, the
//! directory synced) before the cosignature leaves the process. After a crash the witness starts
//! from the last state it made durable, which is at least the newest tree it ever cosigned.
//!
//! **Evidence.** A validly signed checkpoint that fails a consistency check is proof that the
//! log equivocated or lost data; the witness appends it to `DIR/evidence` (it MAY, by the spec)
//! before answering 422.

use base64::prelude::*;
use ed25519_dalek::{Signer as _, SigningKey};
use sha2::{Digest, Sha256};
use signed_note::{Note, StandardVerifier, VerifierList};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tlog_tiles::{Checkpoint, Hash};

pub use verifier::witness::{AddCheckpoint, MAX_BODY, MAX_PROOF_LINES};

/// Why a witness refused a checkpoint: the HTTP status of tlog-witness and a sentence naming
/// the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 400: the body is not an old-size line, proof lines, an empty line and a note, or the old
    /// size is above the checkpoint's.
    #[error("400 Bad Request: {0}")]
    BadRequest(String),
    /// 403: no valid signature by the log's key.
    #[error("403 Forbidden: {0}")]
    Forbidden(String),
    /// 404: an origin this witness does not witness.
    #[error("404 Not Found: {0}")]
    UnknownLog(String),
    /// 409: the old size is not the size this witness last cosigned; carries that size.
    #[error("409 Conflict: this witness last cosigned size {0} of this log; send a proof from there")]
    Conflict(u64),
    /// 422: the checkpoint does not grow the tree this witness cosigned.
    #[error("422 Unprocessable Entity: {0}")]
    Inconsistent(String),
}

fn bad(detail: impl Into<String>) -> Refusal {
    Refusal::BadRequest(detail.into())
}

impl Refusal {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::Forbidden(_) => 403,
            Refusal::UnknownLog(_) => 404,
            Refusal::Conflict(_) => 409,
            Refusal::Inconsistent(_) => 422,
        }
    }
}

/// A failure of the witness's own storage: nothing was cosigned.
#[derive(Debug, thiserror::Error)]
#[error("the witness could not keep its state in {path}: {source}")]
pub struct StateError {
    path: PathBuf,
    source: std::io::Error,
}

/// The hex SHA-256 of an origin: the name of its state file and of its monitoring path.
pub fn origin_hash(origin: &str) -> String {
    hex::encode(Sha256::digest(origin.as_bytes()))
}

/// What the witness keeps of one log: the newest checkpoint it cosigned.
#[derive(Debug, Clone)]
struct Latest {
    size: u64,
    root: Hash,
    /// The checkpoint with the log's signature and this witness's cosignature.
    note: Vec<u8>,
}

/// One witnessed log.
struct Witnessed {
    /// The log's verifier keys (`name+id+base64`), any of which may sign.
    vkeys: Vec<String>,
    latest: Mutex<Option<Latest>>,
}

/// A witness: its key, the logs it witnesses, and its durable state.
pub struct Witness {
    name: String,
    key: SigningKey,
    key_id: u32,
    dir: PathBuf,
    logs: BTreeMap<String, Witnessed>,
    evidence: Mutex<()>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness").field("name", &self.name).field("logs", &self.logs.keys()).finish_non_exhaustive()
    }
}

fn io(path: &Path, source: std::io::Error) -> StateError {
    StateError { path: path.to_owned(), source }
}

/// Writes `bytes` to `path` so that after a crash the file holds either its old or its new
/// bytes, whole: a temporary file, `fdatasync`, rename, directory `fsync`.
fn replace_durably(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let dir = path.parent().expect("a state file is in a directory");
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(|e| io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| io(&tmp, e))?;
    f.sync_data().map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))
}

impl Witness {
    /// Opens (or creates) a witness named `name` with `key`, keeping its state in `dir`, for the
    /// logs whose verifier keys are `log_vkeys` (the key name is the log's origin, as C2SP
    /// tlog-checkpoint requires; several keys of one origin are all trusted).
    ///
    /// # Errors
    ///
    /// A malformed name or key, or state that cannot be read.
    pub fn open(name: &str, key: SigningKey, dir: &Path, log_vkeys: &[String]) -> Result<Self, String> {
        if !signed_note::is_key_name_valid(name) {
            return Err(format!("{name:?} is not a valid key name (no spaces or '+')"));
        }
        let mut logs: BTreeMap<String, Witnessed> = BTreeMap::new();
        for vkey in log_vkeys {
            let v = StandardVerifier::new(vkey).map_err(|e| format!("log key {vkey:?}: {e}"))?;
            let origin = signed_note::Verifier::name(&v).to_owned();
            logs.entry(origin)
                .or_insert_with(|| Witnessed { vkeys: Vec::new(), latest: Mutex::new(None) })
                .vkeys
                .push(vkey.clone());
        }
        let states = dir.join("logs");
        std::fs::create_dir_all(&states).map_err(|e| format!("{}: {e}", states.display()))?;
        for (origin, w) in &logs {
            let path = states.join(origin_hash(origin));
            match std::fs::read(&path) {
                Ok(note) => {
                    let n = Note::from_bytes(&note).map_err(|e| format!("{}: {e}", path.display()))?;
                    let cp = Checkpoint::from_bytes(n.text())
                        .map_err(|_| format!("{}: not a checkpoint", path.display()))?;
                    *w.latest.lock().expect("lock") = Some(Latest { size: cp.size(), root: *cp.hash(), note });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
        let key_id = verifier::policy::cosignature_key_id(name, &key.verifying_key().to_bytes());
        Ok(Self { name: name.to_owned(), key, key_id, dir: dir.to_owned(), logs, evidence: Mutex::new(()) })
    }

    /// The witness's verifier key, `name+hexid+base64(0x04 || public key)`: what a log's policy
    /// and `creditlog verify --policy` name it by.
    pub fn verifier_key(&self) -> String {
        verifier::policy::witness_verifier_key(&self.name, &self.key.verifying_key().to_bytes())
    }

    /// The origins it witnesses.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.logs.keys().map(String::as_str)
    }

    /// The size of the newest checkpoint of `origin` it cosigned (0 if none).
    pub fn size(&self, origin: &str) -> Option<u64> {
        let w = self.logs.get(origin)?;
        Some(w.latest.lock().expect("lock").as_ref().map_or(0, |l| l.size))
    }

    /// The newest checkpoint it cosigned for the origin whose hex SHA-256 is `hash`, with the
    /// log's signature and its cosignature.
    pub fn latest_by_hash(&self, hash: &str) -> Option<Vec<u8>> {
        let (_, w) = self.logs.iter().find(|(o, _)| origin_hash(o) == hash)?;
        let latest = w.latest.lock().expect("lock");
        latest.as_ref().map(|l| l.note.clone())
    }

    /// The `cosignature/v1` line on the checkpoint text `text` at `time` (seconds since the
    /// epoch), with its newline.
    pub fn cosign(&self, text: &[u8], time: u64) -> String {
        let mut msg = format!("cosignature/v1\ntime {time}\n").into_bytes();
        msg.extend_from_slice(text);
        let sig = self.key.sign(&msg);
        let mut raw = Vec::with_capacity(76);
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&time.to_be_bytes());
        raw.extend_from_slice(&sig.to_bytes());
        format!("— {} {}\n", self.name, BASE64_STANDARD.encode(raw))
    }

    /// Handles an `add-checkpoint` request at `time` (seconds since the epoch, above 0): the
    /// cosignature lines, or the refusal with its status.
    ///
    /// # Errors
    ///
    /// The outer error is the witness's own storage failing (answer 500, nothing cosigned);
    /// the inner one a refusal by the protocol's rules.
    pub fn add_checkpoint(&self, body: &[u8], time: u64) -> Result<Result<String, Refusal>, StateError> {
        let req = match AddCheckpoint::parse(body) {
            Ok(r) => r,
            Err(e) => return Ok(Err(bad(e))),
        };
        let note = match Note::from_bytes(&req.checkpoint) {
            Ok(n) => n,
            Err(e) => return Ok(Err(bad(format!("the checkpoint is not a signed note: {e}")))),
        };
        let cp = match Checkpoint::from_bytes(note.text()) {
            Ok(c) => c,
            Err(_) => {
                return Ok(Err(bad("the signed text is not a checkpoint (origin line, tree size, base64 root hash)")))
            }
        };
        let Some(w) = self.logs.get(cp.origin()) else {
            return Ok(Err(Refusal::UnknownLog(format!("this witness does not witness the log {:?}", cp.origin()))));
        };
        let verifiers: Vec<Box<dyn signed_note::Verifier>> = w
            .vkeys
            .iter()
            .map(|k| Box::new(StandardVerifier::new(k).expect("checked at open")) as Box<dyn signed_note::Verifier>)
            .collect();
        if let Err(e) = note.verify(&VerifierList::new(verifiers)) {
            return Ok(Err(Refusal::Forbidden(format!(
                "the checkpoint carries no valid signature by the key of {}: {e}",
                cp.origin()
            ))));
        }
        let (size, root) = (cp.size(), *cp.hash());
        if req.old_size > size {
            return Ok(Err(bad(format!("the old size {} is above the checkpoint's size {size}", req.old_size))));
        }
        // The compare-and-swap: checked and made durable under the log's lock.
        let mut latest = w.latest.lock().expect("lock");
        let (have_size, have_root) = latest.as_ref().map_or((0, tlog_tiles::EMPTY_HASH), |l| (l.size, l.root));
        if req.old_size != have_size {
            return Ok(Err(Refusal::Conflict(have_size)));
        }
        let consistent = if req.old_size == 0 && !req.proof.is_empty() {
            Err("from size 0 the consistency proof must be empty".to_owned())
        } else if size == 0 {
            if root == tlog_tiles::EMPTY_HASH {
                Ok(())
            } else {
                Err("a checkpoint of size 0 must have the root of the empty tree (SHA-256 of nothing)".to_owned())
            }
        } else if req.old_size == 0 {
            Ok(())
        } else if req.old_size == size {
            if root != have_root {
                Err(format!(
                    "this witness cosigned a different tree of the same size {size} (root {}); the log has forked",
                    BASE64_STANDARD.encode(have_root.0)
                ))
            } else if !req.proof.is_empty() {
                Err("between two trees of the same size the consistency proof must be empty".to_owned())
            } else {
                Ok(())
            }
        } else {
            verifier::verify_consistency(req.old_size, have_root, size, root, &req.proof).map_err(|_| {
                format!(
                    "the consistency proof does not show that the tree of size {size} extends the tree of size {} this witness cosigned",
                    req.old_size
                )
            })
        };
        if let Err(why) = consistent {
            self.keep_evidence(&req.checkpoint, &why);
            return Ok(Err(Refusal::Inconsistent(why)));
        }
        let line = self.cosign(note.text(), time);
        let mut stored = req.checkpoint.clone();
        stored.extend_from_slice(line.as_bytes());
        replace_durably(&self.dir.join("logs").join(origin_hash(cp.origin())), &stored)?;
        *latest = Some(Latest { size, root, note: stored });
        Ok(Ok(line))
    }

    /// Appends a validly signed checkpoint that failed a consistency check to `DIR/evidence`,
    /// until the file holds [`MAX_EVIDENCE_BYTES`]: one such checkpoint already proves the fork,
    /// and a log's key holder sending forks must not fill the witness's disk.
    fn keep_evidence(&self, checkpoint: &[u8], why: &str) {
        let _one = self.evidence.lock().expect("lock");
        let path = self.dir.join("evidence");
        if std::fs::metadata(&path).is_ok_and(|m| m.len() >= MAX_EVIDENCE_BYTES) {
            tracing::warn!(path = %path.display(), "the evidence file is full: this inconsistent checkpoint is refused but not kept");
            return;
        }
        let kept = OpenOptions::new().create(true).append(true).open(&path).and_then(|mut f| {
            let mut entry = format!("# refused: {why}\n").into_bytes();
            entry.extend_from_slice(checkpoint);
            entry.extend_from_slice(b"\n");
            f.write_all(&entry)?;
            f.sync_data()
        });
        if let Err(e) = kept {
            tracing::error!(path = %path.display(), error = %e, "could not keep the evidence of an inconsistent checkpoint");
        }
    }
}

/// How much evidence of forks a witness keeps (`DIR/evidence`), in bytes: 64 MiB.
pub const MAX_EVIDENCE_BYTES: u64 = 64 << 20;

/// The witness's HTTP routes: `POST /add-checkpoint` and `GET /<origin hash>/checkpoint`.
pub fn router(witness: Arc<Witness>) -> axum::Router {
    use axum::body::Bytes;
    use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
    use axum::http::{header, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::{get, post};

    async fn add(State(w): State<Arc<Witness>>, body: Bytes) -> Response {
        let time = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs().max(1));
        let answer = tokio::task::spawn_blocking(move || w.add_checkpoint(&body, time)).await;
        match answer {
            Ok(Ok(Ok(lines))) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], lines).into_response(),
            Ok(Ok(Err(Refusal::Conflict(size)))) => {
                (StatusCode::CONFLICT, [(header::CONTENT_TYPE, "text/x.tlog.size")], format!("{size}\n"))
                    .into_response()
            }
            Ok(Ok(Err(r))) => {
                let status = StatusCode::from_u16(r.status()).expect("a valid status");
                (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{r}\n")).into_response()
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "witness state");
                (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}; nothing was cosigned\n")).into_response()
            }
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        }
    }

    async fn latest(State(w): State<Arc<Witness>>, UrlPath((hash, file)): UrlPath<(String, String)>) -> Response {
        if file != "checkpoint" {
            return StatusCode::NOT_FOUND.into_response();
        }
        match w.latest_by_hash(&hash) {
            Some(note) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response(),
            None => (StatusCode::NOT_FOUND, "this witness has cosigned no checkpoint of that log\n").into_response(),
        }
    }

    axum::Router::new()
        .route("/add-checkpoint", post(add))
        .route("/{hash}/{file}", get(latest))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(witness)
}

#[cfg(test)]
mod tests;
