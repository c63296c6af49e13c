use super::*;
use sheet::{read_bytes, Encoding};
use verifier::record::RecordFields;

const AMR: &str = "淄博市张店区市场监督管理局";
// A valid USCC (check character computed by verifier::uscc).
const FIRM: &str = "91370303MA3C8DXA25";

fn table(csv: &str) -> Table {
    read_bytes(csv.as_bytes(), Encoding::Utf8, None).unwrap()
}

fn importer(kind: RecordKind, t: &Table) -> Importer {
    Importer::new(kind, t, None, "zibo-amr", Some(AMR)).unwrap()
}

fn penalty_csv(header: &str, row: &str) -> Table {
    table(&format!("{header}\n{row}\n"))
}

const HEADER: &str = "行政相对人名称,行政相对人类别,行政相对人代码_1（统一社会信用代码）,法定代表人证件号码,行政处罚决定书文号,违法行为类型,违法事实,处罚依据,处罚类别,罚款金额（万元）,没收违法所得、没收非法财物的金额（万元）,处罚决定日期,公示截止期,处罚机关,数据导出时间";

fn row(category: &str, penalties: &str, fine: &str, date: &str, end: &str, authority: &str) -> String {
    format!("淄博某商贸有限公司,{category},{FIRM},11010519491231002X,淄张市监罚〔2026〕118号,虚假广告,发布虚假广告宣传,《广告法》第五十五条,{penalties},{fine},0,{date},{end},{authority},2026-11-29 08:00:00")
}

fn penalty_of(i: &Imported) -> &verifier::record::AdministrativePenalty {
    match i.record.fields() {
        RecordFields::AdministrativePenalty(f) => f,
        other => panic!("not a penalty: {other:?}"),
    }
}

#[test]
fn a_standard_penalty_row_becomes_the_record_it_states() {
    let t = penalty_csv(HEADER, &row("法人及非法人组织", "警告;罚款", "12.35", "2026年11月20日", "2027/11/20", AMR));
    let imp = importer(RecordKind::AdministrativePenalty, &t);
    assert!(matches!(imp.layout(), Layout::Standard(_)));
    let rows: Vec<&Row> = imp.data_rows(&t).collect();
    let got = imp.record(rows[0]).unwrap();
    assert_eq!(got.line, 2);
    let f = penalty_of(&got);
    assert_eq!(got.record.subject().as_str(), FIRM);
    assert_eq!(got.record.department(), "zibo-amr");
    assert_eq!(got.record.date().to_string(), "2026-11-20");
    assert_eq!(got.record.reference(), "淄张市监罚〔2026〕118号");
    assert_eq!(f.penalties, [PenaltyType::Warning, PenaltyType::Fine]);
    assert_eq!(f.fine_amount_fen, 12_350_000);
    assert_eq!(f.confiscated_amount_fen, None);
    assert_eq!(f.publicity_months, 12);
    assert_eq!(f.severity, Severity::Ordinary);
    assert!(got.severity_derived);
    assert_eq!(f.legal_basis.as_deref(), Some("《广告法》第五十五条"));
    // The ID number of the dropped column is nowhere in what would be signed.
    let bytes = String::from_utf8(got.record.to_json_bytes()).unwrap();
    assert!(!bytes.contains("11010519491231002X"), "{bytes}");
    let ignored: Vec<&str> = imp.ignored.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(ignored, ["法定代表人证件号码", "数据导出时间"]);
}

#[test]
fn header_variants_name_the_same_columns() {
    let variant = HEADER
        .replace("（", "(")
        .replace("）", ")")
        .replace("罚款金额", "处罚金额")
        .replace("非法财物", "非法财务")
        .replace("处罚决定日期", " 处罚决定日期 *");
    let a = penalty_csv(HEADER, &row("法人及非法人组织", "罚款", "0.1", "2026-11-20", "2027-11-20", AMR));
    let b = penalty_csv(&variant, &row("法人及非法人组织", "罚款", "0.1", "2026-11-20", "2027-11-20", AMR));
    let ra = importer(RecordKind::AdministrativePenalty, &a).record(&a.rows[1]).unwrap();
    let rb = importer(RecordKind::AdministrativePenalty, &b).record(&b.rows[1]).unwrap();
    assert_eq!(ra.record, rb.record);
    assert_eq!(penalty_of(&ra).fine_amount_fen, 100_000);
}

#[test]
fn a_title_row_above_the_header_is_skipped() {
    let t = table(&format!(
        "行政处罚信息（双公示）,,\n{HEADER}\n{}\n",
        row("法人及非法人组织", "警告", "", "2026-11-20", "", AMR)
    ));
    let imp = importer(RecordKind::AdministrativePenalty, &t);
    assert_eq!(imp.header_line, 2);
    let got = imp.record(imp.data_rows(&t).next().unwrap()).unwrap();
    // A warning alone with no publicity end: minor, and the minor tier's 3 months.
    assert_eq!(penalty_of(&got).severity, Severity::Minor);
    assert_eq!(penalty_of(&got).publicity_months, 3);
    assert_eq!(penalty_of(&got).fine_amount_fen, 0);
}

#[test]
fn individuals_and_rows_without_a_uscc_are_refused() {
    let t = penalty_csv(HEADER, &row("自然人", "警告", "", "2026-11-20", "", AMR));
    let e = importer(RecordKind::AdministrativePenalty, &t).record(&t.rows[1]).unwrap_err();
    assert_eq!(e.rule, rules::ENTERPRISE_ONLY);
    assert_eq!(e.column.as_deref(), Some("行政相对人类别"));
    assert!(e.message.contains("enterprises"), "{e}");
    let no_code = row("法人及非法人组织", "警告", "", "2026-11-20", "", AMR).replace(FIRM, "");
    let t = penalty_csv(HEADER, &no_code);
    let e = importer(RecordKind::AdministrativePenalty, &t).record(&t.rows[1]).unwrap_err();
    assert_eq!(e.rule, rules::ENTERPRISE_ONLY);
    assert_eq!(e.column.as_deref(), Some("行政相对人代码_1（统一社会信用代码）"));
    // A person's ID number in the code column: refused without repeating it.
    let person = row("法人及非法人组织", "警告", "", "2026-11-20", "", AMR).replace(FIRM, "11010519491231002X");
    let t = penalty_csv(HEADER, &person);
    let e = importer(RecordKind::AdministrativePenalty, &t).record(&t.rows[1]).unwrap_err();
    assert_eq!(e.rule, rules::ENTERPRISE_ONLY);
    assert!(!e.message.contains("11010519491231002X"), "{e}");
}

#[test]
fn another_bodys_decision_is_refused() {
    let t = penalty_csv(HEADER, &row("法人及非法人组织", "警告", "", "2026-11-20", "", "淄博市张店区税务局"));
    let e = importer(RecordKind::AdministrativePenalty, &t).record(&t.rows[1]).unwrap_err();
    assert_eq!(e.rule, rules::AUTHORITY);
    assert_eq!(e.column.as_deref(), Some("处罚机关"));
    assert!(e.message.contains("淄博市张店区税务局 is not the signing department"), "{e}");
}

#[test]
fn an_id_number_in_a_kept_text_refuses_the_row() {
    let r = row("法人及非法人组织", "警告", "", "2026-11-20", "", AMR)
        .replace("发布虚假广告宣传", "法定代表人（身份证11010519491231002X）发布虚假广告");
    let t = penalty_csv(HEADER, &r);
    let e = importer(RecordKind::AdministrativePenalty, &t).record(&t.rows[1]).unwrap_err();
    assert_eq!(e.rule, rules::PERSONAL_DATA);
    assert_eq!(e.column.as_deref(), Some("违法事实"));
    assert!(!e.message.contains("11010519491231002X"), "the refusal repeats the number: {e}");
}

#[test]
fn bad_cells_are_named_by_their_chinese_header() {
    for (fine, date, end, column) in [
        ("1.2.3", "2026-11-20", "", "罚款金额（万元）"),
        ("1", "2026年2月30日", "", "处罚决定日期"),
        ("1", "2026-11-20", "2026-11-19", "公示截止期"),
    ] {
        let t = penalty_csv(HEADER, &row("法人及非法人组织", "罚款", fine, date, end, AMR));
        let e = importer(RecordKind::AdministrativePenalty, &t).record(&t.rows[1]).unwrap_err();
        assert_eq!((e.rule.as_str(), e.column.as_deref()), (rules::CELL, Some(column)), "{e}");
    }
    // A fine amount with no 罚款 among the penalties breaks a record rule, named at the column
    // the record check names.
    let t = penalty_csv(HEADER, &row("法人及非法人组织", "警告", "1", "2026-11-20", "", AMR));
    let e = importer(RecordKind::AdministrativePenalty, &t).record(&t.rows[1]).unwrap_err();
    assert_eq!(e.rule, rules::RECORD);
    assert_eq!(e.column.as_deref(), Some("处罚类别"), "{e}");
}

#[test]
fn penalty_categories_as_exports_write_them() {
    let m = Mapping::shipped(RecordKind::AdministrativePenalty).unwrap();
    let v = m.penalties.as_ref().unwrap();
    use PenaltyType as P;
    assert_eq!(read_penalties("警告；罚款", v), Ok(vec![P::Warning, P::Fine]));
    assert_eq!(read_penalties("罚款、没收违法所得", v), Ok(vec![P::Fine, P::ConfiscationOfIllegalGains]));
    assert_eq!(
        read_penalties("罚款,没收违法所得、没收非法财物", v),
        Ok(vec![P::Fine, P::ConfiscationOfIllegalGains, P::ConfiscationOfIllegalProperty])
    );
    assert_eq!(read_penalties("责令停产停业|吊销营业执照", v), Ok(vec![P::OrderedToSuspend, P::LicenceRevoked]));
    assert_eq!(read_penalties("fine;warning", v), Ok(vec![P::Fine, P::Warning]));
    assert!(read_penalties("行政拘留", v).unwrap_err().contains("persons only"));
    assert!(read_penalties("其他", v).unwrap_err().contains("name the penalty"));
    assert!(read_penalties("罚没", v).unwrap_err().contains("not a penalty"));
    assert!(read_penalties(" ; ", v).is_err());
}

#[test]
fn severity_is_derived_by_the_mapping_rules() {
    let m = Mapping::shipped(RecordKind::AdministrativePenalty).unwrap();
    let s = m.severity.as_ref().unwrap();
    use PenaltyType as P;
    assert_eq!(derive_severity(s, &[P::Warning], Some(3)), Severity::Minor);
    assert_eq!(derive_severity(s, &[P::Fine], Some(12)), Severity::Ordinary);
    assert_eq!(derive_severity(s, &[P::Fine], Some(13)), Severity::Serious);
    assert_eq!(derive_severity(s, &[P::Fine, P::LicenceRevoked], Some(3)), Severity::Serious);
    assert_eq!(derive_severity(s, &[P::Fine, P::ConfiscationOfIllegalGains], Some(3)), Severity::Ordinary);
    // A severity column, when the file has one, decides.
    let header = format!("{HEADER},失信严重程度");
    let t = penalty_csv(&header, &format!("{},严重", row("法人及非法人组织", "警告", "", "2026-11-20", "", AMR)));
    let got = importer(RecordKind::AdministrativePenalty, &t).record(&t.rows[1]).unwrap();
    assert_eq!(penalty_of(&got).severity, Severity::Serious);
    assert!(!got.severity_derived);
}

#[test]
fn a_licence_export_read_with_the_penalty_kind_names_the_right_kind() {
    let t = table("行政相对人名称,行政相对人代码_1(统一社会信用代码),行政许可决定文书号,许可决定日期\n");
    let e = Importer::new(RecordKind::AdministrativePenalty, &t, None, "zibo-amr", Some(AMR)).unwrap_err();
    assert!(e.contains("--kind administrative_licence"), "{e}");
    let t = table("a,b,c\n1,2,3\n");
    let e = Importer::new(RecordKind::AdministrativePenalty, &t, None, "zibo-amr", Some(AMR)).unwrap_err();
    assert!(e.contains("no header row") && e.contains("行政处罚决定书文号"), "{e}");
}

#[test]
fn a_licence_without_end_and_the_fallback_columns() {
    let header = "行政相对人名称,行政相对人类别,行政相对人代码_1（统一社会信用代码）,行政许可决定文书名称,行政许可决定文书号,许可证书名称,许可编号,许可内容,许可决定日期,有效期自,有效期至,许可机关";
    let t = table(&format!(
        "{header}\n某公司,法人及非法人组织,{FIRM},准予行政许可决定书,淄张市监许〔2026〕7号,,,预包装食品销售,2026/3/1,2026/3/1,2099-12-31,{AMR}\n"
    ));
    let got = importer(RecordKind::AdministrativeLicence, &t).record(&t.rows[1]).unwrap();
    let RecordFields::AdministrativeLicence(f) = got.record.fields() else { panic!() };
    assert_eq!(f.licence_name, "准予行政许可决定书");
    assert_eq!(f.licence_number, "淄张市监许〔2026〕7号");
    assert_eq!(f.valid_until, None);
    assert_eq!(f.valid_from.to_string(), "2026-03-01");
}

#[test]
fn our_own_columns_keep_working() {
    let t = table(&format!(
        "subject,department,date,reference,violation_type,violation,penalties,fine_amount_fen,severity,publicity_months\n{FIRM},zibo-amr,2026-11-20,X-1,虚假广告,发布虚假广告,warning;fine,500000,ordinary,12\n"
    ));
    let imp = importer(RecordKind::AdministrativePenalty, &t);
    assert!(matches!(imp.layout(), Layout::Native));
    let got = imp.record(&t.rows[1]).unwrap();
    assert_eq!(penalty_of(&got).fine_amount_fen, 500_000);
    assert_eq!(imp.column_of("fields.fine_amount_fen").as_deref(), Some("fine_amount_fen"));
}

#[test]
fn our_own_columns_naming_another_department_are_refused() {
    let t = table(&format!(
        "subject,department,date,reference,violation_type,violation,penalties,fine_amount_fen,severity,publicity_months\n{FIRM},zibo-tax,2026-11-20,X-1,虚假广告,发布虚假广告,warning,0,minor,3\n"
    ));
    let e = importer(RecordKind::AdministrativePenalty, &t).record(&t.rows[1]).unwrap_err();
    assert_eq!((e.line, e.column.as_deref(), e.rule.as_str()), (2, Some("department"), rules::AUTHORITY));
    assert!(e.message.contains("zibo-tax is not the signing department (zibo-amr)"), "{}", e.message);
}

#[test]
fn export_rows_read_back_into_the_same_records() {
    let dir = std::env::temp_dir().join(format!("creditlog-import-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let t = penalty_csv(HEADER, &row("法人及非法人组织", "警告;罚款", "12.35", "2026年11月20日", "2027/11/20", AMR));
    let original = importer(RecordKind::AdministrativePenalty, &t).record(&t.rows[1]).unwrap().record;
    let rows: Vec<Vec<export::Cell>> =
        (0..4).map(|n| export::row(&original, "某公司", AMR, export::DateStyle::nth(n)).unwrap()).collect();
    let xlsx = dir.join("p.xlsx");
    let csv = dir.join("p.csv");
    let headers = export::headers(RecordKind::AdministrativePenalty).unwrap();
    assert_eq!(headers.len(), 30);
    export::write_xlsx(&xlsx, "行政处罚", &headers, &rows).unwrap();
    export::write_csv_gb18030(&csv, &headers, &rows).unwrap();
    for path in [&xlsx, &csv] {
        let t = sheet::read_file(path, Encoding::Auto, None).unwrap();
        let imp = importer(RecordKind::AdministrativePenalty, &t);
        let got: Vec<Record> = imp.data_rows(&t).map(|r| imp.record(r).unwrap().record).collect();
        assert_eq!(got, vec![original.clone(); 4], "{}", t.read_as);
    }
    std::fs::remove_dir_all(&dir).ok();
}
