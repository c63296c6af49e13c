//! The C2SP tlog-tiles read side (<https://c2sp.org/tlog-tiles>) and the JSON proof endpoints:
//! `/checkpoint`, `/tile/...`, `/v1/log`, `/v1/proof/...`, `/v1/checkpoints/{size}`, and the
//! raw appends of `--raw-append`.

use super::*;

pub(crate) fn b64(h: &Hash) -> String {
    BASE64_STANDARD.encode(h.0)
}

#[utoipa::path(
    get,
    path = "/checkpoint",
    tag = "tlog",
    summary = "The latest signed checkpoint (C2SP tlog-checkpoint)",
    responses(
        (status = 200, description = "a signed note", content_type = "text/plain", body = String),
        crate::openapi::Refusal,
    ),
)]
pub(crate) async fn checkpoint(State(s): State<AppState>) -> Response {
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

#[utoipa::path(
    get,
    path = "/tile/{path}",
    tag = "tlog",
    summary = "A tile or entry bundle (C2SP tlog-tiles)",
    params(
        ("path" = String, Path, description = "the tile path after tile/"),
    ),
    responses(
        (status = 200, description = "tile bytes", content_type = "application/octet-stream"),
        crate::openapi::Refusal,
    ),
)]
pub(crate) async fn tile(State(s): State<AppState>, Path(rest): Path<String>) -> Result<Response, Problem> {
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
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogInfo {
    /// Origin line of the checkpoints.
    pub origin: String,
    /// Signed-note verifier key, `name+hash+base64`.
    pub verifier_key: String,
    /// Size of the latest checkpoint.
    pub size: u64,
    /// Root hash of the latest checkpoint, base64.
    pub root_hash: String,
    /// Entries acknowledged (durable) but not yet in a published checkpoint.
    pub unpublished: u64,
    /// Why they are not published, when the log's witnesses did not cosign the newest
    /// checkpoint (见证人未达法定数): which witnesses cosigned and what the others answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witnessing_problem: Option<String>,
    /// How many entries this server's views reflect: on an API node of a cluster, what it
    /// answers about firms is as of this many entries (its lag is `size` minus this).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub views_applied: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/v1/log",
    tag = "tlog",
    summary = "The log's origin, verifier key, size and root",
    responses((status = 200, description = "the log", body = LogInfo))
)]
pub(crate) async fn log_info(State(s): State<AppState>) -> Json<LogInfo> {
    let cp = s.log.latest();
    Json(LogInfo {
        origin: s.log.origin().to_owned(),
        verifier_key: s.log.verifier_key().to_owned(),
        size: cp.size,
        root_hash: b64(&cp.root),
        unpublished: s.log.committed_size().saturating_sub(cp.size),
        witnessing_problem: s.log.witnessing_problem(),
        views_applied: s.registry.as_ref().and_then(|r| r.views_applied().ok()),
    })
}

pub(crate) fn param(q: &HashMap<String, String>, name: &'static str) -> Result<u64, Problem> {
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
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
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

#[utoipa::path(
    get,
    path = "/v1/proof/inclusion",
    tag = "tlog",
    summary = "An inclusion proof of entry `index` in the tree of `size`",
    params(
        ("index" = u64, Query, description = "the entry"),
        ("size" = u64, Query, description = "the tree size"),
    ),
    responses((status = 200, description = "the proof", body = InclusionProof), crate::openapi::Refusal),
)]
pub(crate) async fn inclusion(
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
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsistencyProof {
    /// Older tree size.
    pub from: u64,
    /// Newer tree size.
    pub to: u64,
    /// Proof hashes, base64 (RFC 6962 order).
    pub proof: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/v1/proof/consistency",
    tag = "tlog",
    summary = "A consistency proof between two tree sizes",
    params(
        ("from" = u64, Query, description = "the older tree size"),
        ("to" = u64, Query, description = "the newer tree size"),
    ),
    responses((status = 200, description = "the proof", body = ConsistencyProof), crate::openapi::Refusal),
)]
pub(crate) async fn consistency(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<ConsistencyProof>, Problem> {
    let from = param(&q, "from")?;
    let to = param(&q, "to")?;
    let proof = s.log.consistency_proof(from, to)?;
    Ok(Json(ConsistencyProof { from, to, proof: proof.iter().map(b64).collect() }))
}

#[utoipa::path(
    get,
    path = "/v1/checkpoints/{size}",
    tag = "tlog",
    summary = "The signed checkpoint of a given size",
    params(
        ("size" = u64, Path, description = "a tree size"),
    ),
    responses(
        (status = 200, description = "a signed note", content_type = "text/plain", body = String),
        crate::openapi::Refusal,
    ),
)]
pub(crate) async fn checkpoint_at(State(s): State<AppState>, Path(size): Path<String>) -> Result<Response, Problem> {
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
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RawEntries {
    /// Entries, base64.
    pub entries: Vec<String>,
}

/// `POST /v1/log/entries` answer.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Appended {
    /// Index of the first entry; the others follow in order.
    pub first_index: u64,
    /// Number of entries appended.
    pub count: u64,
}

#[utoipa::path(
    post,
    path = "/v1/log/entries",
    tag = "tlog",
    summary = "Raw append (only with serve --raw-append; ledger tests)",
    request_body(content = RawEntries, content_type = "application/json", description = "entries to append, base64"),
    responses((status = 200, description = "appended", body = Appended), crate::openapi::Refusal),
)]
pub(crate) async fn raw_append(
    State(s): State<AppState>,
    req: axum::extract::Request,
) -> Result<Json<Appended>, Problem> {
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
