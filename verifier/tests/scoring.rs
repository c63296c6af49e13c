//! Known-answer scoring: hand-computed cases kept as data files (`testdata/scoring/`), covering
//! every condition operator, max_count, caps, effect periods, repairs, every override and the
//! five-class variant. Replaying a case twice gives the identical breakdown.

use serde::Deserialize;
use verifier::date::Date;
use verifier::model::{Model, ScoredRecord};
use verifier::record::Record;

#[derive(Deserialize)]
struct Cases {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    model: String,
    as_of: String,
    #[serde(default)]
    previous: Option<String>,
    records: Vec<Input>,
    expect: Expect,
}

#[derive(Deserialize)]
struct Input {
    index: u64,
    record: serde_json::Value,
    #[serde(default)]
    stopped: Option<String>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Expect {
    score: i64,
    score_class: String,
    class: String,
    overrides: Vec<String>,
    inputs: Vec<u64>,
}

fn model(name: &str) -> (Model, String) {
    let text = match name {
        "kat-four.toml" => include_str!("../../testdata/scoring/kat-four.toml"),
        "kat-five.toml" => include_str!("../../testdata/scoring/kat-five.toml"),
        other => panic!("unknown model {other}"),
    };
    (Model::parse(text).unwrap_or_else(|e| panic!("{name}: {e}")), Model::hash(text.as_bytes()))
}

#[test]
fn invariant_4_scoring_is_deterministic_hand_computed_cases() {
    let cases: Cases = serde_json::from_str(include_str!("../../testdata/scoring/cases.json")).unwrap();
    assert!(cases.cases.len() >= 15);
    for case in cases.cases {
        let (m, _) = model(&case.model);
        let records: Vec<ScoredRecord> = case
            .records
            .iter()
            .map(|i| {
                let record = Record::parse(&serde_json::to_vec(&i.record).unwrap())
                    .unwrap_or_else(|e| panic!("{}: {e}", case.name));
                ScoredRecord::new(i.index, record, i.stopped.as_deref().map(|d| Date::parse(d).unwrap()))
            })
            .collect();
        let as_of = Date::parse(&case.as_of).unwrap();
        let b = m.score(&records, as_of, case.previous.as_deref());
        let got = Expect {
            score: b.score,
            score_class: b.score_class.clone(),
            class: b.class.clone(),
            overrides: b.overrides.clone(),
            inputs: b.inputs.clone(),
        };
        assert_eq!(got, case.expect, "case {:?}", case.name);
        assert_eq!(m.score(&records, as_of, case.previous.as_deref()), b, "replay of {:?} differs", case.name);
    }
}

#[test]
fn model_hash_is_of_the_exact_bytes() {
    let (_, h) = model("kat-four.toml");
    assert_eq!(h.len(), 64);
    let text = include_str!("../../testdata/scoring/kat-four.toml");
    assert_ne!(Model::hash(format!("{text}\n").as_bytes()), h, "one more byte is another model");
}

#[test]
fn model_errors_name_the_path() {
    let text = include_str!("../../testdata/scoring/kat-four.toml");
    for (from, to, path) in [
        ("kind = \"inspection_result\"", "kind = \"inspection\"", "indicators[0].points[0].kind"),
        (
            "match = { result = \"no_issue\" }",
            "match = { outcome = \"no_issue\" }",
            "indicators[0].points[0].match.outcome",
        ),
        ("min = 40\n", "min = 90\n", "classes[2].min"),
        ("class = \"D\"", "class = \"Z\"", "overrides[0].class"),
        ("id = \"complaint\"", "id = \"penalty_minor\"", "indicators[1].points[1].id"),
    ] {
        assert!(text.contains(from), "{from}");
        let bad = text.replacen(from, to, 1);
        let e = Model::parse(&bad).unwrap_err();
        assert_eq!(e.path, path, "{e}");
    }
    let e = Model::parse("id = 3").unwrap_err();
    assert!(!e.rule.is_empty());
}
