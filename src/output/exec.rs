//! `exec` output: the run stored, what it was made of, and what was skipped.

use serde::Serialize;

use super::import::FileResult;
use super::{pretty, Format};

/// What one `exec` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExecReport {
    pub tool: String,
    pub exit_code: u8,
    /// Where the tool's outputs are kept.
    pub dir: String,
    pub run_id: Option<i64>,
    pub imports: Vec<FileResult>,
    /// Database snapshots taken (before, after).
    pub snapshots: Vec<i64>,
    /// (capture id, source, series, newly stored)
    pub captures: Vec<(i64, String, usize, bool)>,
    /// Health sources that failed or were skipped.
    pub notes: Vec<String>,
}

pub fn render(r: &ExecReport, format: Format) -> String {
    if matches!(format, Format::Json | Format::Junit) {
        return pretty(r);
    }
    let mut out = format!(
        "\nperfledger exec: {} exited with code {}; outputs in {}\n",
        r.tool, r.exit_code, r.dir
    );
    out += &super::import::render(&r.imports, Format::Table);
    if let Some(run) = r.run_id {
        out += &format!("run {run}");
        if !r.snapshots.is_empty() {
            out += &format!(
                "; database snapshots {}",
                r.snapshots
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        for (_, source, n, _) in &r.captures {
            out += &format!("; resources from {source}: {n} series");
        }
        out += &format!(" (perfledger show {run})\n");
    }
    out
}
