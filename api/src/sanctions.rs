//! Sanctions (联合惩戒) and interception (自动比对、自动拦截): `POST /v1/sanctions`,
//! `GET /v1/enterprises/{uscc}/sanctions`, `GET /v1/check`, `GET /v1/enterprises/{uscc}/checks`.
//!
//! Who may ask `GET /v1/check`: the relying parties registered on the log — departments (a
//! procurement or approval office is registered as a department), the grading authority,
//! auditors and courts — never anonymously, because every check is journalled for the firm
//! (who checked it, for which purpose, when). The firm reads its own sanctions at
//! `/v1/enterprises/{uscc}/sanctions` and the checks made about it at `.../checks`.

use super::*;
use registry::access::{is_overseer, sees_all_procedures as sees_all};
use verifier::sanction::Measure;

#[utoipa::path(
    post,
    path = "/v1/sanctions",
    tag = "sanctions",
    summary = "Impose or lift a sanction (联合惩戒)",
    request_body(content = crate::openapi::Json, content_type = "application/json", description = "a JSON body (see the README and docs/FORMAT.md)"),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn submit(
    State(s): State<AppState>,
    SignedBody { body, .. }: SignedBody<IDENTITY_BODY_LIMIT>,
) -> Result<Response, Problem> {
    let envelope = envelope_body(&body, "a sanction step")?;
    entry_answer(registry(&s)?.submit_sanction(envelope).await?, "sanction-rejected", "Sanction refused")
}

/// Whether `caller` may ask whether a firm is restricted: a relying party on the log.
fn relying_party(caller: &Principal) -> bool {
    matches!(caller, Principal::Department(_)) || sees_all(caller)
}

/// `GET /v1/enterprises/{uscc}/sanctions[?as_of=DATE]`: the firm's sanctions and where each
/// stands, for the firm itself and the relying parties.
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}/sanctions",
    tag = "sanctions",
    summary = "A firm's sanctions",
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
    let own = caller == Principal::Enterprise(uscc.as_str().to_owned());
    require(
        &caller,
        |c| own || relying_party(c),
        &format!(
            "a firm's sanctions go to the firm itself, departments, the grading authority, auditors and courts; they may not be read for {}",
            uscc.as_str()
        ),
    )?;
    let list = reg.sanctions_of(uscc.as_str(), day)?;
    Ok(Json(serde_json::json!({ "uscc": uscc.as_str(), "as_of": day, "sanctions": list })).into_response())
}

fn bad(field: &str, detail: String) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "bad-parameter", "Bad parameter", detail).with_field(field)
}

/// `GET /v1/check?uscc=U&purpose=P[&date=D]`: allowed or restricted, with the sanctions, their
/// basis and the proofs (verifier::interception); journalled for the firm.
#[utoipa::path(
    get,
    path = "/v1/check",
    tag = "sanctions",
    summary = "Interception check (自动比对、自动拦截) with proofs",
    params(
        ("uscc" = String, Query, description = "the firm"),
        ("purpose" = String, Query, description = "what the firm applies for, e.g. government_procurement"),
        ("date" = Option<String>, Query, description = "YYYY-MM-DD"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn check(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    Signed(caller): Signed,
) -> Result<Response, Problem> {
    let reg = registry(&s)?;
    require(
        &caller,
        relying_party,
        "interception checks are made by relying parties on the log: departments (procurement, bidding and approval offices are registered as departments), the grading authority, auditors and courts",
    )?;
    let raw = q.get("uscc").ok_or_else(|| bad("uscc", "uscc: required, the firm's USCC".into()))?;
    let uscc = verifier::uscc::Uscc::parse(raw).map_err(|e| bad("uscc", format!("uscc: {e}")))?;
    let purpose: Measure = q
        .get("purpose")
        .ok_or_else(|| bad("purpose", "purpose: required, one measure such as bidding".into()))?
        .parse()
        .map_err(|e| bad("purpose", format!("purpose: {e}")))?;
    let day = match q.get("date") {
        None => reg.today(),
        Some(d) => verifier::Date::parse(d).map_err(|e| bad("date", format!("date: {e}")))?,
    };
    if let Some(fed) = &s.federation {
        // A provincial log: every city's answer, each anchored here.
        return crate::federation::check(&s, fed, uscc.as_str(), purpose, day, &caller).await;
    }
    let answer = reg.check(uscc.as_str(), purpose, day, &caller).await?;
    Ok(Json(answer).into_response())
}

/// `GET /v1/enterprises/{uscc}/checks`: who checked the firm, for which purpose and day, and
/// when; for the firm itself, auditors and courts.
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}/checks",
    tag = "sanctions",
    summary = "Who checked a firm for interception",
    params(
        ("uscc" = String, Path, description = "the firm's Unified Social Credit Code (统一社会信用代码)"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn checks(
    State(s): State<AppState>,
    extract::EnterprisePath(uscc): extract::EnterprisePath,
    Signed(caller): Signed,
) -> Result<Response, Problem> {
    let own = caller == Principal::Enterprise(uscc.as_str().to_owned());
    require(
        &caller,
        |c| own || is_overseer(c),
        &format!("the checks made about a firm go to the firm itself, auditors and courts; not for {}", uscc.as_str()),
    )?;
    let checks = registry(&s)?.checks_of(uscc.as_str())?;
    Ok(Json(serde_json::json!({ "uscc": uscc.as_str(), "checks": checks })).into_response())
}
