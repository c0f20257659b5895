//! Grids of the list-like commands: `runs`, `baseline list`, `baseline show`.

use crate::grid::{Datum, Grid};
use crate::store::meta::BaselineRow;
use crate::store::runs::{RunHeader, RunListRow};

fn time(t: Option<chrono::NaiveDateTime>) -> Datum {
    Datum::from(t.map(crate::time::display))
}

pub fn runs_grid(rows: &[RunListRow]) -> Grid {
    let mut g = Grid::new(&[
        "id",
        "started_at",
        "tool",
        "scenario",
        "requests",
        "throughput_rps",
        "p95_ms",
        "error_rate",
        "labels",
        "key",
    ]);
    for r in rows {
        g.push(vec![
            r.id.into(),
            time(r.started_at),
            r.tool.as_str().into(),
            r.scenario.clone().into(),
            r.requests.into(),
            r.throughput_rps.into(),
            r.p95_ms.into(),
            r.error_rate.into(),
            if r.labels.is_empty() {
                Datum::Null
            } else {
                r.labels.as_str().into()
            },
            r.key.as_str().into(),
        ]);
    }
    g
}

pub fn baselines_grid(rows: &[BaselineRow]) -> Grid {
    let mut g = Grid::new(&["name", "selector", "created_at", "runs"]);
    for b in rows {
        g.push(vec![
            b.name.as_str().into(),
            b.selector.as_str().into(),
            time(b.created_at),
            b.runs.into(),
        ]);
    }
    g
}

pub fn baseline_runs_grid(runs: &[RunHeader]) -> Grid {
    let mut g = Grid::new(&["id", "started_at", "tool", "scenario"]);
    for r in runs {
        g.push(vec![
            r.id.into(),
            time(r.started_at),
            r.tool.as_str().into(),
            r.scenario.clone().into(),
        ]);
    }
    g
}

/// What `export parquet|csv|json` wrote.
pub fn export_grid(tables: &[crate::store::export::ExportedTable], runs: usize) -> Grid {
    let mut g = Grid::new(&["table", "rows", "file"]);
    for t in tables {
        g.push(vec![
            t.table.as_str().into(),
            (t.rows as i64).into(),
            t.file.display().to_string().into(),
        ]);
    }
    g.push(vec!["(runs)".into(), (runs as i64).into(), Datum::Null]);
    g
}
