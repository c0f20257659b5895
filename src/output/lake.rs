//! `sync`, `lake compact`, `lake vacuum` output.

use super::{pretty, render_rows, Format};
use crate::store::lake::compact::{CompactReport, VacuumReport};
use crate::store::lake::sync::SyncReport;

fn pairs(rows: &[(&str, String)], format: Format) -> String {
    let header = vec!["item".to_string(), "value".to_string()];
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(k, v)| vec![k.to_string(), v.clone()])
        .collect();
    render_rows(&header, &rows, format)
}

/// A report as JSON, or as name/value rows in the other formats.
fn report(r: &impl serde::Serialize, rows: &[(&str, String)], format: Format) -> String {
    if format == Format::Json {
        pretty(r)
    } else {
        pairs(rows, format)
    }
}

pub fn render_sync(r: &SyncReport, format: Format) -> String {
    report(
        r,
        &[
            ("lake", r.lake.clone()),
            ("runs added", r.runs.to_string()),
            ("snapshots added", r.snapshots.to_string()),
            ("events applied", r.events.to_string()),
            ("files read", r.files.to_string()),
            ("pending (no head yet)", r.pending.to_string()),
        ],
        format,
    )
}

pub fn render_compact(r: &CompactReport, format: Format) -> String {
    report(
        r,
        &[
            ("lake", r.lake.clone()),
            ("month", r.month.clone()),
            ("partitions", r.partitions.to_string()),
            ("runs and snapshots", r.units.to_string()),
            ("files written", r.files_written.to_string()),
            ("files removed", r.files_removed.to_string()),
        ],
        format,
    )
}

pub fn render_vacuum(r: &VacuumReport, format: Format) -> String {
    if format == Format::Json {
        return pretty(r);
    }
    let verb = if r.dry_run { "would remove" } else { "removed" };
    let header = vec!["file".to_string(), "why".to_string()];
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (list, why) in [
        (&r.orphans, "no run file: a killed import"),
        (&r.staging, "staging file of a killed upload"),
        (&r.superseded, "held by a compacted file"),
    ] {
        rows.extend(list.iter().map(|f| vec![f.clone(), why.to_string()]));
    }
    let n = rows.len();
    let mut out = render_rows(&header, &rows, format);
    if format == Format::Table {
        out.push_str(&format!("{verb} {n} file(s) in {}\n", r.lake));
    }
    out
}

pub fn render_push(lake: &str, written: usize, format: Format) -> String {
    report(
        &serde_json::json!({"lake": lake, "written": written}),
        &[
            ("lake", lake.to_string()),
            ("runs and snapshots written", written.to_string()),
        ],
        format,
    )
}
