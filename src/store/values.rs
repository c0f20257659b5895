//! Measurements, histograms and per-interval series, as typed values.

use std::collections::{BTreeMap, HashMap};

use duckdb::arrow::array::{Float64Array, Int64Array, StringArray};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::params_from_iter;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;

use super::{id_list, lit, sql_err, RunFilter, Warehouse};
use crate::error::{Error, Result};
use crate::metrics::{DB_HEALTH_METRICS, STATEMENT_METRICS, TARGET_METRICS};

/// (target, metric) -> run id -> value.
pub type Values = BTreeMap<(String, String), BTreeMap<i64, f64>>;

/// A metric's series over runs, oldest first (by start, then run id), as columns: a million
/// points are 24 MB here, where rows of four fields were 48.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub run_id: Vec<i64>,
    /// Start of each run, microseconds since the Unix epoch.
    pub time_us: Vec<i64>,
    pub value: Vec<f64>,
    /// Each point's `commit` label when asked for, else empty.
    pub commit: Vec<Option<String>>,
}

impl Series {
    pub fn len(&self) -> usize {
        self.run_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.run_id.is_empty()
    }
}

/// One per-interval point within a run.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalPoint {
    pub target: String,
    pub metric: String,
    pub time_us: i64,
    pub value: f64,
}

/// One row of a run's per-target table: the values of [`TARGET_METRICS`], in that order.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetRow {
    pub target: String,
    pub kind: String,
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRow {
    pub target: String,
    pub kind: String,
    pub message: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdRow {
    pub metric: String,
    pub expression: String,
    pub passed: bool,
}

/// A stored HdrHistogram (V2 serialisation) of a run.
fn decode(run: i64, blob: &[u8]) -> Result<Histogram<u64>> {
    Deserializer::new()
        .deserialize(&mut &blob[..])
        .map_err(|e| {
            Error::Store(format!(
                "stored histogram of run {run} is unreadable: {e:?}"
            ))
        })
}

/// The rows of the `metrics` view for one metric that are not in `measurement` (statement
/// deltas, database health, resource summaries), as a subquery of (run_id, target, metric,
/// value). Reading these directly keeps DuckDB from planning the views that are not needed.
fn derived_source(metric: &str) -> String {
    let m = lit(metric);
    if STATEMENT_METRICS.contains(&metric) {
        // the column name is one of ours (checked above), never user text
        format!(
            "(SELECT run_id, query AS target, {m} AS metric, CAST({metric} AS DOUBLE) AS value
              FROM pg_statement_delta WHERE run_id IS NOT NULL AND {metric} IS NOT NULL)"
        )
    } else if DB_HEALTH_METRICS.contains(&metric) {
        format!("(SELECT run_id, target, metric, value FROM pg_health_metric WHERE metric = {m})")
    } else {
        // any other name may be a resource summary (`import prometheus`, its own queries too)
        format!("(SELECT run_id, target, metric, value FROM resource_metric WHERE metric = {m})")
    }
}

/// From this many runs on, a series' values are read under [`SCAN_MEMORY_LIMIT`] and DuckDB's
/// cache let go after (see [`Warehouse::release_cache`]): the blocks read for a million
/// points are ~100 MB. Shorter reads keep the cache for the next: a report reads 51 series
/// of a quarter (~6,600 points each).
pub const LONG_SERIES: usize = 100_000;

/// DuckDB's memory limit while a long series is read.
const SCAN_MEMORY_LIMIT: &str = "32MB";

/// A typed column of an Arrow batch from one of our statements.
fn column<T: 'static>(b: &RecordBatch, i: usize) -> Result<&T> {
    b.column(i).as_any().downcast_ref::<T>().ok_or_else(|| {
        Error::Store(format!(
            "column {i} of a series scan is {}, not the type expected",
            b.column(i).data_type()
        ))
    })
}

/// (run id, value) of each row; a NULL value is NaN (the statistics reject it, as before).
fn push_values(b: &RecordBatch, out: &mut Vec<(i64, f64)>) -> Result<()> {
    let run: &Int64Array = column(b, 0)?;
    let value: &Float64Array = column(b, 1)?;
    out.extend(
        run.values()
            .iter()
            .zip(value.iter())
            .map(|(r, v)| (*r, v.unwrap_or(f64::NAN))),
    );
    Ok(())
}

/// (run id, start in microseconds) of each row.
fn push_runs(b: &RecordBatch, out: &mut Vec<(i64, i64)>) -> Result<()> {
    let run: &Int64Array = column(b, 0)?;
    let start: &Int64Array = column(b, 1)?;
    out.extend(
        run.values()
            .iter()
            .copied()
            .zip(start.values().iter().copied()),
    );
    Ok(())
}

/// The values of the runs in `runs` (run ids are unique there), ordered by (start, run id);
/// a run with two values keeps both, smaller value first.
fn join_runs(mut values: Vec<(i64, f64)>, mut runs: Vec<(i64, i64)>) -> Series {
    // both scans come in run order as a rule, which these sorts detect in one pass
    values.sort_unstable_by_key(|v| v.0);
    runs.sort_unstable_by_key(|r| r.0);
    let mut joined: Vec<(i64, i64, f64)> = Vec::with_capacity(values.len().min(runs.len()));
    let mut at = 0;
    for (id, v) in values {
        while runs.get(at).is_some_and(|r| r.0 < id) {
            at += 1;
        }
        if runs.get(at).is_some_and(|r| r.0 == id) {
            joined.push((runs[at].1, id, v));
        }
    }
    drop(runs);
    joined.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
    Series {
        run_id: joined.iter().map(|j| j.1).collect(),
        time_us: joined.iter().map(|j| j.0).collect(),
        value: joined.iter().map(|j| j.2).collect(),
        commit: Vec::new(),
    }
}

/// One target's values over runs: (target, [(start of the run in microseconds, value)]).
pub type TargetLine = (String, Vec<(i64, f64)>);

/// A target's stored percentiles: (target, [(percent, ms)]).
pub type PercentileLine = (String, Vec<(f64, f64)>);

impl Warehouse {
    /// Values of (target, metric) for each run id, statement metrics of attached snapshots,
    /// database health and resource summaries included.
    pub fn values(&self, runs: &[i64], metrics: &[&str]) -> Result<Values> {
        self.values_where(runs, metrics, None)
    }

    /// [`Warehouse::values`] of one target: a goal's (a quarter's runs x 50 targets read for
    /// one of them was most of a quarterly report's time).
    pub fn target_values(&self, runs: &[i64], target: &str, metric: &str) -> Result<Values> {
        self.values_where(runs, &[metric], Some(target))
    }

    fn values_where(&self, runs: &[i64], metrics: &[&str], target: Option<&str>) -> Result<Values> {
        let mut out = Values::new();
        if runs.is_empty() || metrics.is_empty() {
            return Ok(out);
        }
        let ids = id_list(runs);
        // the target condition of each source, by the column that is its target
        let of = |col: &str| target.map_or(String::new(), |t| format!(" AND {col} = {}", lit(t)));
        let names = metrics.iter().map(|m| lit(m)).collect::<Vec<_>>().join(",");
        let mut sql = format!("SELECT run_id, target, metric, value FROM measurement WHERE run_id IN ({ids}) AND metric IN ({names}){}", of("target"));
        let stmt_metrics: Vec<&&str> = metrics
            .iter()
            .filter(|m| STATEMENT_METRICS.contains(m))
            .collect();
        if !stmt_metrics.is_empty() {
            let attached: i64 = self
                .conn
                .query_row(
                    &format!("SELECT count(*) FROM pg_snapshot WHERE run_id IN ({ids})"),
                    [],
                    |r| r.get(0),
                )
                .map_err(sql_err)?;
            if attached > 0 {
                for m in stmt_metrics {
                    sql += &format!(
                        " UNION ALL SELECT run_id, query, {}, CAST({m} AS DOUBLE) FROM pg_statement_delta WHERE run_id IN ({ids}) AND {m} IS NOT NULL{}",
                        lit(m),
                        of("query")
                    );
                }
            }
        }
        let health: Vec<String> = metrics
            .iter()
            .filter(|m| DB_HEALTH_METRICS.contains(m))
            .map(|m| lit(m))
            .collect();
        if !health.is_empty() {
            sql += &format!(
                " UNION ALL SELECT run_id, target, metric, value FROM pg_health_metric WHERE run_id IN ({ids}) AND metric IN ({}){}",
                health.join(","),
                of("target")
            );
        }
        let other: Vec<String> = metrics
            .iter()
            .filter(|m| !DB_HEALTH_METRICS.contains(m) && !STATEMENT_METRICS.contains(m))
            .map(|m| lit(m))
            .collect();
        if !other.is_empty() {
            sql += &format!(
                " UNION ALL SELECT run_id, target, metric, value FROM resource_metric WHERE run_id IN ({ids}) AND metric IN ({}){}",
                other.join(","),
                of("target")
            );
        }
        let mut st = self.conn.prepare(&sql).map_err(sql_err)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<f64>>(3)?,
                ))
            })
            .map_err(sql_err)?;
        for row in rows {
            let (run, target, metric, value) = row.map_err(sql_err)?;
            if let Some(v) = value {
                out.entry((target, metric)).or_default().insert(run, v);
            }
        }
        Ok(out)
    }

    /// One run's stored latency histogram of a target.
    pub fn histogram(&self, run: i64, target: &str) -> Result<Option<Histogram<u64>>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT hdr FROM histogram WHERE run_id = ? AND target = ?")
            .map_err(sql_err)?;
        let mut rows = st.query(duckdb::params![run, target]).map_err(sql_err)?;
        let Some(row) = rows.next().map_err(sql_err)? else {
            return Ok(None);
        };
        let blob: Vec<u8> = row.get(0).map_err(sql_err)?;
        decode(run, &blob).map(Some)
    }

    /// Every stored request-latency histogram of the runs, (run id, target, histogram), by run
    /// and target; a custom metric's (a k6 Trend's values) is not one.
    pub fn histograms_of(&self, runs: &[i64]) -> Result<Vec<(i64, String, Histogram<u64>)>> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(i64, String, Vec<u8>)> = self.rows(
            &format!(
                "SELECT h.run_id, h.target, h.hdr FROM histogram h
                 JOIN target t ON t.run_id = h.run_id AND t.target = h.target
                 WHERE h.run_id IN ({}) AND t.kind <> 'metric' ORDER BY h.run_id, h.target",
                id_list(runs)
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        rows.into_iter()
            .map(|(run, target, blob)| Ok((run, target, decode(run, &blob)?)))
            .collect()
    }

    /// Merged latency histogram of a target over runs (None when any run lacks one).
    pub fn merged_histogram(&self, runs: &[i64], target: &str) -> Result<Option<Histogram<u64>>> {
        let mut merged: Option<Histogram<u64>> = None;
        for run in runs {
            let Some(h) = self.histogram(*run, target)? else {
                return Ok(None);
            };
            match merged.as_mut() {
                Some(m) => m
                    .add(&h)
                    .map_err(|e| Error::Store(format!("histogram merge: {e:?}")))?,
                None => merged = Some(h),
            }
        }
        Ok(merged)
    }

    /// Targets of a run that have a histogram: TOTAL first, then by request count.
    pub fn histogram_targets(&self, run: i64, limit: usize) -> Result<Vec<String>> {
        let rows: Vec<String> = self.rows(
            "SELECT h.target FROM histogram h JOIN target t ON t.run_id = h.run_id AND t.target = h.target
             WHERE h.run_id = ? AND t.kind <> 'metric' ORDER BY h.target = 'TOTAL' DESC, h.count DESC LIMIT ?",
            duckdb::params![run, limit as i64],
            |r| r.get(0),
        )?;
        Ok(rows)
    }

    /// A run's stored latency percentiles per target (as the tool printed them or computed
    /// from its histogram), TOTAL first, each as (percent, ms) sorted by percent; targets
    /// with fewer than two are left out.
    pub fn percentile_table(&self, run: i64, limit: usize) -> Result<Vec<PercentileLine>> {
        let rows: Vec<(String, String, f64)> = self.rows(
            "SELECT target, metric, value FROM measurement WHERE run_id = ? AND metric LIKE 'latency_p%_ms'
             ORDER BY target = 'TOTAL' DESC, target",
            [run],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let mut out: Vec<PercentileLine> = Vec::new();
        for (target, metric, value) in rows {
            let Some(p) = crate::metrics::percent_of(&metric) else {
                continue;
            };
            match out.last_mut() {
                Some((t, pts)) if *t == target => pts.push((p, value)),
                _ => out.push((target, vec![(p, value)])),
            }
        }
        out.retain(|(_, pts)| pts.len() >= 2);
        for (_, pts) in &mut out {
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        out.truncate(limit);
        Ok(out)
    }

    /// A run's per-interval series, in time order.
    pub fn interval_points(&self, run: i64) -> Result<Vec<IntervalPoint>> {
        let rows: Vec<_> = self.rows("SELECT target, metric, epoch_us(ts), value FROM series_point WHERE run_id = ? ORDER BY ts", [run], |r| {
                Ok(IntervalPoint {
                    target: r.get(0)?,
                    metric: r.get(1)?,
                    time_us: r.get(2)?,
                    value: r.get(3)?,
                })
            })?;
        Ok(rows)
    }

    /// One run's per-interval values of one target and metric, in time order.
    pub fn interval_values(&self, run: i64, target: &str, metric: &str) -> Result<Vec<f64>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT value FROM series_point WHERE run_id = ? AND target = ? AND metric = ? ORDER BY ts")
            .map_err(sql_err)?;
        let rows = st
            .query_map(duckdb::params![run, target, metric], |r| r.get(0))
            .map_err(sql_err)?
            .collect::<Result<Vec<f64>, _>>()
            .map_err(sql_err)?;
        Ok(rows)
    }

    /// One metric of one target over the runs a filter selects, oldest first, with each run's
    /// `commit` label if `commits` (joining a label to each of a million runs is most of the
    /// read: see [`Warehouse::commit_labels`] for a few). Times travel as integers:
    /// formatting 100,000 timestamps in SQL and parsing them back cost more than the statistics.
    ///
    /// The values and the runs are two streamed scans, joined and ordered here: DuckDB's hash
    /// join, sort and materialized result of a million rows held ~250 MB (traced at 1 M runs),
    /// where the scans hold a few batches and the columns 24 MB per million points. A long
    /// read ([`LONG_SERIES`]) bounds DuckDB's cache and lets it go after.
    pub fn metric_series(
        &self,
        filter: &RunFilter,
        target: &str,
        metric: &str,
        commits: bool,
    ) -> Result<Series> {
        let stored = self.history_values_sql(target, metric)?;
        let (cond, params) = filter.sql();
        let mut values: Vec<(i64, f64)> = Vec::new();
        // the derived sources are views with joins of their own, and small: no limit
        self.batches(
            &format!(
                "SELECT CAST(run_id AS BIGINT), CAST(value AS DOUBLE) FROM {}
                 WHERE target = ? AND run_id IS NOT NULL",
                derived_source(metric)
            ),
            [target],
            |b| push_values(b, &mut values),
        )?;
        let mut runs: Vec<(i64, i64)> = Vec::new();
        self.batches(
            &format!(
                "SELECT r.id, epoch_us(r.started_at) FROM run r
                 {cond} AND r.started_at IS NOT NULL"
            ),
            params_from_iter(params),
            |b| push_runs(b, &mut runs),
        )?;
        let (Some(first), Some(last)) = (
            runs.iter().map(|r| r.0).min(),
            runs.iter().map(|r| r.0).max(),
        ) else {
            return Ok(Series::default());
        };
        // the runs' id range prunes the values' row groups (a quarter's report reads 51
        // series: each read of every value of its series was 0.2 s at a million runs)
        let scan =
            format!("SELECT run_id, value FROM {stored} s WHERE run_id BETWEEN {first} AND {last}");
        if runs.len() < LONG_SERIES {
            self.batches(&scan, [target], |b| push_values(b, &mut values))?;
        } else {
            // A small limit bounds the blocks DuckDB caches while it reads (it evicts as it
            // goes), and they are let go after. One thread from here on: DuckDB's idle worker
            // threads flush their allocator 0.5 s after their last task, and that flush takes
            // the slot of DuckDB's heap trim (at most one per 100 ms) that the caller's
            // `release_cache` after its own work needs (it was skipped in about half the runs).
            self.conn
                .execute_batch(&format!(
                    "SET memory_limit = '{SCAN_MEMORY_LIMIT}'; SET threads = 1"
                ))
                .map_err(sql_err)?;
            let scanned = self.batches(&scan, [target], |b| push_values(b, &mut values));
            self.release_cache();
            scanned?;
        }
        let mut series = join_runs(values, runs);
        if commits {
            series.commit = self.commits_of(&series.run_id)?;
        }
        Ok(series)
    }

    /// The `commit` label of every run in `ids` (in their order), read in one scan.
    fn commits_of(&self, ids: &[i64]) -> Result<Vec<Option<String>>> {
        let mut sorted: Vec<(i64, usize)> = ids.iter().copied().zip(0..).collect();
        sorted.sort_unstable();
        let mut out = vec![None; ids.len()];
        self.batches(
            "SELECT run_id, value FROM run_label WHERE key = 'commit'",
            [],
            |b| {
                let run: &Int64Array = column(b, 0)?;
                let label: &StringArray = column(b, 1)?;
                for (r, l) in run.values().iter().zip(label.iter()) {
                    let at = sorted.partition_point(|(id, _)| id < r);
                    for (_, i) in sorted[at..].iter().take_while(|(id, _)| id == r) {
                        out[*i] = l.map(str::to_string);
                    }
                }
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// The `commit` label of each of `runs` that has one.
    pub fn commit_labels(&self, runs: &[i64]) -> Result<HashMap<i64, String>> {
        if runs.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(i64, String)> = self.rows(
            &format!(
                "SELECT run_id, value FROM run_label WHERE key = 'commit' AND run_id IN ({})",
                id_list(runs)
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(rows.into_iter().collect())
    }

    /// One metric of every target of each group of runs, per target in run order: per group,
    /// (target, [(start of the run in microseconds, value)]), TOTAL first. For overviews: one
    /// statement for all groups (one per group read the quarter's rows once per scenario:
    /// 17 statements, 1.2 s of a quarterly report at a million runs).
    pub fn metric_by_target(
        &self,
        groups: &[&[i64]],
        metric: &str,
    ) -> Result<Vec<Vec<TargetLine>>> {
        let mut out: Vec<Vec<TargetLine>> = vec![Vec::new(); groups.len()];
        let mut group_of: HashMap<i64, Vec<usize>> = HashMap::new();
        for (g, runs) in groups.iter().enumerate() {
            for &r in *runs {
                group_of.entry(r).or_default().push(g);
            }
        }
        if group_of.is_empty() {
            return Ok(out);
        }
        let all: Vec<i64> = group_of.keys().copied().collect();
        let rows: Vec<(i64, String, i64, f64)> = self.rows(
            &format!(
                "SELECT m.run_id, m.target, epoch_us(r.started_at), m.value
                 FROM measurement m JOIN run r ON r.id = m.run_id
                 WHERE m.run_id IN ({}) AND m.metric = ? AND m.value IS NOT NULL AND r.started_at IS NOT NULL
                 ORDER BY m.target = 'TOTAL' DESC, m.target, r.started_at, r.id",
                id_list(&all)
            ),
            [metric],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        // each group's rows keep the statement's order: by target, then by time
        for (run, target, t, v) in rows {
            for &g in group_of.get(&run).into_iter().flatten() {
                let lines = &mut out[g];
                match lines.last_mut() {
                    Some((name, pts)) if *name == target => pts.push((t, v)),
                    _ => lines.push((target.clone(), vec![(t, v)])),
                }
            }
        }
        Ok(out)
    }

    /// A run's per-target table (TOTAL first), metric-kind targets left out.
    pub fn target_rows(&self, run: i64) -> Result<Vec<TargetRow>> {
        let cols: String = TARGET_METRICS
            .iter()
            .map(|m| format!(", max(m.value) FILTER (WHERE m.metric = {})", lit(m)))
            .collect();
        let rows: Vec<_> = self.rows(&format!(
                "SELECT t.target, t.kind {cols}
                 FROM target t LEFT JOIN measurement m ON m.run_id = t.run_id AND m.target = t.target
                 WHERE t.run_id = ? AND t.kind <> 'metric'
                 GROUP BY t.target, t.kind
                 ORDER BY t.kind = 'total' DESC, t.target"
            ), [run], |r| {
                Ok(TargetRow {
                    target: r.get(0)?,
                    kind: r.get(1)?,
                    values: (0..TARGET_METRICS.len())
                        .map(|i| r.get::<_, Option<f64>>(i + 2))
                        .collect::<Result<_, _>>()?,
                })
            })?;
        Ok(rows)
    }

    /// Every (target, metric) a run has a value for, sorted.
    pub fn measured(&self, run: i64) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> = self.rows("SELECT DISTINCT target, metric FROM measurement WHERE run_id = ? ORDER BY target = 'TOTAL' DESC, target, metric", [run], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows)
    }

    pub fn errors(&self, run: i64) -> Result<Vec<ErrorRow>> {
        let rows: Vec<_> = self.rows("SELECT target, kind, message, count FROM error WHERE run_id = ? ORDER BY count DESC, target", [run], |r| {
                Ok(ErrorRow {
                    target: r.get(0)?,
                    kind: r.get(1)?,
                    message: r.get(2)?,
                    count: r.get(3)?,
                })
            })?;
        Ok(rows)
    }

    pub fn thresholds(&self, run: i64) -> Result<Vec<ThresholdRow>> {
        let rows: Vec<_> = self.rows(
            "SELECT metric, expression, passed FROM threshold WHERE run_id = ? ORDER BY metric",
            [run],
            |r| {
                Ok(ThresholdRow {
                    metric: r.get(0)?,
                    expression: r.get(1)?,
                    passed: r.get(2)?,
                })
            },
        )?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The join and order the old single statement got from DuckDB (`JOIN run ... ORDER BY
    /// started_at, id`): values of runs the filter left out are dropped, runs without a value
    /// give no point, inputs in any order, equal starts ordered by run id, and a run with two
    /// values keeps both.
    #[test]
    fn join_runs_is_the_inner_join_in_run_order() {
        let values = vec![
            (7, 70.0),
            (3, 30.0),
            (5, 50.0),
            (9, 90.0),
            (5, 49.0),
            (1, 10.0),
        ];
        // run 9 is filtered out; run 4 has no value; 7 and 3 start at the same time
        let runs = vec![(7, 200), (4, 150), (3, 200), (5, 100), (1, 300)];
        let s = join_runs(values, runs);
        assert_eq!(s.run_id, vec![5, 5, 3, 7, 1]);
        assert_eq!(s.time_us, vec![100, 100, 200, 200, 300]);
        assert_eq!(s.value, vec![49.0, 50.0, 30.0, 70.0, 10.0]);
        assert!(s.commit.is_empty());
        assert!(join_runs(vec![(1, 1.0)], vec![]).is_empty());
    }
}
