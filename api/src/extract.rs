//! Authentication as axum extractors (as axum's `examples/error-handling` custom extractor), and
//! request bodies read under a per-route limit.
//!
//! - [`Signed`]: a GET that must be signed (RFC 9421, see [`crate::auth`]); yields the principal.
//! - [`MaybeSigned`]: a GET that may be signed; `None` when it carries no signature headers.
//! - [`SignedBody`]: a POST that must be signed; yields the principal and the body. The signature
//!   headers are parsed and the key looked up on the log *before* a byte of the body is read: a
//!   request that is not signed by a key that counts gets its 401 without the body being read, and
//!   is refused with 413 if its `Content-Length` exceeds [`UNAUTHENTICATED_BODY_LIMIT`]. A signed
//!   body is read up to the route's limit (the `LIMIT` parameter): a `Content-Length` above it is
//!   refused with 413 before reading, a body without one is cut at the limit.
//!
//! Every rejection is a [`Problem`] (problem+json).

use crate::auth::{self, AuthError, SignedRequest};
use crate::{registry, AppState, Problem};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use http_body_util::BodyExt;
use std::time::Duration;
use verifier::identity::Principal;

/// Most bytes of `POST /v1/records`: 10,000 records ([`crate::MAX_RECORDS_PER_REQUEST`]) of up to
/// about 3 KiB each.
pub const RECORDS_BODY_LIMIT: usize = 32 << 20;
/// Most bytes of `POST /v1/identities`: one identity statement.
pub const IDENTITY_BODY_LIMIT: usize = 64 << 10;
/// Most bytes of the other signed POSTs (`/v1/models`, `/v1/regrade`).
pub const SIGNED_BODY_LIMIT: usize = 1 << 20;
/// Most bytes of `POST /v1/log/entries` (unauthenticated raw appends, `--raw-append` only).
pub const RAW_APPEND_BODY_LIMIT: usize = 64 << 20;
/// A request not signed by a key on the log whose `Content-Length` exceeds this is refused with
/// 413; below it, with 401. Its body is never read.
pub const UNAUTHENTICATED_BODY_LIMIT: usize = 64 << 10;

/// A request signed by a key that counts now; GET routes (the signature covers no body).
#[derive(Debug, Clone)]
pub struct Signed(pub Principal);

/// The principal of a signed request, or `None` for a request without signature headers. A
/// request that carries signature headers must verify.
#[derive(Debug, Clone)]
pub struct MaybeSigned(pub Option<Principal>);

/// A signed request with a body of at most `LIMIT` bytes.
#[derive(Debug, Clone)]
pub struct SignedBody<const LIMIT: usize> {
    /// Who signed it.
    pub principal: Principal,
    /// The body, as covered by `Content-Digest`.
    pub body: Bytes,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn unauthorized(e: &AuthError) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "request-signature", "Request signature not accepted", e.to_string())
        .with_field("Signature")
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The parsed signature and the key it names, if that key counts now; reads only headers.
fn identify(s: &AppState, headers: &HeaderMap) -> Result<(SignedRequest, Principal, [u8; 32]), Problem> {
    let req =
        auth::parse(header(headers, "signature-input"), header(headers, "signature")).map_err(|e| unauthorized(&e))?;
    let reg = registry(s)?;
    let (principal, public) = reg.principal(&req.keyid).map_err(|e| unauthorized(&AuthError::Key(e.to_string())))?;
    Ok((req, principal, public))
}

/// Checks the signature of an identified request over its method, URI and body.
async fn check(
    s: &AppState,
    (req, principal, public): (SignedRequest, Principal, [u8; 32]),
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Principal, Problem> {
    // The key's bytes go straight to the acceptance rule, which decodes and checks the point
    // once; decoding it here first as well cost a second point decompression per request.
    req.verify(
        method.as_str(),
        uri.path(),
        uri.query().unwrap_or(""),
        body,
        header(headers, "content-digest"),
        &public,
        now(),
        s.signature_window,
        &s.nonces,
    )
    .await
    .map_err(|e| unauthorized(&e))?;
    Ok(principal)
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Problem> {
        let id = identify(s, &parts.headers)?;
        check(s, id, &parts.method, &parts.uri, &parts.headers, &[]).await.map(Signed)
    }
}

impl FromRequestParts<AppState> for MaybeSigned {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Problem> {
        let h = &parts.headers;
        if header(h, "signature-input").is_none() && header(h, "signature").is_none() {
            return Ok(MaybeSigned(None));
        }
        let id = identify(s, h)?;
        check(s, id, &parts.method, &parts.uri, h, &[]).await.map(|p| MaybeSigned(Some(p)))
    }
}

impl<const LIMIT: usize> FromRequest<AppState> for SignedBody<LIMIT> {
    type Rejection = Problem;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Problem> {
        let (parts, body) = req.into_parts();
        // Who is asking, before a byte of the body is read.
        let id = match identify(s, &parts.headers) {
            Ok(id) => id,
            Err(refusal) => {
                check_length(&parts.headers, UNAUTHENTICATED_BODY_LIMIT, "a request not signed by a key on the log")?;
                return Err(refusal);
            }
        };
        let body = read_body(body, &parts.headers, LIMIT, s.limits.body_read_timeout).await?;
        let principal = check(s, id, &parts.method, &parts.uri, &parts.headers, &body).await?;
        Ok(SignedBody { principal, body })
    }
}

/// The `{uscc}` of a path, validated before the request's signature is checked (so a malformed
/// code is a 400 whoever asks).
#[derive(Debug, Clone)]
pub struct EnterprisePath(pub verifier::uscc::Uscc);

impl<S: Send + Sync> FromRequestParts<S> for EnterprisePath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Problem> {
        let Path(raw) = Path::<String>::from_request_parts(parts, s).await.map_err(|_| Problem::internal())?;
        verifier::uscc::Uscc::parse(&raw).map(EnterprisePath).map_err(|e| {
            Problem::new(StatusCode::BAD_REQUEST, "bad-uscc", "Malformed Unified Social Credit Code", e.to_string())
                .with_field("uscc")
        })
    }
}

/// The `{index}` of a path, validated before the request's signature is checked.
#[derive(Debug, Clone, Copy)]
pub struct IndexPath(pub u64);

impl<S: Send + Sync> FromRequestParts<S> for IndexPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Problem> {
        let Path(raw) = Path::<String>::from_request_parts(parts, s).await.map_err(|_| Problem::internal())?;
        crate::parse_index(&raw).map(IndexPath)
    }
}

fn too_large(detail: String) -> Problem {
    Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "body-too-large", "Request body too large", detail)
}

/// Refuses a `Content-Length` above `limit` (a malformed one too), without reading the body.
fn check_length(headers: &HeaderMap, limit: usize, what: &str) -> Result<(), Problem> {
    let Some(raw) = headers.get(axum::http::header::CONTENT_LENGTH) else { return Ok(()) };
    let length = raw.to_str().ok().and_then(|v| v.parse::<u64>().ok()).ok_or_else(|| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-content-length",
            "Malformed Content-Length",
            "Content-Length is not a decimal number",
        )
        .with_field("Content-Length")
    })?;
    if length > limit as u64 {
        return Err(too_large(format!("the body is {length} bytes; {what} may send at most {limit} bytes"))
            .with_field("Content-Length"));
    }
    Ok(())
}

/// Reads a body of at most `limit` bytes within `timeout`: a larger `Content-Length` is refused
/// before reading, a body without one is cut at the limit.
///
/// # Errors
///
/// 413 over the limit, 408 if the body is not complete within `timeout`, 400 if the connection
/// fails mid-body.
pub async fn read_body(body: Body, headers: &HeaderMap, limit: usize, timeout: Duration) -> Result<Bytes, Problem> {
    check_length(headers, limit, "this route")?;
    let read = async {
        let mut body = body;
        let mut buf = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                Problem::new(StatusCode::BAD_REQUEST, "body-read", "Request body not received", e.to_string())
            })?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > limit {
                    return Err(too_large(format!("the body exceeds {limit} bytes, the most this route accepts")));
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(Bytes::from(buf))
    };
    tokio::time::timeout(timeout, read).await.unwrap_or_else(|_| {
        Err(Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "body-timeout",
            "Request body too slow",
            format!("the body was not received within {} s", timeout.as_secs()),
        ))
    })
}
