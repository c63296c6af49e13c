//! Credit repair (信用修复): `POST /v1/repairs`, `GET /v1/repairs`,
//! `GET /v1/enterprises/{uscc}/repairs`, `GET /v1/repair-rules`.
//!
//! | request | who |
//! | --- | --- |
//! | `POST /v1/repairs` (a signed step) | the firm applies; the department that made the record interviews and decides: the authority rules decide |
//! | `GET /v1/repairs` | a department (those it decides); the grading authority, auditors, courts (all) |
//! | `GET /v1/enterprises/{uscc}/repairs` | the firm, the grading authority, auditors, courts; a department (those it decides) |
//! | `GET /v1/repair-rules` | anyone: the rules, each with its source |

use super::*;
use registry::access::sees_all_procedures as sees_all;
use registry::repairs::RepairState;

#[utoipa::path(
    post,
    path = "/v1/repairs",
    tag = "repairs",
    summary = "Apply for or decide a credit repair (信用修复)",
    request_body(content = crate::openapi::Json, content_type = "application/json", description = "a JSON body (see the README and docs/FORMAT.md)"),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn submit(
    State(s): State<AppState>,
    SignedBody { body, .. }: SignedBody<IDENTITY_BODY_LIMIT>,
) -> Result<Response, Problem> {
    let envelope = envelope_body(&body, "a repair step")?;
    entry_answer(registry(&s)?.submit_repair(envelope).await?, "repair-rejected", "Repair step refused")
}

fn decides(caller: &Principal, r: &RepairState) -> bool {
    matches!(caller, Principal::Department(c) if *c == r.department)
}

/// `GET /v1/repairs`: the repairs a department decides, or all for the grading authority,
/// auditors and courts.
#[utoipa::path(
    get,
    path = "/v1/repairs",
    tag = "repairs",
    summary = "Repairs the caller decides, or all",
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn list(State(s): State<AppState>, Signed(caller): Signed) -> Result<Response, Problem> {
    if !(sees_all(&caller) || matches!(caller, Principal::Department(_))) {
        return Err(RegistryError::Forbidden(format!(
            "repairs are listed for the departments that decide them, the grading authority, auditors and courts; {caller} reads its own at /v1/enterprises/{{uscc}}/repairs"
        ))
        .into());
    }
    let list: Vec<RepairState> =
        registry(&s)?.repairs()?.into_iter().filter(|r| sees_all(&caller) || decides(&caller, r)).collect();
    Ok(Json(serde_json::json!({ "repairs": list })).into_response())
}

/// `GET /v1/enterprises/{uscc}/repairs`: a firm's repairs and where they stand.
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}/repairs",
    tag = "repairs",
    summary = "A firm's repairs",
    params(
        ("uscc" = String, Path, description = "the firm's Unified Social Credit Code (统一社会信用代码)"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn of_firm(
    State(s): State<AppState>,
    extract::EnterprisePath(uscc): extract::EnterprisePath,
    Signed(caller): Signed,
) -> Result<Response, Problem> {
    let uscc = uscc.as_str().to_owned();
    let own = caller == Principal::Enterprise(uscc.clone());
    if !(own || sees_all(&caller) || matches!(caller, Principal::Department(_))) {
        return Err(RegistryError::Forbidden(format!(
            "a firm's repairs go to the firm, the departments that decide them, the grading authority, auditors and courts; {caller} may not read those of {uscc}"
        ))
        .into());
    }
    let list: Vec<RepairState> = registry(&s)?
        .repairs_of(&uscc)?
        .into_iter()
        .filter(|r| own || sees_all(&caller) || decides(&caller, r))
        .collect();
    Ok(Json(serde_json::json!({ "repairs": list })).into_response())
}

/// `GET /v1/repair-rules`: the rules every repair is judged by, with their sources.
#[utoipa::path(
    get,
    path = "/v1/repair-rules",
    tag = "repairs",
    summary = "The repair rules, each with its source",
    responses(crate::openapi::JsonAnswer)
)]
pub(crate) async fn rules() -> Response {
    Json(verifier::repair::RepairRules::shipped()).into_response()
}
