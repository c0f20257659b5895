//! `import` output: one row per file (or Locust set) and what happened to it.

use serde::Serialize;

use super::{fmt_float, pretty, render_rows, Format};

/// What happened to one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Imported,
    AlreadyImported,
    DryRun,
    Skipped,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Imported => "imported",
            Status::AlreadyImported => "already imported",
            Status::DryRun => "parsed (dry run)",
            Status::Skipped => "skipped",
            Status::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    pub file: String,
    pub format: Option<String>,
    pub run_id: Option<i64>,
    pub snapshot_id: Option<i64>,
    #[serde(serialize_with = "status_text")]
    pub status: Status,
    pub targets: Option<usize>,
    pub requests: Option<f64>,
    pub message: Option<String>,
}

// The JSON says what the table says ("already imported"), as it always has.
fn status_text<S: serde::Serializer>(s: &Status, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.as_str())
}

pub fn render(results: &[FileResult], format: Format) -> String {
    if matches!(format, Format::Json | Format::Junit) {
        return pretty(&results);
    }
    let header: Vec<String> = [
        "file", "format", "run", "status", "targets", "requests", "note",
    ]
    .iter()
    .map(std::string::ToString::to_string)
    .collect();
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let status = match (r.status, r.run_id, r.snapshot_id) {
                (Status::AlreadyImported, Some(id), _) => format!("already imported as run {id}"),
                (Status::AlreadyImported, None, Some(s)) => {
                    format!("already imported as snapshot {s}")
                }
                (Status::Imported, None, Some(s)) => format!("imported as snapshot {s}"),
                (s, ..) => s.as_str().to_string(),
            };
            vec![
                r.file.clone(),
                r.format.clone().unwrap_or_default(),
                r.run_id.map(|i| i.to_string()).unwrap_or_default(),
                status,
                r.targets.map(|t| t.to_string()).unwrap_or_default(),
                r.requests.map(fmt_float).unwrap_or_default(),
                r.message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    render_rows(&header, &rows, format)
}
