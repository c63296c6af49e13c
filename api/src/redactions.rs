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

pub(crate) async fn submit(
    State(s): State<AppState>,
    SignedBody { body, .. }: SignedBody<IDENTITY_BODY_LIMIT>,
) -> Result<Response, Problem> {
    let envelope = envelope_body(&body, "a redaction")?;
    entry_answer(registry(&s)?.submit_redaction(envelope).await?, "redaction-rejected", "Redaction refused")
}

/// `GET /v1/enterprises/{uscc}/redactions`: which of a firm's entries were redacted, under which
/// rule, by whom and why (the redactions hold no content of the records they delete).
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
pub(crate) async fn rules(State(s): State<AppState>) -> Result<Response, Problem> {
    Ok(Json(registry(&s)?.retention_rules()).into_response())
}
