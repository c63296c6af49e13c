//! The firm directory: `GET /v1/firms?q=`, for anyone. Names are not on the log (entries commit to
//! a USCC only); they come from the jurisdiction's business register, published by law (企业信息
//! 公示暂行条例), as a CSV file `DATA/firms.csv` with the columns `uscc,name[,region]` (the
//! demo writes its simulated firms there). The directory only finds a firm's USCC; what is shown
//! about the firm then comes from the log, with proofs.

use super::*;

/// Most firms one search answers.
pub const SEARCH_LIMIT: usize = 20;

/// One firm of the directory.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Firm {
    /// 统一社会信用代码.
    pub uscc: String,
    /// Registered name.
    pub name: String,
    /// Region, if the file gives one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub region: String,
}

/// The directory, read once at start.
#[derive(Debug, Default)]
pub struct Directory {
    firms: Vec<Firm>,
}

impl Directory {
    /// Reads `data/firms.csv` if it exists; an absent file gives an empty directory (search by
    /// USCC still works in the portal).
    ///
    /// # Errors
    ///
    /// A file that exists but is not `uscc,name[,region]` CSV, naming the line.
    pub fn open(data: &std::path::Path) -> std::io::Result<Self> {
        let path = data.join("firms.csv");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e),
        };
        let bad = |line: usize, why: &str| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: line {line}: {why}", path.display()))
        };
        let mut firms = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_start_matches('\u{feff}').trim_end_matches('\r');
            if i == 0 && line.starts_with("uscc,") || line.is_empty() {
                continue;
            }
            let mut cells = line.splitn(3, ',');
            let (Some(uscc), Some(name)) = (cells.next(), cells.next()) else {
                return Err(bad(i + 1, "expected uscc,name[,region]"));
            };
            if uscc.parse::<verifier::Uscc>().is_err() {
                return Err(bad(i + 1, &format!("{uscc} is not a valid USCC (GB 32100-2015 check character)")));
            }
            firms.push(Firm { uscc: uscc.into(), name: name.into(), region: cells.next().unwrap_or("").into() });
        }
        Ok(Self { firms })
    }

    /// Firms whose USCC starts with `q` (case-insensitive) or whose name contains it, in file
    /// order, at most [`SEARCH_LIMIT`].
    pub fn search(&self, q: &str) -> Vec<&Firm> {
        let upper = q.to_ascii_uppercase();
        self.firms.iter().filter(|f| f.uscc.starts_with(&upper) || f.name.contains(q)).take(SEARCH_LIMIT).collect()
    }

    /// The name of a firm, if the directory has it.
    pub fn name(&self, uscc: &str) -> Option<&str> {
        self.firms.iter().find(|f| f.uscc == uscc).map(|f| f.name.as_str())
    }
}

#[utoipa::path(
    get,
    path = "/v1/firms",
    tag = "disclosure",
    summary = "Find a firm by USCC or name in the business register (for the public search)",
    params(
        ("q" = String, Query, description = "the start of a USCC, or part of a registered name; 2 to 60 characters"),
    ),
    responses((status = 200, description = "the firms found", body = FirmSearch), crate::openapi::Refusal),
)]
pub(crate) async fn search(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let query = q.get("q").map(|v| v.trim()).unwrap_or("");
    let n = query.chars().count();
    if !(2..=60).contains(&n) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-parameter",
            "Search text out of range",
            format!("q must be 2 to 60 characters (the start of a USCC or part of a name); it has {n}"),
        )
        .with_field("q"));
    }
    let firms = s.directory.search(query);
    Ok(Json(FirmSearch { q: query, firms, limit: SEARCH_LIMIT }).into_response())
}

/// `GET /v1/firms`: the firms found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FirmSearch<'a> {
    /// The search text, trimmed.
    pub q: &'a str,
    /// At most `limit` firms whose USCC starts with it or whose name contains it.
    pub firms: Vec<&'a Firm>,
    /// The most firms an answer lists.
    pub limit: usize,
}
