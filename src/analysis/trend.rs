//! A series over runs: values, rolling median (5 runs), Mann-Kendall trend test, Theil-Sen
//! slope per month (30.4375 days), and change points (see `stats::changepoint`) with the run,
//! time, commit label, magnitude and significance; annotations in the window are listed too.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::stats::{changepoint, rolling_median, trend};
use crate::store::meta::AnnotationRow;
use crate::store::values::{Series, LONG_SERIES};
use crate::store::{RunFilter, Warehouse};

/// One run's point: 56 bytes, so a million of them are 56 MB (a `usize` index and a
/// `String` label made it 72).
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub index: u32,
    pub run_id: i64,
    #[serde(serialize_with = "crate::time::as_micros_text::serialize")]
    pub time: NaiveDateTime,
    pub value: f64,
    pub rolling_median: f64,
    pub commit: Option<Box<str>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangePointOut {
    pub index: usize,
    pub run_id: i64,
    #[serde(serialize_with = "crate::time::as_micros_text::serialize")]
    pub time: NaiveDateTime,
    pub commit: Option<String>,
    pub before: f64,
    pub after: f64,
    pub relative_change: f64,
    pub p_value: f64,
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
    pub annotations: Vec<AnnotationRow>,
    pub method: changepoint::Params,
}

/// Which points carry their commit label. Reading a label for each of a million runs is most
/// of a long series' read, and a table lists only the latest points and the change points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commits {
    All,
    /// The latest this many points and every change point.
    Latest(usize),
}

pub fn analyse(
    wh: &Warehouse,
    filter: &RunFilter,
    target: &str,
    metric: &str,
    params: &changepoint::Params,
    commits: Commits,
) -> Result<Trend> {
    let series = wh.metric_series(filter, target, metric, commits == Commits::All)?;
    if series.is_empty() {
        return Err(Error::Usage(format!(
            "no run has {metric} for target '{target}' with these filters (see `perfledger runs`)"
        )));
    }
    // the statistics first, while only the columns are held, then the points
    let (mk, cps, slope) = statistics(&series, params);
    // The statistics' scratch memory (~100 MB at a million points) is free now but still
    // held by the C heap; this has it returned before the points take 56 MB more (DuckDB
    // trims at most every 100 ms: `metric_series` leaves it one thread after a long read, so
    // that no idle worker's flush takes the slot).
    if series.len() >= LONG_SERIES {
        wh.release_cache();
    }
    let mut points = points_of(series);
    if let Commits::Latest(n) = commits {
        label_commits(wh, &mut points, n, &cps)?;
    }
    let change_points = cps
        .iter()
        .map(|c| ChangePointOut {
            index: c.index,
            run_id: points[c.index].run_id,
            time: points[c.index].time,
            commit: points[c.index].commit.as_deref().map(str::to_string),
            before: c.before,
            after: c.after,
            relative_change: c.relative_change,
            p_value: c.p_value,
        })
        .collect();
    Ok(Trend {
        target: target.to_string(),
        metric: metric.to_string(),
        mann_kendall_tau: mk.map(|m| m.tau),
        mann_kendall_p: mk.map(|m| m.p_value),
        theil_sen_slope_per_month: slope,
        change_points,
        annotations: annotations(wh, &points)?,
        points,
        method: *params,
    })
}

/// Mann-Kendall, change points and the Theil-Sen slope per month: three independent
/// O(n log n) passes, on two cores Theil-Sen beside the other two.
fn statistics(
    series: &Series,
    params: &changepoint::Params,
) -> (
    Option<trend::MannKendall>,
    Vec<changepoint::ChangePoint>,
    Option<f64>,
) {
    let values = &series.value;
    let days: Vec<f64> = series
        .time_us
        .iter()
        .map(|t| *t as f64 / 86_400e6)
        .collect();
    std::thread::scope(|s| {
        let slope = s.spawn(|| trend::theil_sen(&days, values).map(|s| s * 30.4375));
        let mk = trend::mann_kendall(&days, values);
        let cps = changepoint::detect(values, params).unwrap_or_default();
        (mk, cps, slope.join().unwrap_or(None))
    })
}

/// The points of a series, with the rolling median of 5 runs.
fn points_of(series: Series) -> Vec<Point> {
    let rm = rolling_median(&series.value, 5).unwrap_or_else(|| series.value.clone());
    let mut commits = series.commit.into_iter();
    series
        .run_id
        .iter()
        .zip(&series.time_us)
        .zip(&series.value)
        .zip(rm)
        .enumerate()
        .map(|(i, (((run_id, time_us), value), rolling_median))| Point {
            // a series of 4 billion runs would not fit in memory anyway
            index: i as u32,
            run_id: *run_id,
            time: crate::time::from_micros(*time_us).unwrap_or_default(),
            value: *value,
            rolling_median,
            commit: commits.next().flatten().map(String::into_boxed_str),
        })
        .collect()
}

/// Gives the latest `n` points and the change points their commit label.
fn label_commits(
    wh: &Warehouse,
    points: &mut [Point],
    n: usize,
    cps: &[changepoint::ChangePoint],
) -> Result<()> {
    let first = points.len().saturating_sub(n);
    let wanted: Vec<usize> = (first..points.len())
        .chain(cps.iter().map(|c| c.index).filter(|&i| i < first))
        .collect();
    let ids: Vec<i64> = wanted.iter().map(|&i| points[i].run_id).collect();
    let mut labels = wh.commit_labels(&ids)?;
    for i in wanted {
        points[i].commit = labels.remove(&points[i].run_id).map(String::into_boxed_str);
    }
    Ok(())
}

/// Annotations in the series' time window or on one of its runs.
fn annotations(wh: &Warehouse, points: &[Point]) -> Result<Vec<AnnotationRow>> {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Ok(vec![]);
    };
    let found = wh.annotations(first.time, last.time)?;
    // Annotations are few and series long: filter the run ids here rather than in SQL, and
    // only look at the series' runs for annotations outside the window.
    let mut runs: Vec<i64> = found
        .iter()
        .filter(|(_, in_window)| !in_window)
        .filter_map(|(a, _)| a.run_id)
        .collect();
    runs.sort_unstable();
    let on_series: std::collections::HashSet<i64> = points
        .iter()
        .map(|p| p.run_id)
        .filter(|r| runs.binary_search(r).is_ok())
        .collect();
    Ok(found
        .into_iter()
        .filter(|(a, in_window)| *in_window || a.run_id.is_some_and(|r| on_series.contains(&r)))
        .map(|(a, _)| a)
        .collect())
}

/// Whether a series of values (in run order) holds a change point for the worse in the
/// metric's direction: what the overview panels mark red.
pub fn has_regression(values: &[f64], metric: &str, params: &changepoint::Params) -> bool {
    let direction = crate::metrics::direction(metric);
    changepoint::detect(values, params)
        .is_some_and(|cps| cps.iter().any(|c| direction.is_worse(c.relative_change)))
}
