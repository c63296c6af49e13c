//! Public disclosure (公示, DOMAIN §8): which records are shown to anyone, per firm, and for how
//! long. The rules are data (`rules/disclosure.toml`, each kind citing its source); the registry
//! serves what they allow ([`DisclosureRules::public_until`]) with a proof for each record that
//! opens only what is public (the content commitment, never the chain), and classes, scores and
//! every other kind stay private.

use crate::date::Date;
use crate::record::{Record, RecordFields, RecordKind};
use serde::{Deserialize, Serialize};

/// The shipped disclosure rules.
pub const RULES: &str = include_str!("../../rules/disclosure.toml");

/// How one kind is disclosed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindRule {
    /// The record kind.
    pub kind: String,
    /// Use the record's own period where it states one.
    #[serde(default)]
    pub effect: bool,
    /// Months from the record's date, otherwise.
    #[serde(default)]
    pub months: Option<u32>,
    /// Fields never shown.
    #[serde(default)]
    pub omit_fields: Vec<String>,
    /// Where it comes from.
    pub source: String,
}

/// The disclosure rules file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosureRules {
    /// Where the rules come from.
    pub source: String,
    /// The public kinds.
    pub kinds: Vec<KindRule>,
}

/// Until when a record is public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicUntil {
    /// Through this day.
    Date(Date),
    /// Until a later entry stops it.
    Stopped,
}

impl DisclosureRules {
    /// Parses a rules file.
    ///
    /// # Errors
    ///
    /// A file that does not parse, an unknown kind, or a kind without a source.
    pub fn parse(text: &str) -> Result<Self, String> {
        let r: DisclosureRules = toml::from_str(text).map_err(|e| e.to_string())?;
        for k in &r.kinds {
            k.kind.parse::<RecordKind>().map_err(|e| format!("kinds: {e}"))?;
            if k.source.trim().is_empty() {
                return Err(format!("kind {}: source names where it comes from", k.kind));
            }
        }
        Ok(r)
    }

    /// The shipped rules ([`RULES`]).
    ///
    /// # Panics
    ///
    /// Never: the shipped file is tested.
    pub fn shipped() -> Self {
        Self::parse(RULES).expect("rules/disclosure.toml parses")
    }

    /// The rule for a record's kind, if the kind is public.
    pub fn rule(&self, record: &Record) -> Option<&KindRule> {
        self.kinds.iter().find(|k| k.kind == record.kind().as_str())
    }

    /// Until when `record` is public (before any stop by a later entry); `None` if it is not
    /// public at all.
    pub fn public_until(&self, record: &Record) -> Option<PublicUntil> {
        let rule = self.rule(record)?;
        if let RecordFields::AdministrativePenalty(f) = record.fields() {
            if f.publicity_months == 0 {
                return None;
            }
        }
        let own = if rule.effect { record.effect_end() } else { None };
        let end = own.or_else(|| rule.months.map(|m| record.date().add_months(m).unwrap_or(Date::MAX)));
        Some(end.map_or(PublicUntil::Stopped, PublicUntil::Date))
    }

    /// The record's fields as shown publicly: without the fields the rule leaves out.
    pub fn public_fields(&self, record: &Record) -> serde_json::Value {
        let mut v = serde_json::to_value(record.fields()).unwrap_or_default();
        if let (Some(rule), Some(map)) = (self.rule(record), v.as_object_mut()) {
            for f in &rule.omit_fields {
                map.remove(f);
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kind: &str, date: &str, fields: serde_json::Value) -> Record {
        let v = serde_json::json!({"type": "creditlog.record/v1", "kind": kind, "subject": "91370303MA3C8DXA25",
            "department": "zibo-amr", "date": date, "reference": "号", "fields": fields});
        Record::parse(v.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn the_shipped_rules_parse_and_decide_periods() {
        let r = DisclosureRules::shipped();
        let penalty = |months: u16| {
            rec(
                "administrative_penalty",
                "2026-01-10",
                serde_json::json!({"violation_type": "虚假广告", "violation": "x",
                "penalties": ["warning"], "fine_amount_fen": 0, "severity": "minor", "publicity_months": months}),
            )
        };
        assert_eq!(r.public_until(&penalty(36)), Some(PublicUntil::Date(Date::parse("2029-01-10").unwrap())));
        assert_eq!(r.public_until(&penalty(0)), None, "0 months: not published");
        let report = rec(
            "annual_report",
            "2026-03-01",
            serde_json::json!({"report_year": 2025, "status": "operating",
            "staff": 12, "revenue_fen": 100, "on_time": true}),
        );
        assert_eq!(r.public_until(&report), Some(PublicUntil::Date(Date::parse("2031-03-01").unwrap())));
        let shown = r.public_fields(&report);
        assert!(shown.get("revenue_fen").is_none() && shown.get("staff").is_some(), "{shown}");
        let complaint = rec(
            "verified_complaint",
            "2026-03-01",
            serde_json::json!({"channel": "12345", "complaint_type": "价格", "substantiated": true}),
        );
        assert_eq!(r.public_until(&complaint), None, "complaints are not public");
    }
}
