//! A firm's own commitments (信用承诺): `POST /v1/commitments`, `GET /v1/commitments`,
//! `GET /v1/enterprises/{uscc}/commitments`. The outcome is a `commitment_outcome` record
//! (`POST /v1/records`) citing the commitment's entry.

use super::*;
use registry::access::sees_all_procedures as sees_all;

#[utoipa::path(
    post,
    path = "/v1/commitments",
    tag = "commitments",
    summary = "A firm's own signed commitment (信用承诺)",
    request_body(content = crate::openapi::Json, content_type = "application/json", description = "a JSON body (see the README and docs/FORMAT.md)"),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn submit(
    State(s): State<AppState>,
    SignedBody { body, .. }: SignedBody<IDENTITY_BODY_LIMIT>,
) -> Result<Response, Problem> {
    let envelope = envelope_body(&body, "a commitment")?;
    entry_answer(registry(&s)?.submit_commitment(envelope).await?, "commitment-rejected", "Commitment refused")
}

/// `GET /v1/commitments[?overdue=true][&as_of=DATE]`: the commitments a department checks (all
/// for the grading authority, auditors and courts); `overdue=true` keeps those due and unchecked.
#[utoipa::path(
    get,
    path = "/v1/commitments",
    tag = "commitments",
    summary = "Commitments the caller checks, or all",
    params(
        ("overdue" = Option<bool>, Query, description = "only overdue ones"),
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD"),
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
    let department = match &caller {
        Principal::Department(c) => Some(c.as_str()),
        c if sees_all(c) => None,
        c => {
            return Err(RegistryError::Forbidden(format!(
                "commitments are listed for the departments that check them, the grading authority, auditors and courts; {c} reads its own at /v1/enterprises/{{uscc}}/commitments"
            ))
            .into())
        }
    };
    let overdue_only = q.get("overdue").is_some_and(|v| v == "true" || v == "1");
    let list: Vec<_> =
        reg.commitments_checked_by(department, day)?.into_iter().filter(|c| !overdue_only || c.overdue).collect();
    Ok(Json(serde_json::json!({ "commitments": list })).into_response())
}

/// `GET /v1/enterprises/{uscc}/commitments`: a firm's commitments and their outcomes.
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}/commitments",
    tag = "commitments",
    summary = "A firm's commitments",
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
            "a firm's commitments go to the firm, the departments that check them, the grading authority, auditors and courts; {caller} may not read those of {uscc}"
        ))
        .into());
    }
    let list: Vec<_> = reg
        .commitments_of(&uscc, day)?
        .into_iter()
        .filter(|c| own || sees_all(&caller) || caller == Principal::Department(c.commitment.department.clone()))
        .collect();
    Ok(Json(serde_json::json!({ "commitments": list })).into_response())
}
