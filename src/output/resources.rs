//! `import prometheus` output: the capture stored, and the mean, p95 and max of each series.

use serde::Serialize;

use super::{fmt_float, pretty, render_rows, Format};
use crate::model::ResourceCapture;
use crate::store::resources::ResourceStat;
use crate::store::Outcome;

pub struct CaptureReport<'a> {
    pub run_id: i64,
    pub capture_id: i64,
    pub outcome: Outcome,
    pub capture: &'a ResourceCapture,
    /// Queries that answered no series.
    pub empty: &'a [String],
    pub stats: &'a [ResourceStat],
}

#[derive(Serialize)]
struct Json<'a> {
    run_id: i64,
    capture_id: i64,
    status: &'static str,
    source: &'a str,
    started_at: String,
    ended_at: String,
    step_s: f64,
    series: usize,
    points: usize,
    no_series: &'a [String],
    summaries: &'a [ResourceStat],
}

fn status(o: Outcome) -> &'static str {
    match o {
        Outcome::Imported => "imported",
        Outcome::AlreadyImported => "already imported",
    }
}

/// A value in its unit, as people read it: ratios as percentages.
pub fn value_in(unit: &str, v: Option<f64>) -> String {
    match v.map(|x| crate::grid::displayed(unit, x)) {
        None => String::new(),
        Some((x, "%")) => format!("{x:.1}%"),
        Some((x, _)) => fmt_float(x),
    }
}

pub fn render(r: &CaptureReport<'_>, format: Format) -> String {
    let c = r.capture;
    let points: usize = c.series.iter().map(|s| s.points.len()).sum();
    let (from, to) = (
        crate::time::display(c.started_at),
        crate::time::display(c.ended_at),
    );
    if matches!(format, Format::Json | Format::Junit) {
        return pretty(&Json {
            run_id: r.run_id,
            capture_id: r.capture_id,
            status: status(r.outcome),
            source: &c.source,
            started_at: from,
            ended_at: to,
            step_s: c.step_s,
            series: c.series.len(),
            points,
            no_series: r.empty,
            summaries: r.stats,
        });
    }
    let header: Vec<String> = ["target", "metric", "mean", "p95", "max", "unit"]
        .iter()
        .map(ToString::to_string)
        .collect();
    let rows: Vec<Vec<String>> = r
        .stats
        .iter()
        .map(|s| {
            vec![
                s.target.clone(),
                s.metric.clone(),
                value_in(&s.unit, s.mean),
                value_in(&s.unit, s.p95),
                value_in(&s.unit, s.max),
                crate::grid::displayed(&s.unit, 0.0).1.to_string(),
            ]
        })
        .collect();
    let mut out = String::new();
    if format == Format::Table {
        out += &format!(
            "resources of run {} from {} ({}): {} series, {points} points, {from} .. {to}, step {}s\n",
            r.run_id,
            c.source,
            status(r.outcome),
            c.series.len(),
            fmt_float(c.step_s)
        );
        if !r.empty.is_empty() {
            out += &format!("no series for: {}\n", r.empty.join(", "));
        }
        out.push('\n');
    }
    out + &render_rows(&header, &rows, format)
}
