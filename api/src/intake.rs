//! Flow 1, intake (信息归集): `POST /v1/records`.

use super::*;

/// `POST /v1/records` body.
#[derive(Debug, Serialize, Deserialize)]
pub struct RecordBatch {
    /// DSSE envelopes of department-signed records.
    pub records: Vec<Envelope>,
}

/// Most records in one request.
pub const MAX_RECORDS_PER_REQUEST: usize = 10_000;

#[utoipa::path(
    post,
    path = "/v1/records",
    tag = "intake",
    summary = "Submit department-signed records (intake, 信息归集)",
    request_body(content = crate::openapi::Json, content_type = "application/json", description = "a JSON body (see the README and docs/FORMAT.md)"),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn submit_records(
    State(s): State<AppState>,
    SignedBody { principal, body }: SignedBody<RECORDS_BODY_LIMIT>,
) -> Result<Response, Problem> {
    let batch = record_batch(&principal, &body)?;
    let results = registry(&s)?.submit_records(batch.records).await?;
    Ok(Json(serde_json::json!({ "results": results })).into_response())
}

/// `POST /v1/records/check`: a dry run of `POST /v1/records` (`creditlog import --check`). The
/// same body, signer and checks, against the log as it stands; each record's answer is the one
/// the real request would give, with `{"outcome": "would_append"}` in place of `appended`.
/// Nothing is appended.
#[utoipa::path(
    post,
    path = "/v1/records/check",
    tag = "intake",
    summary = "Dry run of record submission (creditlog import --check)",
    request_body(content = crate::openapi::Json, content_type = "application/json", description = "a JSON body (see the README and docs/FORMAT.md)"),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn check_records(
    State(s): State<AppState>,
    SignedBody { principal, body }: SignedBody<RECORDS_BODY_LIMIT>,
) -> Result<Response, Problem> {
    let batch = record_batch(&principal, &body)?;
    let results = registry(&s)?.check_records(batch.records).await?;
    Ok(Json(serde_json::json!({ "results": results })).into_response())
}

fn record_batch(principal: &Principal, body: &[u8]) -> Result<RecordBatch, Problem> {
    if !matches!(principal, Principal::Department(_)) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "not-a-department",
            "Only departments submit records",
            format!(
                "records are submitted by departments (谁产生、谁提供、谁负责); this request is signed by {principal}"
            ),
        ));
    }
    let batch: RecordBatch = serde_json::from_slice(body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-json",
            "Malformed request body",
            format!("expected {{\"records\": [DSSE envelope, ...]}}: {e}"),
        )
        .with_field("records")
    })?;
    if batch.records.len() > MAX_RECORDS_PER_REQUEST {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-many-records",
            "Too many records",
            format!("{} records in one request; send at most {MAX_RECORDS_PER_REQUEST}", batch.records.len()),
        )
        .with_field("records"));
    }
    Ok(batch)
}
