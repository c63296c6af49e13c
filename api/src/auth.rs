//! Request authentication: RFC 9421 HTTP Message Signatures with Ed25519, and RFC 9530
//! `Content-Digest` for bodies. Every write, and every read of private data, is signed by a key
//! that is on the log.
//!
//! A signed request carries:
//!
//! ```text
//! Content-Digest: sha-256=:<base64 SHA-256 of the body>:
//! Signature-Input: sig1=("@method" "@path" "@query" "content-digest");created=<unix seconds>;nonce="<random>";keyid="<key id>";alg="ed25519"
//! Signature: sig1=:<base64 Ed25519 signature of the signature base>:
//! ```
//!
//! The signature base (RFC 9421 §2.5) is one line per covered component and a last line with
//! the parameters, joined by `\n`, no trailing newline:
//!
//! ```text
//! "@method": POST
//! "@path": /v1/records
//! "@query": ?
//! "content-digest": sha-256=:...:
//! "@signature-params": ("@method" "@path" "@query" "content-digest");created=...;nonce="...";keyid="...";alg="ed25519"
//! ```
//!
//! Time and replay (RFC 9421 §7.2.2, §7.2.3): the server accepts a signature whose `created` is
//! at most [`MAX_FUTURE_SKEW`] (30 s) ahead of its clock and at most [`REPLAY_WINDOW`] (300 s)
//! behind it, and whose nonce it has not seen before. A signature can therefore be accepted
//! until `created + REPLAY_WINDOW`, and its nonce is remembered exactly that long; the
//! [`NonceCache`] writes each nonce to `DATA/nonces.log` and `fdatasync`s it before the request
//! is accepted, so a restart does not reopen the window. Concurrent requests' nonces share one
//! `fdatasync` (group commit, on a writer thread, while the requests await it). GET requests cover
//! `"@method" "@path" "@query"`; requests with a body must also cover `content-digest`.
//!
//! The Ed25519 signature is checked by [`verifier::signature::verify`], the one acceptance rule
//! for every creditlog signature (docs/FORMAT.md §8): the same rule as for envelopes.

use base64::prelude::*;
use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use verifier::signature::SignatureError;

/// How far in the past a signature's `created` may be, seconds: a signature is accepted until
/// `created + REPLAY_WINDOW`.
pub const REPLAY_WINDOW: u64 = 300;

/// How far ahead of the server's clock a signature's `created` may be, seconds. Small, because a
/// `created` in the future lengthens the time the signature is accepted.
pub const MAX_FUTURE_SKEW: u64 = 30;

/// Name of the nonce file in the data folder.
pub const NONCE_FILE: &str = "nonces.log";

/// Why a request signature was not accepted; each message is one plain sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No Signature-Input / Signature headers.
    #[error("this request must be signed by a key on the log (HTTP Message Signatures, RFC 9421: Signature-Input and Signature headers)")]
    Missing,
    /// Header syntax.
    #[error("the {0} header is malformed")]
    Malformed(&'static str),
    /// A component that must be covered is not.
    #[error("the signature must cover {0}")]
    Uncovered(&'static str),
    /// Too old.
    #[error("the signature was created at {created}, more than {window} seconds from the server's time {now}; sign the request again")]
    Stale {
        /// Signature's created.
        created: u64,
        /// Server time.
        now: u64,
        /// Allowed age.
        window: u64,
    },
    /// `created` is ahead of the server's clock by more than the allowed skew.
    #[error("created is {} s in the future; the server's clock is {now}; allowed skew is {skew} s; check the signer's clock", created - now)]
    Future {
        /// Signature's created.
        created: u64,
        /// Server time.
        now: u64,
        /// Allowed skew.
        skew: u64,
    },
    /// Nonce seen before.
    #[error("replayed request: nonce {0:?} was already used")]
    Replay(String),
    /// Content-Digest does not match the body.
    #[error("the Content-Digest header does not match the request body")]
    Digest,
    /// Signature does not verify.
    #[error("the signature does not verify with key {0}")]
    BadSignature(String),
    /// The key or the signature breaks a clause of the acceptance rule other than the equation.
    #[error("the signature by key {keyid} is refused: {reason}")]
    Refused {
        /// The key id.
        keyid: String,
        /// The clause it breaks.
        #[source]
        reason: SignatureError,
    },
    /// The key does not count.
    #[error("{0}")]
    Key(String),
    /// The nonce could not be written durably, so the request cannot be accepted.
    #[error("the server could not record the request's nonce; try again")]
    NonceStore,
}

/// `sha-256=:<base64>:` for a body.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", BASE64_STANDARD.encode(Sha256::digest(body)))
}

fn signature_base(method: &str, path: &str, query: &str, digest: Option<&str>, params: &str) -> String {
    let mut base = format!("\"@method\": {method}\n\"@path\": {path}\n\"@query\": ?{query}\n");
    if let Some(d) = digest {
        base.push_str(&format!("\"content-digest\": {d}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {params}"));
    base
}

/// Headers that sign a request: `(name, value)` pairs to add.
pub fn sign_request(
    method: &str,
    path: &str,
    query: &str,
    body: Option<&[u8]>,
    key: &SigningKey,
    created: u64,
    nonce: &str,
) -> Vec<(&'static str, String)> {
    let keyid = verifier::envelope::key_id(&key.verifying_key());
    let digest = body.map(content_digest);
    let components = if digest.is_some() {
        "(\"@method\" \"@path\" \"@query\" \"content-digest\")"
    } else {
        "(\"@method\" \"@path\" \"@query\")"
    };
    let params = format!("{components};created={created};nonce=\"{nonce}\";keyid=\"{keyid}\";alg=\"ed25519\"");
    let base = signature_base(method, path, query, digest.as_deref(), &params);
    let sig = key.sign(base.as_bytes());
    let mut headers = vec![
        ("signature-input", format!("sig1={params}")),
        ("signature", format!("sig1=:{}:", BASE64_STANDARD.encode(sig.to_bytes()))),
    ];
    if let Some(d) = digest {
        headers.push(("content-digest", d));
    }
    headers
}

/// A parsed, not yet verified, signature.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    /// The key id.
    pub keyid: String,
    params: String,
    covers_digest: bool,
    created: u64,
    nonce: String,
    signature: [u8; 64],
}

fn param<'a>(params: &'a str, name: &str) -> Option<&'a str> {
    params.split(';').skip(1).find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
}

/// Parses the `Signature-Input` and `Signature` headers.
///
/// # Errors
///
/// [`AuthError`] naming the header or component.
pub fn parse(signature_input: Option<&str>, signature: Option<&str>) -> Result<SignedRequest, AuthError> {
    let (Some(input), Some(sig)) = (signature_input, signature) else { return Err(AuthError::Missing) };
    let (label, params) = input.split_once('=').ok_or(AuthError::Malformed("Signature-Input"))?;
    let sig = sig
        .strip_prefix(label)
        .and_then(|s| s.strip_prefix("=:"))
        .and_then(|s| s.strip_suffix(':'))
        .ok_or(AuthError::Malformed("Signature"))?;
    let signature: [u8; 64] =
        BASE64_STANDARD.decode(sig).ok().and_then(|s| s.try_into().ok()).ok_or(AuthError::Malformed("Signature"))?;
    let components = params.split(';').next().unwrap_or_default();
    for c in ["\"@method\"", "\"@path\"", "\"@query\""] {
        if !components.contains(c) {
            return Err(AuthError::Uncovered(c));
        }
    }
    let covers_digest = components.contains("\"content-digest\"");
    let expected = if covers_digest {
        "(\"@method\" \"@path\" \"@query\" \"content-digest\")"
    } else {
        "(\"@method\" \"@path\" \"@query\")"
    };
    if components != expected {
        return Err(AuthError::Malformed(
            "Signature-Input (components must be listed as @method @path @query [content-digest])",
        ));
    }
    let unquote = |v: &str| v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).map(str::to_owned);
    let created = param(params, "created")
        .and_then(|v| v.parse().ok())
        .ok_or(AuthError::Malformed("Signature-Input (created)"))?;
    let nonce = param(params, "nonce")
        .and_then(unquote)
        .filter(|n| (8..=128).contains(&n.len()))
        .ok_or(AuthError::Malformed("Signature-Input (nonce of 8 to 128 characters)"))?;
    let keyid = param(params, "keyid").and_then(unquote).ok_or(AuthError::Malformed("Signature-Input (keyid)"))?;
    if param(params, "alg").and_then(unquote).as_deref() != Some("ed25519") {
        return Err(AuthError::Malformed("Signature-Input (alg must be \"ed25519\")"));
    }
    Ok(SignedRequest { keyid, params: params.to_owned(), covers_digest, created, nonce, signature })
}

/// Nonces of accepted signatures, each kept until the signature expires (`created +
/// REPLAY_WINDOW`).
///
/// Durability contract: when opened on a file ([`NonceCache::open`]), [`SignedRequest::verify`]
/// returns `Ok` only after the nonce's line is written and `fdatasync`ed, so a nonce that was
/// accepted is refused again after a crash, a power loss or a restart. The file is append-only
/// text, one `EXPIRES HEX(NONCE)` line per nonce; a torn last line (a crash during the write) was
/// never acknowledged and is skipped on open. (A crash during a batch's write may also leave
/// whole lines of that batch before the torn one: those nonces were never acknowledged either,
/// and are refused until they expire, which costs nothing.) Opening rewrites the file without
/// expired nonces (write a temporary file, `fdatasync`, rename, `fsync` the folder), and so does
/// the writer once the appends since the last rewrite reach the larger of [`COMPACT_AFTER`] and
/// the number of nonces that rewrite kept. The same discipline as the log's own files, and
/// unlike sled, whose flush is not power-loss safe. [`NonceCache::default`] is in memory, for tests.
///
/// Group commit, as the log's sequencer does for entries (`ledger::Log::append`): a request
/// first claims its nonce in memory, under a short lock (a nonce already claimed, whether
/// durable or still on its way to the disk, is a replay, so two requests with one nonce are
/// never both accepted, in one batch or in two), then hands the nonce to one writer thread and
/// awaits its acknowledgement. The writer takes every nonce queued while the previous
/// `fdatasync` ran, appends their lines with one write and makes them durable with one
/// `fdatasync`, then acknowledges them all: the disk wait is on that thread, never on a tokio
/// worker, and its cost is shared by the batch. After a failed write or sync the writer refuses
/// every later nonce until a restart (as the log's committer does): the file may then end in a
/// torn line, which the next open skips.
#[derive(Debug, Default)]
pub struct NonceCache {
    /// Nonce to the time its signature expires: every nonce claimed, durable or queued.
    seen: Arc<Mutex<HashMap<String, u64>>>,
    /// The writer thread, when the nonces are kept in a file.
    writer: Option<Writer>,
    /// On a cluster: the nonces are claimed in PostgreSQL, so that a signature accepted by one
    /// node is a replay on every other.
    shared: Option<Arc<cluster::Coordinator>>,
}

/// Appends to the nonce file between two compactions, at least.
pub const COMPACT_AFTER: u64 = 100_000;

/// Most nonces made durable by one `fdatasync`.
pub const MAX_NONCE_BATCH: usize = 4096;

/// Nonces queued for the writer at most; a request beyond it waits for room.
const NONCE_QUEUE: usize = 16_384;

/// A claimed nonce on its way to the file; `ack` says whether it is durable.
#[derive(Debug)]
struct Pending {
    nonce: String,
    expires: u64,
    now: u64,
    ack: oneshot::Sender<bool>,
}

#[derive(Debug)]
struct Writer {
    tx: Option<mpsc::Sender<Pending>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Writer {
    /// Stops the writer after the nonces already queued, and waits for it, so the file can be
    /// reopened at once.
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Appends `EXPIRES HEX(NONCE)\n` to `out`.
fn push_line(out: &mut Vec<u8>, nonce: &str, expires: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(expires.to_string().as_bytes());
    out.push(b' ');
    for b in nonce.as_bytes() {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0xf)]);
    }
    out.push(b'\n');
}

fn unhex(s: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = s
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair).ok().filter(|p| p.len() == 2).and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect();
    String::from_utf8(bytes?).ok()
}

impl NonceCache {
    /// Opens (or creates) the nonce file `DATA/nonces.log`, keeping the nonces that have not
    /// expired at `now` and rewriting the file with only those, and starts its writer thread.
    ///
    /// # Errors
    ///
    /// If the file cannot be read, written or synced, or the thread cannot be started.
    pub fn open(data: &Path, now: u64) -> std::io::Result<Self> {
        let path = data.join(NONCE_FILE);
        let mut seen = HashMap::new();
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        // Only lines ended by a newline count: a torn last line (a crash mid-write) was never
        // acknowledged.
        let mut lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
        lines.pop();
        for line in lines {
            let parsed = std::str::from_utf8(line).ok().and_then(|l| {
                let (expires, nonce) = l.split_once(' ')?;
                Some((expires.parse::<u64>().ok()?, unhex(nonce)?))
            });
            match parsed {
                Some((expires, nonce)) if expires >= now => {
                    seen.insert(nonce, expires);
                }
                Some(_) => {}
                None => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{} has a malformed line; it holds only lines `EXPIRES HEX(NONCE)`", path.display()),
                    ))
                }
            }
        }
        let file = rewrite(&path, &seen)?;
        let durable = seen.clone();
        let seen = Arc::new(Mutex::new(seen));
        let (tx, rx) = mpsc::channel(NONCE_QUEUE);
        let shared = seen.clone();
        let thread = std::thread::Builder::new()
            .name("nonce-writer".into())
            .spawn(move || write_nonces(rx, &path, file, durable, &shared))?;
        Ok(Self { seen, writer: Some(Writer { tx: Some(tx), thread: Some(thread) }), shared: None })
    }

    /// Records `nonce` until `expires`, or refuses it if it is already recorded; returns once
    /// the nonce is durable (see the type's docs).
    async fn record(&self, nonce: &str, expires: u64, now: u64) -> Result<(), AuthError> {
        {
            let mut seen = self.seen.lock().map_err(|_| AuthError::NonceStore)?;
            if seen.get(nonce).is_some_and(|e| *e >= now) {
                return Err(AuthError::Replay(nonce.to_owned()));
            }
            // Claimed now, before it is durable: a second request with this nonce is a replay
            // even while the first waits for the disk. If the write fails the claim stays, and
            // the nonce is refused until it expires, like one that was accepted.
            seen.insert(nonce.to_owned(), expires);
        }
        if let Some(coord) = &self.shared {
            let (coord, n) = (coord.clone(), nonce.to_owned());
            let claimed = tokio::task::spawn_blocking(move || coord.claim_nonce(&n, expires, now))
                .await
                .map_err(|_| AuthError::NonceStore)?;
            return match claimed {
                Ok(true) => Ok(()),
                Ok(false) => Err(AuthError::Replay(nonce.to_owned())),
                Err(e) => {
                    tracing::error!(error = %e, "could not claim a request nonce in PostgreSQL");
                    Err(AuthError::NonceStore)
                }
            };
        }
        let Some(tx) = self.writer.as_ref().and_then(|w| w.tx.as_ref()) else { return Ok(()) };
        let (ack, durable) = oneshot::channel();
        tx.send(Pending { nonce: nonce.to_owned(), expires, now, ack }).await.map_err(|_| AuthError::NonceStore)?;
        match durable.await {
            Ok(true) => Ok(()),
            _ => Err(AuthError::NonceStore),
        }
    }

    /// Nonces claimed in the cluster's PostgreSQL ([`cluster::Coordinator::claim_nonce`]),
    /// remembered by every node; nothing is written to a file.
    pub fn shared(coord: Arc<cluster::Coordinator>) -> Self {
        Self { seen: Arc::default(), writer: None, shared: Some(coord) }
    }

    /// How many nonces are remembered (durable or on their way to the file).
    pub fn len(&self) -> usize {
        self.seen.lock().map_or(0, |s| s.len())
    }

    /// Whether no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The writer thread: take every nonce queued (up to [`MAX_NONCE_BATCH`]), append them with one
/// write, `fdatasync` once, acknowledge them all. After a failure it refuses everything: the
/// file may end in a torn line until a restart skips it.
///
/// It keeps its own map of the nonces in the file (`durable`, moved in from the requests, so
/// the request path pays nothing for it), from which it compacts once the appends since the last
/// compaction reach [`COMPACT_AFTER`] and the number of nonces it kept then: the file stays
/// within about twice what it must hold, and each append pays for a bounded share of rewriting.
fn write_nonces(
    mut rx: mpsc::Receiver<Pending>,
    path: &Path,
    mut file: File,
    mut durable: HashMap<String, u64>,
    seen: &Mutex<HashMap<String, u64>>,
) {
    let mut failed = false;
    let mut appended = 0u64;
    let mut kept = durable.len() as u64;
    let mut buf = Vec::new();
    let mut batch = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_NONCE_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        if failed {
            for p in batch.drain(..) {
                let _ = p.ack.send(false);
            }
            continue;
        }
        buf.clear();
        let mut now = 0;
        for p in &batch {
            push_line(&mut buf, &p.nonce, p.expires);
            now = now.max(p.now);
        }
        let written = file.write_all(&buf).and_then(|()| file.sync_data());
        if let Err(e) = &written {
            tracing::error!(error = %e, path = %path.display(), "writing nonces; signed requests are refused until restarted");
            failed = true;
        }
        appended += batch.len() as u64;
        for Pending { nonce, expires, ack, .. } in batch.drain(..) {
            let _ = ack.send(written.is_ok());
            durable.insert(nonce, expires);
        }
        if !failed && appended >= COMPACT_AFTER.max(kept) {
            // `durable` holds every nonce acknowledged so far; nonces queued after this batch
            // are appended to the new file.
            durable.retain(|_, e| *e >= now);
            match rewrite(path, &durable) {
                Ok(new) => file = new,
                // The old file is still whole (rename is atomic); keep appending to it.
                Err(e) => tracing::error!(error = %e, path = %path.display(), "compacting the nonce file"),
            }
            appended = 0;
            kept = durable.len() as u64;
            // Forget expired nonces in memory too (one pass under the lock, no allocation).
            if let Ok(mut s) = seen.lock() {
                s.retain(|_, e| *e >= now);
            }
        }
    }
}

/// Writes `seen` to a new file that replaces `path` atomically and durably; returns it open for
/// appending.
fn rewrite(path: &Path, seen: &HashMap<String, u64>) -> std::io::Result<File> {
    let tmp = path.with_extension("log.tmp");
    let mut f = File::create(&tmp)?;
    let mut text = Vec::new();
    for (nonce, expires) in seen {
        push_line(&mut text, nonce, *expires);
    }
    f.write_all(&text)?;
    f.sync_data()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    OpenOptions::new().append(true).open(path)
}

impl SignedRequest {
    /// Verifies the signature over this request with the public key `key` (its 32 bytes; the rule decodes and checks it) under the acceptance rule, checks
    /// the time (at most [`MAX_FUTURE_SKEW`] ahead of `now`, at most `window` behind), the digest
    /// and the nonce (recording it durably until `created + window`).
    ///
    /// # Errors
    ///
    /// The first check that fails: [`AuthError::BadSignature`] if the equation fails,
    /// [`AuthError::Refused`] for a small-order or non-canonical key, `R` or `S`.
    #[allow(clippy::too_many_arguments)]
    pub async fn verify(
        &self,
        method: &str,
        path: &str,
        query: &str,
        body: &[u8],
        digest_header: Option<&str>,
        key: &[u8; 32],
        now: u64,
        window: u64,
        nonces: &NonceCache,
    ) -> Result<(), AuthError> {
        if self.created > now + MAX_FUTURE_SKEW {
            return Err(AuthError::Future { created: self.created, now, skew: MAX_FUTURE_SKEW });
        }
        if now.saturating_sub(self.created) > window {
            return Err(AuthError::Stale { created: self.created, now, window });
        }
        if !body.is_empty() && !self.covers_digest {
            return Err(AuthError::Uncovered("\"content-digest\""));
        }
        let digest = if self.covers_digest {
            let d = digest_header.ok_or(AuthError::Malformed("Content-Digest"))?;
            if d != content_digest(body) {
                return Err(AuthError::Digest);
            }
            Some(d)
        } else {
            None
        };
        let base = signature_base(method, path, query, digest, &self.params);
        verifier::signature::verify(key, base.as_bytes(), &self.signature).map_err(|reason| match reason {
            SignatureError::Equation => AuthError::BadSignature(self.keyid.clone()),
            reason => AuthError::Refused { keyid: self.keyid.clone(), reason },
        })?;
        // Remembered for as long as this signature could be accepted.
        nonces.record(&self.nonce, self.created + window, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sign_then_verify_and_every_failure() {
        let key = SigningKey::from_bytes(&[5u8; 32]);
        let body = br#"{"records":[]}"#;
        let headers = sign_request("POST", "/v1/records", "", Some(body), &key, 1000, "nonce-0001");
        let get = |n: &str| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
        let req = parse(get("signature-input"), get("signature")).unwrap();
        let nonces = NonceCache::default();
        let vk = key.verifying_key().to_bytes();
        assert_eq!(
            req.verify("POST", "/v1/records", "", body, get("content-digest"), &vk, 1100, 300, &NonceCache::default())
                .await,
            Ok(())
        );
        assert_eq!(
            req.verify("POST", "/v1/other", "", body, get("content-digest"), &vk, 1100, 300, &nonces).await,
            Err(AuthError::BadSignature(req.keyid.clone()))
        );
        assert_eq!(
            req.verify("POST", "/v1/records", "", b"{}", get("content-digest"), &vk, 1100, 300, &nonces).await,
            Err(AuthError::Digest)
        );
        assert!(matches!(
            req.verify("POST", "/v1/records", "", body, get("content-digest"), &vk, 2000, 300, &nonces).await,
            Err(AuthError::Stale { .. })
        ));
        req.verify("POST", "/v1/records", "", body, get("content-digest"), &vk, 1000, 300, &nonces).await.unwrap();
        assert_eq!(
            req.verify("POST", "/v1/records", "", body, get("content-digest"), &vk, 1000, 300, &nonces).await,
            Err(AuthError::Replay("nonce-0001".into()))
        );
        assert_eq!(parse(None, None).unwrap_err(), AuthError::Missing);
    }

    fn signed(created: u64, nonce: &str) -> (SignedRequest, Vec<(&'static str, String)>, [u8; 32]) {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let headers = sign_request("POST", "/v1/records", "", Some(b"{}"), &key, created, nonce);
        let get = |n: &str| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
        let req = parse(get("signature-input").as_deref(), get("signature").as_deref()).unwrap();
        (req, headers, key.verifying_key().to_bytes())
    }

    fn digest<'a>(headers: &'a [(&'static str, String)]) -> Option<&'a str> {
        headers.iter().find(|(k, _)| *k == "content-digest").map(|(_, v)| v.as_str())
    }

    #[tokio::test]
    async fn created_in_the_future_is_refused_beyond_the_skew() {
        let (req, h, vk) = signed(10_000, "future-0001");
        let (req, h, vk) = (&req, &h, &vk);
        let check = |now| async move {
            req.verify("POST", "/v1/records", "", b"{}", digest(h), vk, now, 300, &NonceCache::default()).await
        };
        // 31 s ahead: refused, naming the numbers.
        let err = check(10_000 - 31).await.unwrap_err();
        assert_eq!(err, AuthError::Future { created: 10_000, now: 9_969, skew: MAX_FUTURE_SKEW });
        assert_eq!(
            err.to_string(),
            "created is 31 s in the future; the server's clock is 9969; allowed skew is 30 s; check the signer's clock"
        );
        // Exactly the skew ahead, and the whole window behind, are accepted; one more second is not.
        assert_eq!(check(10_000 - 30).await, Ok(()));
        assert_eq!(check(10_300).await, Ok(()));
        assert!(matches!(check(10_301).await, Err(AuthError::Stale { .. })));
    }

    #[tokio::test]
    async fn nonces_survive_a_reopen_until_their_signature_expires() {
        let dir = tempfile::tempdir().unwrap();
        let (req, h, vk) = signed(5_000, "durable-0001");
        let nonces = NonceCache::open(dir.path(), 5_000).unwrap();
        req.verify("POST", "/v1/records", "", b"{}", digest(&h), &vk, 5_000, 300, &nonces).await.unwrap();
        drop(nonces);
        // A restart within the window: the same request is a replay.
        let reopened = NonceCache::open(dir.path(), 5_100).unwrap();
        assert_eq!(
            req.verify("POST", "/v1/records", "", b"{}", digest(&h), &vk, 5_100, 300, &reopened).await,
            Err(AuthError::Replay("durable-0001".into()))
        );
        drop(reopened);
        // A torn last line (a crash mid-write, no newline) is skipped; the lines before it count.
        let path = dir.path().join(NONCE_FILE);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"5300 6e6f").unwrap();
        drop(f);
        let reopened = NonceCache::open(dir.path(), 5_200).unwrap();
        assert_eq!(reopened.len(), 1);
        drop(reopened);
        // Once the signature has expired, opening prunes the nonce from the file.
        drop(NonceCache::open(dir.path(), 5_301).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_nonces_are_each_accepted_once_and_survive_a_reopen() {
        // 200 nonces, each sent twice at once by 400 tasks: the writer batches what arrives
        // together, and each nonce is accepted exactly once, whether its twin is in the same
        // batch, a later one, or still waiting for the disk.
        const N: usize = 200;
        let dir = tempfile::tempdir().unwrap();
        let nonces = Arc::new(NonceCache::open(dir.path(), 5_000).unwrap());
        let requests: Vec<_> = (0..N).map(|i| Arc::new(signed(5_000, &format!("concurrent-{i:04}")))).collect();
        let mut tasks = Vec::new();
        for _ in 0..2 {
            for (i, r) in requests.iter().enumerate() {
                let (r, nonces) = (r.clone(), nonces.clone());
                tasks.push(tokio::spawn(async move {
                    let (req, h, vk) = &*r;
                    (i, req.verify("POST", "/v1/records", "", b"{}", digest(h), vk, 5_000, 300, &nonces).await)
                }));
            }
        }
        let mut accepted = vec![0; N];
        for t in tasks {
            match t.await.unwrap() {
                (i, Ok(())) => accepted[i] += 1,
                (i, Err(e)) => assert_eq!(e, AuthError::Replay(format!("concurrent-{i:04}"))),
            }
        }
        assert!(accepted.iter().all(|a| *a == 1), "each nonce accepted exactly once: {accepted:?}");
        drop(nonces);
        // Every accepted nonce is on disk, once: a restart refuses each of them.
        let text = std::fs::read_to_string(dir.path().join(NONCE_FILE)).unwrap();
        assert_eq!(text.lines().count(), N);
        let reopened = NonceCache::open(dir.path(), 5_100).unwrap();
        assert_eq!(reopened.len(), N);
        for (i, r) in requests.iter().enumerate() {
            let (req, h, vk) = &**r;
            assert_eq!(
                req.verify("POST", "/v1/records", "", b"{}", digest(h), vk, 5_100, 300, &reopened).await,
                Err(AuthError::Replay(format!("concurrent-{i:04}")))
            );
        }
        // A new nonce still goes through after the reopen.
        let (req, h, vk) = signed(5_100, "after-reopen");
        assert_eq!(req.verify("POST", "/v1/records", "", b"{}", digest(&h), &vk, 5_100, 300, &reopened).await, Ok(()));
    }

    #[tokio::test]
    async fn a_request_signed_with_a_non_canonical_s_is_refused() {
        // S + L verifies like S in the equation; the rule refuses it (docs/FORMAT.md §8,
        // clause 4), so a captured request cannot be re-sent with other signature bytes.
        let key = SigningKey::from_bytes(&[5u8; 32]);
        let body = br#"{"records":[]}"#;
        let headers = sign_request("POST", "/v1/records", "", Some(body), &key, 1000, "nonce-0002");
        let get = |n: &str| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
        let good = parse(get("signature-input"), get("signature")).unwrap();
        let sig = verifier::signature::with_s_plus_order(&good.signature);
        let malleated = format!("sig1=:{}:", BASE64_STANDARD.encode(sig));
        let req = parse(get("signature-input"), Some(&malleated)).unwrap();
        let vk = key.verifying_key().to_bytes();
        let nonces = NonceCache::default();
        assert_eq!(
            req.verify("POST", "/v1/records", "", body, get("content-digest"), &vk, 1000, 300, &nonces).await,
            Err(AuthError::Refused { keyid: req.keyid.clone(), reason: SignatureError::ScalarNotCanonical })
        );
        // The refused request recorded no nonce: the honest one still goes through.
        assert_eq!(
            good.verify("POST", "/v1/records", "", body, get("content-digest"), &vk, 1000, 300, &nonces).await,
            Ok(())
        );
    }
}
