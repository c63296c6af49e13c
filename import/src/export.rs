//! Writing records as 双公示 exports, the way a department's system saves them: an Excel
//! workbook, or CSV in GB18030. The simulator uses this so that the demo loads part of its city
//! from the files officials actually have; the import reads them back into the same records.

use crate::values::format_wan_yuan;
use std::path::Path;
use verifier::date::Date;
use verifier::record::{Record, RecordFields, RecordKind};

/// The party columns every export starts with, as the standard's templates print them
/// (full-width parentheses): the name, category and codes, then the legal representative's and a
/// person's identity fields, which [`row`] leaves blank.
pub const PARTY_HEADERS: [&str; 13] = [
    "行政相对人名称",
    "行政相对人类别",
    "行政相对人代码_1（统一社会信用代码）",
    "行政相对人代码_2（工商注册号）",
    "行政相对人代码_3（组织机构代码）",
    "行政相对人代码_4（税务登记号）",
    "行政相对人代码_5（事业单位证书号）",
    "行政相对人代码_6（社会组织登记证号）",
    "法定代表人",
    "法定代表人证件类型",
    "法定代表人证件号码",
    "证件类型",
    "证件号码",
];

/// The penalty export's own columns, after [`PARTY_HEADERS`].
pub const PENALTY_COLUMNS: [&str; 17] = [
    "行政处罚决定书文号",
    "违法行为类型",
    "违法事实",
    "处罚依据",
    "处罚类别",
    "处罚内容",
    "罚款金额（万元）",
    "没收违法所得、没收非法财物的金额（万元）",
    "暂扣或吊销证照名称及编号",
    "处罚决定日期",
    "处罚有效期",
    "公示截止期",
    "处罚机关",
    "处罚机关统一社会信用代码",
    "数据来源单位",
    "数据来源单位统一社会信用代码",
    "备注",
];

/// The licence export's own columns, after [`PARTY_HEADERS`].
pub const LICENCE_COLUMNS: [&str; 15] = [
    "行政许可决定文书名称",
    "行政许可决定文书号",
    "许可类别",
    "许可证书名称",
    "许可编号",
    "许可内容",
    "许可决定日期",
    "有效期自",
    "有效期至",
    "许可机关",
    "许可机关统一社会信用代码",
    "当前状态",
    "数据来源单位",
    "数据来源单位统一社会信用代码",
    "备注",
];

/// The date forms officials write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStyle {
    /// `2026-11-20`
    Iso,
    /// `2026/11/20`
    Slash,
    /// `2026年11月20日`
    Chinese,
    /// An Excel date cell (in a workbook; `2026-11-20` in CSV).
    Cell,
}

impl DateStyle {
    /// The style for the `n`th row, so that a file holds every form.
    pub fn nth(n: usize) -> Self {
        [Self::Cell, Self::Slash, Self::Chinese, Self::Iso][n % 4]
    }

    fn write(self, d: Date) -> String {
        match self {
            Self::Iso | Self::Cell => d.to_string(),
            Self::Slash => format!("{}/{}/{}", d.year(), d.month(), d.day()),
            Self::Chinese => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
        }
    }
}

/// One cell of an export row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number (an amount in 万元), written as a number cell in a workbook.
    Number(String),
    /// A date, written as a date cell in a workbook with [`DateStyle::Cell`].
    Date(Date, DateStyle),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Self::Text(s) | Self::Number(s) => s.clone(),
            Self::Date(d, style) => style.write(*d),
        }
    }
}

/// The columns of `kind`'s export after [`PARTY_HEADERS`], if the standard has an export of it.
pub fn kind_columns(kind: RecordKind) -> Option<&'static [&'static str]> {
    match kind {
        RecordKind::AdministrativePenalty => Some(&PENALTY_COLUMNS),
        RecordKind::AdministrativeLicence => Some(&LICENCE_COLUMNS),
        _ => None,
    }
}

/// The whole header row of `kind`'s export: [`PARTY_HEADERS`] then [`kind_columns`].
pub fn headers(kind: RecordKind) -> Option<Vec<&'static str>> {
    kind_columns(kind).map(|own| PARTY_HEADERS.iter().chain(own).copied().collect())
}

/// A record as a row of its kind's export. `party_name` is the firm's name, `authority` the
/// department's; `style` the date form. `None` for a kind the standard does not export.
pub fn row(record: &Record, party_name: &str, authority: &str, style: DateStyle) -> Option<Vec<Cell>> {
    let t = |s: &str| Cell::Text(s.to_owned());
    let date = |d: Date| Cell::Date(d, style);
    // The USCC's second character is the entity type: 2 is an individual business.
    let category =
        if record.subject().as_str().as_bytes()[1] == b'2' { "个体工商户" } else { "法人及非法人组织" };
    let mut cells: Vec<Cell> = vec![t(party_name), t(category), t(record.subject().as_str())];
    // Old codes, the legal representative and personal identity fields: left blank.
    cells.extend((cells.len()..PARTY_HEADERS.len()).map(|_| t("")));
    match record.fields() {
        RecordFields::AdministrativePenalty(f) => {
            let penalties: Vec<&str> = f.penalties.iter().map(|p| p.chinese_name()).collect();
            let mut content = penalties.join("，");
            if f.fine_amount_fen > 0 {
                content.push_str(&format!("；罚款{}元", f.fine_amount_fen / 100));
            }
            let end = record.date().add_months(u32::from(f.publicity_months)).unwrap_or(Date::MAX);
            cells.extend([
                t(record.reference()),
                t(&f.violation_type),
                t(&f.violation),
                t(f.legal_basis.as_deref().unwrap_or("")),
                t(&penalties.join(";")),
                t(&content),
                Cell::Number(format_wan_yuan(f.fine_amount_fen)),
                Cell::Number(format_wan_yuan(f.confiscated_amount_fen.unwrap_or(0))),
                t(""),
                date(record.date()),
                t("2099-12-31"),
                date(end),
                t(authority),
                t(""),
                t(authority),
                t(""),
                t(""),
            ]);
        }
        RecordFields::AdministrativeLicence(f) => {
            cells.extend([
                t("准予行政许可决定书"),
                t(record.reference()),
                t("普通"),
                t(&f.licence_name),
                t(&f.licence_number),
                t(f.scope.as_deref().unwrap_or("")),
                date(record.date()),
                date(f.valid_from),
                f.valid_until.map_or_else(|| t("2099-12-31"), date),
                t(authority),
                t(""),
                t("有效"),
                t(authority),
                t(""),
                t(""),
            ]);
        }
        _ => return None,
    }
    Some(cells)
}

/// Writes rows as an Excel workbook with one sheet named `sheet`.
///
/// # Errors
///
/// The workbook writer's error, or a file that cannot be written.
pub fn write_xlsx(path: &Path, sheet: &str, headers: &[&str], rows: &[Vec<Cell>]) -> Result<(), String> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| format!("writing {}: {e}", path.display());
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet).map_err(fail)?;
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).map_err(fail)?;
    }
    for (r, cells) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in cells.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) if s.is_empty() => {}
                Cell::Number(s) => {
                    let n: f64 = s.parse().map_err(|e| format!("{s:?} is not a number: {e}"))?;
                    ws.write_number(r, c, n).map_err(fail)?;
                }
                Cell::Date(d, DateStyle::Cell) => {
                    let dt = ExcelDateTime::from_ymd(d.year(), d.month(), d.day()).map_err(fail)?;
                    ws.write_datetime_with_format(r, c, &dt, &date_format).map_err(fail)?;
                }
                other => {
                    ws.write_string(r, c, other.text()).map_err(fail)?;
                }
            }
        }
    }
    book.save(path).map_err(fail)
}

/// Writes rows as CSV in GB18030, as Excel saves "CSV (逗号分隔)" on a Chinese Windows.
///
/// # Errors
///
/// A file that cannot be written.
pub fn write_csv_gb18030(path: &Path, headers: &[&str], rows: &[Vec<Cell>]) -> Result<(), String> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let io = |e: csv::Error| format!("writing {}: {e}", path.display());
    w.write_record(headers).map_err(io)?;
    for cells in rows {
        w.write_record(cells.iter().map(Cell::text)).map_err(io)?;
    }
    let text = String::from_utf8(w.into_inner().map_err(|e| format!("writing {}: {e}", path.display()))?)
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(&text);
    if unmappable {
        return Err(format!("writing {}: a character has no GB18030 form", path.display()));
    }
    std::fs::write(path, &bytes).map_err(|e| format!("writing {}: {e}", path.display()))
}
