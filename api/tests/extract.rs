//! The authentication extractors and body limits, through `app()` in process (`oneshot`, no
//! socket), as in axum's `examples/testing`.

use api::auth::sign_request;
use api::{app, AppState};
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use ed25519_dalek::SigningKey;
use http_body_util::BodyExt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::ServiceExt;

struct Fixture {
    _dir: tempfile::TempDir,
    state: AppState,
    operator: SigningKey,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = ledger::keys::LogKey::load_or_create(dir.path(), None, "test.example/extract").unwrap();
    let (log, _) = ledger::Log::open(&dir.path().join("log"), key, ledger::LogConfig::default()).unwrap();
    let reg = registry::Registry::open(dir.path(), log.clone()).await.unwrap();
    let operator = registry::keyfile::read(&dir.path().join(registry::OPERATOR_KEY_FILE)).unwrap();
    let state = AppState::new(log, Some(reg), false, dir.path()).unwrap();
    Fixture { _dir: dir, state, operator }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn request(method: &str, path: &str, headers: &[(&'static str, String)], body: Body) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        r = r.header(*k, v);
    }
    r.body(body).unwrap()
}

async fn answer(state: &AppState, req: Request<Body>) -> (StatusCode, serde_json::Value) {
    let r = app(state.clone()).oneshot(req).await.unwrap();
    let status = r.status();
    let body = r.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
}

/// A body that never sends a byte: a handler that tried to read it would never answer.
struct Silent;

impl http_body::Body for Silent {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Poll::Pending
    }
}

#[tokio::test]
async fn signed_yields_the_principal_and_refuses_replays_and_the_future() {
    let f = fixture().await;
    let (status, v) = answer(&f.state, request("GET", "/v1/stats/grades", &[], Body::empty())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["type"], "/problems/request-signature");
    assert!(v["detail"].as_str().unwrap().starts_with("this request must be signed"), "{v}");

    let headers = sign_request("GET", "/v1/stats/grades", "", None, &f.operator, now(), "extract-0001");
    let (status, v) = answer(&f.state, request("GET", "/v1/stats/grades", &headers, Body::empty())).await;
    // The signature is accepted and names the operator, who supervises no one: the policy, not
    // the extractor, refuses.
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("the operator may not read it"), "{v}");
    let (status, v) = answer(&f.state, request("GET", "/v1/stats/grades", &headers, Body::empty())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["detail"], "replayed request: nonce \"extract-0001\" was already used");

    let headers = sign_request("GET", "/v1/stats/grades", "", None, &f.operator, now() + 120, "extract-0002");
    let (status, v) = answer(&f.state, request("GET", "/v1/stats/grades", &headers, Body::empty())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("s in the future; the server's clock is"), "{v}");
}

#[tokio::test]
async fn maybe_signed_and_path_checks() {
    let f = fixture().await;
    // Entry 0, the operator's registration, is public: no signature needed.
    let (status, v) = answer(&f.state, request("GET", "/v1/entries/0", &[], Body::empty())).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // Signature headers that do not verify are refused, even where none is needed.
    let mut headers = sign_request("GET", "/v1/entries/1", "", None, &f.operator, now(), "extract-0003");
    headers.retain(|(k, _)| *k != "signature");
    headers.push(("signature", format!("sig1=:{}:", "A".repeat(86) + "==")));
    let (status, v) = answer(&f.state, request("GET", "/v1/entries/0", &headers, Body::empty())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    // A malformed path parameter is a 400 before the signature is looked at.
    let (status, v) = answer(&f.state, request("GET", "/v1/enterprises/nonsense/history", &[], Body::empty())).await;
    assert_eq!((status, v["type"].as_str()), (StatusCode::BAD_REQUEST, Some("/problems/bad-uscc")), "{v}");
    let (status, v) = answer(&f.state, request("GET", "/v1/entries/01", &[], Body::empty())).await;
    assert_eq!((status, v["field"].as_str()), (StatusCode::BAD_REQUEST, Some("index")), "{v}");
}

#[tokio::test]
async fn signed_body_checks_the_key_before_reading() {
    let f = fixture().await;
    // An unknown key: 401 although the body never arrives.
    let stranger = SigningKey::from_bytes(&[3u8; 32]);
    let mut headers = sign_request("POST", "/v1/records", "", Some(b"{}"), &stranger, now(), "extract-0004");
    headers.push(("content-length", "2".into()));
    let req = request("POST", "/v1/records", &headers, Body::new(Silent));
    let (status, v) =
        tokio::time::timeout(Duration::from_secs(5), answer(&f.state, req)).await.expect("answered unread");
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert!(v["detail"].as_str().unwrap().contains(&verifier::envelope::key_id(&stranger.verifying_key())), "{v}");
    // No signature and a large announced body: 413, unread.
    let req = request("POST", "/v1/records", &[("content-length", "70000".into())], Body::new(Silent));
    let (status, v) =
        tokio::time::timeout(Duration::from_secs(5), answer(&f.state, req)).await.expect("answered unread");
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    // A known key: the body is read, verified, and the handler sees the principal.
    let body = br#"{"payloadType":"x","payload":"","signatures":[]}"#;
    let headers = sign_request("POST", "/v1/models", "", Some(body), &f.operator, now(), "extract-0005");
    let (status, v) = answer(&f.state, request("POST", "/v1/models", &headers, Body::from(&body[..]))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("this request is signed by"), "{v}");
    // A body that differs from the signed digest.
    let headers = sign_request("POST", "/v1/models", "", Some(body), &f.operator, now(), "extract-0006");
    let (status, v) = answer(&f.state, request("POST", "/v1/models", &headers, Body::from("{}"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["detail"], "the Content-Digest header does not match the request body");
}
