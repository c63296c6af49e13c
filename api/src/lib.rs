//! The creditlog HTTP server.
//!
//! Log side, exactly per C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>), tile height 8:
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /checkpoint` | the latest signed checkpoint, `text/plain` |
//! | `GET /tile/<L>/<N>[.p/<W>]` | a hash tile |
//! | `GET /tile/entries/<N>[.p/<W>]` | an entry bundle |
//!
//! JSON conveniences under `/v1/`: `GET /v1/log`, `GET /v1/proof/inclusion?index=I&size=N`,
//! `GET /v1/proof/consistency?from=M&to=N`, `GET /v1/checkpoints/{size}`. Errors are RFC 9457
//! `application/problem+json` documents naming the parameter and the rule it broke.
//!
//! Authentication is by extractors ([`extract`]); what a request may cost (body sizes, deadlines,
//! requests in flight, idle connections) is in [`extract`] and [`serve`].

pub mod auth;
pub mod extract;
mod problem;
pub mod serve;

pub use problem::Problem;
pub use serve::{serve, Limits};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::prelude::*;
use extract::{MaybeSigned, Signed, SignedBody};
use extract::{IDENTITY_BODY_LIMIT, RAW_APPEND_BODY_LIMIT, RECORDS_BODY_LIMIT, SIGNED_BODY_LIMIT};
use ledger::{LedgerError, Log};
use registry::{Outcome, Registry, RegistryError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use verifier::envelope::Envelope;
use verifier::identity::Principal;
use verifier::{Hash, TilePath};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The log this server serves.
    pub log: Log,
    /// Whether `POST /v1/log/entries` (unauthenticated raw appends) is enabled; the registry is
    /// then off (a ledger-only server for ledger tests and benchmarks).
    pub raw_append: bool,
    /// The credit registry over the log (absent in ledger-only mode).
    pub registry: Option<Registry>,
    /// Nonces of accepted request signatures, kept durably until the signatures expire.
    pub nonces: Arc<auth::NonceCache>,
    /// How old a request signature's `created` may be, seconds ([`auth::REPLAY_WINDOW`]).
    pub signature_window: u64,
    /// Deadlines and requests in flight.
    pub limits: Limits,
    /// One permit per request in flight.
    pub in_flight: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// A server for `log`, with the registry if given, keeping the nonces of signed requests in
    /// `data/nonces.log` (see [`auth::NonceCache`]).
    ///
    /// # Errors
    ///
    /// If the nonce file cannot be opened or rewritten.
    pub fn new(
        log: Log,
        registry: Option<Registry>,
        raw_append: bool,
        data: &std::path::Path,
    ) -> std::io::Result<Self> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let nonces = Arc::new(auth::NonceCache::open(data, now)?);
        Ok(Self {
            log,
            raw_append,
            registry,
            nonces,
            signature_window: auth::REPLAY_WINDOW,
            limits: Limits::default(),
            in_flight: Arc::new(tokio::sync::Semaphore::new(serve::MAX_IN_FLIGHT)),
        })
    }

    /// The same state with other limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.in_flight = Arc::new(tokio::sync::Semaphore::new(limits.max_in_flight));
        self.limits = limits;
        self
    }
}

/// The router of the whole server.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .route("/v1/log", get(log_info))
        .route("/v1/log/entries", post(raw_append))
        .route("/v1/proof/inclusion", get(inclusion))
        .route("/v1/proof/consistency", get(consistency))
        .route("/v1/checkpoints/{size}", get(checkpoint_at))
        .route("/v1/records", post(submit_records))
        .route("/v1/identities", post(submit_identity))
        .route("/v1/entries/{index}", get(read_entry))
        .route("/v1/enterprises/{uscc}/history", get(history))
        .route("/v1/keys/{keyid}", get(key_info))
        .route("/v1/models", post(publish_model))
        .route("/v1/models/{hash}", get(model_file))
        .route("/v1/regrade", post(regrade))
        .route("/v1/enterprises/{uscc}", get(grades))
        .route("/v1/enterprises/{uscc}/bundle", get(bundle))
        .route("/v1/enterprises/{uscc}/reads", get(reads))
        .route("/v1/stats/grades", get(grade_stats))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), serve::limit_cost))
        .with_state(state)
}

async fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "No such resource",
        "there is nothing at this path; see the README for the endpoints",
    )
}

fn b64(h: &Hash) -> String {
    BASE64_STANDARD.encode(h.0)
}

async fn checkpoint(State(s): State<AppState>) -> Response {
    let cp = s.log.latest();
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        cp.note.to_vec(),
    )
        .into_response()
}

async fn tile(State(s): State<AppState>, Path(rest): Path<String>) -> Result<Response, Problem> {
    let path = format!("tile/{rest}");
    let tile = TilePath::parse(&path).map_err(|e| {
        Problem::new(StatusCode::BAD_REQUEST, "tile-path", "Malformed tile path", format!("{path}: {e}"))
            .with_field("path")
    })?;
    let data = s.log.read_tile(tile).map_err(Problem::from)?.ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "tile-not-found",
            "Tile not available",
            format!("{path} is not covered by the latest checkpoint (tree size {})", s.log.latest().size),
        )
    })?;
    let cache = if tile.partial.is_none() {
        // Full tiles never change (C2SP tlog-tiles).
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=60"
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream")),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        data,
    )
        .into_response())
}

/// `GET /v1/log`.
#[derive(Debug, Serialize, Deserialize)]
pub struct LogInfo {
    /// Origin line of the checkpoints.
    pub origin: String,
    /// Signed-note verifier key, `name+hash+base64`.
    pub verifier_key: String,
    /// Size of the latest checkpoint.
    pub size: u64,
    /// Root hash of the latest checkpoint, base64.
    pub root_hash: String,
}

async fn log_info(State(s): State<AppState>) -> Json<LogInfo> {
    let cp = s.log.latest();
    Json(LogInfo {
        origin: s.log.origin().to_owned(),
        verifier_key: s.log.verifier_key().to_owned(),
        size: cp.size,
        root_hash: b64(&cp.root),
    })
}

fn param(q: &HashMap<String, String>, name: &'static str) -> Result<u64, Problem> {
    let raw = q.get(name).ok_or_else(|| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "missing-parameter",
            "Missing parameter",
            format!("query parameter {name} is required"),
        )
        .with_field(name)
    })?;
    let canonical =
        !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) && !(raw.len() > 1 && raw.starts_with('0'));
    raw.parse::<u64>().ok().filter(|_| canonical).ok_or_else(|| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-parameter",
            "Malformed parameter",
            format!("{name}={raw:?} is not a decimal integer from 0 to 18446744073709551615"),
        )
        .with_field(name)
    })
}

/// `GET /v1/proof/inclusion`.
#[derive(Debug, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Entry index.
    pub index: u64,
    /// Tree size the proof is for.
    pub size: u64,
    /// Root hash of that tree, base64 (check it against a signed checkpoint).
    pub root_hash: String,
    /// Sibling hashes from the leaf up, base64 (RFC 6962 order).
    pub proof: Vec<String>,
}

async fn inclusion(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<InclusionProof>, Problem> {
    let index = param(&q, "index")?;
    let size = param(&q, "size")?;
    let proof = s.log.inclusion_proof(index, size)?;
    let root = s.log.tree_hash(size)?;
    Ok(Json(InclusionProof { index, size, root_hash: b64(&root), proof: proof.iter().map(b64).collect() }))
}

/// `GET /v1/proof/consistency`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// Older tree size.
    pub from: u64,
    /// Newer tree size.
    pub to: u64,
    /// Proof hashes, base64 (RFC 6962 order).
    pub proof: Vec<String>,
}

async fn consistency(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<ConsistencyProof>, Problem> {
    let from = param(&q, "from")?;
    let to = param(&q, "to")?;
    let proof = s.log.consistency_proof(from, to)?;
    Ok(Json(ConsistencyProof { from, to, proof: proof.iter().map(b64).collect() }))
}

async fn checkpoint_at(State(s): State<AppState>, Path(size): Path<String>) -> Result<Response, Problem> {
    let mut q = HashMap::new();
    q.insert("size".to_owned(), size);
    let size = param(&q, "size")?;
    let note = s.log.checkpoint_at(size)?.ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "checkpoint-not-found",
            "No checkpoint of that size",
            format!("the log published no checkpoint at tree size {size}"),
        )
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
        ],
        note,
    )
        .into_response())
}

/// `POST /v1/log/entries` body.
#[derive(Debug, Serialize, Deserialize)]
pub struct RawEntries {
    /// Entries, base64.
    pub entries: Vec<String>,
}

/// `POST /v1/log/entries` answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Appended {
    /// Index of the first entry; the others follow in order.
    pub first_index: u64,
    /// Number of entries appended.
    pub count: u64,
}

async fn raw_append(State(s): State<AppState>, req: axum::extract::Request) -> Result<Json<Appended>, Problem> {
    if !s.raw_append {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "raw-append-disabled",
            "Raw appends are disabled",
            "this server does not accept unauthenticated raw entries; start it with --raw-append for ledger tests and benchmarks",
        ));
    }
    let (parts, body) = req.into_parts();
    let body = extract::read_body(body, &parts.headers, RAW_APPEND_BODY_LIMIT, s.limits.body_read_timeout).await?;
    let req: RawEntries = serde_json::from_slice(&body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-json",
            "Malformed request body",
            format!("expected {{\"entries\": [base64, ...]}}: {e}"),
        )
    })?;
    let mut entries = Vec::with_capacity(req.entries.len());
    for (i, e) in req.entries.iter().enumerate() {
        entries.push(BASE64_STANDARD.decode(e).map_err(|err| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "bad-base64",
                "Malformed entry",
                format!("entries[{i}] is not standard base64: {err}"),
            )
            .with_field(format!("entries[{i}]"))
        })?);
    }
    let count = entries.len() as u64;
    let first_index = s.log.append(entries).await?;
    Ok(Json(Appended { first_index, count }))
}

impl From<LedgerError> for Problem {
    fn from(e: LedgerError) -> Self {
        let detail = e.to_string();
        match e {
            LedgerError::EntrySize { position, .. } => {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "entry-size", "Entry size out of range", detail)
                    .with_field(format!("entries[{position}]"))
            }
            LedgerError::EmptyBatch => {
                Problem::new(StatusCode::BAD_REQUEST, "empty-batch", "Empty batch", detail).with_field("entries")
            }
            LedgerError::IndexOutOfRange { .. } => {
                Problem::new(StatusCode::BAD_REQUEST, "index-out-of-range", "Index out of range", detail)
                    .with_field("index")
            }
            LedgerError::SizeBeyondCheckpoint { .. } => Problem::new(
                StatusCode::BAD_REQUEST,
                "size-beyond-checkpoint",
                "Tree size beyond the latest checkpoint",
                detail,
            ),
            LedgerError::ZeroSize(field) => {
                Problem::new(StatusCode::BAD_REQUEST, "zero-size", "Empty tree", detail).with_field(field)
            }
            LedgerError::FromAfterTo { .. } => {
                Problem::new(StatusCode::BAD_REQUEST, "from-after-to", "from is larger than to", detail)
                    .with_field("from")
            }
            LedgerError::Stopped(_) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "log-stopped", "The log is not accepting entries", detail)
            }
            other => {
                tracing::error!(error = %other, "internal error");
                Problem::internal()
            }
        }
    }
}

pub(crate) fn registry(s: &AppState) -> Result<&Registry, Problem> {
    s.registry.as_ref().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "registry-off",
            "Registry is off",
            "this server runs the ledger alone (--raw-append); records and identities are not served",
        )
    })
}

impl From<RegistryError> for Problem {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Forbidden(detail) => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", "Not entitled", detail)
            }
            RegistryError::NoEntry { .. } => {
                Problem::new(StatusCode::NOT_FOUND, "no-entry", "No such entry", e.to_string()).with_field("index")
            }
            RegistryError::Ledger(l) => Problem::from(l),
            RegistryError::NoModel(_) => {
                Problem::new(StatusCode::NOT_FOUND, "no-model", "No such model", e.to_string()).with_field("model")
            }
            RegistryError::NoGrader(_) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "no-grader", "No grader key", e.to_string())
            }
            other => {
                tracing::error!(error = %other, "registry failure");
                Problem::internal()
            }
        }
    }
}

/// `POST /v1/records` body.
#[derive(Debug, Serialize, Deserialize)]
pub struct RecordBatch {
    /// DSSE envelopes of department-signed records.
    pub records: Vec<Envelope>,
}

/// Most records in one request.
pub const MAX_RECORDS_PER_REQUEST: usize = 10_000;

async fn submit_records(
    State(s): State<AppState>,
    SignedBody { principal, body }: SignedBody<RECORDS_BODY_LIMIT>,
) -> Result<Response, Problem> {
    if !matches!(principal, Principal::Department(_)) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "not-a-department",
            "Only departments submit records",
            format!(
                "records are submitted by departments (谁产生、谁提供、谁负责); this request is signed by {principal}"
            ),
        ));
    }
    let batch: RecordBatch = serde_json::from_slice(&body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-json",
            "Malformed request body",
            format!("expected {{\"records\": [DSSE envelope, ...]}}: {e}"),
        )
        .with_field("records")
    })?;
    if batch.records.len() > MAX_RECORDS_PER_REQUEST {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-many-records",
            "Too many records",
            format!("{} records in one request; send at most {MAX_RECORDS_PER_REQUEST}", batch.records.len()),
        )
        .with_field("records"));
    }
    let results = registry(&s)?.submit_records(batch.records).await?;
    Ok(Json(serde_json::json!({ "results": results })).into_response())
}

async fn submit_identity(
    State(s): State<AppState>,
    SignedBody { body, .. }: SignedBody<IDENTITY_BODY_LIMIT>,
) -> Result<Response, Problem> {
    // Every statement needs a signed request by a key on the log; the operator's own
    // registration is appended by the registry at its first start.
    let envelope: Envelope = serde_json::from_slice(&body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-json",
            "Malformed request body",
            format!("expected a DSSE envelope: {e}"),
        )
    })?;
    match registry(&s)?.submit_identity(envelope).await? {
        Outcome::Appended { index } => {
            Ok(Json(serde_json::json!({ "outcome": "appended", "index": index })).into_response())
        }
        Outcome::Duplicate { index } => {
            Ok(Json(serde_json::json!({ "outcome": "duplicate", "index": index })).into_response())
        }
        Outcome::Rejected(r) => Err(rejected(r, "identity-rejected", "Identity statement refused")),
    }
}

/// A refused submission as problem+json: the type names the authority rule when there is one
/// (`/problems/retraction-by-author`), else `slug`.
fn rejected(r: registry::Rejection, slug: &str, title: &str) -> Problem {
    Problem::new(
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST),
        r.rule_name.unwrap_or(slug),
        title,
        r.rule,
    )
    .with_field(r.field)
}

pub(crate) fn parse_index(raw: &str) -> Result<u64, Problem> {
    let mut q = HashMap::new();
    q.insert("index".to_owned(), raw.to_owned());
    param(&q, "index")
}

async fn read_entry(
    State(s): State<AppState>,
    extract::IndexPath(index): extract::IndexPath,
    MaybeSigned(caller): MaybeSigned,
) -> Result<Response, Problem> {
    let view = registry(&s)?.entry(index, caller.as_ref())?;
    Ok(Json(view).into_response())
}

/// Entries in one page of `GET /v1/enterprises/{uscc}/history` unless `limit` says otherwise.
pub const HISTORY_PAGE_DEFAULT: u64 = 1_000;
/// Most entries in one page of `GET /v1/enterprises/{uscc}/history`.
pub const HISTORY_PAGE_MAX: u64 = 10_000;

/// `GET /v1/enterprises/{uscc}/history?after=INDEX&limit=N`: the entries with index above `after`
/// (all if absent), oldest first, at most `limit`; `next` is the `after` of the next page, or null
/// on the last. Every page is proved against a checkpoint that covers it.
async fn history(
    State(s): State<AppState>,
    extract::EnterprisePath(uscc): extract::EnterprisePath,
    Query(q): Query<HashMap<String, String>>,
    Signed(caller): Signed,
) -> Result<Response, Problem> {
    let after = if q.contains_key("after") { Some(param(&q, "after")?) } else { None };
    let limit = if q.contains_key("limit") { param(&q, "limit")? } else { HISTORY_PAGE_DEFAULT };
    if !(1..=HISTORY_PAGE_MAX).contains(&limit) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-parameter",
            "Page size out of range",
            format!("limit={limit} must be from 1 to {HISTORY_PAGE_MAX}"),
        )
        .with_field("limit"));
    }
    let reg = registry(&s)?;
    let mut entries = reg.history(uscc.as_str(), &caller)?;
    entries.retain(|e| after.is_none_or(|a| e.index > a));
    let more = entries.len() as u64 > limit;
    entries.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = if more { entries.last().map(|e| e.index) } else { None };
    // Prove against a checkpoint that covers every entry returned.
    let cp = s.log.wait_for_checkpoint(entries.last().map_or(0, |e| e.index + 1)).await?;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let proof = s.log.inclusion_proof(e.index, cp.size)?;
        out.push(serde_json::json!({ "index": e.index, "header": e.header, "content": e.content, "proof": proof.iter().map(b64).collect::<Vec<_>>() }));
    }
    Ok(Json(serde_json::json!({
        "uscc": uscc.as_str(),
        "checkpoint": String::from_utf8_lossy(&cp.note),
        "size": cp.size,
        "entries": out,
        "next": next,
    }))
    .into_response())
}

/// `GET /v1/keys/{keyid}`: a registered key and its life on the log. Keys of departments, the
/// operator and role holders are public, so anyone can check a signature; enterprise keys are not
/// listed (the binding names the USCC).
async fn key_info(State(s): State<AppState>, Path(keyid): Path<String>) -> Result<Response, Problem> {
    let book = registry(&s)?.key_book();
    let not_found = || {
        Problem::new(
            StatusCode::NOT_FOUND,
            "no-key",
            "No such public key",
            format!("no public key {keyid} is registered on this log"),
        )
        .with_field("keyid")
    };
    let k = book.keys.get(&keyid).ok_or_else(not_found)?;
    if matches!(k.principal, Principal::Enterprise(_)) {
        return Err(not_found());
    }
    Ok(Json(serde_json::json!({
        "key_id": keyid,
        "public_key": BASE64_STANDARD.encode(k.public),
        "principal": k.principal,
        "holder": k.principal.to_string(),
        "registered_at_entry": k.registered,
        "revoked_at_entry": k.revoked,
    }))
    .into_response())
}

fn require(principal: &Principal, allowed: impl Fn(&Principal) -> bool, what: &str) -> Result<(), Problem> {
    if allowed(principal) {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not entitled",
            format!("{what}; this request is signed by {principal}"),
        ))
    }
}

fn is_grading_authority(p: &Principal) -> bool {
    matches!(p, Principal::Role(verifier::identity::Role::GradingAuthority, _))
}

fn is_supervisor(p: &Principal) -> bool {
    use verifier::identity::Role;
    matches!(
        p,
        Principal::Department(_)
            | Principal::Role(Role::GradingAuthority | Role::Auditor | Role::Court, _)
            | Principal::Operator
    )
}

async fn publish_model(
    State(s): State<AppState>,
    SignedBody { principal, body }: SignedBody<SIGNED_BODY_LIMIT>,
) -> Result<Response, Problem> {
    require(&principal, is_grading_authority, "scoring models are published by the grading authority")?;
    let envelope: Envelope = serde_json::from_slice(&body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-json",
            "Malformed request body",
            format!("expected a DSSE envelope of the model file: {e}"),
        )
    })?;
    match registry(&s)?.publish_model(envelope).await? {
        Outcome::Appended { index } | Outcome::Duplicate { index } => {
            let hash =
                registry(&s)?.models().into_iter().find(|(_, m)| m.index == index).map(|(h, _)| h).unwrap_or_default();
            Ok(Json(serde_json::json!({ "index": index, "model": hash })).into_response())
        }
        Outcome::Rejected(r) => Err(rejected(r, "model-rejected", "Model refused")),
    }
}

async fn model_file(State(s): State<AppState>, Path(hash): Path<String>) -> Result<Response, Problem> {
    let reg = registry(&s)?;
    let pm = reg.models().get(&hash).cloned().ok_or_else(|| RegistryError::NoModel(hash.clone()))?;
    let view = reg.entry(pm.index, None)?;
    let payload = BASE64_STANDARD.decode(&view.content.envelope.payload).map_err(|_| Problem::internal())?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/toml; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
        ],
        payload,
    )
        .into_response())
}

/// `POST /v1/regrade`: the body is a re-grading order signed by the grading authority (a DSSE
/// envelope of `{"type": "creditlog.regrade-order/v1", "model": hash, "as_of": "YYYY-MM-DD"}`,
/// payload type `application/vnd.creditlog.order+json`); the order is logged and the run's
/// decisions cite it.
async fn regrade(
    State(s): State<AppState>,
    SignedBody { principal, body }: SignedBody<SIGNED_BODY_LIMIT>,
) -> Result<Response, Problem> {
    require(&principal, is_grading_authority, "re-grading is ordered by the grading authority")?;
    let order: Envelope = serde_json::from_slice(&body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-json",
            "Malformed request body",
            format!("expected a re-grading order signed by the grading authority (a DSSE envelope): {e}"),
        )
    })?;
    match registry(&s)?.regrade(order, &|_, _| {}).await? {
        Ok((summary, index)) => Ok(Json(serde_json::json!({ "summary": summary, "index": index })).into_response()),
        Err(r) => Err(rejected(r, "order-rejected", "Re-grading order refused")),
    }
}

/// `GET /v1/enterprises/{uscc}`: the firm's current grades. The firm, the grading authority,
/// auditors and courts get the full decision; departments get the class and score only (the
/// decision's list of entries would tell them which log entries are about the firm). Every
/// read by someone other than the firm is journalled.
async fn grades(
    State(s): State<AppState>,
    extract::EnterprisePath(uscc): extract::EnterprisePath,
    Signed(caller): Signed,
) -> Result<Response, Problem> {
    let view = registry::access::grade_view(&caller, uscc.as_str())?;
    let reg = registry(&s)?;
    reg.journal_read(
        uscc.as_str(),
        &caller,
        if view == registry::access::GradeView::Full { "decision" } else { "grade" },
    )?;
    let mut out = Vec::new();
    for g in reg.current_grades(uscc.as_str())? {
        let mut v = serde_json::json!({ "model": g.model, "class": g.class, "score": g.score, "as_of": g.as_of });
        if view == registry::access::GradeView::Full {
            v["decision_index"] = g.decision.into();
            v["decision"] = serde_json::to_value(reg.decision(g.decision)?).map_err(|_| Problem::internal())?;
        }
        out.push(v);
    }
    Ok(Json(serde_json::json!({ "uscc": uscc.as_str(), "grades": out })).into_response())
}

/// `GET /v1/enterprises/{uscc}/bundle[?upto=INDEX][&since=SIZE]`: the firm's evidence bundle
/// (`docs/BUNDLE.md`), for the firm itself, auditors and courts.
async fn bundle(
    State(s): State<AppState>,
    extract::EnterprisePath(uscc): extract::EnterprisePath,
    Query(q): Query<HashMap<String, String>>,
    Signed(caller): Signed,
) -> Result<Response, Problem> {
    let upto = if q.contains_key("upto") { Some(param(&q, "upto")?) } else { None };
    let since = if q.contains_key("since") { Some(param(&q, "since")?) } else { None };
    let b = registry(&s)?.bundle(uscc.as_str(), &caller, upto, since).await?;
    Ok(Json(b).into_response())
}

/// `GET /v1/enterprises/{uscc}/reads`: who read the firm's class, decisions, history or bundle,
/// and when; for the firm itself, auditors and courts.
async fn reads(
    State(s): State<AppState>,
    extract::EnterprisePath(uscc): extract::EnterprisePath,
    Signed(caller): Signed,
) -> Result<Response, Problem> {
    registry::access::may_read_history(&caller, uscc.as_str())?;
    let reads = registry(&s)?.reads(uscc.as_str())?;
    Ok(Json(serde_json::json!({ "uscc": uscc.as_str(), "reads": reads })).into_response())
}

async fn grade_stats(State(s): State<AppState>, Signed(caller): Signed) -> Result<Response, Problem> {
    require(&caller, is_supervisor, "the class distribution is internal to supervising departments")?;
    let reg = registry(&s)?;
    let models = reg.models();
    let stats = reg.grade_stats()?;
    let mut out = Vec::new();
    for (hash, counts) in stats {
        let total: u64 = counts.values().sum();
        let classes: Vec<serde_json::Value> = models.get(&hash).map(|m| m.model.classes.clone()).unwrap_or_default().iter().map(|c| {
            let n = counts.get(&c.label).copied().unwrap_or(0);
            // Per mille, integer: no floats in anything a court may recompute.
            serde_json::json!({ "class": c.label, "name": c.name, "firms": n, "per_mille": (n * 1000).checked_div(total).unwrap_or(0) })
        }).collect();
        out.push(serde_json::json!({ "model": hash, "id": models.get(&hash).map(|m| m.model.id.clone()), "firms": total, "classes": classes }));
    }
    Ok(Json(serde_json::json!({ "models": out })).into_response())
}
