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
//!
//! Routes by flow, mirroring the registry:
//!
//! | module | routes |
//! | --- | --- |
//! | `tlog` | `/checkpoint`, `/tile/...`, `/v1/log`, `/v1/proof/...`, `/v1/checkpoints/{size}`, `/v1/log/entries` |
//! | `identities` | `POST /v1/identities`, `GET /v1/keys/{keyid}` |
//! | `intake` | `POST /v1/records`, `POST /v1/records/check` |
//! | `imports` | `POST /v1/imports/read` (the portal's import: an export read into payloads to sign) |
//! | `directory` | `GET /v1/firms` (find a firm by name) |
//! | `portal` | `GET /`, `GET /portal/...` (the browser portal's pages) |
//! | `history` | `GET /v1/entries/{index}`, `GET /v1/enterprises/{uscc}/history` |
//! | `grading` | `POST /v1/models`, `GET /v1/models/{hash}`, `POST /v1/regrade`, `GET /v1/regrade/jobs/{id}`, `GET /v1/enterprises/{uscc}`, `GET /v1/stats/grades` |
//! | `evidence` | `GET /v1/enterprises/{uscc}/bundle`, `GET /v1/enterprises/{uscc}/reads` |
//! | `objections`, `repairs`, `commitments` | `POST /v1/{objections,repairs,commitments}`, their lists, `GET /v1/repair-rules` |
//! | `disclosure` | `GET /v1/enterprises/{uscc}/disclosure` |
//! | `redactions` | `POST /v1/redactions`, `GET /v1/enterprises/{uscc}/redactions`, `GET /v1/retention-rules` |
//! | `warnings` | `GET /v1/warnings`, `POST /v1/warnings/acknowledgements`, `GET /v1/enterprises/{uscc}/warnings` |
//! | `plans` | `POST /v1/plans`, `POST /v1/draws`, `GET /v1/plans[/{index}[/population,/draw,/bundle,/results]]`, `GET /v1/visits`, `GET /v1/stats/supervision`, `GET /v1/supervision-rules` |
//! | `sanctions` | `POST /v1/sanctions`, `GET /v1/enterprises/{uscc}/sanctions`, `GET /v1/check`, `GET /v1/enterprises/{uscc}/checks` |

pub mod auth;
pub mod cluster;
mod commitments;
mod directory;
mod disclosure;
mod evidence;
pub mod extract;
pub mod federation;
mod grading;
mod history;
mod identities;
mod imports;
mod intake;
pub mod metrics;
mod objections;
pub mod openapi;
mod plans;
mod portal;
mod problem;
mod redactions;
mod repairs;
mod sanctions;
pub mod serve;
mod tlog;
mod warnings;

pub use directory::{Directory, SEARCH_LIMIT};
pub use history::{HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX};
pub use intake::{RecordBatch, MAX_RECORDS_PER_REQUEST};
pub use problem::Problem;
pub use serve::{serve, Limits};
pub(crate) use tlog::{b64, param};
pub use tlog::{Appended, ConsistencyProof, InclusionProof, LogInfo, RawEntries};

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
    /// The firm directory (`DATA/firms.csv`), for finding a firm by name.
    pub directory: Arc<Directory>,
    /// On a provincial server: the city logs it federates ([`federation`]).
    pub federation: Option<Arc<federation::Federation>>,
    /// On an API node of a cluster: how it reaches the sequencer ([`cluster`]).
    pub forward: Option<Arc<cluster::Forward>>,
    /// Request counters for `/metrics` ([`metrics`]).
    pub metrics: Arc<metrics::Metrics>,
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
            directory: Arc::new(Directory::open(data)?),
            federation: None,
            forward: None,
            metrics: Arc::default(),
        })
    }

    /// The same state as a node of a cluster: request nonces are claimed in its PostgreSQL.
    #[must_use]
    pub fn with_shared_nonces(mut self, coord: Arc<::cluster::Coordinator>) -> Self {
        self.nonces = Arc::new(auth::NonceCache::shared(coord));
        self
    }

    /// The same state serving as an API node of a cluster, passing writes to the sequencer.
    #[must_use]
    pub fn with_forward(mut self, forward: Arc<cluster::Forward>) -> Self {
        self.forward = Some(forward);
        self
    }

    /// The same state serving as a provincial log over `federation`.
    #[must_use]
    pub fn with_federation(mut self, federation: Arc<federation::Federation>) -> Self {
        self.federation = Some(federation);
        self
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
        .route("/checkpoint", get(tlog::checkpoint))
        .route("/tile/{*path}", get(tlog::tile))
        .route("/v1/log", get(tlog::log_info))
        .route("/v1/log/entries", post(tlog::raw_append))
        .route("/v1/proof/inclusion", get(tlog::inclusion))
        .route("/v1/proof/consistency", get(tlog::consistency))
        .route("/v1/checkpoints/{size}", get(tlog::checkpoint_at))
        .route("/v1/records", post(intake::submit_records))
        .route("/v1/records/check", post(intake::check_records))
        .route("/v1/identities", post(identities::submit_identity))
        .route("/v1/entries/{index}", get(history::read_entry))
        .route("/v1/enterprises/{uscc}/history", get(history::history))
        .route("/v1/keys/{keyid}", get(identities::key_info))
        .route("/v1/jurisdiction", get(identities::jurisdiction))
        .route("/v1/objections", post(objections::submit).get(objections::list))
        .route("/v1/enterprises/{uscc}/objections", get(objections::of_firm))
        .route("/v1/repairs", post(repairs::submit).get(repairs::list))
        .route("/v1/enterprises/{uscc}/repairs", get(repairs::of_firm))
        .route("/v1/repair-rules", get(repairs::rules))
        .route("/v1/enterprises/{uscc}/disclosure", get(disclosure::disclosure))
        .route("/v1/commitments", post(commitments::submit).get(commitments::list))
        .route("/v1/enterprises/{uscc}/commitments", get(commitments::of_firm))
        .route("/v1/redactions", post(redactions::submit))
        .route("/v1/enterprises/{uscc}/redactions", get(redactions::of_firm))
        .route("/v1/retention-rules", get(redactions::rules))
        .route("/v1/plans", post(plans::submit_plan).get(plans::list))
        .route("/v1/draws", post(plans::submit_draw))
        .route("/v1/plans/{index}", get(plans::one))
        .route("/v1/plans/{index}/population", get(plans::population))
        .route("/v1/plans/{index}/draw", get(plans::draw))
        .route("/v1/plans/{index}/bundle", get(plans::bundle))
        .route("/v1/plans/{index}/results", get(plans::results))
        .route("/v1/supervision-rules", get(plans::rules))
        .route("/v1/visits", get(plans::visits))
        .route("/v1/warnings", get(warnings::list))
        .route("/v1/warnings/acknowledgements", post(warnings::acknowledge))
        .route("/v1/enterprises/{uscc}/warnings", get(warnings::of_firm))
        .route("/v1/stats/supervision", get(plans::stats))
        .route("/v1/sanctions", post(sanctions::submit))
        .route("/v1/enterprises/{uscc}/sanctions", get(sanctions::of_firm))
        .route("/v1/check", get(sanctions::check))
        .route("/v1/enterprises/{uscc}/checks", get(sanctions::checks))
        .route("/v1/models", post(grading::publish_model))
        .route("/v1/models/{hash}", get(grading::model_file))
        .route("/v1/regrade", post(grading::regrade))
        .route("/v1/regrade/jobs/{id}", get(grading::regrade_job))
        .route("/v1/enterprises/{uscc}", get(grading::grades))
        .route("/v1/enterprises/{uscc}/bundle", get(evidence::bundle))
        .route("/v1/enterprises/{uscc}/reads", get(evidence::reads))
        .route("/v1/heads", get(evidence::heads))
        .route("/v1/federation", get(federation::status))
        .route("/v1/heads/{index}/leaves", get(evidence::heads_leaves))
        .route("/v1/stats/grades", get(grading::grade_stats))
        .route("/v1/firms", get(directory::search))
        .route("/v1/imports/read", post(imports::read))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/metrics", get(metrics::metrics))
        .route("/", get(portal::index))
        .route("/portal/{*path}", get(portal::asset))
        .fallback(not_found)
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(axum::middleware::from_fn_with_state(state.clone(), cluster::forward))
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
            LedgerError::Follower => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "follower",
                "This node does not append to the log",
                detail,
            ),
            LedgerError::NotCosigned { .. } => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not-cosigned",
                "Not yet cosigned by the witnesses (见证人未联署)",
                detail,
            ),
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
            RegistryError::NotFound(detail) => Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail),
            RegistryError::Ledger(l) => Problem::from(l),
            RegistryError::NoModel(_) => {
                Problem::new(StatusCode::NOT_FOUND, "no-model", "No such model", e.to_string()).with_field("model")
            }
            RegistryError::NoGrader(_) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "no-grader", "No grader key", e.to_string())
            }
            RegistryError::StorageFull { .. } => {
                Problem::new(StatusCode::INSUFFICIENT_STORAGE, "storage-reserve", "The disk is full", e.to_string())
            }
            RegistryError::Cluster(_) => {
                tracing::warn!(error = %e, "the cluster's database or bucket failed");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "cluster-unavailable",
                    "The cluster's database or bucket is unavailable",
                    format!(
                        "{e}. A record submitted now may be on the log already: submit it again, and if it was recorded it is refused as a duplicate"
                    ),
                )
            }
            RegistryError::Content(registry::content::ContentError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::StorageFull =>
            {
                // ENOSPC while the content was written, before anything reached the log.
                Problem::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "storage-full",
                    "The disk is full",
                    format!("the disk of the data folder is full ({source}): nothing was appended; submit again once space is freed"),
                )
            }
            other => {
                tracing::error!(error = %other, "registry failure");
                Problem::internal()
            }
        }
    }
}

/// A refused submission as problem+json: the type names the authority rule when there is one
/// (`/problems/retraction-by-author`), else `slug`.
/// The DSSE envelope a signed step's request body holds.
pub(crate) fn envelope_body(body: &[u8], what: &str) -> Result<Envelope, Problem> {
    serde_json::from_slice(body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-json",
            "Malformed request body",
            format!("expected a DSSE envelope of {what}: {e}"),
        )
    })
}

/// The answer to one submitted entry: `{"outcome", "index"}`, or problem+json naming the rule.
pub(crate) fn entry_answer(outcome: Outcome, slug: &str, title: &str) -> Result<Response, Problem> {
    match outcome {
        Outcome::Appended { index } => {
            Ok(Json(serde_json::json!({ "outcome": "appended", "index": index })).into_response())
        }
        Outcome::Duplicate { index } => {
            Ok(Json(serde_json::json!({ "outcome": "duplicate", "index": index })).into_response())
        }
        Outcome::WouldAppend => Ok(Json(serde_json::json!({ "outcome": "would_append" })).into_response()),
        Outcome::Rejected(r) => Err(rejected(r, slug, title)),
    }
}

/// The `as_of` query parameter (default: the jurisdiction's today).
pub(crate) fn as_of_param(reg: &Registry, q: &HashMap<String, String>) -> Result<verifier::Date, Problem> {
    match q.get("as_of") {
        None => Ok(reg.today()),
        Some(d) => verifier::Date::parse(d).map_err(|e| {
            Problem::new(StatusCode::BAD_REQUEST, "bad-parameter", "Bad date", format!("as_of: {e}"))
                .with_field("as_of")
        }),
    }
}

pub(crate) fn rejected(r: registry::Rejection, slug: &str, title: &str) -> Problem {
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

pub(crate) fn require(principal: &Principal, allowed: impl Fn(&Principal) -> bool, what: &str) -> Result<(), Problem> {
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
