//! An API node of a cluster (`creditlog serve --cluster FILE` with `role = "api"`) answers reads,
//! signed or not, from the shared state and its own views (request nonces and the journal of
//! reads are in PostgreSQL, shared by every node), and passes to the sequencer that holds the
//! lease, found in PostgreSQL:
//!
//! - every request that is not `GET` or `HEAD` (intake, identities, models, objections, ...):
//!   one sequencer decides what the log says next;
//! - the few reads that live in the sequencer's process: a firm's evidence bundle (which may
//!   publish a map of chain heads), the maps' leaves, re-grade jobs, the federation's status.
//!
//! The answer is the sequencer's, byte for byte, with `X-Creditlog-Served-By` naming it.

use crate::problem::Problem;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The largest request body passed on (the sequencer applies its own, smaller limits).
const MAX_FORWARDED_BODY: usize = 256 << 20;

/// How long the leader's address is reused before the lease row is read again.
const LEADER_TTL: Duration = Duration::from_millis(500);

/// Passes requests to the sequencer.
pub struct Forward {
    coord: Arc<cluster::Coordinator>,
    client: reqwest::Client,
    leader: Mutex<Option<(Instant, Option<cluster::Leader>)>>,
}

impl std::fmt::Debug for Forward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forward").finish_non_exhaustive()
    }
}

impl Forward {
    /// Forwards through `coord`'s lease row.
    ///
    /// # Panics
    ///
    /// If the HTTP client cannot be built (no TLS is used; it can).
    pub fn new(coord: Arc<cluster::Coordinator>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client without TLS builds");
        Self { coord, client, leader: Mutex::new(None) }
    }

    async fn leader(&self) -> Result<Option<cluster::Leader>, Problem> {
        if let Some((at, l)) = self.leader.lock().expect("lock").as_ref() {
            if at.elapsed() < LEADER_TTL {
                return Ok(l.clone());
            }
        }
        let coord = self.coord.clone();
        let l = tokio::task::spawn_blocking(move || coord.leader())
            .await
            .map_err(|_| Problem::internal())?
            .map_err(|e| {
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "coordination-unavailable",
                    "The cluster's database does not answer",
                    format!("this API node cannot find the sequencer: {e}"),
                )
            })?
            .filter(|l| l.live);
        *self.leader.lock().expect("lock") = Some((Instant::now(), l.clone()));
        Ok(l)
    }
}

/// Whether a request must be answered by the sequencer.
pub fn needs_sequencer(method: &Method, path: &str) -> bool {
    if !matches!(*method, Method::GET | Method::HEAD) {
        return true;
    }
    path.starts_with("/v1/regrade/")
        || path.starts_with("/v1/heads")
        || path == "/v1/federation"
        || (path.starts_with("/v1/enterprises/") && path.ends_with("/bundle"))
}

/// The header in which a sequencer says how many entries its log holds after a write.
pub const SIZE_HEADER: &str = "x-creditlog-log-size";

/// How long an API node waits for its own views to show a write it passed on.
const READ_YOUR_WRITES: Duration = Duration::from_secs(5);

/// Middleware: on an API node, passes a request that [`needs_sequencer`] to the sequencer, and
/// after a write waits (up to 5 s) until its own views show it, so that a client reads its
/// writes back from the node it wrote through. On any other server, says after a write how many
/// entries the log holds ([`SIZE_HEADER`]).
pub async fn forward(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let write = !matches!(*req.method(), Method::GET | Method::HEAD);
    let Some(fwd) = s.forward.clone() else {
        let mut r = next.run(req).await;
        if write && s.registry.is_some() {
            r.headers_mut().insert(SIZE_HEADER, HeaderValue::from(s.log.committed_size()));
        }
        return r;
    };
    if !needs_sequencer(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let r = match pass(&fwd, req).await {
        Ok(r) => r,
        Err(p) => return p.into_response(),
    };
    let size = r.headers().get(SIZE_HEADER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if let (Some(size), Some(reg)) = (size.filter(|_| r.status().is_success()), &s.registry) {
        let deadline = Instant::now() + READ_YOUR_WRITES;
        while reg.views_applied().is_ok_and(|n| n < size) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    r
}

async fn pass(fwd: &Forward, req: Request) -> Result<Response, Problem> {
    let Some(leader) = fwd.leader().await? else {
        let mut r = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-sequencer",
            "No sequencer holds the lease",
            "no sequencer holds the cluster's lease right now (a standby takes over when the last one's lease expires); retry in a few seconds",
        )
        .into_response();
        r.headers_mut().insert(axum::http::header::RETRY_AFTER, HeaderValue::from_static("2"));
        return Ok(r);
    };
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_FORWARDED_BODY).await.map_err(|e| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            format!("an API node passes on bodies of at most {MAX_FORWARDED_BODY} bytes: {e}"),
        )
    })?;
    let target =
        format!("{}{}", leader.url.trim_end_matches('/'), parts.uri.path_and_query().map_or("/", |p| p.as_str()));
    let mut out = fwd.client.request(parts.method.clone(), &target).body(body);
    for (name, value) in &parts.headers {
        if !is_hop(name) {
            out = out.header(name, value);
        }
    }
    let resp = out.send().await.map_err(|e| {
        *fwd.leader.lock().expect("lock") = None;
        Problem::new(
            StatusCode::BAD_GATEWAY,
            "sequencer-unavailable",
            "The sequencer does not answer",
            format!(
                "the sequencer {} at {} did not answer this API node: {e}; retry in a few seconds",
                leader.holder, leader.url
            ),
        )
    })?;
    let mut r = Response::builder().status(resp.status().as_u16());
    for (name, value) in resp.headers() {
        if !is_hop(name) {
            r = r.header(name, value);
        }
    }
    r = r.header("x-creditlog-served-by", leader.holder.as_str());
    let bytes = resp.bytes().await.map_err(|e| {
        Problem::new(
            StatusCode::BAD_GATEWAY,
            "sequencer-unavailable",
            "The sequencer's answer was cut short",
            format!("the answer of the sequencer {} was cut short: {e}", leader.holder),
        )
    })?;
    r.body(Body::from(bytes)).map_err(|_| Problem::internal())
}

/// Headers that belong to one connection, not to the request (RFC 9110 §7.6.1), and the length
/// the client recomputes.
fn is_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "upgrade"
            | "te"
            | "trailer"
            | "host"
            | "content-length"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_of_sequencer_state_go_to_the_sequencer() {
        assert!(needs_sequencer(&Method::POST, "/v1/records"));
        assert!(needs_sequencer(&Method::GET, "/v1/enterprises/91370200MA3C4XJ21K/bundle"));
        assert!(needs_sequencer(&Method::GET, "/v1/heads/12/leaves"));
        assert!(!needs_sequencer(&Method::GET, "/v1/enterprises/91370200MA3C4XJ21K/history"));
        assert!(!needs_sequencer(&Method::GET, "/tile/0/000.p/3"));
        assert!(!needs_sequencer(&Method::GET, "/checkpoint"));
    }
}
