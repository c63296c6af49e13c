//! The mapping from a standard export's columns to a record kind's fields: data, one TOML file
//! per kind (`rules/imports/KIND.toml`), with the standard and its version cited.

use crate::values::normalise_header;
use serde::Deserialize;
use std::collections::BTreeMap;
use verifier::record::{RecordKind, Severity};

/// The shipped mapping files, one per kind that departments export as 双公示 files.
pub const SHIPPED: &[(RecordKind, &str)] = &[
    (RecordKind::AdministrativePenalty, include_str!("../../rules/imports/administrative_penalty.toml")),
    (RecordKind::AdministrativeLicence, include_str!("../../rules/imports/administrative_licence.toml")),
];

/// How a cell is read (see the mapping files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Read {
    /// The cell as written.
    Text,
    /// A USCC.
    Uscc,
    /// A date in one of the three forms.
    Date,
    /// 万元 into whole fen.
    WanYuan,
    /// 处罚类别.
    Penalties,
    /// An end date, as whole months from the record's date.
    Months,
    /// A date, or one of `open_ended` for no end.
    OpenDate,
}

/// One column the record takes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// The standard's name for the column.
    pub header: String,
    /// Other names systems give it.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The creditlog column it fills.
    pub field: String,
    /// How it is read.
    pub read: Read,
    /// The value a blank cell stands for, if any.
    #[serde(default)]
    pub blank: Option<String>,
    /// A zero amount leaves the field out.
    #[serde(default)]
    pub zero_is_blank: bool,
    /// Cells that mean "no end" for [`Read::OpenDate`].
    #[serde(default)]
    pub open_ended: Vec<String>,
}

/// A column kept out of the record, and why.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drop {
    /// The column's name.
    pub header: String,
    /// Why it is not imported.
    pub why: String,
}

/// The party columns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// The USCC column.
    pub uscc: String,
    /// Other names of the USCC column.
    #[serde(default)]
    pub uscc_aliases: Vec<String>,
    /// The party's name column.
    pub name: String,
    /// The party category column.
    pub category: String,
    /// Categories that are individuals, refused.
    pub individual_categories: Vec<String>,
}

/// The deciding body's column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authority {
    /// Its column.
    pub column: String,
}

/// 处罚类别 vocabulary.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Penalties {
    /// Separators between categories in one cell.
    pub separators: Vec<String>,
    /// Other names, each for one or more of our penalty types.
    #[serde(default)]
    pub aliases: BTreeMap<String, Vec<String>>,
    /// Categories refused, with the reason.
    #[serde(default)]
    pub refused: BTreeMap<String, String>,
}

/// Publicity months per tier.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierMonths {
    /// 轻微
    pub minor: u16,
    /// 一般
    pub ordinary: u16,
    /// 严重
    pub serious: u16,
}

impl TierMonths {
    /// The months of `severity`.
    pub fn of(&self, severity: Severity) -> u16 {
        match severity {
            Severity::Minor => self.minor,
            Severity::Ordinary => self.ordinary,
            Severity::Serious => self.serious,
        }
    }
}

/// How the severity tier is derived when the file has no severity column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityRules {
    /// Penalties that make a record serious.
    pub serious_penalties: Vec<String>,
    /// A longer publicity period is serious.
    pub ordinary_max_months: u32,
    /// Penalties that alone may be minor.
    pub minor_penalties: Vec<String>,
    /// The longest publicity period of a minor record.
    pub minor_max_months: u32,
    /// The period of each tier when 公示截止期 is blank.
    pub default_months: TierMonths,
    /// Where the rules come from.
    pub source: String,
}

/// A mapping file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The record kind.
    pub kind: String,
    /// The standard cited.
    pub standard: String,
    /// Its version.
    pub standard_version: String,
    /// Headers that mark a header row of this kind.
    pub signature: Vec<String>,
    /// The party.
    pub party: Party,
    /// The deciding body.
    pub authority: Option<Authority>,
    /// The columns the record takes.
    #[serde(rename = "column")]
    pub columns: Vec<Column>,
    /// The columns kept out.
    #[serde(rename = "drop", default)]
    pub drops: Vec<Drop>,
    /// 处罚类别 vocabulary, for kinds with penalties.
    #[serde(default)]
    pub penalties: Option<Penalties>,
    /// Severity rules, for kinds with a severity.
    #[serde(default)]
    pub severity: Option<SeverityRules>,
}

impl Mapping {
    /// Parses and checks a mapping file.
    ///
    /// # Errors
    ///
    /// TOML that is not a mapping, a kind that does not exist, a field the kind does not have,
    /// a penalty or severity name that does not exist.
    pub fn parse(text: &str) -> Result<(RecordKind, Self), String> {
        let m: Mapping = toml::from_str(text).map_err(|e| format!("not a mapping file: {e}"))?;
        let kind: RecordKind = m.kind.parse().map_err(|e| format!("kind: {e}"))?;
        let columns = verifier::record::csv_columns(kind);
        for c in &m.columns {
            if !columns.contains(&c.field.as_str()) {
                return Err(format!(
                    "column {:?}: {kind} has no field {:?}; its fields are {}",
                    c.header,
                    c.field,
                    columns.join(", ")
                ));
            }
        }
        if let Some(p) = &m.penalties {
            for (alias, names) in &p.aliases {
                for n in names {
                    n.parse::<verifier::record::PenaltyType>()
                        .map_err(|e| format!("penalties.aliases.{alias}: {e}"))?;
                }
            }
        }
        if let Some(s) = &m.severity {
            for n in s.serious_penalties.iter().chain(&s.minor_penalties) {
                n.parse::<verifier::record::PenaltyType>().map_err(|e| format!("severity: {e}"))?;
            }
        }
        if m.signature.is_empty() {
            return Err("signature: at least one header marks this kind's header row".into());
        }
        Ok((kind, m))
    }

    /// The shipped mapping of `kind`, if the standard has an export of that kind.
    pub fn shipped(kind: RecordKind) -> Option<Self> {
        SHIPPED
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, text)| Self::parse(text).expect("a shipped mapping file is valid (tested)").1)
    }

    /// Whether a (normalised) header row holds every signature header of this mapping.
    pub fn matches(&self, normalised: &[String]) -> bool {
        self.signature.iter().all(|s| normalised.contains(&normalise_header(s)))
    }

    /// Every name (normalised) of the column `header`: itself and its aliases.
    pub(crate) fn names_of<'a>(header: &'a str, aliases: &'a [String]) -> impl Iterator<Item = String> + 'a {
        std::iter::once(header).chain(aliases.iter().map(String::as_str)).map(normalise_header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_mappings_parse_and_cite_the_standard() {
        for (kind, text) in SHIPPED {
            let (k, m) = Mapping::parse(text).unwrap();
            assert_eq!(k, *kind);
            assert!(m.standard.contains("双公示") && m.standard_version == "2021", "{}", m.standard);
        }
    }

    #[test]
    fn a_mapping_naming_a_field_the_kind_lacks_is_refused() {
        let text = SHIPPED[0].1.replace("field = \"violation_type\"", "field = \"violation_kind\"");
        let e = Mapping::parse(&text).unwrap_err();
        assert!(e.contains("has no field \"violation_kind\""), "{e}");
    }
}
