use super::*;
use crate::authority::PriorEntry;
use crate::record::RecordKind;

const FIRM: &str = "91370303MA3C8DXA25";

fn day(d: &str) -> Date {
    Date::parse(d).unwrap()
}

fn record(kind: &str, dept: &str, date: &str, reference: &str, fields: serde_json::Value) -> Record {
    let r = serde_json::json!({"type": crate::record::RECORD_FORMAT, "kind": kind, "subject": FIRM,
        "department": dept, "date": date, "reference": reference, "fields": fields});
    Record::parse(r.to_string().as_bytes()).unwrap()
}

fn penalty(date: &str, severity: &str, n: u32) -> Record {
    record(
        "administrative_penalty",
        "zibo-amr",
        date,
        &format!("罚{n}"),
        serde_json::json!({"violation_type": "虚假广告", "violation": "发布虚假广告", "penalties": ["warning"],
            "fine_amount_fen": 0, "severity": severity, "publicity_months": 3}),
    )
}

fn complaint(date: &str, substantiated: bool, n: u32) -> Record {
    record(
        "verified_complaint",
        "zibo-12345",
        date,
        &format!("诉{n}"),
        serde_json::json!({"channel": "12345", "complaint_type": "食品安全", "substantiated": substantiated}),
    )
}

fn outcome(date: &str, kept: bool) -> Record {
    record(
        "commitment_outcome",
        "zibo-drc",
        date,
        "承诺1",
        serde_json::json!({"commitment_reference": "承诺〔2026〕1号", "kept": kept}),
    )
}

fn retraction(target: u64) -> Record {
    record(
        "retraction",
        "zibo-amr",
        "2026-11-20",
        &format!("撤{target}"),
        serde_json::json!({"target_index": target, "ground": "error", "reason": "录入错误"}),
    )
}

fn decision(model: &str, class: &str, as_of: &str) -> Decision {
    let d = serde_json::json!({"type": "creditlog.decision/v1", "subject": FIRM, "model": model, "model_index": 1,
        "as_of": as_of, "trigger": "scheduled", "records": [], "stopped": {},
        "breakdown": {"as_of": as_of, "base": 0, "indicators": [], "score": 0, "score_class": class,
                      "overrides": [], "class": class, "inputs": []}});
    serde_json::from_value(d).unwrap()
}

fn domain(h: &str) -> Option<String> {
    match h {
        "food" => Some("food_production".into()),
        "drug" => Some("drugs".into()),
        "general" => Some("general".into()),
        _ => None,
    }
}

fn fires(rule: WarningRule, records: &[(u64, Record)], decisions: &[(u64, Decision)], as_of: &str) -> Option<Vec<u64>> {
    evaluate(rule, &WarningRules::shipped(), day(as_of), FirmEntries { records, decisions }, &domain)
}

#[test]
fn repeated_minor_violations_fire_at_three_in_ninety_days_and_not_otherwise() {
    let r = |d: &str, s: &str, n: u32| (u64::from(n), penalty(d, s, n));
    let two = [r("2026-09-01", "minor", 1), r("2026-10-01", "minor", 2)];
    assert_eq!(fires(WarningRule::RepeatedMinor, &two, &[], "2026-11-01"), None);
    let three = [r("2026-09-01", "minor", 1), r("2026-10-01", "minor", 2), r("2026-11-01", "minor", 3)];
    assert_eq!(fires(WarningRule::RepeatedMinor, &three, &[], "2026-11-01"), Some(vec![1, 2, 3]));
    // Spread over more than 90 days; an ordinary one does not count; a retracted one neither.
    let spread = [r("2026-07-01", "minor", 1), r("2026-10-01", "minor", 2), r("2026-11-01", "minor", 3)];
    assert_eq!(fires(WarningRule::RepeatedMinor, &spread, &[], "2026-11-01"), None);
    let ordinary = [r("2026-09-01", "ordinary", 1), r("2026-10-01", "minor", 2), r("2026-11-01", "minor", 3)];
    assert_eq!(fires(WarningRule::RepeatedMinor, &ordinary, &[], "2026-11-01"), None);
    let mut retracted = three.to_vec();
    retracted.push((4, retraction(2)));
    assert_eq!(fires(WarningRule::RepeatedMinor, &retracted, &[], "2026-11-01"), None);
}

#[test]
fn a_complaint_surge_counts_substantiated_complaints_within_thirty_days() {
    let c = |d: &str, s: bool, n: u32| (u64::from(n), complaint(d, s, n));
    let surge = [c("2026-11-01", true, 1), c("2026-11-10", true, 2), c("2026-11-20", true, 3)];
    assert_eq!(fires(WarningRule::ComplaintSurge, &surge, &[], "2026-11-25"), Some(vec![1, 2, 3]));
    let one_unfounded = [c("2026-11-01", true, 1), c("2026-11-10", false, 2), c("2026-11-20", true, 3)];
    assert_eq!(fires(WarningRule::ComplaintSurge, &one_unfounded, &[], "2026-11-25"), None);
    assert_eq!(fires(WarningRule::ComplaintSurge, &surge, &[], "2026-12-15"), None, "the first left the window");
}

#[test]
fn a_broken_commitment_fires_and_a_kept_one_does_not() {
    assert_eq!(
        fires(WarningRule::BrokenCommitment, &[(5, outcome("2026-11-01", false))], &[], "2026-11-02"),
        Some(vec![5])
    );
    assert_eq!(fires(WarningRule::BrokenCommitment, &[(5, outcome("2026-11-01", true))], &[], "2026-11-02"), None);
}

#[test]
fn two_specialised_models_rating_c_or_worse_fire_and_the_general_model_does_not_count() {
    let d = |i: u64, m: &str, c: &str| (i, decision(m, c, "2026-11-01"));
    assert_eq!(
        fires(WarningRule::HighRiskModels, &[], &[d(1, "food", "C"), d(2, "drug", "D")], "2026-11-02"),
        Some(vec![1, 2])
    );
    assert_eq!(fires(WarningRule::HighRiskModels, &[], &[d(1, "food", "C"), d(2, "general", "D")], "2026-11-02"), None);
    // The newest decision of each model decides: the food model since rated B.
    let later = [d(1, "food", "C"), d(2, "drug", "D"), d(3, "food", "B")];
    assert_eq!(fires(WarningRule::HighRiskModels, &[], &later, "2026-11-02"), None);
}

struct Log {
    records: Vec<(u64, Record)>,
    warnings: BTreeMap<u64, Warning>,
    acks: Vec<(u64, u64, String)>,
}

impl History for Log {
    fn prior(&self, _: u64) -> Option<PriorEntry> {
        None
    }
    fn live_record(&self, _: &str, _: &str, _: RecordKind, _: &str) -> Option<u64> {
        None
    }
    fn records_of_kind(&self, _: &str, _: RecordKind) -> Vec<(u64, Record)> {
        Vec::new()
    }
    fn model_published(&self, _: &str) -> bool {
        false
    }
    fn objection_steps(&self, _: u64) -> Vec<(u64, crate::objection::Step)> {
        Vec::new()
    }
    fn repair_steps(&self, _: u64) -> Vec<(u64, crate::repair::Step)> {
        Vec::new()
    }
    fn firm_records(&self, _: &str) -> Vec<(u64, Record)> {
        self.records.clone()
    }
    fn firm_decisions(&self, _: &str) -> Vec<(u64, Decision)> {
        Vec::new()
    }
    fn firm_entries(&self, _: &str) -> Vec<(u64, PriorEntry)> {
        Vec::new()
    }
    fn warning(&self, index: u64) -> Option<Warning> {
        self.warnings.get(&index).cloned()
    }
    fn warning_acks(&self, index: u64) -> Vec<(u64, String)> {
        self.acks.iter().filter(|(_, w, _)| *w == index).map(|(i, _, d)| (*i, d.clone())).collect()
    }
}

fn grader() -> Principal {
    Principal::Role(Role::Grader, "grader".into())
}

fn warning(basis: &[u64], departments: &[&str]) -> Warning {
    Warning {
        kind: WARNING_FORMAT.into(),
        subject: FIRM.into(),
        rule: WarningRule::RepeatedMinor,
        basis: basis.to_vec(),
        departments: departments.iter().map(|d| (*d).to_owned()).collect(),
        date: day("2026-11-02"),
    }
}

#[test]
fn a_warning_is_the_graders_on_exactly_its_basis_routed_to_exactly_the_departments_concerned() {
    let log = Log {
        records: vec![
            (1, penalty("2026-09-01", "minor", 1)),
            (2, penalty("2026-10-01", "minor", 2)),
            (3, penalty("2026-11-01", "minor", 3)),
            (4, complaint("2026-11-01", true, 4)),
        ],
        warnings: BTreeMap::new(),
        acks: Vec::new(),
    };
    let book = KeyBook::default();
    let judge = |by: &Principal, w: &Warning| check_warning(by, w, &book, &log).map_err(|r| r.rule);
    assert_eq!(judge(&grader(), &warning(&[1, 2, 3], &["zibo-amr"])), Ok(()));
    assert_eq!(
        judge(&Principal::Department("zibo-amr".into()), &warning(&[1, 2, 3], &["zibo-amr"])),
        Err(Rule::WarningByGrader)
    );
    assert_eq!(
        judge(&grader(), &warning(&[1, 2], &["zibo-amr"])),
        Err(Rule::WarningBasis),
        "a basis short of the rule"
    );
    assert_eq!(
        judge(&grader(), &warning(&[1, 2, 3], &["zibo-amr", "zibo-tax"])),
        Err(Rule::WarningBasis),
        "routed too widely"
    );
    assert_eq!(judge(&grader(), &warning(&[1, 2, 3], &[])), Err(Rule::WarningBasis), "routed to nobody");
    let mut early = warning(&[1, 2, 3], &["zibo-amr"]);
    early.date = day("2026-10-15");
    assert_eq!(judge(&grader(), &early), Err(Rule::WarningBasis), "the rule did not hold yet");
}

#[test]
fn only_a_routed_department_acknowledges_once() {
    let mut log =
        Log { records: Vec::new(), warnings: [(10, warning(&[1, 2, 3], &["zibo-amr"]))].into(), acks: Vec::new() };
    let ack = |dept: &str| Acknowledgement {
        kind: ACK_FORMAT.into(),
        subject: FIRM.into(),
        warning_index: 10,
        department: dept.into(),
        action: "已约谈".into(),
        date: day("2026-11-03"),
    };
    let judge = |by: &str, a: &Acknowledgement, log: &Log| {
        check_ack(&Principal::Department(by.into()), a, 12, log).map_err(|r| r.rule)
    };
    assert_eq!(judge("zibo-amr", &ack("zibo-amr"), &log), Ok(()));
    assert_eq!(judge("zibo-tax", &ack("zibo-tax"), &log), Err(Rule::WarningRouted), "not routed to it");
    assert_eq!(judge("zibo-tax", &ack("zibo-amr"), &log), Err(Rule::WarningRouted), "in another's name");
    let mut not_a_warning = ack("zibo-amr");
    not_a_warning.warning_index = 9;
    assert_eq!(judge("zibo-amr", &not_a_warning, &log), Err(Rule::WarningRouted));
    log.acks.push((11, 10, "zibo-amr".into()));
    assert_eq!(judge("zibo-amr", &ack("zibo-amr"), &log), Err(Rule::WarningRouted), "twice");
}

#[test]
fn the_shipped_rules_parse_and_bad_ones_are_refused() {
    let r = WarningRules::shipped();
    assert_eq!((r.repeated_minor.min, r.repeated_minor.days), (3, 90));
    assert!(WarningRules::parse(&RULES.replacen("min = 3", "min = 1", 1)).is_err());
    assert!(WarningRules::parse(&RULES.replace("min_models = 2", "min_models = 1")).is_err());
}
