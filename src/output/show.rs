//! `show` output: a run's header as `field: value` lines, its per-target table, errors and
//! thresholds. The grids are shared with the run report.

use super::{pretty, render_grid, Format};
use crate::grid::{Datum, Grid};
use crate::metrics::TARGET_METRICS;
use crate::store::runs::{RunHeader, RunView};

/// The header as one row, the fields in the order a reader scans them.
pub fn summary_grid(h: &RunHeader) -> Grid {
    let mut g = Grid::new(&[
        "id",
        "tool",
        "tool_version",
        "format",
        "scenario",
        "started_at",
        "ended_at",
        "duration_s",
        "url",
        "users",
        "threads",
        "connections",
        "requests_planned",
        "target_rate",
        "labels",
        "sources",
    ]);
    let time = |t: Option<chrono::NaiveDateTime>| Datum::from(t.map(crate::time::display));
    let labels = (!h.labels.is_empty()).then(|| {
        h.labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    let sources = (!h.sources.is_empty()).then(|| {
        h.sources
            .iter()
            .map(|s| format!("{} ({}, {})", s.path, s.role, s.digest))
            .collect::<Vec<_>>()
            .join("; ")
    });
    g.push(vec![
        h.id.into(),
        h.tool.as_str().into(),
        h.tool_version.clone().into(),
        h.format.as_str().into(),
        h.scenario.clone().into(),
        time(h.started_at),
        time(h.ended_at),
        h.duration_s.into(),
        h.url.clone().into(),
        h.load.users.into(),
        h.load.threads.into(),
        h.load.connections.into(),
        h.load.requests_planned.into(),
        h.load.target_rate.into(),
        labels.into(),
        sources.into(),
    ]);
    g
}

pub fn targets_grid(v: &RunView) -> Grid {
    let mut cols = vec!["target", "kind"];
    cols.extend(TARGET_METRICS);
    let mut g = Grid::new(&cols);
    for t in &v.targets {
        let mut row = vec![t.target.as_str().into(), t.kind.as_str().into()];
        row.extend(t.values.iter().map(|x| Datum::from(*x)));
        g.push(row);
    }
    g
}

pub fn errors_grid(v: &RunView) -> Grid {
    let mut g = Grid::new(&["target", "kind", "message", "count"]);
    for e in &v.errors {
        g.push(vec![
            e.target.as_str().into(),
            e.kind.as_str().into(),
            e.message.as_str().into(),
            e.count.into(),
        ]);
    }
    g
}

pub fn thresholds_grid(v: &RunView) -> Grid {
    let mut g = Grid::new(&["metric", "expression", "passed"]);
    for t in &v.thresholds {
        g.push(vec![
            t.metric.as_str().into(),
            t.expression.as_str().into(),
            t.passed.into(),
        ]);
    }
    g
}

/// The run's system resources: mean, p95 and max of each series over its window.
pub fn resources_grid(v: &RunView) -> Grid {
    let mut g = Grid::new(&["target", "metric", "mean", "p95", "max", "unit"]);
    for r in &v.resources {
        g.push(vec![
            r.target.as_str().into(),
            r.metric.as_str().into(),
            r.mean.into(),
            r.p95.into(),
            r.max.into(),
            r.unit.as_str().into(),
        ]);
    }
    g
}

pub fn render(v: &RunView, format: Format) -> String {
    let summary = summary_grid(&v.header);
    let (targets, errors, thresholds) = (targets_grid(v), errors_grid(v), thresholds_grid(v));
    let resources = resources_grid(v);
    match format {
        Format::Json | Format::Junit => pretty(&serde_json::json!({
            "run": summary.row_json(&summary.rows[0]),
            "targets": targets.to_json(),
            "errors": errors.to_json(),
            "thresholds": thresholds.to_json(),
            "resources": resources.to_json(),
        })),
        Format::Csv => render_grid(&targets, Format::Csv),
        f => {
            let mut out = String::new();
            for (k, val) in summary.columns.iter().zip(&summary.rows[0]) {
                if *val != Datum::Null {
                    out += &format!("{k:>17}: {}\n", val.text());
                }
            }
            out.push('\n');
            out += &render_grid(&targets, f);
            if !errors.is_empty() {
                out += "\nErrors\n";
                out += &render_grid(&errors, f);
            }
            if !thresholds.is_empty() {
                out += "\nThresholds\n";
                out += &render_grid(&thresholds, f);
            }
            if !resources.is_empty() {
                out += "\nResources\n";
                out += &render_grid(&resources, f);
            }
            out
        }
    }
}
