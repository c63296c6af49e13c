//! Reading a department's export for the portal: `POST /v1/imports/read?kind=K[&sheet=S]`.
//!
//! The body is the file as the department's system saved it (a 双公示 export in the national
//! standard's columns, or our own columns; `.xlsx`/`.xls`/`.ods`, or CSV in UTF-8 or GB18030). The
//! server reads it with the same importer as `creditlog import` and answers, row by row, the
//! record payload the row makes or why the row is refused (line, column, rule). It signs nothing
//! and appends nothing: the page shows the rows, signs each payload with the department's own key
//! in the browser and submits them to `POST /v1/records` like any other client. Who may call it:
//! a department key (rule `import-by-department`), since the rows are checked against the
//! department's registered name.

use super::*;

/// Most bytes of one uploaded export (215,672 rows of the city-scale penalty export are 61 MB of
/// xlsx; a portal upload is a day's or a month's file, the CLI takes the rest).
pub const IMPORT_BODY_LIMIT: usize = 16 << 20;

#[utoipa::path(
    post,
    path = "/v1/imports/read",
    tag = "intake",
    summary = "Read a department's export into record payloads, row by row, without appending (the portal's import)",
    params(
        ("kind" = String, Query, description = "the record kind of every row, e.g. administrative_penalty"),
        ("sheet" = Option<String>, Query, description = "the workbook sheet (default: the first)"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the export file's bytes"),
    responses(crate::openapi::JsonAnswer),
    security(("request-signature" = [])),
)]
pub(crate) async fn read(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    SignedBody { principal, body }: SignedBody<IMPORT_BODY_LIMIT>,
) -> Result<Response, Problem> {
    let Principal::Department(code) = &principal else {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "import-by-department",
            "Only departments import their exports",
            format!("an export is read against the department that signs it (谁产生、谁提供、谁负责); this request is signed by {principal}"),
        ));
    };
    let bad = |field: &str, title: &str, detail: String| {
        Problem::new(StatusCode::BAD_REQUEST, "bad-import", title, detail).with_field(field)
    };
    let kind: verifier::RecordKind = q
        .get("kind")
        .ok_or_else(|| bad("kind", "Record kind missing", "kind=... names the record kind of the file's rows".into()))?
        .parse()
        .map_err(|e| bad("kind", "Unknown record kind", format!("{e}")))?;
    let name = registry(&s)?.key_book().departments.get(code).map(|d| d.name.clone());
    let body = body.to_vec();
    let sheet = q.get("sheet").cloned();
    let code = code.clone();
    // Reading a workbook is CPU work: off the async threads.
    let answer = tokio::task::spawn_blocking(move || read_rows(&body, kind, sheet.as_deref(), &code, name.as_deref()))
        .await
        .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", e.to_string()))?;
    answer.map(|v| Json(v).into_response()).map_err(|e| bad("file", "The file cannot be imported", e))
}

fn read_rows(
    bytes: &[u8],
    kind: verifier::RecordKind,
    sheet: Option<&str>,
    code: &str,
    name: Option<&str>,
) -> Result<serde_json::Value, String> {
    let table = import::sheet::read_bytes(bytes, import::sheet::Encoding::Auto, sheet)?;
    let importer = import::Importer::new(kind, &table, None, code, name)?;
    let mut rows = Vec::new();
    // A document number twice in one file for the same firm: the same record (a duplicate) or a
    // conflict, judged as `creditlog import` judges it.
    let mut seen: HashMap<(String, String), (u64, Vec<u8>)> = HashMap::new();
    for row in importer.data_rows(&table) {
        match importer.record(row) {
            Ok(i) => {
                let payload = i.record.to_json_bytes();
                let key = (i.record.subject().as_str().to_owned(), i.record.reference().to_owned());
                if let Some((line, earlier)) = seen.get(&key) {
                    if *earlier == payload {
                        rows.push(serde_json::json!({ "line": i.line, "duplicate_of_line": line }));
                    } else {
                        rows.push(serde_json::json!({
                            "line": i.line,
                            "column": importer.column_of("reference"),
                            "rule": import::rules::ONE_RECORD_ONE_ENTRY,
                            "message": format!("document number {} is on line {line} too, for the same firm, with different content: a document number is one record; a correction is a retraction and a new record", i.record.reference()),
                        }));
                    }
                    continue;
                }
                rows.push(serde_json::json!({
                    "line": i.line,
                    "subject": i.record.subject().as_str(),
                    "reference": i.record.reference(),
                    "severity_derived": i.severity_derived,
                    "payload": BASE64_STANDARD.encode(&payload),
                }));
                seen.insert(key, (i.line, payload));
            }
            Err(e) => rows.push(serde_json::json!({
                "line": e.line, "column": e.column, "rule": e.rule, "message": e.message,
            })),
        }
    }
    Ok(serde_json::json!({
        "read_as": table.read_as,
        "layout": importer.describe(),
        "header_line": importer.header_line,
        "ignored": importer.ignored.iter().map(|(h, why)| serde_json::json!({ "column": h, "why": why })).collect::<Vec<_>>(),
        "rows": rows,
    }))
}
