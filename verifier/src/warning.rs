//! Early warnings (风险预警): the registry raises a warning about a firm when one of the rules of
//! `rules/warnings.toml` holds on its entries, signed by the grader key and routed to the
//! departments concerned; each of them acknowledges it and records what it did.
//!
//! Payload types [`WARNING_TYPE`] (header kind `warning/raised`) and [`ACK_TYPE`] (header kind
//! `warning/acknowledged`), both about the firm:
//!
//! ```json
//! {"type":"creditlog.warning/v1","subject":"<USCC>","rule":"repeated-minor","basis":[12,15,19],
//!  "departments":["zibo-amr"],"date":"2026-11-29"}
//! {"type":"creditlog.warning-ack/v1","subject":"<USCC>","warning_index":20,"department":"zibo-amr",
//!  "action":"已约谈企业负责人，列入重点监管","date":"2026-11-30"}
//! ```
//!
//! | rule | what it checks |
//! | --- | --- |
//! | `warning-by-grader` | warnings are raised by the registry's grader key, nobody else |
//! | `warning-basis` | the rule holds on the firm's entries before the warning as of its date, the basis is exactly the entries that make it hold, and the departments are exactly those it is routed to |
//! | `warning-routed` | only a department the warning is routed to acknowledges it, once, in its own name |

use crate::authority::{History, Refusal, Rule};
use crate::date::Date;
use crate::decision::Decision;
use crate::envelope::Envelope;
use crate::identity::{KeyBook, Principal, Role};
use crate::record::{Record, RecordFields, Severity};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Payload type of a warning.
pub const WARNING_TYPE: &str = "application/vnd.creditlog.warning+json";
/// The `type` of a warning.
pub const WARNING_FORMAT: &str = "creditlog.warning/v1";
/// Header kind of a warning.
pub const WARNING_KIND: &str = "warning/raised";
/// Payload type of an acknowledgement.
pub const ACK_TYPE: &str = "application/vnd.creditlog.warning-ack+json";
/// The `type` of an acknowledgement.
pub const ACK_FORMAT: &str = "creditlog.warning-ack/v1";
/// Header kind of an acknowledgement.
pub const ACK_KIND: &str = "warning/acknowledged";
/// The shipped rules.
pub const RULES: &str = include_str!("../../rules/warnings.toml");

/// A count within a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountRule {
    /// At least this many.
    pub min: usize,
    /// Within this many days up to the warning.
    pub days: u32,
    /// Source.
    pub source: String,
}

/// Rated high-risk by several specialised models.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsRule {
    /// At least this many specialised models.
    pub min_models: usize,
    /// Classes that count.
    pub classes: Vec<String>,
    /// Source.
    pub source: String,
}

/// A broken commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitmentRule {
    /// Within this many days.
    pub days: u32,
    /// Source.
    pub source: String,
}

/// `rules/warnings.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarningRules {
    /// Where the rules come from.
    pub source: String,
    /// Repeated minor violations.
    pub repeated_minor: CountRule,
    /// High risk in several specialised models.
    pub high_risk_models: ModelsRule,
    /// A surge of verified complaints.
    pub complaint_surge: CountRule,
    /// A broken commitment.
    pub broken_commitment: CommitmentRule,
}

impl WarningRules {
    /// Parses and checks a rules file.
    ///
    /// # Errors
    ///
    /// What is malformed or out of range.
    pub fn parse(text: &str) -> Result<Self, String> {
        let r: WarningRules = toml::from_str(text).map_err(|e| e.to_string())?;
        for (name, c) in [("repeated_minor", &r.repeated_minor), ("complaint_surge", &r.complaint_surge)] {
            if c.min < 2 || c.days == 0 {
                return Err(format!("{name}: min is at least 2 and days at least 1"));
            }
        }
        if r.high_risk_models.min_models < 2 || r.high_risk_models.classes.is_empty() {
            return Err("high_risk_models: min_models is at least 2, and some classes count".into());
        }
        if r.broken_commitment.days == 0 {
            return Err("broken_commitment: days at least 1".into());
        }
        Ok(r)
    }

    /// The shipped rules.
    pub fn shipped() -> Self {
        Self::parse(RULES).expect("the shipped warning rules parse")
    }
}

/// Which rule raised a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarningRule {
    /// Repeated minor violations (多次轻微违法).
    RepeatedMinor,
    /// Rated high-risk by several specialised models (多部门高风险).
    HighRiskModels,
    /// A surge of verified complaints (投诉激增).
    ComplaintSurge,
    /// A broken commitment (违背承诺).
    BrokenCommitment,
}

impl WarningRule {
    /// Every rule, in the order the registry evaluates them.
    pub const ALL: [WarningRule; 4] = [
        WarningRule::RepeatedMinor,
        WarningRule::HighRiskModels,
        WarningRule::ComplaintSurge,
        WarningRule::BrokenCommitment,
    ];

    /// The rule's name.
    pub fn name(self) -> &'static str {
        match self {
            WarningRule::RepeatedMinor => "repeated-minor",
            WarningRule::HighRiskModels => "high-risk-models",
            WarningRule::ComplaintSurge => "complaint-surge",
            WarningRule::BrokenCommitment => "broken-commitment",
        }
    }

    /// Its Chinese name.
    pub fn chinese_name(self) -> &'static str {
        match self {
            WarningRule::RepeatedMinor => "多次轻微违法",
            WarningRule::HighRiskModels => "多个专业模型评为高风险",
            WarningRule::ComplaintSurge => "投诉举报激增",
            WarningRule::BrokenCommitment => "违背信用承诺",
        }
    }
}

/// A warning, as the grader signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Warning {
    /// Always [`WARNING_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The firm.
    pub subject: String,
    /// The rule that holds.
    pub rule: WarningRule,
    /// The entries that make it hold, ascending.
    pub basis: Vec<u64>,
    /// The departments it is routed to.
    pub departments: BTreeSet<String>,
    /// The day it is raised.
    pub date: Date,
}

impl Warning {
    /// Parses a warning.
    ///
    /// # Errors
    ///
    /// What is malformed.
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        let w: Warning = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        if w.kind != WARNING_FORMAT {
            return Err(format!("type must be {WARNING_FORMAT:?}, not {:?}", w.kind));
        }
        crate::uscc::Uscc::parse(&w.subject).map_err(|e| format!("subject: {e}"))?;
        if w.basis.is_empty() || w.basis.len() > 100 || w.basis.windows(2).any(|p| p[0] >= p[1]) {
            return Err("basis: 1 to 100 entries, ascending, each once".into());
        }
        Ok(w)
    }

    /// Signs the warning (with the grader key).
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Envelope {
        Envelope::sign(WARNING_TYPE, &serde_json::to_vec(self).expect("serialises"), key)
    }
}

/// A department's acknowledgement of a warning, with what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acknowledgement {
    /// Always [`ACK_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The firm.
    pub subject: String,
    /// The warning's entry.
    pub warning_index: u64,
    /// The department.
    pub department: String,
    /// What it did (约谈, 列入重点监管, 发起检查, ...).
    pub action: String,
    /// The day.
    pub date: Date,
}

impl Acknowledgement {
    /// Parses an acknowledgement.
    ///
    /// # Errors
    ///
    /// What is malformed.
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        let a: Acknowledgement = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        if a.kind != ACK_FORMAT {
            return Err(format!("type must be {ACK_FORMAT:?}, not {:?}", a.kind));
        }
        crate::uscc::Uscc::parse(&a.subject).map_err(|e| format!("subject: {e}"))?;
        if !crate::record::is_department_code(&a.department) {
            return Err(format!("department: {}", crate::record::DEPARTMENT_CODE_RULE));
        }
        if a.action.trim().is_empty() || a.action.chars().count() > crate::objection::MAX_TEXT {
            return Err(format!("action: required, at most {} characters", crate::objection::MAX_TEXT));
        }
        Ok(a)
    }

    /// Signs the acknowledgement with the department's key.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Envelope {
        Envelope::sign(ACK_TYPE, &serde_json::to_vec(self).expect("serialises"), key)
    }
}

/// A firm's entries before a warning, as the rules read them.
#[derive(Debug, Clone, Copy)]
pub struct FirmEntries<'a> {
    /// Its records, in log order.
    pub records: &'a [(u64, Record)],
    /// Its grade decisions, in log order.
    pub decisions: &'a [(u64, Decision)],
}

/// Whether `rule` holds on the firm's entries as of `as_of`: the entries that make it hold,
/// ascending, or `None`.
pub fn evaluate(
    rule: WarningRule,
    rules: &WarningRules,
    as_of: Date,
    firm: FirmEntries<'_>,
    model_domain: &dyn Fn(&str) -> Option<String>,
) -> Option<Vec<u64>> {
    let retracted: HashSet<u64> = firm
        .records
        .iter()
        .filter_map(|(_, r)| match r.fields() {
            RecordFields::Retraction(f) => Some(f.target_index),
            _ => None,
        })
        .collect();
    let window = |days: u32| as_of.add_days(-i64::from(days)).unwrap_or(Date::MIN)..=as_of;
    let live = |pred: &dyn Fn(&Record) -> bool, days: u32| -> Vec<u64> {
        let w = window(days);
        firm.records
            .iter()
            .filter(|(i, r)| !retracted.contains(i) && w.contains(&r.date()) && pred(r))
            .map(|(i, _)| *i)
            .collect()
    };
    let basis = match rule {
        WarningRule::RepeatedMinor => {
            let c = &rules.repeated_minor;
            Some(live(
                &|r| matches!(r.fields(), RecordFields::AdministrativePenalty(f) if f.severity == Severity::Minor),
                c.days,
            ))
            .filter(|b| b.len() >= c.min)
        }
        WarningRule::ComplaintSurge => {
            let c = &rules.complaint_surge;
            Some(live(&|r| matches!(r.fields(), RecordFields::VerifiedComplaint(f) if f.substantiated), c.days))
                .filter(|b| b.len() >= c.min)
        }
        WarningRule::BrokenCommitment => {
            live(&|r| matches!(r.fields(), RecordFields::CommitmentOutcome(f) if !f.kept), rules.broken_commitment.days)
                .last()
                .map(|i| vec![*i])
        }
        WarningRule::HighRiskModels => {
            let c = &rules.high_risk_models;
            let mut newest: BTreeMap<&str, (u64, &str)> = BTreeMap::new();
            for (i, d) in firm.decisions {
                if d.as_of <= as_of && model_domain(&d.model).is_some_and(|dom| dom != "general") {
                    newest.insert(d.model.as_str(), (*i, d.breakdown.class.as_str()));
                }
            }
            let mut b: Vec<u64> =
                newest.values().filter(|(_, class)| c.classes.iter().any(|k| k == class)).map(|(i, _)| *i).collect();
            b.sort_unstable();
            Some(b).filter(|b| b.len() >= c.min_models)
        }
    }?;
    (!basis.is_empty()).then_some(basis)
}

/// The departments a warning on `basis` is routed to: the departments that made the basis
/// records; for the high-risk rule, the departments whose domains include a basis model's domain
/// and every department with a record about the firm.
pub fn route(
    rule: WarningRule,
    basis: &[u64],
    firm: FirmEntries<'_>,
    book: &KeyBook,
    model_domain: &dyn Fn(&str) -> Option<String>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    match rule {
        WarningRule::HighRiskModels => {
            let domains: BTreeSet<String> = firm
                .decisions
                .iter()
                .filter(|(i, _)| basis.contains(i))
                .filter_map(|(_, d)| model_domain(&d.model))
                .collect();
            for (code, d) in &book.departments {
                if d.domains.iter().any(|x| domains.contains(x)) {
                    out.insert(code.clone());
                }
            }
            out.extend(firm.records.iter().map(|(_, r)| r.department().to_owned()));
        }
        _ => out.extend(firm.records.iter().filter(|(i, _)| basis.contains(i)).map(|(_, r)| r.department().to_owned())),
    }
    out
}

fn refuse(rule: Rule, field: &'static str, detail: impl Into<String>) -> Refusal {
    Refusal { rule, field, detail: detail.into() }
}

/// The authority rules of a warning: raised by the grader, on a rule that holds on exactly its
/// basis, routed to exactly the departments concerned.
///
/// # Errors
///
/// The rule broken.
pub fn check_warning(author: &Principal, w: &Warning, book: &KeyBook, history: &dyn History) -> Result<(), Refusal> {
    if !matches!(author, Principal::Role(Role::Grader, _)) {
        return Err(refuse(
            Rule::WarningByGrader,
            "signatures[0].keyid",
            format!("early warnings are raised by the registry's grader key; this key belongs to {author}"),
        ));
    }
    // A basis record redacted since (deleted after a correction) cannot be read any more: the
    // warning stands on its header and signature, as a decision citing it does.
    if w.basis.iter().any(|i| history.prior(*i).is_some_and(|p| p.redacted)) {
        return Ok(());
    }
    let records = history.firm_records(&w.subject);
    let decisions = history.firm_decisions(&w.subject);
    let firm = FirmEntries { records: &records, decisions: &decisions };
    let domain = |h: &str| history.model_domain(h);
    let rules = WarningRules::shipped();
    let Some(basis) = evaluate(w.rule, &rules, w.date, firm, &domain) else {
        return Err(refuse(
            Rule::WarningBasis,
            "rule",
            format!(
                "rule {} ({}) does not hold on {}'s entries as of {}",
                w.rule.name(),
                w.rule.chinese_name(),
                w.subject,
                w.date
            ),
        ));
    };
    if basis != w.basis {
        return Err(refuse(
            Rule::WarningBasis,
            "basis",
            format!("the entries that make rule {} hold are {basis:?}, not {:?}", w.rule.name(), w.basis),
        ));
    }
    let routed = route(w.rule, &basis, firm, book, &domain);
    if routed != w.departments {
        return Err(refuse(
            Rule::WarningBasis,
            "departments",
            format!("a {} warning on these entries goes to {routed:?}, not {:?}", w.rule.name(), w.departments),
        ));
    }
    Ok(())
}

/// The authority rules of an acknowledgement: by a department the warning is routed to, in its
/// own name, once.
///
/// # Errors
///
/// The rule broken.
pub fn check_ack(author: &Principal, a: &Acknowledgement, index: u64, history: &dyn History) -> Result<(), Refusal> {
    let Some(w) = (a.warning_index < index).then(|| history.warning(a.warning_index)).flatten() else {
        return Err(refuse(
            Rule::WarningRouted,
            "warning_index",
            format!("entry {} is not a warning before this one", a.warning_index),
        ));
    };
    if w.subject != a.subject {
        return Err(refuse(
            Rule::WarningRouted,
            "subject",
            format!("the warning at entry {} is about {}", a.warning_index, w.subject),
        ));
    }
    if *author != Principal::Department(a.department.clone()) || !w.departments.contains(&a.department) {
        return Err(refuse(
            Rule::WarningRouted,
            "signatures[0].keyid",
            format!(
                "the warning at entry {} is routed to {:?}; it is acknowledged by one of them with its own key, not by {author}",
                a.warning_index, w.departments
            ),
        ));
    }
    if let Some((i, _)) = history.warning_acks(a.warning_index).into_iter().find(|(_, d)| *d == a.department) {
        return Err(refuse(
            Rule::WarningRouted,
            "warning_index",
            format!("{} acknowledged the warning at entry {} already, at entry {i}", a.department, a.warning_index),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
