//! Evidence bundles and the read journal: `GET /v1/enterprises/{uscc}/bundle`,
//! `GET /v1/enterprises/{uscc}/reads`.

use super::*;

/// `GET /v1/enterprises/{uscc}/bundle[?upto=INDEX][&since=SIZE]`: the firm's evidence bundle
/// (`docs/BUNDLE.md`), for the firm itself, auditors and courts.
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}/bundle",
    tag = "evidence",
    summary = "A firm's evidence bundle",
    params(
        ("uscc" = String, Path, description = "the firm's Unified Social Credit Code (统一社会信用代码)"),
        ("upto" = Option<u64>, Query, description = "the firm's chain up to this entry"),
        ("since" = Option<u64>, Query, description = "a consistency proof from this tree size"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn bundle(
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
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}/reads",
    tag = "evidence",
    summary = "Who read a firm's class, decisions, history or bundle",
    params(
        ("uscc" = String, Path, description = "the firm's Unified Social Credit Code (统一社会信用代码)"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn reads(
    State(s): State<AppState>,
    extract::EnterprisePath(uscc): extract::EnterprisePath,
    Signed(caller): Signed,
) -> Result<Response, Problem> {
    registry::access::may_read_history(&caller, uscc.as_str())?;
    let reads = registry(&s)?.reads(uscc.as_str())?;
    Ok(Json(serde_json::json!({ "uscc": uscc.as_str(), "reads": reads })).into_response())
}

/// `GET /v1/heads`: the newest published map of chain heads (完整性承诺): its entry index and
/// what it signs. Public: the map names no firm.
#[utoipa::path(
    get,
    path = "/v1/heads",
    tag = "evidence",
    summary = "The newest map of every firm's chain head",
    responses(crate::openapi::JsonAnswer)
)]
pub(crate) async fn heads(State(s): State<AppState>) -> Result<Response, Problem> {
    let r = registry(&s)?;
    let p = r.published_heads().ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "no-heads-map",
            "No map published yet",
            "this log has published no map of chain heads yet: one is published at the next interval, or with the first whole-history bundle",
        )
    })?;
    Ok(Json(serde_json::json!({ "index": p.index, "map": p.map })).into_response())
}

/// `GET /v1/heads/{index}/leaves`: the leaves of a published map, 72 bytes each (map key, the
/// head's leaf hash, the chain length as a big-endian u64), sorted by key, for monitors to
/// rebuild its root and audit the update. Public; the two newest maps are kept.
#[utoipa::path(
    get,
    path = "/v1/heads/{index}/leaves",
    tag = "evidence",
    summary = "The leaves of a map of chain heads",
    params(("index" = u64, Path, description = "the map entry's index")),
    responses(
        (status = 200, description = "leaves, 72 bytes each", content_type = "application/octet-stream"),
        crate::openapi::Refusal,
    ),
)]
pub(crate) async fn heads_leaves(
    State(s): State<AppState>,
    axum::extract::Path(index): axum::extract::Path<String>,
) -> Result<Response, Problem> {
    let index: u64 = index.parse().map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-index",
            "Malformed index",
            format!("{index:?} is not an entry index"),
        )
        .with_field("index")
    })?;
    let r = registry(&s)?;
    if index >= s.log.latest().size {
        return Err(RegistryError::NotFound(format!("entry {index} is not in the log's latest checkpoint")).into());
    }
    let bytes = r.heads_leaves(index)?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}
