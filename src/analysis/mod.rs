//! Regression analysis on top of the warehouse: run selectors, series, comparisons, goals
//! and trends. Values travel from the warehouse as polars frames (see `frame`).

pub mod compare;
pub mod goals;
pub mod selector;
pub mod trend;

use std::collections::BTreeMap;

use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;

use crate::db::Warehouse;
use crate::error::{Error, Result};
use crate::frame;

/// Whether a smaller value of the metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    LowerIsBetter,
    HigherIsBetter,
}

pub fn direction(metric: &str) -> Direction {
    let higher = [
        "throughput_rps",
        "cache_hit_ratio",
        "success_rate",
        "requests",
        "calls",
        "rate",
        "passes",
    ];
    if higher
        .iter()
        .any(|h| metric == *h || metric.ends_with(&format!(".{h}")))
    {
        Direction::HigherIsBetter
    } else {
        Direction::LowerIsBetter
    }
}

/// The metrics compare and check look at by default, in display order.
pub const KEY_METRICS: [&str; 8] = [
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "latency_mean_ms",
    "throughput_rps",
    "error_rate",
    "mean_exec_time_ms",
    "cache_hit_ratio",
];

/// Metrics that come from pg_stat_statements snapshots attached to runs.
pub const STATEMENT_METRICS: [&str; 5] = [
    "calls",
    "total_exec_time_ms",
    "mean_exec_time_ms",
    "rows",
    "cache_hit_ratio",
];

/// The rows of the `metrics` view for one metric, as a subquery. Reading `measurement`
/// directly keeps DuckDB from planning the statement-delta views when they are not needed.
pub fn metric_source(metric: &str) -> String {
    let m = metric.replace('\'', "''");
    if STATEMENT_METRICS.contains(&metric) {
        format!(
            "(SELECT run_id, target, metric, value FROM measurement WHERE metric = '{m}'
              UNION ALL SELECT run_id, query AS target, '{m}' AS metric, CAST({m} AS DOUBLE) AS value
              FROM pg_statement_delta WHERE run_id IS NOT NULL AND {m} IS NOT NULL)"
        )
    } else {
        format!("(SELECT run_id, target, metric, value FROM measurement WHERE metric = '{m}')")
    }
}

/// Values of (target, metric) for each run id (the `metrics` view's rows).
pub fn values(
    wh: &Warehouse,
    runs: &[i64],
    metrics: &[&str],
) -> Result<BTreeMap<(String, String), BTreeMap<i64, f64>>> {
    if runs.is_empty() {
        return Ok(BTreeMap::new());
    }
    let ids = crate::db::id_list(runs);
    let names = metrics
        .iter()
        .map(|m| format!("'{}'", m.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(",");
    // ids are integers we produced and metric names are escaped: safe to inline.
    let mut sql = format!("SELECT run_id, target, metric, value FROM measurement WHERE run_id IN ({ids}) AND metric IN ({names})");
    let stmt_metrics: Vec<&&str> = metrics
        .iter()
        .filter(|m| STATEMENT_METRICS.contains(m))
        .collect();
    if !stmt_metrics.is_empty() {
        let attached: i64 = wh
            .conn
            .query_row(
                &format!("SELECT count(*) FROM pg_snapshot WHERE run_id IN ({ids})"),
                [],
                |r| r.get(0),
            )
            .map_err(|e| Error::Data(e.to_string()))?;
        if attached > 0 {
            for m in stmt_metrics {
                sql += &format!(
                    " UNION ALL SELECT run_id, query, '{m}', CAST({m} AS DOUBLE) FROM pg_statement_delta WHERE run_id IN ({ids}) AND {m} IS NOT NULL"
                );
            }
        }
    }
    let df = frame::query(&wh.conn, &sql, [])?;
    let (r, t, m, v) = (
        frame::i64_column(&df, "run_id")?,
        frame::str_column(&df, "target")?,
        frame::str_column(&df, "metric")?,
        frame::f64_column(&df, "value")?,
    );
    let mut out: BTreeMap<(String, String), BTreeMap<i64, f64>> = BTreeMap::new();
    for i in 0..df.height() {
        if let (Some(r), Some(t), Some(m), Some(v)) = (r[i], t[i].clone(), m[i].clone(), v[i]) {
            out.entry((t, m)).or_default().insert(r, v);
        }
    }
    Ok(out)
}

/// Merged latency histogram of a target over runs (None when any run lacks one).
pub fn merged_histogram(
    wh: &Warehouse,
    runs: &[i64],
    target: &str,
) -> Result<Option<Histogram<u64>>> {
    let mut merged: Option<Histogram<u64>> = None;
    let mut stmt = wh
        .conn
        .prepare("SELECT hdr FROM histogram WHERE run_id = ? AND target = ?")
        .map_err(|e| Error::Data(e.to_string()))?;
    for run in runs {
        let blob: Option<Vec<u8>> = stmt
            .query_row(duckdb::params![run, target], |r| r.get(0))
            .map(Some)
            .or_else(|e| {
                if matches!(e, duckdb::Error::QueryReturnedNoRows) {
                    Ok(None)
                } else {
                    Err(e)
                }
            })
            .map_err(|e| Error::Data(e.to_string()))?;
        let Some(blob) = blob else { return Ok(None) };
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut &blob[..])
            .map_err(|e| {
                Error::Data(format!(
                    "stored histogram of run {run} is unreadable: {e:?}"
                ))
            })?;
        match merged.as_mut() {
            Some(m) => m
                .add(&h)
                .map_err(|e| Error::Data(format!("histogram merge: {e:?}")))?,
            None => merged = Some(h),
        }
    }
    Ok(merged)
}

/// Histogram buckets as (milliseconds, count).
pub fn buckets_ms(h: &Histogram<u64>) -> Vec<(f64, u64)> {
    h.iter_recorded()
        .map(|v| {
            (
                h.highest_equivalent(v.value_iterated_to()) as f64 / 1000.0,
                v.count_at_value(),
            )
        })
        .collect()
}

/// The quantile a latency metric name stands for.
pub fn quantile_of(metric: &str) -> Option<f64> {
    match metric {
        "latency_p50_ms" => Some(0.50),
        "latency_p90_ms" => Some(0.90),
        "latency_p95_ms" => Some(0.95),
        "latency_p99_ms" => Some(0.99),
        "latency_p999_ms" => Some(0.999),
        _ => None,
    }
}
