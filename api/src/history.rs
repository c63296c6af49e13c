//! Reading entries and a firm's history: `GET /v1/entries/{index}`,
//! `GET /v1/enterprises/{uscc}/history`.

use super::*;

#[utoipa::path(
    get,
    path = "/v1/entries/{index}",
    tag = "history",
    summary = "One log entry: header and content (content per the read policy)",
    params(
        ("index" = u64, Path, description = "a log index"),
    ),
    responses(crate::openapi::JsonAnswer),
    security((), ("request-signature" = [])),
)]
pub(crate) async fn read_entry(
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
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}/history",
    tag = "history",
    summary = "A firm's history with proofs, paged",
    params(
        ("uscc" = String, Path, description = "the firm's Unified Social Credit Code (统一社会信用代码)"),
        ("after" = Option<u64>, Query, description = "entries after this index"),
        ("limit" = Option<u64>, Query, description = "at most this many entries"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn history(
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
