//! Retention and redaction (保存期限与删除): `POST /v1/redactions`,
//! `GET /v1/enterprises/{uscc}/redactions`, `GET /v1/retention-rules`.
//!
//! | endpoint | who |
//! | --- | --- |
//! | `POST /v1/redactions` | a department, for its own records (rules `redaction-by-author`, `redaction-target`, `redaction-rule`) |
//! | `GET /v1/enterprises/{uscc}/redactions` | the firm, every department, the grading authority, auditors and courts |
//! | `GET /v1/retention-rules` | anyone: the rules, each with its source |

use super::*;
use registry::access::sees_all_procedures as sees_all;

#[utoipa::path(
    post,
    path = "/v1/redactions",
    tag = "redactions",
    summary = "A signed redaction (删除)",
    request_body(content = crate::openapi::Json, content_type = "application/json", description = "a JSON body (see the README and docs/FORMAT.md)"),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn submit(
    State(s): State<AppState>,
    SignedBody { body, .. }: SignedBody<IDENTITY_BODY_LIMIT>,
) -> Result<Response, Problem> {
    let envelope = envelope_body(&body, "a redaction")?;
    entry_answer(registry(&s)?.submit_redaction(envelope).await?, "redaction-rejected", "Redaction refused")
}

/// `GET /v1/enterprises/{uscc}/redactions`: which of a firm's entries were redacted, under which
/// rule, by whom and why (the redactions hold no content of the records they delete).
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}/redactions",
    tag = "redactions",
    summary = "A firm's redactions",
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
            "a firm's redactions go to the firm, the departments, the grading authority, auditors and courts; {caller} may not read those of {uscc}"
        ))
        .into());
    }
    Ok(Json(serde_json::json!({ "redactions": registry(&s)?.redactions_of(&uscc)? })).into_response())
}

/// `GET /v1/retention-rules`: the rules every redaction is judged by, with their sources.
#[utoipa::path(
    get,
    path = "/v1/retention-rules",
    tag = "redactions",
    summary = "The retention and redaction rules",
    responses(crate::openapi::JsonAnswer)
)]
pub(crate) async fn rules(State(s): State<AppState>) -> Result<Response, Problem> {
    Ok(Json(registry(&s)?.retention_rules()).into_response())
}
