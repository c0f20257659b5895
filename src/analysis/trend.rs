//! A series over runs: values, rolling median (5 runs), Mann-Kendall trend test, Theil-Sen
//! slope per month (30.4375 days), and change points (see `stats::changepoint`) with the run,
//! time, commit label, magnitude and significance; annotations in the window are listed too.

use duckdb::params_from_iter;
use serde::Serialize;

use crate::commands::select::RunFilter;
use crate::db::Warehouse;
use crate::error::{Error, Result};
use crate::frame;
use crate::stats::{changepoint, rolling_median, trend};

#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub index: usize,
    pub run_id: i64,
    pub time: String,
    pub value: f64,
    pub rolling_median: f64,
    pub commit: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangePointOut {
    pub index: usize,
    pub run_id: i64,
    pub time: String,
    pub commit: Option<String>,
    pub before: f64,
    pub after: f64,
    pub relative_change: f64,
    pub p_value: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Annotation {
    pub id: i64,
    pub time: Option<String>,
    pub run_id: Option<i64>,
    pub kind: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Trend {
    pub target: String,
    pub metric: String,
    pub points: Vec<Point>,
    pub mann_kendall_tau: Option<f64>,
    pub mann_kendall_p: Option<f64>,
    pub theil_sen_slope_per_month: Option<f64>,
    pub change_points: Vec<ChangePointOut>,
    pub annotations: Vec<Annotation>,
    pub method: changepoint::Params,
}

/// The (run, start in microseconds since the epoch, value, commit) frame of one series. Times
/// travel as integers: formatting 100,000 timestamps in SQL and parsing them back cost more
/// than the statistics.
pub fn series_frame(
    wh: &Warehouse,
    filter: &RunFilter,
    target: &str,
    metric: &str,
) -> Result<polars::prelude::DataFrame> {
    let (cond, mut params) = filter.sql();
    params.insert(0, duckdb::types::Value::Text(target.to_string()));
    let source = super::metric_source(metric);
    frame::query(
        &wh.conn,
        &format!(
            "SELECT r.id AS run_id, epoch_us(r.started_at) AS time_us, m.value, l.value AS commit
             FROM run r JOIN {source} m ON m.run_id = r.id AND m.target = ?
             LEFT JOIN run_label l ON l.run_id = r.id AND l.key = 'commit'
             {cond} AND r.started_at IS NOT NULL
             ORDER BY r.started_at, r.id"
        ),
        params_from_iter(params),
    )
}

pub fn analyse(
    wh: &Warehouse,
    filter: &RunFilter,
    target: &str,
    metric: &str,
    params: &changepoint::Params,
) -> Result<Trend> {
    let df = series_frame(wh, filter, target, metric)?;
    let runs = frame::i64_column(&df, "run_id")?;
    let micros = frame::i64_column(&df, "time_us")?;
    let vals = frame::f64_column(&df, "value")?;
    let commits = frame::str_column(&df, "commit")?;
    let values: Vec<f64> = vals.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
    if values.is_empty() {
        return Err(Error::Usage(format!(
            "no run has {metric} for target '{target}' with these filters (see `perfledger runs`)"
        )));
    }
    let days: Vec<f64> = micros
        .iter()
        .map(|t| t.map_or(f64::NAN, |us| us as f64 / 86_400e6))
        .collect();
    let format = chrono::format::StrftimeItems::new("%Y-%m-%d %H:%M:%S%.6f")
        .parse()
        .expect("static format");
    let times: Vec<String> = micros
        .iter()
        .map(|t| {
            t.and_then(chrono::DateTime::from_timestamp_micros)
                .map(|d| d.naive_utc().format_with_items(format.iter()).to_string())
                .unwrap_or_default()
        })
        .collect();
    let rm = rolling_median(&values, 5).unwrap_or_else(|| values.clone());
    let points: Vec<Point> = (0..values.len())
        .map(|i| Point {
            index: i,
            run_id: runs[i].unwrap_or(0),
            time: times[i].clone(),
            value: values[i],
            rolling_median: rm[i],
            commit: commits[i].clone(),
        })
        .collect();
    let mk = trend::mann_kendall(&days, &values);
    let slope = trend::theil_sen(&days, &values).map(|s| s * 30.4375);
    let cps = changepoint::detect(&values, params).unwrap_or_default();
    let change_points = cps
        .iter()
        .map(|c| ChangePointOut {
            index: c.index,
            run_id: points[c.index].run_id,
            time: points[c.index].time.clone(),
            commit: points[c.index].commit.clone(),
            before: c.before,
            after: c.after,
            relative_change: c.relative_change,
            p_value: c.p_value,
        })
        .collect();
    let (first, last) = (
        points.first().map(|p| p.time.clone()),
        points.last().map(|p| p.time.clone()),
    );
    Ok(Trend {
        target: target.to_string(),
        metric: metric.to_string(),
        mann_kendall_tau: mk.map(|m| m.tau),
        mann_kendall_p: mk.map(|m| m.p_value),
        theil_sen_slope_per_month: slope,
        change_points,
        annotations: annotations(wh, first.as_deref(), last.as_deref(), &points)?,
        points,
        method: *params,
    })
}

fn annotations(
    wh: &Warehouse,
    first: Option<&str>,
    last: Option<&str>,
    points: &[Point],
) -> Result<Vec<Annotation>> {
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(vec![]);
    };
    // Annotations are few and series long: filter the run ids here rather than in SQL.
    let ids: std::collections::HashSet<i64> = points.iter().map(|p| p.run_id).collect();
    let df = frame::query(
        &wh.conn,
        "SELECT id, strftime(happened_at, '%Y-%m-%d %H:%M:%S') AS happened_at, run_id, kind, text,
                happened_at BETWEEN CAST(? AS TIMESTAMP) AND CAST(? AS TIMESTAMP) AS in_window
         FROM annotation WHERE happened_at IS NOT NULL OR run_id IS NOT NULL
         ORDER BY coalesce(happened_at, TIMESTAMP '1970-01-01'), id",
        [first, last],
    )?;
    let in_window = frame::bool_column(&df, "in_window")?;
    let (id, at, run, kind, text) = (
        frame::i64_column(&df, "id")?,
        frame::str_column(&df, "happened_at")?,
        frame::i64_column(&df, "run_id")?,
        frame::str_column(&df, "kind")?,
        frame::str_column(&df, "text")?,
    );
    Ok((0..df.height())
        .filter(|&i| in_window[i] == Some(true) || run[i].is_some_and(|r| ids.contains(&r)))
        .map(|i| Annotation {
            id: id[i].unwrap_or(0),
            time: at[i].clone(),
            run_id: run[i],
            kind: kind[i].clone().unwrap_or_default(),
            text: text[i].clone().unwrap_or_default(),
        })
        .collect())
}
