//! Ingest: one run (or pg_stat_statements snapshot) in one transaction, so a failed or
//! killed import leaves no partial run. The same content imported again is a no-op: a run's
//! identity is its content key (see `import::content_key`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use duckdb::{params, Connection, OptionalExt};
use hdrhistogram::serialization::Serializer;

use super::lake::layout::Partition;
use super::lake::publish::{publish, Unit};
use super::{explain_open_error, ts, ts_value, wh_err, Warehouse};
use crate::error::{Error, Result};
use crate::import::{content_key, legacy_content_key};
use crate::model::{ParsedRun, ParsedSnapshot};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Imported,
    AlreadyImported,
}

#[expect(clippy::needless_pass_by_value, reason = "the shape map_err wants")]
fn db_err(e: duckdb::Error) -> Error {
    Error::Store(format!("warehouse write failed: {e}"))
}

/// A failed write that is about the disk, not the data, is the warehouse's error: say so, and
/// that the transaction left the warehouse as it was.
fn disk_error(path: &Path, e: Error) -> Error {
    match e {
        Error::Store(msg)
            if [
                "No space left",
                "Read-only file system",
                "Permission denied",
                "Disk quota",
            ]
            .iter()
            .any(|k| msg.contains(k)) =>
        {
            wh_err(
                path,
                format!(
                    "{}; nothing of this import was kept, the warehouse holds what it held before",
                    explain_open_error(&msg)
                ),
            )
        }
        e => e,
    }
}

impl Warehouse {
    /// Writes one run in one transaction. The same content imported again is a no-op.
    pub fn ingest_run(&mut self, run: &ParsedRun) -> Result<(i64, Outcome)> {
        let path = self.path.clone();
        let out = ingest_run_tx(self, run).map_err(|e| disk_error(&path, e))?;
        if out.1 == Outcome::Imported {
            // the history index a bounded step behind the imports
            self.index_after_import(out.0)
                .map_err(|e| disk_error(&path, e))?;
        }
        Ok(out)
    }

    /// Writes one pg_stat_statements snapshot in one transaction.
    pub fn ingest_snapshot(
        &mut self,
        snap: &ParsedSnapshot,
        run_id: Option<i64>,
    ) -> Result<(i64, Outcome)> {
        let path = self.path.clone();
        ingest_snapshot_tx(self, snap, run_id).map_err(|e| disk_error(&path, e))
    }
}

/// The id of the row of `table` with this content key, trying the pre-schema-3 (SHA-256) key
/// too when the table holds such keys.
fn find_key(
    conn: &Connection,
    table: &str,
    key: &str,
    legacy: impl FnOnce() -> Option<String>,
) -> Result<Option<i64>> {
    let find = |k: &str| {
        conn.query_row(
            &format!("SELECT id FROM {table} WHERE content_key = ?"),
            params![k],
            |r| r.get::<_, i64>(0),
        )
        .optional()
        .map_err(db_err)
    };
    if let Some(id) = find(key)? {
        return Ok(Some(id));
    }
    let has_legacy: bool = conn
        .query_row(
            &format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE content_key NOT LIKE 'blake3:%')"),
            [],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    match has_legacy.then(legacy).flatten() {
        Some(k) => find(&k),
        None => Ok(None),
    }
}

fn ingest_run_tx(wh: &mut Warehouse, run: &ParsedRun) -> Result<(i64, Outcome)> {
    let key = content_key(&run.sources, run.key_suffix.as_deref());
    let part = Partition::of(run.tool, run.started_at);
    if let Some(id) = find_key(&wh.conn, "run", &key, || {
        legacy_content_key(&run.sources, run.key_suffix.as_deref()).ok()
    })? {
        // in the index but perhaps not in the lake (imported before --lake was used)
        if let Some(lake) = wh.lake.as_ref() {
            publish(&wh.conn, lake, Unit::Run(id), &key, &part)?;
        }
        return Ok((id, Outcome::AlreadyImported));
    }
    write_run(wh, run, &key, &part)
}

/// DuckDB's settings while a fed series is stored, and what restores them (see [`fed`]);
/// public for `examples/wide_store.rs`, which times the store step alone under them.
pub const FEED_SETTINGS: &str = "SET memory_limit = '32MB'; SET threads = 1;";
pub const FEED_RESET: &str = "RESET memory_limit; RESET threads;";

/// Runs `feed` under a small memory limit and one DuckDB thread, the defaults back after
/// (also when it fails). DuckDB keeps the row groups a transaction appends in its buffer pool
/// up to its memory limit (80% of RAM by default), so a fed series of any length would stay
/// resident: a small limit makes it write them out and evict them (measured: 24 h of Locust
/// history 432 MB -> 179 MB peak, 8 h 198 -> 177 MB, about as fast). One thread: the appender
/// is one thread anyway, and DuckDB's idle workers took CPU from the feed's parsers (8 h of
/// Locust, wide rows: 96 MB and 2 threads 3.16 s / 173 MB, 32 MB and 1 thread 2.81 s /
/// 141 MB, pairs in turn). Only the feed: the lake's points file, when it was still written
/// sorted, failed at 32 MB ("failed to pin block", 49,000 Locust lines).
fn fed(tx: &duckdb::Transaction<'_>, feed: impl FnOnce() -> Result<()>) -> Result<()> {
    super::with_settings(tx, FEED_SETTINGS, FEED_RESET, feed)
}

/// The run's rows in one transaction (the lake's files first when there is a lake).
fn write_run(
    wh: &mut Warehouse,
    run: &ParsedRun,
    key: &str,
    part: &Partition,
) -> Result<(i64, Outcome)> {
    let tx = wh.conn.transaction().map_err(db_err)?;
    let l = &run.load;
    let id: i64 = tx
        .query_row(
            "INSERT INTO run (tool, tool_version, format, scenario, started_at, ended_at, duration_s, url,
                users, spawn_rate, threads, connections, requests_planned, target_rate, content_key, imported_at)
             VALUES (?, ?, ?, ?, CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP), ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)
             RETURNING id",
            params![
                run.tool,
                run.tool_version,
                run.format.as_ref(),
                run.scenario,
                run.started_at.map(ts),
                run.ended_at.map(ts),
                run.duration_s,
                run.url,
                l.users,
                l.spawn_rate,
                l.threads,
                l.connections,
                l.requests_planned,
                l.target_rate,
                key
            ],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    {
        let mut st = tx.appender("run_label").map_err(db_err)?;
        for (k, v) in &run.labels {
            st.append_row(params![id, k, v]).map_err(db_err)?;
        }
        st.flush().map_err(db_err)?;
        let mut st = tx
            .prepare("INSERT INTO source_file (run_id, path, role, bytes, blake3) VALUES (?, ?, ?, ?, ?)")
            .map_err(db_err)?;
        for s in &run.sources {
            st.execute(params![id, s.path, s.role, s.bytes as i64, s.blake3])
                .map_err(db_err)?;
        }
        // appenders, not INSERTs: a prepared INSERT costs DuckDB ~0.5 ms a row (51 Locust
        // targets were 30 ms of every import)
        let mut tgt = tx.appender("target").map_err(db_err)?;
        let mut app = tx.appender("measurement").map_err(db_err)?;
        let mut hist = tx.appender("histogram").map_err(db_err)?;
        for t in &run.targets {
            let tags = t
                .tags
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|e| Error::Internal(format!("target tags: {e}")))?;
            tgt.append_row(params![id, t.name, t.kind.as_str(), t.method, t.url, tags])
                .map_err(db_err)?;
            for (metric, (value, unit)) in &t.metrics {
                app.append_row(params![id, t.name, metric, value, unit])
                    .map_err(db_err)?;
            }
            if let Some(h) = t.histogram.as_ref().filter(|h| !h.is_empty()) {
                let mut buf = Vec::new();
                hdrhistogram::serialization::V2Serializer::new()
                    .serialize(h, &mut buf)
                    .map_err(|e| Error::Store(format!("histogram serialisation failed: {e:?}")))?;
                hist.append_row(params![id, t.name, h.len() as i64, buf])
                    .map_err(db_err)?;
            }
        }
        for a in [&mut tgt, &mut app, &mut hist] {
            a.flush().map_err(db_err)?;
        }
        // series run to millions of points for long runs: the appender, not row INSERTs, and
        // a long run's series read again from its file, one batch in memory at a time
        let mut series = SeriesWriter::new(&tx, id)?;
        for p in &run.series {
            series.point(p)?;
        }
        if let Some(feed) = &run.series_feed {
            fed(&tx, || feed.each(&mut |b| series.batch(b)))?;
        }
        series.finish(&tx)?;
        let mut st = tx.appender("error").map_err(db_err)?;
        for e in &run.errors {
            st.append_row(params![id, e.target, e.kind, e.message, e.count])
                .map_err(db_err)?;
        }
        st.flush().map_err(db_err)?;
        let mut st = tx.appender("threshold").map_err(db_err)?;
        for t in &run.thresholds {
            st.append_row(params![id, t.metric, t.expression, t.passed])
                .map_err(db_err)?;
        }
        st.flush().map_err(db_err)?;
    }
    // the lake first: if the upload fails, the transaction rolls back and the index is unchanged
    if let Some(lake) = wh.lake.as_ref() {
        publish(&tx, lake, Unit::Run(id), key, part)?;
        super::lake::sync::bind(&tx, lake)?;
    }
    tx.commit().map_err(db_err)?;
    Ok((id, Outcome::Imported))
}

/// Writes a run's series: each (target, metric) once in `series`, single points in
/// `series_value` and fed rows in `series_wide` under small integer ids (schema/006 and 013).
struct SeriesWriter<'c> {
    values: duckdb::Appender<'c>,
    wide: duckdb::Appender<'c>,
    run: i64,
    next: i32,
    ids: HashMap<(Arc<str>, &'static str), i32>,
    blocks: Blocks,
}

/// Per target and column layout, the first of its consecutive series ids and a bit per
/// column that had a value.
type Blocks = HashMap<(Arc<str>, Vec<&'static str>), (i32, u32)>;

impl<'c> SeriesWriter<'c> {
    fn new(tx: &'c duckdb::Transaction<'_>, run: i64) -> Result<Self> {
        Ok(SeriesWriter {
            values: tx.appender("series_value").map_err(db_err)?,
            wide: tx.appender("series_wide").map_err(db_err)?,
            run,
            next: 0,
            ids: HashMap::new(),
            blocks: HashMap::new(),
        })
    }

    fn sid(&mut self, target: &Arc<str>, metric: &'static str) -> i32 {
        let next = &mut self.next;
        *self
            .ids
            .entry((Arc::clone(target), metric))
            .or_insert_with(|| {
                *next += 1;
                *next - 1
            })
    }

    fn point(&mut self, p: &crate::model::SeriesPoint) -> Result<()> {
        let sid = self.sid(&p.target, p.metric);
        self.values
            .append_row(params![self.run, sid, ts_value(p.ts), p.value])
            .map_err(db_err)
    }

    /// The first id of a target's block for these columns (allocated on first sight), noting
    /// the columns `seen` with a value.
    fn block(&mut self, target: &Arc<str>, metrics: &[&'static str], seen: u32) -> i32 {
        let next = &mut self.next;
        let (first, mask) = self
            .blocks
            .entry((Arc::clone(target), metrics.to_vec()))
            .or_insert_with(|| {
                *next += metrics.len() as i32;
                (*next - metrics.len() as i32, 0)
            });
        *mask |= seen;
        *first
    }

    /// One batch as Arrow columns, a row per line: DuckDB takes them whole, not value by value.
    fn batch(&mut self, b: crate::model::SeriesBatch) -> Result<()> {
        use crate::model::SERIES_COLUMNS;
        use duckdb::arrow::array::{
            ArrayRef, Float64Array, Int32Array, Int64Array, TimestampMicrosecondArray,
        };
        use duckdb::arrow::buffer::{BooleanBuffer, NullBuffer};
        use duckdb::arrow::record_batch::RecordBatch;
        if b.is_empty() {
            return Ok(());
        }
        let n = b.len();
        // which columns of each target had a value: only those become series
        let mut seen = vec![0u32; b.targets.len()];
        for (i, col) in b.columns.iter().enumerate() {
            for (t, v) in b.target.iter().zip(col.iter()) {
                if !v.is_nan() {
                    seen[*t as usize] |= 1 << i;
                }
            }
        }
        let first: Vec<i32> = b
            .targets
            .iter()
            .zip(seen)
            .map(|(t, mask)| self.block(t, &b.metrics, mask))
            .collect();
        let sid0: Vec<i32> = b.target.iter().map(|t| first[*t as usize]).collect();
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_value(self.run, n)),
            Arc::new(Int32Array::from(sid0)),
            Arc::new(TimestampMicrosecondArray::from(b.ts_us)),
        ];
        let mut given = b.columns.into_iter();
        for _ in 0..SERIES_COLUMNS {
            columns.push(match given.next() {
                Some(c) => {
                    let valid = NullBuffer::new(BooleanBuffer::collect_bool(n, |r| !c[r].is_nan()));
                    Arc::new(Float64Array::new(c.into(), Some(valid)))
                }
                None => Arc::new(Float64Array::new_null(n)),
            });
        }
        let names = ["run_id", "sid0", "ts"]
            .into_iter()
            .map(String::from)
            .chain((0..SERIES_COLUMNS).map(|i| format!("v{i}")));
        let batch = RecordBatch::try_from_iter(names.zip(columns))
            .map_err(|e| Error::Internal(format!("series batch: {e}")))?;
        self.wide.append_record_batch(batch).map_err(db_err)
    }

    /// The points flushed, then the series they belong to.
    fn finish(mut self, tx: &duckdb::Transaction<'_>) -> Result<()> {
        self.values.flush().map_err(db_err)?;
        self.wide.flush().map_err(db_err)?;
        let mut app = tx.appender("series").map_err(db_err)?;
        for ((target, metric), sid) in &self.ids {
            app.append_row(params![self.run, sid, &**target, metric])
                .map_err(db_err)?;
        }
        for ((target, metrics), (first, seen)) in &self.blocks {
            for (i, metric) in metrics.iter().enumerate() {
                if seen & (1 << i) != 0 {
                    app.append_row(params![self.run, first + i as i32, &**target, metric])
                        .map_err(db_err)?;
                }
            }
        }
        app.flush().map_err(db_err)
    }
}

fn ingest_snapshot_tx(
    wh: &mut Warehouse,
    snap: &ParsedSnapshot,
    run_id: Option<i64>,
) -> Result<(i64, Outcome)> {
    let key_of = |sources: String| format!("{sources}|{}|{}", snap.server, ts(snap.taken_at));
    let key = key_of(content_key(&snap.sources, None));
    let part = Partition::of("postgres", Some(snap.taken_at));
    if let Some(id) = find_key(&wh.conn, "pg_snapshot", &key, || {
        legacy_content_key(&snap.sources, None).ok().map(key_of)
    })? {
        if let Some(lake) = wh.lake.as_ref() {
            publish(&wh.conn, lake, Unit::Snapshot(id), &key, &part)?;
        }
        return Ok((id, Outcome::AlreadyImported));
    }
    if let Some(r) = run_id {
        let n: i64 = wh
            .conn
            .query_row("SELECT count(*) FROM run WHERE id = ?", params![r], |row| {
                row.get(0)
            })
            .map_err(db_err)?;
        if n == 0 {
            return Err(Error::Usage(format!(
                "--run {r}: no such run (see `perfledger runs`)"
            )));
        }
    }
    let tx = wh.conn.transaction().map_err(db_err)?;
    let source = snap
        .sources
        .first()
        .map_or_else(|| "live".to_string(), |s| s.path.clone());
    let id: i64 = tx
        .query_row(
            "INSERT INTO pg_snapshot (server, taken_at, stats_reset, run_id, source, content_key, imported_at)
             VALUES (?, CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP), ?, ?, ?, current_timestamp) RETURNING id",
            params![snap.server, ts(snap.taken_at), snap.stats_reset.map(ts), run_id, source, key],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    {
        let mut app = tx.appender("pg_database_stat").map_err(db_err)?;
        for d in &snap.databases {
            app.append_row(params![
                id,
                d.datname,
                d.xact_commit,
                d.xact_rollback,
                d.blks_read,
                d.blks_hit,
                d.temp_files,
                d.temp_bytes,
                d.deadlocks,
                d.stats_reset.map(ts)
            ])
            .map_err(db_err)?;
        }
        app.flush().map_err(db_err)?;
        let mut app = tx.appender("pg_plan").map_err(db_err)?;
        for p in &snap.plans {
            app.append_row(params![
                id,
                p.statement,
                p.query,
                p.shape,
                p.top_node,
                p.top_node_ms,
                p.planning_ms,
                p.execution_ms,
                p.json
            ])
            .map_err(db_err)?;
        }
        app.flush().map_err(db_err)?;
        let mut app = tx.appender("pg_replication").map_err(db_err)?;
        for r in &snap.replicas {
            app.append_row(params![
                id,
                r.application_name,
                r.client_addr,
                r.state,
                r.sync_state,
                r.write_lag_ms,
                r.flush_lag_ms,
                r.replay_lag_ms,
                r.lag_bytes
            ])
            .map_err(db_err)?;
        }
        app.flush().map_err(db_err)?;
        let mut app = tx.appender("pg_connection").map_err(db_err)?;
        for c in &snap.connections {
            app.append_row(params![id, c.state, c.count, c.max_connections])
                .map_err(db_err)?;
        }
        app.flush().map_err(db_err)?;
    }
    {
        let mut app = tx.appender("pg_statement").map_err(db_err)?;
        for s in &snap.statements {
            app.append_row(params![
                id,
                s.queryid,
                s.userid,
                s.dbid,
                s.toplevel,
                s.query,
                s.calls,
                s.total_exec_time_ms,
                s.rows,
                s.shared_blks_hit,
                s.shared_blks_read,
                s.stddev_exec_time_ms,
                s.extra
            ])
            .map_err(db_err)?;
        }
        app.flush().map_err(db_err)?;
    }
    if let Some(lake) = wh.lake.as_ref() {
        publish(&tx, lake, Unit::Snapshot(id), &key, &part)?;
        super::lake::sync::bind(&tx, lake)?;
    }
    tx.commit().map_err(db_err)?;
    Ok((id, Outcome::Imported))
}
