//! Flow 10, public disclosure (公示, DOMAIN §8): the records of a firm that are public by law,
//! within their publicity period and not stopped (by a retraction, which an upheld objection
//! causes, a list removal or an approved credit repair), each with what proves it without
//! revealing anything private: the header, the signed record, the subject and content salts, and
//! (added by the API) an inclusion proof. The chain salt and the previous entry are never shown,
//! so a disclosed record does not point at the firm's private entries. Classes, scores and every
//! other kind stay private. What was stopped is listed as corrected or repaired, with the day,
//! without its content (the law shows that a correction happened).

use crate::{Registry, RegistryError};
use base64::prelude::*;
use serde::Serialize;
use verifier::decision::stop_dates;
use verifier::disclosure::{DisclosureRules, PublicUntil};
use verifier::envelope::Envelope;
use verifier::record::Record;
use verifier::Date;

/// A disclosed record.
#[derive(Debug, Clone, Serialize)]
pub struct Disclosed {
    /// Its entry.
    pub index: u64,
    /// The kind, and its Chinese name.
    pub kind: String,
    /// 中文名称.
    pub kind_name: &'static str,
    /// The department that made it.
    pub department: String,
    /// Its date.
    pub date: Date,
    /// Its document number.
    pub reference: String,
    /// Its public fields.
    pub fields: serde_json::Value,
    /// Until when it is shown.
    pub public_until: PublicUntil,
    /// What proves it; absent when the signed record holds fields that are not public (the
    /// signature covers them, so the record is shown without its proof).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opening: Option<Opening>,
}

/// What proves a disclosed record: the header it was logged under, the department's signed
/// record, and the salts of the subject and content commitments (never the chain's).
#[derive(Debug, Clone, Serialize)]
pub struct Opening {
    /// The entry header, as in the log (base64).
    pub header: String,
    /// The department's signed record.
    pub envelope: Envelope,
    /// The salt of the header's subject commitment (base64).
    pub subject_salt: String,
    /// The salt of the header's content commitment (base64).
    pub content_salt: String,
}

/// A record no longer shown because a later entry stopped it.
#[derive(Debug, Clone, Serialize)]
pub struct Stopped {
    /// The record's entry.
    pub index: u64,
    /// Its kind.
    pub kind: String,
    /// Its department.
    pub department: String,
    /// Its document number.
    pub reference: String,
    /// `corrected` (retracted, e.g. after an upheld objection), `removed` (from a list),
    /// `repaired` (credit repair approved), or `corrected_and_redacted` (corrected, and the
    /// original's content since deleted under a redaction rule: only its kind and department are
    /// left to show; the correction is among the records shown).
    pub how: &'static str,
    /// The day it stopped.
    pub on: Date,
}

/// What the public sees of a firm.
#[derive(Debug, Clone, Serialize)]
pub struct Disclosure {
    /// The firm.
    pub uscc: String,
    /// The day the view is for.
    pub as_of: Date,
    /// The records shown.
    pub records: Vec<Disclosed>,
    /// Public records no longer shown, and why.
    pub stopped: Vec<Stopped>,
}

impl Registry {
    /// The public disclosure of `uscc` on `as_of`.
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub fn disclosure(&self, uscc: &str, as_of: Date) -> Result<Disclosure, RegistryError> {
        let rules = DisclosureRules::shipped();
        let (records, repairs) = self.firm_records_and_repairs(uscc)?;
        let refs: Vec<(u64, &Record)> = records.iter().map(|(i, r)| (*i, r)).collect();
        let stops = stop_dates(&refs, &repairs);
        let (mut shown, mut stopped) = (Vec::new(), Vec::new());
        for (index, record) in &records {
            let Some(until) = rules.public_until(record) else { continue };
            if record.date() > as_of {
                continue;
            }
            if let Some(on) = stops.get(index).filter(|d| **d <= as_of) {
                let how = if repairs.iter().any(|r| r.target == *index && r.date == *on) {
                    "repaired"
                } else if refs.iter().any(|(_, r)| {
                    matches!(r.fields(), verifier::record::RecordFields::Retraction(f) if f.target_index == *index)
                }) {
                    "corrected"
                } else {
                    "removed"
                };
                stopped.push(Stopped {
                    index: *index,
                    kind: record.kind().as_str().to_owned(),
                    department: record.department().to_owned(),
                    reference: record.reference().to_owned(),
                    how,
                    on: *on,
                });
                continue;
            }
            if matches!(until, PublicUntil::Date(d) if d < as_of) {
                continue; // past its publicity period: kept for audit, not shown
            }
            let fields = rules.public_fields(record);
            let withheld = serde_json::to_value(record.fields())
                .ok()
                .and_then(|v| v.as_object().map(serde_json::Map::len))
                .is_some_and(|n| fields.as_object().is_some_and(|f| f.len() < n));
            let opening = if withheld {
                None
            } else {
                let bytes = self.inner.log.entry(*index)?;
                let Some((_, content)) = self.open_entry(*index, &bytes)? else { continue };
                Some(Opening {
                    header: BASE64_STANDARD.encode(&bytes),
                    envelope: content.envelope.clone(),
                    subject_salt: content.salts.subject.clone().unwrap_or_default(),
                    content_salt: content.salts.content.clone(),
                })
            };
            shown.push(Disclosed {
                index: *index,
                kind: record.kind().as_str().to_owned(),
                kind_name: record.kind().chinese_name(),
                department: record.department().to_owned(),
                date: record.date(),
                reference: record.reference().to_owned(),
                fields,
                public_until: until,
                opening,
            });
        }
        // Corrected records whose original was redacted since: the correction is shown above;
        // that there was an earlier version is shown here, with what its header still tells.
        for (_, r) in &refs {
            let verifier::record::RecordFields::Retraction(f) = r.fields() else { continue };
            if r.date() > as_of || records.iter().any(|(i, _)| *i == f.target_index) {
                continue;
            }
            let bytes = self.inner.log.entry(f.target_index)?;
            let Some((header, crate::Stored::Redacted(_))) = self.open_stored(f.target_index, &bytes)? else {
                continue;
            };
            let kind = header.kind.trim_start_matches("record/").to_owned();
            if !rules.kinds.iter().any(|k| k.kind == kind) {
                continue;
            }
            stopped.push(Stopped {
                index: f.target_index,
                kind,
                department: r.department().to_owned(),
                reference: String::new(),
                how: "corrected_and_redacted",
                on: r.date(),
            });
        }
        stopped.sort_by_key(|s| s.index);
        Ok(Disclosure { uscc: uscc.to_owned(), as_of, records: shown, stopped })
    }
}
