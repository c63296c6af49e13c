//! Credit repair (信用修复, DOMAIN §5): a firm applies to the department that made a penalty or a
//! listing, with its integrity commitment (守信承诺书) and proof that it complied (documents
//! referenced by SHA-256; the documents stay outside the log); the department holds the credit
//! interview (信用约谈) and decides. An approved repair stops the record from counting from the
//! day of the decision; the record itself stays on the log.
//!
//! Payload type [`REPAIR_TYPE`], header kind `repair/<step>`:
//!
//! | step | signed by | fields |
//! | --- | --- | --- |
//! | `applied` | the firm's bound key | `target_index` (a penalty or listing about the firm), `commitment`, `proofs` (`description`, `sha256`), `date` |
//! | `interviewed` | the department that made the record | `application_index`, `summary`, `date` |
//! | `decided` | the same department | `application_index`, `approved`, `reason`, `date` |
//!
//! Whether a record may be repaired at all, and from when, is [`RepairRules`] (the file
//! `rules/repair.toml`, each rule citing its source): [`RepairRules::eligibility`] answers with
//! the rule applied or the reason and the earliest day the repair could succeed.

use crate::date::Date;
use crate::envelope::Envelope;
use crate::record::{PenaltyType, Record, RecordFields, RecordKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Payload type of a repair step.
pub const REPAIR_TYPE: &str = "application/vnd.creditlog.repair+json";
/// The `type` of every repair step.
pub const REPAIR_FORMAT: &str = "creditlog.repair/v1";
/// The shipped repair rules.
pub const RULES: &str = include_str!("../../rules/repair.toml");

/// A document the firm holds as proof of compliance (fine paid, harm remedied, cause cured).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    /// What it is, e.g. 罚款缴纳凭证.
    pub description: String,
    /// SHA-256 of the document, lowercase hex.
    pub sha256: String,
}

/// One step of a repair, as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// See the module table.
    Applied {
        /// Always [`REPAIR_FORMAT`].
        #[serde(rename = "type")]
        kind: String,
        /// The firm's USCC.
        subject: String,
        /// The penalty or listing to repair.
        target_index: u64,
        /// The integrity commitment (守信承诺书).
        commitment: String,
        /// Proof of compliance, at least one document.
        proofs: Vec<Proof>,
        /// The day of the application.
        date: Date,
    },
    /// See the module table.
    Interviewed {
        /// Always [`REPAIR_FORMAT`].
        #[serde(rename = "type")]
        kind: String,
        /// The firm's USCC.
        subject: String,
        /// The application.
        application_index: u64,
        /// What was said and agreed (信用约谈记录).
        summary: String,
        /// The day of the interview.
        date: Date,
    },
    /// See the module table.
    Decided {
        /// Always [`REPAIR_FORMAT`].
        #[serde(rename = "type")]
        kind: String,
        /// The firm's USCC.
        subject: String,
        /// The application.
        application_index: u64,
        /// Approved or refused.
        approved: bool,
        /// The reason, shown to the firm.
        reason: String,
        /// The day of the decision; an approved repair stops the record from this day.
        date: Date,
    },
}

impl Step {
    /// The step's name, as in the header kind `repair/<step>`.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Applied { .. } => "applied",
            Step::Interviewed { .. } => "interviewed",
            Step::Decided { .. } => "decided",
        }
    }

    /// The firm.
    pub fn subject(&self) -> &str {
        match self {
            Step::Applied { subject, .. } | Step::Interviewed { subject, .. } | Step::Decided { subject, .. } => {
                subject
            }
        }
    }

    /// The step's date.
    pub fn date(&self) -> Date {
        match self {
            Step::Applied { date, .. } | Step::Interviewed { date, .. } | Step::Decided { date, .. } => *date,
        }
    }

    /// The application a later step belongs to.
    pub fn application_index(&self) -> Option<u64> {
        match self {
            Step::Applied { .. } => None,
            Step::Interviewed { application_index, .. } | Step::Decided { application_index, .. } => {
                Some(*application_index)
            }
        }
    }

    /// Parses a step and checks its fields on their own.
    ///
    /// # Errors
    ///
    /// What is malformed, naming the field.
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        let s: Step = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        let kind = match &s {
            Step::Applied { kind, .. } | Step::Interviewed { kind, .. } | Step::Decided { kind, .. } => kind,
        };
        if kind != REPAIR_FORMAT {
            return Err(format!("type must be {REPAIR_FORMAT:?}, not {kind:?}"));
        }
        crate::uscc::Uscc::parse(s.subject()).map_err(|e| format!("subject: {e}"))?;
        let text = |field: &str, t: &str| -> Result<(), String> {
            if t.trim().is_empty() {
                return Err(format!("{field}: required, and not blank"));
            }
            if t.chars().count() > crate::objection::MAX_TEXT {
                return Err(format!("{field}: at most {} characters", crate::objection::MAX_TEXT));
            }
            Ok(())
        };
        match &s {
            Step::Applied { commitment, proofs, .. } => {
                text("commitment", commitment)?;
                if proofs.is_empty() || proofs.len() > 20 {
                    return Err("proofs: 1 to 20 documents, each with a description and its SHA-256".into());
                }
                for (i, p) in proofs.iter().enumerate() {
                    text(&format!("proofs[{i}].description"), &p.description)?;
                    if p.sha256.len() != 64
                        || !p.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                    {
                        return Err(format!("proofs[{i}].sha256: 64 lowercase hexadecimal characters"));
                    }
                }
            }
            Step::Interviewed { summary, .. } => text("summary", summary)?,
            Step::Decided { reason, .. } => text("reason", reason)?,
        }
        Ok(s)
    }

    /// Serialises the step.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a step serialises")
    }

    /// Signs the step with `key`.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Envelope {
        Envelope::sign(REPAIR_TYPE, &self.to_bytes(), key)
    }
}

/// One repair rule: a kind (and for penalties a severity tier) and its minimum period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepairRule {
    /// Its name, cited in decisions and refusals.
    pub id: String,
    /// The record kind.
    pub kind: String,
    /// For penalties: `minor`, `ordinary` or `serious`.
    #[serde(default)]
    pub severity: Option<String>,
    /// Months from the record's date before a repair may be approved.
    pub min_months: u32,
    /// Where it comes from.
    pub source: String,
}

/// The conditions every repair must meet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Penalty types that make a penalty unrepairable.
    pub unrepairable_penalties: Vec<String>,
    /// No other penalty by the same department about the firm, dated after the record and in
    /// force.
    pub no_repeat: bool,
    /// No serious-dishonesty listing about the firm in force.
    pub no_listing_in_force: bool,
}

/// The repair rules file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepairRules {
    /// Where the rules come from.
    pub source: String,
    /// The rules.
    pub rules: Vec<RepairRule>,
    /// The conditions.
    pub conditions: Conditions,
}

/// Why a record cannot be repaired (yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ineligible {
    /// The rule's name: `repair-kind`, `repair-unrepairable`, `repair-too-early`,
    /// `repair-repeat-violation` or `repair-listing-in-force`.
    pub rule: &'static str,
    /// In plain language.
    pub detail: String,
    /// The earliest day the repair could succeed, when waiting is enough.
    pub earliest: Option<Date>,
}

impl RepairRules {
    /// Parses a rules file.
    ///
    /// # Errors
    ///
    /// A file that does not parse, a rule without a source, or an unknown kind or penalty type.
    pub fn parse(text: &str) -> Result<Self, String> {
        let r: RepairRules = toml::from_str(text).map_err(|e| e.to_string())?;
        for rule in &r.rules {
            if rule.source.trim().is_empty() {
                return Err(format!("rule {}: source names where it comes from", rule.id));
            }
            rule.kind.parse::<RecordKind>().map_err(|e| format!("rule {}: {e}", rule.id))?;
        }
        for p in &r.conditions.unrepairable_penalties {
            p.parse::<PenaltyType>().map_err(|e| format!("unrepairable_penalties: {e}"))?;
        }
        Ok(r)
    }

    /// The shipped rules ([`RULES`]).
    ///
    /// # Panics
    ///
    /// Never: the shipped file is tested.
    pub fn shipped() -> Self {
        Self::parse(RULES).expect("rules/repair.toml parses")
    }

    /// Whether `target` (entry `target_index`, about the firm whose records up to the day of
    /// the decision are `records`, with the stop dates `stopped`) may be repaired on `on`: the
    /// rule that allows it, or why not.
    ///
    /// # Errors
    ///
    /// [`Ineligible`], naming the rule and, when waiting is enough, the earliest day.
    pub fn eligibility(
        &self,
        target_index: u64,
        target: &Record,
        records: &[(u64, &Record)],
        stopped: &BTreeMap<u64, Date>,
        on: Date,
    ) -> Result<&RepairRule, Ineligible> {
        let severity = match target.fields() {
            RecordFields::AdministrativePenalty(f) => {
                if let Some(p) =
                    f.penalties.iter().find(|p| self.conditions.unrepairable_penalties.iter().any(|u| u == p.as_str()))
                {
                    return Err(Ineligible {
                        rule: "repair-unrepairable",
                        detail: format!(
                            "a penalty that includes {} ({}) is never repaired",
                            p.as_str(),
                            p.chinese_name()
                        ),
                        earliest: None,
                    });
                }
                Some(f.severity.as_str())
            }
            _ => None,
        };
        let rule = self
            .rules
            .iter()
            .find(|r| r.kind == target.kind().as_str() && (r.severity.is_none() || r.severity.as_deref() == severity))
            .ok_or_else(|| Ineligible {
                rule: "repair-kind",
                detail: format!(
                    "a {} ({}) is not repaired by this procedure",
                    target.kind(),
                    target.kind().chinese_name()
                ),
                earliest: None,
            })?;
        let earliest = target.date().add_months(rule.min_months).unwrap_or(Date::MAX);
        if on < earliest {
            return Err(Ineligible {
                rule: "repair-too-early",
                detail: format!(
                    "under rule {} a {} dated {} may be repaired from {earliest}, {} months after it ({})",
                    rule.id,
                    target.kind(),
                    target.date(),
                    rule.min_months,
                    rule.source
                ),
                earliest: Some(earliest),
            });
        }
        let in_force = |i: &u64| stopped.get(i).is_none_or(|d| *d > on);
        if self.conditions.no_repeat {
            if let Some((i, r)) = records.iter().find(|(i, r)| {
                *i != target_index
                    && r.kind() == RecordKind::AdministrativePenalty
                    && r.department() == target.department()
                    && r.date() > target.date()
                    && r.date() <= on
                    && in_force(i)
            }) {
                return Err(Ineligible {
                    rule: "repair-repeat-violation",
                    detail: format!("entry {i}, a later penalty by {} dated {}, is in force", r.department(), r.date()),
                    earliest: None,
                });
            }
        }
        if self.conditions.no_listing_in_force {
            if let Some((i, _)) = records.iter().find(|(i, r)| {
                *i != target_index && r.kind() == RecordKind::SeriousDishonestyListing && r.date() <= on && in_force(i)
            }) {
                return Err(Ineligible {
                    rule: "repair-listing-in-force",
                    detail: format!(
                        "the firm is on the serious-dishonesty list (entry {i}) and must be removed from it first"
                    ),
                    earliest: None,
                });
            }
        }
        Ok(rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRM: &str = "91370303MA3C8DXA25";

    fn penalty(date: &str, severity: &str, penalties: &[&str], dept: &str) -> Record {
        let fine = if penalties.contains(&"fine") { 100_000 } else { 0 };
        let v = serde_json::json!({"type": "creditlog.record/v1", "kind": "administrative_penalty", "subject": FIRM,
            "department": dept, "date": date, "reference": format!("罚{date}{severity}"),
            "fields": {"violation_type": "虚假广告", "violation": "发布虚假广告", "penalties": penalties,
                       "fine_amount_fen": fine, "severity": severity, "publicity_months": 36}});
        Record::parse(v.to_string().as_bytes()).unwrap()
    }

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn the_shipped_rules_parse_and_cite_sources() {
        let r = RepairRules::shipped();
        assert!(r.rules.iter().all(|x| !x.source.is_empty()));
        assert_eq!(r.rules.iter().find(|x| x.id == "penalty-ordinary").unwrap().min_months, 3);
    }

    #[test]
    fn each_rule_allows_and_refuses() {
        let rules = RepairRules::shipped();
        let none = BTreeMap::new();
        let ordinary = penalty("2026-06-01", "ordinary", &["fine"], "zibo-amr");
        // Too early: ordinary penalties after 3 months; the refusal names the earliest day.
        let e = rules.eligibility(1, &ordinary, &[(1, &ordinary)], &none, d("2026-08-31")).unwrap_err();
        assert_eq!((e.rule, e.earliest), ("repair-too-early", Some(d("2026-09-01"))));
        assert_eq!(
            rules.eligibility(1, &ordinary, &[(1, &ordinary)], &none, d("2026-09-01")).unwrap().id,
            "penalty-ordinary"
        );
        // Serious: one year. Minor: at once.
        let serious = penalty("2026-06-01", "serious", &["fine"], "zibo-amr");
        assert_eq!(
            rules.eligibility(1, &serious, &[], &none, d("2027-05-31")).unwrap_err().earliest,
            Some(d("2027-06-01"))
        );
        let minor = penalty("2026-06-01", "minor", &["warning"], "zibo-amr");
        assert_eq!(rules.eligibility(1, &minor, &[], &none, d("2026-06-01")).unwrap().id, "penalty-minor");
        // Unrepairable: a licence revoked, whatever the tier.
        let heavy = penalty("2020-01-01", "serious", &["fine", "licence_revoked"], "zibo-amr");
        assert_eq!(rules.eligibility(1, &heavy, &[], &none, d("2026-11-01")).unwrap_err().rule, "repair-unrepairable");
        // A repeat violation by the same department, in force, blocks; retracted, it does not.
        let repeat = penalty("2026-07-01", "minor", &["warning"], "zibo-amr");
        let records = [(1, &ordinary), (2, &repeat)];
        assert_eq!(
            rules.eligibility(1, &ordinary, &records, &none, d("2026-10-01")).unwrap_err().rule,
            "repair-repeat-violation"
        );
        let retracted = BTreeMap::from([(2, d("2026-07-15"))]);
        assert!(rules.eligibility(1, &ordinary, &records, &retracted, d("2026-10-01")).is_ok());
        // Another department's later penalty is not a repeat.
        let other = penalty("2026-07-01", "minor", &["warning"], "zibo-tax");
        assert!(rules.eligibility(1, &ordinary, &[(1, &ordinary), (2, &other)], &none, d("2026-10-01")).is_ok());
        // A serious-dishonesty listing in force blocks.
        let listing = Record::parse(
            serde_json::json!({"type": "creditlog.record/v1", "kind": "serious_dishonesty_listing", "subject": FIRM,
                "department": "zibo-tax", "date": "2026-07-01", "reference": "列严〔2026〕1号",
                "fields": {"grounds": "重大税收违法", "basis": "《重大税收违法失信主体信息公布管理办法》", "publicity_months": 36}})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        let e = rules.eligibility(1, &ordinary, &[(1, &ordinary), (3, &listing)], &none, d("2026-10-01")).unwrap_err();
        assert_eq!(e.rule, "repair-listing-in-force");
        // Kinds without a rule are not repaired here.
        let v = serde_json::json!({"type": "creditlog.record/v1", "kind": "commendation", "subject": FIRM,
            "department": "zibo-amr", "date": "2026-07-01", "reference": "表〔2026〕1号",
            "fields": {"title": "守合同重信用企业", "level": "municipal"}});
        let c = Record::parse(v.to_string().as_bytes()).unwrap();
        assert_eq!(rules.eligibility(1, &c, &[], &none, d("2026-10-01")).unwrap_err().rule, "repair-kind");
    }

    #[test]
    fn steps_parse_and_bad_ones_name_the_field() {
        let ok = serde_json::json!({"type": REPAIR_FORMAT, "step": "applied", "subject": FIRM, "target_index": 9,
            "commitment": "本企业承诺守法诚信经营", "proofs": [{"description": "罚款缴纳凭证", "sha256": "a".repeat(64)}],
            "date": "2026-11-20"});
        assert_eq!(Step::parse(ok.to_string().as_bytes()).unwrap().name(), "applied");
        let mut bad = ok.clone();
        bad["proofs"][0]["sha256"] = "A".repeat(64).into();
        assert!(Step::parse(bad.to_string().as_bytes()).unwrap_err().contains("sha256"));
        let mut bad = ok.clone();
        bad["proofs"] = serde_json::json!([]);
        assert!(Step::parse(bad.to_string().as_bytes()).unwrap_err().contains("proofs"));
    }
}
