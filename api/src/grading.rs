//! Flows 2–4, models and grading: `POST /v1/models`, `GET /v1/models/{hash}`, `POST /v1/regrade`,
//! `GET /v1/enterprises/{uscc}`, `GET /v1/stats/grades`.

use super::*;

pub(crate) fn is_grading_authority(p: &Principal) -> bool {
    matches!(p, Principal::Role(verifier::identity::Role::GradingAuthority, _))
}

#[utoipa::path(
    post,
    path = "/v1/models",
    tag = "grading",
    summary = "Publish a scoring model",
    request_body(content = crate::openapi::Json, content_type = "application/json", description = "a JSON body (see the README and docs/FORMAT.md)"),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn publish_model(
    State(s): State<AppState>,
    SignedBody { principal, body }: SignedBody<SIGNED_BODY_LIMIT>,
) -> Result<Response, Problem> {
    require(&principal, is_grading_authority, "scoring models are published by the grading authority")?;
    let envelope: Envelope = serde_json::from_slice(&body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-json",
            "Malformed request body",
            format!("expected a DSSE envelope of the model file: {e}"),
        )
    })?;
    match registry(&s)?.publish_model(envelope).await? {
        Outcome::Appended { index } | Outcome::Duplicate { index } => {
            let hash =
                registry(&s)?.models().into_iter().find(|(_, m)| m.index == index).map(|(h, _)| h).unwrap_or_default();
            Ok(Json(serde_json::json!({ "index": index, "model": hash })).into_response())
        }
        Outcome::Rejected(r) => Err(rejected(r, "model-rejected", "Model refused")),
        Outcome::WouldAppend => Err(Problem::internal()),
    }
}

#[utoipa::path(
    get,
    path = "/v1/models/{hash}",
    tag = "grading",
    summary = "A published model file",
    params(
        ("hash" = String, Path, description = "SHA-256 of the model file, hex"),
    ),
    responses(
        (status = 200, description = "the model file (TOML)", content_type = "text/plain", body = String),
        crate::openapi::Refusal,
    ),
)]
pub(crate) async fn model_file(State(s): State<AppState>, Path(hash): Path<String>) -> Result<Response, Problem> {
    let reg = registry(&s)?;
    let pm = reg.models().get(&hash).cloned().ok_or_else(|| RegistryError::NoModel(hash.clone()))?;
    let view = reg.entry(pm.index, None)?;
    let content = view.content.ok_or_else(Problem::internal)?;
    let payload = BASE64_STANDARD.decode(&content.envelope.payload).map_err(|_| Problem::internal())?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/toml; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
        ],
        payload,
    )
        .into_response())
}

/// `POST /v1/regrade[?wait=true]`: the body is a re-grading order signed by the grading
/// authority (a DSSE envelope of `{"type": "creditlog.regrade-order/v1", "model": hash, "as_of":
/// "YYYY-MM-DD"}`, payload type `application/vnd.creditlog.order+json`); the order is logged and
/// the run's decisions cite it. The run is a job: the answer is `202` with the job's status (its
/// id is the order's index; follow it at `GET /v1/regrade/jobs/{id}`), or with `wait=true`,
/// `200` with the run summary once it ends.
#[utoipa::path(
    post,
    path = "/v1/regrade",
    tag = "grading",
    summary = "Start a full re-grade under a model (a job; wait=true waits for its end)",
    params(
        ("wait" = Option<bool>, Query, description = "answer when the run ends, with its summary"),
    ),
    request_body(content = crate::openapi::Json, content_type = "application/json", description = "a JSON body (see the README and docs/FORMAT.md)"),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn regrade(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    SignedBody { principal, body }: SignedBody<SIGNED_BODY_LIMIT>,
) -> Result<Response, Problem> {
    require(&principal, is_grading_authority, "re-grading is ordered by the grading authority")?;
    let order: Envelope = serde_json::from_slice(&body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-json",
            "Malformed request body",
            format!("expected a re-grading order signed by the grading authority (a DSSE envelope): {e}"),
        )
    })?;
    let job = match registry(&s)?.start_regrade(order).await? {
        Ok(job) => job,
        Err(r) => return Err(rejected(r, "order-rejected", "Re-grading order refused")),
    };
    if q.get("wait").is_some_and(|v| v == "true" || v == "1") {
        let (summary, index) = job
            .finished()
            .await
            .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "regrade-failed", "The re-grade failed", e))?;
        return Ok(Json(serde_json::json!({ "summary": summary, "index": index })).into_response());
    }
    let mut r = Json(job.status()).into_response();
    *r.status_mut() = StatusCode::ACCEPTED;
    r.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&format!("/v1/regrade/jobs/{}", job.order)).map_err(|_| Problem::internal())?,
    );
    Ok(r)
}

/// `GET /v1/regrade/jobs/{id}`: a re-grade's progress (firms done of total, decisions appended,
/// estimated time left) or its end (the run summary, or why it failed). For the grading
/// authority, auditors and courts.
#[utoipa::path(
    get,
    path = "/v1/regrade/jobs/{id}",
    tag = "grading",
    summary = "A full re-grade's progress",
    params(
        ("id" = u64, Path, description = "the job's id: its order's log index"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn regrade_job(
    State(s): State<AppState>,
    extract::IndexPath(id): extract::IndexPath,
    Signed(caller): Signed,
) -> Result<Response, Problem> {
    require(
        &caller,
        |p| {
            matches!(
                p,
                Principal::Role(
                    verifier::identity::Role::GradingAuthority
                        | verifier::identity::Role::Auditor
                        | verifier::identity::Role::Court,
                    _
                )
            )
        },
        "a re-grade's progress is for the grading authority, auditors and courts",
    )?;
    let job = registry(&s)?.regrade_job(id).ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "no-job",
            "No such re-grade",
            format!("no re-grade with order {id} runs or ran in this server process (a finished run's summary is on the log, citing its order)"),
        )
        .with_field("id")
    })?;
    Ok(Json(job.status()).into_response())
}

/// `GET /v1/enterprises/{uscc}`: the firm's current grades. The firm, the grading authority,
/// auditors and courts get the full decision; departments get the class and score only (the
/// decision's list of entries would tell them which log entries are about the firm). Every
/// read by someone other than the firm is journalled.
#[utoipa::path(
    get,
    path = "/v1/enterprises/{uscc}",
    tag = "grading",
    summary = "A firm's current grades with their decisions",
    params(
        ("uscc" = String, Path, description = "the firm's Unified Social Credit Code (统一社会信用代码)"),
    ),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn grades(
    State(s): State<AppState>,
    extract::EnterprisePath(uscc): extract::EnterprisePath,
    Signed(caller): Signed,
) -> Result<Response, Problem> {
    let view = registry::access::grade_view(&caller, uscc.as_str())?;
    let reg = registry(&s)?;
    reg.journal_read(
        uscc.as_str(),
        &caller,
        if view == registry::access::GradeView::Full { "decision" } else { "grade" },
    )?;
    let mut out = Vec::new();
    for g in reg.current_grades(uscc.as_str())? {
        let mut v = serde_json::json!({ "model": g.model, "class": g.class, "score": g.score, "as_of": g.as_of });
        if view == registry::access::GradeView::Full {
            v["decision_index"] = g.decision.into();
            v["decision"] = serde_json::to_value(reg.decision(g.decision)?).map_err(|_| Problem::internal())?;
        }
        out.push(v);
    }
    Ok(Json(serde_json::json!({ "uscc": uscc.as_str(), "grades": out })).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/stats/grades",
    tag = "grading",
    summary = "Class distribution per model",
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn grade_stats(State(s): State<AppState>, Signed(caller): Signed) -> Result<Response, Problem> {
    registry::access::may_read_class_statistics(&caller)?;
    let reg = registry(&s)?;
    let models = reg.models();
    let stats = reg.grade_stats()?;
    let mut history = reg.class_history()?;
    let mut out = Vec::new();
    for (hash, counts) in stats {
        let total: u64 = counts.values().sum();
        let classes: Vec<serde_json::Value> = models.get(&hash).map(|m| m.model.classes.clone()).unwrap_or_default().iter().map(|c| {
            let n = counts.get(&c.label).copied().unwrap_or(0);
            // Per mille, integer: no floats in anything a court may recompute.
            serde_json::json!({ "class": c.label, "name": c.name, "firms": n, "per_mille": (n * 1000).checked_div(total).unwrap_or(0) })
        }).collect();
        // The distribution at the end of each month in which a decision changed a class.
        let months: Vec<serde_json::Value> = history
            .remove(&hash)
            .unwrap_or_default()
            .into_iter()
            .map(|(month, counts)| serde_json::json!({ "month": month, "classes": counts }))
            .collect();
        out.push(serde_json::json!({ "model": hash, "id": models.get(&hash).map(|m| m.model.id.clone()), "firms": total, "classes": classes, "history": months }));
    }
    Ok(Json(serde_json::json!({ "models": out })).into_response())
}
