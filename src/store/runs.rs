//! Runs: filters, references (`42`, `latest`), headers, listings, load profiles and
//! provenance. Every user value is a bound parameter; run ids are integers we produced.

use chrono::NaiveDateTime;
use duckdb::params_from_iter;
use duckdb::types::Value;

use super::{id_list, sql_err, time_of, ts, Warehouse};
use crate::error::{Error, Result};
use crate::metrics::TOTAL;
use crate::model::LoadProfile;

/// Which runs a command looks at: by tool, scenario, labels and start time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    pub tool: Option<String>,
    pub scenario: Option<String>,
    pub labels: Vec<(String, String)>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

impl RunFilter {
    /// `WHERE ...` over table alias `r`, with its parameters.
    pub(super) fn sql(&self) -> (String, Vec<Value>) {
        let mut conds = vec!["TRUE".to_string()];
        let mut params = Vec::new();
        if let Some(t) = &self.tool {
            conds.push("r.tool = ?".into());
            params.push(Value::Text(t.clone()));
        }
        if let Some(s) = &self.scenario {
            conds.push("r.scenario = ?".into());
            params.push(Value::Text(s.clone()));
        }
        for (k, v) in &self.labels {
            conds.push("EXISTS (SELECT 1 FROM run_label l WHERE l.run_id = r.id AND l.key = ? AND l.value = ?)".into());
            params.push(Value::Text(k.clone()));
            params.push(Value::Text(v.clone()));
        }
        if let Some(s) = self.since {
            conds.push("r.started_at >= CAST(? AS TIMESTAMP)".into());
            params.push(Value::Text(ts(s)));
        }
        if let Some(u) = self.until {
            conds.push("r.started_at < CAST(? AS TIMESTAMP)".into());
            params.push(Value::Text(ts(u)));
        }
        (format!("WHERE {}", conds.join(" AND ")), params)
    }
}

/// A run's header: what `show` prints above its targets.
#[derive(Debug, Clone, PartialEq)]
pub struct RunHeader {
    pub id: i64,
    pub tool: String,
    pub tool_version: Option<String>,
    pub format: String,
    pub scenario: Option<String>,
    pub started_at: Option<NaiveDateTime>,
    pub ended_at: Option<NaiveDateTime>,
    pub duration_s: Option<f64>,
    pub url: Option<String>,
    pub load: LoadProfile,
    pub content_key: String,
    /// `key=value`, sorted by key.
    pub labels: Vec<(String, String)>,
    pub sources: Vec<SourceRow>,
}

/// A source file of a run, with its digest.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    pub path: String,
    pub role: String,
    /// `blake3 <hex>`, or `sha256 <hex>` for files stored by schema 1-2.
    pub digest: String,
}

/// One line of `perfledger runs`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunListRow {
    pub id: i64,
    pub started_at: Option<NaiveDateTime>,
    pub tool: String,
    pub scenario: Option<String>,
    pub requests: Option<f64>,
    pub throughput_rps: Option<f64>,
    pub p95_ms: Option<f64>,
    pub error_rate: Option<f64>,
    /// `k=v,k=v` without the internal `time_source` label.
    pub labels: String,
    /// The run's global id, shortened as git shortens hashes (`blake3:` and 12 hex digits).
    pub key: String,
}

/// A run as the period reports group it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunBrief {
    pub id: i64,
    pub tool: String,
    pub scenario: Option<String>,
    pub started_at: Option<NaiveDateTime>,
}

/// Everything `show` and the run report print of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    pub header: RunHeader,
    pub targets: Vec<super::values::TargetRow>,
    pub errors: Vec<super::values::ErrorRow>,
    pub thresholds: Vec<super::values::ThresholdRow>,
    /// System resources of the run's window (`import prometheus`).
    pub resources: Vec<super::resources::ResourceStat>,
}

/// The load profile from six columns starting at `first`: users, spawn_rate, threads,
/// connections, requests_planned, target_rate (the order of the `run` table).
fn load_at(r: &duckdb::Row<'_>, first: usize) -> duckdb::Result<LoadProfile> {
    Ok(LoadProfile {
        users: r.get(first)?,
        spawn_rate: r.get(first + 1)?,
        threads: r.get(first + 2)?,
        connections: r.get(first + 3)?,
        requests_planned: r.get(first + 4)?,
        target_rate: r.get(first + 5)?,
    })
}

impl Warehouse {
    /// A run's header, per-target table, errors and thresholds.
    pub fn run_view(&self, id: i64) -> Result<RunView> {
        Ok(RunView {
            header: self.run_header(id)?,
            targets: self.target_rows(id)?,
            errors: self.errors(id)?,
            thresholds: self.thresholds(id)?,
            resources: self.resource_stats(&[id])?,
        })
    }

    /// Whether a run of this id exists.
    /// The runs whose content key starts with `prefix` (with or without `blake3:`).
    pub fn runs_with_key_prefix(&self, prefix: &str) -> Result<Vec<i64>> {
        let p = prefix
            .strip_prefix("blake3:")
            .unwrap_or(prefix)
            .to_ascii_lowercase();
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Vec::new());
        }
        self.rows(
            "SELECT id FROM run WHERE starts_with(content_key, ?) OR starts_with(content_key, ?) ORDER BY id",
            [format!("blake3:{p}"), p.clone()],
            |r| r.get(0),
        )
    }

    pub fn run_exists(&self, id: i64) -> Result<bool> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM run WHERE id = ?", [id], |r| r.get(0))
            .map_err(sql_err)?;
        Ok(n > 0)
    }

    /// The runs matching a filter, newest first, at most `limit`, leaving out `exclude`.
    pub fn select_runs(
        &self,
        filter: &RunFilter,
        limit: Option<usize>,
        exclude: &[i64],
    ) -> Result<Vec<i64>> {
        let (cond, mut params) = filter.sql();
        let excl = if exclude.is_empty() {
            String::new()
        } else {
            format!(" AND r.id NOT IN ({})", id_list(exclude))
        };
        params.push(Value::BigInt(limit.map_or(i64::MAX, |l| l as i64)));
        let ids: Vec<i64> = self.rows(&format!("SELECT r.id FROM run r {cond}{excl} ORDER BY r.started_at DESC NULLS LAST, r.id DESC LIMIT ?"), params_from_iter(params), |r| r.get(0))?;
        Ok(ids)
    }

    /// The header of one run.
    pub fn run_header(&self, id: i64) -> Result<RunHeader> {
        self.run_headers(&[id])?
            .pop()
            .ok_or_else(|| Error::Usage(format!("run {id}: no such run (see `perfledger runs`)")))
    }

    /// Headers of many runs, oldest first (the provenance of a report): three queries
    /// whatever the number of runs.
    pub fn run_headers(&self, ids: &[i64]) -> Result<Vec<RunHeader>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = id_list(ids);
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT id, tool, tool_version, format, scenario, epoch_us(started_at), epoch_us(ended_at),
                        duration_s, url, users, spawn_rate, threads, connections, requests_planned, target_rate, content_key
                 FROM run WHERE id IN ({list}) ORDER BY started_at, id"
            ))
            .map_err(sql_err)?;
        let mut headers = st
            .query_map([], |r| {
                Ok(RunHeader {
                    id: r.get(0)?,
                    tool: r.get(1)?,
                    tool_version: r.get(2)?,
                    format: r.get(3)?,
                    scenario: r.get(4)?,
                    started_at: time_of(r.get(5)?),
                    ended_at: time_of(r.get(6)?),
                    duration_s: r.get(7)?,
                    url: r.get(8)?,
                    load: load_at(r, 9)?,
                    content_key: r.get(15)?,
                    labels: Vec::new(),
                    sources: Vec::new(),
                })
            })
            .map_err(sql_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql_err)?;
        let at: std::collections::HashMap<i64, usize> =
            headers.iter().enumerate().map(|(i, h)| (h.id, i)).collect();
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT run_id, key, value FROM run_label WHERE run_id IN ({list}) ORDER BY run_id, key"
            ))
            .map_err(sql_err)?;
        let labels = st
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?)))
            .map_err(sql_err)?;
        for l in labels {
            let (run, k, v) = l.map_err(sql_err)?;
            headers[at[&run]].labels.push((k, v));
        }
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT run_id, path, role, coalesce('blake3 ' || blake3, 'sha256 ' || sha256)
                 FROM source_file WHERE run_id IN ({list}) ORDER BY run_id, rowid"
            ))
            .map_err(sql_err)?;
        let sources = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    SourceRow {
                        path: r.get(1)?,
                        role: r.get(2)?,
                        digest: r.get(3)?,
                    },
                ))
            })
            .map_err(sql_err)?;
        for s in sources {
            let (run, src) = s.map_err(sql_err)?;
            headers[at[&run]].sources.push(src);
        }
        Ok(headers)
    }

    /// The runs matching a filter, newest first, with their TOTAL headline figures.
    pub fn run_list(&self, filter: &RunFilter, limit: usize) -> Result<Vec<RunListRow>> {
        let (cond, mut params) = filter.sql();
        params.push(Value::BigInt(limit as i64));
        let sql = format!(
            "SELECT r.id, epoch_us(r.started_at), r.tool, r.scenario,
                    max(m.value) FILTER (WHERE m.metric = 'requests'),
                    max(m.value) FILTER (WHERE m.metric = 'throughput_rps'),
                    max(m.value) FILTER (WHERE m.metric = 'latency_p95_ms'),
                    max(m.value) FILTER (WHERE m.metric = 'error_rate'),
                    (SELECT string_agg(l.key || '=' || l.value, ',' ORDER BY l.key) FROM run_label l
                      WHERE l.run_id = r.id AND l.key <> 'time_source'),
                    r.content_key
             FROM run r LEFT JOIN measurement m ON m.run_id = r.id AND m.target = '{TOTAL}'
             {cond}
             GROUP BY r.id, r.started_at, r.tool, r.scenario, r.content_key
             ORDER BY r.started_at DESC NULLS LAST, r.id DESC
             LIMIT ?"
        );
        let rows: Vec<_> = self.rows(&sql, params_from_iter(params), |r| {
            Ok(RunListRow {
                id: r.get(0)?,
                started_at: time_of(r.get(1)?),
                tool: r.get(2)?,
                scenario: r.get(3)?,
                requests: r.get(4)?,
                throughput_rps: r.get(5)?,
                p95_ms: r.get(6)?,
                error_rate: r.get(7)?,
                labels: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
                key: short_key(&r.get::<_, String>(9)?),
            })
        })?;
        Ok(rows)
    }

    /// Load profile and duration of each run, in the order of `ids`.
    pub fn load_profiles(&self, ids: &[i64]) -> Result<Vec<(LoadProfile, Option<f64>)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<_> = self.rows(&format!(
                "SELECT users, spawn_rate, threads, connections, requests_planned, target_rate, duration_s
                 FROM run WHERE id IN ({})",
                id_list(ids)
            ), [], |r| {
                Ok((
                    load_at(r, 0)?,
                    r.get(6)?,
                ))
            })?;
        Ok(rows)
    }

    /// The distinct tools of these runs.
    pub fn tools(&self, ids: &[i64]) -> Result<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.rows(
            &format!(
                "SELECT DISTINCT tool FROM run WHERE id IN ({}) ORDER BY tool",
                id_list(ids)
            ),
            [],
            |r| r.get(0),
        )
    }

    /// Runs started in [from, to), oldest first.
    pub fn runs_between(&self, from: NaiveDateTime, to: NaiveDateTime) -> Result<Vec<RunBrief>> {
        let rows: Vec<_> = self.rows(
            "SELECT id, tool, scenario, epoch_us(started_at) FROM run
                 WHERE started_at >= CAST(? AS TIMESTAMP) AND started_at < CAST(? AS TIMESTAMP)
                 ORDER BY started_at, id",
            [ts(from), ts(to)],
            |r| {
                Ok(RunBrief {
                    id: r.get(0)?,
                    tool: r.get(1)?,
                    scenario: r.get(2)?,
                    started_at: time_of(r.get(3)?),
                })
            },
        )?;
        Ok(rows)
    }
}

/// `blake3:0123456789ab`: a content key shortened for display.
pub fn short_key(key: &str) -> String {
    let (scheme, hex) = key.split_once(':').unwrap_or(("", key));
    let short: String = hex.chars().take(12).collect();
    if scheme.is_empty() {
        short
    } else {
        format!("{scheme}:{short}")
    }
}
