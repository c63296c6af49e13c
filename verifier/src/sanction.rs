//! Sanctions (联合惩戒, DOMAIN §5; seed 000 第三, 001 §六, 004 §六) and what interception
//! (自动比对、自动拦截) answers: a department signs a sanction about a firm that restricts it for
//! some purposes (bidding, government procurement, fiscal subsidies, new credit, market access,
//! honours, notice-and-commitment approval) for a period, on an explicit basis: earlier log
//! entries about the same firm (a listing, a penalty or, where the policy allows, a grade
//! decision). The rules are data, `rules/sanctions.toml` ([`SanctionRules`]).
//!
//! Payload type [`SANCTION_TYPE`], header kind `sanction/<step>`:
//!
//! ```json
//! {"type":"creditlog.sanction/v1","step":"imposed","subject":"<USCC>","department":"zibo-drc",
//!  "measures":["bidding","fiscal_subsidy"],"basis":[12,15],"legal_basis":"……",
//!  "start":"2026-12-01","end":"2029-11-30","date":"2026-11-29","reference":"淄发改惩〔2026〕3号"}
//! {"type":"creditlog.sanction/v1","step":"lifted","subject":"<USCC>","department":"zibo-drc",
//!  "sanction_index":40,"reason":"……","date":"2027-03-01"}
//! ```
//!
//! | rule | plain language |
//! | --- | --- |
//! | `sanction-by-department` | only a department imposes a sanction, in its own name, and only that department lifts it early |
//! | `sanction-basis` | every basis entry is on the log before the sanction, about the same firm, a listing, a penalty or a grade decision, and still stands |
//! | `sanction-class-basis` | a sanction whose basis is only grade decisions is refused unless the policy allows the risk class itself as a basis |
//! | `sanction-period` | a sanction starts on or after the day it is imposed and ends after it starts, within the longest period the rules allow |
//! | `sanction-lift` | a lift names an earlier sanction about the same firm, not lifted before, on or after the day it was imposed |
//!
//! **Does a basis entry still stand?** ([`basis_standing`], the one answer the registry's views and
//! `creditlog verify` share) It no longer stands once, on the log as it is: a retraction names it
//! (撤回/更正), a removal from its list names it (移出名录), an approved credit repair names it
//! (信用修复), an objection against it was upheld (异议成立), or its content was redacted (删除).
//!
//! **Is a sanction in force on a day?** ([`status`]) Iff the day lies between its start and its
//! end (both included), it was not lifted early by its department on or before that day, and every
//! basis entry still stands on the log as it is now: a basis that falls lifts the sanction at once,
//! for every day asked about.

use crate::authority::{History, PriorEntry, Refusal, Rule};
use crate::date::Date;
use crate::envelope::Envelope;
use crate::identity::Principal;
use crate::record::RecordFields;
use serde::{Deserialize, Serialize};

/// Payload type of a sanction step.
pub const SANCTION_TYPE: &str = "application/vnd.creditlog.sanction+json";
/// The `type` of every sanction step.
pub const SANCTION_FORMAT: &str = "creditlog.sanction/v1";
/// Header kind of an imposed sanction.
pub const IMPOSED_KIND: &str = "sanction/imposed";
/// Header kind of a sanction lifted early.
pub const LIFTED_KIND: &str = "sanction/lifted";
/// At most this many basis entries per sanction.
pub const MAX_BASIS: usize = 20;
/// The shipped sanction rules.
pub const RULES: &str = include_str!("../../rules/sanctions.toml");
/// Longest free text (legal basis, reason, reference).
const MAX_TEXT: usize = crate::objection::MAX_TEXT;

/// What a sanction restricts (联合惩戒措施).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// 招标投标: taking part in tenders.
    Bidding,
    /// 政府采购: government procurement.
    GovernmentProcurement,
    /// 财政补贴: fiscal subsidies.
    FiscalSubsidy,
    /// 新增授信: new bank credit.
    NewCredit,
    /// 市场准入: market access.
    MarketAccess,
    /// 评优评先: honours and awards.
    Honours,
    /// 告知承诺审批: approval on notice and commitment.
    NoticeAndCommitment,
}

impl Measure {
    /// Every measure.
    pub const ALL: [Measure; 7] = [
        Measure::Bidding,
        Measure::GovernmentProcurement,
        Measure::FiscalSubsidy,
        Measure::NewCredit,
        Measure::MarketAccess,
        Measure::Honours,
        Measure::NoticeAndCommitment,
    ];

    /// The name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Bidding => "bidding",
            Measure::GovernmentProcurement => "government_procurement",
            Measure::FiscalSubsidy => "fiscal_subsidy",
            Measure::NewCredit => "new_credit",
            Measure::MarketAccess => "market_access",
            Measure::Honours => "honours",
            Measure::NoticeAndCommitment => "notice_and_commitment",
        }
    }

    /// The Chinese name.
    pub fn chinese_name(self) -> &'static str {
        match self {
            Measure::Bidding => "招标投标",
            Measure::GovernmentProcurement => "政府采购",
            Measure::FiscalSubsidy => "财政补贴",
            Measure::NewCredit => "新增授信",
            Measure::MarketAccess => "市场准入",
            Measure::Honours => "评优评先",
            Measure::NoticeAndCommitment => "告知承诺审批",
        }
    }
}

impl std::str::FromStr for Measure {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Measure::ALL.iter().copied().find(|m| m.as_str() == s).ok_or_else(|| {
            format!(
                "{s:?} is not a measure; one of: {}",
                Measure::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
            )
        })
    }
}

impl std::fmt::Display for Measure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of a sanction, as signed by the department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// A sanction imposed (`sanction/imposed`).
    Imposed {
        /// Always [`SANCTION_FORMAT`].
        #[serde(rename = "type")]
        kind: String,
        /// The firm's USCC.
        subject: String,
        /// The department imposing it (the signer's department).
        department: String,
        /// What it restricts, each once.
        measures: Vec<Measure>,
        /// The entries that justify it, each once (1 to [`MAX_BASIS`]).
        basis: Vec<u64>,
        /// The legal basis, in words (法律依据).
        legal_basis: String,
        /// First day it restricts.
        start: Date,
        /// Last day it restricts.
        end: Date,
        /// The day it is imposed.
        date: Date,
        /// The document number (文号).
        reference: String,
    },
    /// A sanction lifted early by its department (`sanction/lifted`).
    Lifted {
        /// Always [`SANCTION_FORMAT`].
        #[serde(rename = "type")]
        kind: String,
        /// The firm's USCC.
        subject: String,
        /// The department that imposed it.
        department: String,
        /// The `sanction/imposed` entry.
        sanction_index: u64,
        /// Why, in words.
        reason: String,
        /// From this day on it no longer restricts.
        date: Date,
    },
}

impl Step {
    /// The step's name, the second part of its header kind.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Imposed { .. } => "imposed",
            Step::Lifted { .. } => "lifted",
        }
    }

    /// The firm.
    pub fn subject(&self) -> &str {
        match self {
            Step::Imposed { subject, .. } | Step::Lifted { subject, .. } => subject,
        }
    }

    /// The department.
    pub fn department(&self) -> &str {
        match self {
            Step::Imposed { department, .. } | Step::Lifted { department, .. } => department,
        }
    }

    /// The day of the step.
    pub fn date(&self) -> Date {
        match self {
            Step::Imposed { date, .. } | Step::Lifted { date, .. } => *date,
        }
    }

    /// The header kind of this step.
    pub fn header_kind(&self) -> String {
        format!("sanction/{}", self.name())
    }

    /// Parses a step and checks its fields on their own.
    ///
    /// # Errors
    ///
    /// What is malformed, naming the field.
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        let s: Step = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        let (Step::Imposed { kind, .. } | Step::Lifted { kind, .. }) = &s;
        if kind != SANCTION_FORMAT {
            return Err(format!("type must be {SANCTION_FORMAT:?}, not {kind:?}"));
        }
        crate::uscc::Uscc::parse(s.subject()).map_err(|e| format!("subject: {e}"))?;
        if !crate::record::is_department_code(s.department()) {
            return Err(format!("department: {}", crate::record::DEPARTMENT_CODE_RULE));
        }
        let text = |field: &str, t: &str| {
            if t.trim().is_empty() || t.chars().count() > MAX_TEXT {
                Err(format!("{field}: required, at most {MAX_TEXT} characters"))
            } else {
                Ok(())
            }
        };
        match &s {
            Step::Imposed { measures, basis, legal_basis, start, end, reference, .. } => {
                if measures.is_empty() {
                    return Err("measures: name at least one measure".into());
                }
                let mut m = measures.clone();
                m.sort();
                m.dedup();
                if m.len() != measures.len() {
                    return Err("measures: name each measure once".into());
                }
                if basis.is_empty() || basis.len() > MAX_BASIS {
                    return Err(format!("basis: name between 1 and {MAX_BASIS} entries"));
                }
                let mut b = basis.clone();
                b.sort_unstable();
                b.dedup();
                if b.len() != basis.len() {
                    return Err("basis: name each entry once".into());
                }
                text("legal_basis", legal_basis)?;
                text("reference", reference)?;
                if end <= start {
                    return Err(format!("end: {end} is not after the start, {start}"));
                }
            }
            Step::Lifted { reason, .. } => text("reason", reason)?,
        }
        Ok(s)
    }

    /// Serialises the step.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a sanction step serialises")
    }

    /// Signs the step with the department's key.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Envelope {
        Envelope::sign(SANCTION_TYPE, &self.to_bytes(), key)
    }
}

/// The sanction rules file (`rules/sanctions.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SanctionRules {
    /// Where the rules come from.
    pub source: String,
    /// Header kinds a basis entry may have.
    pub basis_kinds: Vec<String>,
    /// Where the basis kinds come from.
    pub basis_source: String,
    /// The longest period, start to end, in years.
    pub max_years: u32,
    /// Where it comes from.
    pub max_years_source: String,
    /// Whether grade decisions alone may be the basis.
    pub class_basis_allowed: bool,
    /// Where the policy comes from.
    pub class_basis_source: String,
}

impl SanctionRules {
    /// Parses a rules file.
    ///
    /// # Errors
    ///
    /// A file that does not parse, a basis kind that is not a record kind or `decision/grade`, a
    /// period of 0 or over 10 years, or a rule without a source.
    pub fn parse(text: &str) -> Result<Self, String> {
        let r: SanctionRules = toml::from_str(text).map_err(|e| e.to_string())?;
        if r.basis_kinds.is_empty() {
            return Err("basis_kinds: name at least one kind".into());
        }
        for k in &r.basis_kinds {
            let ok = k == "decision/grade"
                || k.strip_prefix("record/").is_some_and(|r| r.parse::<crate::record::RecordKind>().is_ok());
            if !ok {
                return Err(format!("basis_kinds: {k:?} is neither record/<kind> nor decision/grade"));
            }
        }
        if !(1..=10).contains(&r.max_years) {
            return Err("max_years must be 1 to 10".into());
        }
        if [&r.source, &r.basis_source, &r.max_years_source, &r.class_basis_source].iter().any(|s| s.trim().is_empty())
        {
            return Err("every rule cites a source".into());
        }
        Ok(r)
    }

    /// The rules shipped in `rules/sanctions.toml` (parsed once).
    pub fn shipped() -> &'static Self {
        static SHIPPED: std::sync::OnceLock<SanctionRules> = std::sync::OnceLock::new();
        SHIPPED.get_or_init(|| Self::parse(RULES).expect("the shipped sanction rules parse"))
    }
}

/// Why a basis entry no longer stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Fallen {
    /// A retraction (撤回/更正) names it.
    Retracted {
        /// The retraction.
        by: u64,
    },
    /// A removal from its list (移出名录) names it.
    Removed {
        /// The removal.
        by: u64,
    },
    /// An approved credit repair (信用修复) names it.
    Repaired {
        /// The approving `repair/decided` entry.
        by: u64,
    },
    /// An objection against it was upheld (异议成立).
    ObjectionUpheld {
        /// The resolution.
        by: u64,
    },
    /// Its content was redacted (删除).
    Redacted,
}

impl std::fmt::Display for Fallen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fallen::Retracted { by } => write!(f, "retracted (撤回) by entry {by}"),
            Fallen::Removed { by } => write!(f, "removed from its list (移出名录) by entry {by}"),
            Fallen::Repaired { by } => write!(f, "repaired (信用修复) by the approval at entry {by}"),
            Fallen::ObjectionUpheld { by } => write!(f, "overturned by an upheld objection (异议成立) at entry {by}"),
            Fallen::Redacted => f.write_str("redacted (删除)"),
        }
    }
}

/// Whether the entry at `basis`, about `subject`, still stands on the log as `history` shows it
/// (before the entry being checked): `Ok` if it does, else why not. An entry `history` cannot
/// see at all is the caller's to refuse.
///
/// # Errors
///
/// Why it no longer stands.
pub fn basis_standing(basis: u64, subject: &str, history: &dyn History) -> Result<(), Fallen> {
    if history.prior(basis).is_some_and(|p| p.redacted) {
        return Err(Fallen::Redacted);
    }
    let entries = history.firm_entries(subject);
    let records: Vec<(u64, &crate::record::Record)> =
        entries.iter().filter_map(|(i, p)| p.record.as_ref().map(|r| (*i, r))).collect();
    for (i, r) in &records {
        if crate::decision::stop_target(r, &records) == Some(basis) {
            return Err(match r.fields() {
                RecordFields::Retraction(_) => Fallen::Retracted { by: *i },
                _ => Fallen::Removed { by: *i },
            });
        }
    }
    let step_of = |i: u64| entries.iter().find(|(j, _)| *j == i).map(|(_, p)| p);
    for (i, p) in &entries {
        if let Some(crate::repair::Step::Decided { approved: true, application_index, .. }) = &p.repair {
            let applied = step_of(*application_index).and_then(|a| a.repair.as_ref());
            if matches!(applied, Some(crate::repair::Step::Applied { target_index, .. }) if *target_index == basis) {
                return Err(Fallen::Repaired { by: *i });
            }
        }
        if let Some(crate::objection::Step::Resolved {
            objection_index,
            outcome: crate::objection::Outcome::Upheld,
            ..
        }) = &p.objection
        {
            let filed = step_of(*objection_index).and_then(|a| a.objection.as_ref());
            if matches!(filed, Some(crate::objection::Step::Filed { target_index: Some(t), .. }) if *t == basis) {
                return Err(Fallen::ObjectionUpheld { by: *i });
            }
        }
    }
    Ok(())
}

/// Where a sanction stands on a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Status {
    /// It restricts on that day.
    InForce,
    /// The day is before its start.
    NotStarted,
    /// The day is after its end.
    Ended,
    /// Its department lifted it early, from the day of the lift.
    LiftedEarly {
        /// The `sanction/lifted` entry.
        by: u64,
        /// From when.
        date: Date,
        /// The department's reason.
        reason: String,
    },
    /// A basis entry no longer stands: lifted at once.
    BasisFallen {
        /// The basis entry.
        basis: u64,
        /// Why.
        why: Fallen,
    },
}

impl Status {
    /// One plain sentence.
    pub fn explain(&self, start: Date, end: Date) -> String {
        match self {
            Status::InForce => format!("in force from {start} to {end}"),
            Status::NotStarted => format!("not yet in force: it runs from {start} to {end}"),
            Status::Ended => format!("ended on {end}"),
            Status::LiftedEarly { by, date, reason } => {
                format!("lifted early (提前解除) by its department at entry {by}, from {date}: {reason}")
            }
            Status::BasisFallen { basis, why } => {
                format!("lifted: its basis, entry {basis}, no longer stands: {why}")
            }
        }
    }
}

/// What lifts a sanction whatever the day: a basis that fell, and the department's early lift.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Standing {
    /// The first basis entry that no longer stands, and why.
    pub fallen: Option<(u64, Fallen)>,
    /// The early lift: its entry, its day and the reason.
    pub lift: Option<(u64, Date, String)>,
}

impl Standing {
    /// What lifts the sanction imposed at `index` (whose step is `imposed`), by the log as
    /// `history` shows it now.
    pub fn of(index: u64, imposed: &Step, history: &dyn History) -> Self {
        let Step::Imposed { subject, basis, .. } = imposed else { return Self::default() };
        let fallen = basis.iter().find_map(|b| basis_standing(*b, subject, history).err().map(|why| (*b, why)));
        let lift = history.firm_entries(subject).into_iter().find_map(|(i, p)| match p.sanction {
            Some(Step::Lifted { sanction_index, date, reason, .. }) if sanction_index == index => {
                Some((i, date, reason))
            }
            _ => None,
        });
        Self { fallen, lift }
    }

    /// Where a sanction running from `start` to `end` stands on `on`.
    pub fn on(&self, start: Date, end: Date, on: Date) -> Status {
        if let Some((basis, why)) = &self.fallen {
            return Status::BasisFallen { basis: *basis, why: why.clone() };
        }
        if let Some((by, date, reason)) = &self.lift {
            if on >= *date {
                return Status::LiftedEarly { by: *by, date: *date, reason: reason.clone() };
            }
        }
        if on < start {
            Status::NotStarted
        } else if on > end {
            Status::Ended
        } else {
            Status::InForce
        }
    }
}

/// Where the sanction imposed at `index` stands on `on`, by the log as `history` shows it now.
/// `None` if `index` is not an imposed sanction `history` can see.
pub fn status(index: u64, on: Date, history: &dyn History) -> Option<Status> {
    let step = history.prior(index)?.sanction?;
    let Step::Imposed { start, end, .. } = &step else { return None };
    Some(Standing::of(index, &step, history).on(*start, *end, on))
}

fn refuse(rule: Rule, field: &'static str, detail: impl Into<String>) -> Refusal {
    Refusal { rule, field, detail: detail.into() }
}

/// Checks the sanction rules for a step at `index`, signed by `author`, against the log before
/// it (`plausible-date` is the caller's, as for every dated step).
///
/// # Errors
///
/// The first rule broken.
pub fn check(
    author: &Principal,
    step: &Step,
    index: u64,
    history: &dyn History,
    rules: &SanctionRules,
) -> Result<(), Refusal> {
    let subject = step.subject();
    match step {
        Step::Imposed { department, basis, start, end, date, .. } => {
            if *author != Principal::Department(department.clone()) {
                return Err(refuse(
                    Rule::SanctionByDepartment,
                    "signatures[0].keyid",
                    format!(
                        "a sanction is imposed by a department in its own name; this one names {department} but is signed by a key of {author}"
                    ),
                ));
            }
            if start < date {
                return Err(refuse(
                    Rule::SanctionPeriod,
                    "start",
                    format!("the sanction starts on {start}, before it is imposed on {date}: a sanction does not restrict the past"),
                ));
            }
            let latest = start.add_months(12 * rules.max_years).and_then(|d| d.add_days(-1)).unwrap_or(Date::MAX);
            if *end > latest {
                return Err(refuse(
                    Rule::SanctionPeriod,
                    "end",
                    format!(
                        "the sanction ends on {end}, later than {latest}: the rules allow at most {} year(s) from its start ({})",
                        rules.max_years, rules.max_years_source
                    ),
                ));
            }
            let mut kinds = Vec::new();
            for b in basis {
                let bad = |detail: String| refuse(Rule::SanctionBasis, "basis", detail);
                let p: PriorEntry = (*b < index)
                    .then(|| history.prior(*b))
                    .flatten()
                    .ok_or_else(|| bad(format!("entry {b} is not an entry on the log before this sanction")))?;
                if p.subject.as_deref() != Some(subject) {
                    return Err(bad(format!("entry {b} is not about {subject}")));
                }
                if !rules.basis_kinds.contains(&p.kind) {
                    return Err(bad(format!(
                        "entry {b} is a {}; a sanction rests on a listing, a penalty or a grade decision ({})",
                        p.kind,
                        rules.basis_kinds.join(", ")
                    )));
                }
                basis_standing(*b, subject, history)
                    .map_err(|why| bad(format!("entry {b} no longer stands: it was {why}")))?;
                kinds.push(p.kind);
            }
            if !rules.class_basis_allowed && kinds.iter().all(|k| k.starts_with("decision/")) {
                return Err(refuse(
                    Rule::SanctionClassBasis,
                    "basis",
                    format!(
                        "the basis is only grade decisions, the risk class itself, which this jurisdiction does not allow as a basis of punishment ({}); cite the listing or penalty record",
                        rules.class_basis_source
                    ),
                ));
            }
            Ok(())
        }
        Step::Lifted { department, sanction_index, date, .. } => {
            let s = *sanction_index;
            let imposed = (s < index).then(|| history.prior(s)).flatten().and_then(|p| p.sanction);
            let Some(Step::Imposed { subject: of, department: by, date: imposed_on, .. }) = imposed else {
                return Err(refuse(
                    Rule::SanctionLift,
                    "sanction_index",
                    format!("entry {s} is not a sanction imposed earlier on this log"),
                ));
            };
            if of != subject {
                return Err(refuse(
                    Rule::SanctionLift,
                    "sanction_index",
                    format!("the sanction at entry {s} is about {of}, not {subject}"),
                ));
            }
            if *author != Principal::Department(by.clone()) || *department != by {
                return Err(refuse(
                    Rule::SanctionByDepartment,
                    "signatures[0].keyid",
                    format!("the sanction at entry {s} was imposed by {by}; only that department lifts it early; this key belongs to {author}"),
                ));
            }
            if *date < imposed_on {
                return Err(refuse(
                    Rule::SanctionLift,
                    "date",
                    format!("lifted on {date}, before the sanction was imposed on {imposed_on}"),
                ));
            }
            for (i, p) in history.firm_entries(subject) {
                if matches!(p.sanction, Some(Step::Lifted { sanction_index, .. }) if sanction_index == s) {
                    return Err(refuse(
                        Rule::SanctionLift,
                        "sanction_index",
                        format!("the sanction at entry {s} was already lifted at entry {i}"),
                    ));
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;
    use std::collections::BTreeMap;

    const FIRM: &str = "91370303MA3C8DXA25";
    const OTHER: &str = "11370306004220465W";

    /// The log before the entry being checked, as a map.
    #[derive(Default, Clone)]
    struct Log(BTreeMap<u64, PriorEntry>);

    impl History for Log {
        fn prior(&self, index: u64) -> Option<PriorEntry> {
            self.0.get(&index).cloned()
        }
        fn live_record(&self, _: &str, _: &str, _: crate::record::RecordKind, _: &str) -> Option<u64> {
            None
        }
        fn records_of_kind(&self, _: &str, _: crate::record::RecordKind) -> Vec<(u64, Record)> {
            Vec::new()
        }
        fn model_published(&self, _: &str) -> bool {
            false
        }
        fn objection_steps(&self, _: u64) -> Vec<(u64, crate::objection::Step)> {
            Vec::new()
        }
        fn repair_steps(&self, _: u64) -> Vec<(u64, crate::repair::Step)> {
            Vec::new()
        }
        fn firm_records(&self, _: &str) -> Vec<(u64, Record)> {
            Vec::new()
        }
        fn firm_decisions(&self, _: &str) -> Vec<(u64, crate::decision::Decision)> {
            Vec::new()
        }
        fn firm_entries(&self, subject: &str) -> Vec<(u64, PriorEntry)> {
            self.0.iter().filter(|(_, p)| p.subject.as_deref() == Some(subject)).map(|(i, p)| (*i, p.clone())).collect()
        }
    }

    fn day(d: &str) -> Date {
        Date::parse(d).unwrap()
    }

    fn dept(code: &str) -> Principal {
        Principal::Department(code.into())
    }

    fn bare(kind: &str, author: Principal, subject: &str) -> PriorEntry {
        PriorEntry {
            kind: kind.into(),
            author,
            subject: Some(subject.into()),
            record: None,
            objection: None,
            repair: None,
            commitment: None,
            time: 0,
            redacted: false,
            sanction: None,
        }
    }

    fn record(kind: &str, subject: &str, fields: serde_json::Value) -> PriorEntry {
        let r = serde_json::json!({"type": crate::record::RECORD_FORMAT, "kind": kind, "subject": subject,
            "department": "zibo-amr", "date": "2026-09-01", "reference": format!("{kind}-{}", fields.to_string().len()), "fields": fields});
        let record = Record::parse(r.to_string().as_bytes()).unwrap();
        PriorEntry { record: Some(record), ..bare(&format!("record/{kind}"), dept("zibo-amr"), subject) }
    }

    fn penalty(subject: &str) -> PriorEntry {
        record(
            "administrative_penalty",
            subject,
            serde_json::json!({"violation_type": "虚假广告", "violation": "虚假广告", "penalties": ["fine"],
                "fine_amount_fen": 500_000, "severity": "serious", "publicity_months": 36}),
        )
    }

    /// Entry 1: a penalty about FIRM; 2: a licence; 3: a grade decision; 4: a penalty about OTHER.
    fn log() -> Log {
        let mut l = Log::default();
        l.0.insert(1, penalty(FIRM));
        l.0.insert(
            2,
            record(
                "administrative_licence",
                FIRM,
                serde_json::json!({"licence_name": "食品经营许可证", "licence_number": "JY1", "valid_from": "2026-01-01",
                    "valid_until": "2031-01-01"}),
            ),
        );
        l.0.insert(3, bare("decision/grade", Principal::Role(crate::identity::Role::Grader, "g".into()), FIRM));
        l.0.insert(4, penalty(OTHER));
        l
    }

    fn imposed(basis: &[u64], start: &str, end: &str) -> Step {
        Step::Imposed {
            kind: SANCTION_FORMAT.into(),
            subject: FIRM.into(),
            department: "zibo-drc".into(),
            measures: vec![Measure::Bidding, Measure::FiscalSubsidy],
            basis: basis.to_vec(),
            legal_basis: "《关于加快推进社会信用体系建设构建以信用为基础的新型监管机制的指导意见》".into(),
            start: day(start),
            end: day(end),
            date: day("2026-11-29"),
            reference: "淄发改惩〔2026〕3号".into(),
        }
    }

    fn lifted(sanction_index: u64, department: &str, date: &str) -> Step {
        Step::Lifted {
            kind: SANCTION_FORMAT.into(),
            subject: FIRM.into(),
            department: department.into(),
            sanction_index,
            reason: "已履行法定义务".into(),
            date: day(date),
        }
    }

    fn rule_of(author: &Principal, step: &Step, history: &Log) -> Result<(), Rule> {
        check(author, step, 100, history, SanctionRules::shipped()).map_err(|r| r.rule)
    }

    #[test]
    fn the_shipped_rules_parse_and_forbid_class_only_sanctions() {
        let r = SanctionRules::shipped();
        assert_eq!(r.max_years, 3);
        assert!(!r.class_basis_allowed);
        assert!(r.basis_kinds.iter().any(|k| k == "decision/grade"));
        assert!(SanctionRules::parse(&RULES.replace("\"decision/grade\"", "\"decision/nothing\"")).is_err());
    }

    #[test]
    fn a_good_sanction_passes() {
        assert_eq!(rule_of(&dept("zibo-drc"), &imposed(&[1], "2026-12-01", "2029-11-30"), &log()), Ok(()));
        assert_eq!(rule_of(&dept("zibo-drc"), &imposed(&[1, 3], "2026-12-01", "2029-11-30"), &log()), Ok(()));
    }

    #[test]
    fn only_a_department_in_its_own_name_imposes() {
        let s = imposed(&[1], "2026-12-01", "2027-11-30");
        assert_eq!(rule_of(&dept("zibo-amr"), &s, &log()), Err(Rule::SanctionByDepartment));
        assert_eq!(rule_of(&Principal::Enterprise(FIRM.into()), &s, &log()), Err(Rule::SanctionByDepartment));
        let ga = Principal::Role(crate::identity::Role::GradingAuthority, "ga".into());
        assert_eq!(rule_of(&ga, &s, &log()), Err(Rule::SanctionByDepartment));
        assert_eq!(Rule::SanctionByDepartment.status(), 403);
    }

    #[test]
    fn the_basis_must_exist_be_earlier_about_the_firm_and_of_a_basis_kind() {
        let d = dept("zibo-drc");
        for basis in [[7u64], [2], [4], [100], [150]] {
            assert_eq!(
                rule_of(&d, &imposed(&basis, "2026-12-01", "2027-11-30"), &log()),
                Err(Rule::SanctionBasis),
                "basis {basis:?}"
            );
        }
    }

    #[test]
    fn a_basis_that_no_longer_stands_is_refused_and_lifts_the_sanction() {
        let d = dept("zibo-drc");
        let s = imposed(&[1], "2026-12-01", "2027-11-30");
        let mut cases: Vec<(Log, Fallen)> = Vec::new();
        // Retracted.
        let mut l = log();
        l.0.insert(
            10,
            record("retraction", FIRM, serde_json::json!({"target_index": 1, "ground": "error", "reason": "误报"})),
        );
        cases.push((l, Fallen::Retracted { by: 10 }));
        // Repaired: applied, then approved.
        let mut l = log();
        let firm = Principal::Enterprise(FIRM.into());
        l.0.insert(
            10,
            PriorEntry {
                repair: Some(crate::repair::Step::Applied {
                    kind: crate::repair::REPAIR_FORMAT.into(),
                    subject: FIRM.into(),
                    target_index: 1,
                    commitment: "守信".into(),
                    proofs: Vec::new(),
                    date: day("2026-10-01"),
                }),
                ..bare("repair/applied", firm.clone(), FIRM)
            },
        );
        l.0.insert(
            12,
            PriorEntry {
                repair: Some(crate::repair::Step::Decided {
                    kind: crate::repair::REPAIR_FORMAT.into(),
                    subject: FIRM.into(),
                    application_index: 10,
                    approved: true,
                    reason: "准予修复".into(),
                    date: day("2026-10-10"),
                }),
                ..bare("repair/decided", dept("zibo-amr"), FIRM)
            },
        );
        cases.push((l.clone(), Fallen::Repaired { by: 12 }));
        // A refused repair does not lift it.
        if let Some(crate::repair::Step::Decided { approved, .. }) = &mut l.0.get_mut(&12).unwrap().repair {
            *approved = false;
        }
        assert_eq!(basis_standing(1, FIRM, &l), Ok(()));
        // Objection upheld.
        let mut l = log();
        let obj = |step: crate::objection::Step, kind: &str, who: Principal| PriorEntry {
            objection: Some(step),
            ..bare(kind, who, FIRM)
        };
        l.0.insert(
            10,
            obj(
                crate::objection::Step::Filed {
                    kind: crate::objection::OBJECTION_FORMAT.into(),
                    subject: FIRM.into(),
                    target_index: Some(3),
                    omission: None,
                    grounds: crate::objection::Grounds::Error,
                    statement: "有误".into(),
                    commitment: "属实".into(),
                    date: day("2026-10-01"),
                },
                "objection/filed",
                firm,
            ),
        );
        let resolved = |outcome| {
            obj(
                crate::objection::Step::Resolved {
                    kind: crate::objection::OBJECTION_FORMAT.into(),
                    subject: FIRM.into(),
                    objection_index: 10,
                    outcome,
                    reason: "经核实".into(),
                    correction_index: None,
                    date: day("2026-10-20"),
                },
                "objection/resolved",
                Principal::Role(crate::identity::Role::GradingAuthority, "ga".into()),
            )
        };
        l.0.insert(12, resolved(crate::objection::Outcome::Rejected));
        assert_eq!(basis_standing(3, FIRM, &l), Ok(()));
        l.0.insert(12, resolved(crate::objection::Outcome::Upheld));
        assert_eq!(basis_standing(3, FIRM, &l), Err(Fallen::ObjectionUpheld { by: 12 }));
        let mut l2 = l.clone();
        l2.0.insert(13, penalty(FIRM));
        assert_eq!(
            rule_of(&d, &imposed(&[3, 13], "2026-12-01", "2027-11-30"), &l2),
            Err(Rule::SanctionBasis),
            "a decision overturned by an upheld objection is no basis"
        );
        // Redacted.
        let mut l = log();
        l.0.get_mut(&1).unwrap().redacted = true;
        cases.push((l, Fallen::Redacted));
        for (l, why) in cases {
            assert_eq!(basis_standing(1, FIRM, &l), Err(why.clone()));
            assert_eq!(rule_of(&d, &s, &l), Err(Rule::SanctionBasis), "{why}");
            // Logged before the basis fell, the sanction is lifted at once, for every day.
            let mut after = l.clone();
            after.0.insert(5, PriorEntry { sanction: Some(s.clone()), ..bare(IMPOSED_KIND, d.clone(), FIRM) });
            assert_eq!(status(5, day("2027-01-01"), &after), Some(Status::BasisFallen { basis: 1, why }));
        }
    }

    #[test]
    fn a_class_only_basis_is_refused_unless_the_policy_allows_it() {
        let s = imposed(&[3], "2026-12-01", "2027-11-30");
        assert_eq!(rule_of(&dept("zibo-drc"), &s, &log()), Err(Rule::SanctionClassBasis));
        let allowing =
            SanctionRules::parse(&RULES.replace("class_basis_allowed = false", "class_basis_allowed = true")).unwrap();
        assert!(check(&dept("zibo-drc"), &s, 100, &log(), &allowing).is_ok());
    }

    #[test]
    fn the_period_starts_on_or_after_the_day_and_lasts_at_most_the_rules_allow() {
        let d = dept("zibo-drc");
        assert_eq!(rule_of(&d, &imposed(&[1], "2026-11-01", "2027-11-30"), &log()), Err(Rule::SanctionPeriod));
        assert_eq!(rule_of(&d, &imposed(&[1], "2026-12-01", "2029-12-01"), &log()), Err(Rule::SanctionPeriod));
        assert_eq!(rule_of(&d, &imposed(&[1], "2026-12-01", "2029-11-30"), &log()), Ok(()));
        // End not after start is malformed.
        let bad = imposed(&[1], "2026-12-01", "2026-12-01");
        assert!(Step::parse(&bad.to_bytes()).unwrap_err().contains("end"));
    }

    #[test]
    fn steps_parse_and_bad_ones_name_the_field() {
        let s = imposed(&[1, 3], "2026-12-01", "2027-11-30");
        assert_eq!(Step::parse(&s.to_bytes()).unwrap(), s);
        let mut v: serde_json::Value = serde_json::from_slice(&s.to_bytes()).unwrap();
        v["measures"] = serde_json::json!([]);
        assert!(Step::parse(v.to_string().as_bytes()).unwrap_err().contains("measures"));
        v["measures"] = serde_json::json!(["bidding", "bidding"]);
        assert!(Step::parse(v.to_string().as_bytes()).unwrap_err().contains("measures"));
        v["measures"] = serde_json::json!(["lottery"]);
        assert!(Step::parse(v.to_string().as_bytes()).is_err());
        v["measures"] = serde_json::json!(["bidding"]);
        v["basis"] = serde_json::json!((0..21).collect::<Vec<u64>>());
        assert!(Step::parse(v.to_string().as_bytes()).unwrap_err().contains("basis"));
        v["basis"] = serde_json::json!([]);
        assert!(Step::parse(v.to_string().as_bytes()).unwrap_err().contains("basis"));
        assert_eq!("new_credit".parse::<Measure>(), Ok(Measure::NewCredit));
    }

    #[test]
    fn only_the_imposing_department_lifts_once_and_the_status_follows() {
        let mut l = log();
        let s = imposed(&[1], "2026-12-01", "2027-11-30");
        l.0.insert(5, PriorEntry { sanction: Some(s), ..bare(IMPOSED_KIND, dept("zibo-drc"), FIRM) });
        assert_eq!(status(5, day("2026-11-30"), &l), Some(Status::NotStarted));
        assert_eq!(status(5, day("2026-12-01"), &l), Some(Status::InForce));
        assert_eq!(status(5, day("2027-11-30"), &l), Some(Status::InForce));
        assert_eq!(status(5, day("2027-12-01"), &l), Some(Status::Ended));
        assert_eq!(status(1, day("2027-01-01"), &l), None);
        let lift = lifted(5, "zibo-drc", "2027-03-01");
        assert_eq!(rule_of(&dept("zibo-drc"), &lift, &l), Ok(()));
        assert_eq!(rule_of(&dept("zibo-amr"), &lift, &l), Err(Rule::SanctionByDepartment));
        assert_eq!(
            rule_of(&dept("zibo-amr"), &lifted(5, "zibo-amr", "2027-03-01"), &l),
            Err(Rule::SanctionByDepartment)
        );
        assert_eq!(rule_of(&dept("zibo-drc"), &lifted(1, "zibo-drc", "2027-03-01"), &l), Err(Rule::SanctionLift));
        assert_eq!(rule_of(&dept("zibo-drc"), &lifted(5, "zibo-drc", "2026-01-01"), &l), Err(Rule::SanctionLift));
        l.0.insert(6, PriorEntry { sanction: Some(lift.clone()), ..bare(LIFTED_KIND, dept("zibo-drc"), FIRM) });
        assert_eq!(rule_of(&dept("zibo-drc"), &lift, &l), Err(Rule::SanctionLift), "lifted twice");
        assert_eq!(status(5, day("2027-02-28"), &l), Some(Status::InForce));
        assert!(matches!(status(5, day("2027-03-01"), &l), Some(Status::LiftedEarly { by: 6, .. })));
    }
}
