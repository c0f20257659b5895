//! `report run RUN`: summary, goals, per-target table, interval charts, latency CDFs, errors.

use std::collections::BTreeMap;

use serde::Serialize;

use super::charts::{distribution, percentiles, timeline};
use super::recommend_section;
use super::{provenance, Card, Cell, Chart, Common, Out, Table};
use crate::analysis::buckets_ms;
use crate::analysis::goals::{self, GoalResult, GoalsFile};
use crate::error::Result;
use crate::grid::fmt_float;
use crate::metrics::{self, TOTAL};
use crate::output::show;
use crate::store::values::IntervalPoint;
use crate::store::Warehouse;

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
    pub recommendations: recommend_section::Section,
    pub resources: super::resources_section::Section,
}

/// The goal rows; `judged` adds the run each row judges (a period's rows judge several runs).
pub fn goal_table(results: &[GoalResult], judged: Option<&dyn Fn(i64) -> String>) -> Table {
    let mut t = Table::new(
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
                                    fmt_float(l)
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
    );
    if let Some(name) = judged {
        t.header.insert(1, "run judged".into());
        for (row, g) in t.rows.iter_mut().zip(results) {
            row.insert(1, Cell::text(name(g.run)));
        }
    }
    t
}

/// (seconds, value) per target, per metric.
type ByMetric<'a> = BTreeMap<&'a str, BTreeMap<&'a str, Vec<(f64, f64)>>>;

fn series_charts(out: &Out, run: i64, points: &[IntervalPoint]) -> Result<Vec<Chart>> {
    let mut by_metric: ByMetric = BTreeMap::new();
    for p in points {
        by_metric
            .entry(&p.metric)
            .or_default()
            .entry(&p.target)
            .or_default()
            .push((p.time_us as f64 / 1e6, p.value));
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
                name: (*name).to_string(),
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
    let mut sets = Vec::new();
    for t in wh.histogram_targets(run, 6)? {
        if let Some(h) = wh.histogram(run, &t)? {
            sets.push((t, buckets_ms(&h)));
        }
    }
    if sets.is_empty() {
        return percentile_charts(wh, out, run);
    }
    Ok(vec![out.chart(&format!("run{run}_cdf"), "Latency distribution", "cumulative share of requests by latency, from the stored per-request histograms (<= 1% error)", |p| {
        distribution::draw("Latency distribution (CDF)", &sets, p)
    })?])
}

/// Without per-request histograms, the percentiles the tool printed (ab's table: 50% ... 99%).
fn percentile_charts(wh: &Warehouse, out: &Out, run: i64) -> Result<Vec<Chart>> {
    let mut sets = wh.percentile_table(run, 6)?;
    // a single-URL run's target repeats TOTAL's line
    if let Some(total) = sets
        .iter()
        .find(|(t, _)| t == crate::model::TOTAL)
        .map(|(_, p)| p.clone())
    {
        sets.retain(|(t, p)| t == crate::model::TOTAL || *p != total);
    }
    if sets.is_empty() {
        return Ok(vec![]);
    }
    Ok(vec![out.chart(
        &format!("run{run}_percentiles"),
        "Latency percentiles",
        "latency at each percentile the tool printed (no per-request data was imported)",
        |p| percentiles::draw("Latency by percentile", &sets, p),
    )?])
}

/// How the resource figures were made (both report kinds say it).
pub const RESOURCES_METHOD: &str = "System resources (where imported with `import prometheus`): Prometheus range queries over the run's window at the step shown with each query; rates over a window of four steps (never longer than the run), their points starting one window after the run's start; each series' mean, p95 (linear interpolation, numpy's default) and max over its points.";

pub fn build(
    wh: &Warehouse,
    run: i64,
    goals_file: Option<&GoalsFile>,
    out: &Out,
) -> Result<RunPage> {
    let v = wh.run_view(run)?;
    let h = &v.header;
    let total = v.targets.iter().find(|t| t.target == TOTAL);
    let value = |metric: &str| {
        let i = metrics::TARGET_METRICS.iter().position(|m| *m == metric)?;
        total.and_then(|t| t.values[i])
    };
    let card = |label: &str, metric: &str, scale: f64, suffix: &str| Card {
        label: label.to_string(),
        value: value(metric).map_or("–".into(), |x| {
            format!("{}{suffix}", fmt_float(x * scale))
        }),
        class: String::new(),
    };
    let cards = vec![
        card("requests", metrics::REQUESTS, 1.0, ""),
        card("throughput", metrics::THROUGHPUT, 1.0, " req/s"),
        card("p95 latency", metrics::LATENCY_P95, 1.0, " ms"),
        card("error rate", metrics::ERROR_RATE, 100.0, "%"),
    ];
    let goal_results = match goals_file {
        Some(gf) => goals::evaluate_run(wh, gf, run)?,
        None => Vec::new(),
    };
    let summary = show::summary_grid(h);
    let summary_rows = summary
        .columns
        .iter()
        .zip(&summary.rows[0])
        .filter(|(k, d)| **d != crate::grid::Datum::Null && *k != "sources")
        .map(|(k, d)| vec![Cell::text(k), Cell::text(d.text())])
        .collect();
    let points = wh.interval_points(run)?;
    let (mut recs, _) =
        recommend_section::run_rules(wh, &v, &points, &format!("run {run}"), "targets")?;
    recs.extend(recommend_section::cpu_rules(&v.resources, &|r| {
        format!("run {r}")
    }));
    let mut charts = series_charts(out, run, &points)?;
    charts.extend(cdf_charts(wh, out, run)?);
    let methods = vec![
        "Values are as the tool reported them; latency percentiles missing from its output are computed from stored per-request histograms (HdrHistogram, 2 significant digits, <= 1% relative error).".to_string(),
        RESOURCES_METHOD.to_string(),
        "Goal evidence: one-sided 95% order-statistic bound of a percentile (Conover) or Wilson bound of an error rate where per-request data exist; otherwise the point estimate, as the rule column says.".to_string(),
    ];
    let title = format!(
        "Run {run}: {} {}",
        h.tool,
        h.scenario.clone().unwrap_or_default()
    );
    Ok(RunPage {
        common: Common::new(
            title.trim_end().to_string(),
            [
                crate::time::display_opt(h.started_at),
                h.url.clone().unwrap_or_default(),
            ]
            .into_iter()
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
            .join(" · "),
            methods,
            provenance(wh, &[run])?,
        ),
        cards,
        summary: Table::new(&["field", "value"], summary_rows),
        goals: goal_table(&goal_results, None),
        targets: Table::from_grid(&show::targets_grid(&v)),
        charts,
        errors: Table::from_grid(&show::errors_grid(&v)),
        thresholds: Table::from_grid(&show::thresholds_grid(&v)),
        recommendations: recommend_section::section(recs, Table::default()),
        resources: super::resources_section::for_run(wh, out, run, &v.resources)?,
    })
}
