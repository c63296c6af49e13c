//! Identities and keys: `POST /v1/identities`, `GET /v1/keys/{keyid}`, `GET /v1/jurisdiction`.

use super::*;

#[utoipa::path(
    post,
    path = "/v1/identities",
    tag = "identities",
    summary = "Submit a signed identity statement",
    request_body(content = crate::openapi::Json, content_type = "application/json", description = "a JSON body (see the README and docs/FORMAT.md)"),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn submit_identity(
    State(s): State<AppState>,
    SignedBody { body, .. }: SignedBody<IDENTITY_BODY_LIMIT>,
) -> Result<Response, Problem> {
    // Every statement needs a signed request by a key on the log; the operator's own
    // registration is appended by the registry at its first start.
    let envelope = envelope_body(&body, "an identity statement")?;
    entry_answer(registry(&s)?.submit_identity(envelope).await?, "identity-rejected", "Identity statement refused")
}

/// `GET /v1/keys/{keyid}`: a registered key and its life on the log. Keys of departments, the
/// operator and role holders are public, so anyone can check a signature; enterprise keys are not
/// listed (the binding names the USCC).
#[utoipa::path(
    get,
    path = "/v1/keys/{keyid}",
    tag = "identities",
    summary = "A registered key: holder, department, when it counted",
    params(
        ("keyid" = String, Path, description = "a key id"),
    ),
    responses((status = 200, description = "the key", body = KeyInfo), crate::openapi::Refusal),
)]
pub(crate) async fn key_info(State(s): State<AppState>, Path(keyid): Path<String>) -> Result<Response, Problem> {
    let book = registry(&s)?.key_book();
    let not_found = || {
        Problem::new(
            StatusCode::NOT_FOUND,
            "no-key",
            "No such public key",
            format!("no public key {keyid} is registered on this log"),
        )
        .with_field("keyid")
    };
    let k = book.keys.get(&keyid).ok_or_else(not_found)?;
    if matches!(k.principal, Principal::Enterprise(_)) {
        return Err(not_found());
    }
    // A department's registration is public: its name, the kinds it may submit and its domains
    // (`creditlog import` checks a file's deciding body against the name).
    let department = match &k.principal {
        Principal::Department(code) => book.departments.get(code).map(|d| DepartmentInfo {
            code: code.clone(),
            name: d.name.clone(),
            kinds: d.kinds.iter().cloned().collect(),
            domains: d.domains.iter().cloned().collect(),
        }),
        _ => None,
    };
    Ok(Json(KeyInfo {
        key_id: keyid,
        public_key: BASE64_STANDARD.encode(k.public),
        principal: k.principal.clone(),
        holder: k.principal.to_string(),
        registered_at_entry: k.registered,
        revoked_at_entry: k.revoked,
        department,
    })
    .into_response())
}

/// `GET /v1/keys/{keyid}`: a registered key.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct KeyInfo {
    /// The key id (docs/FORMAT.md §2).
    pub key_id: String,
    /// The Ed25519 public key, base64.
    pub public_key: String,
    /// Whose key: `{"kind": "operator"}`, `{"kind": "department", "id": code}`, `{"kind": "role", "id": [role, name]}`.
    #[schema(value_type = Object)]
    pub principal: Principal,
    /// The holder in words.
    pub holder: String,
    /// The entry that registered it.
    pub registered_at_entry: u64,
    /// The entry that revoked it, if any.
    pub revoked_at_entry: Option<u64>,
    /// A department's public registration.
    pub department: Option<DepartmentInfo>,
}

/// A department as the log registers it (public).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DepartmentInfo {
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// The record kinds it may submit.
    pub kinds: Vec<String>,
    /// Its supervision domains.
    pub domains: Vec<String>,
}

/// `GET /v1/jurisdiction`: the jurisdiction's settings and its local date.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct JurisdictionInfo {
    /// Its name.
    pub name: String,
    /// Its IANA time zone.
    pub time_zone: String,
    /// Its UTC offset, `UTC+08:00`.
    pub utc_offset: String,
    /// Its UTC offset in minutes.
    pub utc_offset_minutes: i32,
    /// The earliest date a record may carry.
    #[schema(value_type = String, format = Date)]
    pub earliest_record_date: verifier::Date,
    /// How many days after today a record's date may be.
    pub future_tolerance_days: u32,
    /// The entry that set these.
    pub set_at_entry: Option<u64>,
    /// The local date today.
    #[schema(value_type = String, format = Date)]
    pub today: verifier::Date,
}

/// `GET /v1/jurisdiction`: the jurisdiction's name, time zone and date settings as the log sets
/// them now (public: every date rule depends on them), and its local date today.
#[utoipa::path(
    get,
    path = "/v1/jurisdiction",
    tag = "identities",
    summary = "The jurisdiction's settings and its local date",
    responses((status = 200, description = "the jurisdiction", body = JurisdictionInfo), crate::openapi::Refusal)
)]
pub(crate) async fn jurisdiction(State(s): State<AppState>) -> Result<Response, Problem> {
    let r = registry(&s)?;
    let j = r.jurisdiction();
    Ok(Json(JurisdictionInfo {
        name: j.name,
        time_zone: j.time_zone,
        utc_offset: j.settings.utc_label(),
        utc_offset_minutes: j.settings.utc_offset_minutes,
        earliest_record_date: j.settings.earliest_record_date,
        future_tolerance_days: j.settings.future_tolerance_days,
        set_at_entry: j.set_at,
        today: r.today(),
    })
    .into_response())
}
