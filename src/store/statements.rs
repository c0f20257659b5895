//! pg_stat_statements over a period: per-interval deltas (the `pg_statement_delta` view,
//! reset-safe) summed per statement, first and last means, statements new in the period,
//! and the cache hit ratio per interval.

use chrono::NaiveDateTime;

use super::{time_of, ts, Warehouse};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq)]
pub struct StatementTotal {
    pub server: String,
    pub statement: String,
    pub calls: Option<f64>,
    pub total_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    pub cache_hit_ratio: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatementChange {
    pub server: String,
    pub statement: String,
    pub first_mean_ms: Option<f64>,
    pub last_mean_ms: Option<f64>,
    pub change: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewStatement {
    pub server: String,
    pub statement: String,
    pub first_seen: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CacheHitPoint {
    pub server: String,
    pub at: Option<NaiveDateTime>,
    pub ratio: Option<f64>,
}

/// What the database section of a period report shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatementPeriod {
    pub top: Vec<StatementTotal>,
    pub changes: Vec<StatementChange>,
    pub new: Vec<NewStatement>,
    pub cache_hits: Vec<CacheHitPoint>,
    /// Execution time of every statement of the period, per server (ms).
    pub server_total_ms: Vec<(String, f64)>,
}

/// One statement's mean execution time per snapshot interval.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementLine {
    pub server: String,
    pub statement: String,
    /// (end of the interval, microseconds since the epoch; mean ms)
    pub points: Vec<(i64, f64)>,
}

impl Warehouse {
    /// The `limit` statements with the most execution time in [from, to), each with its mean
    /// time per interval.
    pub fn statement_lines(
        &self,
        from: NaiveDateTime,
        to: NaiveDateTime,
        limit: usize,
    ) -> Result<Vec<StatementLine>> {
        let (f, t) = (ts(from), ts(to));
        let rows: Vec<(String, String, i64, f64)> = self.rows(&format!("WITH d AS (SELECT server, query, interval_end, mean_exec_time_ms, total_exec_time_ms FROM pg_statement_delta
                        WHERE interval_end >= CAST(? AS TIMESTAMP) AND interval_end < CAST(? AS TIMESTAMP)),
                  top AS (SELECT server, query, sum(total_exec_time_ms) AS total FROM d GROUP BY ALL ORDER BY total DESC NULLS LAST, query LIMIT {limit})
             SELECT d.server, left(d.query, 80), epoch_us(d.interval_end), d.mean_exec_time_ms
             FROM d JOIN top USING (server, query) WHERE d.mean_exec_time_ms IS NOT NULL
             ORDER BY top.total DESC, d.query, d.server, d.interval_end"), [&f, &t], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        let mut out: Vec<StatementLine> = Vec::new();
        for (server, statement, at, mean) in rows {
            match out.last_mut() {
                Some(l) if l.server == server && l.statement == statement => {
                    l.points.push((at, mean));
                }
                _ => out.push(StatementLine {
                    server,
                    statement,
                    points: vec![(at, mean)],
                }),
            }
        }
        Ok(out)
    }

    /// The database activity of intervals ending in [from, to); empty when there is none.
    pub fn statement_period(
        &self,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> Result<StatementPeriod> {
        let (f, t) = (ts(from), ts(to));
        let top: Vec<_> = self.rows("SELECT server, left(query, 80), sum(calls)::DOUBLE, round(sum(total_exec_time_ms), 3),
                    round(sum(total_exec_time_ms) / nullif(sum(calls), 0), 4),
                    round(sum(shared_blks_hit)::DOUBLE / nullif(sum(shared_blks_hit) + sum(shared_blks_read), 0), 4)
             FROM pg_statement_delta WHERE interval_end >= CAST(? AS TIMESTAMP) AND interval_end < CAST(? AS TIMESTAMP) AND calls IS NOT NULL
             GROUP BY server, query ORDER BY 4 DESC LIMIT 10", [&f, &t], |r| {
                Ok(StatementTotal {
                    server: r.get(0)?,
                    statement: r.get(1)?,
                    calls: r.get(2)?,
                    total_ms: r.get(3)?,
                    mean_ms: r.get(4)?,
                    cache_hit_ratio: r.get(5)?,
                })
            })?;
        if top.is_empty() {
            return Ok(StatementPeriod::default());
        }
        let changes: Vec<_> = self.rows("WITH d AS (SELECT server, query, interval_end, mean_exec_time_ms FROM pg_statement_delta
                        WHERE interval_end >= CAST(? AS TIMESTAMP) AND interval_end < CAST(? AS TIMESTAMP) AND mean_exec_time_ms IS NOT NULL)
             SELECT server, left(query, 80), round(arg_min(mean_exec_time_ms, interval_end), 4),
                    round(arg_max(mean_exec_time_ms, interval_end), 4),
                    round(arg_max(mean_exec_time_ms, interval_end) / nullif(arg_min(mean_exec_time_ms, interval_end), 0) - 1, 4) AS change
             FROM d GROUP BY server, query HAVING count(*) >= 2 ORDER BY change DESC NULLS LAST LIMIT 10", [&f, &t], |r| {
                Ok(StatementChange {
                    server: r.get(0)?,
                    statement: r.get(1)?,
                    first_mean_ms: r.get(2)?,
                    last_mean_ms: r.get(3)?,
                    change: r.get(4)?,
                })
            })?;
        let new: Vec<_> = self.rows("SELECT q.server, left(s.query, 80), epoch_us(min(q.taken_at)) AS first_seen
             FROM pg_statement s JOIN pg_snapshot q ON q.id = s.snapshot_id
             GROUP BY q.server, s.query HAVING min(q.taken_at) >= CAST(? AS TIMESTAMP) AND min(q.taken_at) < CAST(? AS TIMESTAMP)
                AND min(q.taken_at) > (SELECT min(taken_at) FROM pg_snapshot p WHERE p.server = q.server)
             ORDER BY first_seen LIMIT 20", [&f, &t], |r| {
                Ok(NewStatement {
                    server: r.get(0)?,
                    statement: r.get(1)?,
                    first_seen: time_of(r.get(2)?),
                })
            })?;
        let cache_hits: Vec<_> = self.rows("SELECT server, epoch_us(interval_end),
                    sum(shared_blks_hit)::DOUBLE / nullif(sum(shared_blks_hit) + sum(shared_blks_read), 0)
             FROM pg_statement_delta WHERE interval_end >= CAST(? AS TIMESTAMP) AND interval_end < CAST(? AS TIMESTAMP)
             GROUP BY server, interval_end ORDER BY interval_end", [&f, &t], |r| {
                Ok(CacheHitPoint {
                    server: r.get(0)?,
                    at: time_of(r.get(1)?),
                    ratio: r.get(2)?,
                })
            })?;
        let server_total_ms = self.rows("SELECT server, sum(total_exec_time_ms)
             FROM pg_statement_delta WHERE interval_end >= CAST(? AS TIMESTAMP) AND interval_end < CAST(? AS TIMESTAMP) AND total_exec_time_ms IS NOT NULL
             GROUP BY server ORDER BY server", [&f, &t], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(StatementPeriod {
            top,
            changes,
            new,
            cache_hits,
            server_total_ms,
        })
    }
}

impl Warehouse {
    /// Counters that started again since the server's previous snapshot (a restart,
    /// `pg_stat_reset()`, `pg_stat_statements_reset()`): the interval counts from the reset,
    /// never as a negative delta, and the reader is told.
    pub fn reset_notes(&self, snapshot: i64) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let statements: bool = self
            .rows(
                "SELECT coalesce(bool_or(r.reset), false) FROM pg_snapshot_reset r
                 JOIN pg_snapshot_seq q ON q.id = r.snapshot_id
                 WHERE r.snapshot_id = ? AND q.prev_id IS NOT NULL",
                [snapshot],
                |r| r.get(0),
            )?
            .pop()
            .unwrap_or(false);
        if statements {
            out.push("pg_stat_statements was reset since the previous snapshot of this server (its stats_reset moved, or most statements have fewer calls): this interval's statement figures count from the reset".into());
        }
        let databases: Vec<String> = self.rows(
            "SELECT d.datname FROM pg_database_delta d
             JOIN pg_snapshot_seq q ON q.id = d.snapshot_id
             JOIN pg_database_stat p ON p.snapshot_id = q.prev_id AND p.datname = d.datname
             WHERE d.snapshot_id = ? AND d.reset ORDER BY 1",
            [snapshot],
            |r| r.get(0),
        )?;
        if !databases.is_empty() {
            out.push(format!(
                "pg_stat_database of {} was reset since the previous snapshot (a server restart or pg_stat_reset()): this interval counts from the reset",
                databases.join(", ")
            ));
        }
        Ok(out)
    }

    /// What a reader of this snapshot should know about its standbys: those of the previous
    /// snapshot of its server that are gone (stopped, failed over, or cut off), and standbys
    /// whose details the role may not read.
    pub fn replication_notes(&self, snapshot: i64) -> Result<Vec<String>> {
        let gone: Vec<(String, Option<String>)> = self.rows(
            "SELECT p.application_name, p.client_addr
             FROM pg_snapshot_seq q
             JOIN pg_replication p ON p.snapshot_id = q.prev_id
             WHERE q.id = ?
               AND EXISTS (SELECT 1 FROM pg_database_stat d WHERE d.snapshot_id = q.prev_id)
               AND NOT EXISTS (SELECT 1 FROM pg_replication c WHERE c.snapshot_id = q.id
                               AND c.application_name = p.application_name
                               AND c.client_addr IS NOT DISTINCT FROM p.client_addr)
             ORDER BY 1, 2",
            [snapshot],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut out: Vec<String> = gone
            .into_iter()
            .map(|(name, addr)| {
                format!(
                    "standby '{name}'{} of the previous snapshot is gone from pg_stat_replication",
                    addr.map(|a| format!(" ({a})")).unwrap_or_default()
                )
            })
            .collect();
        let hidden: i64 = self
            .rows(
                "SELECT count(*) FROM pg_replication WHERE snapshot_id = ? AND state IS NULL",
                [snapshot],
                |r| r.get(0),
            )?
            .pop()
            .unwrap_or(0);
        if hidden > 0 {
            out.push(format!("{hidden} standby(s) without state or lags: the role needs pg_read_all_stats (GRANT pg_read_all_stats TO ...)"));
        }
        Ok(out)
    }
}

/// A plan stored with a snapshot of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRow {
    pub run_id: i64,
    pub taken_at: Option<NaiveDateTime>,
    pub statement: String,
    pub shape: String,
    pub top_node: String,
    pub top_node_ms: f64,
    pub execution_ms: Option<f64>,
}

impl Warehouse {
    /// The plans taken with the runs' snapshots, oldest first.
    pub fn plans_of(&self, runs: &[i64]) -> Result<Vec<PlanRow>> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        self.rows(
            &format!(
                "SELECT s.run_id, epoch_us(s.taken_at), p.statement, p.shape, p.top_node, p.top_node_ms, p.execution_ms
                 FROM pg_plan p JOIN pg_snapshot s ON s.id = p.snapshot_id
                 WHERE s.run_id IN ({}) ORDER BY s.taken_at, s.id, p.rowid",
                super::id_list(runs)
            ),
            [],
            |r| {
                Ok(PlanRow {
                    run_id: r.get(0)?,
                    taken_at: time_of(r.get(1)?),
                    statement: r.get(2)?,
                    shape: r.get(3)?,
                    top_node: r.get(4)?,
                    top_node_ms: r.get(5)?,
                    execution_ms: r.get(6)?,
                })
            },
        )
    }
}
