//! Department records (`verifier::record`): a valid example of every kind round-trips through
//! the JSON payload and through flat CSV cells, and every class of bad input is rejected with
//! the field that is wrong.

use serde_json::{json, Value};
use verifier::record::{
    AdministrativePenalty, PenaltyType, Severity, COMMON_COLUMNS, DEPARTMENT_CODE_RULE, MAX_FEN, RECORD_FORMAT,
};
use verifier::{csv_columns, Date, Record, RecordError, RecordFields, RecordKind, Uscc};

const SUBJECT: &str = "91370303MA3C8DXA25";

/// A valid payload of `kind`. The match has no wildcard, so a new kind needs an example here.
fn example(kind: RecordKind) -> Value {
    let (department, date, reference, fields) = match kind {
        RecordKind::AdministrativeLicence => (
            "zibo-amr",
            "2026-02-26",
            "淄张市监许〔2026〕215号",
            json!({"licence_name": "食品经营许可证", "licence_number": "JY13703030012345",
                   "valid_from": "2026-03-01", "valid_until": "2031-02-28", "scope": "预包装食品销售（含冷藏冷冻食品）"}),
        ),
        RecordKind::AdministrativePenalty => (
            "zibo-amr",
            "2026-11-20",
            "淄张市监罚〔2026〕118号",
            json!({"violation_type": "虚假广告", "violation": "在宣传单中使用“国家级”“最佳”用语。",
                   "penalties": ["warning", "fine"], "fine_amount_fen": 2_000_000, "severity": "ordinary",
                   "publicity_months": 36, "legal_basis": "《中华人民共和国广告法》第五十七条"}),
        ),
        RecordKind::InspectionResult => (
            "zibo-amr",
            "2026-06-12",
            "淄张市监查〔2026〕044号",
            json!({"task": "2026年食品经营者双随机抽查", "items": ["许可证公示", "进货查验记录"],
                   "inspector_count": 2, "draw_index": 1042, "result": "corrected",
                   "findings": "进货查验记录不全，已当场责令改正。"}),
        ),
        RecordKind::AnnualReport => (
            "zibo-amr",
            "2026-05-10",
            "2025年度报告",
            json!({"report_year": 2025, "status": "operating", "staff": 37, "assets_fen": 1_250_000_000,
                   "revenue_fen": 3_400_000_000_u64, "tax_fen": 98_000_000, "on_time": true}),
        ),
        RecordKind::AbnormalOperationsListing => (
            "zibo-amr",
            "2025-08-01",
            "淄张市监异列〔2025〕12号",
            json!({"reason": "unreachable_at_address", "basis": "经实地核查，通过登记的住所无法联系。"}),
        ),
        RecordKind::AbnormalOperationsRemoval => (
            "zibo-amr",
            "2026-01-15",
            "淄张市监异移〔2026〕3号",
            json!({"listing_date": "2025-08-01", "listing_index": 77, "ground": "cause_cured"}),
        ),
        RecordKind::SeriousDishonestyListing => (
            "zibo-amr",
            "2026-09-01",
            "淄市监严列〔2026〕5号",
            json!({"grounds": "一年内因同一违法行为受到三次以上较重行政处罚。",
                   "basis": "《市场监督管理严重违法失信名单管理办法》第十条", "publicity_months": 36,
                   "penalty_reference": "淄市监罚〔2026〕9号"}),
        ),
        RecordKind::SeriousDishonestyRemoval => (
            "zibo-amr",
            "2026-10-08",
            "淄市监严移〔2026〕2号",
            json!({"listing_date": "2024-11-20", "ground": "credit_repaired"}),
        ),
        RecordKind::RedList => (
            "zibo-amr",
            "2026-12-01",
            "鲁市监信〔2026〕30号",
            json!({"list": "守合同重信用企业", "basis": "山东省守合同重信用企业公示办法", "valid_until": "2028-11-30"}),
        ),
        RecordKind::BlackList => (
            "zibo-hrss",
            "2026-07-03",
            "淄人社黑〔2026〕7号",
            json!({"list": "拖欠农民工工资失信联合惩戒对象", "basis": "拒不支付劳动报酬，经责令仍不支付。",
                   "valid_until": "2029-07-02"}),
        ),
        RecordKind::Commendation => (
            "zibo-gov",
            "2026-03-15",
            "鲁政发〔2026〕4号",
            json!({"title": "山东省诚信示范企业", "level": "provincial"}),
        ),
        RecordKind::CreditCommitment => (
            "zibo-approval",
            "2026-04-01",
            "淄张审批承诺〔2026〕31号",
            json!({"commitment_type": "notice_and_commitment",
                   "content": "承诺符合食品经营许可条件，并于三个月内补交场所平面图。", "due": "2026-07-01"}),
        ),
        RecordKind::CommitmentOutcome => (
            "zibo-approval",
            "2026-07-10",
            "淄张审批核〔2026〕31号",
            json!({"commitment_reference": "淄张审批承诺〔2026〕31号", "commitment_index": 501, "kept": false,
                   "details": "逾期未补交材料。"}),
        ),
        RecordKind::VerifiedComplaint => (
            "zibo-amr",
            "2026-08-19",
            "12315-2026-0012345",
            json!({"channel": "12315", "complaint_type": "食品安全", "substantiated": true,
                   "details": "销售过期食品，经现场核实属实。"}),
        ),
        RecordKind::Judgment => (
            "zhangdian-court",
            "2026-05-28",
            "（2026）鲁0303执123号",
            json!({"stage": "enforcement", "obligation": "支付货款及利息", "amount_fen": 15_000_000, "performed": false}),
        ),
        RecordKind::TaxCreditGrade => {
            ("zibo-tax", "2026-04-20", "2025年度纳税信用评价", json!({"tax_year": 2025, "grade": "B", "score": 82}))
        }
        RecordKind::SocialSecurityArrears => (
            "zibo-hrss",
            "2026-08-01",
            "淄人社欠〔2026〕19号",
            json!({"period_from": "2026-01-01", "period_until": "2026-06-30", "amount_fen": 8_640_000,
                   "employees_affected": 12, "settled": false}),
        ),
        RecordKind::EnvironmentalViolation => (
            "zibo-eeb",
            "2026-09-09",
            "淄环罚〔2026〕56号",
            json!({"violation": "超标排放化学需氧量。", "severity": "serious", "rectified": false}),
        ),
        RecordKind::WorkSafetyAccident => (
            "zibo-ema",
            "2026-10-30",
            "淄应急调〔2026〕2号",
            json!({"description": "车间粉尘爆炸。", "grade": "larger", "deaths": 3, "serious_injuries": 2,
                   "direct_loss_fen": 120_000_000}),
        ),
        RecordKind::Retraction => (
            "zibo-amr",
            "2026-12-05",
            "淄张市监更〔2026〕1号",
            json!({"target_index": 1042, "ground": "objection_upheld", "reason": "抽查对象登记错误，异议成立。"}),
        ),
    };
    json!({"type": RECORD_FORMAT, "kind": kind.as_str(), "subject": SUBJECT, "department": department,
           "date": date, "reference": reference, "fields": fields})
}

fn parse(value: &Value) -> Result<Record, RecordError> {
    Record::parse(&serde_json::to_vec(value).unwrap())
}

/// Changes the example of `kind` with `edit`, and asserts it is rejected at `field` with a
/// rule containing `rule`.
fn rejects(kind: RecordKind, edit: impl FnOnce(&mut Value), field: &str, rule: &str) {
    let mut value = example(kind);
    edit(&mut value);
    let err = parse(&value).expect_err(&format!("{value} should be rejected"));
    assert_eq!(err.field, field, "{err}");
    assert!(err.rule.contains(rule), "rule {:?} should contain {rule:?}", err.rule);
    assert_eq!(err.to_string(), if field.is_empty() { err.rule.clone() } else { format!("{field}: {}", err.rule) });
}

fn penalty(edit: impl FnOnce(&mut Value), field: &str, rule: &str) {
    rejects(RecordKind::AdministrativePenalty, edit, field, rule)
}

fn fields(value: &mut Value) -> &mut serde_json::Map<String, Value> {
    value["fields"].as_object_mut().unwrap()
}

#[test]
fn every_kind_round_trips() {
    for &kind in RecordKind::ALL {
        let value = example(kind);
        let record = parse(&value).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(record.kind(), kind);
        assert_eq!(record.fields().kind(), kind);
        assert_eq!(record.subject().as_str(), SUBJECT);
        let bytes = record.to_json_bytes();
        assert_eq!(Record::parse(&bytes).as_ref(), Ok(&record), "{kind}");
        // The output is the same JSON value as the input (absent fields stay absent) ...
        assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), value, "{kind}");
        // ... and deterministic: the same record always gives the same bytes.
        assert_eq!(Record::parse(&bytes).unwrap().to_json_bytes(), bytes, "{kind}");
    }
}

#[test]
fn to_json_bytes_is_compact_and_ordered() {
    let record = parse(&example(RecordKind::AdministrativePenalty)).unwrap();
    let expected = concat!(
        r#"{"type":"creditlog.record/v1","kind":"administrative_penalty","subject":"91370303MA3C8DXA25","#,
        r#""department":"zibo-amr","date":"2026-11-20","reference":"淄张市监罚〔2026〕118号","#,
        r#""fields":{"violation_type":"虚假广告","violation":"在宣传单中使用“国家级”“最佳”用语。","#,
        r#""penalties":["warning","fine"],"fine_amount_fen":2000000,"severity":"ordinary","publicity_months":36,"#,
        r#""legal_basis":"《中华人民共和国广告法》第五十七条"}}"#
    );
    assert_eq!(String::from_utf8(record.to_json_bytes()).unwrap(), expected);
    // Key order in the input does not matter, nor whitespace.
    let shuffled = r#"{ "fields": {"legal_basis":"《中华人民共和国广告法》第五十七条","publicity_months":36,
        "severity":"ordinary","fine_amount_fen":2000000,"penalties":["warning","fine"],
        "violation":"在宣传单中使用“国家级”“最佳”用语。","violation_type":"虚假广告"},
        "reference":"淄张市监罚〔2026〕118号","date":"2026-11-20","department":"zibo-amr",
        "subject":"91370303MA3C8DXA25","kind":"administrative_penalty","type":"creditlog.record/v1" }"#;
    assert_eq!(Record::parse(shuffled.as_bytes()), Ok(record));
}

#[test]
fn typed_access() {
    let record = parse(&example(RecordKind::AdministrativePenalty)).unwrap();
    assert_eq!(record.department(), "zibo-amr");
    assert_eq!(record.date(), Date::parse("2026-11-20").unwrap());
    assert_eq!(record.reference(), "淄张市监罚〔2026〕118号");
    let RecordFields::AdministrativePenalty(f) = record.fields() else { panic!("not a penalty") };
    assert_eq!(f.fine_amount_fen, 2_000_000);
    assert_eq!(f.penalties, [PenaltyType::Warning, PenaltyType::Fine]);
    assert_eq!(f.severity, Severity::Ordinary);
    assert_eq!(f.confiscated_amount_fen, None);
}

#[test]
fn new_builds_the_same_record_and_validates() {
    let fields = AdministrativePenalty {
        violation_type: "虚假广告".into(),
        violation: "在宣传单中使用“国家级”“最佳”用语。".into(),
        penalties: vec![PenaltyType::Warning, PenaltyType::Fine],
        fine_amount_fen: 2_000_000,
        confiscated_amount_fen: None,
        severity: Severity::Ordinary,
        publicity_months: 36,
        legal_basis: Some("《中华人民共和国广告法》第五十七条".into()),
    };
    let subject = Uscc::parse(SUBJECT).unwrap();
    let date = Date::parse("2026-11-20").unwrap();
    let record = Record::new(
        subject.clone(),
        "zibo-amr",
        date,
        "淄张市监罚〔2026〕118号",
        RecordFields::AdministrativePenalty(fields.clone()),
    )
    .unwrap();
    assert_eq!(Ok(record), parse(&example(RecordKind::AdministrativePenalty)));

    let long = AdministrativePenalty { violation: "违".repeat(501), ..fields.clone() };
    let err =
        Record::new(subject.clone(), "zibo-amr", date, "R1", RecordFields::AdministrativePenalty(long)).unwrap_err();
    assert_eq!(err.field, "fields.violation");
    let too_much = AdministrativePenalty { fine_amount_fen: MAX_FEN + 1, ..fields.clone() };
    let err = Record::new(subject.clone(), "zibo-amr", date, "R1", RecordFields::AdministrativePenalty(too_much))
        .unwrap_err();
    assert_eq!(err.field, "fields.fine_amount_fen");
    let err = Record::new(subject, "Zibo AMR", date, "R1", RecordFields::AdministrativePenalty(fields)).unwrap_err();
    assert_eq!(err.field, "department");
}

#[test]
fn rejects_a_bad_subject() {
    // The example in the original brief: its check character should be '5'.
    penalty(
        |v| v["subject"] = json!("91370303MA3C8DXA2K"),
        "subject",
        "the check character (position 18) should be '5' for the first 17 characters, not 'K'",
    );
    penalty(|v| v["subject"] = json!("91370303ma3c8dxa25"), "subject", "lower-case 'm'");
    penalty(|v| v["subject"] = json!("9137030"), "subject", "has 18 characters; this one has 7");
    penalty(|v| v["subject"] = json!(91370303), "subject", "expected text, found the number 91370303");
}

#[test]
fn rejects_an_unknown_kind() {
    let err = parse(&json!({"type": RECORD_FORMAT, "kind": "penalty", "subject": SUBJECT, "department": "zibo-amr",
                            "date": "2026-11-20", "reference": "R1", "fields": {}}))
    .unwrap_err();
    assert_eq!(err.field, "kind");
    assert!(
        err.rule.starts_with("unknown record kind \"penalty\"; known record kinds: administrative_licence, "),
        "{err}"
    );
    assert!(err.rule.contains("retraction"), "{err}");
}

#[test]
fn rejects_a_wrong_type_tag() {
    penalty(|v| v["type"] = json!("creditlog.record/v2"), "type", "must be \"creditlog.record/v1\"");
    penalty(|v| v.as_object_mut().unwrap().remove("type").map(drop).unwrap(), "type", "missing");
}

#[test]
fn rejects_missing_fields() {
    for top in ["kind", "subject", "department", "date", "reference", "fields"] {
        penalty(|v| v.as_object_mut().unwrap().remove(top).map(drop).unwrap(), top, "missing");
    }
    penalty(|v| fields(v).remove("fine_amount_fen").map(drop).unwrap(), "fields.fine_amount_fen", "missing");
    penalty(|v| v["fields"]["severity"] = Value::Null, "fields.severity", "missing");
    rejects(
        RecordKind::Retraction,
        |v| fields(v).remove("target_index").map(drop).unwrap(),
        "fields.target_index",
        "missing; a retraction record requires it",
    );
    // An optional field may be absent or null.
    let mut value = example(RecordKind::AdministrativePenalty);
    fields(&mut value).remove("legal_basis");
    assert!(parse(&value).is_ok());
    value["fields"]["legal_basis"] = Value::Null;
    assert!(parse(&value).is_ok());
}

#[test]
fn rejects_wrong_types() {
    penalty(
        |v| v["fields"]["fine_amount_fen"] = json!("2000000"),
        "fields.fine_amount_fen",
        "not the text \"2000000\"",
    );
    penalty(|v| v["fields"]["violation"] = json!(7), "fields.violation", "expected text, found the number 7");
    penalty(|v| v["fields"]["penalties"] = json!("fine"), "fields.penalties", "expected a list of penalty types");
    penalty(|v| v["fields"]["penalties"][1] = json!(3), "fields.penalties[1]", "expected a penalty type");
    penalty(|v| v["fields"] = json!(["a"]), "fields", "expected an object, found a list");
    penalty(|v| v["date"] = json!(20261120), "date", "expected text");
    rejects(RecordKind::AnnualReport, |v| v["fields"]["on_time"] = json!("true"), "fields.on_time", "true or false");
    rejects(RecordKind::InspectionResult, |v| v["fields"]["items"][1] = json!({}), "fields.items[1]", "expected text");
    let err = Record::parse(b"[1, 2]").unwrap_err();
    assert_eq!((err.field.as_str(), err.rule.as_str()), ("", "a record is a JSON object, not a list"));
}

#[test]
fn rejects_unknown_fields() {
    penalty(|v| v["colour"] = json!("red"), "colour", "unknown field; a record has the fields type, kind,");
    penalty(
        |v| v["fields"]["colour"] = json!("red"),
        "fields.colour",
        "unknown field; a administrative_penalty record",
    );
}

#[test]
fn rejects_unknown_closed_list_values() {
    penalty(
        |v| v["fields"]["severity"] = json!("huge"),
        "fields.severity",
        "unknown severity \"huge\"; known severities: minor, ordinary, serious",
    );
    penalty(|v| v["fields"]["severity"] = json!("Ordinary"), "fields.severity", "unknown severity");
    penalty(|v| v["fields"]["penalties"] = json!(["fine", "fine"]), "fields.penalties[1]", "listed twice");
    penalty(|v| v["fields"]["penalties"] = json!([]), "fields.penalties", "a list of 1 to 12 penalty types");
    rejects(
        RecordKind::TaxCreditGrade,
        |v| v["fields"]["grade"] = json!("a"),
        "fields.grade",
        "unknown tax credit grade",
    );
}

#[test]
fn rejects_bad_dates() {
    penalty(|v| v["date"] = json!("2026-02-30"), "date", "2026-02-30: February 2026 has 28 days");
    penalty(|v| v["date"] = json!("2026/11/20"), "date", "not a date of the form YYYY-MM-DD");
    rejects(
        RecordKind::AdministrativeLicence,
        |v| v["fields"]["valid_until"] = json!("2031-02-29"),
        "fields.valid_until",
        "February 2031 has 28 days",
    );
}

#[test]
fn rejects_bad_amounts() {
    let rule = "an amount in fen: a whole number from 0 to 10^15";
    penalty(
        |v| v["fields"]["fine_amount_fen"] = json!(-5),
        "fields.fine_amount_fen",
        &format!("{rule}, not the number -5"),
    );
    penalty(
        |v| v["fields"]["fine_amount_fen"] = json!(1.5),
        "fields.fine_amount_fen",
        &format!("{rule}, not the number 1.5"),
    );
    penalty(|v| v["fields"]["fine_amount_fen"] = json!(MAX_FEN + 1), "fields.fine_amount_fen", rule);
    // 2.0 and 2e6 are JSON numbers with a fraction or exponent, not whole numbers.
    for text in ["2.0", "2e6", "-0", "1e400"] {
        let bytes = serde_json::to_string(&example(RecordKind::AdministrativePenalty))
            .unwrap()
            .replace("\"fine_amount_fen\":2000000", &format!("\"fine_amount_fen\":{text}"));
        let err = Record::parse(bytes.as_bytes()).unwrap_err();
        // 1e400 is out of range for any JSON number reader: a syntax error for the payload.
        let field = if text == "1e400" { "" } else { "fields.fine_amount_fen" };
        assert_eq!(err.field, field, "{text}: {err}");
    }
    // The largest amount is accepted.
    let mut value = example(RecordKind::Judgment);
    value["fields"]["amount_fen"] = json!(MAX_FEN);
    assert!(parse(&value).is_ok());
    rejects(RecordKind::Judgment, |v| v["fields"]["amount_fen"] = json!(-1), "fields.amount_fen", rule);
    rejects(RecordKind::AnnualReport, |v| v["fields"]["staff"] = json!(-1), "fields.staff", "a whole number from 0 to");
    penalty(
        |v| v["fields"]["publicity_months"] = json!(121),
        "fields.publicity_months",
        "from 0 to 120, not the number 121",
    );
}

#[test]
fn rejects_bad_text() {
    penalty(
        |v| v["fields"]["violation"] = json!("违".repeat(501)),
        "fields.violation",
        "at most 500 characters; this one has 501",
    );
    let mut value = example(RecordKind::AdministrativePenalty);
    value["fields"]["violation"] = json!("违".repeat(500));
    assert!(parse(&value).is_ok(), "500 characters are allowed");
    penalty(|v| v["reference"] = json!("号".repeat(101)), "reference", "at most 100 characters");
    penalty(|v| v["fields"]["violation_type"] = json!("   "), "fields.violation_type", "not empty or blank");
    penalty(|v| v["fields"]["violation_type"] = json!(""), "fields.violation_type", "not empty or blank");
    penalty(
        |v| v["fields"]["violation_type"] = json!("虚假\n广告"),
        "fields.violation_type",
        "control character U+000A",
    );
    penalty(|v| v["fields"]["violation"] = json!("虚假\u{202E}广告"), "fields.violation", "control character U+202E");
    rejects(
        RecordKind::InspectionResult,
        |v| v["fields"]["items"][0] = json!("项".repeat(201)),
        "fields.items[0]",
        "at most 200 characters",
    );
    penalty(|v| v["department"] = json!("Zibo AMR"), "department", DEPARTMENT_CODE_RULE);
}

#[test]
fn rejects_fields_of_another_kind() {
    // An inspection result's fields under the penalty kind: the kind is what is wrong.
    penalty(
        |v| v["fields"] = example(RecordKind::InspectionResult)["fields"].clone(),
        "kind",
        "kind is \"administrative_penalty\", but the fields are those of \"inspection_result\"",
    );
    rejects(
        RecordKind::Judgment,
        |v| v["fields"] = example(RecordKind::TaxCreditGrade)["fields"].clone(),
        "kind",
        "those of \"tax_credit_grade\"",
    );
    // Fields that fit no kind are reported field by field.
    penalty(|v| v["fields"] = json!({"violation_type": "x"}), "fields.violation", "missing");
}

#[test]
fn rejects_duplicate_keys_and_bad_json() {
    let bytes = serde_json::to_string(&example(RecordKind::AdministrativePenalty))
        .unwrap()
        .replace("\"fine_amount_fen\":2000000", "\"fine_amount_fen\":2000000,\"fine_amount_fen\":1");
    let err = Record::parse(bytes.as_bytes()).unwrap_err();
    assert_eq!(err.field, "fields.fine_amount_fen");
    assert!(err.rule.contains("appears twice"), "{err}");
    let err = Record::parse(b"{\"type\": ").unwrap_err();
    assert_eq!(err.field, "");
    assert!(err.rule.starts_with("not valid JSON"), "{err}");
    assert_eq!(Record::parse(b"\xff").unwrap_err().field, "");
}

#[test]
fn rejects_inconsistent_fields() {
    penalty(|v| v["fields"]["fine_amount_fen"] = json!(0), "fields.fine_amount_fen", "penalties include a fine");
    penalty(|v| v["fields"]["penalties"] = json!(["warning"]), "fields.penalties", "must include \"fine\"");
    rejects(
        RecordKind::AdministrativeLicence,
        |v| v["fields"]["valid_until"] = json!("2026-02-28"),
        "fields.valid_until",
        "2026-02-28 is before valid_from (2026-03-01)",
    );
    rejects(
        RecordKind::AnnualReport,
        |v| v["fields"]["report_year"] = json!(2026),
        "fields.report_year",
        "filed from 1 January 2027",
    );
    rejects(RecordKind::AnnualReport, |v| v["date"] = json!("2026-07-01"), "fields.on_time", "due by 2026-06-30");
    rejects(
        RecordKind::InspectionResult,
        |v| fields(v).remove("findings").map(drop).unwrap(),
        "fields.findings",
        "corrected",
    );
    rejects(RecordKind::AbnormalOperationsRemoval, |v| v["date"] = json!("2025-07-31"), "date", "before listing_date");
    rejects(RecordKind::TaxCreditGrade, |v| v["fields"]["grade"] = json!("A"), "fields.score", "90 or more");
    rejects(
        RecordKind::SocialSecurityArrears,
        |v| v["fields"]["amount_fen"] = json!(0),
        "fields.amount_fen",
        "above 0",
    );
    rejects(
        RecordKind::WorkSafetyAccident,
        |v| v["fields"]["deaths"] = json!(10),
        "fields.grade",
        "make at least a major accident",
    );
    rejects(
        RecordKind::CreditCommitment,
        |v| v["fields"]["due"] = json!("2026-03-31"),
        "fields.due",
        "before the record's date",
    );
}

/// Flat CSV cells: column and value.
type Cells = Vec<(&'static str, String)>;

/// The example of `kind` as flat cells: every column of `csv_columns`, empty where absent.
fn flat(kind: RecordKind) -> Cells {
    let value = example(kind);
    csv_columns(kind)
        .iter()
        .map(|&column| {
            let cell = value.get(column).or_else(|| value["fields"].get(column));
            let text = match cell {
                None => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(items)) => {
                    items.iter().map(|i| i.as_str().unwrap().to_owned()).collect::<Vec<_>>().join(";")
                }
                Some(other) => other.to_string(),
            };
            (column, text)
        })
        .collect()
}

fn from_flat(kind: RecordKind, cells: &[(&'static str, String)]) -> Result<Record, RecordError> {
    let cells: Vec<(&str, &str)> = cells.iter().map(|(c, v)| (*c, v.as_str())).collect();
    Record::from_flat(kind, &cells)
}

#[test]
fn every_kind_imports_from_flat_cells() {
    for &kind in RecordKind::ALL {
        let columns = csv_columns(kind);
        assert_eq!(&columns[..4], COMMON_COLUMNS, "{kind}");
        assert_eq!(columns[4..].to_vec(), kind.field_names().collect::<Vec<_>>(), "{kind}");
        let record = from_flat(kind, &flat(kind)).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(Ok(record), parse(&example(kind)), "{kind}");
    }
    assert_eq!(
        csv_columns(RecordKind::Retraction),
        ["subject", "department", "date", "reference", "target_index", "ground", "reason"]
    );
}

fn set(cells: &mut [(&'static str, String)], column: &str, value: &str) {
    cells.iter_mut().find(|(c, _)| *c == column).unwrap().1 = value.to_owned();
}

#[test]
fn flat_cells_accept_chinese_names_and_blank_optional_cells() {
    let mut cells = flat(RecordKind::AdministrativePenalty);
    set(&mut cells, "severity", "一般");
    set(&mut cells, "penalties", "警告; 罚款");
    set(&mut cells, "legal_basis", "  ");
    let record = from_flat(RecordKind::AdministrativePenalty, &cells).unwrap();
    let RecordFields::AdministrativePenalty(f) = record.fields() else { panic!() };
    assert_eq!(
        (f.severity, f.penalties.as_slice()),
        (Severity::Ordinary, &[PenaltyType::Warning, PenaltyType::Fine][..])
    );
    assert_eq!(f.legal_basis, None);

    let mut cells = flat(RecordKind::AnnualReport);
    set(&mut cells, "on_time", "是");
    assert!(from_flat(RecordKind::AnnualReport, &cells).is_ok());
    // Columns may come in any order.
    cells.reverse();
    assert!(from_flat(RecordKind::AnnualReport, &cells).is_ok());
}

#[test]
fn flat_errors_name_the_column() {
    let kind = RecordKind::AdministrativePenalty;
    let check = |edit: &dyn Fn(&mut Cells), column: &str, rule: &str| {
        let mut cells = flat(kind);
        edit(&mut cells);
        let err = from_flat(kind, &cells).unwrap_err();
        assert_eq!(err.field, column, "{err}");
        assert!(err.rule.contains(rule), "rule {:?} should contain {rule:?}", err.rule);
    };
    check(
        &|c| set(c, "fine_amount_fen", "20000.00"),
        "fine_amount_fen",
        "an amount in fen: a whole number from 0 to 10^15, not \"20000.00\"",
    );
    check(&|c| set(c, "fine_amount_fen", "-5"), "fine_amount_fen", "an amount in fen");
    check(&|c| set(c, "fine_amount_fen", "+5"), "fine_amount_fen", "an amount in fen");
    check(&|c| set(c, "fine_amount_fen", ""), "fine_amount_fen", "missing");
    check(&|c| set(c, "severity", "很严重"), "severity", "unknown severity \"很严重\"; known severities: minor (轻微)");
    check(&|c| set(c, "penalties", "fine;罚款"), "penalties[1]", "listed twice");
    check(&|c| set(c, "subject", "91370303MA3C8DXA2K"), "subject", "should be '5'");
    check(&|c| set(c, "date", "2026-02-30"), "date", "February 2026 has 28 days");
    check(&|c| set(c, "violation", &"违".repeat(501)), "violation", "at most 500 characters");
    check(&|c| c.push(("colour", "red".into())), "colour", "unknown column for kind administrative_penalty");
    check(&|c| c.push(("severity", "minor".into())), "severity", "appears twice");
    rejects_flat_bool();
}

fn rejects_flat_bool() {
    let mut cells = flat(RecordKind::AnnualReport);
    set(&mut cells, "on_time", "yes");
    let err = from_flat(RecordKind::AnnualReport, &cells).unwrap_err();
    assert_eq!((err.field.as_str(), err.rule.as_str()), ("on_time", "true or false (是 or 否), not \"yes\""));
}

#[test]
fn effect_end() {
    let end = |kind: RecordKind, edit: &dyn Fn(&mut Value)| {
        let mut value = example(kind);
        edit(&mut value);
        parse(&value).unwrap().effect_end().map(|d| d.to_string())
    };
    let none = &|_: &mut Value| {};
    // Penalty: 36 months of publicity from 2026-11-20.
    assert_eq!(end(RecordKind::AdministrativePenalty, none).as_deref(), Some("2029-11-20"));
    assert_eq!(
        end(RecordKind::AdministrativePenalty, &|v| v["fields"]["publicity_months"] = json!(3)).as_deref(),
        Some("2027-02-20")
    );
    assert_eq!(
        end(RecordKind::AdministrativePenalty, &|v| v["fields"]["publicity_months"] = json!(0)).as_deref(),
        Some("2026-11-20")
    );
    // Clamped to the month's end.
    assert_eq!(
        end(RecordKind::AdministrativePenalty, &|v| {
            v["date"] = json!("2026-11-30");
            v["fields"]["publicity_months"] = json!(3);
        })
        .as_deref(),
        Some("2027-02-28")
    );
    assert_eq!(end(RecordKind::SeriousDishonestyListing, none).as_deref(), Some("2029-09-01"));
    assert_eq!(end(RecordKind::AdministrativeLicence, none).as_deref(), Some("2031-02-28"));
    assert_eq!(end(RecordKind::AdministrativeLicence, &|v| drop(fields(v).remove("valid_until"))), None);
    assert_eq!(end(RecordKind::RedList, none).as_deref(), Some("2028-11-30"));
    assert_eq!(end(RecordKind::BlackList, none).as_deref(), Some("2029-07-02"));
    assert_eq!(end(RecordKind::Commendation, none), None);
    assert_eq!(
        end(RecordKind::Commendation, &|v| v["fields"]["valid_until"] = json!("2028-03-14")).as_deref(),
        Some("2028-03-14")
    );
    for kind in [
        RecordKind::InspectionResult,
        RecordKind::AbnormalOperationsListing,
        RecordKind::TaxCreditGrade,
        RecordKind::Retraction,
    ] {
        assert_eq!(end(kind, none), None, "{kind}");
    }
    // Saturates instead of overflowing.
    assert_eq!(
        end(RecordKind::AdministrativePenalty, &|v| v["date"] = json!("9999-01-01")).as_deref(),
        Some("9999-12-31")
    );
}

#[test]
fn kinds_parse_and_have_chinese_names() {
    assert_eq!(RecordKind::ALL.len(), 20);
    for &kind in RecordKind::ALL {
        assert_eq!(kind.as_str().parse::<RecordKind>(), Ok(kind));
        assert_eq!(kind.to_string(), kind.as_str());
        assert!(!kind.chinese_name().is_empty());
        assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
    }
    assert_eq!(RecordKind::AdministrativePenalty.chinese_name(), "行政处罚");
    assert_eq!(RecordKind::InspectionResult.chinese_name(), "抽查检查结果");
    assert!("penalty".parse::<RecordKind>().is_err());
}
