//! Retention and redaction (保存期限与删除): a department has the content of its own records deleted
//! from storage for good, under a rule of `rules/retention.toml`, by a signed `redaction/redacted`
//! entry about the firm that names the entries. Their headers, their proofs and the firm's chain
//! stay valid: what is kept of a redacted entry is a [`Redacted`] stub (the firm, the salts of the
//! subject and chain commitments, the previous entry), and an evidence bundle carries the stub in
//! place of the content. `creditlog verify` accepts a stub only when the bundle holds the
//! redaction entry it names, and that entry redacts this entry under the stub's rule.
//!
//! Payload type [`REDACTION_TYPE`], header kind `redaction/redacted`:
//!
//! ```json
//! {"type":"creditlog.redaction/v1","subject":"<USCC>","department":"zibo-amr",
//!  "entries":[12,15],"rule":"personal-data","reason":"……","date":"2026-11-29"}
//! ```
//!
//! | rule | what it checks |
//! | --- | --- |
//! | `redaction-by-author` | only the department whose key signed a record redacts it |
//! | `redaction-target` | the entries are earlier department records about the same firm, listed once each in ascending order (at most [`MAX_TARGETS`]), and none is a retraction or a removal from a list (they are what stops other records) |
//! | `redaction-rule` | `personal-data`: the record was corrected before (retracted, then a record of the same kind by the same department logged after the retraction; none needed for a retraction as a duplicate); `retention`: it was logged at least the kind's retention period before, and the newest grade decision under each model that cites it no longer counts it |
//!
//! Every condition is checked on what a bundle without the redacted contents still shows: the
//! headers (kind, author key, time the log set), the retractions, and the signed decisions.

use crate::authority::{History, PriorEntry, Refusal, Rule};
use crate::date::Date;
use crate::entry::{chain_commitment, subject_commitment, EntryError, EntryHeader};
use crate::envelope::Envelope;
use crate::identity::Principal;
use crate::record::{RecordFields, RecordKind, RetractionGround};
use base64::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Payload type of a redaction.
pub const REDACTION_TYPE: &str = "application/vnd.creditlog.redaction+json";
/// The `type` of a redaction.
pub const REDACTION_FORMAT: &str = "creditlog.redaction/v1";
/// The header kind of a redaction.
pub const REDACTION_KIND: &str = "redaction/redacted";
/// At most this many entries per redaction.
pub const MAX_TARGETS: usize = 100;
/// The shipped retention rules.
pub const RULES: &str = include_str!("../../rules/retention.toml");

/// Under which rule entries are redacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RedactionRule {
    /// The retention period of the record's kind has passed and it no longer counts.
    Retention,
    /// The record was retracted or corrected: its personal data serves no purpose (PIPL art. 47).
    PersonalData,
}

impl RedactionRule {
    /// The rule's name, as in the payload and the verifier's report.
    pub fn name(self) -> &'static str {
        match self {
            RedactionRule::Retention => "retention",
            RedactionRule::PersonalData => "personal-data",
        }
    }
}

impl std::fmt::Display for RedactionRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A redaction, as signed by the department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redaction {
    /// Always [`REDACTION_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The firm the redacted entries are about.
    pub subject: String,
    /// The department redacting its own records.
    pub department: String,
    /// The entries whose contents are deleted, ascending.
    pub entries: Vec<u64>,
    /// The rule.
    pub rule: RedactionRule,
    /// Why, in words (shown to the firm and to auditors).
    pub reason: String,
    /// The day of the redaction.
    pub date: Date,
}

impl Redaction {
    /// Parses a redaction and checks its fields on their own.
    ///
    /// # Errors
    ///
    /// What is malformed, naming the field.
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        let r: Redaction = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        if r.kind != REDACTION_FORMAT {
            return Err(format!("type must be {REDACTION_FORMAT:?}, not {:?}", r.kind));
        }
        crate::uscc::Uscc::parse(&r.subject).map_err(|e| format!("subject: {e}"))?;
        if !crate::record::is_department_code(&r.department) {
            return Err(format!("department: {}", crate::record::DEPARTMENT_CODE_RULE));
        }
        if r.entries.is_empty() || r.entries.len() > MAX_TARGETS {
            return Err(format!("entries: name between 1 and {MAX_TARGETS} entries"));
        }
        if r.entries.windows(2).any(|w| w[0] >= w[1]) {
            return Err("entries: list each entry once, in ascending order".into());
        }
        if r.reason.trim().is_empty() || r.reason.chars().count() > crate::objection::MAX_TEXT {
            return Err(format!("reason: required, at most {} characters", crate::objection::MAX_TEXT));
        }
        Ok(r)
    }

    /// Serialises the redaction.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a redaction serialises")
    }

    /// Signs the redaction with the department's key.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Envelope {
        Envelope::sign(REDACTION_TYPE, &self.to_bytes(), key)
    }
}

/// One kind's retention period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindRetention {
    /// The record kind.
    pub kind: String,
    /// Years after the day it was logged.
    pub years: u32,
    /// Where the period comes from.
    pub source: String,
}

/// The `personal-data` rule's citation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalDataRule {
    /// Where it comes from.
    pub source: String,
}

/// The retention rules file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRules {
    /// Where the rules come from.
    pub source: String,
    /// The `personal-data` rule.
    pub personal_data: PersonalDataRule,
    /// The kinds redacted under `retention`, and after how long.
    pub retention: Vec<KindRetention>,
}

/// Kinds never redacted: they are what stops other records.
const KEPT: [RecordKind; 3] =
    [RecordKind::Retraction, RecordKind::AbnormalOperationsRemoval, RecordKind::SeriousDishonestyRemoval];

/// Whether an entry of this header kind may ever be redacted: a department record, other than a
/// retraction or a removal from a list.
pub fn redactable_kind(header_kind: &str) -> bool {
    header_kind.strip_prefix("record/").and_then(|k| k.parse::<RecordKind>().ok()).is_some_and(|k| !KEPT.contains(&k))
}

impl RetentionRules {
    /// Parses a rules file.
    ///
    /// # Errors
    ///
    /// A file that does not parse, an unknown or repeated kind, a kind that is never redacted,
    /// a period of 0 or over 100 years, or a rule without a source.
    pub fn parse(text: &str) -> Result<Self, String> {
        let r: RetentionRules = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut seen = std::collections::BTreeSet::new();
        for k in &r.retention {
            let kind = k.kind.parse::<RecordKind>().map_err(|e| format!("retention kind {:?}: {e}", k.kind))?;
            if KEPT.contains(&kind) {
                return Err(format!("retention kind {}: retractions and removals are never redacted", k.kind));
            }
            if !seen.insert(kind) {
                return Err(format!("retention kind {} is listed twice", k.kind));
            }
            if !(1..=100).contains(&k.years) {
                return Err(format!("retention kind {}: years must be 1 to 100", k.kind));
            }
            if k.source.trim().is_empty() {
                return Err(format!("retention kind {}: cite a source", k.kind));
            }
        }
        if r.source.trim().is_empty() || r.personal_data.source.trim().is_empty() {
            return Err("every rule cites a source".into());
        }
        Ok(r)
    }

    /// The rules shipped in `rules/retention.toml`.
    pub fn shipped() -> Self {
        Self::parse(RULES).expect("the shipped retention rules parse")
    }

    /// The retention period of `kind`, if it is redacted under `retention`.
    pub fn years(&self, kind: RecordKind) -> Option<u32> {
        self.retention.iter().find(|k| k.kind == kind.as_str()).map(|k| k.years)
    }
}

/// What is kept of a redacted entry, in place of its content: enough to open its header's subject
/// and chain commitments (so the firm's chain still verifies), and the rule and redaction entry
/// that deleted the rest. The content commitment can no longer be opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redacted {
    /// The rule it was redacted under.
    pub rule: RedactionRule,
    /// The `redaction/redacted` entry.
    pub by: u64,
    /// The firm's USCC.
    pub subject: String,
    /// Leaf hash of the previous entry about the firm, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_leaf: Option<String>,
    /// Salt of the subject commitment, base64.
    pub subject_salt: String,
    /// Salt of the chain commitment, base64.
    pub chain_salt: String,
}

impl Redacted {
    /// What is kept of `content` when it is redacted under `rule` by entry `by`; `None` for an
    /// entry about no firm (never redacted).
    pub fn of(content: &crate::entry::EntryContent, rule: RedactionRule, by: u64) -> Option<Self> {
        Some(Self {
            rule,
            by,
            subject: content.subject.clone()?,
            previous_leaf: content.previous_leaf.clone(),
            subject_salt: content.salts.subject.clone()?,
            chain_salt: content.salts.chain.clone()?,
        })
    }

    /// Checks that the stub opens the header's subject and chain commitments.
    ///
    /// # Errors
    ///
    /// [`EntryError`] naming the commitment that does not open.
    pub fn check(&self, header: &EntryHeader) -> Result<(), EntryError> {
        let salt = |b64: &str, what| {
            BASE64_STANDARD
                .decode(b64)
                .ok()
                .and_then(|s| <[u8; 32]>::try_from(s).ok())
                .ok_or(EntryError::Incomplete(what))
        };
        let s = subject_commitment(&salt(&self.subject_salt, "subject salt")?, &self.subject);
        if header.subject.as_deref() != Some(BASE64_STANDARD.encode(s).as_str()) {
            return Err(EntryError::Mismatch("subject"));
        }
        let previous = self.previous_leaf.as_deref().map(|p| salt(p, "previous leaf hash")).transpose()?;
        let c = chain_commitment(&salt(&self.chain_salt, "chain salt")?, &self.subject, previous);
        if header.chain.as_deref() != Some(BASE64_STANDARD.encode(c).as_str()) {
            return Err(EntryError::Mismatch("chain"));
        }
        Ok(())
    }
}

fn refuse(rule: Rule, field: &'static str, detail: String) -> Refusal {
    Refusal { rule, field, detail }
}

/// Checks a redaction by `author` (the principal of its key), logged on `logged` (the
/// jurisdiction's date), against the entries before it.
///
/// # Errors
///
/// The first rule broken.
pub fn check(
    author: &Principal,
    r: &Redaction,
    index: u64,
    logged: Date,
    local_date: &dyn Fn(u64) -> Date,
    history: &dyn History,
) -> Result<(), Refusal> {
    let code = match author {
        Principal::Department(code) if *code == r.department => code,
        _ => {
            return Err(refuse(
                Rule::RedactionByAuthor,
                "signatures[0].keyid",
                format!(
                "a redaction is signed by the department whose records it deletes ({}); this key belongs to {author}",
                r.department
            ),
            ))
        }
    };
    let rules = RetentionRules::shipped();
    let records = history.firm_records(&r.subject);
    let mut decisions: Option<Vec<(u64, crate::decision::Decision)>> = None;
    for &t in &r.entries {
        let target: PriorEntry = (t < index)
            .then(|| history.prior(t))
            .flatten()
            .filter(|p| {
                p.kind.starts_with("record/") && !p.redacted && p.subject.as_deref() == Some(r.subject.as_str())
            })
            .ok_or_else(|| {
                refuse(
                    Rule::RedactionTarget,
                    "entries",
                    format!(
                        "entry {t} is not an earlier department record about {} whose content is still stored (it may be redacted already)",
                        r.subject
                    ),
                )
            })?;
        if target.author != Principal::Department(code.clone()) {
            return Err(refuse(
                Rule::RedactionByAuthor,
                "entries",
                format!(
                    "entry {t} was signed by {}, not by {code}: a department redacts only its own records",
                    target.author
                ),
            ));
        }
        let kind = target.kind.strip_prefix("record/").and_then(|k| k.parse::<RecordKind>().ok());
        let Some(kind) = kind.filter(|k| !KEPT.contains(k)) else {
            return Err(refuse(
                Rule::RedactionTarget,
                "entries",
                format!(
                    "entry {t} is a {}: retractions and removals from a list are never redacted, because they are what stops other records",
                    target.kind
                ),
            ));
        };
        match r.rule {
            RedactionRule::PersonalData => {
                let retraction = records.iter().find_map(|(i, rec)| match rec.fields() {
                    RecordFields::Retraction(f) if *i > t && *i < index && f.target_index == t => Some((*i, f.ground)),
                    _ => None,
                });
                let Some((retracted_at, ground)) = retraction else {
                    return Err(refuse(
                        Rule::RedactionRule,
                        "rule",
                        format!(
                            "entry {t} is still in force: under personal-data a record is redacted only after its department corrected it (a retraction, then the record again without the personal data)"
                        ),
                    ));
                };
                // The facts stay on the log in the correction: a department cannot retract a
                // record and then erase what it said. A duplicate's facts are in the record it
                // duplicates.
                let corrected = ground == RetractionGround::Duplicate
                    || records.iter().any(|(i, c)| {
                        *i > retracted_at
                            && *i < index
                            && c.kind() == kind
                            && c.department() == code
                            && !matches!(c.fields(), RecordFields::Retraction(_))
                    });
                if !corrected {
                    return Err(refuse(
                        Rule::RedactionRule,
                        "rule",
                        format!(
                            "entry {t} was retracted at entry {retracted_at} but not corrected: under personal-data the department first logs the corrected {kind} record without the personal data (a record retracted as a duplicate needs none); until then, or until its retention period ends, its content stays open to audit"
                        ),
                    ));
                }
            }
            RedactionRule::Retention => {
                let Some(years) = rules.years(kind) else {
                    return Err(refuse(
                        Rule::RedactionRule,
                        "rule",
                        format!(
                            "{kind} records are not redacted under retention (rules/retention.toml lists the kinds)"
                        ),
                    ));
                };
                let earliest = local_date(target.time).add_months(years * 12).unwrap_or(Date::MAX);
                if logged < earliest {
                    return Err(refuse(
                        Rule::RedactionRule,
                        "rule",
                        format!(
                            "entry {t} ({kind}) was logged on {}; the retention period of its kind is {years} years, so it may be redacted from {earliest}",
                            local_date(target.time)
                        ),
                    ));
                }
                let decisions = decisions.get_or_insert_with(|| history.firm_decisions(&r.subject));
                // The newest decision under each model.
                let mut newest: BTreeMap<&str, (u64, &crate::decision::Decision)> = BTreeMap::new();
                for (i, d) in decisions.iter().filter(|(i, _)| *i < index) {
                    newest.insert(d.model.as_str(), (*i, d));
                }
                for (model, (i, d)) in newest {
                    if d.records.binary_search(&t).is_ok() && d.breakdown.inputs.binary_search(&t).is_ok() {
                        return Err(refuse(
                            Rule::RedactionRule,
                            "rule",
                            format!(
                                "entry {t} still counts: the newest grade decision under model {model} (entry {i}) counts it; a record is redacted only once it no longer counts"
                            ),
                        ));
                    }
                    if d.records.binary_search(&t).is_err() && i < t {
                        return Err(refuse(
                            Rule::RedactionRule,
                            "rule",
                            format!(
                                "no grade decision under model {model} after entry {t} shows that it no longer counts (the newest is entry {i}); re-grade the firm first"
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Decision;
    use crate::record::Record;
    use crate::repair;

    const FIRM: &str = "91370303MA3C8DXA25";

    /// The entries before a redaction at index 100, as a bundle or the log shows them.
    #[derive(Default)]
    struct Before {
        prior: BTreeMap<u64, PriorEntry>,
        records: Vec<(u64, Record)>,
        decisions: Vec<(u64, Decision)>,
    }

    impl History for Before {
        fn prior(&self, index: u64) -> Option<PriorEntry> {
            self.prior.get(&index).cloned()
        }
        fn live_record(&self, _: &str, _: &str, _: RecordKind, _: &str) -> Option<u64> {
            None
        }
        fn records_of_kind(&self, _: &str, kind: RecordKind) -> Vec<(u64, Record)> {
            self.records.iter().filter(|(_, r)| r.kind() == kind).cloned().collect()
        }
        fn model_published(&self, _: &str) -> bool {
            false
        }
        fn objection_steps(&self, _: u64) -> Vec<(u64, crate::objection::Step)> {
            Vec::new()
        }
        fn repair_steps(&self, _: u64) -> Vec<(u64, repair::Step)> {
            Vec::new()
        }
        fn firm_records(&self, _: &str) -> Vec<(u64, Record)> {
            self.records.clone()
        }
        fn firm_decisions(&self, _: &str) -> Vec<(u64, Decision)> {
            self.decisions.clone()
        }
        fn firm_entries(&self, _: &str) -> Vec<(u64, PriorEntry)> {
            self.prior.iter().map(|(i, p)| (*i, p.clone())).collect()
        }
    }

    fn day(d: &str) -> Date {
        Date::parse(d).unwrap()
    }

    /// Seconds at noon (UTC+8) of a day.
    fn noon(d: &str) -> u64 {
        u64::try_from(day(d).days_since_epoch() * 86_400 + 4 * 3600).unwrap()
    }

    fn local(t: u64) -> Date {
        crate::jurisdiction::Settings::default().local_date(t)
    }

    fn entry(kind: &str, by: &str, logged: &str) -> PriorEntry {
        PriorEntry {
            kind: format!("record/{kind}"),
            author: Principal::Department(by.into()),
            subject: Some(FIRM.into()),
            record: None,
            objection: None,
            repair: None,
            commitment: None,
            time: noon(logged),
            redacted: false,
            sanction: None,
        }
    }

    fn retraction(at: u64, target: u64, ground: &str) -> (u64, Record) {
        let r = serde_json::json!({"type": crate::record::RECORD_FORMAT, "kind": "retraction", "subject": FIRM,
            "department": "zibo-amr", "date": "2021-01-01", "reference": format!("撤{at}"),
            "fields": {"target_index": target, "ground": ground, "reason": "更正"}});
        (at, Record::parse(r.to_string().as_bytes()).unwrap())
    }

    fn penalty(at: u64, department: &str) -> (u64, Record) {
        let r = serde_json::json!({"type": crate::record::RECORD_FORMAT, "kind": "administrative_penalty",
            "subject": FIRM, "department": department, "date": "2026-01-02", "reference": "罚1",
            "fields": {"violation_type": "虚假广告", "violation": "发布虚假广告", "penalties": ["warning"],
                       "fine_amount_fen": 0, "severity": "minor", "publicity_months": 3}});
        (at, Record::parse(r.to_string().as_bytes()).unwrap())
    }

    fn decision(at: u64, records: &[u64], inputs: &[u64]) -> (u64, Decision) {
        let d = serde_json::json!({"type": "creditlog.decision/v1", "subject": FIRM, "model": "m", "model_index": 1,
            "as_of": "2021-01-01", "trigger": "scheduled", "records": records, "stopped": {},
            "breakdown": {"as_of": "2021-01-01", "base": 0, "indicators": [], "score": 0, "score_class": "A",
                          "overrides": [], "class": "A", "inputs": inputs}});
        (at, serde_json::from_value(d).unwrap())
    }

    fn redaction(department: &str, entries: &[u64], rule: RedactionRule) -> Redaction {
        Redaction {
            kind: REDACTION_FORMAT.into(),
            subject: FIRM.into(),
            department: department.into(),
            entries: entries.to_vec(),
            rule,
            reason: "到期删除".into(),
            date: day("2026-01-01"),
        }
    }

    fn judge(h: &Before, by: &str, r: &Redaction, logged: &str) -> Result<(), Refusal> {
        check(&Principal::Department(by.into()), r, 100, day(logged), &local, h)
    }

    #[test]
    fn retention_waits_for_the_period_and_for_a_decision_that_no_longer_counts_the_record() {
        let mut h = Before::default();
        h.prior.insert(10, entry("administrative_penalty", "zibo-amr", "2020-01-01"));
        let r = redaction("zibo-amr", &[10], RedactionRule::Retention);
        // Too early: the refusal names the first day it could succeed.
        let e = judge(&h, "zibo-amr", &r, "2024-12-31").unwrap_err();
        assert_eq!(e.rule, Rule::RedactionRule);
        assert!(e.detail.contains("may be redacted from 2025-01-01"), "{}", e.detail);
        // Never graded: the period alone decides.
        judge(&h, "zibo-amr", &r, "2025-01-01").unwrap();
        // The newest decision under the model still counts it.
        h.decisions = vec![decision(40, &[10], &[]), decision(50, &[10], &[10])];
        let e = judge(&h, "zibo-amr", &r, "2026-01-01").unwrap_err();
        assert!(e.detail.contains("still counts") && e.detail.contains("entry 50"), "{}", e.detail);
        // A later decision leaves it out of its inputs.
        h.decisions.push(decision(60, &[10], &[]));
        judge(&h, "zibo-amr", &r, "2026-01-01").unwrap();
        // The only decision predates the record: nothing shows it no longer counts.
        h.decisions = vec![decision(5, &[], &[])];
        let e = judge(&h, "zibo-amr", &r, "2026-01-01").unwrap_err();
        assert!(e.detail.contains("re-grade the firm first"), "{}", e.detail);
    }

    #[test]
    fn personal_data_waits_for_the_correction_and_only_the_author_redacts_its_own_records() {
        let mut h = Before::default();
        h.prior.insert(10, entry("administrative_penalty", "zibo-amr", "2026-01-01"));
        h.prior.insert(11, entry("retraction", "zibo-amr", "2026-01-02"));
        let r = redaction("zibo-amr", &[10], RedactionRule::PersonalData);
        let e = judge(&h, "zibo-amr", &r, "2026-01-03").unwrap_err();
        assert_eq!(e.rule, Rule::RedactionRule, "{}", e.detail);
        // Retracted but not corrected: what was retracted stays open to audit.
        h.records.push(retraction(11, 10, "error"));
        let e = judge(&h, "zibo-amr", &r, "2026-01-03").unwrap_err();
        assert!(e.rule == Rule::RedactionRule && e.detail.contains("not corrected"), "{}", e.detail);
        // Corrected by another department's record of the kind: still not a correction.
        h.records.push(penalty(12, "zibo-drc"));
        assert_eq!(judge(&h, "zibo-amr", &r, "2026-01-03").unwrap_err().rule, Rule::RedactionRule);
        h.records.push(penalty(13, "zibo-amr"));
        judge(&h, "zibo-amr", &r, "2026-01-03").unwrap();
        // A duplicate needs no correction.
        let mut dup = Before { prior: h.prior.clone(), ..Before::default() };
        dup.records.push(retraction(11, 10, "duplicate"));
        judge(&dup, "zibo-amr", &r, "2026-01-03").unwrap();
        // Another department, whether it names itself or the author.
        let e = judge(&h, "zibo-drc", &redaction("zibo-drc", &[10], RedactionRule::PersonalData), "2026-01-03")
            .unwrap_err();
        assert_eq!(e.rule, Rule::RedactionByAuthor, "{}", e.detail);
        assert_eq!(judge(&h, "zibo-drc", &r, "2026-01-03").unwrap_err().rule, Rule::RedactionByAuthor);
        // A retraction, a later entry, an entry not known here.
        for entries in [&[11][..], &[100], &[12]] {
            let e = judge(&h, "zibo-amr", &redaction("zibo-amr", entries, RedactionRule::PersonalData), "2026-01-03")
                .unwrap_err();
            assert_eq!(e.rule, Rule::RedactionTarget, "{entries:?}: {}", e.detail);
        }
    }

    #[test]
    fn the_shipped_rules_parse_and_bad_files_are_refused() {
        let r = RetentionRules::shipped();
        assert_eq!(r.years(RecordKind::AdministrativePenalty), Some(5));
        assert_eq!(r.years(RecordKind::Retraction), None);
        let bad = RULES.replace("kind = \"administrative_licence\"", "kind = \"retraction\"");
        assert!(RetentionRules::parse(&bad).unwrap_err().contains("never redacted"));
        let bad = RULES.replace("kind = \"administrative_licence\"", "kind = \"administrative_penalty\"");
        assert!(RetentionRules::parse(&bad).unwrap_err().contains("twice"));
        let bad = RULES.replacen("years = 5", "years = 0", 1);
        assert!(RetentionRules::parse(&bad).unwrap_err().contains("years"));
    }

    #[test]
    fn redactions_parse_and_bad_ones_name_the_field() {
        let ok = serde_json::json!({"type": REDACTION_FORMAT, "subject": "91370303MA3C8DXA25",
            "department": "zibo-amr", "entries": [12, 15], "rule": "personal-data",
            "reason": "更正后删除原记录中的个人信息", "date": "2026-11-29"});
        assert_eq!(Redaction::parse(ok.to_string().as_bytes()).unwrap().rule, RedactionRule::PersonalData);
        for (field, value, expect) in [
            ("entries", serde_json::json!([15, 12]), "ascending"),
            ("entries", serde_json::json!([]), "between 1"),
            ("rule", serde_json::json!("forgotten"), "unknown variant"),
            ("reason", serde_json::json!(" "), "reason"),
        ] {
            let mut bad = ok.clone();
            bad[field] = value;
            let err = Redaction::parse(bad.to_string().as_bytes()).unwrap_err();
            assert!(err.contains(expect), "{field}: {err}");
        }
    }
}
