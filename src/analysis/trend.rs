//! A series over runs: values, rolling median (5 runs), Mann-Kendall trend test, Theil-Sen
//! slope per month (30.4375 days), and change points (see `stats::changepoint`) with the run,
//! time, commit label, magnitude and significance; annotations in the window are listed too.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::stats::{changepoint, rolling_median, trend};
use crate::store::meta::AnnotationRow;
use crate::store::values::{Series, LONG_SERIES};
use crate::store::{RunFilter, Warehouse};

/// One run's point as the outputs see it, made from [`Points`]' columns when asked for.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Point<'a> {
    pub index: u32,
    pub run_id: i64,
    #[serde(serialize_with = "crate::time::as_micros_text::serialize")]
    pub time: NaiveDateTime,
    pub value: f64,
    pub rolling_median: f64,
    pub commit: Option<&'a str>,
}

/// A series' points as columns: the read's own (run, time, value: 24 bytes a point) and the
/// rolling median, not a copy of them as rows beside the columns (56 bytes a point, the
/// largest allocation of a million-point trend). Serialized as a list of [`Point`]s.
#[derive(Debug, Clone, Default)]
pub struct Points {
    run_id: Vec<i64>,
    time_us: Vec<i64>,
    value: Vec<f64>,
    rolling_median: Vec<f64>,
    /// every point's commit label ([`Commits::All`]), else empty
    commits: Vec<Option<String>>,
    /// the labels read for a few points ([`Commits::Latest`]), by index
    labels: HashMap<usize, String>,
}

impl Points {
    pub fn len(&self) -> usize {
        self.run_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.run_id.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<Point<'_>> {
        Some(Point {
            // a series of 4 billion runs would not fit in memory anyway
            index: i as u32,
            run_id: *self.run_id.get(i)?,
            time: crate::time::from_micros(self.time_us[i]).unwrap_or_default(),
            value: self.value[i],
            rolling_median: self.rolling_median[i],
            commit: self
                .commits
                .get(i)
                .and_then(Option::as_deref)
                .or_else(|| self.labels.get(&i).map(String::as_str)),
        })
    }

    pub fn first(&self) -> Option<Point<'_>> {
        self.get(0)
    }

    pub fn last(&self) -> Option<Point<'_>> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    pub fn iter(&self) -> impl Iterator<Item = Point<'_>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    pub fn run_ids(&self) -> &[i64] {
        &self.run_id
    }
}

impl Serialize for Points {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
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
    pub points: Points,
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
    // The statistics' scratch memory (~50 MB at a million points) is free now but still
    // held by the C heap; this has it returned before the rolling median and the output (a
    // million points in json are 200 MB of text). DuckDB trims at most every 100 ms:
    // `metric_series` leaves it one thread after a long read, so that no idle worker's flush
    // takes the slot.
    if series.len() >= LONG_SERIES {
        wh.release_cache();
    }
    let mut points = points_of(series);
    if let Commits::Latest(n) = commits {
        label_commits(wh, &mut points, n, &cps)?;
    }
    let change_points = cps
        .iter()
        .filter_map(|c| {
            let at = points.get(c.index)?;
            Some(ChangePointOut {
                index: c.index,
                run_id: at.run_id,
                time: at.time,
                commit: at.commit.map(str::to_string),
                before: c.before,
                after: c.after,
                relative_change: c.relative_change,
                p_value: c.p_value,
            })
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
fn points_of(series: Series) -> Points {
    let rolling_median = rolling_median(&series.value, 5).unwrap_or_else(|| series.value.clone());
    Points {
        run_id: series.run_id,
        time_us: series.time_us,
        value: series.value,
        rolling_median,
        commits: series.commit,
        labels: HashMap::new(),
    }
}

/// Gives the latest `n` points and the change points their commit label.
fn label_commits(
    wh: &Warehouse,
    points: &mut Points,
    n: usize,
    cps: &[changepoint::ChangePoint],
) -> Result<()> {
    let first = points.len().saturating_sub(n);
    let wanted: Vec<usize> = (first..points.len())
        .chain(cps.iter().map(|c| c.index).filter(|&i| i < first))
        .collect();
    let ids: Vec<i64> = wanted.iter().map(|&i| points.run_id[i]).collect();
    let mut labels = wh.commit_labels(&ids)?;
    for i in wanted {
        if let Some(l) = labels.remove(&points.run_id[i]) {
            points.labels.insert(i, l);
        }
    }
    Ok(())
}

/// Annotations in the series' time window or on one of its runs.
fn annotations(wh: &Warehouse, points: &Points) -> Result<Vec<AnnotationRow>> {
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
        .run_ids()
        .iter()
        .copied()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn series(commits: bool) -> Series {
        Series {
            run_id: vec![7, 9, 12],
            time_us: vec![
                1_700_000_000_000_000,
                1_700_000_060_000_000,
                1_700_000_120_500_000,
            ],
            value: vec![10.0, 30.0, 20.0],
            commit: if commits {
                vec![Some("a1".into()), None, Some("c3".into())]
            } else {
                Vec::new()
            },
        }
    }

    /// The columns serialize as the list of rows the outputs had before, field order too (the
    /// rolling median of the first point is its window's, cut at the start: 10, 30, 20).
    #[test]
    fn points_serialize_as_rows() {
        let p = points_of(series(true));
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"[{"index":0,"run_id":7,"time":"2023-11-14 22:13:20.000000","value":10.0,"rolling_median":20.0,"commit":"a1"},"#,
                r#"{"index":1,"run_id":9,"time":"2023-11-14 22:14:20.000000","value":30.0,"rolling_median":20.0,"commit":null},"#,
                r#"{"index":2,"run_id":12,"time":"2023-11-14 22:15:20.500000","value":20.0,"rolling_median":20.0,"commit":"c3"}]"#
            )
        );
        assert_eq!(p.len(), 3);
        assert_eq!(p.last().unwrap().run_id, 12);
        assert!(p.get(3).is_none());
        assert_eq!(p.iter().map(|q| q.index).collect::<Vec<_>>(), [0, 1, 2]);
    }

    /// Labels read for a few points (a table's) show on those points only.
    #[test]
    fn sparse_labels_land_on_their_points() {
        let mut p = points_of(series(false));
        assert!(p.iter().all(|q| q.commit.is_none()));
        p.labels.insert(1, "b2".into());
        let got: Vec<Option<&str>> = p.iter().map(|q| q.commit).collect();
        assert_eq!(got, [None, Some("b2"), None]);
    }
}
