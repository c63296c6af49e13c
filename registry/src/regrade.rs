//! Full re-grades as server-side jobs (issue 12): the grading authority's order is logged and
//! fixes the log position graded; the firms are scored on every core without holding intake;
//! the decisions are appended a batch at a time; progress is kept for `GET /v1/regrade/jobs/{id}`
//! (the job's id is its order's index). An order whose run summary is not on the log (a crash
//! mid-run) is resumed by [`Registry::resume_regrades`]: a firm whose decision was appended
//! before the crash now has that grade, so it is not decided twice.

use crate::grading::{PublishedModel, REGRADE_APPEND_BATCH};
use crate::pipeline::Prepared;
use crate::{Registry, RegistryError, Rejection};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use verifier::authority::Payload;
use verifier::decision::{Decision, RegradeOrder, RunSummary, Trigger, RUN_FORMAT};
use verifier::envelope::{Envelope, DECISION_TYPE, ORDER_TYPE};

/// A re-grade in progress or finished.
#[derive(Debug)]
pub struct RegradeJob {
    /// Index of its order: the job's id.
    pub order: u64,
    /// The order.
    pub spec: RegradeOrder,
    started: Instant,
    total: AtomicU64,
    done: AtomicU64,
    changed: AtomicU64,
    outcome: Mutex<Option<Result<(RunSummary, u64), String>>>,
    finished: tokio::sync::Notify,
}

/// What `GET /v1/regrade/jobs/{id}` answers.
#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    /// The order's index (the job's id).
    pub order: u64,
    /// Model hash.
    pub model: String,
    /// As-of date.
    pub as_of: verifier::Date,
    /// `running`, `done` or `failed`.
    pub state: &'static str,
    /// Firms to evaluate (known once scoring starts).
    pub total: u64,
    /// Firms evaluated so far.
    pub done: u64,
    /// Decisions appended so far.
    pub changed: u64,
    /// Seconds since the job started (in this server process).
    pub elapsed_s: f64,
    /// Estimated seconds left, from the rate so far.
    pub eta_s: Option<f64>,
    /// The run summary and its index, once done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<RunSummary>,
    /// Index of the run summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary_index: Option<u64>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Firms scored before their decisions are appended, in append batches: memory holds one slice's
/// decisions (10,000 firms' by default), not the whole city's.
const SLICE_BATCHES: usize = 10;

/// Decisions appended per hold of the intake lock: [`REGRADE_APPEND_BATCH`], or the environment
/// variable `CREDITLOG_REGRADE_BATCH` (1 to 1,000,000; smaller batches let intake in more often,
/// and let the crash tests stop a run between batches).
fn append_batch() -> usize {
    std::env::var("CREDITLOG_REGRADE_BATCH")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=1_000_000).contains(n))
        .unwrap_or(REGRADE_APPEND_BATCH)
}

impl RegradeJob {
    fn new(order: u64, spec: RegradeOrder) -> Arc<Self> {
        Arc::new(Self {
            order,
            spec,
            started: Instant::now(),
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            changed: AtomicU64::new(0),
            outcome: Mutex::new(None),
            finished: tokio::sync::Notify::new(),
        })
    }

    /// The job's state now.
    pub fn status(&self) -> JobStatus {
        let outcome = self.outcome.lock().expect("lock").clone();
        let (total, done) = (self.total.load(Ordering::Relaxed), self.done.load(Ordering::Relaxed));
        let elapsed = self.started.elapsed().as_secs_f64();
        let eta =
            (outcome.is_none() && done > 0 && total >= done).then(|| elapsed * (total - done) as f64 / done as f64);
        let (state, summary, summary_index, error) = match outcome {
            None => ("running", None, None, None),
            Some(Ok((s, i))) => ("done", Some(s), Some(i), None),
            Some(Err(e)) => ("failed", None, None, Some(e)),
        };
        JobStatus {
            order: self.order,
            model: self.spec.model.clone(),
            as_of: self.spec.as_of,
            state,
            total,
            done,
            changed: self.changed.load(Ordering::Relaxed),
            elapsed_s: elapsed,
            eta_s: eta,
            summary,
            summary_index,
            error,
        }
    }

    /// Waits until the job ends; its summary and index, or why it failed.
    pub async fn finished(&self) -> Result<(RunSummary, u64), String> {
        loop {
            let notified = self.finished.notified();
            if let Some(r) = self.outcome.lock().expect("lock").clone() {
                return r;
            }
            notified.await;
        }
    }
}

impl Registry {
    /// Starts a full re-grade ordered by the grading authority: checks and logs the order (a
    /// DSSE envelope of [`RegradeOrder`], payload type [`ORDER_TYPE`]) under the intake lock, then
    /// runs the job in the background and returns it at once. The run grades the log as it
    /// stands just after the order; it logs a decision for each firm whose class or score
    /// changes under the order's model as of its date, citing the order, then a run summary.
    ///
    /// # Errors
    ///
    /// Storage failures, or no valid grader key; a bad order is an `Err(Rejection)` inside `Ok`.
    pub async fn start_regrade(&self, order: Envelope) -> Result<Result<Arc<RegradeJob>, Rejection>, RegistryError> {
        let _guard = self.inner.intake.lock().await;
        let payload = match self.open_signed(&order, ORDER_TYPE) {
            Ok(p) => p,
            Err(r) => return Ok(Err(r)),
        };
        let o = match RegradeOrder::parse(&payload) {
            Ok(o) => o,
            Err(e) => return Ok(Err(Rejection::new(400, "payload", e))),
        };
        if let Err(r) = self.check_authority_entry(&order, Payload::Order(&o)) {
            return Ok(Err(r));
        }
        let pm = self.models().get(&o.model).cloned().ok_or_else(|| RegistryError::NoModel(o.model.clone()))?;
        self.grader()?;
        let index = self.append_prepared(vec![Prepared::new(order, "order/regrade".into(), None)]).await?[0];
        Ok(Ok(self.spawn_job(index, o, pm, index + 1)))
    }

    /// Runs a full re-grade and waits for it: [`Registry::start_regrade`], then the job's end.
    /// `progress` is called with (done, total) as firms are evaluated.
    ///
    /// # Errors
    ///
    /// As [`Registry::start_regrade`], and the job's failure.
    pub async fn regrade(
        &self,
        order: Envelope,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<Result<(RunSummary, u64), Rejection>, RegistryError> {
        let job = match self.start_regrade(order).await? {
            Ok(j) => j,
            Err(r) => return Ok(Err(r)),
        };
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(200));
        let end = job.finished();
        tokio::pin!(end);
        loop {
            tokio::select! {
                r = &mut end => {
                    let s = job.status();
                    progress(s.done, s.total);
                    return r.map(Ok).map_err(|problem| RegistryError::Inconsistent { index: job.order, problem });
                }
                _ = tick.tick() => {
                    let s = job.status();
                    progress(s.done, s.total);
                }
            }
        }
    }

    /// The re-grade whose order is at `order`, if this server process runs or ran it.
    pub fn regrade_job(&self, order: u64) -> Option<Arc<RegradeJob>> {
        self.inner.jobs.lock().expect("lock").get(&order).cloned()
    }

    /// Resumes every re-grade whose order is on the log without its run summary (the server
    /// stopped mid-run): each runs again on the log as it stands now, so the firms decided before
    /// the stop are not decided twice (their grade is already the one they would get). Call once
    /// the server is up; returns the orders resumed.
    ///
    /// # Errors
    ///
    /// Views or storage failures.
    pub fn resume_regrades(&self) -> Result<Vec<u64>, RegistryError> {
        let mut resumed = Vec::new();
        for item in self.inner.views.regrades.iter() {
            let (k, _) = item?;
            let index = crate::store::be_u64(&k, "regrades")?;
            if self.regrade_job(index).is_some() {
                continue;
            }
            let (_, content) = self.read_entry(index)?.ok_or_else(|| RegistryError::Inconsistent {
                index,
                problem: "a pending order is not readable".into(),
            })?;
            let (payload, _) = content
                .envelope
                .decode(ORDER_TYPE)
                .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
            let o = RegradeOrder::parse(&payload).map_err(|problem| RegistryError::Inconsistent { index, problem })?;
            let pm = self.models().get(&o.model).cloned().ok_or_else(|| RegistryError::NoModel(o.model.clone()))?;
            let position = self.inner.log.committed_size();
            tracing::warn!(order = index, "resuming a re-grade whose run summary is not on the log");
            self.spawn_job(index, o, pm, position);
            resumed.push(index);
        }
        Ok(resumed)
    }

    fn spawn_job(&self, order: u64, o: RegradeOrder, pm: PublishedModel, position: u64) -> Arc<RegradeJob> {
        let job = RegradeJob::new(order, o);
        self.inner.jobs.lock().expect("lock").insert(order, job.clone());
        let (reg, j) = (self.clone(), job.clone());
        tokio::spawn(async move {
            let outcome = reg.run_regrade(&j, pm, position).await.map_err(|e| e.to_string());
            if let Err(e) = &outcome {
                tracing::error!(order = j.order, error = %e, "the re-grade failed; it resumes at the next start");
            }
            *j.outcome.lock().expect("lock") = Some(outcome);
            j.finished.notify_waiters();
        });
        job
    }

    /// The run itself, once the order is logged: score every firm with an entry below
    /// `position` without the lock, then append the decisions a batch at a time.
    async fn run_regrade(
        &self,
        job: &Arc<RegradeJob>,
        pm: PublishedModel,
        position: u64,
    ) -> Result<(RunSummary, u64), RegistryError> {
        let o = job.spec.clone();
        let firms = Arc::new(self.firms()?);
        job.total.store(firms.len() as u64, Ordering::Relaxed);
        let batch_size = append_batch();
        let mut evaluated = 0u64;
        let mut warn = std::collections::BTreeSet::new();
        // A slice of firms at a time: scored on every core, then appended, so that memory holds
        // one slice's decisions, not the whole city's.
        let slice = batch_size * SLICE_BATCHES;
        for start in (0..firms.len()).step_by(slice) {
            let end = (start + slice).min(firms.len());
            let (n, scored) = {
                let (reg, o, pm, j, firms) = (self.clone(), o.clone(), pm.clone(), job.clone(), firms.clone());
                tokio::task::spawn_blocking(move || {
                    reg.score_all(&firms[start..end], &o, &pm, j.order, position, &j.done)
                })
                .await
                .map_err(|e| RegistryError::Inconsistent {
                    index: job.order,
                    problem: format!("the re-grade's scoring stopped: {e}"),
                })??
            };
            evaluated += n;
            // Under the lock, a batch at a time (intake runs between batches): a firm with an
            // entry at or after `position` was touched while it was scored, so its decision might
            // not cite every record before it; it is decided again on the log as it stands.
            let mut scored = scored.into_iter().peekable();
            while scored.peek().is_some() {
                let batch: Vec<(Decision, Prepared)> = scored.by_ref().take(batch_size).collect();
                let _guard = self.inner.intake.lock().await;
                let mut prepared = Vec::with_capacity(batch.len());
                for (d, p) in batch {
                    let touched = self.subject_indices(&d.subject)?.last().is_some_and(|i| *i >= position);
                    if !touched {
                        prepared.push(p);
                    } else if let Some(d) =
                        self.decide(&d.subject, &o.model, &pm, o.as_of, Trigger::Scheduled, Some(job.order))?
                    {
                        prepared.extend(self.signed_decisions(vec![d])?);
                    } else {
                        continue;
                    }
                    // A specialised model's grades may make the high-risk warning hold.
                    if pm.model.domain != "general" {
                        warn.insert(d.subject.clone());
                    }
                }
                let n = prepared.len() as u64;
                self.append_prepared(prepared).await?;
                job.changed.fetch_add(n, Ordering::Relaxed);
            }
        }
        let summary = RunSummary {
            kind: RUN_FORMAT.into(),
            model: o.model.clone(),
            as_of: o.as_of,
            order: Some(job.order),
            evaluated,
            changed: job.changed.load(Ordering::Relaxed),
            log_size: position,
        };
        let envelope =
            Envelope::sign(DECISION_TYPE, &serde_json::to_vec(&summary).expect("serialises"), &self.grader()?);
        let _guard = self.inner.intake.lock().await;
        let index = self.append_prepared(vec![Prepared::new(envelope, "decision/regrade_run".into(), None)]).await?[0];
        if !warn.is_empty() {
            if let Err(e) = self.raise_warnings(&warn, &[verifier::warning::WarningRule::HighRiskModels]).await {
                tracing::error!(error = %e, "raising early warnings failed; the grades are appended");
            }
        }
        Ok((summary, index))
    }
}
