//! What one request or connection may cost the server: a deadline per request, a bound on the
//! requests in flight, and idle connections closed. Body sizes are bounded where bodies are read
//! ([`crate::extract`]).

use crate::{AppState, Problem};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;

/// Deadline for a request (its body included), except re-grading.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Deadline for `POST /v1/regrade`, which re-grades every firm and can run minutes.
pub const REGRADE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Deadline for receiving a request body; shorter than [`REQUEST_TIMEOUT`] so that a slow upload
/// gets its own 408.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(20);
/// Requests handled at once; the others wait for a slot (up to [`REQUEST_TIMEOUT`], then 503).
pub const MAX_IN_FLIGHT: usize = 256;
/// A connection that sends no complete request head for this long is closed (both a new
/// connection and an idle keep-alive one).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The limits a server runs with; [`Limits::default`] gives the constants above.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// See [`REQUEST_TIMEOUT`].
    pub request_timeout: Duration,
    /// See [`REGRADE_TIMEOUT`].
    pub regrade_timeout: Duration,
    /// See [`BODY_READ_TIMEOUT`].
    pub body_read_timeout: Duration,
    /// See [`MAX_IN_FLIGHT`].
    pub max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_timeout: REQUEST_TIMEOUT,
            regrade_timeout: REGRADE_TIMEOUT,
            body_read_timeout: BODY_READ_TIMEOUT,
            max_in_flight: MAX_IN_FLIGHT,
        }
    }
}

fn unavailable(slug: &str, title: &str, detail: String) -> Response {
    let mut r = Problem::new(StatusCode::SERVICE_UNAVAILABLE, slug, title, detail).into_response();
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    r
}

/// Middleware: waits for one of the in-flight slots, then runs the request under its deadline.
/// The handler runs in its own task holding the slot, so a deadline that passes answers the
/// client without cancelling a write half-way; the slot is freed when the work ends.
pub(crate) async fn limit_cost(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let limits = s.limits;
    let Ok(Ok(slot)) = tokio::time::timeout(limits.request_timeout, s.in_flight.clone().acquire_owned()).await else {
        return unavailable(
            "busy",
            "Server busy",
            format!(
                "{} requests are in progress and none finished within {} s; try again later",
                limits.max_in_flight,
                limits.request_timeout.as_secs()
            ),
        );
    };
    let deadline = if req.uri().path() == "/v1/regrade" { limits.regrade_timeout } else { limits.request_timeout };
    let work = tokio::spawn(async move {
        let answer = next.run(req).await;
        drop(slot);
        answer
    });
    match tokio::time::timeout(deadline, work).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "request handler failed");
            Problem::internal().into_response()
        }
        Err(_) => unavailable(
            "timeout",
            "Request took too long",
            format!(
                "the server did not finish this request within {} s; a write may still complete, and submissions are idempotent, so sending it again (signed anew) is safe",
                deadline.as_secs()
            ),
        ),
    }
}

/// Serves `app` on `listener` over HTTP/1.1 until `shutdown` completes, then lets the open
/// connections finish their current request. A connection that does not send a complete request
/// head within `idle_timeout` (a new one, or a kept-alive one between requests) is closed.
///
/// Used instead of `axum::serve`, which sets no timer and so cannot time out idle connections.
///
/// # Errors
///
/// Never after start-up: accept errors (e.g. out of file descriptors) are logged and retried.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    idle_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let service = TowerToHyperService::new(app.clone());
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(idle_timeout);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            let mut stopping = false;
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    _ = stop.changed(), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(stop);
        });
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(());
    // Every connection task holds a receiver; this returns when the last one ends.
    stop_tx.closed().await;
    Ok(())
}
