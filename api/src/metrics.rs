//! `GET /metrics`: Prometheus text exposition (format 0.0.4) of every node, embedded or clustered.
//!
//! | metric | what |
//! | --- | --- |
//! | `creditlog_http_requests_total{route,code}` | requests answered, by route pattern and status |
//! | `creditlog_http_request_duration_seconds{route}` | histogram of the time to answer, by route |
//! | `creditlog_log_size` | entries in the newest published checkpoint |
//! | `creditlog_log_unpublished_entries` | entries acknowledged but not yet in a checkpoint (the sequencer's lag) |
//! | `creditlog_sequencer_queue_depth` | append requests waiting for the sequencer |
//! | `creditlog_sequencer_batches_total`, `creditlog_sequencer_entries_total` | batches made durable and their entries |
//! | `creditlog_sequencer_batch_entries` | histogram of batch sizes |
//! | `creditlog_views_applied_entries`, `creditlog_views_lag_entries` | how far this node's views reflect the log, and how far behind its checkpoint they are |
//! | `creditlog_node_forwards_writes` | 1 on an API node of a cluster (it passes writes to the sequencer), else 0 |
//!
//! Route labels are the route patterns (`/v1/enterprises/{uscc}/history`), never a firm's code.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;
use std::time::Instant;

/// Upper bounds of the request-duration histogram, seconds.
const DURATION_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Debug, Default)]
struct Route {
    /// Count per status code.
    codes: BTreeMap<u16, u64>,
    /// Count per bucket (not cumulative), then beyond the last.
    buckets: [u64; DURATION_BUCKETS.len() + 1],
    sum: f64,
}

/// Request counters of one server.
#[derive(Debug, Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<String, Route>>,
}

impl Metrics {
    fn observe(&self, route: &str, code: u16, seconds: f64) {
        let mut routes = self.routes.lock().expect("lock");
        let r = routes.entry(route.to_owned()).or_default();
        *r.codes.entry(code).or_default() += 1;
        let i = DURATION_BUCKETS.iter().position(|b| seconds <= *b).unwrap_or(DURATION_BUCKETS.len());
        r.buckets[i] += 1;
        r.sum += seconds;
    }
}

/// Middleware: counts every request by route pattern and status, with its duration.
pub async fn track(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let start = Instant::now();
    let r = next.run(req).await;
    s.metrics.observe(&route, r.status().as_u16(), start.elapsed().as_secs_f64());
    r
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The exposition text.
pub fn render(s: &AppState) -> String {
    let mut out = String::new();
    let routes = s.metrics.routes.lock().expect("lock");
    out.push_str("# HELP creditlog_http_requests_total Requests answered, by route pattern and status code.\n");
    out.push_str("# TYPE creditlog_http_requests_total counter\n");
    for (route, r) in routes.iter() {
        for (code, n) in &r.codes {
            let _ = writeln!(out, "creditlog_http_requests_total{{route=\"{}\",code=\"{code}\"}} {n}", label(route));
        }
    }
    out.push_str("# HELP creditlog_http_request_duration_seconds Time to answer a request, by route pattern.\n");
    out.push_str("# TYPE creditlog_http_request_duration_seconds histogram\n");
    for (route, r) in routes.iter() {
        let route = label(route);
        let mut cumulative = 0;
        for (i, b) in DURATION_BUCKETS.iter().enumerate() {
            cumulative += r.buckets[i];
            let _ = writeln!(
                out,
                "creditlog_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {cumulative}"
            );
        }
        let count: u64 = r.buckets.iter().sum();
        let _ =
            writeln!(out, "creditlog_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "creditlog_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", r.sum);
        let _ = writeln!(out, "creditlog_http_request_duration_seconds_count{{route=\"{route}\"}} {count}");
    }
    drop(routes);
    let published = s.log.latest().size;
    let gauge = |out: &mut String, name: &str, help: &str, v: u64| {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n");
    };
    gauge(&mut out, "creditlog_log_size", "Entries in the newest published checkpoint.", published);
    gauge(
        &mut out,
        "creditlog_log_unpublished_entries",
        "Entries acknowledged but not yet in a published checkpoint.",
        s.log.committed_size().saturating_sub(published),
    );
    gauge(
        &mut out,
        "creditlog_sequencer_queue_depth",
        "Append requests waiting for the sequencer.",
        s.log.queue_depth() as u64,
    );
    let stats = s.log.stats();
    let _ = write!(
        out,
        "# HELP creditlog_sequencer_batches_total Batches made durable.\n# TYPE creditlog_sequencer_batches_total counter\ncreditlog_sequencer_batches_total {}\n",
        stats.batches.load(Relaxed)
    );
    let _ = write!(
        out,
        "# HELP creditlog_sequencer_entries_total Entries made durable.\n# TYPE creditlog_sequencer_entries_total counter\ncreditlog_sequencer_entries_total {}\n",
        stats.entries.load(Relaxed)
    );
    out.push_str("# HELP creditlog_sequencer_batch_entries Entries per durable batch.\n");
    out.push_str("# TYPE creditlog_sequencer_batch_entries histogram\n");
    let mut cumulative = 0;
    for (i, b) in ledger::BATCH_BUCKETS.iter().enumerate() {
        cumulative += stats.batch_sizes[i].load(Relaxed);
        let _ = writeln!(out, "creditlog_sequencer_batch_entries_bucket{{le=\"{b}\"}} {cumulative}");
    }
    let _ = writeln!(out, "creditlog_sequencer_batch_entries_bucket{{le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(out, "creditlog_sequencer_batch_entries_sum {}", stats.entries.load(Relaxed));
    let _ = writeln!(out, "creditlog_sequencer_batch_entries_count {}", stats.batches.load(Relaxed));
    if let Some(applied) = s.registry.as_ref().and_then(|r| r.views_applied().ok()) {
        gauge(&mut out, "creditlog_views_applied_entries", "Entries of the log this node's views reflect.", applied);
        gauge(
            &mut out,
            "creditlog_views_lag_entries",
            "Entries of the newest checkpoint this node's views do not reflect yet.",
            published.saturating_sub(applied),
        );
    }
    gauge(
        &mut out,
        "creditlog_node_forwards_writes",
        "1 on an API node of a cluster (writes go to the sequencer), else 0.",
        u64::from(s.forward.is_some()),
    );
    out
}

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "tlog",
    summary = "Prometheus metrics of this node (requests by route, sequencer, views' lag)",
    responses(
        (status = 200, description = "Prometheus text exposition 0.0.4", content_type = "text/plain", body = String),
        crate::openapi::Refusal,
    ),
)]
pub async fn metrics(State(s): State<AppState>) -> Response {
    let mut r = render(&s).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    r
}
