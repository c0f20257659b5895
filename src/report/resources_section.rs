//! The system-resource section (`import prometheus`): in a run report, each series over the
//! run's window (CPU overall and per core, memory, disk, network) and its mean, p95 and max;
//! in a period report, the runs' summaries per host and metric and the CPU and memory of each
//! run over the period. CPU and memory are drawn as percentages, with the guide's targets
//! (CPU < 70% average, memory < 80%) as goal lines.

use std::collections::BTreeMap;

use serde::Serialize;

use super::charts::timeline;
use super::{Cell, Chart, Out, Table};
use crate::error::Result;
use crate::metrics::{CPU_BUSY, MEM_USED};
use crate::store::resources::ResourceStat;
use crate::store::Warehouse;

/// Where the pages show it: the CPU recommendation links here.
pub const ANCHOR: &str = "resources";

#[derive(Debug, Clone, Serialize, Default)]
pub struct Section {
    pub present: bool,
    pub table: Table,
    pub charts: Vec<Chart>,
    /// The queries behind the numbers (source, step, metric, PromQL).
    pub queries: Table,
}

/// A value as the table shows it: ratios in percent.
fn shown(unit: &str, v: Option<f64>) -> Option<f64> {
    v.map(|x| crate::grid::displayed(unit, x).0)
}

fn unit_shown(unit: &str) -> String {
    crate::grid::displayed(unit, 0.0).1.to_string()
}

/// The charts of a run: (metrics drawn together, title, y label, guide target in %).
const RUN_CHARTS: [(&[&str], &str, &str, Option<f64>); 4] = [
    (
        &[CPU_BUSY, "cpu_core_busy_ratio"],
        "CPU busy over the run",
        "% busy",
        Some(70.0),
    ),
    (
        &[MEM_USED],
        "Memory used over the run",
        "% used",
        Some(80.0),
    ),
    (
        &["disk_read_bps", "disk_write_bps"],
        "Disk I/O over the run",
        "MB/s",
        None,
    ),
    (
        &["net_rx_bps", "net_tx_bps"],
        "Network over the run",
        "MB/s",
        None,
    ),
];

fn queries_table(wh: &Warehouse, runs: &[i64]) -> Result<Table> {
    let mut rows = Vec::new();
    for c in wh.captures(runs)? {
        for (metric, unit, query) in &c.queries {
            rows.push(vec![
                Cell::text(format!("run {}", c.run_id)),
                Cell::text(&c.source),
                Cell::num(Some(c.step_s)),
                Cell::text(metric),
                Cell::text(unit),
                Cell::text(query),
            ]);
        }
    }
    Ok(Table::new(
        &["run", "source", "step s", "metric", "unit", "query"],
        rows,
    ))
}

/// The section of one run's report, from the run's stats its view holds.
pub fn for_run(wh: &Warehouse, out: &Out, run: i64, stats: &[ResourceStat]) -> Result<Section> {
    if stats.is_empty() {
        return Ok(Section::default());
    }
    let rows = stats
        .iter()
        .map(|s| {
            vec![
                Cell::text(&s.target),
                Cell::text(&s.metric),
                Cell::num(shown(&s.unit, s.mean)),
                Cell::num(shown(&s.unit, s.p95)),
                Cell::num(shown(&s.unit, s.max)),
                Cell::text(unit_shown(&s.unit)),
            ]
        })
        .collect();
    let mut charts = Vec::new();
    for (metrics, title, y_label, target) in RUN_CHARTS {
        let mut lines = Vec::new();
        for m in metrics {
            // percent for ratios, MB/s for bytes (axis labels stay short)
            let scale = if m.ends_with("_ratio") {
                100.0
            } else if m.ends_with("_bps") {
                1e-6
            } else {
                1.0
            };
            for (target, pts) in wh.resource_points(run, m)? {
                let name = if metrics.len() > 1 && !m.starts_with("cpu") {
                    format!("{target} {}", m.rsplit('_').nth(1).unwrap_or(m))
                } else {
                    target
                };
                lines.push(timeline::Line {
                    name,
                    points: pts
                        .iter()
                        .map(|(t, v)| (*t as f64 / 1e6, v * scale))
                        .collect(),
                });
            }
        }
        if lines.is_empty() {
            continue;
        }
        lines.truncate(8);
        let tl = timeline::Timeline {
            title: title.to_string(),
            y_label: y_label.to_string(),
            lines,
            limit: target,
            ..Default::default()
        };
        charts.push(out.chart(
            &format!("run{run}_{}", metrics[0]),
            title,
            "per step of the Prometheus query, as stored with the run",
            |p| timeline::draw(&tl, p),
        )?);
    }
    Ok(Section {
        present: true,
        table: Table::new(&["target", "metric", "mean", "p95", "max", "unit"], rows),
        charts,
        queries: queries_table(wh, &[run])?,
    })
}

/// Per (target, metric) over the period's runs: how many, the median of their means, the
/// highest p95 and max, and the latest run's mean.
fn period_rows(stats: &[ResourceStat], order: &BTreeMap<i64, usize>) -> Vec<Vec<Cell>> {
    let mut by: BTreeMap<(usize, &str, &str), Vec<&ResourceStat>> = BTreeMap::new();
    for s in stats {
        by.entry((crate::metrics::rank(&s.metric), &s.metric, &s.target))
            .or_default()
            .push(s);
    }
    by.into_iter()
        .map(|((_, metric, target), v)| {
            let unit = v[0].unit.as_str();
            let means: Vec<f64> = v.iter().filter_map(|s| s.mean).collect();
            let top = |f: fn(&ResourceStat) -> Option<f64>| {
                v.iter().filter_map(|s| f(s)).reduce(f64::max)
            };
            let latest = v
                .iter()
                .max_by_key(|s| order.get(&s.run_id).copied().unwrap_or(0))
                .and_then(|s| s.mean);
            vec![
                Cell::text(target),
                Cell::text(metric),
                Cell::num(Some(v.len() as f64)),
                Cell::num(shown(unit, crate::stats::median(&means))),
                Cell::num(shown(unit, top(|s| s.p95))),
                Cell::num(shown(unit, top(|s| s.max))),
                Cell::num(shown(unit, latest)),
                Cell::text(unit_shown(unit)),
            ]
        })
        .collect()
}

/// The section of a period report over its runs (`started`: each run's start, seconds).
pub fn for_period(
    out: &Out,
    stats: &[ResourceStat],
    started: &BTreeMap<i64, f64>,
) -> Result<Section> {
    if stats.is_empty() {
        return Ok(Section::default());
    }
    let runs: std::collections::BTreeSet<i64> = stats.iter().map(|s| s.run_id).collect();
    let mut order: Vec<(f64, i64)> = runs
        .iter()
        .filter_map(|r| started.get(r).map(|t| (*t, *r)))
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let rank: BTreeMap<i64, usize> = order
        .iter()
        .enumerate()
        .map(|(i, (_, r))| (*r, i))
        .collect();
    let mut charts = Vec::new();
    for (metric, title, target) in [
        (CPU_BUSY, "CPU busy per run", 70.0),
        (MEM_USED, "Memory used per run", 80.0),
    ] {
        // host -> (means, maxima) as (seconds, %)
        let mut lines: BTreeMap<String, [Vec<(f64, f64)>; 2]> = BTreeMap::new();
        for s in stats.iter().filter(|s| s.metric == metric) {
            let Some(t) = started.get(&s.run_id) else {
                continue;
            };
            let e = lines.entry(s.target.clone()).or_default();
            if let Some(m) = s.mean {
                e[0].push((*t, m * 100.0));
            }
            if let Some(x) = s.max {
                e[1].push((*t, x * 100.0));
            }
        }
        let mut tl_lines = Vec::new();
        for (host, [mut mean, mut max]) in lines.into_iter().take(3) {
            mean.sort_by(|a, b| a.0.total_cmp(&b.0));
            max.sort_by(|a, b| a.0.total_cmp(&b.0));
            tl_lines.push(timeline::Line {
                name: format!("{host} mean"),
                points: mean,
            });
            tl_lines.push(timeline::Line {
                name: format!("{host} max"),
                points: max,
            });
        }
        if tl_lines.is_empty() {
            continue;
        }
        let tl = timeline::Timeline {
            title: title.to_string(),
            y_label: "%".into(),
            lines: tl_lines,
            limit: Some(target),
            ..Default::default()
        };
        charts.push(out.chart(
            &format!("period_{metric}"),
            title,
            "each run's mean and maximum over its window",
            |p| timeline::draw(&tl, p),
        )?);
    }
    Ok(Section {
        present: true,
        table: Table::new(
            &[
                "target",
                "metric",
                "runs",
                "median of means",
                "highest p95",
                "highest max",
                "latest mean",
                "unit",
            ],
            period_rows(stats, &rank),
        ),
        charts,
        queries: Table::default(),
    })
}
