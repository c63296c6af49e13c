//! Objections (异议): `POST /v1/objections`, `GET /v1/objections`,
//! `GET /v1/enterprises/{uscc}/objections`.
//!
//! | request | who |
//! | --- | --- |
//! | `POST /v1/objections` (a signed step) | the firm files; the department it is routed to (the grading authority for a decision) accepts and resolves: the authority rules decide |
//! | `GET /v1/objections?overdue=true&as_of=DATE` | a department (those routed to it), the grading authority, auditors and courts (all) |
//! | `GET /v1/enterprises/{uscc}/objections` | the firm itself, the grading authority, auditors, courts; a department sees those routed to it |

use super::*;
use registry::access::sees_all_procedures as sees_all;
use registry::objections::ObjectionState;

#[utoipa::path(
    post,
    path = "/v1/objections",
    tag = "objections",
    summary = "File or answer an objection (异议)",
    request_body(content = crate::openapi::Json, content_type = "application/json", description = "a JSON body (see the README and docs/FORMAT.md)"),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn submit(
    State(s): State<AppState>,
    SignedBody { body, .. }: SignedBody<IDENTITY_BODY_LIMIT>,
) -> Result<Response, Problem> {
    let envelope = envelope_body(&body, "an objection step")?;
    entry_answer(registry(&s)?.submit_objection(envelope).await?, "objection-rejected", "Objection step refused")
}

fn answer(list: Vec<ObjectionState>, q: &HashMap<String, String>) -> Response {
    let overdue_only = q.get("overdue").is_some_and(|v| v == "true" || v == "1");
    let list: Vec<ObjectionState> = list.into_iter().filter(|o| !overdue_only || o.overdue).collect();
    Json(serde_json::json!({ "objections": list })).into_response()
}

/// `GET /v1/objections`: the objections a department must answer, or all of them for the grading
/// authority, auditors and courts; `overdue=true` keeps the late ones, judged as of `as_of`
/// (default today, the jurisdiction's local date).
#[utoipa::path(
    get,
    path = "/v1/objections",
    tag = "objections",
    summary = "Objections routed to the caller, or all",
    params(
        ("overdue" = Option<bool>, Query, description = "only overdue ones"),
        ("as_of" = Option<String>, Query, description = "the date deadlines are judged on, YYYY-MM-DD"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn list(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    Signed(caller): Signed,
) -> Result<Response, Problem> {
    let reg = registry(&s)?;
    let day = as_of_param(reg, &q)?;
    if !(sees_all(&caller) || matches!(caller, Principal::Department(_))) {
        return Err(RegistryError::Forbidden(format!(
            "objections are listed for the departments that answer them, the grading authority, auditors and courts; {caller} reads its own at /v1/enterprises/{{uscc}}/objections"
        ))
        .into());
    }
    let all = reg.objections(day)?;
    let mine = all.into_iter().filter(|o| sees_all(&caller) || o.is_routed_to(&caller)).collect();
    Ok(answer(mine, &q))
}

/// `GET /v1/enterprises/{uscc}/objections`: a firm's objections and where they stand.
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}/objections",
    tag = "objections",
    summary = "A firm's objections",
    params(
        ("uscc" = String, Path, description = "the firm's Unified Social Credit Code (统一社会信用代码)"),
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn of_firm(
    State(s): State<AppState>,
    extract::EnterprisePath(uscc): extract::EnterprisePath,
    Query(q): Query<HashMap<String, String>>,
    Signed(caller): Signed,
) -> Result<Response, Problem> {
    let reg = registry(&s)?;
    let day = as_of_param(reg, &q)?;
    let uscc = uscc.as_str().to_owned();
    let own = caller == Principal::Enterprise(uscc.clone());
    if !(own || sees_all(&caller) || matches!(caller, Principal::Department(_))) {
        return Err(RegistryError::Forbidden(format!(
            "a firm's objections go to the firm, the departments that answer them, the grading authority, auditors and courts; {caller} may not read those of {uscc}"
        ))
        .into());
    }
    let list = reg.objections_about(&uscc, day)?;
    let list = list.into_iter().filter(|o| own || sees_all(&caller) || o.is_routed_to(&caller)).collect();
    Ok(answer(list, &q))
}
