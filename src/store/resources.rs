//! System resources bound to runs (schema/008_resources.sql): a capture's series and
//! summaries in one transaction, idempotent by content key; read back per run for `show`,
//! the reports and the recommendations.

use chrono::NaiveDateTime;
use duckdb::params;

use super::lake::layout::Partition;
use super::lake::publish::{publish, Unit};
use super::{id_list, lit, sql_err, time_of, ts, ts_value, Warehouse};
use crate::error::{Error, Result};
use crate::model::{ResourceCapture, ResourceSeries};
use crate::stats;

/// A series' run summaries: (metric name, value): the mean as `<metric>`, the 95th
/// percentile (linear, numpy's default) as `<metric>_p95` and the maximum as `<metric>_max`.
pub fn summaries(s: &ResourceSeries) -> Vec<(String, f64)> {
    let xs: Vec<f64> = s.points.iter().map(|p| p.1).collect();
    let (Some(mean), Some(p95)) = (stats::mean(&xs), stats::quantile_linear(&xs, 0.95)) else {
        return Vec::new();
    };
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    vec![
        (s.metric.clone(), mean),
        (format!("{}_p95", s.metric), p95),
        (format!("{}_max", s.metric), max),
    ]
}

/// A capture's identity: the series it holds (a saved answer's metric comes from its file's
/// name, so two files of equal bytes can be two metrics), the files it was read from, and the
/// run it is bound to, so the same answer imported again changes nothing.
fn capture_key(c: &ResourceCapture, run_key: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"resources\n");
    h.update(run_key.as_bytes());
    h.update(b"\n");
    for s in &c.sources {
        h.update(format!("{}:{}\n", s.role, s.blake3).as_bytes());
    }
    let mut series: Vec<&ResourceSeries> = c.series.iter().collect();
    series.sort_by(|a, b| (&a.target, &a.metric).cmp(&(&b.target, &b.metric)));
    for s in series {
        h.update(format!("{}\t{}\t{}\n", s.target, s.metric, s.unit).as_bytes());
        for (t, v) in &s.points {
            h.update(format!("{t} {v:?}\n").as_bytes());
        }
    }
    format!("blake3:{}", h.finalize().to_hex())
}

/// A resource series of a run, summarised: the mean, p95 and max of its points.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ResourceStat {
    pub run_id: i64,
    pub target: String,
    pub metric: String,
    pub unit: String,
    pub mean: Option<f64>,
    pub p95: Option<f64>,
    pub max: Option<f64>,
}

/// A capture bound to a run, for provenance.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureRow {
    pub id: i64,
    pub run_id: i64,
    pub source: String,
    pub started_at: Option<NaiveDateTime>,
    pub ended_at: Option<NaiveDateTime>,
    pub step_s: f64,
    /// (metric, unit, query)
    pub queries: Vec<(String, String, String)>,
}

/// A run's end as SQL over the `run` table: its own end time, or its start plus its duration
/// (wrk, ab, pgbench print a duration, not an end).
const RUN_END: &str =
    "coalesce(ended_at, started_at + to_microseconds(CAST(round(duration_s * 1e6) AS BIGINT)))";

impl Warehouse {
    /// Stores a capture bound to `run_id` in one transaction (the lake's files first).
    pub fn ingest_resources(
        &mut self,
        c: &ResourceCapture,
        run_id: i64,
    ) -> Result<(i64, super::Outcome)> {
        let run_key: Option<String> = self
            .rows("SELECT content_key FROM run WHERE id = ?", [run_id], |r| {
                r.get(0)
            })?
            .pop();
        let Some(run_key) = run_key else {
            return Err(Error::Usage(format!(
                "--run {run_id}: no such run (see `perfledger runs`)"
            )));
        };
        if c.series.is_empty() {
            return Err(Error::Usage(
                "no resource series to store: every query answered nothing in the run's window"
                    .into(),
            ));
        }
        let key = capture_key(c, &run_key);
        let part = Partition::of("prometheus", Some(c.started_at));
        let existing: Option<i64> = self
            .rows(
                "SELECT id FROM resource_capture WHERE content_key = ?",
                [&key],
                |r| r.get(0),
            )?
            .pop();
        if let Some(id) = existing {
            if let Some(lake) = self.lake.as_ref() {
                publish(&self.conn, lake, Unit::Resources(id), &key, &part)?;
            }
            return Ok((id, super::Outcome::AlreadyImported));
        }
        let tx = self.conn.transaction().map_err(sql_err)?;
        let id: i64 = tx
            .query_row(
                "INSERT INTO resource_capture (source, started_at, ended_at, step_s, run_id, content_key, imported_at)
                 VALUES (?, CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP), ?, ?, ?, current_timestamp) RETURNING id",
                params![c.source, ts(c.started_at), ts(c.ended_at), c.step_s, run_id, key],
                |r| r.get(0),
            )
            .map_err(sql_err)?;
        {
            let mut queries = tx.appender("resource_query").map_err(sql_err)?;
            let mut seen = std::collections::BTreeSet::new();
            for s in &c.series {
                if seen.insert(&s.metric) {
                    queries
                        .append_row(params![id, s.metric, s.unit, s.query])
                        .map_err(sql_err)?;
                }
            }
            queries.flush().map_err(sql_err)?;
            let mut points = tx.appender("resource_point").map_err(sql_err)?;
            for s in &c.series {
                for (t, v) in &s.points {
                    let at = crate::time::from_micros(*t).unwrap_or_default();
                    points
                        .append_row(params![id, s.target, s.metric, ts_value(at), v])
                        .map_err(sql_err)?;
                }
            }
            points.flush().map_err(sql_err)?;
            let mut sums = tx.appender("resource_summary").map_err(sql_err)?;
            for s in &c.series {
                for (metric, value) in summaries(s) {
                    sums.append_row(params![id, s.target, metric, value, s.unit])
                        .map_err(sql_err)?;
                }
            }
            sums.flush().map_err(sql_err)?;
        }
        if let Some(lake) = self.lake.as_ref() {
            publish(&tx, lake, Unit::Resources(id), &key, &part)?;
            super::lake::sync::bind(&tx, lake)?;
        }
        tx.commit().map_err(sql_err)?;
        Ok((id, super::Outcome::Imported))
    }

    /// A run's window: its start and its end (or start + duration; see [`RUN_END`]).
    pub fn run_window(&self, run: i64) -> Result<Option<(NaiveDateTime, NaiveDateTime)>> {
        let row: Option<(Option<i64>, Option<i64>)> = self
            .rows(
                &format!("SELECT epoch_us(started_at), epoch_us({RUN_END}) FROM run WHERE id = ?"),
                [run],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .pop();
        Ok(row.and_then(|(a, b)| Some((time_of(a)?, time_of(b)?))))
    }

    /// The run whose window overlaps [from, to] the most (for a saved answer imported
    /// without --run).
    pub fn run_overlapping(&self, from: NaiveDateTime, to: NaiveDateTime) -> Result<Option<i64>> {
        let rows: Vec<i64> = self.rows(
            &format!(
                "WITH w AS (SELECT id, started_at AS s, {RUN_END} AS e FROM run WHERE started_at IS NOT NULL)
             SELECT id FROM w
             WHERE e > CAST(? AS TIMESTAMP) AND s < CAST(? AS TIMESTAMP)
             ORDER BY least(e, CAST(? AS TIMESTAMP)) - greatest(s, CAST(? AS TIMESTAMP)) DESC, id DESC
             LIMIT 1"
            ),
            [ts(from), ts(to), ts(to), ts(from)],
            |r| r.get(0),
        )?;
        Ok(rows.first().copied())
    }

    /// The resource series of runs with their mean, p95 and max, by run, then in the order
    /// of the queries (CPU, cores, memory, disk, network, then a file's own), then target.
    pub fn resource_stats(&self, runs: &[i64]) -> Result<Vec<ResourceStat>> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        self.rows(
            &format!(
                "SELECT c.run_id, s.target, q.metric, q.unit,
                        max(s.value) FILTER (WHERE s.metric = q.metric),
                        max(s.value) FILTER (WHERE s.metric = q.metric || '_p95'),
                        max(s.value) FILTER (WHERE s.metric = q.metric || '_max')
                 FROM resource_summary s
                 JOIN resource_capture c ON c.id = s.capture_id
                 JOIN resource_query q ON q.capture_id = s.capture_id
                      AND s.metric IN (q.metric, q.metric || '_p95', q.metric || '_max')
                 WHERE c.run_id IN ({})
                 GROUP BY c.run_id, s.target, q.metric, q.unit
                 ORDER BY c.run_id, min(q.rowid), s.target",
                id_list(runs)
            ),
            [],
            |r| {
                Ok(ResourceStat {
                    run_id: r.get(0)?,
                    target: r.get(1)?,
                    metric: r.get(2)?,
                    unit: r.get(3)?,
                    mean: r.get(4)?,
                    p95: r.get(5)?,
                    max: r.get(6)?,
                })
            },
        )
    }

    /// A run's points of one resource metric: (target, [(microseconds, value)]), by target.
    pub fn resource_points(
        &self,
        run: i64,
        metric: &str,
    ) -> Result<Vec<super::values::TargetLine>> {
        let rows: Vec<(String, i64, f64)> = self.rows(
            &format!(
                "SELECT p.target, epoch_us(p.ts), p.value FROM resource_point p
                 JOIN resource_capture c ON c.id = p.capture_id
                 WHERE c.run_id = ? AND p.metric = {} ORDER BY p.target, p.ts",
                lit(metric)
            ),
            [run],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let mut out: Vec<super::values::TargetLine> = Vec::new();
        for (target, t, v) in rows {
            match out.last_mut() {
                Some((name, pts)) if *name == target => pts.push((t, v)),
                _ => out.push((target, vec![(t, v)])),
            }
        }
        Ok(out)
    }

    /// The captures bound to runs, with their queries.
    pub fn captures(&self, runs: &[i64]) -> Result<Vec<CaptureRow>> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        let mut caps: Vec<CaptureRow> = self.rows(
            &format!(
                "SELECT id, run_id, source, epoch_us(started_at), epoch_us(ended_at), step_s
                 FROM resource_capture WHERE run_id IN ({}) ORDER BY run_id, id",
                id_list(runs)
            ),
            [],
            |r| {
                Ok(CaptureRow {
                    id: r.get(0)?,
                    run_id: r.get(1)?,
                    source: r.get(2)?,
                    started_at: time_of(r.get(3)?),
                    ended_at: time_of(r.get(4)?),
                    step_s: r.get(5)?,
                    queries: Vec::new(),
                })
            },
        )?;
        for c in &mut caps {
            c.queries = self.rows(
                "SELECT metric, unit, query FROM resource_query WHERE capture_id = ? ORDER BY rowid",
                [c.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
        }
        Ok(caps)
    }
}
