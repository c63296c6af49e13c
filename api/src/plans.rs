//! Inspection plans and draws (双随机、一公开).
//!
//! | endpoint | who |
//! | --- | --- |
//! | `POST /v1/plans` | a department, in its own name (rules `plan-by-department`, `plan-rules`) |
//! | `POST /v1/draws` | the department that made the plan (rules `draw-by-planner`, `draw-plan`, `draw-reveal`, `draw-seed`, `draw-population`, `draw-selection`) |
//! | `GET /v1/plans`, `GET /v1/plans/{index}` | anyone: each plan's summary and status; the whole plan (pool, conflicts) only to its department, the grading authority, auditors and courts |
//! | `GET /v1/plans/{index}/population`, `/draw`, `/bundle` | the plan's department, the grading authority, auditors and courts: who is drawn stays unpublished until the visits (通风报信) |
//! | `GET /v1/plans/{index}/results` | anyone: the results of the inspections the draw led to (一公开) |
//! | `GET /v1/visits` | a department, for the visits it takes part in; the grading authority, auditors and courts, all (joint visits, 进一次门、查多项事) |
//! | `GET /v1/stats/supervision` | any key on the log: counts per department and period (seed 003) |
//! | `GET /v1/supervision-rules` | anyone: the bounds of a plan, each with its source |

use super::*;
use registry::access::sees_all_procedures as sees_all;

#[utoipa::path(
    post,
    path = "/v1/plans",
    tag = "plans",
    summary = "Publish an inspection plan (抽查计划)",
    request_body(content = crate::openapi::Json, content_type = "application/json", description = "a JSON body (see the README and docs/FORMAT.md)"),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn submit_plan(
    State(s): State<AppState>,
    SignedBody { body, .. }: SignedBody<IDENTITY_BODY_LIMIT>,
) -> Result<Response, Problem> {
    let envelope = envelope_body(&body, "an inspection plan")?;
    entry_answer(registry(&s)?.submit_plan(envelope).await?, "plan-rejected", "Inspection plan refused")
}

#[utoipa::path(
    post,
    path = "/v1/draws",
    tag = "plans",
    summary = "Submit the draw of a plan (双随机)",
    request_body(content = crate::openapi::Json, content_type = "application/json", description = "a JSON body (see the README and docs/FORMAT.md)"),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn submit_draw(
    State(s): State<AppState>,
    SignedBody { body, .. }: SignedBody<IDENTITY_BODY_LIMIT>,
) -> Result<Response, Problem> {
    let envelope = envelope_body(&body, "a draw")?;
    entry_answer(registry(&s)?.submit_draw(envelope).await?, "draw-rejected", "Draw refused")
}

fn plan_index(reg: &Registry, i: u64) -> Result<(u64, verifier::plan::Plan), Problem> {
    let plan = reg.plan(i)?.ok_or_else(|| {
        Problem::new(StatusCode::NOT_FOUND, "no-plan", "No such plan", format!("entry {i} is not an inspection plan"))
            .with_field("index")
    })?;
    Ok((i, plan))
}

/// The plan's department, the grading authority, auditors and courts.
fn may_see_draw(caller: &Principal, plan: &verifier::plan::Plan, what: &str) -> Result<(), Problem> {
    if sees_all(caller) || *caller == Principal::Department(plan.department.clone()) {
        return Ok(());
    }
    Err(RegistryError::Forbidden(format!(
        "{what} of a plan goes to the department that made it ({}), the grading authority, auditors and courts: published before the visits it would tip the firms off (通风报信); {caller} may not read it",
        plan.department
    ))
    .into())
}

/// `GET /v1/plans[?department=CODE]`: every plan's summary and status.
#[utoipa::path(
    get,
    path = "/v1/plans",
    tag = "plans",
    summary = "Inspection plans",
    params(
        ("department" = Option<String>, Query, description = "a department code"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn list(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let reg = registry(&s)?;
    let plans = reg.plans(q.get("department").map(String::as_str), reg.today())?;
    Ok(Json(serde_json::json!({ "plans": plans })).into_response())
}

/// `GET /v1/plans/{index}`: the summary; with a signature of an entitled caller, the whole plan.
#[utoipa::path(
    get,
    path = "/v1/plans/{index}",
    tag = "plans",
    summary = "One plan and where it stands",
    params(
        ("index" = u64, Path, description = "a log index"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn one(
    State(s): State<AppState>,
    extract::IndexPath(index): extract::IndexPath,
    MaybeSigned(caller): MaybeSigned,
) -> Result<Response, Problem> {
    let reg = registry(&s)?;
    let (i, plan) = plan_index(reg, index)?;
    let summary = reg.plan_summary(i, reg.today())?;
    let whole = caller.is_some_and(|c| may_see_draw(&c, &plan, "the inspector pool").is_ok());
    let mut v = serde_json::json!({ "summary": summary });
    if whole {
        v["plan"] = serde_json::to_value(&plan).expect("serialises");
        v["classes"] = serde_json::to_value(reg.plan_class_counts(i)?).expect("serialises");
        // The root the draw's seed hashes, once a signed checkpoint holds the plan, with the proof
        // that the checkpoint's tree grew from it: the department reveals only after this.
        v["leaf"] = hex::encode(verifier::leaf_hash(&s.log.entry(i)?).0).into();
        let cp = s.log.latest();
        if cp.size > i {
            v["root"] = hex::encode(s.log.tree_hash(i + 1)?.0).into();
            v["checkpoint"] = String::from_utf8_lossy(&cp.note).into_owned().into();
            let proof = if cp.size == i + 1 { Vec::new() } else { s.log.consistency_proof(i + 1, cp.size)? };
            v["consistency"] = proof.iter().map(b64).collect::<Vec<_>>().into();
        }
    }
    Ok(Json(v).into_response())
}

/// `GET /v1/plans/{index}/population`: the population as the log stood at the plan.
#[utoipa::path(
    get,
    path = "/v1/plans/{index}/population",
    tag = "plans",
    summary = "The population of a plan's draw",
    params(
        ("index" = u64, Path, description = "a log index"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn population(
    State(s): State<AppState>,
    extract::IndexPath(index): extract::IndexPath,
    Signed(caller): Signed,
) -> Result<Response, Problem> {
    let reg = registry(&s)?;
    let (i, plan) = plan_index(reg, index)?;
    may_see_draw(&caller, &plan, "the population")?;
    let members = reg.population(i)?;
    let digest = verifier::plan::population_digest(&members);
    Ok(Json(serde_json::json!({ "plan_index": i, "population": digest, "members": *members })).into_response())
}

/// `GET /v1/plans/{index}/draw`: the draw and the firms and inspectors it selected.
#[utoipa::path(
    get,
    path = "/v1/plans/{index}/draw",
    tag = "plans",
    summary = "The draw of a plan",
    params(
        ("index" = u64, Path, description = "a log index"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn draw(
    State(s): State<AppState>,
    extract::IndexPath(index): extract::IndexPath,
    Signed(caller): Signed,
) -> Result<Response, Problem> {
    let reg = registry(&s)?;
    let (i, plan) = plan_index(reg, index)?;
    may_see_draw(&caller, &plan, "the selection")?;
    match reg.drawn(i)? {
        Some((di, d, sel)) => Ok(Json(serde_json::json!({
            "plan_index": i, "draw_index": di, "draw": d, "selection": *sel,
            "classes": reg.plan_class_counts(i)?,
        }))
        .into_response()),
        None => Err(Problem::new(
            StatusCode::NOT_FOUND,
            "not-drawn",
            "Not drawn yet",
            format!("plan {i} has no draw on the log yet; it is drawn when its department reveals its secret"),
        )),
    }
}

/// `GET /v1/plans/{index}/bundle`: the draw bundle, for `creditlog verify-draw`.
#[utoipa::path(
    get,
    path = "/v1/plans/{index}/bundle",
    tag = "plans",
    summary = "A draw bundle for creditlog verify-draw",
    params(
        ("index" = u64, Path, description = "a log index"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn bundle(
    State(s): State<AppState>,
    extract::IndexPath(index): extract::IndexPath,
    Signed(caller): Signed,
) -> Result<Response, Problem> {
    let reg = registry(&s)?;
    let (i, plan) = plan_index(reg, index)?;
    may_see_draw(&caller, &plan, "the draw bundle")?;
    if reg.drawn(i)?.is_none() {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "not-drawn",
            "Not drawn yet",
            format!("plan {i} has no draw on the log yet"),
        ));
    }
    Ok(Json(reg.draw_bundle(i).await?).into_response())
}

/// `GET /v1/plans/{index}/results`: the published results of the plan's inspections.
#[utoipa::path(
    get,
    path = "/v1/plans/{index}/results",
    tag = "plans",
    summary = "Published inspection results of a plan (一公开)",
    params(
        ("index" = u64, Path, description = "a log index"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn results(
    State(s): State<AppState>,
    extract::IndexPath(index): extract::IndexPath,
) -> Result<Response, Problem> {
    let reg = registry(&s)?;
    let (i, _) = plan_index(reg, index)?;
    Ok(Json(serde_json::json!({ "plan_index": i, "results": reg.plan_results(i)? })).into_response())
}

/// `GET /v1/supervision-rules`: the bounds every plan is judged by.
#[utoipa::path(
    get,
    path = "/v1/supervision-rules",
    tag = "plans",
    summary = "The supervision rules, each with its source",
    responses(crate::openapi::JsonAnswer)
)]
pub(crate) async fn rules() -> Response {
    Json(verifier::plan::SupervisionRules::shipped()).into_response()
}

fn date_param(q: &HashMap<String, String>, name: &str, default: verifier::Date) -> Result<verifier::Date, Problem> {
    match q.get(name) {
        None => Ok(default),
        Some(d) => verifier::Date::parse(d).map_err(|e| {
            Problem::new(StatusCode::BAD_REQUEST, "bad-parameter", "Bad date", format!("{name}: {e}")).with_field(name)
        }),
    }
}

/// `GET /v1/visits[?from=D&to=D]` (default: today and the 30 days after): one visit per firm for
/// the plans drawn for a cycle in the window, each department's items and inspectors listed. A
/// department sees the visits it takes part in; the grading authority, auditors and courts all.
#[utoipa::path(
    get,
    path = "/v1/visits",
    tag = "plans",
    summary = "Joint visits (进一次门、查多项事)",
    params(
        ("from" = Option<String>, Query, description = "YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "YYYY-MM-DD"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn visits(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    Signed(caller): Signed,
) -> Result<Response, Problem> {
    let reg = registry(&s)?;
    let today = reg.today();
    let from = date_param(&q, "from", today)?;
    let to = date_param(&q, "to", today.add_days(30).unwrap_or(today))?;
    let department = match &caller {
        Principal::Department(c) => Some(c.as_str()),
        c if sees_all(c) => None,
        c => {
            return Err(RegistryError::Forbidden(format!(
                "visits go to the departments taking part, the grading authority, auditors and courts: announced early they would tip the firms off (通风报信); {c} may not read them"
            ))
            .into())
        }
    };
    let visits = reg.visits(from, to, department)?;
    let joint = visits.iter().filter(|v| v.joint).count();
    Ok(Json(serde_json::json!({ "from": from, "to": to, "joint": joint, "visits": visits })).into_response())
}

/// `GET /v1/stats/supervision[?from=D&to=D]` (default: this calendar year): per department, the
/// inspections drawn under the credit rules, the problem-detection rate per class and with versus
/// without the credit rules, and the share of joint visits (seed 003). Counts only, for any key
/// on the log: the answer reads every inspection result of the period, which an anonymous caller
/// could otherwise make the server do at will.
#[utoipa::path(
    get,
    path = "/v1/stats/supervision",
    tag = "plans",
    summary = "Supervision statistics per department",
    params(
        ("from" = Option<String>, Query, description = "YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "YYYY-MM-DD"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn stats(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    Signed(_caller): Signed,
) -> Result<Response, Problem> {
    let reg = registry(&s)?;
    let today = reg.today();
    let year = u32::from(today.year());
    let from = date_param(&q, "from", verifier::Date::new(year, 1, 1).unwrap_or(today))?;
    let to = date_param(&q, "to", verifier::Date::new(year, 12, 31).unwrap_or(today))?;
    Ok(Json(serde_json::json!({ "from": from, "to": to, "departments": reg.supervision_stats(from, to)? }))
        .into_response())
}
