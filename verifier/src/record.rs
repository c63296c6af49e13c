//! Department records: what a department signs about an enterprise (`shared/DOMAIN.md` §2;
//! `shared/DESIGN.md` flow 1, intake 信息归集).
//!
//! A record is a JSON object, the payload a department signs:
//!
//! ```json
//! {"type": "creditlog.record/v1", "kind": "administrative_penalty", "subject": "91370303MA3C8DXA25",
//!  "department": "zibo-amr", "date": "2026-11-20", "reference": "淄张市监罚〔2026〕118号",
//!  "fields": {"violation_type": "虚假广告", ...}}
//! ```
//!
//! - `type` is always [`RECORD_FORMAT`]; `kind` is a [`RecordKind`] name; `subject` the
//!   enterprise's [`Uscc`]; `department` the submitting department's code; `date` the date of
//!   the decision or event ([`Date`]); `reference` the document number (decision no., case no.,
//!   ticket); `fields` the kind's own fields ([`RecordFields`]).
//! - Every value is typed: dates are dates, amounts are whole fen (1 yuan = 100 fen) from 0 to
//!   10^15 (so that every amount is exact in any JSON reader), grades and outcomes are closed
//!   lists. Free text appears only in descriptive fields, is never blank, has a maximum length
//!   and holds no control characters (descriptive fields may hold line breaks).
//! - Parsing is strict: unknown fields, duplicate keys, missing fields, wrong types and
//!   out-of-range values are rejected with a [`RecordError`] naming the field path
//!   (`fields.fine_amount_fen`) and the rule it breaks. An optional field may be absent or
//!   `null`; [`Record::to_json_bytes`] leaves absent fields out.
//! - The bytes a department signed are what the log keeps (DESIGN invariant 3); a record is
//!   parsed from them for validation and never re-serialised in their place. Still,
//!   [`Record::to_json_bytes`] is deterministic (fixed key order, no whitespace), which is what
//!   a simulator or an import tool signs.
//!
//! For bulk import, [`csv_columns`] gives each kind's flat column names and
//! [`Record::from_flat`] builds a record from string cells.

use crate::date::Date;
use crate::uscc::Uscc;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// The value of every record's `type` field.
pub const RECORD_FORMAT: &str = "creditlog.record/v1";

/// Largest amount in fen: 10^15 fen (10 trillion yuan), below 2^53 so that every amount is an
/// exact integer in any JSON reader.
pub const MAX_FEN: u64 = 1_000_000_000_000_000;

const FEN_RULE: &str = "an amount in fen: a whole number from 0 to 10^15";

/// The rule for department codes such as `zibo-amr`.
pub const DEPARTMENT_CODE_RULE: &str =
    "a department code: 1 to 64 characters from a–z, 0–9 and '-', starting and ending with a letter or digit";

/// The columns every kind has first, in [`csv_columns`] order.
pub const COMMON_COLUMNS: [&str; 4] = ["subject", "department", "date", "reference"];

/// The top-level fields of a record, in [`Record::to_json_bytes`] order.
const TOP_FIELDS: [&str; 7] = ["type", "kind", "subject", "department", "date", "reference", "fields"];

/// Maximum length of `reference`, in characters.
const REFERENCE_MAX: usize = 100;

/// Why a record was rejected: the field path and the rule it breaks.
///
/// `field` is a path into the JSON payload (`subject`, `fields.fine_amount_fen`,
/// `fields.items[2]`), empty for the payload as a whole; for [`Record::from_flat`] it is the
/// column name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{rule}", if field.is_empty() { String::new() } else { format!("{field}: ") })]
pub struct RecordError {
    /// Path of the offending field, or the column name.
    pub field: String,
    /// The rule the value breaks, in plain English.
    pub rule: String,
}

fn error(field: impl Into<String>, rule: impl Into<String>) -> RecordError {
    RecordError { field: field.into(), rule: rule.into() }
}

/// A name that is not one of a closed list (a record kind, a severity, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {found:?}; known {whats}: {}", list_names(known))]
pub struct UnknownName {
    /// What was looked up, e.g. `record kind`.
    pub what: &'static str,
    whats: &'static str,
    /// The name given.
    pub found: String,
    known: &'static [(&'static str, &'static str)],
}

fn list_names(labels: &[(&str, &str)]) -> String {
    labels.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
}

/// A closed list of names with their Chinese labels, for validation and CSV import.
#[derive(Debug, Clone, Copy)]
struct Choices {
    what: &'static str,
    whats: &'static str,
    /// `(name, Chinese label)` pairs.
    labels: &'static [(&'static str, &'static str)],
}

impl Choices {
    fn unknown(&self, found: &str) -> UnknownName {
        UnknownName { what: self.what, whats: self.whats, found: found.to_owned(), known: self.labels }
    }

    fn contains(&self, name: &str) -> bool {
        self.labels.iter().any(|(n, _)| *n == name)
    }

    /// The name for a CSV cell holding either the name or its Chinese label.
    fn name_for_label(&self, cell: &str) -> Option<&'static str> {
        self.labels.iter().find(|(name, label)| *name == cell || *label == cell).map(|(name, _)| *name)
    }

    fn unknown_label(&self, cell: &str) -> String {
        let known: Vec<String> = self.labels.iter().map(|(name, label)| format!("{name} ({label})")).collect();
        format!("unknown {} {cell:?}; known {}: {}", self.what, self.whats, known.join(", "))
    }
}

/// Whether a field's type is optional, and whether a value is absent (to leave it out of the
/// JSON).
trait Presence {
    const OPTIONAL: bool = false;
    fn is_absent(&self) -> bool {
        false
    }
}

impl<T> Presence for Option<T> {
    const OPTIONAL: bool = true;
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl<T> Presence for Vec<T> {}
impl Presence for String {}
impl Presence for bool {}
impl Presence for u8 {}
impl Presence for u16 {}
impl Presence for u32 {}
impl Presence for u64 {}
impl Presence for Date {}

/// What a field holds, which decides how it is checked and how a CSV cell is read.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// One line of text of at most this many characters.
    Line(usize),
    /// Descriptive text of at most this many characters; may hold line breaks.
    Prose(usize),
    /// A list of 1 to `items` lines of at most `len` characters; `;`-separated in CSV.
    Lines { items: usize, len: usize },
    /// A [`Date`].
    Date,
    /// An amount in fen, 0 to [`MAX_FEN`].
    Fen,
    /// A whole number in `min..=max`.
    Whole { min: u64, max: u64 },
    /// `true` or `false` (in CSV also 是 or 否).
    Bool,
    /// One name from a closed list (in CSV also its Chinese label).
    Choice(Choices),
    /// 1 to `usize` distinct names from a closed list; `;`-separated in CSV.
    ChoiceList(Choices, usize),
}

/// One field of a kind's `fields` object.
#[derive(Debug, Clone, Copy)]
struct Field {
    name: &'static str,
    shape: Shape,
    required: bool,
}

/// Defines a closed list of names: a unit enum serialised as its snake_case name, with
/// `ALL`, `as_str`, `chinese_name`, `FromStr` and `Display`.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal, $whats:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal / $zh:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            const CHOICES: Choices = Choices { what: $what, whats: $whats, labels: &[$(($text, $zh)),+] };

            /// The name used in JSON and CSV.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The Chinese name, as departments' own systems label it.
            pub fn chinese_name(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            /// Parses the name used in JSON (not the Chinese name).
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| Self::CHOICES.unknown(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Presence for $name {}
    };
}

/// Defines a kind's fields struct and its schema from one list, so the two cannot drift.
macro_rules! fields_struct {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $shape:expr ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(skip_serializing_if = "Presence::is_absent")]
                pub $field: $ty,
            )+
        }

        impl $name {
            const SCHEMA: &'static [Field] = &[
                $( Field { name: stringify!($field), shape: $shape, required: !<$ty as Presence>::OPTIONAL } ),+
            ];
        }
    };
}

/// Defines [`RecordKind`], [`RecordFields`] and the mapping between them and the fields
/// structs.
macro_rules! record_kinds {
    ( $( $(#[$vmeta:meta])* $variant:ident = $text:literal / $zh:literal => $fields:ident ),+ $(,)? ) => {
        named_enum! {
            /// The kinds of record departments submit (`shared/DOMAIN.md` §2).
            RecordKind, "record kind", "record kinds" {
                $( $(#[$vmeta])* $variant = $text / $zh ),+
            }
        }

        /// A record's kind-specific fields, one variant per [`RecordKind`].
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum RecordFields {
            $( $(#[$vmeta])* $variant($fields), )+
        }

        impl RecordFields {
            /// The kind these fields belong to.
            pub fn kind(&self) -> RecordKind {
                match self { $(RecordFields::$variant(_) => RecordKind::$variant),+ }
            }
        }

        impl Serialize for RecordFields {
            /// The kind's fields object, without a tag (the kind is the record's `kind`).
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self { $(RecordFields::$variant(fields) => fields.serialize(serializer)),+ }
            }
        }

        fn schema(kind: RecordKind) -> &'static [Field] {
            match kind { $(RecordKind::$variant => $fields::SCHEMA),+ }
        }

        fn fields_from_value(kind: RecordKind, fields: Map<String, Value>) -> Result<RecordFields, serde_json::Error> {
            let fields = Value::Object(fields);
            match kind { $(RecordKind::$variant => serde_json::from_value(fields).map(RecordFields::$variant)),+ }
        }
    };
}

record_kinds! {
    /// An administrative licence granted (行政许可).
    AdministrativeLicence = "administrative_licence" / "行政许可" => AdministrativeLicence,
    /// An administrative penalty decision (行政处罚).
    AdministrativePenalty = "administrative_penalty" / "行政处罚" => AdministrativePenalty,
    /// The result of a random or targeted inspection (抽查检查结果).
    InspectionResult = "inspection_result" / "抽查检查结果" => InspectionResult,
    /// An annual report filed (年报).
    AnnualReport = "annual_report" / "年报" => AnnualReport,
    /// Listing in the abnormal-operations list (列入经营异常名录).
    AbnormalOperationsListing = "abnormal_operations_listing" / "列入经营异常名录" => AbnormalOperationsListing,
    /// Removal from the abnormal-operations list (移出经营异常名录).
    AbnormalOperationsRemoval = "abnormal_operations_removal" / "移出经营异常名录" => ListRemoval,
    /// Listing in the serious illegal and dishonest list (列入严重违法失信名单).
    SeriousDishonestyListing = "serious_dishonesty_listing" / "列入严重违法失信名单" => SeriousDishonestyListing,
    /// Removal from the serious illegal and dishonest list (移出严重违法失信名单).
    SeriousDishonestyRemoval = "serious_dishonesty_removal" / "移出严重违法失信名单" => ListRemoval,
    /// Entry on a red list (红名单).
    RedList = "red_list" / "红名单" => CreditListEntry,
    /// Entry on a black list (黑名单).
    BlackList = "black_list" / "黑名单" => CreditListEntry,
    /// A commendation (表彰).
    Commendation = "commendation" / "表彰" => Commendation,
    /// A credit commitment made by the enterprise (信用承诺).
    CreditCommitment = "credit_commitment" / "信用承诺" => CreditCommitment,
    /// Whether a credit commitment was kept (承诺履行情况).
    CommitmentOutcome = "commitment_outcome" / "承诺履行情况" => CommitmentOutcome,
    /// A complaint or report, once verified (投诉举报（核实）).
    VerifiedComplaint = "verified_complaint" / "投诉举报（核实）" => VerifiedComplaint,
    /// A court judgment or enforcement case (司法判决/执行).
    Judgment = "judgment" / "司法判决/执行" => Judgment,
    /// The yearly tax credit grade (纳税信用等级).
    TaxCreditGrade = "tax_credit_grade" / "纳税信用等级" => TaxCreditGrade,
    /// Social-security contributions in arrears (社保欠缴).
    SocialSecurityArrears = "social_security_arrears" / "社保欠缴" => SocialSecurityArrears,
    /// An environmental violation (环境违法).
    EnvironmentalViolation = "environmental_violation" / "环境违法" => EnvironmentalViolation,
    /// A work-safety accident (安全生产事故).
    WorkSafetyAccident = "work_safety_accident" / "安全生产事故" => WorkSafetyAccident,
    /// Retraction or correction of an earlier entry (撤回/更正); the earlier entry stays on the log.
    Retraction = "retraction" / "撤回/更正" => Retraction,
}

named_enum! {
    /// Severity of a violation (the 2026 repair tiers: 轻微/一般/严重).
    Severity, "severity", "severities" {
        /// 轻微
        Minor = "minor" / "轻微",
        /// 一般
        Ordinary = "ordinary" / "一般",
        /// 严重
        Serious = "serious" / "严重",
    }
}

named_enum! {
    /// Administrative level of the body that gives a commendation or keeps a list.
    Level, "level", "levels" {
        /// 国家级
        National = "national" / "国家级",
        /// 省级
        Provincial = "provincial" / "省级",
        /// 市级
        Municipal = "municipal" / "市级",
        /// 县级
        County = "county" / "县级",
    }
}

named_enum! {
    /// Kinds of administrative penalty (Administrative Penalty Law 2021, art. 9; detention,
    /// which applies to persons only, is left out).
    PenaltyType, "penalty type", "penalty types" {
        /// 警告
        Warning = "warning" / "警告",
        /// 通报批评
        CirculatedCriticism = "circulated_criticism" / "通报批评",
        /// 罚款
        Fine = "fine" / "罚款",
        /// 没收违法所得
        ConfiscationOfIllegalGains = "confiscation_of_illegal_gains" / "没收违法所得",
        /// 没收非法财物
        ConfiscationOfIllegalProperty = "confiscation_of_illegal_property" / "没收非法财物",
        /// 暂扣许可证件
        LicenceSuspended = "licence_suspended" / "暂扣许可证件",
        /// 降低资质等级
        QualificationLowered = "qualification_lowered" / "降低资质等级",
        /// 吊销许可证件
        LicenceRevoked = "licence_revoked" / "吊销许可证件",
        /// 限制开展生产经营活动
        BusinessRestricted = "business_restricted" / "限制开展生产经营活动",
        /// 责令停产停业
        OrderedToSuspend = "ordered_to_suspend" / "责令停产停业",
        /// 责令关闭
        OrderedToClose = "ordered_to_close" / "责令关闭",
        /// 限制从业
        PracticeBan = "practice_ban" / "限制从业",
    }
}

named_enum! {
    /// Result of an inspection ("double random, one public" result categories).
    InspectionOutcome, "inspection result", "inspection results" {
        /// 未发现问题
        NoIssue = "no_issue" / "未发现问题",
        /// 发现问题已责令改正
        Corrected = "corrected" / "发现问题已责令改正",
        /// 发现问题待后续处理
        IssuesFound = "issues_found" / "发现问题待后续处理",
        /// 通过登记的住所（经营场所）无法联系
        NotFoundAtAddress = "not_found_at_address" / "通过登记的住所（经营场所）无法联系",
        /// 不配合检查情节严重
        Refused = "refused" / "不配合检查情节严重",
        /// 未发现开展本次抽查涉及的经营活动
        NoRelevantActivity = "no_relevant_activity" / "未发现开展本次抽查涉及的经营活动",
    }
}

named_enum! {
    /// Operating status declared in an annual report.
    OperatingStatus, "operating status", "operating statuses" {
        /// 开业
        Operating = "operating" / "开业",
        /// 歇业
        Dormant = "dormant" / "歇业",
        /// 清算
        Liquidating = "liquidating" / "清算",
    }
}

named_enum! {
    /// Grounds for listing in the abnormal-operations list (企业经营异常名录管理暂行办法, art. 4).
    AbnormalReason, "abnormal-operations reason", "abnormal-operations reasons" {
        /// 未按规定期限公示年度报告
        NoAnnualReport = "no_annual_report" / "未按规定期限公示年度报告",
        /// 未在责令的期限内公示有关企业信息
        NoInstantDisclosure = "no_instant_disclosure" / "未在责令的期限内公示有关企业信息",
        /// 公示企业信息隐瞒真实情况、弄虚作假
        FalseDisclosure = "false_disclosure" / "公示企业信息隐瞒真实情况、弄虚作假",
        /// 通过登记的住所或者经营场所无法联系
        UnreachableAtAddress = "unreachable_at_address" / "通过登记的住所或者经营场所无法联系",
    }
}

named_enum! {
    /// Why an enterprise left a list.
    RemovalGround, "removal ground", "removal grounds" {
        /// The cause was cured (report filed, information disclosed, address reachable).
        CauseCured = "cause_cured" / "异常情形消失",
        /// The listing period ran out.
        PeriodExpired = "period_expired" / "期满移出",
        /// Early removal after credit repair.
        CreditRepaired = "credit_repaired" / "信用修复",
        /// The listing was wrong.
        ListedInError = "listed_in_error" / "列入错误",
    }
}

named_enum! {
    /// Kinds of credit commitment (seed 001 §三, seed 004 §五).
    CommitmentType, "commitment type", "commitment types" {
        /// 告知承诺: a commitment in place of documents for an approval.
        NoticeAndCommitment = "notice_and_commitment" / "告知承诺",
        /// 证明事项告知承诺: a commitment in place of a certificate.
        Certification = "certification" / "证明事项告知承诺",
        /// 主动公示承诺: a voluntary public commitment.
        Voluntary = "voluntary" / "主动公示承诺",
        /// 行业自律承诺: an industry self-discipline commitment.
        IndustrySelfDiscipline = "industry_self_discipline" / "行业自律承诺",
        /// 信用修复承诺: the commitment made when applying for credit repair.
        CreditRepair = "credit_repair" / "信用修复承诺",
    }
}

named_enum! {
    /// Where a complaint came in.
    ComplaintChannel, "complaint channel", "complaint channels" {
        /// The market regulator's 12315 hotline.
        Hotline12315 = "12315" / "12315热线",
        /// The city service hotline 12345.
        Hotline12345 = "12345" / "12345热线",
        /// Any other channel (letter, visit, referral).
        Other = "other" / "其他渠道",
    }
}

named_enum! {
    /// Stage of a court case.
    JudgmentStage, "judgment stage", "judgment stages" {
        /// 判决
        Judgment = "judgment" / "判决",
        /// 执行
        Enforcement = "enforcement" / "执行",
    }
}

named_enum! {
    /// Tax credit grade (纳税信用等级): A ≥ 90 points, B 70–89, C 40–69, D < 40, M a new firm.
    TaxGrade, "tax credit grade", "tax credit grades" {
        /// A级
        A = "A" / "A级",
        /// B级
        B = "B" / "B级",
        /// C级
        C = "C" / "C级",
        /// D级
        D = "D" / "D级",
        /// M级 (new firm)
        M = "M" / "M级",
    }
}

named_enum! {
    /// Accident grade (生产安全事故报告和调查处理条例, art. 3), from least to most serious.
    AccidentGrade, "accident grade", "accident grades" {
        /// 一般事故: under 3 deaths, 10 serious injuries and 10 million yuan.
        Ordinary = "ordinary" / "一般事故",
        /// 较大事故: 3 deaths, 10 serious injuries or 10 million yuan.
        Larger = "larger" / "较大事故",
        /// 重大事故: 10 deaths, 50 serious injuries or 50 million yuan.
        Major = "major" / "重大事故",
        /// 特别重大事故: 30 deaths, 100 serious injuries or 100 million yuan.
        EspeciallySerious = "especially_serious" / "特别重大事故",
    }
}

named_enum! {
    /// Why an entry is retracted or corrected (objection grounds, `shared/DOMAIN.md` §6).
    RetractionGround, "retraction ground", "retraction grounds" {
        /// The entry is wrong.
        Error = "error" / "信息错误",
        /// The entry duplicates another.
        Duplicate = "duplicate" / "信息重复",
        /// An objection against the entry was upheld.
        ObjectionUpheld = "objection_upheld" / "异议成立",
        /// The decision behind the entry was revoked (administrative review, court).
        DecisionRevoked = "decision_revoked" / "原决定被撤销",
    }
}

fields_struct! {
    /// Fields of an administrative licence (行政许可). `reference` is the decision number.
    AdministrativeLicence {
        /// Name of the licence, e.g. 食品经营许可证.
        licence_name: String = Shape::Line(200),
        /// Licence number.
        licence_number: String = Shape::Line(100),
        /// First day of validity.
        valid_from: Date = Shape::Date,
        /// Last day of validity; absent for a licence without end.
        valid_until: Option<Date> = Shape::Date,
        /// Licensed scope.
        scope: Option<String> = Shape::Prose(500),
    }
}

fields_struct! {
    /// Fields of an administrative penalty (行政处罚). `reference` is the decision number.
    AdministrativePenalty {
        /// Violation type, e.g. 虚假广告.
        violation_type: String = Shape::Line(200),
        /// What was done.
        violation: String = Shape::Prose(500),
        /// The penalties imposed, at least one, no repeats.
        penalties: Vec<PenaltyType> = Shape::ChoiceList(PenaltyType::CHOICES, 12),
        /// The fine in fen; above 0 exactly when `penalties` includes `fine`.
        fine_amount_fen: u64 = Shape::Fen,
        /// Illegal gains or property confiscated, in fen.
        confiscated_amount_fen: Option<u64> = Shape::Fen,
        /// Severity tier.
        severity: Severity = Shape::Choice(Severity::CHOICES),
        /// Publicity period in months from `date` (0: not published).
        publicity_months: u16 = Shape::Whole { min: 0, max: 120 },
        /// Legal basis, e.g. the article applied.
        legal_basis: Option<String> = Shape::Prose(500),
    }
}

fields_struct! {
    /// Fields of an inspection result (抽查检查结果).
    InspectionResult {
        /// The inspection task (name or number).
        task: String = Shape::Line(200),
        /// Items checked, at least one.
        items: Vec<String> = Shape::Lines { items: 50, len: 200 },
        /// Number of inspectors on site (their names are personal data and stay out of the log).
        inspector_count: u16 = Shape::Whole { min: 1, max: 100 },
        /// Log index of the inspection draw that selected the enterprise, if any.
        draw_index: Option<u64> = Shape::Whole { min: 0, max: u64::MAX },
        /// The result.
        result: InspectionOutcome = Shape::Choice(InspectionOutcome::CHOICES),
        /// What was found; required when the result is `issues_found` or `corrected`.
        findings: Option<String> = Shape::Prose(500),
    }
}

fields_struct! {
    /// Fields of an annual report (年报). `date` is the filing date.
    AnnualReport {
        /// The year reported on; filed from 1 January to 30 June of the next year.
        report_year: u16 = Shape::Whole { min: 1900, max: 9998 },
        /// Declared operating status.
        status: OperatingStatus = Shape::Choice(OperatingStatus::CHOICES),
        /// Number of staff.
        staff: u32 = Shape::Whole { min: 0, max: 10_000_000 },
        /// Total assets in fen, if the enterprise discloses them.
        assets_fen: Option<u64> = Shape::Fen,
        /// Revenue in fen, if disclosed.
        revenue_fen: Option<u64> = Shape::Fen,
        /// Tax paid in fen, if disclosed.
        tax_fen: Option<u64> = Shape::Fen,
        /// Filed by 30 June of the year after `report_year`.
        on_time: bool = Shape::Bool,
    }
}

fields_struct! {
    /// Fields of a listing in the abnormal-operations list (列入经营异常名录).
    AbnormalOperationsListing {
        /// The ground for listing.
        reason: AbnormalReason = Shape::Choice(AbnormalReason::CHOICES),
        /// Basis document or details.
        basis: Option<String> = Shape::Prose(500),
    }
}

fields_struct! {
    /// Fields of a removal from the abnormal-operations or the serious list.
    ListRemoval {
        /// Date of the listing this removal ends.
        listing_date: Date = Shape::Date,
        /// Log index of the listing entry, when the listing is on the log.
        listing_index: Option<u64> = Shape::Whole { min: 0, max: u64::MAX },
        /// Why the enterprise leaves the list.
        ground: RemovalGround = Shape::Choice(RemovalGround::CHOICES),
    }
}

fields_struct! {
    /// Fields of a listing in the serious illegal and dishonest list (列入严重违法失信名单).
    SeriousDishonestyListing {
        /// The grounds for listing.
        grounds: String = Shape::Prose(500),
        /// The rule applied, e.g. 《市场监督管理严重违法失信名单管理办法》第十条.
        basis: String = Shape::Line(200),
        /// Publicity period in months from `date` (3 years under the 2021 rules).
        publicity_months: u16 = Shape::Whole { min: 1, max: 120 },
        /// Decision number of the penalty behind the listing, if any.
        penalty_reference: Option<String> = Shape::Line(100),
    }
}

fields_struct! {
    /// Fields of a red-list or black-list entry (红黑名单).
    CreditListEntry {
        /// Which list, e.g. 失信被执行人 or 纳税信用A级纳税人.
        list: String = Shape::Line(200),
        /// The rule or decision behind the entry.
        basis: String = Shape::Prose(500),
        /// Last day on the list; absent if open-ended.
        valid_until: Option<Date> = Shape::Date,
    }
}

fields_struct! {
    /// Fields of a commendation (表彰).
    Commendation {
        /// The title awarded.
        title: String = Shape::Line(200),
        /// Level of the awarding body.
        level: Level = Shape::Choice(Level::CHOICES),
        /// Last day the title is held, if limited.
        valid_until: Option<Date> = Shape::Date,
    }
}

fields_struct! {
    /// Fields of a credit commitment (信用承诺).
    CreditCommitment {
        /// The kind of commitment.
        commitment_type: CommitmentType = Shape::Choice(CommitmentType::CHOICES),
        /// What the enterprise promised.
        content: String = Shape::Prose(500),
        /// Deadline for keeping it, if any.
        due: Option<Date> = Shape::Date,
    }
}

fields_struct! {
    /// Fields of a commitment outcome (承诺履行情况).
    CommitmentOutcome {
        /// Reference of the commitment checked.
        commitment_reference: String = Shape::Line(100),
        /// Log index of the commitment entry, when it is on the log.
        commitment_index: Option<u64> = Shape::Whole { min: 0, max: u64::MAX },
        /// Whether the commitment was kept.
        kept: bool = Shape::Bool,
        /// Details.
        details: Option<String> = Shape::Prose(500),
    }
}

fields_struct! {
    /// Fields of a verified complaint (投诉举报, counted only once verified). `reference` is the
    /// ticket number.
    VerifiedComplaint {
        /// Channel it came in on.
        channel: ComplaintChannel = Shape::Choice(ComplaintChannel::CHOICES),
        /// Type of complaint, e.g. 食品安全.
        complaint_type: String = Shape::Line(200),
        /// Whether verification found the complaint substantiated.
        substantiated: bool = Shape::Bool,
        /// Details.
        details: Option<String> = Shape::Prose(500),
    }
}

fields_struct! {
    /// Fields of a judgment or enforcement case (司法判决/执行). `reference` is the case number.
    Judgment {
        /// Judgment or enforcement.
        stage: JudgmentStage = Shape::Choice(JudgmentStage::CHOICES),
        /// The obligation imposed.
        obligation: String = Shape::Prose(500),
        /// Amount owed in fen, if monetary.
        amount_fen: Option<u64> = Shape::Fen,
        /// Whether the obligation has been performed.
        performed: bool = Shape::Bool,
    }
}

fields_struct! {
    /// Fields of a tax credit grade (纳税信用等级). `date` is the publication date.
    TaxCreditGrade {
        /// The tax year graded, not after the year of `date`.
        tax_year: u16 = Shape::Whole { min: 1900, max: 9999 },
        /// The grade.
        grade: TaxGrade = Shape::Choice(TaxGrade::CHOICES),
        /// The evaluation score, 0–100, if given; 90 or more for grade A.
        score: Option<u8> = Shape::Whole { min: 0, max: 100 },
    }
}

fields_struct! {
    /// Fields of social-security arrears (社保欠缴).
    SocialSecurityArrears {
        /// First day of the period in arrears, not after `date`.
        period_from: Date = Shape::Date,
        /// Last day of the period in arrears.
        period_until: Date = Shape::Date,
        /// Amount in arrears in fen, above 0.
        amount_fen: u64 = Shape::Fen,
        /// Number of employees affected, if known.
        employees_affected: Option<u32> = Shape::Whole { min: 1, max: 10_000_000 },
        /// Whether the arrears have been paid.
        settled: bool = Shape::Bool,
    }
}

fields_struct! {
    /// Fields of an environmental violation (环境违法).
    EnvironmentalViolation {
        /// What was found.
        violation: String = Shape::Prose(500),
        /// Severity tier ("serious pollution" downgrades at once, `shared/DOMAIN.md` §3).
        severity: Severity = Shape::Choice(Severity::CHOICES),
        /// Whether it has been rectified.
        rectified: bool = Shape::Bool,
    }
}

fields_struct! {
    /// Fields of a work-safety accident (安全生产事故). `reference` is the investigation report.
    WorkSafetyAccident {
        /// What happened.
        description: String = Shape::Prose(500),
        /// Accident grade; at least the grade the casualties and loss call for.
        grade: AccidentGrade = Shape::Choice(AccidentGrade::CHOICES),
        /// Deaths.
        deaths: u32 = Shape::Whole { min: 0, max: 100_000 },
        /// Serious injuries (including acute industrial poisoning).
        serious_injuries: u32 = Shape::Whole { min: 0, max: 100_000 },
        /// Direct economic loss in fen, if assessed.
        direct_loss_fen: Option<u64> = Shape::Fen,
    }
}

fields_struct! {
    /// Fields of a retraction or correction (撤回/更正). The target entry stays on the log; a
    /// correction is this retraction followed by a new record.
    Retraction {
        /// Log index of the entry retracted.
        target_index: u64 = Shape::Whole { min: 0, max: u64::MAX },
        /// The ground.
        ground: RetractionGround = Shape::Choice(RetractionGround::CHOICES),
        /// Why, in words.
        reason: String = Shape::Prose(500),
    }
}

impl RecordKind {
    /// Names of this kind's `fields`, in order.
    pub fn field_names(self) -> impl Iterator<Item = &'static str> {
        schema(self).iter().map(|f| f.name)
    }
}

/// The flat columns of a kind for CSV import: [`COMMON_COLUMNS`] then the kind's field names,
/// in the order [`Record::to_json_bytes`] writes them.
pub fn csv_columns(kind: RecordKind) -> &'static [&'static str] {
    static COLUMNS: OnceLock<Vec<Vec<&'static str>>> = OnceLock::new();
    let columns = COLUMNS.get_or_init(|| {
        RecordKind::ALL.iter().map(|k| COMMON_COLUMNS.iter().copied().chain(k.field_names()).collect()).collect()
    });
    // `ALL` lists the kinds in declaration order, so a kind's discriminant is its position.
    &columns[kind as usize]
}

/// Whether `field` (a [`csv_columns`] name) must be given in a record of `kind`: the common
/// columns always, a kind's field unless it is optional.
pub fn is_required_field(kind: RecordKind, field: &str) -> bool {
    COMMON_COLUMNS.contains(&field) || schema(kind).iter().any(|f| f.name == field && f.required)
}

/// Whether `code` is a department code (see [`DEPARTMENT_CODE_RULE`]).
pub fn is_department_code(code: &str) -> bool {
    let b = code.as_bytes();
    (1..=64).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// A validated department record. Built only by [`Record::new`], [`Record::parse`] or
/// [`Record::from_flat`], so every record that exists passes every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    subject: Uscc,
    department: String,
    date: Date,
    reference: String,
    fields: RecordFields,
}

impl Record {
    /// A record from typed parts; the kind is that of `fields`.
    ///
    /// # Errors
    ///
    /// The checks of [`Record::parse`] that the types do not already guarantee: department
    /// code, text lengths, amount and number ranges, and the rules between fields.
    pub fn new(
        subject: Uscc,
        department: impl Into<String>,
        date: Date,
        reference: impl Into<String>,
        fields: RecordFields,
    ) -> Result<Self, RecordError> {
        let record = Self { subject, department: department.into(), date, reference: reference.into(), fields };
        let value = serde_json::to_value(&record).map_err(|e| error("", e.to_string()))?;
        from_value(&value, true)?;
        Ok(record)
    }

    /// Parses and validates a record payload.
    ///
    /// # Errors
    ///
    /// A [`RecordError`] for the first problem found: bytes that are not JSON or hold a
    /// duplicate key; a missing, unknown or ill-typed top-level field; a `type` other than
    /// [`RECORD_FORMAT`]; an unknown kind; a subject that is not a valid USCC; a bad department
    /// code, date or reference; `fields` that belong to another kind; then in `fields` an
    /// unknown or missing field, a value of the wrong type or out of range, and a broken rule
    /// between fields.
    pub fn parse(bytes: &[u8]) -> Result<Self, RecordError> {
        from_value(&strict_json(bytes)?, true)
    }

    /// [`Record::parse`], also giving the JSON value it read: what scoring tests field
    /// conditions on, parsed once.
    ///
    /// # Errors
    ///
    /// As [`Record::parse`].
    pub fn parse_with_json(bytes: &[u8]) -> Result<(Self, Value), RecordError> {
        let value = strict_json(bytes)?;
        Ok((from_value(&value, true)?, value))
    }

    /// Builds a record of `kind` from flat string cells named by [`csv_columns`]. An empty
    /// (or all-blank) cell is an absent field. Numbers are plain decimal digits; booleans are
    /// `true`/`false` or `是`/`否`; a closed-list value may be its name or its Chinese name;
    /// list fields (`items`, `penalties`) are `;`-separated.
    ///
    /// # Errors
    ///
    /// A [`RecordError`] whose `field` is the column name (`items[1]` for the second element
    /// of a list): a duplicate or unknown column, a cell that does not read as its type, and
    /// every check of [`Record::parse`].
    pub fn from_flat(kind: RecordKind, cells: &[(&str, &str)]) -> Result<Self, RecordError> {
        let schema = schema(kind);
        let mut top = Map::new();
        top.insert("type".into(), RECORD_FORMAT.into());
        top.insert("kind".into(), kind.as_str().into());
        let mut fields = Map::new();
        let mut seen = BTreeSet::new();
        for &(column, cell) in cells {
            if !seen.insert(column) {
                return Err(error(column, "this column appears twice"));
            }
            let blank = cell.trim().is_empty();
            if COMMON_COLUMNS.contains(&column) {
                if !blank {
                    top.insert(column.into(), cell.into());
                }
                continue;
            }
            let field = schema.iter().find(|f| f.name == column).ok_or_else(|| {
                error(
                    column,
                    format!("unknown column for kind {kind}; its columns are: {}", csv_columns(kind).join(", ")),
                )
            })?;
            if !blank {
                fields.insert(column.into(), flat_value(field.shape, cell).map_err(|rule| error(column, rule))?);
            }
        }
        top.insert("fields".into(), Value::Object(fields));
        from_value(&Value::Object(top), false).map_err(|e| match e.field.strip_prefix("fields.") {
            Some(column) => error(column, e.rule),
            None => e,
        })
    }

    /// The payload as compact JSON: keys in the order `type, kind, subject, department, date,
    /// reference, fields`, each kind's fields in [`csv_columns`] order, absent optional fields
    /// left out. Deterministic; `Record::parse(&r.to_json_bytes()) == Ok(r)`.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        // Serialising strings, numbers, booleans and structs to a Vec cannot fail.
        serde_json::to_vec(self).expect("a record always serialises")
    }

    /// The kind named at the front of a record's JSON as [`Record::to_json_bytes`] writes it
    /// (`{"type":"creditlog.record/v1","kind":"…"`), without parsing the rest: `None` when the
    /// bytes do not start that way. A record's own JSON never names another kind there, so a
    /// reader looking for one kind may skip the bytes whose front names a different one.
    pub fn kind_in_json(json: &[u8]) -> Option<&[u8]> {
        let front = format!("{{\"type\":\"{RECORD_FORMAT}\",\"kind\":\"");
        let rest = json.strip_prefix(front.as_bytes())?;
        let end = rest.iter().position(|b| *b == b'"')?;
        let kind = &rest[..end];
        kind.iter().all(|b| b.is_ascii_lowercase() || *b == b'_').then_some(kind)
    }

    /// The kind, that of [`Record::fields`].
    pub fn kind(&self) -> RecordKind {
        self.fields.kind()
    }

    /// The enterprise the record is about.
    pub fn subject(&self) -> &Uscc {
        &self.subject
    }

    /// Code of the department that produced the record.
    pub fn department(&self) -> &str {
        &self.department
    }

    /// Date of the decision or event.
    pub fn date(&self) -> Date {
        self.date
    }

    /// Document number: decision no., case no., ticket.
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The kind's own fields.
    pub fn fields(&self) -> &RecordFields {
        &self.fields
    }

    /// The last day (inclusive) of the period the record itself states, for kinds that state
    /// one:
    ///
    /// | kind | end |
    /// | --- | --- |
    /// | `administrative_licence` | `valid_until` |
    /// | `administrative_penalty` | `date` + `publicity_months` (the day itself if 0) |
    /// | `serious_dishonesty_listing` | `date` + `publicity_months` |
    /// | `red_list`, `black_list`, `commendation` | `valid_until` |
    ///
    /// Months are added as by [`Date::add_months`] (3 months from 2026-11-20 ends on
    /// 2027-02-20; from 2026-11-30, on 2027-02-28), saturating at 9999-12-31. `None` when the
    /// kind has no period or none is given: such a record counts until a later entry (removal,
    /// retraction, repair, a newer grade) ends it, or for as long as a scoring model's own
    /// effect period (影响期) says. A record is in force on day `d` when
    /// `date <= d <= effect_end`; later removals and retractions are not considered here.
    pub fn effect_end(&self) -> Option<Date> {
        let after = |months: u16| Some(self.date.add_months(u32::from(months)).unwrap_or(Date::MAX));
        match &self.fields {
            RecordFields::AdministrativeLicence(f) => f.valid_until,
            RecordFields::AdministrativePenalty(f) => after(f.publicity_months),
            RecordFields::SeriousDishonestyListing(f) => after(f.publicity_months),
            RecordFields::RedList(f) | RecordFields::BlackList(f) => f.valid_until,
            RecordFields::Commendation(f) => f.valid_until,
            _ => None,
        }
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Record", TOP_FIELDS.len())?;
        s.serialize_field("type", RECORD_FORMAT)?;
        s.serialize_field("kind", &self.kind())?;
        s.serialize_field("subject", &self.subject)?;
        s.serialize_field("department", &self.department)?;
        s.serialize_field("date", &self.date)?;
        s.serialize_field("reference", &self.reference)?;
        s.serialize_field("fields", &self.fields)?;
        s.end()
    }
}

/// Validates a payload held as a JSON value and builds the record. `detect_mismatch` names
/// `kind` as the culprit when `fields` fit another kind exactly.
fn from_value(value: &Value, detect_mismatch: bool) -> Result<Record, RecordError> {
    let top =
        value.as_object().ok_or_else(|| error("", format!("a record is a JSON object, not {}", describe(value))))?;
    if let Some(key) = top.keys().find(|k| !TOP_FIELDS.contains(&k.as_str())) {
        return Err(error(key, format!("unknown field; a record has the fields {}", TOP_FIELDS.join(", "))));
    }
    let get = |name: &'static str| {
        top.get(name).filter(|v| !v.is_null()).ok_or_else(|| error(name, "missing; every record has this field"))
    };
    let text = |name: &'static str| {
        get(name).and_then(|v| v.as_str().ok_or_else(|| error(name, format!("expected text, found {}", describe(v)))))
    };

    let format = text("type")?;
    if format != RECORD_FORMAT {
        return Err(error("type", format!("must be {RECORD_FORMAT:?}, not {format:?}")));
    }
    let kind: RecordKind = text("kind")?.parse().map_err(|e: UnknownName| error("kind", e.to_string()))?;
    let subject = Uscc::parse(text("subject")?).map_err(|e| error("subject", e.to_string()))?;
    let department = text("department")?;
    if !is_department_code(department) {
        return Err(error("department", format!("{DEPARTMENT_CODE_RULE}, not {department:?}")));
    }
    let date = Date::parse(text("date")?).map_err(|e| error("date", e.to_string()))?;
    let reference = text("reference")?;
    check_text(reference, REFERENCE_MAX, false).map_err(|rule| error("reference", rule))?;
    let fields = get("fields")?;
    let fields =
        fields.as_object().ok_or_else(|| error("fields", format!("expected an object, found {}", describe(fields))))?;

    check_fields(kind, fields, detect_mismatch)?;
    let fields = fields_from_value(kind, fields.clone())
        .map_err(|e| error("fields", format!("do not match kind {kind}: {e}")))?;
    check_between_fields(date, &fields)?;
    Ok(Record { subject, department: department.to_owned(), date, reference: reference.to_owned(), fields })
}

/// Whether every key of `fields` is in `schema` and every required field is present.
fn fits(schema: &[Field], fields: &Map<String, Value>) -> bool {
    fields.keys().all(|k| schema.iter().any(|f| f.name == k))
        && schema.iter().filter(|f| f.required).all(|f| fields.get(f.name).is_some_and(|v| !v.is_null()))
}

/// Checks `fields` against the kind's schema, one field at a time.
fn check_fields(kind: RecordKind, fields: &Map<String, Value>, detect_mismatch: bool) -> Result<(), RecordError> {
    let schema = schema(kind);
    if detect_mismatch && !fits(schema, fields) {
        let others: Vec<String> = RecordKind::ALL
            .iter()
            .filter(|k| fits(self::schema(**k), fields))
            .map(|k| format!("{:?}", k.as_str()))
            .collect();
        if !others.is_empty() {
            return Err(error(
                "kind",
                format!("kind is {:?}, but the fields are those of {}", kind.as_str(), others.join(" or ")),
            ));
        }
    }
    let names = || schema.iter().map(|f| f.name).collect::<Vec<_>>().join(", ");
    if let Some(key) = fields.keys().find(|k| !schema.iter().any(|f| f.name == k.as_str())) {
        return Err(error(
            format!("fields.{key}"),
            format!("unknown field; a {kind} record has the fields {}", names()),
        ));
    }
    for field in schema {
        let path = format!("fields.{}", field.name);
        match fields.get(field.name) {
            None | Some(Value::Null) if field.required => {
                return Err(error(path, format!("missing; a {kind} record requires it")));
            }
            None | Some(Value::Null) => {}
            Some(value) => check_value(&path, field.shape, value)?,
        }
    }
    Ok(())
}

/// Checks one value against its shape.
fn check_value(path: &str, shape: Shape, value: &Value) -> Result<(), RecordError> {
    let text = || value.as_str().ok_or_else(|| error(path, format!("expected text, found {}", describe(value))));
    let list = |what: &str, max: usize| {
        let items = value
            .as_array()
            .ok_or_else(|| error(path, format!("expected a list of {what}, found {}", describe(value))))?;
        if items.is_empty() || items.len() > max {
            return Err(error(path, format!("a list of 1 to {max} {what}; this one has {}", items.len())));
        }
        Ok(items)
    };
    match shape {
        Shape::Line(max) => check_text(text()?, max, false).map_err(|rule| error(path, rule)),
        Shape::Prose(max) => check_text(text()?, max, true).map_err(|rule| error(path, rule)),
        Shape::Lines { items, len } => {
            for (i, item) in list("texts", items)?.iter().enumerate() {
                let path = format!("{path}[{i}]");
                let item =
                    item.as_str().ok_or_else(|| error(&path, format!("expected text, found {}", describe(item))))?;
                check_text(item, len, false).map_err(|rule| error(&path, rule))?;
            }
            Ok(())
        }
        Shape::Date => Date::parse(text()?).map(|_| ()).map_err(|e| error(path, e.to_string())),
        Shape::Fen => match value.as_u64() {
            Some(n) if n <= MAX_FEN => Ok(()),
            _ => Err(error(path, format!("{FEN_RULE}, not {}", describe(value)))),
        },
        Shape::Whole { min, max } => match value.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(()),
            _ => Err(error(path, format!("a whole number from {min} to {max}, not {}", describe(value)))),
        },
        Shape::Bool => match value {
            Value::Bool(_) => Ok(()),
            _ => Err(error(path, format!("true or false, not {}", describe(value)))),
        },
        Shape::Choice(choices) => check_choice(path, choices, value),
        Shape::ChoiceList(choices, max) => {
            let mut seen = BTreeSet::new();
            for (i, item) in list(choices.whats, max)?.iter().enumerate() {
                let path = format!("{path}[{i}]");
                check_choice(&path, choices, item)?;
                if !seen.insert(item.as_str()) {
                    return Err(error(path, format!("{} is listed twice", describe(item))));
                }
            }
            Ok(())
        }
    }
}

fn check_choice(path: &str, choices: Choices, value: &Value) -> Result<(), RecordError> {
    match value.as_str() {
        Some(name) if choices.contains(name) => Ok(()),
        Some(name) => Err(error(path, choices.unknown(name).to_string())),
        None => Err(error(
            path,
            format!("expected a {} ({}), found {}", choices.what, list_names(choices.labels), describe(value)),
        )),
    }
}

/// Bidirectional-text controls, which can make displayed text differ from the stored text.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Checks free text: not blank, at most `max` characters, no control characters (line breaks
/// and tabs allowed when `multiline`).
fn check_text(text: &str, max: usize, multiline: bool) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("text of 1 to {max} characters, not empty or blank"));
    }
    let count = text.chars().count();
    if count > max {
        return Err(format!("text of at most {max} characters; this one has {count}"));
    }
    for (i, c) in text.chars().enumerate() {
        let allowed = multiline && matches!(c, '\n' | '\r' | '\t');
        if (c.is_control() && !allowed) || is_bidi_control(c) {
            let allowed = if multiline { "other than line breaks and tabs" } else { "or line breaks" };
            return Err(format!(
                "character {} is the control character U+{:04X}; this text may hold no control characters {allowed}",
                i + 1,
                u32::from(c)
            ));
        }
    }
    Ok(())
}

/// A short description of a JSON value for error messages.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => {
            format!("the text {:?}...", s.chars().take(40).collect::<String>())
        }
        Value::String(s) => format!("the text {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// The JSON value of a CSV cell, or the rule it breaks.
fn flat_value(shape: Shape, cell: &str) -> Result<Value, String> {
    let trimmed = cell.trim();
    let digits = |rule: &str| {
        trimmed
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| trimmed.parse::<u64>().ok())
            .flatten()
            .map(Value::from)
            .ok_or_else(|| format!("{rule}, not {cell:?}"))
    };
    match shape {
        Shape::Line(_) | Shape::Prose(_) => Ok(cell.into()),
        Shape::Lines { .. } => Ok(cell.split(';').map(|item| Value::from(item.trim())).collect()),
        Shape::Date => Ok(trimmed.into()),
        Shape::Fen => digits(FEN_RULE),
        Shape::Whole { min, max } => digits(&format!("a whole number from {min} to {max}")),
        Shape::Bool => match trimmed {
            "true" | "是" => Ok(true.into()),
            "false" | "否" => Ok(false.into()),
            _ => Err(format!("true or false (是 or 否), not {cell:?}")),
        },
        Shape::Choice(choices) => {
            choices.name_for_label(trimmed).map(Value::from).ok_or_else(|| choices.unknown_label(trimmed))
        }
        Shape::ChoiceList(choices, _) => trimmed
            .split(';')
            .map(|item| {
                choices.name_for_label(item.trim()).map(Value::from).ok_or_else(|| choices.unknown_label(item.trim()))
            })
            .collect(),
    }
}

/// Rules between fields, and between fields and the record's date.
fn check_between_fields(date: Date, fields: &RecordFields) -> Result<(), RecordError> {
    let not_before = |path: &str, later: Date, earlier: Date, earlier_name: &str| {
        if later < earlier {
            Err(error(path, format!("{later} is before {earlier_name} ({earlier})")))
        } else {
            Ok(())
        }
    };
    match fields {
        RecordFields::AdministrativeLicence(f) => {
            if let Some(until) = f.valid_until {
                not_before("fields.valid_until", until, f.valid_from, "valid_from")?;
            }
        }
        RecordFields::AdministrativePenalty(f) => {
            let fined = f.penalties.contains(&PenaltyType::Fine);
            if fined && f.fine_amount_fen == 0 {
                return Err(error(
                    "fields.fine_amount_fen",
                    "penalties include a fine, so the fine amount must be above 0",
                ));
            }
            if !fined && f.fine_amount_fen > 0 {
                return Err(error("fields.penalties", "a fine amount is given, so penalties must include \"fine\""));
            }
        }
        RecordFields::InspectionResult(f)
            if matches!(f.result, InspectionOutcome::IssuesFound | InspectionOutcome::Corrected)
                && f.findings.is_none() =>
        {
            return Err(error("fields.findings", format!("missing; required when the result is {}", f.result)));
        }
        RecordFields::AnnualReport(f) => {
            if f.report_year >= date.year() {
                return Err(error(
                    "fields.report_year",
                    format!(
                        "the annual report for {} is filed from 1 January {}, but the record is dated {date}",
                        f.report_year,
                        f.report_year + 1
                    ),
                ));
            }
            // report_year < date.year() <= 9999, so the deadline exists.
            let deadline = Date::new(u32::from(f.report_year) + 1, 6, 30)
                .map_err(|e| error("fields.report_year", e.to_string()))?;
            if f.on_time && date > deadline {
                return Err(error(
                    "fields.on_time",
                    format!("the report for {} was due by {deadline}, but it was filed on {date}", f.report_year),
                ));
            }
        }
        RecordFields::AbnormalOperationsRemoval(f) | RecordFields::SeriousDishonestyRemoval(f) => {
            not_before("date", date, f.listing_date, "listing_date")?;
        }
        RecordFields::RedList(f) | RecordFields::BlackList(f) => {
            if let Some(until) = f.valid_until {
                not_before("fields.valid_until", until, date, "the record's date")?;
            }
        }
        RecordFields::Commendation(f) => {
            if let Some(until) = f.valid_until {
                not_before("fields.valid_until", until, date, "the record's date")?;
            }
        }
        RecordFields::CreditCommitment(f) => {
            if let Some(due) = f.due {
                not_before("fields.due", due, date, "the record's date")?;
            }
        }
        RecordFields::TaxCreditGrade(f) => {
            if f.tax_year > date.year() {
                return Err(error(
                    "fields.tax_year",
                    format!("tax year {} is after the record's date {date}", f.tax_year),
                ));
            }
            if let (TaxGrade::A, Some(score)) = (f.grade, f.score) {
                if score < 90 {
                    return Err(error("fields.score", format!("grade A needs a score of 90 or more, not {score}")));
                }
            }
        }
        RecordFields::SocialSecurityArrears(f) => {
            not_before("fields.period_until", f.period_until, f.period_from, "period_from")?;
            not_before("date", date, f.period_from, "period_from")?;
            if f.amount_fen == 0 {
                return Err(error("fields.amount_fen", "arrears of 0 fen are not arrears; the amount must be above 0"));
            }
        }
        RecordFields::WorkSafetyAccident(f) => {
            let implied = implied_accident_grade(f.deaths, f.serious_injuries, f.direct_loss_fen.unwrap_or(0));
            if f.grade < implied {
                return Err(error(
                    "fields.grade",
                    format!(
                        "{} deaths, {} serious injuries and a direct loss of {} fen make at least a {implied} accident \
                         (生产安全事故报告和调查处理条例, art. 3), not {}",
                        f.deaths,
                        f.serious_injuries,
                        f.direct_loss_fen.unwrap_or(0),
                        f.grade
                    ),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// The least grade an accident with these casualties and direct loss has (art. 3: each bound
/// is "or more", and any one criterion suffices).
fn implied_accident_grade(deaths: u32, serious_injuries: u32, loss_fen: u64) -> AccidentGrade {
    const MILLION_YUAN: u64 = 100_000_000; // in fen
    if deaths >= 30 || serious_injuries >= 100 || loss_fen >= 100 * MILLION_YUAN {
        AccidentGrade::EspeciallySerious
    } else if deaths >= 10 || serious_injuries >= 50 || loss_fen >= 50 * MILLION_YUAN {
        AccidentGrade::Major
    } else if deaths >= 3 || serious_injuries >= 10 || loss_fen >= 10 * MILLION_YUAN {
        AccidentGrade::Larger
    } else {
        AccidentGrade::Ordinary
    }
}

/// Parses JSON into a value, rejecting a key that appears twice in one object: two readers
/// would otherwise disagree about what a signed payload says.
fn strict_json(bytes: &[u8]) -> Result<Value, RecordError> {
    let duplicate = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictValue { path: String::new(), duplicate: &duplicate }
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match (parsed, duplicate.into_inner()) {
        (Ok(value), _) => Ok(value),
        (Err(_), Some(path)) => Err(error(path, "this key appears twice in one object; a key may appear only once")),
        (Err(e), None) => Err(error("", format!("not valid JSON: {e}"))),
    }
}

/// A JSON value deserialised with duplicate-key detection; `path` locates it for errors.
struct StrictValue<'a> {
    path: String,
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    // A number with a fraction or exponent is kept only to be rejected with its value.
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let seed = StrictValue { path: format!("{}[{}]", self.path, items.len()), duplicate: self.duplicate };
            match seq.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() { key.clone() } else { format!("{}.{key}", self.path) };
            let value = map.next_value_seed(StrictValue { path: path.clone(), duplicate: self.duplicate })?;
            if object.insert(key, value).is_some() {
                *self.duplicate.borrow_mut() = Some(path);
                return Err(serde::de::Error::custom("duplicate key"));
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid value of each shape, at the low or the high end of its range.
    fn sample(shape: Shape, high: bool) -> Value {
        match shape {
            Shape::Line(max) | Shape::Prose(max) => "字".repeat(if high { max } else { 1 }).into(),
            Shape::Lines { items, len } => {
                vec![Value::from("项".repeat(if high { len } else { 1 })); if high { items } else { 1 }].into()
            }
            Shape::Date => "2026-01-01".into(),
            Shape::Fen => (if high { MAX_FEN } else { 0 }).into(),
            Shape::Whole { min, max } => (if high { max } else { min }).into(),
            Shape::Bool => high.into(),
            Shape::Choice(c) => c.labels[if high { c.labels.len() - 1 } else { 0 }].0.into(),
            Shape::ChoiceList(c, max) => {
                c.labels.iter().take(if high { max } else { 1 }).map(|(name, _)| Value::from(*name)).collect()
            }
        }
    }

    /// Every schema accepts its own extreme values, and the struct behind it deserialises
    /// them: the shapes' ranges fit the Rust types, and names and types agree.
    #[test]
    fn schemas_agree_with_structs() {
        for &kind in RecordKind::ALL {
            for high in [false, true] {
                let fields: Map<String, Value> =
                    schema(kind).iter().map(|f| (f.name.to_owned(), sample(f.shape, high))).collect();
                check_fields(kind, &fields, false).unwrap_or_else(|e| panic!("{kind} high={high}: {e}"));
                let parsed =
                    fields_from_value(kind, fields.clone()).unwrap_or_else(|e| panic!("{kind} high={high}: {e}"));
                assert_eq!(parsed.kind(), kind);
                // Every field is present, so serialising gives back the same object.
                assert_eq!(serde_json::to_value(&parsed).unwrap(), Value::Object(fields), "{kind}");
            }
        }
    }

    /// The kind read from the front of a record's JSON is the record's kind, for every kind;
    /// JSON written another way (spaces, keys reordered) reads as no kind, never as a wrong one.
    #[test]
    fn the_kind_at_the_front_of_a_records_json_is_its_kind() {
        for &kind in RecordKind::ALL {
            // The low or the high extreme of every field, or the first choice with the highest
            // numbers, on a day after every year field, whichever the kind's own rules accept (a
            // tax grade A needs a high score, in a tax year before the record's date).
            let modes = [(false, false), (true, true), (false, true)];
            let record = modes
                .iter()
                .flat_map(|m| ["2026-01-01", "9999-12-31"].map(|d| (*m, d)))
                .find_map(|((choice_high, high), date)| {
                    let pick = |shape: Shape| match shape {
                        Shape::Choice(_) => sample(shape, choice_high),
                        _ => sample(shape, high),
                    };
                    let fields: Map<String, Value> =
                        schema(kind).iter().map(|f| (f.name.to_owned(), pick(f.shape))).collect();
                    let value = serde_json::json!({
                        "type": RECORD_FORMAT, "kind": kind.as_str(), "subject": "91370303MA3C8DXA25",
                        "department": "zibo-amr", "date": date, "reference": "x", "fields": fields,
                    });
                    Record::parse(&serde_json::to_vec(&value).unwrap()).ok()
                })
                .unwrap_or_else(|| panic!("{kind}: no sample record parses"));
            let bytes = record.to_json_bytes();
            assert_eq!(Record::kind_in_json(&bytes), Some(kind.as_str().as_bytes()), "{kind}");
            let spaced = serde_json::to_vec_pretty(&record).unwrap();
            assert_eq!(Record::kind_in_json(&spaced), None, "{kind}");
        }
        assert_eq!(Record::kind_in_json(br#"{"kind":"administrative_penalty","type":"creditlog.record/v1"}"#), None);
    }

    #[test]
    fn kinds_have_distinct_names_and_match_all() {
        let names: BTreeSet<&str> = RecordKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), RecordKind::ALL.len());
        for (i, kind) in RecordKind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, i);
            assert_eq!(kind.as_str().parse::<RecordKind>(), Ok(*kind));
        }
        assert_eq!(RecordKind::AdministrativePenalty.chinese_name(), "行政处罚");
        let err = "penalty".parse::<RecordKind>().unwrap_err();
        assert!(err
            .to_string()
            .starts_with("unknown record kind \"penalty\"; known record kinds: administrative_licence,"));
    }

    #[test]
    fn text_rules() {
        assert!(check_text("淄张市监罚〔2026〕118号", 100, false).is_ok());
        assert!(check_text("  \t", 100, false).unwrap_err().contains("not empty or blank"));
        assert!(check_text("", 100, false).is_err());
        assert_eq!(
            check_text(&"字".repeat(101), 100, false).unwrap_err(),
            "text of at most 100 characters; this one has 101"
        );
        assert!(check_text(&"字".repeat(100), 100, false).is_ok());
        assert!(check_text("a\nb", 100, false).unwrap_err().contains("character 2 is the control character U+000A"));
        assert!(check_text("a\nb", 100, true).is_ok());
        assert!(check_text("a\u{0}b", 100, true).is_err());
        assert!(check_text("abc\u{202E}def", 100, true).is_err());
    }

    #[test]
    fn department_codes() {
        for good in ["zibo-amr", "a", "tax-370303", &"a".repeat(64)] {
            assert!(is_department_code(good), "{good}");
        }
        for bad in ["", "-amr", "amr-", "Zibo", "zibo amr", "zibo_amr", "淄博", &"a".repeat(65)] {
            assert!(!is_department_code(bad), "{bad}");
        }
    }

    #[test]
    fn accident_grades_follow_the_regulation() {
        assert_eq!(implied_accident_grade(0, 0, 0), AccidentGrade::Ordinary);
        assert_eq!(implied_accident_grade(2, 9, 999_999_999), AccidentGrade::Ordinary);
        assert_eq!(implied_accident_grade(3, 0, 0), AccidentGrade::Larger);
        assert_eq!(implied_accident_grade(0, 10, 0), AccidentGrade::Larger);
        assert_eq!(implied_accident_grade(0, 0, 1_000_000_000), AccidentGrade::Larger);
        assert_eq!(implied_accident_grade(10, 0, 0), AccidentGrade::Major);
        assert_eq!(implied_accident_grade(0, 50, 0), AccidentGrade::Major);
        assert_eq!(implied_accident_grade(0, 0, 5_000_000_000), AccidentGrade::Major);
        assert_eq!(implied_accident_grade(30, 0, 0), AccidentGrade::EspeciallySerious);
        assert_eq!(implied_accident_grade(0, 100, 0), AccidentGrade::EspeciallySerious);
        assert_eq!(implied_accident_grade(0, 0, 10_000_000_000), AccidentGrade::EspeciallySerious);
    }

    #[test]
    fn duplicate_keys_are_found_at_any_depth() {
        assert_eq!(strict_json(br#"{"a":1,"a":2}"#).unwrap_err().field, "a");
        assert_eq!(strict_json(br#"{"fields":{"x":[{"y":1,"y":1}]}}"#).unwrap_err().field, "fields.x[0].y");
        assert_eq!(strict_json(br#"{"a":{"b":1},"c":{"b":1}}"#).unwrap(), serde_json::json!({"a":{"b":1},"c":{"b":1}}));
        let err = strict_json(b"{\"a\":1} x").unwrap_err();
        assert_eq!(err.field, "");
        assert!(err.rule.starts_with("not valid JSON"), "{err}");
    }
}
