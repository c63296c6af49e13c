//! Objections (异议, DOMAIN §6): a firm contests a record or a grade decision about it, or
//! reports a record that should exist, and the department that produced the record (for a
//! decision, the grading authority) accepts the objection and resolves it. Every step is a
//! signed entry about the firm, so the firm's chain holds its objections and their outcomes, and
//! the authority rules ([`crate::authority`]) decide who may take each step.
//!
//! Payload type [`OBJECTION_TYPE`], header kind `objection/<step>`:
//!
//! | step | signed by | fields |
//! | --- | --- | --- |
//! | `filed` | the firm's bound key | `target_index` (a record or decision about the firm) *or* `omission` (`department`, `kind`, `description`: a record that should exist), `grounds`, `statement`, `commitment` (异议承诺), `date` |
//! | `accepted` | the department the objection is routed to | `objection_index`, `accepted` (`false`: acceptance refused, with `reason`), `date` |
//! | `resolved` | the same department | `objection_index`, `outcome` (`upheld` or `rejected`), `reason`, `correction_index` (for an upheld objection about a record: the retraction that stops it; about an omission: the record added), `date` |

use crate::date::Date;
use crate::envelope::Envelope;
use serde::{Deserialize, Serialize};

/// Payload type of an objection step.
pub const OBJECTION_TYPE: &str = "application/vnd.creditlog.objection+json";
/// The `type` of every objection step.
pub const OBJECTION_FORMAT: &str = "creditlog.objection/v1";

/// Longest free text (statement, reason, description), in characters.
pub const MAX_TEXT: usize = 2000;

/// Why a firm objects (DOMAIN §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grounds {
    /// The record is wrong.
    Error,
    /// A record that should exist is missing (e.g. a commendation).
    Omission,
    /// The record repeats another.
    Duplicate,
    /// The record is past its effect period.
    Expired,
    /// The record should not be published.
    ShouldNotBePublished,
}

/// A record the firm says is missing, and the department that should have recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Omission {
    /// The department the objection is routed to.
    pub department: String,
    /// The record kind that is missing, e.g. `commendation`.
    pub kind: String,
    /// What should have been recorded.
    pub description: String,
}

/// The outcome of an accepted objection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The firm is right: the record is corrected or retracted (or the missing one added), and
    /// the firm is re-graded at once.
    Upheld,
    /// The firm is not right; the reason is shown to it.
    Rejected,
}

/// One step of an objection, as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// See the module table.
    Filed {
        /// Always [`OBJECTION_FORMAT`].
        #[serde(rename = "type")]
        kind: String,
        /// The firm's USCC.
        subject: String,
        /// The record or decision contested.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target_index: Option<u64>,
        /// The record the firm says is missing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        omission: Option<Omission>,
        /// Why.
        grounds: Grounds,
        /// The firm's account, in its own words.
        statement: String,
        /// The objection commitment (异议承诺): that what the firm states is true.
        commitment: String,
        /// The day the firm files it.
        date: Date,
    },
    /// See the module table.
    Accepted {
        /// Always [`OBJECTION_FORMAT`].
        #[serde(rename = "type")]
        kind: String,
        /// The firm's USCC.
        subject: String,
        /// The objection.
        objection_index: u64,
        /// `false`: acceptance refused (不予受理); the objection is closed.
        accepted: bool,
        /// Why acceptance is refused (required then).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// The day of the decision.
        date: Date,
    },
    /// See the module table.
    Resolved {
        /// Always [`OBJECTION_FORMAT`].
        #[serde(rename = "type")]
        kind: String,
        /// The firm's USCC.
        subject: String,
        /// The objection.
        objection_index: u64,
        /// Upheld or rejected.
        outcome: Outcome,
        /// The reason, shown to the firm.
        reason: String,
        /// For an upheld objection about a record: the retraction that stops it; about an
        /// omission: the record added.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        correction_index: Option<u64>,
        /// The day of the resolution.
        date: Date,
    },
}

impl Step {
    /// The step's name, as in the header kind `objection/<step>`.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Filed { .. } => "filed",
            Step::Accepted { .. } => "accepted",
            Step::Resolved { .. } => "resolved",
        }
    }

    /// The firm the objection is about.
    pub fn subject(&self) -> &str {
        match self {
            Step::Filed { subject, .. } | Step::Accepted { subject, .. } | Step::Resolved { subject, .. } => subject,
        }
    }

    /// The step's date.
    pub fn date(&self) -> Date {
        match self {
            Step::Filed { date, .. } | Step::Accepted { date, .. } | Step::Resolved { date, .. } => *date,
        }
    }

    /// The objection a later step belongs to.
    pub fn objection_index(&self) -> Option<u64> {
        match self {
            Step::Filed { .. } => None,
            Step::Accepted { objection_index, .. } | Step::Resolved { objection_index, .. } => Some(*objection_index),
        }
    }

    /// Parses a step and checks its fields on their own (who may take it, and whether it fits
    /// the objection's history, are authority rules).
    ///
    /// # Errors
    ///
    /// What is malformed, naming the field.
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        let s: Step = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        let kind = match &s {
            Step::Filed { kind, .. } | Step::Accepted { kind, .. } | Step::Resolved { kind, .. } => kind,
        };
        if kind != OBJECTION_FORMAT {
            return Err(format!("type must be {OBJECTION_FORMAT:?}, not {kind:?}"));
        }
        crate::uscc::Uscc::parse(s.subject()).map_err(|e| format!("subject: {e}"))?;
        let text = |field: &str, t: &str, required: bool| -> Result<(), String> {
            if required && t.trim().is_empty() {
                return Err(format!("{field}: required, and not blank"));
            }
            if t.chars().count() > MAX_TEXT {
                return Err(format!("{field}: at most {MAX_TEXT} characters"));
            }
            Ok(())
        };
        match &s {
            Step::Filed { target_index, omission, grounds, statement, commitment, .. } => {
                text("statement", statement, true)?;
                text("commitment", commitment, true)?;
                match (target_index, omission) {
                    (Some(_), None) if *grounds != Grounds::Omission => {}
                    (None, Some(o)) if *grounds == Grounds::Omission => {
                        if !crate::record::is_department_code(&o.department) {
                            return Err(format!("omission.department: {}", crate::record::DEPARTMENT_CODE_RULE));
                        }
                        text("omission.kind", &o.kind, true)?;
                        text("omission.description", &o.description, true)?;
                    }
                    _ => {
                        return Err("an objection names either target_index (a record or decision it contests, on any grounds but omission) or omission (a record that should exist, grounds omission)".into())
                    }
                }
            }
            Step::Accepted { accepted, reason, .. } => {
                if !accepted {
                    text("reason", reason.as_deref().unwrap_or_default(), true)?;
                } else if let Some(r) = reason {
                    text("reason", r, false)?;
                }
            }
            Step::Resolved { reason, .. } => text("reason", reason, true)?,
        }
        Ok(s)
    }

    /// Serialises the step (field order of the enum).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a step serialises")
    }

    /// Signs the step with `key`.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Envelope {
        Envelope::sign(OBJECTION_TYPE, &self.to_bytes(), key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRM: &str = "91370303MA3C8DXA25";

    fn filed() -> serde_json::Value {
        serde_json::json!({"type": OBJECTION_FORMAT, "step": "filed", "subject": FIRM, "target_index": 9,
            "grounds": "error", "statement": "罚款已缴清，记录有误", "commitment": "本企业承诺所提异议内容真实", "date": "2026-11-20"})
    }

    #[test]
    fn steps_parse_and_bad_ones_name_the_field() {
        let ok = Step::parse(filed().to_string().as_bytes()).unwrap();
        assert_eq!((ok.name(), ok.subject(), ok.objection_index()), ("filed", FIRM, None));
        let bad = |patch: &dyn Fn(&mut serde_json::Value), needle: &str| {
            let mut v = filed();
            patch(&mut v);
            let e = Step::parse(v.to_string().as_bytes()).unwrap_err();
            assert!(e.contains(needle), "{e}");
        };
        bad(&|v| v["commitment"] = "  ".into(), "commitment");
        bad(&|v| v["subject"] = "91370303MA3C8DXA26".into(), "subject");
        bad(&|v| v["grounds"] = "omission".into(), "either target_index");
        bad(&|v| v["statement"] = "x".repeat(MAX_TEXT + 1).into(), "statement");
        bad(&|v| v["type"] = "creditlog.objection/v0".into(), "type must be");
        bad(&|v| v["extra"] = 1.into(), "unknown field");
        let refused = serde_json::json!({"type": OBJECTION_FORMAT, "step": "accepted", "subject": FIRM,
            "objection_index": 10, "accepted": false, "date": "2026-11-21"});
        assert!(Step::parse(refused.to_string().as_bytes()).unwrap_err().contains("reason"));
    }
}
