//! The scoring models shipped in `models/` (see `docs/MODEL.md`): both files parse and pass the
//! model checks, the general model has the shape DOMAIN.md §1 describes (five first-level
//! indicators, at least 30 observation points, four classes), the food-production model uses
//! the five-class variant, and the overrides behave as seed 000 第四 asks: a serious-dishonesty
//! listing forces the worst class until it is removed, a major accident downgrades at once, a
//! provincial commendation lifts a firm by at most one class.

use serde_json::{json, Value};
use verifier::date::Date;
use verifier::model::{Breakdown, Indicator, IndicatorLine, Model, OverrideEffect, ScoredRecord};
use verifier::record::Record;

const GENERAL: &str = include_str!("../../models/general.toml");
const FOOD: &str = include_str!("../../models/food_production.toml");

const SUBJECT: &str = "91370303MA3C8DXA25";

fn general() -> Model {
    Model::parse(GENERAL).unwrap_or_else(|e| panic!("models/general.toml: {e}"))
}

fn food() -> Model {
    Model::parse(FOOD).unwrap_or_else(|e| panic!("models/food_production.toml: {e}"))
}

fn date(s: &str) -> Date {
    Date::parse(s).unwrap()
}

/// A record of `kind` about [`SUBJECT`] dated `day`, built through the strict parser.
fn record(kind: &str, day: &str, fields: Value) -> Record {
    let payload = json!({"type": "creditlog.record/v1", "kind": kind, "subject": SUBJECT, "department": "zibo-amr",
                         "date": day, "reference": format!("淄市监〔{}〕{kind}", &day[..4]), "fields": fields});
    Record::parse(&serde_json::to_vec(&payload).unwrap()).unwrap_or_else(|e| panic!("{kind}: {e}"))
}

/// Records in log order, indices 0, 1, 2, ..., none stopped.
fn log(records: Vec<Record>) -> Vec<ScoredRecord> {
    records.into_iter().enumerate().map(|(i, r)| ScoredRecord::new(i as u64, r, None)).collect()
}

/// A firm that complies: a valid licence, a report filed on time, a clean inspection and tax
/// grade A, all in force on 2026-11-20.
fn compliant_firm() -> Vec<Record> {
    vec![
        record(
            "administrative_licence",
            "2025-02-26",
            json!({"licence_name": "食品生产许可证", "licence_number": "SC10137030300125",
                   "valid_from": "2025-03-01", "valid_until": "2030-02-28"}),
        ),
        record(
            "annual_report",
            "2026-05-10",
            json!({"report_year": 2025, "status": "operating", "staff": 37, "on_time": true}),
        ),
        record(
            "inspection_result",
            "2026-06-12",
            json!({"task": "2026年食品生产者双随机抽查", "items": ["许可证公示", "进货查验记录"],
                   "inspector_count": 2, "result": "no_issue"}),
        ),
        record("tax_credit_grade", "2026-04-20", json!({"tax_year": 2025, "grade": "A", "score": 95})),
    ]
}

fn serious_listing(day: &str) -> Record {
    record(
        "serious_dishonesty_listing",
        day,
        json!({"grounds": "一年内因同一违法行为受到三次以上较重行政处罚。",
               "basis": "《市场监督管理严重违法失信名单管理办法》第十条", "publicity_months": 36}),
    )
}

fn accident(day: &str, grade: &str, deaths: u32) -> Record {
    record(
        "work_safety_accident",
        day,
        json!({"description": "车间粉尘爆炸。", "grade": grade, "deaths": deaths, "serious_injuries": 2}),
    )
}

fn commendation(day: &str, level: &str) -> Record {
    record("commendation", day, json!({"title": "山东省诚信示范企业", "level": level}))
}

fn count_points(ind: &Indicator) -> usize {
    ind.points.len() + ind.children.iter().map(count_points).sum::<usize>()
}

fn depth(ind: &Indicator) -> usize {
    1 + ind.children.iter().map(depth).max().unwrap_or(0)
}

/// The observation points that counted a record, in file order, with their points.
fn hits(b: &Breakdown) -> Vec<(String, i64)> {
    fn walk(line: &IndicatorLine, out: &mut Vec<(String, i64)>) {
        out.extend(line.points.iter().filter(|p| !p.records.is_empty()).map(|p| (p.id.clone(), p.points)));
        for c in &line.children {
            walk(c, out);
        }
    }
    let mut out = Vec::new();
    for line in &b.indicators {
        walk(line, &mut out);
    }
    out
}

fn class_index(m: &Model, b: &Breakdown) -> usize {
    m.class_index(&b.class).unwrap()
}

const AS_OF: &str = "2026-11-20";

#[test]
fn both_models_parse_and_have_stable_hashes() {
    for (name, text) in [("general", GENERAL), ("food_production", FOOD)] {
        let m = Model::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.domain, name);
        assert_eq!(m.scale, 1000, "{name}: scores run 0–1000 (DOMAIN §1)");
        let hash = Model::hash(text.as_bytes());
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, Model::hash(text.as_bytes()));
        for ind in &m.indicators {
            assert!(depth(ind) <= 3, "{name}: {} goes deeper than three levels", ind.id);
        }
    }
    assert_ne!(Model::hash(GENERAL.as_bytes()), Model::hash(FOOD.as_bytes()));
}

#[test]
fn general_model_has_the_shape_of_domain_section_1() {
    let m = general();
    let names: Vec<&str> = m.indicators.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["企业基础属性", "企业动态", "监管信息", "关联关系", "社会评价"]);
    let points: usize = m.indicators.iter().map(count_points).sum();
    assert!(points >= 30, "general model has {points} observation points, fewer than 30");
    for ind in &m.indicators {
        assert!(count_points(ind) > 0, "{} has no observation point", ind.id);
        assert!(!ind.children.is_empty(), "{} has no second-level indicators", ind.id);
    }
    let labels: Vec<&str> = m.classes.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["A", "B", "C", "D"]);
    for kind in
        ["serious_dishonesty_listing", "work_safety_accident", "environmental_violation", "commendation", "black_list"]
    {
        assert!(m.triggers.contains(kind), "{kind} should re-grade at once (seed 000 第四)");
    }
    let effects: Vec<(&str, &OverrideEffect)> = m.overrides.iter().map(|o| (o.kind.as_str(), &o.effect)).collect();
    assert!(effects.contains(&("serious_dishonesty_listing", &OverrideEffect::Force { class: "D".into() })));
    assert!(effects.contains(&("work_safety_accident", &OverrideEffect::Downgrade { classes: 1 })));
    assert!(effects.contains(&("commendation", &OverrideEffect::LimitUpgrade { classes: 1 })));
}

#[test]
fn food_model_has_five_classes() {
    let m = food();
    let labels: Vec<&str> = m.classes.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["A", "B", "C", "D", "E"]);
    assert_eq!(m.indicators.len(), 5);
    let points: usize = m.indicators.iter().map(count_points).sum();
    assert!(points >= 25, "food model has {points} observation points");
}

#[test]
fn a_firm_without_records_is_in_a_or_b() {
    for m in [general(), food()] {
        let b = m.score(&[], date(AS_OF), None);
        assert_eq!(b.score, m.base);
        assert!(["A", "B"].contains(&b.class.as_str()), "{}: a firm without records is {}", m.id, b.class);
        assert!(b.overrides.is_empty() && b.inputs.is_empty());
    }
}

#[test]
fn a_compliant_firm_is_in_a() {
    for m in [general(), food()] {
        let b = m.score(&log(compliant_firm()), date(AS_OF), None);
        assert_eq!(b.class, "A", "{}: score {}", m.id, b.score);
        assert_eq!(b.inputs, [0, 1, 2, 3], "{}: every record counted", m.id);
    }
}

#[test]
fn a_serious_dishonesty_listing_forces_the_worst_class_until_removed() {
    for (m, worst) in [(general(), "D"), (food(), "E")] {
        let mut records = compliant_firm();
        records.push(serious_listing("2025-09-01"));
        let listed = log(records.clone());
        let b = m.score(&listed, date(AS_OF), Some("A"));
        assert_eq!(b.class, worst, "{}: listed firm with score {} ({})", m.id, b.score, b.score_class);
        assert_ne!(b.score_class, worst, "{}: the override, not the score, puts it there", m.id);
        assert_eq!(b.overrides.len(), 1);
        assert!(b.inputs.contains(&4));

        // Removed early (credit repair, DOMAIN §5) before the as-of date: back to its score class.
        let mut removed = log(records.clone());
        removed[4] = ScoredRecord::new(4, records[4].clone(), Some(date("2026-10-08")));
        let b = m.score(&removed, date(AS_OF), None);
        assert_eq!(b.class, b.score_class, "{}: after removal", m.id);
        assert_eq!(b.class, "A", "{}: after removal", m.id);
        assert!(b.overrides.is_empty(), "{}: {:?}", m.id, b.overrides);
        assert!(!b.inputs.contains(&4), "{}: the removed listing no longer counts", m.id);

        // A removal dated after the as-of date does not help yet.
        let mut later = log(records.clone());
        later[4] = ScoredRecord::new(4, records[4].clone(), Some(date("2026-12-01")));
        assert_eq!(m.score(&later, date(AS_OF), Some("A")).class, worst, "{}", m.id);

        // Past its own publicity period (36 months) the listing stops counting on its own.
        assert_ne!(m.score(&listed, date("2028-09-02"), None).class, worst, "{}", m.id);
    }
    // Re-graded after the removal with the listed decision as the previous one: the general
    // model returns the firm to its score class at once (its bounded upgrade holds only while a
    // national or provincial commendation is in force); the food model lets it climb one class
    // per re-grading.
    let mut records = compliant_firm();
    records.push(serious_listing("2025-09-01"));
    let mut removed = log(records.clone());
    removed[4] = ScoredRecord::new(4, records[4].clone(), Some(date("2026-10-08")));
    assert_eq!(general().score(&removed, date(AS_OF), Some("D")).class, "A");
    let b = food().score(&removed, date(AS_OF), Some("E"));
    assert_eq!((b.score_class.as_str(), b.class.as_str()), ("A", "D"));
    assert_eq!(b.overrides, ["food_upgrade_one_class_at_a_time"]);
}

#[test]
fn a_major_accident_downgrades_at_least_one_class() {
    let m = general();
    for grade in ["major", "especially_serious"] {
        let deaths = if grade == "major" { 10 } else { 30 };
        let records = log(vec![accident("2026-10-30", grade, deaths)]);
        for previous in ["A", "B", "C", "D"] {
            let b = m.score(&records, date(AS_OF), Some(previous));
            let from = m.class_index(previous).unwrap();
            assert!(
                class_index(&m, &b) >= (from + 1).min(m.classes.len() - 1),
                "{grade} accident, previous {previous}: class {} (score {})",
                b.class,
                b.score
            );
        }
        // The score alone says C; the override takes the firm one class further.
        let b = m.score(&records, date(AS_OF), Some("C"));
        assert_eq!((b.score_class.as_str(), b.class.as_str()), ("C", "D"));
        assert_eq!(b.overrides, ["major_accident_downgrade"]);
        // Without a previous decision the downgrade starts from the score's class.
        assert_eq!(m.score(&records, date(AS_OF), None).class, "D");
    }
    // A larger (not major) accident only costs points.
    let b = m.score(&log(vec![accident("2026-10-30", "larger", 3)]), date(AS_OF), Some("C"));
    assert!(b.overrides.is_empty());
    assert_eq!(b.class, b.score_class);
}

#[test]
fn a_provincial_commendation_lifts_at_most_one_class() {
    let m = general();
    let mut records = compliant_firm();
    records.push(commendation("2026-03-15", "provincial"));
    let records = log(records);
    let unbounded = m.score(&records, date(AS_OF), None);
    assert_eq!(unbounded.class, "A");
    assert!(unbounded.overrides.is_empty());
    for (previous, bounded) in [("D", "C"), ("C", "B"), ("B", "A"), ("A", "A")] {
        let b = m.score(&records, date(AS_OF), Some(previous));
        assert_eq!(b.score_class, "A");
        assert_eq!(b.class, bounded, "previous {previous}");
        let from = m.class_index(previous).unwrap();
        assert!(from - class_index(&m, &b) <= 1);
    }
    // A municipal commendation is not bounded by this rule.
    let mut records = compliant_firm();
    records.push(commendation("2026-03-15", "municipal"));
    assert_eq!(m.score(&log(records), date(AS_OF), Some("C")).class, "A");
}

#[test]
fn food_producers_climb_one_class_per_regrading() {
    let m = food();
    let records = log(compliant_firm());
    let mut class = "E".to_owned();
    let mut path = vec![class.clone()];
    while class != "A" {
        class = m.score(&records, date(AS_OF), Some(&class)).class;
        path.push(class.clone());
    }
    assert_eq!(path, ["E", "D", "C", "B", "A"]);
}

#[test]
fn food_licence_revocation_forces_e() {
    let m = food();
    let mut records = compliant_firm();
    records.push(record(
        "administrative_penalty",
        "2026-08-20",
        json!({"violation_type": "生产经营不符合食品安全标准的食品", "violation": "生产微生物指标超标的糕点。",
               "penalties": ["fine", "confiscation_of_illegal_gains", "licence_revoked"],
               "fine_amount_fen": 30_000_000, "confiscated_amount_fen": 5_000_000, "severity": "serious",
               "publicity_months": 36}),
    ));
    let b = m.score(&log(records), date(AS_OF), None);
    assert_eq!(b.class, "E");
    assert_eq!(b.overrides, ["food_licence_revoked_forces_e"]);
}

/// Field conditions of every form reach the records they name: a value, a list of values, a
/// numeric range, a list field containing a value.
#[test]
fn penalty_conditions_match_the_right_points() {
    let m = general();
    let penalty = record(
        "administrative_penalty",
        "2026-11-01",
        json!({"violation_type": "虚假广告", "violation": "在宣传单中使用“国家级”“最佳”用语。",
               "penalties": ["warning", "fine", "licence_suspended"], "fine_amount_fen": 2_000_000,
               "severity": "ordinary", "publicity_months": 12}),
    );
    let records = log(vec![penalty]);
    let b = m.score(&records, date(AS_OF), None);
    assert_eq!(
        hits(&b),
        [
            ("penalty_ordinary".to_owned(), -60),
            ("fine_10k_to_100k".to_owned(), -20),
            ("penalty_business_restricted".to_owned(), -60),
        ]
    );
    assert_eq!(b.score, 790 - 140);
    assert_eq!(b.class, "C");
    // Re-parsing the same payload and replaying gives the identical breakdown (invariant 4).
    let replayed = Record::parse(&records[0].record.to_json_bytes()).unwrap();
    assert_eq!(m.score(&log(vec![replayed]), date(AS_OF), None), b);
}
