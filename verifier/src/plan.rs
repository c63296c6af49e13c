//! Inspection plans (抽查计划, 一单两库一细则) and their draws (双随机): what a department signs,
//! who may sign it, and how the population of a draw is made from the log. The draw itself is
//! [`crate::draw`]; the sequence and threat model are in `docs/DRAW.md`.
//!
//! A plan (payload type [`PLAN_TYPE`], header kind [`PLAN_KIND`], about no enterprise) fixes the
//! items, the population filters, the cycle, the per-class ratios, the high-risk minimum, the
//! inspector pool with its conflicts of interest, and a commitment to a secret. The department's
//! draw (payload type [`DRAW_TYPE`], header kind [`DRAW_KIND`]) reveals the secret and states
//! the seed, the population and the selection by their counts and digests; the registry and
//! `creditlog verify-draw` recompute all three.
//!
//! | rule | what it checks |
//! | --- | --- |
//! | `plan-by-department` | a plan is signed by a department, in its own name |
//! | `plan-rules` | the plan stays within `rules/supervision.toml`: each class's share in its range, class A only with a trigger (outside the exempt domains), the high-risk minimum, enough qualified inspectors, a cycle of at most a year, a reveal within the window; its model is published |
//! | `draw-by-planner` | only the department that signed the plan draws it |
//! | `draw-plan` | the draw names an earlier plan by its index and leaf hash, and is its first draw |
//! | `draw-reveal` | the secret opens the plan's commitment, revealed by the plan's `reveal_by` day |
//! | `draw-seed` | the root is the log's root at the plan (the tree whose last leaf is the plan) and the seed is `SHA-256(tag ‖ plan leaf ‖ root ‖ secret)` |
//! | `draw-population` | the population is the one the log gives for the plan (count and digest) |
//! | `draw-selection` | the selection is the one the draw algorithm gives for that seed and population |

use crate::authority::{History, Refusal, Rule};
use crate::date::Date;
use crate::decision::Decision;
use crate::draw::{self, DrawRules, Firm, Inspector, Selection};
use crate::envelope::Envelope;
use crate::identity::Principal;
use crate::record::{Record, RecordFields, RecordKind, Severity};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Payload type of an inspection plan.
pub const PLAN_TYPE: &str = "application/vnd.creditlog.plan+json";
/// The `type` of an inspection plan.
pub const PLAN_FORMAT: &str = "creditlog.plan/v1";
/// The header kind of an inspection plan.
pub const PLAN_KIND: &str = "plan/published";
/// Payload type of a draw.
pub const DRAW_TYPE: &str = "application/vnd.creditlog.draw+json";
/// The `type` of a draw.
pub const DRAW_FORMAT: &str = "creditlog.draw/v1";
/// The header kind of a draw.
pub const DRAW_KIND: &str = "plan/drawn";
/// The shipped supervision rules.
pub const RULES: &str = include_str!("../../rules/supervision.toml");
/// At most this many inspectors in a plan's pool.
pub const MAX_INSPECTORS: usize = 500;
/// At most this many items in a plan.
pub const MAX_ITEMS: usize = 50;

/// One class in `rules/supervision.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassBounds {
    /// The class label.
    pub class: String,
    /// The least share a plan may draw, per mille.
    pub min_per_mille: u32,
    /// The largest share, per mille.
    pub max_per_mille: u32,
    /// Only firms with a trigger are eligible.
    pub needs_trigger: bool,
    /// Counts towards the high-risk minimum.
    pub high_risk: bool,
    /// Where the figures come from.
    pub source: String,
}

/// The `[draw]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawBounds {
    /// Least high-risk share a plan may ask for.
    pub min_high_risk_per_mille: u32,
    /// Source.
    pub min_high_risk_source: String,
    /// The class of a firm with no grade under the plan's model.
    pub unrated_class: String,
    /// Source.
    pub unrated_source: String,
    /// Least inspectors per firm.
    pub min_inspectors_per_firm: u32,
    /// Source.
    pub inspectors_source: String,
    /// Days after the plan's date by which the secret must be revealed.
    pub reveal_days: u32,
    /// Source.
    pub reveal_source: String,
    /// Longest cycle.
    pub max_cycle_days: u32,
    /// Source.
    pub cycle_source: String,
}

/// The `[trigger]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerRule {
    /// How recent a substantiated complaint must be.
    pub days: u32,
    /// Source.
    pub source: String,
}

/// The `[exclusion]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExclusionRules {
    /// Source of the once-per-cycle exclusion.
    pub inspected_this_cycle_source: String,
    /// The window of the one-joint-inspection-a-year rule.
    pub dishonesty_days: u32,
    /// Source.
    pub dishonesty_source: String,
    /// Domains where no exclusion applies.
    pub exempt_domains: Vec<String>,
    /// Source.
    pub exempt_source: String,
}

/// `rules/supervision.toml`: the bounds of a plan and how a population is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupervisionRules {
    /// Where the rules come from.
    pub source: String,
    /// The classes a plan may name.
    pub class: Vec<ClassBounds>,
    /// Draw bounds.
    pub draw: DrawBounds,
    /// Triggers for class A.
    pub trigger: TriggerRule,
    /// Exclusions.
    pub exclusion: ExclusionRules,
}

impl SupervisionRules {
    /// Parses and checks a rules file.
    ///
    /// # Errors
    ///
    /// What is malformed or out of range.
    pub fn parse(text: &str) -> Result<Self, String> {
        let r: SupervisionRules = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut seen = HashSet::new();
        for c in &r.class {
            if !seen.insert(c.class.as_str()) {
                return Err(format!("class {} is listed twice", c.class));
            }
            if c.min_per_mille > c.max_per_mille || c.max_per_mille > 1000 {
                return Err(format!("class {}: need min_per_mille ≤ max_per_mille ≤ 1000", c.class));
            }
            if c.source.trim().is_empty() {
                return Err(format!("class {}: cite a source", c.class));
            }
        }
        if !seen.contains(r.draw.unrated_class.as_str()) {
            return Err(format!("unrated_class {} is not a listed class", r.draw.unrated_class));
        }
        if r.draw.min_high_risk_per_mille > 1000 || r.draw.min_inspectors_per_firm == 0 {
            return Err("min_high_risk_per_mille is at most 1000 and min_inspectors_per_firm at least 1".into());
        }
        if r.draw.reveal_days == 0 || r.draw.max_cycle_days == 0 || r.trigger.days == 0 {
            return Err("reveal_days, max_cycle_days and trigger days are at least 1".into());
        }
        Ok(r)
    }

    /// The rules shipped in `rules/supervision.toml`.
    pub fn shipped() -> Self {
        Self::parse(RULES).expect("the shipped supervision rules parse")
    }

    /// The bounds of `class`, if a plan may name it.
    pub fn class(&self, class: &str) -> Option<&ClassBounds> {
        self.class.iter().find(|c| c.class == class)
    }

    /// Whether `domain` is exempt from the exclusions.
    pub fn exempt(&self, domain: &str) -> bool {
        self.exclusion.exempt_domains.iter().any(|d| d == domain)
    }

    /// The draw rules a plan gets by default: each class at the lower end of its range rounded
    /// as [`DrawRules::defaults`] does, the high-risk minimum, the least inspectors per firm.
    pub fn default_draw_rules(&self) -> DrawRules {
        let mut rules = DrawRules::defaults();
        rules.min_high_risk_per_mille = rules.min_high_risk_per_mille.max(self.draw.min_high_risk_per_mille);
        rules.inspectors_per_firm = rules.inspectors_per_firm.max(self.draw.min_inspectors_per_firm);
        rules
    }
}

/// One inspection item (抽查事项).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// The item's code in the department's list (抽查事项清单).
    pub code: String,
    /// What is checked.
    pub name: String,
    /// The legal basis.
    pub basis: String,
    /// The qualification an inspector needs for it, if any (执法资格).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualification: Option<String>,
}

/// Which firms of the directory (检查对象名录库) the plan covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// Digits the USCC's administrative-division code (characters 3 to 8) starts with; empty for
    /// all.
    #[serde(default)]
    pub region_prefix: String,
    /// The USCC's first two characters (registration authority and entity type: `91` enterprise,
    /// `92` individual business, `93` farmers' cooperative, ...); empty for all.
    #[serde(default)]
    pub entity_types: Vec<String>,
}

impl Filters {
    /// Whether the firm is covered.
    pub fn covers(&self, uscc: &str) -> bool {
        let b = uscc.as_bytes();
        b.len() == 18
            && b[2..8].starts_with(self.region_prefix.as_bytes())
            && (self.entity_types.is_empty() || self.entity_types.iter().any(|t| t.as_bytes() == &b[..2]))
    }
}

/// An inspector of the plan's pool (检查人员名录库). Only an identifier: names are personal data
/// and stay in the department's directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolInspector {
    /// Their identifier (e.g. the law-enforcement certificate number, 执法证号).
    pub id: String,
    /// The qualifications they hold.
    #[serde(default)]
    pub qualifications: BTreeSet<String>,
    /// The firms they may never be sent to (conflicts of interest, 回避).
    #[serde(default)]
    pub conflicts: BTreeSet<String>,
}

/// An inspection plan, as the department signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always [`PLAN_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The department's code.
    pub department: String,
    /// The plan's number (计划编号).
    pub number: String,
    /// Its title.
    pub title: String,
    /// The supervision domain, e.g. `food_safety`; see the exempt domains in the rules.
    pub domain: String,
    /// The items checked (抽查事项清单).
    pub items: Vec<Item>,
    /// The hash of the published model whose classes the draw uses.
    pub model: String,
    /// The population filters.
    #[serde(default)]
    pub population: Filters,
    /// First day of the cycle.
    pub cycle_start: Date,
    /// Last day of the cycle.
    pub cycle_end: Date,
    /// The draw rules.
    pub rules: DrawRules,
    /// The inspector pool.
    pub inspectors: Vec<PoolInspector>,
    /// `secret_commitment` of the department's secret, hex.
    pub secret_commitment: String,
    /// The last day the secret may be revealed.
    pub reveal_by: Date,
    /// The day the plan is made.
    pub date: Date,
}

fn hex32(s: &str, what: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(s).map_err(|_| format!("{what}: 64 hex digits"))?;
    bytes.try_into().map_err(|_| format!("{what}: 64 hex digits"))
}

fn line(s: &str, what: &str, max: usize) -> Result<(), String> {
    if s.trim().is_empty() || s.chars().count() > max || s.contains(['\n', '\r', '\t']) {
        return Err(format!("{what}: required, one line of at most {max} characters"));
    }
    Ok(())
}

impl Plan {
    /// Parses a plan and checks its fields on their own.
    ///
    /// # Errors
    ///
    /// What is malformed, naming the field.
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        let p: Plan = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        if p.kind != PLAN_FORMAT {
            return Err(format!("type must be {PLAN_FORMAT:?}, not {:?}", p.kind));
        }
        if !crate::record::is_department_code(&p.department) {
            return Err(format!("department: {}", crate::record::DEPARTMENT_CODE_RULE));
        }
        line(&p.number, "number", 100)?;
        line(&p.title, "title", 200)?;
        if p.domain.is_empty() || p.domain.len() > 50 || !p.domain.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            return Err("domain: lower-case letters and _ (e.g. food_safety)".into());
        }
        if p.items.is_empty() || p.items.len() > MAX_ITEMS {
            return Err(format!("items: 1 to {MAX_ITEMS}"));
        }
        for (i, it) in p.items.iter().enumerate() {
            line(&it.code, &format!("items[{i}].code"), 50)?;
            line(&it.name, &format!("items[{i}].name"), 200)?;
            line(&it.basis, &format!("items[{i}].basis"), 200)?;
        }
        hex32(&p.model, "model")?;
        if p.population.region_prefix.len() > 6 || !p.population.region_prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err("population.region_prefix: at most 6 digits".into());
        }
        for t in &p.population.entity_types {
            if t.len() != 2 || !t.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) {
                return Err(format!("population.entity_types: {t:?} is not the first two characters of a USCC"));
            }
        }
        if p.cycle_end < p.cycle_start {
            return Err(format!("cycle_end: {} is before cycle_start {}", p.cycle_end, p.cycle_start));
        }
        let mut classes = HashSet::new();
        for c in &p.rules.classes {
            if !classes.insert(c.class.as_str()) {
                return Err(format!("rules.classes: class {} is listed twice", c.class));
            }
            if c.per_mille > 1000 {
                return Err(format!("rules.classes: class {}: a share is at most 1000 per mille", c.class));
            }
        }
        if p.rules.min_high_risk_per_mille > 1000 || p.rules.inspectors_per_firm == 0 {
            return Err("rules: min_high_risk_per_mille at most 1000, inspectors_per_firm at least 1".into());
        }
        if p.inspectors.is_empty() || p.inspectors.len() > MAX_INSPECTORS {
            return Err(format!("inspectors: 1 to {MAX_INSPECTORS}"));
        }
        let mut ids = HashSet::new();
        for (i, insp) in p.inspectors.iter().enumerate() {
            line(&insp.id, &format!("inspectors[{i}].id"), 50)?;
            if !ids.insert(insp.id.as_str()) {
                return Err(format!("inspectors: {} is listed twice", insp.id));
            }
            for f in &insp.conflicts {
                crate::uscc::Uscc::parse(f).map_err(|e| format!("inspectors[{i}].conflicts: {e}"))?;
            }
        }
        hex32(&p.secret_commitment, "secret_commitment")?;
        if p.reveal_by < p.date {
            return Err(format!("reveal_by: {} is before the plan's date {}", p.reveal_by, p.date));
        }
        Ok(p)
    }

    /// Serialises the plan.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a plan serialises")
    }

    /// Signs the plan with the department's key.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Envelope {
        Envelope::sign(PLAN_TYPE, &self.to_bytes(), key)
    }

    /// The pool as the draw takes it.
    pub fn pool(&self) -> Vec<Inspector> {
        self.inspectors.iter().map(|i| Inspector { id: i.id.clone(), conflicts: i.conflicts.clone() }).collect()
    }
}

/// A count and a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Digest32 {
    /// How many firms.
    pub firms: u64,
    /// SHA-256 of their canonical lines (`docs/DRAW.md` §4), hex.
    pub digest: String,
}

/// A draw, as the department signs it: the reveal, and what the draw gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draw {
    /// Always [`DRAW_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The department's code.
    pub department: String,
    /// The plan's entry.
    pub plan_index: u64,
    /// The plan's leaf hash, hex.
    pub plan_leaf: String,
    /// The root hash of the log's tree at the plan (size `plan_index + 1`), hex.
    pub root: String,
    /// The secret the plan committed to, hex.
    pub secret: String,
    /// The seed, hex.
    pub seed: String,
    /// The population.
    pub population: Digest32,
    /// The firms drawn, with their inspectors.
    pub selection: Digest32,
    /// The day of the draw.
    pub date: Date,
}

impl Draw {
    /// Parses a draw and checks its fields on their own.
    ///
    /// # Errors
    ///
    /// What is malformed, naming the field.
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        let d: Draw = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        if d.kind != DRAW_FORMAT {
            return Err(format!("type must be {DRAW_FORMAT:?}, not {:?}", d.kind));
        }
        if !crate::record::is_department_code(&d.department) {
            return Err(format!("department: {}", crate::record::DEPARTMENT_CODE_RULE));
        }
        for (v, what) in [
            (&d.plan_leaf, "plan_leaf"),
            (&d.root, "root"),
            (&d.secret, "secret"),
            (&d.seed, "seed"),
            (&d.population.digest, "population.digest"),
            (&d.selection.digest, "selection.digest"),
        ] {
            hex32(v, what)?;
        }
        if d.selection.firms > d.population.firms {
            return Err("selection.firms: more firms drawn than the population holds".into());
        }
        Ok(d)
    }

    /// Serialises the draw.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a draw serialises")
    }

    /// Signs the draw with the department's key.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Envelope {
        Envelope::sign(DRAW_TYPE, &self.to_bytes(), key)
    }

    /// The seed this draw's reveal, root and plan leaf give.
    pub fn computed_seed(&self) -> Option<[u8; 32]> {
        Some(draw::seed(
            &hex32(&self.plan_leaf, "").ok()?,
            &hex32(&self.root, "").ok()?,
            &hex32(&self.secret, "").ok()?,
        ))
    }
}

/// Why a firm of the population is not eligible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Excluded {
    /// `inspected-this-cycle` or `one-inspection-a-year`.
    pub reason: String,
    /// The inspection result entry that excludes it.
    pub index: u64,
}

/// A firm of a plan's population, with the entries its class, trigger and exclusion come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// Its USCC.
    pub uscc: String,
    /// Its class under the plan's model.
    pub class: String,
    /// The decision the class comes from (none: not graded under the model, the unrated class).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<u64>,
    /// The substantiated complaint that makes a class-A firm eligible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<u64>,
    /// Why it may not be drawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<Excluded>,
}

impl Member {
    /// The firm as the draw takes it.
    pub fn firm(&self) -> Firm {
        Firm {
            uscc: self.uscc.clone(),
            class: self.class.clone(),
            trigger: self.trigger.is_some(),
            excluded: self.excluded.as_ref().map(|e| e.reason.clone()),
        }
    }

    /// The member's canonical line: `uscc \t class \t decision \t trigger \t exclusion \n`, `-`
    /// for what is absent, an exclusion as `reason:index`.
    pub fn line(&self) -> String {
        let opt = |v: Option<u64>| v.map_or("-".to_owned(), |i| i.to_string());
        let ex = self.excluded.as_ref().map_or("-".to_owned(), |e| format!("{}:{}", e.reason, e.index));
        format!("{}\t{}\t{}\t{}\t{}\n", self.uscc, self.class, opt(self.decision), opt(self.trigger), ex)
    }
}

/// The count and digest of a population: `SHA-256("creditlog/v1/draw-population\0" || lines)`,
/// the members' canonical lines in ascending USCC order.
pub fn population_digest(members: &[Member]) -> Digest32 {
    let mut sorted: Vec<&Member> = members.iter().collect();
    sorted.sort_by(|a, b| a.uscc.as_bytes().cmp(b.uscc.as_bytes()));
    let mut h = Sha256::new();
    h.update(b"creditlog/v1/draw-population\0");
    for m in sorted {
        h.update(m.line().as_bytes());
    }
    Digest32 { firms: members.len() as u64, digest: hex::encode(h.finalize()) }
}

/// The count and digest of a selection: `SHA-256("creditlog/v1/draw-selection\0" || lines)`,
/// one line `uscc \t class \t inspector,inspector \n` per firm, in draw order.
pub fn selection_digest(selection: &[Selection]) -> Digest32 {
    let mut h = Sha256::new();
    h.update(b"creditlog/v1/draw-selection\0");
    for s in selection {
        h.update(format!("{}\t{}\t{}\n", s.uscc, s.class, s.inspectors.join(",")).as_bytes());
    }
    Digest32 { firms: selection.len() as u64, digest: hex::encode(h.finalize()) }
}

/// A firm's entries before the plan, as the population needs them.
#[derive(Debug, Clone, Copy)]
pub struct FirmAtPlan<'a> {
    /// The firm.
    pub uscc: &'a str,
    /// Its records before the plan, in log order (redacted ones left out).
    pub records: &'a [(u64, Record)],
    /// Its grade decisions before the plan, in log order.
    pub decisions: &'a [(u64, Decision)],
}

/// The member a firm is of the plan's population, or `None` if the plan's filters leave it out.
///
/// - class: the newest decision under the plan's model, else the rules' unrated class;
/// - trigger: the newest substantiated verified complaint, not retracted, dated within the
///   rules' trigger window up to the plan's date;
/// - excluded (not in an exempt domain): `inspected-this-cycle` if an inspection result, not
///   retracted, is dated within the cycle up to the plan's date and the class is not high-risk;
///   else `one-inspection-a-year` if the firm has a minor or ordinary penalty, not retracted, in
///   the rules' window and was inspected after a draw (an inspection result with `draw_index`) in
///   that window.
pub fn member(plan: &Plan, rules: &SupervisionRules, firm: FirmAtPlan<'_>) -> Option<Member> {
    if !plan.population.covers(firm.uscc) {
        return None;
    }
    let graded = firm.decisions.iter().rev().find(|(_, d)| d.model == plan.model);
    let class = graded.map_or_else(|| rules.draw.unrated_class.clone(), |(_, d)| d.breakdown.class.clone());
    let retracted: HashSet<u64> = firm
        .records
        .iter()
        .filter_map(|(_, r)| match r.fields() {
            RecordFields::Retraction(f) => Some(f.target_index),
            _ => None,
        })
        .collect();
    let live = || firm.records.iter().filter(|(i, _)| !retracted.contains(i));
    let since = |days: u32| plan.date.add_days(-i64::from(days)).unwrap_or(Date::MIN);
    let trigger_from = since(rules.trigger.days);
    let trigger = live()
        .filter(|(_, r)| {
            matches!(r.fields(), RecordFields::VerifiedComplaint(f) if f.substantiated)
                && r.date() >= trigger_from
                && r.date() <= plan.date
        })
        .map(|(i, _)| *i)
        .next_back();
    let mut excluded = None;
    if !rules.exempt(&plan.domain) {
        let high_risk = plan.rules.classes.iter().any(|c| c.class == class && c.high_risk);
        let inspections = || live().filter(|(_, r)| r.kind() == RecordKind::InspectionResult);
        if !high_risk {
            if let Some((i, _)) = inspections().rfind(|(_, r)| r.date() >= plan.cycle_start && r.date() <= plan.date) {
                excluded = Some(Excluded { reason: "inspected-this-cycle".into(), index: *i });
            }
        }
        if excluded.is_none() {
            let from = since(rules.exclusion.dishonesty_days);
            let dishonest = live().any(|(_, r)| {
                matches!(r.fields(), RecordFields::AdministrativePenalty(f)
                    if matches!(f.severity, Severity::Minor | Severity::Ordinary))
                    && r.date() >= from
                    && r.date() <= plan.date
            });
            if dishonest {
                if let Some((i, _)) = inspections().rfind(|(_, r)| {
                    matches!(r.fields(), RecordFields::InspectionResult(f) if f.draw_index.is_some())
                        && r.date() >= from
                        && r.date() <= plan.date
                }) {
                    excluded = Some(Excluded { reason: "one-inspection-a-year".into(), index: *i });
                }
            }
        }
    }
    Some(Member { uscc: firm.uscc.to_owned(), class, decision: graded.map(|(i, _)| *i), trigger, excluded })
}

fn refuse(rule: Rule, field: &'static str, detail: impl Into<String>) -> Refusal {
    Refusal { rule, field, detail: detail.into() }
}

/// The authority rules of a plan: signed by a department in its own name, within the supervision
/// rules, citing a published model.
///
/// # Errors
///
/// The rule broken.
pub fn check_plan(
    author: &Principal,
    plan: &Plan,
    rules: &SupervisionRules,
    history: &dyn History,
) -> Result<(), Refusal> {
    if *author != Principal::Department(plan.department.clone()) {
        return Err(refuse(
            Rule::PlanByDepartment,
            "signatures[0].keyid",
            format!(
                "a plan of department {} is signed by that department's key; this key belongs to {author}",
                plan.department
            ),
        ));
    }
    let bad = |field, detail: String| Err(refuse(Rule::PlanRules, field, detail));
    let exempt = rules.exempt(&plan.domain);
    for c in &plan.rules.classes {
        let Some(b) = rules.class(&c.class) else {
            return bad("rules.classes", format!("class {} is not a class of the supervision rules", c.class));
        };
        if c.per_mille < b.min_per_mille || c.per_mille > b.max_per_mille {
            return bad(
                "rules.classes",
                format!(
                    "class {} is drawn at {}‰; the supervision rules allow {}‰ to {}‰ ({})",
                    c.class, c.per_mille, b.min_per_mille, b.max_per_mille, b.source
                ),
            );
        }
        if c.high_risk != b.high_risk {
            return bad(
                "rules.classes",
                format!(
                    "class {} is {}high-risk in the supervision rules",
                    c.class,
                    if b.high_risk { "" } else { "not " }
                ),
            );
        }
        if b.needs_trigger && !c.needs_trigger && !exempt {
            return bad(
                "rules.classes",
                format!(
                    "class {} is inspected only with a trigger (a verified complaint) outside the exempt domains ({})",
                    c.class, b.source
                ),
            );
        }
    }
    if plan.rules.min_high_risk_per_mille < rules.draw.min_high_risk_per_mille {
        return bad(
            "rules.min_high_risk_per_mille",
            format!(
                "at least {}‰ of the firms drawn must be high-risk ({}); the plan asks {}‰",
                rules.draw.min_high_risk_per_mille, rules.draw.min_high_risk_source, plan.rules.min_high_risk_per_mille
            ),
        );
    }
    if plan.rules.inspectors_per_firm < rules.draw.min_inspectors_per_firm {
        return bad(
            "rules.inspectors_per_firm",
            format!(
                "at least {} inspectors go to each firm ({})",
                rules.draw.min_inspectors_per_firm, rules.draw.inspectors_source
            ),
        );
    }
    if plan.inspectors.len() < plan.rules.inspectors_per_firm as usize {
        return bad(
            "inspectors",
            format!(
                "the pool has {} inspectors; each firm needs {}",
                plan.inspectors.len(),
                plan.rules.inspectors_per_firm
            ),
        );
    }
    for it in &plan.items {
        if let Some(q) = &it.qualification {
            if let Some(i) = plan.inspectors.iter().find(|i| !i.qualifications.contains(q)) {
                return bad(
                    "inspectors",
                    format!("inspector {} lacks qualification {q}, which item {} needs", i.id, it.code),
                );
            }
        }
    }
    let cycle_days = plan.cycle_end.days_since_epoch() - plan.cycle_start.days_since_epoch() + 1;
    if cycle_days > i64::from(rules.draw.max_cycle_days) {
        return bad(
            "cycle_end",
            format!(
                "the cycle is {cycle_days} days; at most {} ({})",
                rules.draw.max_cycle_days, rules.draw.cycle_source
            ),
        );
    }
    let last_reveal = plan.date.add_days(i64::from(rules.draw.reveal_days)).unwrap_or(Date::MAX);
    if plan.reveal_by > last_reveal {
        return bad(
            "reveal_by",
            format!(
                "the secret is revealed by {last_reveal} at the latest ({} days after the plan; {})",
                rules.draw.reveal_days, rules.draw.reveal_source
            ),
        );
    }
    if !history.model_published(&plan.model) {
        return bad("model", format!("no model with hash {} is published on this log", plan.model));
    }
    Ok(())
}

/// The authority rules of a draw that need only the log: by the planner, of an earlier plan, its
/// first draw, a reveal that opens the commitment in time, the root at the plan, the seed.
/// Returns the plan. The population and the selection are checked by [`check_result`].
///
/// # Errors
///
/// The rule broken.
pub fn check_draw(author: &Principal, d: &Draw, logged: Date, history: &dyn History) -> Result<Plan, Refusal> {
    let Some((plan, leaf)) = history.plan(d.plan_index) else {
        return Err(refuse(
            Rule::DrawPlan,
            "plan_index",
            format!("entry {} is not an inspection plan before this draw", d.plan_index),
        ));
    };
    if *author != Principal::Department(plan.department.clone()) || d.department != plan.department {
        return Err(refuse(
            Rule::DrawByPlanner,
            "signatures[0].keyid",
            format!(
                "plan {} of department {} is drawn by that department alone; this key belongs to {author}",
                d.plan_index, plan.department
            ),
        ));
    }
    if hex::encode(leaf) != d.plan_leaf {
        return Err(refuse(
            Rule::DrawPlan,
            "plan_leaf",
            format!("plan_leaf is not the leaf hash of entry {} ({})", d.plan_index, hex::encode(leaf)),
        ));
    }
    if let Some(first) = history.draws_of(d.plan_index).first() {
        return Err(refuse(
            Rule::DrawPlan,
            "plan_index",
            format!("plan {} was drawn at entry {first}; a plan is drawn once", d.plan_index),
        ));
    }
    let secret = hex32(&d.secret, "secret").map_err(|e| refuse(Rule::DrawReveal, "secret", e))?;
    if hex::encode(draw::secret_commitment(&secret)) != plan.secret_commitment {
        return Err(refuse(
            Rule::DrawReveal,
            "secret",
            "the secret does not open the plan's secret_commitment: it is not the secret the plan was made with",
        ));
    }
    if logged > plan.reveal_by {
        return Err(refuse(
            Rule::DrawReveal,
            "date",
            format!("the plan's secret had to be revealed by {}; it is {logged} (a missing reveal is marked on the plan, docs/DRAW.md §1)", plan.reveal_by),
        ));
    }
    match history.tree_root(d.plan_index + 1) {
        Some(root) if hex::encode(root) == d.root => {}
        Some(root) => {
            return Err(refuse(
                Rule::DrawSeed,
                "root",
                format!(
                    "the root is not the log's root at the plan (tree size {}: {})",
                    d.plan_index + 1,
                    hex::encode(root)
                ),
            ))
        }
        None => {
            return Err(refuse(
                Rule::DrawSeed,
                "root",
                format!("the log's root at tree size {} is not known here", d.plan_index + 1),
            ))
        }
    }
    if d.computed_seed().map(hex::encode).as_deref() != Some(d.seed.as_str()) {
        return Err(refuse(
            Rule::DrawSeed,
            "seed",
            "the seed is not SHA-256 of the plan's leaf, the root at the plan and the secret (docs/DRAW.md §1)",
        ));
    }
    Ok(plan)
}

/// Checks the population and the selection a draw states against the population the log gives
/// (`members`) and the draw algorithm; returns the selection.
///
/// # Errors
///
/// `draw-population` or `draw-selection`, with the first difference.
pub fn check_result(plan: &Plan, d: &Draw, members: &[Member]) -> Result<Vec<Selection>, Refusal> {
    let pop = population_digest(members);
    if pop != d.population {
        return Err(refuse(
            Rule::DrawPopulation,
            "population",
            format!(
                "the draw states a population of {} firms (digest {}); the log gives {} firms (digest {}) for this plan",
                d.population.firms, d.population.digest, pop.firms, pop.digest
            ),
        ));
    }
    let seed = d.computed_seed().ok_or_else(|| refuse(Rule::DrawSeed, "seed", "malformed hex"))?;
    let firms: Vec<Firm> = members.iter().map(Member::firm).collect();
    let selection = draw::draw(seed, &plan.rules, &firms, &plan.pool())
        .map_err(|e| refuse(Rule::DrawSelection, "selection", e.to_string()))?;
    let sel = selection_digest(&selection);
    if sel != d.selection {
        return Err(refuse(
            Rule::DrawSelection,
            "selection",
            format!(
                "the draw states {} firms drawn (digest {}); the draw algorithm gives {} firms (digest {}) for this seed and population",
                d.selection.firms, d.selection.digest, sel.firms, sel.digest
            ),
        ));
    }
    Ok(selection)
}

/// Per class: eligible firms and firms drawn, for a report.
pub fn class_counts(plan: &Plan, members: &[Member], selection: &[Selection]) -> BTreeMap<String, (u64, u64)> {
    let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for m in members {
        let needs = plan.rules.classes.iter().find(|c| c.class == m.class).map(|c| c.needs_trigger);
        if m.excluded.is_none() && needs.is_some_and(|n| !n || m.trigger.is_some()) {
            out.entry(m.class.clone()).or_default().0 += 1;
        }
    }
    for s in selection {
        out.entry(s.class.clone()).or_default().1 += 1;
    }
    out
}

/// One department's part of a visit: its plan, items and inspectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitPart {
    /// The department.
    pub department: String,
    /// Its plan's entry.
    pub plan_index: u64,
    /// Its plan's number.
    pub plan_number: String,
    /// Its draw's entry (inspection results cite it as `draw_index`).
    pub draw_index: u64,
    /// The items it checks.
    pub items: Vec<Item>,
    /// Its inspectors.
    pub inspectors: Vec<String>,
}

/// One visit to a firm (进一次门、查多项事): every department that drew it in the window, at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// The firm.
    pub uscc: String,
    /// The departments' parts, by department code.
    pub parts: Vec<VisitPart>,
    /// More than one department: a joint inspection (联合检查).
    pub joint: bool,
}

/// Merges draws into visits: one per firm, listing each department's plan, items and inspectors
/// (a department that drew the firm under two plans has two parts). Sorted by USCC; within a
/// visit, by department then plan.
pub fn merge_visits(draws: &[(u64, u64, &Plan, &[Selection])]) -> Vec<Visit> {
    let mut by_firm: BTreeMap<&str, Vec<VisitPart>> = BTreeMap::new();
    for (plan_index, draw_index, plan, selection) in draws {
        for s in selection.iter() {
            by_firm.entry(s.uscc.as_str()).or_default().push(VisitPart {
                department: plan.department.clone(),
                plan_index: *plan_index,
                plan_number: plan.number.clone(),
                draw_index: *draw_index,
                items: plan.items.clone(),
                inspectors: s.inspectors.clone(),
            });
        }
    }
    by_firm
        .into_iter()
        .map(|(uscc, mut parts)| {
            parts.sort_by(|a, b| (&a.department, a.plan_index).cmp(&(&b.department, b.plan_index)));
            let joint = parts.windows(2).any(|w| w[0].department != w[1].department);
            Visit { uscc: uscc.to_owned(), parts, joint }
        })
        .collect()
}

/// The value of a draw bundle's `type`.
pub const DRAW_BUNDLE_FORMAT: &str = "creditlog.draw-bundle/v1";

/// What `creditlog verify-draw` re-runs a draw from: an evidence bundle holding the plan, the draw,
/// the model the plan cites and the public identity entries before them, with the root at the
/// plan; and the population the draw was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawBundle {
    /// Always [`DRAW_BUNDLE_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The plan's entry.
    pub plan_index: u64,
    /// The draw's entry.
    pub draw_index: u64,
    /// The entries and their proofs.
    pub evidence: crate::evidence::Bundle,
    /// The population, as the log stood at the plan.
    pub population: Vec<Member>,
}

/// What a re-run draw showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrawReport {
    /// The plan.
    pub plan: Plan,
    /// Its entry.
    pub plan_index: u64,
    /// The draw.
    pub draw: Draw,
    /// Its entry.
    pub draw_index: u64,
    /// The selection, recomputed.
    pub selection: Vec<Selection>,
    /// Per class: eligible, drawn.
    pub classes: BTreeMap<String, (u64, u64)>,
    /// The checks made, in plain language.
    pub checks: Vec<String>,
}

/// Re-runs a draw from its bundle: the evidence verifies (checkpoint, proofs, signatures, the
/// authority rules of the plan and the draw, among them the reveal, the root at the plan and the
/// seed), the population is the one the draw signed, and the draw algorithm gives the selection
/// the draw signed.
///
/// # Errors
///
/// The first check that fails, naming the entry and the rule.
pub fn verify_draw(
    b: &DrawBundle,
    trust: &crate::evidence::Trust,
) -> Result<DrawReport, crate::evidence::EvidenceError> {
    use crate::evidence::EvidenceError;
    let fail =
        |index: Option<u64>, check: &str, detail: String| EvidenceError { index, check: check.to_owned(), detail };
    if b.kind != DRAW_BUNDLE_FORMAT {
        return Err(fail(None, "format", format!("type is {:?}, not {DRAW_BUNDLE_FORMAT:?}", b.kind)));
    }
    let report = crate::evidence::verify_bundle(&b.evidence, trust, None)?;
    let payload = |index: u64, ty: &'static str| -> Result<Vec<u8>, EvidenceError> {
        let e = b
            .evidence
            .entries
            .iter()
            .find(|e| e.index == index)
            .ok_or_else(|| fail(Some(index), "format", "the bundle does not hold this entry".into()))?;
        let c =
            e.content.as_ref().ok_or_else(|| fail(Some(index), "format", "its content is not in the bundle".into()))?;
        c.envelope.decode(ty).map(|(p, _)| p).map_err(|e| fail(Some(index), "format", e.to_string()))
    };
    let plan = Plan::parse(&payload(b.plan_index, PLAN_TYPE)?).map_err(|e| fail(Some(b.plan_index), "format", e))?;
    let d = Draw::parse(&payload(b.draw_index, DRAW_TYPE)?).map_err(|e| fail(Some(b.draw_index), "format", e))?;
    if d.plan_index != b.plan_index {
        return Err(fail(
            Some(b.draw_index),
            "draw-plan",
            format!("this draw is of plan {}, not {}", d.plan_index, b.plan_index),
        ));
    }
    let selection =
        check_result(&plan, &d, &b.population).map_err(|r| fail(Some(b.draw_index), r.rule.name(), r.to_string()))?;
    let mut checks = report.checks;
    checks.push(format!(
        "plan {} ({}) of {} was on the log at entry {} before the draw; the draw at entry {} is its only one, by the same department",
        plan.number, plan.title, plan.department, b.plan_index, b.draw_index
    ));
    checks.push(format!(
        "the revealed secret opens the plan's commitment, and the seed {} is SHA-256 of the plan's leaf, the log's root at the plan (size {}) and that secret: nobody could choose it when the plan was fixed",
        d.seed, b.plan_index + 1
    ));
    checks.push(format!(
        "the population of {} firms is the one the draw signed (digest {}); the registry computed it from the log at intake",
        b.population.len(), d.population.digest
    ));
    checks.push(format!(
        "re-running the draw (docs/DRAW.md §3) gives the {} firms and inspectors the draw signed (digest {})",
        selection.len(),
        d.selection.digest
    ));
    let classes = class_counts(&plan, &b.population, &selection);
    Ok(DrawReport { plan, plan_index: b.plan_index, draw: d, draw_index: b.draw_index, selection, classes, checks })
}

#[cfg(test)]
mod tests;
