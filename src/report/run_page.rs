//! `report run RUN`: summary, goals, per-target table, interval charts, latency CDFs, errors.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::charts::{distribution, timeline};
use super::{provenance, Card, Cell, Chart, Common, Out, Table};
use crate::analysis::goals::{self, GoalResult};
use crate::analysis::{buckets_ms, merged_histogram};
use crate::commands::show;
use crate::db::{parse_ts, Warehouse};
use crate::error::Result;
use crate::frame;

#[derive(Serialize)]
pub struct RunPage {
    #[serde(flatten)]
    pub common: Common,
    pub cards: Vec<Card>,
    pub summary: Table,
    pub goals: Table,
    pub targets: Table,
    pub charts: Vec<Chart>,
    pub errors: Table,
    pub thresholds: Table,
}

pub fn goal_table(results: &[GoalResult]) -> Table {
    Table::new(
        &[
            "goal",
            "target",
            "metric",
            "value",
            "evidence bound",
            "limit",
            "in force",
            "status",
            "rule",
        ],
        results
            .iter()
            .map(|g| {
                vec![
                    Cell::text(&g.goal),
                    Cell::text(&g.target),
                    Cell::text(&g.metric),
                    Cell::num(g.value),
                    Cell::num(g.bound),
                    Cell::text(
                        g.limit
                            .map(|l| {
                                format!(
                                    "{} {}",
                                    if g.limit_kind == "max" { "≤" } else { "≥" },
                                    frame::fmt_float(l)
                                )
                            })
                            .unwrap_or_default(),
                    ),
                    Cell::text(&g.in_force),
                    Cell::status(g.status.as_str()),
                    Cell::text(&g.rule),
                ]
            })
            .collect(),
    )
}

fn series_charts(wh: &Warehouse, out: &Out, run: i64) -> Result<Vec<Chart>> {
    let df = frame::query(
        &wh.conn,
        "SELECT target, metric, strftime(ts, '%Y-%m-%d %H:%M:%S.%f') AS ts, value FROM series_point WHERE run_id = ? ORDER BY ts",
        [run],
    )?;
    let (t, m, ts, v) = (
        frame::str_column(&df, "target")?,
        frame::str_column(&df, "metric")?,
        frame::str_column(&df, "ts")?,
        frame::f64_column(&df, "value")?,
    );
    let mut by_metric: BTreeMap<String, BTreeMap<String, Vec<(f64, f64)>>> = BTreeMap::new();
    for i in 0..df.height() {
        if let (Some(t), Some(m), Some(x), Some(y)) =
            (&t[i], &m[i], ts[i].as_deref().and_then(parse_ts), v[i])
        {
            by_metric
                .entry(m.clone())
                .or_default()
                .entry(t.clone())
                .or_default()
                .push((x.and_utc().timestamp_millis() as f64 / 1000.0, y));
        }
    }
    let wanted = [
        ("latency_mean_ms", "Mean latency over the run", "ms"),
        ("latency_p95_ms", "p95 latency over the run", "ms"),
        ("throughput_rps", "Throughput over the run", "req/s"),
        ("requests", "Requests per interval", "requests"),
        ("failures", "Failures per interval", "failures"),
        ("users", "Users / VUs", "users"),
    ];
    let mut charts = Vec::new();
    for (metric, title, unit) in wanted {
        let Some(targets) = by_metric.get(metric) else {
            continue;
        };
        let lines = targets
            .iter()
            .take(6)
            .map(|(name, pts)| timeline::Line {
                name: name.clone(),
                points: pts.clone(),
            })
            .collect();
        let tl = timeline::Timeline {
            title: title.to_string(),
            y_label: unit.to_string(),
            lines,
            ..Default::default()
        };
        charts.push(out.chart(
            &format!("run{run}_{metric}"),
            title,
            &format!("{metric} per interval, as the tool reported it"),
            |p| timeline::draw(&tl, p),
        )?);
    }
    Ok(charts)
}

fn cdf_charts(wh: &Warehouse, out: &Out, run: i64) -> Result<Vec<Chart>> {
    let df = frame::query(&wh.conn, "SELECT target FROM histogram WHERE run_id = ? ORDER BY target = 'TOTAL' DESC, count DESC LIMIT 6", [run])?;
    let mut sets = Vec::new();
    for t in frame::str_column(&df, "target")?.into_iter().flatten() {
        if let Some(h) = merged_histogram(wh, &[run], &t)? {
            sets.push((t, buckets_ms(&h)));
        }
    }
    if sets.is_empty() {
        return Ok(vec![]);
    }
    Ok(vec![out.chart(&format!("run{run}_cdf"), "Latency distribution", "cumulative share of requests by latency, from the stored per-request histograms (<= 1% error)", |p| {
        distribution::draw("Latency distribution (CDF)", &sets, p)
    })?])
}

pub fn build(wh: &Warehouse, run: i64, goals_file: Option<&PathBuf>, out: &Out) -> Result<RunPage> {
    let v = show::view(wh, run)?;
    let summary_json = frame::to_json_rows(&v.summary);
    let s = summary_json.get(0).cloned().unwrap_or_default();
    let get = |k: &str| match s.get(k) {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(v) => v.as_str().map_or_else(|| v.to_string(), str::to_string),
    };
    let total = frame::to_json_rows(&v.targets);
    let total = total
        .as_array()
        .and_then(|a| a.iter().find(|t| t["target"] == "TOTAL"))
        .cloned()
        .unwrap_or_default();
    let card = |label: &str, key: &str, scale: f64, suffix: &str| Card {
        label: label.to_string(),
        value: total
            .get(key)
            .and_then(|v| v.as_f64())
            .map_or("–".into(), |x| {
                format!("{}{suffix}", frame::fmt_float(x * scale))
            }),
        class: String::new(),
    };
    let cards = vec![
        card("requests", "requests", 1.0, ""),
        card("throughput", "throughput_rps", 1.0, " req/s"),
        card("p95 latency", "latency_p95_ms", 1.0, " ms"),
        card("error rate", "error_rate", 100.0, "%"),
    ];
    let mut goal_results = Vec::new();
    if let Some(path) = goals_file {
        let f = goals::load(path)?;
        let at = parse_ts(&format!("{}.0", get("started_at")))
            .unwrap_or_else(|| chrono::Utc::now().naive_utc());
        for g in f
            .goals
            .iter()
            .filter(|g| goals::applies(g, &get("tool"), s.get("scenario").and_then(|x| x.as_str())))
        {
            goal_results.push(goals::evaluate(wh, run, at, g)?);
        }
    }
    let summary_rows = s
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, v)| !v.is_null() && *k != "sources")
                .map(|(k, v)| {
                    vec![
                        Cell::text(k),
                        Cell::text(v.as_str().map_or_else(|| v.to_string(), str::to_string)),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    let mut charts = series_charts(wh, out, run)?;
    charts.extend(cdf_charts(wh, out, run)?);
    let methods = vec![
        "Values are as the tool reported them; latency percentiles missing from its output are computed from stored per-request histograms (HdrHistogram, 2 significant digits, <= 1% relative error).".to_string(),
        "Goal evidence: one-sided 95% order-statistic bound of a percentile (Conover) or Wilson bound of an error rate where per-request data exist; otherwise the point estimate, as the rule column says.".to_string(),
    ];
    Ok(RunPage {
        common: Common::new(
            format!("Run {run}: {} {}", get("tool"), get("scenario"))
                .trim_end()
                .to_string(),
            [get("started_at"), get("url")]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join(" · "),
            methods,
            provenance(wh, &[run])?,
        ),
        cards,
        summary: Table::new(&["field", "value"], summary_rows),
        goals: goal_table(&goal_results),
        targets: Table::from_frame(&v.targets),
        charts,
        errors: Table::from_frame(&v.errors),
        thresholds: Table::from_frame(&v.thresholds),
    })
}
