//! Public disclosure (公示): `GET /v1/enterprises/{uscc}/disclosure[?as_of=DATE]`, for anyone.

use super::*;

/// The firm's public records on `as_of` (default today), each with an inclusion proof against
/// the one checkpoint given, and the public records no longer shown (corrected, removed,
/// repaired) with the day.
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}/disclosure",
    tag = "disclosure",
    summary = "What is public of a firm (公示), with proofs",
    params(
        ("uscc" = String, Path, description = "the firm's Unified Social Credit Code (统一社会信用代码)"),
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD"),
    ),
    responses(crate::openapi::JsonAnswer),
)]
pub(crate) async fn disclosure(
    State(s): State<AppState>,
    extract::EnterprisePath(uscc): extract::EnterprisePath,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let reg = registry(&s)?;
    let as_of = as_of_param(reg, &q)?;
    let d = reg.disclosure(uscc.as_str(), as_of)?;
    let newest = d.records.iter().map(|r| r.index + 1).max().unwrap_or(0);
    let cp = s.log.wait_for_checkpoint(newest).await?;
    let mut records = Vec::with_capacity(d.records.len());
    for r in &d.records {
        let mut v = serde_json::to_value(r).map_err(|e| {
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", e.to_string())
        })?;
        if r.opening.is_some() {
            let proof = s.log.inclusion_proof(r.index, cp.size)?;
            v["opening"]["proof"] = serde_json::json!(proof.iter().map(b64).collect::<Vec<_>>());
        }
        records.push(v);
    }
    Ok(Json(serde_json::json!({
        "uscc": d.uscc,
        "as_of": d.as_of,
        "checkpoint": String::from_utf8_lossy(&cp.note),
        "size": cp.size,
        "records": records,
        "stopped": d.stopped,
    }))
    .into_response())
}
