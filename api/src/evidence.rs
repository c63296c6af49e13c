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
