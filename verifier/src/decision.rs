//! Grade decisions, re-grading orders and run summaries, and the rules that make a decision
//! checkable by a court (DESIGN invariants 4 and 9; DOMAIN §1–§3).
//!
//! A grade decision is a private entry about an enterprise, signed by the grader key
//! (`decision/grade`, payload type [`crate::envelope::DECISION_TYPE`]). It cites the model by the
//! SHA-256 of its file and by the entry that published it, the as-of date, what triggered it, the
//! previous class under the same model, **every record entry about the firm that precedes it in
//! the log**, the dates from which retractions and list removals stopped records counting, and
//! the full breakdown.
//!
//! [`check_decision`] is what a court runs. Given the firm's chain (every entry about the firm in
//! log order, which the chain commitments make complete) it checks that the decision:
//!
//! 1. is about the firm whose chain it sits in;
//! 2. cites exactly the record entries of that chain that precede it: none left out
//!    ([`DecisionError::Omitted`]), none added ([`DecisionError::Extra`]);
//! 3. has exactly the stop dates that follow from those records ([`stop_dates`]): none invented,
//!    none dropped;
//! 4. names as `previous` the class of the firm's latest earlier decision under the same model;
//! 5. is not dated after the day it was logged;
//! 6. and that replaying the model over the cited records gives the same breakdown, score and
//!    class to the last point ([`crate::model::Model::score`]).
//!
//! A re-grading order (`order/regrade`, signed by the grading authority) names the model and the
//! as-of date of a scheduled run; the run's decisions cite it as their trigger, and the run ends
//! with a summary (`decision/regrade_run`, signed by the grader).

use crate::date::Date;
use crate::model::{Breakdown, Model, ScoredRecord};
use crate::record::{Record, RecordFields, RecordKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `type` of a grade decision payload.
pub const DECISION_FORMAT: &str = "creditlog.decision/v1";
/// The `type` of a re-grading run summary payload.
pub const RUN_FORMAT: &str = "creditlog.regrade/v1";
/// The `type` of a re-grading order payload.
pub const ORDER_FORMAT: &str = "creditlog.regrade-order/v1";

/// Why a decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A scheduled full re-grade, ordered by the grading authority (`trigger_index` is the order).
    Scheduled,
    /// A new record the model marks as a trigger (`trigger_index` is the record).
    NewRecord,
    /// A credit repair or a list removal (`trigger_index` is that record).
    Repair,
    /// A retraction (`trigger_index` is the retraction).
    Retraction,
    /// An upheld objection.
    Objection,
    /// A manual re-grade of one firm.
    Override,
}

/// A grade decision, as signed and logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Always [`DECISION_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The enterprise.
    pub subject: String,
    /// SHA-256 of the model file.
    pub model: String,
    /// Log index of the model's publication.
    pub model_index: u64,
    /// The as-of date.
    pub as_of: Date,
    /// Why.
    pub trigger: Trigger,
    /// The entry that triggered it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_index: Option<u64>,
    /// The class of the previous decision under this model, an input of the overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// Every record entry about the firm before this decision (in force or not), ascending.
    pub records: Vec<u64>,
    /// Record index → date from which a retraction or removal stopped it counting.
    #[serde(default)]
    pub stopped: BTreeMap<u64, Date>,
    /// The score breakdown down to each observation point.
    pub breakdown: Breakdown,
}

/// A re-grading run summary, so an auditor can tell the run happened and covered everyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSummary {
    /// Always [`RUN_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// SHA-256 of the model file.
    pub model: String,
    /// The as-of date.
    pub as_of: Date,
    /// Log index of the grading authority's order for this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<u64>,
    /// Firms evaluated.
    pub evaluated: u64,
    /// Firms whose class or score changed (a decision was appended for each).
    pub changed: u64,
    /// The log size when the run started: every firm with an entry below it was evaluated.
    pub log_size: u64,
}

/// A re-grading order, signed by the grading authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegradeOrder {
    /// Always [`ORDER_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// SHA-256 of the model file.
    pub model: String,
    /// The as-of date; not after the day the order is logged.
    pub as_of: Date,
}

/// Parses a JSON payload whose `type` must be `format`.
fn parse_typed<T: serde::de::DeserializeOwned>(
    payload: &[u8],
    format: &str,
    kind: impl Fn(&T) -> &str,
) -> Result<T, String> {
    let value: T = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    if kind(&value) != format {
        return Err(format!("type must be {format:?}, not {:?}", kind(&value)));
    }
    Ok(value)
}

impl RegradeOrder {
    /// Parses an order payload.
    ///
    /// # Errors
    ///
    /// A description of what is malformed.
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        parse_typed(payload, ORDER_FORMAT, |o: &Self| &o.kind)
    }
}

impl Decision {
    /// Parses a decision payload.
    ///
    /// # Errors
    ///
    /// A description of what is malformed.
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        parse_typed(payload, DECISION_FORMAT, |d: &Self| &d.kind)
    }
}

impl RunSummary {
    /// Parses a run summary payload.
    ///
    /// # Errors
    ///
    /// A description of what is malformed.
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        parse_typed(payload, RUN_FORMAT, |r: &Self| &r.kind)
    }
}

/// The entry a retraction or list removal stops, if it names one: a retraction's
/// `target_index`, a removal's `listing_index`, or the earliest listing of that kind by the same
/// department on `listing_date` among `records` (for a removal that gives only the date).
pub fn stop_target(record: &Record, records: &[(u64, &Record)]) -> Option<u64> {
    // Several listings of one list on one day: the date names the earliest (a department that
    // removes a later one names it by `listing_index`).
    let listed_on = |kind: RecordKind, date: Date| {
        records
            .iter()
            .find(|(_, l)| l.kind() == kind && l.date() == date && l.department() == record.department())
            .map(|(i, _)| *i)
    };
    match record.fields() {
        RecordFields::Retraction(f) => Some(f.target_index),
        RecordFields::AbnormalOperationsRemoval(f) => {
            f.listing_index.or_else(|| listed_on(RecordKind::AbnormalOperationsListing, f.listing_date))
        }
        RecordFields::SeriousDishonestyRemoval(f) => {
            f.listing_index.or_else(|| listed_on(RecordKind::SeriousDishonestyListing, f.listing_date))
        }
        _ => None,
    }
}

/// The stop dates that retractions and list removals among `records` (a firm's records in log
/// order), and approved credit repairs, put on records: target index → the earliest date of a
/// retraction, removal or repair naming it.
pub fn stop_dates(records: &[(u64, &Record)], repairs: &[Repaired]) -> BTreeMap<u64, Date> {
    let mut stopped = BTreeMap::new();
    let mut stop = |t: u64, d: Date| {
        stopped.entry(t).and_modify(|e: &mut Date| *e = (*e).min(d)).or_insert(d);
    };
    for (_, r) in records {
        if let Some(t) = stop_target(r, records) {
            stop(t, r.date());
        }
    }
    for r in repairs {
        stop(r.target, r.date);
    }
    stopped
}

/// An approved credit repair ([`crate::repair`]): the record it stops and from when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repaired {
    /// The `repair/decided` entry that approved it.
    pub decided: u64,
    /// The record repaired.
    pub target: u64,
    /// The day of the decision, from which the record no longer counts.
    pub date: Date,
}

/// Why a decision does not follow from the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecisionError {
    /// The decision is about another firm than the chain it sits in.
    #[error("the decision is about {decision}, but it sits in the history of {chain}")]
    WrongSubject {
        /// In the decision.
        decision: String,
        /// The chain's firm.
        chain: String,
    },
    /// A record about the firm before the decision is not cited.
    #[error("the decision leaves out record entry {index} about the firm, which precedes it (a decision must cite every record about the firm)")]
    Omitted {
        /// The record left out.
        index: u64,
    },
    /// The decision cites an entry that is not a record about the firm before it.
    #[error("the decision cites entry {index}, which is not a record about this firm logged before the decision")]
    Extra {
        /// The entry cited.
        index: u64,
    },
    /// A stop date that does not follow from the cited records.
    #[error("the decision stops record {index} {claimed}, but the records it cites stop it {actual}")]
    Stop {
        /// The record.
        index: u64,
        /// What the decision says.
        claimed: String,
        /// What follows from the records.
        actual: String,
    },
    /// `previous` is not the class of the firm's last decision under the model.
    #[error("the decision names {claimed} as the previous class, but the firm's latest earlier decision under this model says {actual}")]
    Previous {
        /// What the decision says.
        claimed: String,
        /// What the chain says.
        actual: String,
    },
    /// The as-of date is after the day the decision was logged.
    #[error("the decision is as of {as_of}, after the day it was logged ({logged})")]
    Future {
        /// As-of date.
        as_of: Date,
        /// Intake date.
        logged: Date,
    },
    /// The model cited is not the one published at `model_index`.
    #[error("the decision cites model {model} at entry {index}, but {problem}")]
    Model {
        /// Model hash cited.
        model: String,
        /// Entry cited.
        index: u64,
        /// What is wrong.
        problem: String,
    },
    /// The trigger does not hold.
    #[error("the decision's trigger does not hold: {0}")]
    Trigger(String),
    /// Replaying the model gives another result.
    #[error("replaying the model over the cited records gives score {score} and class {class}, but the decision says score {claimed_score} and class {claimed_class} (the breakdown differs)")]
    Replay {
        /// Replayed score.
        score: i64,
        /// Replayed class.
        class: String,
        /// Decision's score.
        claimed_score: i64,
        /// Decision's class.
        claimed_class: String,
    },
}

/// What a decision is checked against: the firm's side of the log up to the decision.
#[derive(Debug)]
pub struct DecisionContext<'a> {
    /// The firm whose chain holds the decision.
    pub subject: &'a str,
    /// The decision's own log index.
    pub index: u64,
    /// The day the decision was logged (the jurisdiction's local date of its intake time).
    pub logged: Date,
    /// Every record entry about the firm before the decision, in log order, each prepared for
    /// scoring once ([`ScoredRecord::new`]); their `stopped` is not read: the decision's stop
    /// dates are checked against the records and applied to them.
    pub records: &'a [ScoredRecord],
    /// The firm's earlier decisions (index, decision), in log order.
    pub earlier: &'a [(u64, &'a Decision)],
    /// The model the decision cites, with the hash of its file, if the entry at `model_index`
    /// publishes a model.
    pub model: Option<(&'a Model, &'a str)>,
    /// For a scheduled decision: the order at `trigger_index`, if that entry is a re-grading order.
    pub order: Option<&'a RegradeOrder>,
    /// For a decision triggered by an objection: whether the entry at `trigger_index` is an
    /// upheld resolution of an objection about the firm, logged before the decision.
    pub upheld_objection: bool,
    /// The approved credit repairs about the firm before the decision, in log order.
    pub repairs: &'a [Repaired],
}

/// Checks a decision against the log; see the module documentation for the rules.
///
/// # Errors
///
/// The first rule the decision breaks, naming the entry.
pub fn check_decision(d: &Decision, ctx: &DecisionContext<'_>) -> Result<(), DecisionError> {
    if d.subject != ctx.subject {
        return Err(DecisionError::WrongSubject { decision: d.subject.clone(), chain: ctx.subject.to_owned() });
    }
    // 2. Exactly the records before it.
    let expected: Vec<u64> = ctx.records.iter().map(|s| s.index).filter(|i| *i < ctx.index).collect();
    for i in &expected {
        if d.records.binary_search(i).is_err() {
            return Err(DecisionError::Omitted { index: *i });
        }
    }
    for i in &d.records {
        if expected.binary_search(i).is_err() {
            return Err(DecisionError::Extra { index: *i });
        }
    }
    if d.records.windows(2).any(|w| w[0] >= w[1]) {
        return Err(DecisionError::Extra { index: d.records.first().copied().unwrap_or_default() });
    }
    let cited: Vec<(u64, &Record)> =
        ctx.records.iter().filter(|s| s.index < ctx.index).map(|s| (s.index, &s.record)).collect();
    // 3. Stop dates.
    let actual = stop_dates(&cited, ctx.repairs);
    for (i, date) in &d.stopped {
        match actual.get(i) {
            Some(a) if a == date => {}
            other => {
                return Err(DecisionError::Stop {
                    index: *i,
                    claimed: format!("on {date}"),
                    actual: other.map_or_else(|| "not at all".to_owned(), |a| format!("on {a}")),
                })
            }
        }
    }
    if let Some((i, a)) = actual.iter().find(|(i, _)| !d.stopped.contains_key(i)) {
        return Err(DecisionError::Stop { index: *i, claimed: "not at all".into(), actual: format!("on {a}") });
    }
    // 4. Previous class.
    let previous = ctx.earlier.iter().rev().find(|(i, e)| *i < ctx.index && e.model == d.model);
    let actual_previous = previous.map(|(_, e)| e.breakdown.class.clone());
    if actual_previous != d.previous {
        return Err(DecisionError::Previous {
            claimed: d.previous.clone().unwrap_or_else(|| "none".into()),
            actual: actual_previous.unwrap_or_else(|| "none (no earlier decision)".into()),
        });
    }
    // 5. Not in the future.
    if d.as_of > ctx.logged {
        return Err(DecisionError::Future { as_of: d.as_of, logged: ctx.logged });
    }
    let model_err = |problem: &str| DecisionError::Model {
        model: d.model.clone(),
        index: d.model_index,
        problem: problem.to_owned(),
    };
    let Some((model, hash)) = ctx.model else {
        return Err(model_err("that entry is not a model publication in the evidence"));
    };
    if hash != d.model {
        return Err(model_err(&format!("the model published there has hash {hash}")));
    }
    if d.model_index >= ctx.index {
        return Err(model_err("the model was published after the decision"));
    }
    // The trigger.
    match d.trigger {
        Trigger::Scheduled => {
            let Some(order) = ctx.order else {
                return Err(DecisionError::Trigger(format!(
                    "a scheduled decision cites the grading authority's re-grading order, and entry {:?} is not one",
                    d.trigger_index
                )));
            };
            if order.model != d.model || order.as_of != d.as_of {
                return Err(DecisionError::Trigger(format!(
                    "the order is for model {} as of {}, the decision for model {} as of {}",
                    order.model, order.as_of, d.model, d.as_of
                )));
            }
        }
        Trigger::Repair if d.trigger_index.is_some_and(|t| ctx.repairs.iter().any(|r| r.decided == t)) => {}
        Trigger::NewRecord | Trigger::Repair | Trigger::Retraction => {
            let Some(t) = d.trigger_index else {
                return Err(DecisionError::Trigger("an instant decision names the record that triggered it".into()));
            };
            let Some((_, r)) = cited.iter().find(|(i, _)| *i == t) else {
                return Err(DecisionError::Trigger(format!(
                    "entry {t} is not a record about this firm before the decision"
                )));
            };
            if !model.triggers.contains(r.kind().as_str()) {
                return Err(DecisionError::Trigger(format!(
                    "record {t} is a {}, which the model does not list as a trigger",
                    r.kind()
                )));
            }
        }
        Trigger::Objection => {
            if d.trigger_index.is_none_or(|t| t >= ctx.index) || !ctx.upheld_objection {
                return Err(DecisionError::Trigger(format!(
                    "a decision triggered by an objection cites the upheld resolution of an objection about the firm, and entry {:?} is not one",
                    d.trigger_index
                )));
            }
        }
        Trigger::Override => {}
    }
    // 6. Replay.
    let scored: Vec<ScoredRecord> = ctx
        .records
        .iter()
        .filter(|s| s.index < ctx.index)
        .map(|s| s.with_stop(d.stopped.get(&s.index).copied()))
        .collect();
    let replayed = model.score(&scored, d.as_of, d.previous.as_deref());
    if replayed != d.breakdown {
        return Err(DecisionError::Replay {
            score: replayed.score,
            class: replayed.class,
            claimed_score: d.breakdown.score,
            claimed_class: d.breakdown.class.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: &str, date: &str, reference: &str, fields: serde_json::Value) -> Record {
        let v = serde_json::json!({"type": "creditlog.record/v1", "kind": kind, "subject": "91370303MA3C8DXA25",
            "department": "zibo-amr", "date": date, "reference": reference, "fields": fields});
        Record::parse(&serde_json::to_vec(&v).unwrap()).unwrap()
    }

    /// Two listings of one list on one day (two grounds): a removal that names only the date stops
    /// the earliest, not both and not neither; one that names the index stops that one.
    #[test]
    fn a_removal_by_date_stops_the_earliest_listing_that_day() {
        let listing = |r: &str| {
            record("abnormal_operations_listing", "2024-07-04", r, serde_json::json!({"reason": "no_annual_report"}))
        };
        let removal = |r: &str, index: Option<u64>| {
            record(
                "abnormal_operations_removal",
                "2024-09-01",
                r,
                serde_json::json!({"listing_date": "2024-07-04", "listing_index": index, "ground": "cause_cured"}),
            )
        };
        let (a, b, by_date, by_index) =
            (listing("列78"), listing("列79"), removal("移1", None), removal("移2", Some(11)));
        let records = [(10, &a), (11, &b), (12, &by_date)];
        let stopped = stop_dates(&records, &[]);
        assert_eq!(stopped.keys().copied().collect::<Vec<_>>(), [10]);
        let records = [(10, &a), (11, &b), (12, &by_date), (13, &by_index)];
        assert_eq!(stop_dates(&records, &[]).keys().copied().collect::<Vec<_>>(), [10, 11]);
    }
}
