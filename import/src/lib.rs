//! Departments' own files into creditlog records (`creditlog import`).
//!
//! What an official has is the export of a case-handling or credit-sharing system: the "double
//! publicity" (双公示) files of licences and penalties, in the columns of the national
//! credit-information data standard, saved from Excel as `.xlsx` or as CSV in GB18030, with dates
//! written three ways and amounts in 万元. This crate reads such a file ([`sheet`]), finds its
//! header row, maps the standard's columns to a record kind's fields by a mapping file
//! ([`mapping`], one per kind in `rules/imports/`), reads the values as officials write them
//! ([`values`]) and builds each row's [`Record`]. Our own English columns (`creditlog kinds`)
//! are read the same way.
//!
//! Every refusal names the row's line, the column by its header as the file writes it, and the
//! rule. Personal data (the legal representative's ID number and the like) are never read into
//! a record: such columns are dropped, and a resident ID number found inside a text the record
//! would keep refuses the row.

pub mod export;
pub mod mapping;
pub mod sheet;
pub mod values;

use mapping::{Column, Mapping, Read};
use sheet::{Row, Table};
use std::collections::BTreeMap;
use values::normalise_header;
use verifier::record::{csv_columns, PenaltyType, Record, RecordKind, Severity};

/// Why a column the mapping does not know is not imported.
pub const NOT_IN_STANDARD: &str = "not a column of the standard: not imported";

/// How many rows from the top are searched for the header row (exports often have a title row
/// or two above it).
pub const HEADER_SEARCH_ROWS: usize = 10;

/// The rule names of refusals made at import, before a record reaches the server.
pub mod rules {
    /// The row is about a natural person, or has no USCC.
    pub const ENTERPRISE_ONLY: &str = "import-enterprise-only";
    /// The deciding body is not the signing department.
    pub const AUTHORITY: &str = "import-authority";
    /// A text the record would keep holds a resident ID number.
    pub const PERSONAL_DATA: &str = "import-personal-data";
    /// A cell does not read as what its column holds (a date, an amount, a penalty category).
    pub const CELL: &str = "import-cell";
    /// A row with more cells than the header.
    pub const ROW_SHAPE: &str = "import-row-shape";
    /// The row reads, but the record it makes breaks a record rule (docs/FORMAT.md §2).
    pub const RECORD: &str = "record-format";
    /// The same document number twice in one file, with different content.
    pub const ONE_RECORD_ONE_ENTRY: &str = "one-record-one-entry";
}

/// Why a row was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The row's line.
    pub line: u64,
    /// The column, by its header as the file writes it; `None` for the row as a whole.
    pub column: Option<String>,
    /// The rule's name (see [`rules`], or an authority rule the server names).
    pub rule: String,
    /// What is wrong, in plain language.
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(c) = &self.column {
            write!(f, ", column {c}")?;
        }
        write!(f, ": {} (rule {})", self.message, self.rule)
    }
}

/// How the file is laid out.
#[derive(Debug, Clone)]
pub enum Layout {
    /// Our own English columns ([`csv_columns`]).
    Native,
    /// A standard export read by a mapping file.
    Standard(Box<Mapping>),
}

/// One record field and the columns that may give it, in priority order.
#[derive(Debug, Clone)]
struct Source {
    field: String,
    columns: Vec<(usize, Column)>,
}

/// A file's header understood: which column gives which field.
#[derive(Debug, Clone)]
pub struct Importer {
    kind: RecordKind,
    layout: Layout,
    department: String,
    department_name: Option<String>,
    /// The header row's line.
    pub header_line: u64,
    /// Index of the first data row in the table.
    pub first_row: usize,
    /// The header cells as the file writes them.
    pub headers: Vec<String>,
    sources: Vec<Source>,
    uscc: Option<usize>,
    category: Option<usize>,
    authority: Option<usize>,
    /// Columns of the file that are not imported, with why.
    pub ignored: Vec<(String, String)>,
}

/// A row read into a record, with how its severity was decided when it was derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The row's line.
    pub line: u64,
    /// The record.
    pub record: Record,
    /// The severity was derived by the mapping's rules (no severity column).
    pub severity_derived: bool,
}

impl Importer {
    /// Finds the header row of `table` (within its first [`HEADER_SEARCH_ROWS`] rows) and maps
    /// its columns: a standard export when the row holds the mapping's signature headers, our own
    /// columns when every cell is one of [`csv_columns`]. `mapping` replaces the shipped mapping
    /// of `kind`. `department` is the signing department's code; `department_name` its
    /// registered name, which the deciding-body column must match.
    ///
    /// # Errors
    ///
    /// A message naming the problem: no header row found (with what was looked for), a header
    /// row of another kind, a column the record needs missing, a column named twice.
    pub fn new(
        kind: RecordKind,
        table: &Table,
        mapping: Option<Mapping>,
        department: &str,
        department_name: Option<&str>,
    ) -> Result<Self, String> {
        let mapping = mapping.or_else(|| Mapping::shipped(kind));
        let native = csv_columns(kind);
        for (i, row) in table.rows.iter().take(HEADER_SEARCH_ROWS).enumerate() {
            let normalised: Vec<String> = row.cells.iter().map(|c| normalise_header(c)).collect();
            let nonblank: Vec<&String> = normalised.iter().filter(|c| !c.is_empty()).collect();
            if !nonblank.is_empty()
                && nonblank.iter().all(|c| native.contains(&c.as_str()))
                && nonblank.contains(&&"subject".to_owned())
            {
                return Self::native(kind, row, i, department, department_name);
            }
            if let Some(m) = &mapping {
                if m.matches(&normalised) {
                    return Self::standard(kind, m.clone(), row, i, &normalised, department, department_name);
                }
            }
            for (other, text) in mapping::SHIPPED {
                let (_, m) = Mapping::parse(text).expect("a shipped mapping file is valid (tested)");
                if *other != kind && m.matches(&normalised) {
                    return Err(format!(
                        "line {}: this is a {} ({}) export, not {} ({}): import it with --kind {}",
                        row.line,
                        other.chinese_name(),
                        other.as_str(),
                        kind.chinese_name(),
                        kind.as_str(),
                        other.as_str()
                    ));
                }
            }
        }
        let mut wanted = format!("our own columns ({})", native.join(","));
        if let Some(m) = &mapping {
            wanted = format!(
                "the {} export's columns ({}: {}), or {wanted}",
                kind.chinese_name(),
                m.standard,
                m.signature.join(", ")
            );
        }
        Err(format!("no header row in the first {HEADER_SEARCH_ROWS} rows: expected {wanted}"))
    }

    fn native(
        kind: RecordKind,
        row: &Row,
        i: usize,
        department: &str,
        department_name: Option<&str>,
    ) -> Result<Self, String> {
        let mut sources: Vec<Source> = Vec::new();
        for (col, cell) in row.cells.iter().enumerate() {
            let name = normalise_header(cell);
            if name.is_empty() {
                continue;
            }
            if sources.iter().any(|s| s.field == name) {
                return Err(format!("line {}: column {name} appears twice", row.line));
            }
            let column = Column {
                header: name.clone(),
                aliases: vec![],
                field: name.clone(),
                read: Read::Text,
                blank: None,
                zero_is_blank: false,
                open_ended: vec![],
            };
            sources.push(Source { field: name, columns: vec![(col, column)] });
        }
        Ok(Self {
            kind,
            layout: Layout::Native,
            department: department.to_owned(),
            department_name: department_name.map(str::to_owned),
            header_line: row.line,
            first_row: i + 1,
            headers: row.cells.clone(),
            sources,
            uscc: None,
            category: None,
            authority: None,
            ignored: vec![],
        })
    }

    fn standard(
        kind: RecordKind,
        m: Mapping,
        row: &Row,
        i: usize,
        normalised: &[String],
        department: &str,
        department_name: Option<&str>,
    ) -> Result<Self, String> {
        let find = |names: &mut dyn Iterator<Item = String>| -> Result<Option<usize>, String> {
            let names: Vec<String> = names.collect();
            let hits: Vec<usize> =
                normalised.iter().enumerate().filter(|(_, h)| names.contains(h)).map(|(c, _)| c).collect();
            match hits.as_slice() {
                [] => Ok(None),
                [c] => Ok(Some(*c)),
                _ => Err(format!(
                    "line {}: the columns {} all name {}: keep one",
                    row.line,
                    hits.iter().map(|c| row.cells[*c].trim()).collect::<Vec<_>>().join(", "),
                    names[0]
                )),
            }
        };
        let mut used = vec![false; normalised.len()];
        let mut sources: Vec<Source> = Vec::new();
        for c in &m.columns {
            if let Some(col) = find(&mut Mapping::names_of(&c.header, &c.aliases))? {
                used[col] = true;
                match sources.iter_mut().find(|s| s.field == c.field) {
                    Some(s) => s.columns.push((col, c.clone())),
                    None => sources.push(Source { field: c.field.clone(), columns: vec![(col, c.clone())] }),
                }
            }
        }
        let uscc = find(&mut Mapping::names_of(&m.party.uscc, &m.party.uscc_aliases))?;
        let category = find(&mut Mapping::names_of(&m.party.category, &[]))?;
        let name = find(&mut Mapping::names_of(&m.party.name, &[]))?;
        let authority = match &m.authority {
            Some(a) => find(&mut Mapping::names_of(&a.column, &[]))?,
            None => None,
        };
        for col in [uscc, category, name, authority].into_iter().flatten() {
            used[col] = true;
        }
        let Some(uscc) = uscc else {
            return Err(format!(
                "line {}: no column {} (the party's USCC): every record is about an enterprise",
                row.line, m.party.uscc
            ));
        };
        // Every required field of the kind must have a column, except those the mapping derives.
        let derived = ["subject", "department", "severity", "publicity_months", "fine_amount_fen"];
        let fields_schema: Vec<&str> = csv_columns(kind).to_vec();
        let mut missing = Vec::new();
        for field in fields_schema {
            if derived.contains(&field) || sources.iter().any(|s| s.field == field) || !required(kind, field) {
                continue;
            }
            let headers: Vec<&str> = m.columns.iter().filter(|c| c.field == field).map(|c| c.header.as_str()).collect();
            missing.push(if headers.is_empty() { field.to_owned() } else { headers.join(" or ") });
        }
        if !missing.is_empty() {
            return Err(format!(
                "line {}: the header row has no column {}: the record needs it",
                row.line,
                missing.join(", ")
            ));
        }
        let mut ignored = Vec::new();
        for (col, h) in normalised.iter().enumerate() {
            if used[col] || h.is_empty() {
                continue;
            }
            let why = m
                .drops
                .iter()
                .find(|d| normalise_header(&d.header) == *h)
                .map_or_else(|| NOT_IN_STANDARD.to_owned(), |d| d.why.clone());
            ignored.push((row.cells[col].trim().to_owned(), why));
        }
        Ok(Self {
            kind,
            layout: Layout::Standard(Box::new(m)),
            department: department.to_owned(),
            department_name: department_name.map(str::to_owned),
            header_line: row.line,
            first_row: i + 1,
            headers: row.cells.clone(),
            sources,
            uscc: Some(uscc),
            category,
            authority,
            ignored,
        })
    }

    /// The record kind.
    pub fn kind(&self) -> RecordKind {
        self.kind
    }

    /// The layout found.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// A short description of the layout, for the summary.
    pub fn describe(&self) -> String {
        match &self.layout {
            Layout::Native => format!("creditlog columns of {}", self.kind.as_str()),
            Layout::Standard(m) => format!("双公示 {} export ({})", self.kind.chinese_name(), m.standard),
        }
    }

    /// The header (as the file writes it) of the column that gives a record field or path
    /// (`fields.fine_amount_fen`, `subject`, `penalties[1]`), for naming a refusal.
    pub fn column_of(&self, field: &str) -> Option<String> {
        let field = field.strip_prefix("fields.").unwrap_or(field);
        let field = field.split('[').next().unwrap_or(field);
        if field == "subject" {
            if let Some(c) = self.uscc {
                return Some(self.headers[c].trim().to_owned());
            }
        }
        self.sources.iter().find(|s| s.field == field).map(|s| self.headers[s.columns[0].0].trim().to_owned())
    }

    /// Whether a row is blank (every cell empty): skipped, not refused.
    pub fn is_blank(row: &Row) -> bool {
        row.cells.iter().all(|c| c.trim().is_empty())
    }

    /// Reads one data row into a record.
    ///
    /// # Errors
    ///
    /// A [`RowError`] naming the line, the column and the rule.
    pub fn record(&self, row: &Row) -> Result<Imported, RowError> {
        let err = |col: Option<usize>, rule: &str, message: String| RowError {
            line: row.line,
            column: col.map(|c| self.headers.get(c).map_or_else(String::new, |h| h.trim().to_owned())),
            rule: rule.to_owned(),
            message,
        };
        if row.cells.len() > self.headers.len() && row.cells[self.headers.len()..].iter().any(|c| !c.trim().is_empty())
        {
            return Err(err(
                None,
                rules::ROW_SHAPE,
                format!(
                    "the row has {} cells, the header {}: a cell holds an unquoted separator",
                    row.cells.len(),
                    self.headers.len()
                ),
            ));
        }
        if row.cells.len() < self.headers.len() {
            return Err(err(
                None,
                rules::ROW_SHAPE,
                format!(
                    "the row has {} cells, the header {}: the row is cut short",
                    row.cells.len(),
                    self.headers.len()
                ),
            ));
        }
        let cell = |col: usize| row.cells.get(col).map_or("", |c| c.trim());
        // Text the record keeps must hold no resident ID number.
        for s in &self.sources {
            for (col, c) in &s.columns {
                if matches!(c.read, Read::Text) && s.field != "subject" && values::find_id_number(cell(*col)).is_some()
                {
                    return Err(err(
                        Some(*col),
                        rules::PERSONAL_DATA,
                        "the cell holds what reads as a resident identity card number (居民身份证号码); personal data are not stored on the log: remove it and import again".into(),
                    ));
                }
            }
        }
        let mut cells: Vec<(String, String)> = Vec::new();
        let mut severity_derived = false;
        match &self.layout {
            Layout::Native => {
                for s in &self.sources {
                    let (col, value) = (s.columns[0].0, cell(s.columns[0].0));
                    // Our own columns name the department in each row: it must be the signer's.
                    if s.field == "department" && value != self.department {
                        return Err(err(
                            Some(col),
                            rules::AUTHORITY,
                            format!("{value} is not the signing department ({}): a department imports only its own records (谁产生、谁提供、谁负责)", self.department),
                        ));
                    }
                    cells.push((s.field.clone(), value.to_owned()));
                }
            }
            Layout::Standard(m) => {
                if let Some(c) = self.category {
                    let category = cell(c);
                    if m.party.individual_categories.iter().any(|i| i == category) {
                        return Err(err(
                            Some(c),
                            rules::ENTERPRISE_ONLY,
                            format!("the party is a {category}: the registry is for enterprises (market entities with a USCC); an individual's penalty stays in the department's own system"),
                        ));
                    }
                }
                let uscc_col = self.uscc.expect("a standard layout has a USCC column");
                let uscc = cell(uscc_col).to_ascii_uppercase();
                if uscc.is_empty() {
                    return Err(err(
                        Some(uscc_col),
                        rules::ENTERPRISE_ONLY,
                        "no USCC (统一社会信用代码): the registry is for enterprises, and a record without the firm's code cannot be attached to a firm".into(),
                    ));
                }
                if values::find_id_number(&uscc).is_some_and(|id| id.len() == uscc.len()) {
                    return Err(err(
                        Some(uscc_col),
                        rules::ENTERPRISE_ONLY,
                        "the code is a resident identity card number, not a USCC: the party is a person, and the registry is for enterprises".into(),
                    ));
                }
                if let (Some(c), Some(name)) = (self.authority, &self.department_name) {
                    let body = cell(c);
                    if normalise_header(body) != normalise_header(name) {
                        let message = if body.is_empty() {
                            format!("blank: the import cannot tell that the decision is {name}'s")
                        } else {
                            format!("{body} is not the signing department ({name}, {}): a department imports only its own decisions (谁产生、谁提供、谁负责)", self.department)
                        };
                        return Err(err(Some(c), rules::AUTHORITY, message));
                    }
                }
                cells.push(("subject".into(), uscc));
                cells.push(("department".into(), self.department.clone()));
                let mut date = None;
                let mut penalties: Vec<PenaltyType> = Vec::new();
                let mut months: Option<(usize, u32)> = None;
                let mut severity: Option<Severity> = None;
                // The date first: publicity months count from it.
                let mut order: Vec<&Source> = self.sources.iter().collect();
                order.sort_by_key(|s| s.field != "date");
                for s in order {
                    let Some((col, c)) = s.columns.iter().find(|(col, _)| !cell(*col).is_empty()) else {
                        if let Some((_, c)) = s.columns.iter().find(|(_, c)| c.blank.is_some()) {
                            cells.push((s.field.clone(), c.blank.clone().unwrap_or_default()));
                        }
                        continue;
                    };
                    let text = cell(*col);
                    let bad = |m: String| err(Some(*col), rules::CELL, m);
                    let value = match c.read {
                        Read::Text => text.to_owned(),
                        Read::Uscc => text.to_ascii_uppercase(),
                        Read::Date => {
                            let d = values::parse_date(text).map_err(bad)?;
                            if s.field == "date" {
                                date = Some(d);
                            }
                            d.to_string()
                        }
                        Read::OpenDate => {
                            if c.open_ended.iter().any(|o| o == text) {
                                continue;
                            }
                            values::parse_date(text).map_err(bad)?.to_string()
                        }
                        Read::WanYuan => {
                            let fen = values::parse_wan_yuan(text).map_err(bad)?;
                            if fen == 0 && c.zero_is_blank {
                                continue;
                            }
                            fen.to_string()
                        }
                        Read::Penalties => {
                            let vocab = m
                                .penalties
                                .as_ref()
                                .ok_or_else(|| bad("the mapping has no [penalties] table".into()))?;
                            penalties = read_penalties(text, vocab).map_err(bad)?;
                            penalties.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(";")
                        }
                        Read::Months => {
                            let Some(from) = date else {
                                // No decision date: the record's own check names that column.
                                continue;
                            };
                            let until = values::parse_date(text).map_err(bad)?;
                            let n = values::months_until(from, until)
                                .map_err(|e| bad(format!("the publicity period ends before the decision: {e}")))?;
                            months = Some((*col, n));
                            n.to_string()
                        }
                    };
                    if s.field == "severity" {
                        severity = Some(read_severity(&value).map_err(bad)?);
                        continue;
                    }
                    cells.push((s.field.clone(), value));
                }
                if let Some(rules) = &m.severity {
                    let tier = match severity {
                        Some(s) => s,
                        None => {
                            severity_derived = true;
                            derive_severity(rules, &penalties, months.map(|(_, n)| n))
                        }
                    };
                    cells.push(("severity".into(), tier.as_str().into()));
                    if months.is_none() {
                        cells.push(("publicity_months".into(), rules.default_months.of(tier).to_string()));
                    }
                }
            }
        }
        let refs: Vec<(&str, &str)> = cells.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let record = Record::from_flat(self.kind, &refs).map_err(|e| {
            let column = self.column_of(&e.field);
            RowError { line: row.line, column, rule: rules::RECORD.into(), message: e.to_string() }
        })?;
        Ok(Imported { line: row.line, record, severity_derived })
    }

    /// The data rows of `table` (after the header), blank rows left out.
    pub fn data_rows<'t>(&self, table: &'t Table) -> impl Iterator<Item = &'t Row> {
        table.rows.iter().skip(self.first_row).filter(|r| !Self::is_blank(r))
    }
}

fn required(kind: RecordKind, field: &str) -> bool {
    verifier::record::is_required_field(kind, field)
}

/// 轻微/一般/严重 or minor/ordinary/serious.
fn read_severity(text: &str) -> Result<Severity, String> {
    Severity::ALL
        .iter()
        .copied()
        .find(|s| s.as_str() == text || s.chinese_name() == text || format!("{}失信", s.chinese_name()) == text)
        .ok_or_else(|| format!("{text:?} is not a severity tier: 轻微 (minor), 一般 (ordinary) or 严重 (serious)"))
}

/// The severity tier by the mapping's rules (see `rules/imports/administrative_penalty.toml`).
pub fn derive_severity(rules: &mapping::SeverityRules, penalties: &[PenaltyType], months: Option<u32>) -> Severity {
    let named = |list: &[String], p: &PenaltyType| list.iter().any(|n| n == p.as_str());
    if penalties.iter().any(|p| named(&rules.serious_penalties, p)) {
        return Severity::Serious;
    }
    if months.is_some_and(|m| m > rules.ordinary_max_months) {
        return Severity::Serious;
    }
    if !penalties.is_empty()
        && penalties.iter().all(|p| named(&rules.minor_penalties, p))
        && months.is_none_or(|m| m <= rules.minor_max_months)
    {
        return Severity::Minor;
    }
    Severity::Ordinary
}

/// Reads 处罚类别: categories separated by the mapping's separators, each a penalty's Chinese
/// name, its creditlog name or an alias; a whole-cell alias first (older names hold 、).
///
/// # Errors
///
/// A category refused by the mapping (with its reason) or unknown (with the known names).
pub fn read_penalties(cell: &str, vocab: &mapping::Penalties) -> Result<Vec<PenaltyType>, String> {
    let mut out: Vec<PenaltyType> = Vec::new();
    let mut push = |p: PenaltyType| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    // Split on every separator but 、 first, then try each piece whole before splitting on 、.
    let (soft, hard): (Vec<&String>, Vec<&String>) = vocab.separators.iter().partition(|s| s.as_str() == "、");
    let mut pieces = vec![cell.to_owned()];
    for sep in &hard {
        pieces = pieces.iter().flat_map(|p| p.split(sep.as_str()).map(str::to_owned).collect::<Vec<_>>()).collect();
    }
    for piece in pieces.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let parts: Vec<&str> = if lookup(piece, vocab).is_some() || vocab.refused.contains_key(piece) || soft.is_empty()
        {
            vec![piece]
        } else {
            piece.split('、').map(str::trim).filter(|p| !p.is_empty()).collect()
        };
        for part in parts {
            if let Some(why) = vocab.refused.get(part) {
                return Err(format!("处罚类别 {part}: {why}"));
            }
            match lookup(part, vocab) {
                Some(ps) => ps.into_iter().for_each(&mut push),
                None => {
                    let known: Vec<String> = PenaltyType::ALL.iter().map(|p| p.chinese_name().to_owned()).collect();
                    return Err(format!(
                        "处罚类别 {part:?} is not a penalty of the Administrative Penalty Law art. 9; known: {}",
                        known.join("、")
                    ));
                }
            }
        }
    }
    if out.is_empty() {
        return Err("处罚类别 is blank: name at least one penalty".into());
    }
    Ok(out)
}

fn lookup(name: &str, vocab: &mapping::Penalties) -> Option<Vec<PenaltyType>> {
    if let Some(p) = PenaltyType::ALL.iter().find(|p| p.chinese_name() == name || p.as_str() == name) {
        return Some(vec![*p]);
    }
    vocab.aliases.get(name).map(|names| names.iter().filter_map(|n| n.parse().ok()).collect())
}

/// Reads a whole file of `kind` signed by `department` (registered as `department_name`) with
/// the shipped mapping, every row into its record: the simulator's and the demo's use, where a
/// file is known to be good. Returns how the file was read and the rows.
///
/// # Errors
///
/// The first problem: the file unreadable, no header row, or a row refused (named with its line,
/// column and rule).
pub fn read_all(
    path: &std::path::Path,
    kind: RecordKind,
    department: &str,
    department_name: &str,
) -> Result<(String, Vec<Imported>), String> {
    let fail = |e: String| format!("{}: {e}", path.display());
    let table = sheet::read_file(path, sheet::Encoding::Auto, None).map_err(fail)?;
    let imp = Importer::new(kind, &table, None, department, Some(department_name)).map_err(fail)?;
    let rows =
        imp.data_rows(&table).map(|row| imp.record(row).map_err(|e| fail(e.to_string()))).collect::<Result<_, _>>()?;
    Ok((table.read_as, rows))
}

/// Counts of what an import did or would do, for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Data rows read (blank rows not counted).
    pub rows: u64,
    /// Rows appended (or that would be).
    pub appended: u64,
    /// Rows whose record is already on the log (or earlier in the file): nothing appended.
    pub duplicates: u64,
    /// Rows refused.
    pub rejected: u64,
    /// Refusals per rule.
    pub by_rule: BTreeMap<String, u64>,
}

#[cfg(test)]
mod tests;
