//! Authority: who may author which entry, about whom, pointing at what (DESIGN invariant 9).
//!
//! One function, [`check_entry`], answers for any entry and the key book before it: "may this
//! key author this entry, about this subject, pointing at that entry?". The server calls it at
//! intake and refuses with the rule's name; the offline verifier ([`crate::evidence`]) calls it
//! for every entry of a bundle, so a server that broke a rule is caught.
//!
//! Every refusal names a [`Rule`]; each rule is one sentence an official understands:
//!
//! | rule | plain language |
//! | --- | --- |
//! | `key-valid` | the signing key is on the log and was not rotated out or revoked before this entry |
//! | `records-by-departments` | records are signed by a department's key, under that department's code |
//! | `department-kinds` | a department submits only the record kinds it is registered for |
//! | `retraction-by-author` | only the department that wrote a record retracts or corrects it |
//! | `retraction-same-enterprise` | a retraction is about the same enterprise as the record it retracts |
//! | `retraction-earlier-record` | a retraction points at a record already on the log (an earlier entry) |
//! | `removal-names-listing` | a list removal names a listing already on the log (by index, or by its date: the earliest that day): of that list, about that firm, by the department that listed it |
//! | `one-record-one-entry` | the same department, kind and document number is one record: send it again only after retracting the first |
//! | `plausible-date` | a record is dated between the jurisdiction's earliest date and the day it was logged (plus a stated tolerance) |
//! | `identity-rules` | registrations, role keys, rotations, revocations and enterprise key bindings follow [`crate::identity`] |
//! | `statement-well-formed` | an identity statement's fields are valid: keys that the signature rule accepts, a valid USCC, settings within range |
//! | `entry-subject` | an identity entry is about the enterprise whose key it concerns, and about no one else |
//! | `models-by-grading-authority` | scoring models and re-grading orders are signed by the grading authority |
//! | `decisions-by-grader` | grade decisions and run summaries are signed by the grader key |
//! | `as-of-not-future` | a re-grade or decision is not as of a day after the day it was logged |
//! | `order-cites-model` | a re-grading order names a model published on the log |
//! | `objection-by-the-firm` | an objection is filed by the firm it is about, with its own bound key |
//! | `objection-target` | an objection contests an earlier record or grade decision about the same firm, or names a registered department for a missing record |
//! | `objection-routed` | an objection is accepted and resolved by the department that produced the record (for a decision, the grading authority; for a missing record, the department named) |
//! | `objection-sequence` | an objection is accepted (or refused acceptance) once, then resolved once, only after it was accepted, on or after the day of the step before |
//! | `repair-by-the-firm` | a credit repair is applied for by the firm it is about, with its own bound key |
//! | `repair-target` | a repair concerns an earlier department record about the same firm |
//! | `repair-routed` | the department that made the penalty or listing holds the interview and decides |
//! | `repair-sequence` | a repair is interviewed once and decided once, after the interview, each step on or after the step before |
//! | `repair-kind`, `repair-unrepairable`, `repair-too-early`, `repair-repeat-violation`, `repair-listing-in-force` | the repair rules ([`crate::repair`], `rules/repair.toml`) allow the repair on the day of the application and of an approval |
//! | `commitment-by-the-firm` | a firm's own commitment (信用承诺) is signed by that firm's bound key |
//! | `commitment-checked` | the commitment names a department registered to record commitment outcomes; its outcome is recorded once, by that department, about that firm |
//! | `objection-correction` | an upheld objection cites the correction: the retraction of the contested record, or the missing record added, by the same department, after the objection was filed |
//! | `redaction-by-author` | only the department whose key signed a record has its content deleted ([`crate::redaction`]) |
//! | `redaction-target` | a redaction names earlier department records about the same firm, never a retraction or a removal from a list |
//! | `redaction-rule` | `personal-data`: the record was retracted or corrected first; `retention`: its kind's retention period has passed since it was logged, and the newest decision under each model no longer counts it |
//! | `sanction-by-department` | only a department imposes a sanction (联合惩戒), in its own name, and only that department lifts it early ([`crate::sanction`]) |
//! | `sanction-basis` | every basis entry of a sanction is on the log before it, about the same firm, a listing, a penalty or a grade decision, and still stands (not retracted, removed, repaired, overturned by an upheld objection or redacted) |
//! | `sanction-class-basis` | a sanction resting only on grade decisions (the risk class itself) is refused unless `rules/sanctions.toml` allows it |
//! | `sanction-period` | a sanction starts on or after the day it is imposed and ends after it starts, within the longest period the rules allow |
//! | `sanction-lift` | a lift names an earlier sanction about the same firm, not lifted before, on or after the day it was imposed |
//! | `heads-by-grader` | a map of chain heads (完整性承诺, [`crate::completeness`]) is signed by the grader key |
//! | `anchors-by-grader` | a city checkpoint anchored in a provincial log, and the province's list of its cities ([`crate::federation`]), are signed by the province's grader key |
//! | `heads-well-formed` | a map of chain heads covers only entries before it, and names an earlier map as the one before it |

use crate::date::Date;
use crate::decision::{Decision, RegradeOrder, RunSummary};
use crate::identity::{IdentityError, KeyBook, Principal, Role, Statement};
use crate::objection::{Outcome, Step};
use crate::record::{Record, RecordFields, RecordKind};

/// A named rule; see the module table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// See the module table.
    KeyValid,
    /// See the module table.
    RecordsByDepartments,
    /// See the module table.
    DepartmentKinds,
    /// See the module table.
    RetractionByAuthor,
    /// See the module table.
    RetractionSameEnterprise,
    /// See the module table.
    RetractionEarlierRecord,
    /// See the module table.
    RemovalNamesListing,
    /// See the module table.
    OneRecordOneEntry,
    /// See the module table.
    PlausibleDate,
    /// See the module table.
    IdentityRules,
    /// See the module table.
    StatementWellFormed,
    /// See the module table.
    EntrySubject,
    /// See the module table.
    ModelsByGradingAuthority,
    /// See the module table.
    DecisionsByGrader,
    /// See the module table.
    AsOfNotFuture,
    /// See the module table.
    OrderCitesModel,
    /// See the module table.
    ObjectionByTheFirm,
    /// See the module table.
    ObjectionTarget,
    /// See the module table.
    ObjectionRouted,
    /// See the module table.
    ObjectionSequence,
    /// See the module table.
    ObjectionCorrection,
    /// See the module table.
    RepairByTheFirm,
    /// See the module table.
    RepairTarget,
    /// See the module table.
    RepairRouted,
    /// See the module table.
    RepairSequence,
    /// See the module table: the rules have no rule for this kind.
    RepairKind,
    /// See the module table.
    RepairUnrepairable,
    /// See the module table.
    RepairTooEarly,
    /// See the module table.
    RepairRepeatViolation,
    /// See the module table.
    RepairListingInForce,
    /// See the module table.
    CommitmentByTheFirm,
    /// See the module table.
    CommitmentChecked,
    /// See [`crate::redaction`].
    RedactionByAuthor,
    /// See [`crate::redaction`].
    RedactionTarget,
    /// See [`crate::redaction`].
    RedactionRule,
    /// See [`crate::plan`].
    PlanByDepartment,
    /// See [`crate::plan`].
    PlanRules,
    /// See [`crate::plan`].
    DrawByPlanner,
    /// See [`crate::plan`].
    DrawPlan,
    /// See [`crate::plan`].
    DrawReveal,
    /// See [`crate::plan`].
    DrawSeed,
    /// See [`crate::plan`].
    DrawPopulation,
    /// See [`crate::plan`].
    DrawSelection,
    /// See [`crate::plan`].
    InspectionDrawn,
    /// See [`crate::warning`].
    WarningByGrader,
    /// See [`crate::warning`].
    WarningBasis,
    /// See [`crate::warning`].
    WarningRouted,
    /// See [`crate::sanction`].
    SanctionByDepartment,
    /// See [`crate::sanction`].
    SanctionBasis,
    /// See [`crate::sanction`].
    SanctionClassBasis,
    /// See [`crate::sanction`].
    SanctionPeriod,
    /// See [`crate::sanction`].
    SanctionLift,
    /// See [`crate::completeness`]: maps of chain heads are signed by the grader.
    HeadsByGrader,
    /// See [`crate::completeness`]: a map covers only entries before it and names the map before it.
    HeadsWellFormed,
    /// See [`crate::federation`]: city checkpoints are anchored by the province's grader key.
    AnchorsByGrader,
}

impl Rule {
    /// The rule's name, as in API errors and the verifier's report.
    pub fn name(self) -> &'static str {
        match self {
            Rule::KeyValid => "key-valid",
            Rule::RecordsByDepartments => "records-by-departments",
            Rule::DepartmentKinds => "department-kinds",
            Rule::RetractionByAuthor => "retraction-by-author",
            Rule::RetractionSameEnterprise => "retraction-same-enterprise",
            Rule::RetractionEarlierRecord => "retraction-earlier-record",
            Rule::RemovalNamesListing => "removal-names-listing",
            Rule::OneRecordOneEntry => "one-record-one-entry",
            Rule::PlausibleDate => "plausible-date",
            Rule::IdentityRules => "identity-rules",
            Rule::StatementWellFormed => "statement-well-formed",
            Rule::EntrySubject => "entry-subject",
            Rule::ModelsByGradingAuthority => "models-by-grading-authority",
            Rule::DecisionsByGrader => "decisions-by-grader",
            Rule::AsOfNotFuture => "as-of-not-future",
            Rule::OrderCitesModel => "order-cites-model",
            Rule::ObjectionByTheFirm => "objection-by-the-firm",
            Rule::ObjectionTarget => "objection-target",
            Rule::ObjectionRouted => "objection-routed",
            Rule::ObjectionSequence => "objection-sequence",
            Rule::ObjectionCorrection => "objection-correction",
            Rule::RepairByTheFirm => "repair-by-the-firm",
            Rule::RepairTarget => "repair-target",
            Rule::RepairRouted => "repair-routed",
            Rule::RepairSequence => "repair-sequence",
            Rule::RepairKind => "repair-kind",
            Rule::RepairUnrepairable => "repair-unrepairable",
            Rule::RepairTooEarly => "repair-too-early",
            Rule::RepairRepeatViolation => "repair-repeat-violation",
            Rule::RepairListingInForce => "repair-listing-in-force",
            Rule::CommitmentByTheFirm => "commitment-by-the-firm",
            Rule::CommitmentChecked => "commitment-checked",
            Rule::RedactionByAuthor => "redaction-by-author",
            Rule::RedactionTarget => "redaction-target",
            Rule::RedactionRule => "redaction-rule",
            Rule::PlanByDepartment => "plan-by-department",
            Rule::PlanRules => "plan-rules",
            Rule::DrawByPlanner => "draw-by-planner",
            Rule::DrawPlan => "draw-plan",
            Rule::DrawReveal => "draw-reveal",
            Rule::DrawSeed => "draw-seed",
            Rule::DrawPopulation => "draw-population",
            Rule::DrawSelection => "draw-selection",
            Rule::InspectionDrawn => "inspection-drawn",
            Rule::WarningByGrader => "warning-by-grader",
            Rule::WarningBasis => "warning-basis",
            Rule::WarningRouted => "warning-routed",
            Rule::SanctionByDepartment => "sanction-by-department",
            Rule::SanctionBasis => "sanction-basis",
            Rule::SanctionClassBasis => "sanction-class-basis",
            Rule::SanctionPeriod => "sanction-period",
            Rule::SanctionLift => "sanction-lift",
            Rule::HeadsByGrader => "heads-by-grader",
            Rule::HeadsWellFormed => "heads-well-formed",
            Rule::AnchorsByGrader => "anchors-by-grader",
        }
    }

    /// Suggested HTTP status of a refusal under this rule: 403 for who-may-do-what, 400 for a
    /// malformed statement, 422 for an entry that no one may write.
    pub fn status(self) -> u16 {
        match self {
            Rule::StatementWellFormed => 400,
            Rule::KeyValid
            | Rule::RecordsByDepartments
            | Rule::DepartmentKinds
            | Rule::RetractionByAuthor
            | Rule::IdentityRules
            | Rule::ModelsByGradingAuthority
            | Rule::DecisionsByGrader
            | Rule::ObjectionByTheFirm
            | Rule::ObjectionRouted
            | Rule::RepairByTheFirm
            | Rule::RepairRouted
            | Rule::CommitmentByTheFirm
            | Rule::RedactionByAuthor
            | Rule::PlanByDepartment
            | Rule::DrawByPlanner
            | Rule::WarningByGrader
            | Rule::WarningRouted
            | Rule::HeadsByGrader
            | Rule::AnchorsByGrader => 403,
            Rule::SanctionByDepartment => 403,
            _ => 422,
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A refusal: the rule, and what about this entry breaks it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail} (rule {rule})")]
pub struct Refusal {
    /// The rule broken.
    pub rule: Rule,
    /// The field concerned (`fields.target_index`, `date`, `signatures[0].keyid`, ...).
    pub field: &'static str,
    /// What is wrong, in plain language.
    pub detail: String,
}

fn refuse(rule: Rule, field: &'static str, detail: impl Into<String>) -> Refusal {
    Refusal { rule, field, detail: detail.into() }
}

pub use crate::jurisdiction::Settings;

/// What the rules need to know about an earlier entry.
#[derive(Debug, Clone)]
pub struct PriorEntry {
    /// The header's kind, e.g. `record/administrative_penalty`.
    pub kind: String,
    /// Who signed it (from the key book, whatever became of the key since).
    pub author: Principal,
    /// The enterprise it is about.
    pub subject: Option<String>,
    /// The record, for `record/*` entries.
    pub record: Option<Record>,
    /// The objection step, for `objection/*` entries.
    pub objection: Option<Step>,
    /// The repair step, for `repair/*` entries.
    pub repair: Option<crate::repair::Step>,
    /// The firm's commitment, for `commitment/made` entries.
    pub commitment: Option<crate::commitment::Commitment>,
    /// Its intake time (seconds since the epoch), as the header states it.
    pub time: u64,
    /// Its content was deleted by a redaction before the entry being checked: only the header
    /// (kind, author, time) and the firm are left, and `record` and the steps are `None`.
    pub redacted: bool,
    /// The sanction step, for `sanction/*` entries.
    pub sanction: Option<crate::sanction::Step>,
}

/// The earlier entries the rules look at: the log (at intake) or an evidence bundle (offline).
pub trait History {
    /// The entry at `index`, if it is before the entry being checked and known here (`None` for
    /// an index not on the log or not in the bundle).
    fn prior(&self, index: u64) -> Option<PriorEntry>;
    /// The record about `subject` by `department` of `kind` with document number `reference`
    /// that is on the log before the entry being checked and not retracted, if any.
    fn live_record(&self, subject: &str, department: &str, kind: RecordKind, reference: &str) -> Option<u64>;
    /// The records of `kind` about `subject` before the entry being checked, in log order (to
    /// find the listing a removal names by its date).
    fn records_of_kind(&self, subject: &str, kind: RecordKind) -> Vec<(u64, Record)>;
    /// Whether the entry at `index` publishes the model with this hash.
    fn model_published(&self, hash: &str) -> bool;
    /// The steps taken on the objection filed at `objection_index` before the entry being
    /// checked (acceptance, resolution), in log order.
    fn objection_steps(&self, objection_index: u64) -> Vec<(u64, Step)>;
    /// The steps taken on the repair applied for at `application_index` before the entry being
    /// checked, in log order.
    fn repair_steps(&self, application_index: u64) -> Vec<(u64, crate::repair::Step)>;
    /// Every record about `subject` before the entry being checked, in log order.
    fn firm_records(&self, subject: &str) -> Vec<(u64, Record)>;
    /// Every grade decision about `subject` before the entry being checked, in log order.
    fn firm_decisions(&self, subject: &str) -> Vec<(u64, Decision)>;
    /// The inspection plan at `index` and its leaf hash, if that entry is a plan known here.
    fn plan(&self, _index: u64) -> Option<(crate::plan::Plan, [u8; 32])> {
        None
    }
    /// The draws of the plan at `plan_index` before the entry being checked.
    fn draws_of(&self, _plan_index: u64) -> Vec<u64> {
        Vec::new()
    }
    /// The log's root hash at tree size `size`, if known here.
    fn tree_root(&self, _size: u64) -> Option<[u8; 32]> {
        None
    }
    /// The domain of the published model with this hash, if known here.
    fn model_domain(&self, _hash: &str) -> Option<String> {
        None
    }
    /// The early warning at `index`, if that entry is one before the entry being checked.
    fn warning(&self, _index: u64) -> Option<crate::warning::Warning> {
        None
    }
    /// The acknowledgements of the warning at `index` before the entry being checked: (entry,
    /// department).
    fn warning_acks(&self, _index: u64) -> Vec<(u64, String)> {
        Vec::new()
    }
    /// What the entry at `draw_index` is as a draw, and whether it selected `uscc`.
    fn draw_lookup(&self, _draw_index: u64, _uscc: &str) -> DrawLookup {
        DrawLookup::NotKnown
    }
    /// Every entry about `subject` before the entry being checked, in log order, as
    /// [`History::prior`] shows each (the sanction rules read retractions, repairs, objections
    /// and lifts from them).
    fn firm_entries(&self, subject: &str) -> Vec<(u64, PriorEntry)>;
}

/// What an inspection result's `draw_index` points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrawLookup {
    /// Not known here (a firm's bundle holds no draws: the rule is checked at intake and by
    /// `creditlog verify-draw`'s population, not offline).
    NotKnown,
    /// The entry is not a draw before the result.
    NotADraw,
    /// A draw by `department`; `selected`: it selected the firm.
    Drawn {
        /// The department that drew it.
        department: String,
        /// Whether the firm is among those it drew.
        selected: bool,
    },
}

/// The signed payload of an entry, parsed.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// A department record.
    Record(&'a Record),
    /// An identity statement.
    Identity(&'a Statement),
    /// A scoring model publication (its file hash).
    Model(&'a str),
    /// A re-grading order.
    Order(&'a RegradeOrder),
    /// A grade decision.
    Decision(&'a Decision),
    /// A re-grading run summary.
    Run(&'a RunSummary),
    /// A step of an objection.
    Objection(&'a Step),
    /// A step of a credit repair.
    Repair(&'a crate::repair::Step),
    /// A firm's own commitment.
    Commitment(&'a crate::commitment::Commitment),
    /// A department's redaction of its own records.
    Redaction(&'a crate::redaction::Redaction),
    /// A department's inspection plan.
    Plan(&'a crate::plan::Plan),
    /// A department's draw of its plan.
    Draw(&'a crate::plan::Draw),
    /// An early warning.
    Warning(&'a crate::warning::Warning),
    /// A department's acknowledgement of a warning.
    Acknowledgement(&'a crate::warning::Acknowledgement),
    /// A step of a sanction.
    Sanction(&'a crate::sanction::Step),
    /// A published map of chain heads.
    Heads(&'a crate::completeness::HeadsMap),
    /// A city checkpoint anchored in a provincial log.
    Anchor(&'a crate::federation::Anchor),
    /// A provincial log's list of its cities.
    Cities(&'a crate::federation::Cities),
}

/// The entry being checked.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Its log index (at intake: the index it would get).
    pub index: u64,
    /// Its intake time, seconds since the epoch.
    pub time: u64,
    /// Key id of the signer.
    pub author: &'a str,
    /// The enterprise it is about, as it will be (or was) committed in its header.
    pub subject: Option<&'a str>,
    /// The payload.
    pub payload: Payload<'a>,
}

/// The enterprise an entry with this payload is about, given the book before it.
pub fn implied_subject(book: &KeyBook, payload: &Payload<'_>) -> Option<String> {
    match payload {
        Payload::Record(r) => Some(r.subject().as_str().to_owned()),
        Payload::Identity(st) => book.statement_subject(st),
        Payload::Decision(d) => Some(d.subject.clone()),
        Payload::Objection(step) => Some(step.subject().to_owned()),
        Payload::Repair(step) => Some(step.subject().to_owned()),
        Payload::Commitment(c) => Some(c.subject.clone()),
        Payload::Redaction(r) => Some(r.subject.clone()),
        Payload::Warning(w) => Some(w.subject.clone()),
        Payload::Acknowledgement(a) => Some(a.subject.clone()),
        Payload::Model(_)
        | Payload::Order(_)
        | Payload::Run(_)
        | Payload::Plan(_)
        | Payload::Draw(_)
        | Payload::Heads(_)
        | Payload::Anchor(_)
        | Payload::Cities(_) => None,
        Payload::Sanction(s) => Some(s.subject().to_owned()),
    }
}

/// Checks every authority rule for one entry against the key book as it stands before it.
///
/// # Errors
///
/// The first rule broken, with the field and a plain-language detail.
pub fn check_entry(book: &KeyBook, entry: &Candidate<'_>, history: &dyn History) -> Result<(), Refusal> {
    // The jurisdiction's settings in force before this entry (set on the log by the operator).
    let settings = &book.jurisdiction.settings;
    let implied = implied_subject(book, &entry.payload);
    if implied.as_deref() != entry.subject {
        return Err(refuse(
            Rule::EntrySubject,
            "subject",
            format!(
                "the entry is committed as being about {}, but its content is about {}",
                entry.subject.unwrap_or("no enterprise"),
                implied.as_deref().unwrap_or("no enterprise")
            ),
        ));
    }
    if let Payload::Identity(st) = entry.payload {
        return book.check(st, entry.author, entry.index).map_err(|e| {
            let rule = match e {
                IdentityError::UnknownKey(_) | IdentityError::NotYetValid { .. } | IdentityError::Revoked { .. } => {
                    Rule::KeyValid
                }
                IdentityError::Malformed(_) | IdentityError::BadKey | IdentityError::RefusedKey { .. } => {
                    Rule::StatementWellFormed
                }
                _ => Rule::IdentityRules,
            };
            refuse(rule, "payload", e.to_string())
        });
    }
    let key = book
        .valid_at(entry.author, entry.index)
        .map_err(|e| refuse(Rule::KeyValid, "signatures[0].keyid", e.to_string()))?;
    let logged = settings.local_date(entry.time);
    match entry.payload {
        Payload::Identity(_) => unreachable!("handled above"),
        Payload::Record(r) => check_record(book, &key.principal, entry, r, history, settings, logged),
        Payload::Objection(step) => check_objection(book, &key.principal, entry, step, history, settings, logged),
        Payload::Repair(step) => check_repair(&key.principal, entry, step, history, settings, logged),
        Payload::Commitment(c) => check_commitment(book, &key.principal, c, settings, logged),
        Payload::Redaction(r) => {
            crate::redaction::check(&key.principal, r, entry.index, logged, &|t| settings.local_date(t), history)?;
            plausible_step_date(r.date, settings, logged)
        }
        Payload::Plan(p) => {
            crate::plan::check_plan(&key.principal, p, &crate::plan::SupervisionRules::shipped(), history)?;
            plausible_step_date(p.date, settings, logged)
        }
        Payload::Draw(d) => {
            crate::plan::check_draw(&key.principal, d, logged, history)?;
            plausible_step_date(d.date, settings, logged)
        }
        Payload::Warning(w) => {
            crate::warning::check_warning(&key.principal, w, book, history)?;
            plausible_step_date(w.date, settings, logged)
        }
        Payload::Acknowledgement(a) => {
            crate::warning::check_ack(&key.principal, a, entry.index, history)?;
            plausible_step_date(a.date, settings, logged)
        }
        Payload::Sanction(s) => {
            crate::sanction::check(&key.principal, s, entry.index, history, crate::sanction::SanctionRules::shipped())?;
            plausible_step_date(s.date(), settings, logged)
        }
        Payload::Model(_) | Payload::Order(_) => {
            if !matches!(key.principal, Principal::Role(Role::GradingAuthority, _)) {
                return Err(refuse(
                    Rule::ModelsByGradingAuthority,
                    "signatures[0].keyid",
                    format!("scoring models and re-grading orders are signed by the grading authority; this key belongs to {}", key.principal),
                ));
            }
            if let Payload::Order(o) = entry.payload {
                if o.as_of > logged {
                    return Err(refuse(
                        Rule::AsOfNotFuture,
                        "as_of",
                        format!(
                            "a re-grade as of {} would grade firms on records not yet known; today is {logged}",
                            o.as_of
                        ),
                    ));
                }
                if !history.model_published(&o.model) {
                    return Err(refuse(
                        Rule::OrderCitesModel,
                        "model",
                        format!("no model with hash {} is published on this log", o.model),
                    ));
                }
            }
            Ok(())
        }
        Payload::Anchor(_) | Payload::Cities(_) => {
            if !matches!(key.principal, Principal::Role(Role::Grader, _)) {
                return Err(refuse(
                    Rule::AnchorsByGrader,
                    "signatures[0].keyid",
                    format!(
                        "city checkpoints and the list of cities are logged in a provincial log by its grader key; this key belongs to {}",
                        key.principal
                    ),
                ));
            }
            Ok(())
        }
        Payload::Heads(m) => {
            if !matches!(key.principal, Principal::Role(Role::Grader, _)) {
                return Err(refuse(
                    Rule::HeadsByGrader,
                    "signatures[0].keyid",
                    format!("maps of chain heads are signed by the grader key; this key belongs to {}", key.principal),
                ));
            }
            if m.size > entry.index || m.previous.is_some_and(|p| p >= entry.index) {
                return Err(refuse(
                    Rule::HeadsWellFormed,
                    "size",
                    format!(
                        "a map at entry {} can only cover entries before it and name an earlier map; it says size {} and previous {:?}",
                        entry.index, m.size, m.previous
                    ),
                ));
            }
            Ok(())
        }
        Payload::Decision(_) | Payload::Run(_) => {
            if !matches!(key.principal, Principal::Role(Role::Grader, _)) {
                return Err(refuse(
                    Rule::DecisionsByGrader,
                    "signatures[0].keyid",
                    format!(
                        "grade decisions and run summaries are signed by the grader key; this key belongs to {}",
                        key.principal
                    ),
                ));
            }
            let as_of = match entry.payload {
                Payload::Decision(d) => d.as_of,
                Payload::Run(r) => r.as_of,
                _ => unreachable!("matched above"),
            };
            if as_of > logged {
                return Err(refuse(
                    Rule::AsOfNotFuture,
                    "as_of",
                    format!("as of {as_of} is after the day it was logged ({logged})"),
                ));
            }
            Ok(())
        }
    }
}

/// To whom an objection is routed: the department that produced the contested record, the
/// grading authority for a decision, or the department named for a missing record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// A department, by code.
    Department(String),
    /// The grading authority (any of its keys).
    GradingAuthority,
}

impl std::fmt::Display for Routed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Routed::Department(c) => write!(f, "department {c}"),
            Routed::GradingAuthority => f.write_str("the grading authority"),
        }
    }
}

impl Routed {
    /// Whether a key of `principal` may accept and resolve the objection.
    pub fn is(&self, principal: &Principal) -> bool {
        match (self, principal) {
            (Routed::Department(c), Principal::Department(d)) => c == d,
            (Routed::GradingAuthority, Principal::Role(Role::GradingAuthority, _)) => true,
            _ => false,
        }
    }
}

/// Where the objection filed as `filed` goes, judged from the entries before it.
pub fn routed(filed: &Step, history: &dyn History) -> Option<Routed> {
    let Step::Filed { target_index, omission, .. } = filed else { return None };
    if let Some(o) = omission {
        return Some(Routed::Department(o.department.clone()));
    }
    let target = history.prior((*target_index)?)?;
    match target.record_department() {
        Some(code) => Some(Routed::Department(code)),
        None => target.kind.starts_with("decision/").then_some(Routed::GradingAuthority),
    }
}

impl PriorEntry {
    /// For a department record, the department that made it: the record's, or once its content
    /// is redacted, that of the key that signed it (the same, by `records-by-departments`).
    pub fn record_department(&self) -> Option<String> {
        match (&self.record, &self.author) {
            (Some(r), _) => Some(r.department().to_owned()),
            (None, Principal::Department(code)) if self.kind.starts_with("record/") => Some(code.clone()),
            _ => None,
        }
    }
}

#[allow(clippy::too_many_lines)]
fn check_objection(
    book: &KeyBook,
    author: &Principal,
    entry: &Candidate<'_>,
    step: &Step,
    history: &dyn History,
    settings: &Settings,
    logged: Date,
) -> Result<(), Refusal> {
    let subject = step.subject();
    plausible_step_date(step.date(), settings, logged)?;
    let Some(objection_index) = step.objection_index() else {
        // Filed.
        if *author != Principal::Enterprise(subject.to_owned()) {
            return Err(refuse(
                Rule::ObjectionByTheFirm,
                "signatures[0].keyid",
                format!(
                    "an objection about {subject} is filed by that firm with its own key; this key belongs to {author}"
                ),
            ));
        }
        let Step::Filed { target_index, omission, .. } = step else {
            unreachable!("only a filing has no objection_index")
        };
        if let Some(t) = target_index {
            let target = (*t < entry.index).then(|| history.prior(*t)).flatten().ok_or_else(|| {
                refuse(
                    Rule::ObjectionTarget,
                    "target_index",
                    format!("entry {t} is not an earlier entry this check can see"),
                )
            })?;
            if target.subject.as_deref() != Some(subject) {
                return Err(refuse(Rule::ObjectionTarget, "target_index", format!("entry {t} is not about {subject}")));
            }
            if target.record.is_none() && !target.kind.starts_with("decision/") {
                return Err(refuse(
                    Rule::ObjectionTarget,
                    "target_index",
                    format!(
                        "entry {t} is a {}; an objection contests a department record or a grade decision",
                        target.kind
                    ),
                ));
            }
        }
        if let Some(o) = omission {
            if !book.departments.contains_key(&o.department) {
                return Err(refuse(
                    Rule::ObjectionTarget,
                    "omission.department",
                    format!("department {} is not registered on this log", o.department),
                ));
            }
        }
        return Ok(());
    };
    let seq = |detail: String| refuse(Rule::ObjectionSequence, "objection_index", detail);
    let filed_entry = (objection_index < entry.index).then(|| history.prior(objection_index)).flatten();
    let filed = match filed_entry.and_then(|p| p.objection) {
        Some(f @ Step::Filed { .. }) if f.subject() == subject => f,
        _ => return Err(seq(format!("entry {objection_index} is not an objection filed earlier about {subject}"))),
    };
    let to = routed(&filed, history).ok_or_else(|| {
        seq(format!("the record or decision objection {objection_index} contests is not one this check can see"))
    })?;
    if !to.is(author) {
        return Err(refuse(
            Rule::ObjectionRouted,
            "signatures[0].keyid",
            format!("objection {objection_index} is routed to {to}, which produced what it contests; this key belongs to {author}"),
        ));
    }
    let steps = history.objection_steps(objection_index);
    let acceptance = steps.iter().find(|(_, s)| matches!(s, Step::Accepted { .. }));
    let resolution = steps.iter().find(|(_, s)| matches!(s, Step::Resolved { .. }));
    match step {
        Step::Filed { .. } => unreachable!("a filing has no objection_index"),
        Step::Accepted { date, .. } => {
            if let Some((i, _)) = acceptance {
                return Err(seq(format!("objection {objection_index} was already answered at entry {i}")));
            }
            if *date < filed.date() {
                return Err(seq(format!("accepted on {date}, before the objection was filed on {}", filed.date())));
            }
        }
        Step::Resolved { date, outcome, correction_index, .. } => {
            if let Some((i, _)) = resolution {
                return Err(seq(format!("objection {objection_index} was already resolved at entry {i}")));
            }
            let accepted_on = match acceptance {
                Some((_, Step::Accepted { accepted: true, date, .. })) => *date,
                Some((i, _)) => {
                    return Err(seq(format!(
                        "objection {objection_index} was refused acceptance at entry {i}; it is closed"
                    )))
                }
                None => return Err(seq(format!("objection {objection_index} is resolved only after it is accepted"))),
            };
            if *date < accepted_on {
                return Err(seq(format!("resolved on {date}, before the objection was accepted on {accepted_on}")));
            }
            check_correction(&filed, objection_index, *outcome, *correction_index, &to, entry, history)?;
        }
    }
    Ok(())
}

fn check_repair(
    author: &Principal,
    entry: &Candidate<'_>,
    step: &crate::repair::Step,
    history: &dyn History,
    settings: &Settings,
    logged: Date,
) -> Result<(), Refusal> {
    use crate::repair::Step as R;
    let subject = step.subject();
    plausible_step_date(step.date(), settings, logged)?;
    // The application: its own, or the one a later step names.
    let (application_index, application) = match step.application_index() {
        None => (entry.index, step.clone()),
        Some(a) => {
            let applied = (a < entry.index).then(|| history.prior(a)).flatten().and_then(|p| p.repair);
            match applied {
                Some(s @ R::Applied { .. }) if s.subject() == subject => (a, s),
                _ => {
                    return Err(refuse(
                        Rule::RepairSequence,
                        "application_index",
                        format!("entry {a} is not a repair applied for earlier by {subject}"),
                    ))
                }
            }
        }
    };
    let R::Applied { target_index, .. } = &application else { unreachable!("an application") };
    let target = (*target_index < application_index).then(|| history.prior(*target_index)).flatten();
    let target_record = match target {
        Some(PriorEntry { record: Some(r), subject: Some(s), .. }) if s == subject => r,
        _ => {
            return Err(refuse(
                Rule::RepairTarget,
                "target_index",
                format!("entry {target_index} is not an earlier department record about {subject}"),
            ))
        }
    };
    let eligible = |on: Date| -> Result<(), Refusal> {
        let records = history.firm_records(subject);
        let refs: Vec<(u64, &Record)> = records.iter().map(|(i, r)| (*i, r)).collect();
        let stopped = crate::decision::stop_dates(&refs, &[]);
        crate::repair::RepairRules::shipped()
            .eligibility(*target_index, &target_record, &refs, &stopped, on)
            .map(|_| ())
            .map_err(|e| {
                let rule = match e.rule {
                    "repair-unrepairable" => Rule::RepairUnrepairable,
                    "repair-too-early" => Rule::RepairTooEarly,
                    "repair-repeat-violation" => Rule::RepairRepeatViolation,
                    "repair-listing-in-force" => Rule::RepairListingInForce,
                    _ => Rule::RepairKind,
                };
                let when = e.earliest.map_or(String::new(), |d| format!("; the earliest day it could succeed is {d}"));
                refuse(rule, "target_index", format!("{}{when}", e.detail))
            })
    };
    match step {
        R::Applied { .. } => {
            if *author != Principal::Enterprise(subject.to_owned()) {
                return Err(refuse(
                    Rule::RepairByTheFirm,
                    "signatures[0].keyid",
                    format!("a repair for {subject} is applied for by that firm with its own key; this key belongs to {author}"),
                ));
            }
            eligible(step.date())
        }
        R::Interviewed { date, .. } | R::Decided { date, .. } => {
            if *author != Principal::Department(target_record.department().to_owned()) {
                return Err(refuse(
                    Rule::RepairRouted,
                    "signatures[0].keyid",
                    format!(
                        "the repair of entry {target_index} is decided by {}, which made the record; this key belongs to {author}",
                        target_record.department()
                    ),
                ));
            }
            let steps = history.repair_steps(application_index);
            let interview = steps.iter().find(|(_, s)| matches!(s, R::Interviewed { .. }));
            let decision = steps.iter().find(|(_, s)| matches!(s, R::Decided { .. }));
            let seq = |d: String| refuse(Rule::RepairSequence, "application_index", d);
            if let Some((i, _)) = decision {
                return Err(seq(format!("repair {application_index} was already decided at entry {i}")));
            }
            if let R::Interviewed { .. } = step {
                if let Some((i, _)) = interview {
                    return Err(seq(format!(
                        "the credit interview of repair {application_index} was recorded at entry {i}"
                    )));
                }
                if *date < application.date() {
                    return Err(seq(format!(
                        "interviewed on {date}, before the application of {}",
                        application.date()
                    )));
                }
                return Ok(());
            }
            let Some((_, interviewed)) = interview else {
                return Err(seq(format!(
                    "repair {application_index} is decided after the credit interview (信用约谈), which is not recorded"
                )));
            };
            if *date < interviewed.date() {
                return Err(seq(format!("decided on {date}, before the interview of {}", interviewed.date())));
            }
            if let R::Decided { approved: true, .. } = step {
                eligible(*date)?;
            }
            Ok(())
        }
    }
}

fn check_correction(
    filed: &Step,
    objection_index: u64,
    outcome: Outcome,
    correction_index: Option<u64>,
    to: &Routed,
    entry: &Candidate<'_>,
    history: &dyn History,
) -> Result<(), Refusal> {
    let bad = |detail: String| refuse(Rule::ObjectionCorrection, "correction_index", detail);
    let Step::Filed { target_index, omission, subject, .. } = filed else { unreachable!("a filing") };
    let needed = outcome == Outcome::Upheld && (omission.is_some() || matches!(to, Routed::Department(_)));
    let Some(c) = correction_index else {
        return if needed {
            Err(bad(if omission.is_some() {
                "an upheld objection about a missing record cites the record added (correction_index)".into()
            } else {
                "an upheld objection about a record cites the retraction that stops it (correction_index)".into()
            }))
        } else {
            Ok(())
        };
    };
    if !needed {
        return Err(bad("only an upheld objection about a record or a missing record cites a correction".into()));
    }
    let record = (c > objection_index && c < entry.index)
        .then(|| history.prior(c))
        .flatten()
        .and_then(|p| p.record)
        .ok_or_else(|| {
            bad(format!(
                "entry {c} is not a department record logged after objection {objection_index} and before this entry"
            ))
        })?;
    let Routed::Department(code) = to else { unreachable!("needed only for a department") };
    if record.department() != code || record.subject().as_str() != subject {
        return Err(bad(format!("entry {c} is not a record by {code} about {subject}")));
    }
    match (target_index, omission) {
        (Some(t), _) => match record.fields() {
            RecordFields::Retraction(f) if f.target_index == *t => Ok(()),
            _ => Err(bad(format!("entry {c} is not a retraction of entry {t}, the record contested"))),
        },
        (None, Some(o)) if record.kind().as_str() == o.kind => Ok(()),
        (None, Some(o)) => Err(bad(format!("entry {c} is a {}, not the missing {} record", record.kind(), o.kind))),
        (None, None) => unreachable!("a filing names a target or an omission"),
    }
}

fn check_record(
    book: &KeyBook,
    author: &Principal,
    entry: &Candidate<'_>,
    record: &Record,
    history: &dyn History,
    settings: &Settings,
    logged: Date,
) -> Result<(), Refusal> {
    let Principal::Department(code) = author else {
        return Err(refuse(
            Rule::RecordsByDepartments,
            "signatures[0].keyid",
            format!("records are signed by departments (谁产生、谁提供、谁负责); this key belongs to {author}"),
        ));
    };
    if code != record.department() {
        return Err(refuse(
            Rule::RecordsByDepartments,
            "department",
            format!(
                "the record names department {:?} but is signed by a key of department {code:?}",
                record.department()
            ),
        ));
    }
    let kind = record.kind();
    let dept = book.departments.get(code).ok_or_else(|| {
        refuse(Rule::RecordsByDepartments, "department", format!("department {code} is not registered"))
    })?;
    if !dept.kinds.contains(kind.as_str()) {
        return Err(refuse(
            Rule::DepartmentKinds,
            "kind",
            format!(
                "department {code} is not registered to submit {kind} ({}); it may submit: {}",
                kind.chinese_name(),
                dept.kinds.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    // Dates.
    let latest = logged.add_days(i64::from(settings.future_tolerance_days)).unwrap_or(Date::MAX);
    if record.date() < settings.earliest_record_date {
        return Err(refuse(
            Rule::PlausibleDate,
            "date",
            format!(
                "{} is before {}, the earliest date a record of this jurisdiction may carry",
                record.date(),
                settings.earliest_record_date
            ),
        ));
    }
    if record.date() > latest {
        return Err(refuse(
            Rule::PlausibleDate,
            "date",
            format!(
                "{} is after the day the record is logged ({logged}) by more than {} day(s): a record cannot describe a decision not yet taken",
                record.date(),
                settings.future_tolerance_days
            ),
        ));
    }
    let subject = record.subject().as_str();
    // One record, one entry: a live record with the same department, kind and reference.
    if let Some(i) = history.live_record(subject, code, kind, record.reference()) {
        return Err(refuse(
            Rule::OneRecordOneEntry,
            "reference",
            format!(
                "entry {i} already records {kind} {:?} by {code} about {subject}; to change it, retract it (撤回/更正) and submit the corrected record",
                record.reference()
            ),
        ));
    }
    match record.fields() {
        RecordFields::Retraction(f) => {
            let t = f.target_index;
            if t >= entry.index {
                return Err(refuse(
                    Rule::RetractionEarlierRecord,
                    "fields.target_index",
                    format!("entry {t} is not an earlier entry of the log (this entry is {})", entry.index),
                ));
            }
            let target = history.prior(t).ok_or_else(|| {
                refuse(
                    Rule::RetractionEarlierRecord,
                    "fields.target_index",
                    format!("entry {t} is not a record this check can see"),
                )
            })?;
            let Some(target_record) = target.record.as_ref() else {
                return Err(refuse(
                    Rule::RetractionEarlierRecord,
                    "fields.target_index",
                    format!("entry {t} is a {}, not a department record", target.kind),
                ));
            };
            if target.subject.as_deref() != Some(subject) {
                return Err(refuse(
                    Rule::RetractionSameEnterprise,
                    "fields.target_index",
                    format!("entry {t} is about another enterprise than {subject}"),
                ));
            }
            if target.author != Principal::Department(code.clone()) || target_record.department() != code {
                return Err(refuse(
                    Rule::RetractionByAuthor,
                    "fields.target_index",
                    format!(
                        "entry {t} was written by {}; only that department may retract or correct it, not department {code}",
                        target.author
                    ),
                ));
            }
            if matches!(target_record.fields(), RecordFields::Retraction(_)) {
                return Err(refuse(
                    Rule::RetractionEarlierRecord,
                    "fields.target_index",
                    format!("entry {t} is itself a retraction; submit the record again instead"),
                ));
            }
        }
        RecordFields::AbnormalOperationsRemoval(f) | RecordFields::SeriousDishonestyRemoval(f) => {
            let listing_kind = if kind == RecordKind::AbnormalOperationsRemoval {
                RecordKind::AbnormalOperationsListing
            } else {
                RecordKind::SeriousDishonestyListing
            };
            let earlier = history.records_of_kind(subject, listing_kind);
            let refs: Vec<(u64, &Record)> = earlier.iter().map(|(i, r)| (*i, r)).collect();
            let target = crate::decision::stop_target(record, &refs).ok_or_else(|| {
                refuse(
                    Rule::RemovalNamesListing,
                    "fields.listing_index",
                    format!(
                        "no {listing_kind} by {code} about {subject} dated {} is on the log; name the listing by its entry index",
                        f.listing_date
                    ),
                )
            })?;
            let listing = earlier.iter().find(|(i, _)| *i == target).map(|(_, r)| r);
            let ok = listing
                .is_some_and(|l| l.kind() == listing_kind && l.department() == code && l.date() == f.listing_date);
            if target >= entry.index || !ok {
                return Err(refuse(
                    Rule::RemovalNamesListing,
                    "fields.listing_index",
                    format!(
                        "entry {target} is not a {listing_kind} by {code} about {subject} dated {} logged before this removal",
                        f.listing_date
                    ),
                ));
            }
        }
        RecordFields::InspectionResult(f) if f.draw_index.is_some() => {
            // A result that cites a draw is about a firm that draw selected, by the department
            // that drew it: a department cannot pass off a visit it chose as a random one.
            let di = f.draw_index.unwrap_or_default();
            let refuse_drawn = |detail: String| Err(refuse(Rule::InspectionDrawn, "fields.draw_index", detail));
            match history.draw_lookup(di, subject) {
                DrawLookup::NotKnown => {}
                DrawLookup::NotADraw => return refuse_drawn(format!("entry {di} is not a draw logged before this result")),
                DrawLookup::Drawn { department, .. } if department != *code => {
                    return refuse_drawn(format!("the draw at entry {di} is {department}'s; {code} inspects under its own draws"))
                }
                DrawLookup::Drawn { selected: false, .. } => {
                    return refuse_drawn(format!("the draw at entry {di} did not select {subject}: a visit chosen by hand is not a random inspection"))
                }
                DrawLookup::Drawn { .. } => {}
            }
        }
        RecordFields::CommitmentOutcome(f) => {
            // The outcome of a firm's own commitment comes from the department it names, once.
            if let Some(ci) = f.commitment_index {
                let made = (ci < entry.index).then(|| history.prior(ci)).flatten().and_then(|p| p.commitment);
                if let Some(c) = made {
                    if c.department != *code || c.subject != subject {
                        return Err(refuse(
                            Rule::CommitmentChecked,
                            "fields.commitment_index",
                            format!(
                                "the commitment at entry {ci} is {}'s, checked by {}; {code} may not record its outcome for {subject}",
                                c.subject, c.department
                            ),
                        ));
                    }
                    let earlier = history.records_of_kind(subject, RecordKind::CommitmentOutcome);
                    if let Some((i, _)) = earlier.iter().find(|(_, r)| {
                        matches!(r.fields(), RecordFields::CommitmentOutcome(g) if g.commitment_index == Some(ci))
                    }) {
                        return Err(refuse(
                            Rule::CommitmentChecked,
                            "fields.commitment_index",
                            format!("the outcome of the commitment at entry {ci} was recorded at entry {i}"),
                        ));
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// The `plausible-date` rule for a step a firm or department dates itself (an objection, repair
/// or commitment step): between the jurisdiction's earliest date and the day it is logged, plus
/// the tolerance.
fn plausible_step_date(date: Date, settings: &Settings, logged: Date) -> Result<(), Refusal> {
    let latest = logged.add_days(i64::from(settings.future_tolerance_days)).unwrap_or(Date::MAX);
    if date > latest || date < settings.earliest_record_date {
        return Err(refuse(
            Rule::PlausibleDate,
            "date",
            format!("{date} is not a day between {} and {latest}", settings.earliest_record_date),
        ));
    }
    Ok(())
}

fn check_commitment(
    book: &KeyBook,
    author: &Principal,
    c: &crate::commitment::Commitment,
    settings: &Settings,
    logged: Date,
) -> Result<(), Refusal> {
    if *author != Principal::Enterprise(c.subject.clone()) {
        return Err(refuse(
            Rule::CommitmentByTheFirm,
            "signatures[0].keyid",
            format!(
                "a commitment of {} is made by that firm with its own key; this key belongs to {author}",
                c.subject
            ),
        ));
    }
    if !book.departments.get(&c.department).is_some_and(|d| d.kinds.contains("commitment_outcome")) {
        return Err(refuse(
            Rule::CommitmentChecked,
            "department",
            format!("department {} is not registered to record commitment outcomes on this log", c.department),
        ));
    }
    plausible_step_date(c.date, settings, logged)
}
