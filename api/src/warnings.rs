//! Early warnings (风险预警).
//!
//! | endpoint | who |
//! | --- | --- |
//! | `GET /v1/warnings[?all=true]` | a department: the warnings routed to it and still open for it (all of them with `all=true`); the grading authority, auditors and courts: every warning still open for someone (every warning with `all=true`) |
//! | `POST /v1/warnings/acknowledgements` | a department the warning is routed to, once (rule `warning-routed`) |
//! | `GET /v1/enterprises/{uscc}/warnings` | the firm itself, the departments, the grading authority, auditors and courts |
//!
//! Warnings are raised by the registry (rules `warning-by-grader`, `warning-basis`), never posted.

use super::*;
use registry::access::sees_all_procedures as sees_all;

#[utoipa::path(
    get,
    path = "/v1/warnings",
    tag = "warnings",
    summary = "Early warnings (风险预警)",
    params(
        ("all" = Option<bool>, Query, description = "every warning (grading authority, auditors, courts)"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn list(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    Signed(caller): Signed,
) -> Result<Response, Problem> {
    let all = q.get("all").is_some_and(|v| v == "true" || v == "1");
    let department = match &caller {
        Principal::Department(c) => Some(c.as_str()),
        c if sees_all(c) => None,
        c => {
            return Err(RegistryError::Forbidden(format!(
                "early warnings go to the departments they are routed to, the grading authority, auditors and courts; {c} reads a firm's own at /v1/enterprises/{{uscc}}/warnings"
            ))
            .into())
        }
    };
    let list = registry(&s)?.warnings(department, None, !all)?;
    Ok(Json(serde_json::json!({ "warnings": list })).into_response())
}

#[utoipa::path(
    post,
    path = "/v1/warnings/acknowledgements",
    tag = "warnings",
    summary = "Acknowledge an early warning",
    request_body(content = crate::openapi::Json, content_type = "application/json", description = "a JSON body (see the README and docs/FORMAT.md)"),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn acknowledge(
    State(s): State<AppState>,
    SignedBody { body, .. }: SignedBody<IDENTITY_BODY_LIMIT>,
) -> Result<Response, Problem> {
    let envelope = envelope_body(&body, "an acknowledgement")?;
    entry_answer(
        registry(&s)?.submit_acknowledgement(envelope).await?,
        "acknowledgement-rejected",
        "Acknowledgement refused",
    )
}

#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}/warnings",
    tag = "warnings",
    summary = "A firm's early warnings",
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
            "a firm's early warnings go to the firm, the departments, the grading authority, auditors and courts; {caller} may not read those of {uscc}"
        ))
        .into());
    }
    let list = registry(&s)?.warnings(None, Some(&uscc), false)?;
    Ok(Json(serde_json::json!({ "warnings": list })).into_response())
}
