//! A firm's own credit commitment (信用承诺, seed 001 §三): notice-and-commitment approval (告知承诺)
//! or a voluntary public commitment, signed by the firm with its bound key, naming the department
//! that checks it and the day by which it must be kept. The department records the outcome as a
//! `commitment_outcome` record citing the commitment (`commitment_index`): kept, or broken, which
//! is a record of its own and feeds grading. The authority rules check that the outcome comes from
//! the department named, about the same firm, once.
//!
//! Payload type [`COMMITMENT_TYPE`], header kind `commitment/made`:
//!
//! ```json
//! {"type":"creditlog.commitment/v1","subject":"<USCC>","commitment_type":"notice_and_commitment",
//!  "department":"zibo-amr","content":"……","due":"2027-03-01","date":"2026-11-20"}
//! ```

use crate::date::Date;
use crate::envelope::Envelope;
use crate::record::CommitmentType;
use serde::{Deserialize, Serialize};

/// Payload type of a firm's commitment.
pub const COMMITMENT_TYPE: &str = "application/vnd.creditlog.commitment+json";
/// The `type` of a firm's commitment.
pub const COMMITMENT_FORMAT: &str = "creditlog.commitment/v1";

/// A firm's commitment, as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    /// Always [`COMMITMENT_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The firm's USCC.
    pub subject: String,
    /// What kind of commitment.
    pub commitment_type: CommitmentType,
    /// The department that checks it.
    pub department: String,
    /// What the firm promises.
    pub content: String,
    /// The day by which it must be kept (and checked).
    pub due: Date,
    /// The day the firm makes it.
    pub date: Date,
}

impl Commitment {
    /// Parses a commitment and checks its fields on their own.
    ///
    /// # Errors
    ///
    /// What is malformed, naming the field.
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        let c: Commitment = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        if c.kind != COMMITMENT_FORMAT {
            return Err(format!("type must be {COMMITMENT_FORMAT:?}, not {:?}", c.kind));
        }
        crate::uscc::Uscc::parse(&c.subject).map_err(|e| format!("subject: {e}"))?;
        if !crate::record::is_department_code(&c.department) {
            return Err(format!("department: {}", crate::record::DEPARTMENT_CODE_RULE));
        }
        if c.content.trim().is_empty() || c.content.chars().count() > crate::objection::MAX_TEXT {
            return Err(format!("content: required, at most {} characters", crate::objection::MAX_TEXT));
        }
        if c.due < c.date {
            return Err(format!("due: {} is before the commitment was made ({})", c.due, c.date));
        }
        Ok(c)
    }

    /// Serialises the commitment.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a commitment serialises")
    }

    /// Signs the commitment with the firm's key.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Envelope {
        Envelope::sign(COMMITMENT_TYPE, &self.to_bytes(), key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitments_parse_and_bad_ones_name_the_field() {
        let ok = serde_json::json!({"type": COMMITMENT_FORMAT, "subject": "91370303MA3C8DXA25",
            "commitment_type": "notice_and_commitment", "department": "zibo-amr", "content": "三个月内补齐消防验收材料",
            "due": "2027-03-01", "date": "2026-11-20"});
        assert!(Commitment::parse(ok.to_string().as_bytes()).is_ok());
        let mut bad = ok.clone();
        bad["due"] = "2026-11-01".into();
        assert!(Commitment::parse(bad.to_string().as_bytes()).unwrap_err().contains("due"));
        let mut bad = ok.clone();
        bad["commitment_type"] = "promise".into();
        assert!(Commitment::parse(bad.to_string().as_bytes()).is_err());
    }
}
