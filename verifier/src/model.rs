//! Scoring models as published data, and deterministic scoring (DOMAIN.md §1–§3; seed 000 第二,
//! seed 003). See `docs/MODEL.md` for the file format.
//!
//! A model is a TOML file: an indicator tree (first-, second-, third-level indicators, each with a
//! cap on what it can add or take away), observation points that turn records in force into
//! points, classes with score thresholds (four or five), and overrides that force a class or bound
//! a move. A model is identified by the SHA-256 of its exact file bytes.
//!
//! Scoring is a pure function of (model, records, as-of date, previous class): integer
//! arithmetic only, records taken in log order, indicators and points in file order, no clock and
//! no hash-map iteration, so a replay anywhere gives the same breakdown to the last point
//! (invariant 4).

use crate::date::Date;
use crate::record::Record;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// Why a model file was rejected; `path` names the place in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {rule}")]
pub struct ModelError {
    /// Where in the file, e.g. `indicators[2].children[0].points[1].kind`.
    pub path: String,
    /// The rule broken.
    pub rule: String,
}

fn err(path: impl Into<String>, rule: impl Into<String>) -> ModelError {
    ModelError { path: path.into(), rule: rule.into() }
}

/// A class and the lowest score that earns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Class {
    /// Label, e.g. `A`.
    pub label: String,
    /// Name, e.g. 信用风险低.
    pub name: String,
    /// Lowest score in this class.
    pub min: i64,
}

/// A condition on one field of a record: a numeric range, one of several values, or one value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Condition {
    /// A number within `[min, max]`, either bound optional: `{ min = 100, max = 500 }`.
    Range(Range),
    /// The field is one of these values: `["national", "provincial"]`.
    OneOf(Vec<toml::Value>),
    /// The field equals this value (strings, whole numbers, booleans). A list field (such as
    /// `penalties`) matches if it contains the value.
    Is(toml::Value),
}

/// Bounds of a numeric condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// Lowest accepted value.
    #[serde(default)]
    pub min: Option<i64>,
    /// Highest accepted value.
    #[serde(default)]
    pub max: Option<i64>,
}

/// An observation point (观测点): which records it counts and what each is worth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservationPoint {
    /// Identifier, unique in the model.
    pub id: String,
    /// Name shown in breakdowns.
    pub name: String,
    /// Record kind it counts.
    pub kind: String,
    /// Conditions on the record's fields, all of which must hold.
    #[serde(default, rename = "match")]
    pub conditions: std::collections::BTreeMap<String, Condition>,
    /// Points per matching record (negative lowers the score).
    pub points: i64,
    /// At most this many matching records count (the earliest in log order).
    #[serde(default = "one")]
    pub max_count: u32,
    /// The record counts for this many months from its date; without it, the record's own
    /// effect period (影响期) applies, and records without one count until retracted or repaired.
    #[serde(default)]
    pub effect_months: Option<u32>,
}

fn one() -> u32 {
    1
}

/// An indicator at any level, with a cap on its contribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// Identifier, unique in the model.
    pub id: String,
    /// Name, e.g. 监管信息.
    pub name: String,
    /// Lowest contribution (a negative number or 0).
    pub min: i64,
    /// Highest contribution (0 or a positive number).
    pub max: i64,
    /// Sub-indicators.
    #[serde(default)]
    pub children: Vec<Indicator>,
    /// Observation points directly under this indicator.
    #[serde(default)]
    pub points: Vec<ObservationPoint>,
}

/// What an override does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum OverrideEffect {
    /// Put the firm in this class (e.g. a serious-dishonesty listing in force → worst class).
    Force {
        /// The class label.
        class: String,
    },
    /// At least `classes` classes worse than the class the score gives (an instant downgrade).
    Downgrade {
        /// How many classes.
        classes: u32,
    },
    /// At most `classes` classes better than the previous decision.
    LimitUpgrade {
        /// How many classes.
        classes: u32,
    },
}

/// A rule that forces a class or bounds a move when a matching record is in force.
/// (Unknown keys are not rejected here: serde cannot deny them beside a flattened field.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override {
    /// Identifier.
    pub id: String,
    /// Record kind that triggers it (`*` for any: used by `limit_upgrade` rules that always hold).
    pub kind: String,
    /// Conditions on the record's fields.
    #[serde(default, rename = "match")]
    pub conditions: std::collections::BTreeMap<String, Condition>,
    /// Months the trigger counts from the record's date (default: the record's own period).
    #[serde(default)]
    pub effect_months: Option<u32>,
    /// The effect.
    #[serde(flatten)]
    pub effect: OverrideEffect,
}

/// A scoring model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Short identifier for humans; decisions cite the file hash.
    pub id: String,
    /// Name.
    pub name: String,
    /// Domain it applies to: `general`, or a specialised domain such as `food_production`.
    pub domain: String,
    /// Scores are clamped to `0..=scale`; higher is better credit (lower risk).
    pub scale: i64,
    /// Score before any observation point.
    pub base: i64,
    /// Classes from best to worst, with strictly decreasing `min`; the last has `min = 0`.
    pub classes: Vec<Class>,
    /// Record kinds whose arrival re-grades the firm at once (动态调整).
    #[serde(default)]
    pub triggers: BTreeSet<String>,
    /// First-level indicators.
    pub indicators: Vec<Indicator>,
    /// Overrides, applied in file order.
    #[serde(default)]
    pub overrides: Vec<Override>,
}

/// A record as scoring sees it: its log index, the record, and the date from which a repair or
/// retraction stopped it counting.
#[derive(Debug, Clone)]
pub struct ScoredRecord {
    /// Log index of the record's entry.
    pub index: u64,
    /// The record.
    pub record: Record,
    /// From this date on the record no longer counts (credit repair 信用修复, retraction).
    pub stopped: Option<Date>,
    /// The record's canonical JSON, parsed once for field conditions and shared by the copies
    /// [`ScoredRecord::with_stop`] makes.
    json: std::sync::Arc<serde_json::Value>,
}

impl ScoredRecord {
    /// A record at log index `index`, stopped from counting on `stopped` if given.
    pub fn new(index: u64, record: Record, stopped: Option<Date>) -> Self {
        let json = serde_json::from_slice(&record.to_json_bytes()).unwrap_or(serde_json::Value::Null);
        Self { index, record, stopped, json: std::sync::Arc::new(json) }
    }

    /// A record at log index `index` from its JSON ([`Record::to_json_bytes`]), read once for
    /// both the record and its field conditions; not stopped.
    ///
    /// # Errors
    ///
    /// Bytes that are not a valid record ([`Record::parse`]).
    pub fn from_json(index: u64, bytes: &[u8]) -> Result<Self, crate::record::RecordError> {
        let (record, json) = Record::parse_with_json(bytes)?;
        Ok(Self { index, record, stopped: None, json: std::sync::Arc::new(json) })
    }

    /// The same record stopped from counting on `stopped` instead, without serialising it again:
    /// a firm's records are prepared once and scored under each decision's stop dates.
    pub fn with_stop(&self, stopped: Option<Date>) -> Self {
        Self { index: self.index, record: self.record.clone(), stopped, json: std::sync::Arc::clone(&self.json) }
    }
}

/// One observation point's part in a score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointLine {
    /// Observation point id.
    pub id: String,
    /// Indices of the records that counted.
    pub records: Vec<u64>,
    /// Points they earned.
    pub points: i64,
}

/// One indicator's part: its lines and children, the raw sum and the capped contribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorLine {
    /// Indicator id.
    pub id: String,
    /// Sum before the cap.
    pub raw: i64,
    /// Contribution after the cap.
    pub capped: i64,
    /// Sub-indicators.
    pub children: Vec<IndicatorLine>,
    /// Observation points.
    pub points: Vec<PointLine>,
}

/// The full, replayable result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    /// The as-of date.
    pub as_of: Date,
    /// Base score.
    pub base: i64,
    /// First-level indicators.
    pub indicators: Vec<IndicatorLine>,
    /// Final score, clamped to `0..=scale`.
    pub score: i64,
    /// Class the score alone gives.
    pub score_class: String,
    /// Overrides that applied, in order.
    pub overrides: Vec<String>,
    /// The class after overrides.
    pub class: String,
    /// Indices of every record that counted anywhere (points or overrides), ascending.
    pub inputs: Vec<u64>,
}

impl Model {
    /// Parses and checks a model file.
    ///
    /// # Errors
    ///
    /// A [`ModelError`] naming the place in the file and the rule.
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let model: Model = toml::from_str(text).map_err(|e| {
            let path = e.span().map_or_else(
                || "model".to_owned(),
                |s| {
                    // The parser's offset is in bytes; never cut a character in two.
                    let mut end = s.start.min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    let before = &text[..end];
                    let line = before.matches('\n').count() + 1;
                    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                    format!("line {line}, column {column}")
                },
            );
            err(path, e.message().to_owned())
        })?;
        model.check()?;
        Ok(model)
    }

    /// `hex(SHA-256(file bytes))`: how decisions cite a model.
    pub fn hash(text: &[u8]) -> String {
        Sha256::digest(text).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Checks the rules a parsed model must follow.
    ///
    /// # Errors
    ///
    /// The first broken rule, with its path.
    pub fn check(&self) -> Result<(), ModelError> {
        if self.scale <= 0 {
            return Err(err("scale", "must be a positive whole number"));
        }
        if !(0..=self.scale).contains(&self.base) {
            return Err(err("base", format!("must be between 0 and scale ({})", self.scale)));
        }
        if !(4..=5).contains(&self.classes.len()) {
            return Err(err(
                "classes",
                format!("a model has four (A–D) or five (A–E) classes, not {}", self.classes.len()),
            ));
        }
        for (i, pair) in self.classes.windows(2).enumerate() {
            if pair[1].min >= pair[0].min {
                return Err(err(
                    format!("classes[{}].min", i + 1),
                    "thresholds must fall strictly from the best class to the worst",
                ));
            }
        }
        if self.classes.last().map(|c| c.min) != Some(0) {
            return Err(err(format!("classes[{}].min", self.classes.len() - 1), "the worst class starts at 0"));
        }
        let labels: BTreeSet<&str> = self.classes.iter().map(|c| c.label.as_str()).collect();
        if labels.len() != self.classes.len() {
            return Err(err("classes", "labels must be distinct"));
        }
        for k in &self.triggers {
            check_kind(k, "triggers")?;
        }
        let mut ids = BTreeSet::new();
        if self.indicators.is_empty() {
            return Err(err("indicators", "a model has at least one first-level indicator"));
        }
        for (i, ind) in self.indicators.iter().enumerate() {
            check_indicator(ind, &format!("indicators[{i}]"), 1, &mut ids)?;
        }
        for (i, o) in self.overrides.iter().enumerate() {
            let path = format!("overrides[{i}]");
            if !ids.insert(o.id.clone()) {
                return Err(err(format!("{path}.id"), format!("id {:?} is used twice", o.id)));
            }
            if o.kind == "*" {
                if !matches!(o.effect, OverrideEffect::LimitUpgrade { .. }) {
                    return Err(err(
                        format!("{path}.kind"),
                        "\"*\" (every firm) is only allowed with effect = \"limit_upgrade\"",
                    ));
                }
            } else {
                check_kind(&o.kind, &format!("{path}.kind"))?;
                check_fields(&o.kind, &o.conditions, &path)?;
            }
            match &o.effect {
                OverrideEffect::Force { class } if !labels.contains(class.as_str()) => {
                    return Err(err(format!("{path}.class"), format!("no class labelled {class:?}")));
                }
                OverrideEffect::Downgrade { classes } | OverrideEffect::LimitUpgrade { classes } if *classes == 0 => {
                    return Err(err(format!("{path}.classes"), "must be at least 1"));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn class_of(&self, score: i64) -> usize {
        self.classes.iter().position(|c| score >= c.min).unwrap_or(self.classes.len() - 1)
    }

    /// Position of a class label (0 = best), if the model has it.
    pub fn class_index(&self, label: &str) -> Option<usize> {
        self.classes.iter().position(|c| c.label == label)
    }

    /// Scores a firm. `records` are the firm's records in log order; `previous` is the class of
    /// the previous decision under this model, if any.
    pub fn score(&self, records: &[ScoredRecord], as_of: Date, previous: Option<&str>) -> Breakdown {
        let in_force: Vec<&ScoredRecord> = records.iter().filter(|r| r.record.date() <= as_of).collect();
        let mut inputs = BTreeSet::new();
        let mut lines = Vec::with_capacity(self.indicators.len());
        let mut total = self.base;
        for ind in &self.indicators {
            let line = score_indicator(ind, &in_force, as_of, &mut inputs);
            total += line.capped;
            lines.push(line);
        }
        let score = total.clamp(0, self.scale);
        let score_class = self.class_of(score);
        let mut class = score_class;
        let previous = previous.and_then(|p| self.class_index(p));
        let worst = self.classes.len() - 1;
        let mut applied = Vec::new();
        for o in &self.overrides {
            let hits: Vec<u64> = if o.kind == "*" {
                Vec::new()
            } else {
                in_force
                    .iter()
                    .filter(|r| counts(r, &o.kind, &o.conditions, o.effect_months, as_of))
                    .map(|r| r.index)
                    .collect()
            };
            if o.kind != "*" && hits.is_empty() {
                continue;
            }
            let before = class;
            match &o.effect {
                OverrideEffect::Force { class: label } => {
                    class = self.class_index(label).unwrap_or(worst);
                }
                OverrideEffect::Downgrade { classes } => {
                    // Relative to the class the score gives, not to the previous decision, so
                    // that re-grading while the record is in force does not compound the fall.
                    class = class.max((score_class + *classes as usize).min(worst));
                }
                OverrideEffect::LimitUpgrade { classes } => {
                    if let Some(p) = previous {
                        class = class.max(p.saturating_sub(*classes as usize));
                    }
                }
            }
            if class != before {
                inputs.extend(hits);
                applied.push(o.id.clone());
            }
        }
        Breakdown {
            as_of,
            base: self.base,
            indicators: lines,
            score,
            score_class: self.classes[score_class].label.clone(),
            overrides: applied,
            class: self.classes[class].label.clone(),
            inputs: inputs.into_iter().collect(),
        }
    }
}

fn check_kind(kind: &str, path: &str) -> Result<(), ModelError> {
    kind.parse::<crate::record::RecordKind>().map(|_| ()).map_err(|e| err(path, e.to_string()))
}

fn check_indicator(ind: &Indicator, path: &str, level: u32, ids: &mut BTreeSet<String>) -> Result<(), ModelError> {
    if !ids.insert(ind.id.clone()) {
        return Err(err(format!("{path}.id"), format!("id {:?} is used twice", ind.id)));
    }
    if ind.min > 0 || ind.max < 0 {
        return Err(err(path.to_owned(), "an indicator's cap runs from min ≤ 0 to max ≥ 0"));
    }
    if level >= 3 && !ind.children.is_empty() {
        return Err(err(
            format!("{path}.children"),
            "indicators go three levels deep; observation points sit under them",
        ));
    }
    if ind.children.is_empty() && ind.points.is_empty() {
        return Err(err(path.to_owned(), "an indicator needs sub-indicators or observation points"));
    }
    for (i, c) in ind.children.iter().enumerate() {
        check_indicator(c, &format!("{path}.children[{i}]"), level + 1, ids)?;
    }
    for (i, p) in ind.points.iter().enumerate() {
        let pp = format!("{path}.points[{i}]");
        if !ids.insert(p.id.clone()) {
            return Err(err(format!("{pp}.id"), format!("id {:?} is used twice", p.id)));
        }
        check_kind(&p.kind, &format!("{pp}.kind"))?;
        if p.max_count == 0 {
            return Err(err(format!("{pp}.max_count"), "must be at least 1"));
        }
        check_fields(&p.kind, &p.conditions, &pp)?;
    }
    Ok(())
}

/// Every field a condition names exists in the record kind.
fn check_fields(
    kind: &str,
    conditions: &std::collections::BTreeMap<String, Condition>,
    path: &str,
) -> Result<(), ModelError> {
    let columns = crate::record::csv_columns(
        kind.parse().map_err(|e: crate::record::UnknownName| err(format!("{path}.kind"), e.to_string()))?,
    );
    for field in conditions.keys() {
        if !columns.contains(&field.as_str()) {
            return Err(err(
                format!("{path}.match.{field}"),
                format!("{kind} has no field {field:?}; its fields are {}", columns.join(", ")),
            ));
        }
    }
    Ok(())
}

fn field_value<'a>(record: &'a ScoredRecord, field: &str) -> Option<&'a serde_json::Value> {
    match field {
        "subject" | "department" | "date" | "reference" => record.json.get(field),
        _ => record.json.get("fields")?.get(field),
    }
}

fn same(a: &serde_json::Value, b: &toml::Value) -> bool {
    match (a, b) {
        (serde_json::Value::String(x), toml::Value::String(y)) => x == y,
        (serde_json::Value::Bool(x), toml::Value::Boolean(y)) => x == y,
        (serde_json::Value::Number(x), toml::Value::Integer(y)) => x.as_i64() == Some(*y),
        // A list field (e.g. penalties) matches if it contains the value.
        (serde_json::Value::Array(xs), y) => xs.iter().any(|x| same(x, y)),
        _ => false,
    }
}

fn holds(record: &ScoredRecord, conditions: &std::collections::BTreeMap<String, Condition>) -> bool {
    conditions.iter().all(|(field, c)| {
        let Some(v) = field_value(record, field) else { return false };
        match c {
            Condition::Is(x) => same(v, x),
            Condition::OneOf(xs) => xs.iter().any(|x| same(v, x)),
            Condition::Range(Range { min, max }) => {
                v.as_i64().is_some_and(|n| min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m))
            }
        }
    })
}

/// Whether a record of `kind` meeting `conditions` counts on `as_of`.
fn counts(
    r: &ScoredRecord,
    kind: &str,
    conditions: &std::collections::BTreeMap<String, Condition>,
    effect_months: Option<u32>,
    as_of: Date,
) -> bool {
    if r.record.kind().as_str() != kind || !holds(r, conditions) {
        return false;
    }
    if r.stopped.is_some_and(|d| d <= as_of) {
        return false;
    }
    let end = match effect_months {
        Some(m) => r.record.date().add_months(m),
        None => r.record.effect_end(),
    };
    end.is_none_or(|e| as_of <= e)
}

fn score_indicator(
    ind: &Indicator,
    records: &[&ScoredRecord],
    as_of: Date,
    inputs: &mut BTreeSet<u64>,
) -> IndicatorLine {
    let mut raw = 0;
    let mut children = Vec::with_capacity(ind.children.len());
    for c in &ind.children {
        let line = score_indicator(c, records, as_of, inputs);
        raw += line.capped;
        children.push(line);
    }
    let mut points = Vec::with_capacity(ind.points.len());
    for p in &ind.points {
        let hits: Vec<u64> = records
            .iter()
            .filter(|r| counts(r, &p.kind, &p.conditions, p.effect_months, as_of))
            .map(|r| r.index)
            .take(p.max_count as usize)
            .collect();
        let earned = p.points * hits.len() as i64;
        raw += earned;
        inputs.extend(hits.iter().copied());
        points.push(PointLine { id: p.id.clone(), records: hits, points: earned });
    }
    IndicatorLine { id: ind.id.clone(), raw, capped: raw.clamp(ind.min, ind.max), children, points }
}
