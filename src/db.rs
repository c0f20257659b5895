//! The warehouse: one DuckDB file. Migrations are the numbered SQL files in `schema/`,
//! embedded in the binary and applied in order, each in its own transaction, with the version
//! recorded in `perfledger_schema`. Every ingest is one transaction, so a failed or killed
//! import leaves no partial run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use duckdb::{params, AccessMode, Config, Connection, OptionalExt};
use hdrhistogram::serialization::Serializer;

use crate::error::{Error, Result};
use crate::import::{content_key, legacy_content_key};
use crate::model::{ParsedRun, ParsedSnapshot};

/// (version, SQL), in order.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../schema/001_warehouse.sql")),
    (2, include_str!("../schema/002_analysis.sql")),
    (3, include_str!("../schema/003_blake3.sql")),
];

pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

pub struct Warehouse {
    pub conn: Connection,
    pub path: PathBuf,
}

/// How long to wait for another perfledger process that holds the write lock.
fn lock_timeout() -> Duration {
    std::env::var("PERFLEDGER_LOCK_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(Duration::from_secs(60), Duration::from_secs_f64)
}

fn is_lock_error(msg: &str) -> bool {
    msg.contains("Could not set lock")
        || msg.contains("Conflicting lock")
        || msg.contains("lock on file")
}

fn wh_err(path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::Warehouse {
        path: path.to_path_buf(),
        msg: msg.to_string(),
    }
}

/// Opens with retries while another process holds the file lock (bounded exponential backoff).
fn open_conn(path: &Path, read_only: bool) -> Result<Connection> {
    let deadline = Instant::now() + lock_timeout();
    let mut wait = Duration::from_millis(20);
    loop {
        let mode = if read_only {
            AccessMode::ReadOnly
        } else {
            AccessMode::ReadWrite
        };
        let config = Config::default()
            .access_mode(mode)
            .map_err(|e| wh_err(path, e))?;
        match Connection::open_with_flags(path, config) {
            Ok(c) => return Ok(c),
            Err(e) if is_lock_error(&e.to_string()) && Instant::now() < deadline => {
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_millis(500));
            }
            Err(e) if is_lock_error(&e.to_string()) => {
                return Err(wh_err(
                    path,
                    format!(
                        "another process is writing to it and did not finish within {:?} (set PERFLEDGER_LOCK_TIMEOUT to wait longer): {e}",
                        lock_timeout()
                    ),
                ))
            }
            Err(e) => return Err(wh_err(path, explain_open_error(&e.to_string()))),
        }
    }
}

fn explain_open_error(msg: &str) -> String {
    if msg.contains("Read-only file system") || msg.contains("Permission denied") {
        format!("cannot write here (read-only file system or no permission; reading still works): {msg}")
    } else if msg.contains("No space left") || msg.contains("Disk quota") {
        format!("the disk is full: {msg}")
    } else if msg.contains("not a valid DuckDB database") || msg.contains("Corrupt") {
        format!("not a perfledger/DuckDB warehouse file: {msg}")
    } else {
        msg.to_string()
    }
}

fn schema_version(conn: &Connection) -> Result<i64, duckdb::Error> {
    let exists: i64 = conn.query_row(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'perfledger_schema'",
        [],
        |r| r.get(0),
    )?;
    if exists == 0 {
        return Ok(0);
    }
    conn.query_row(
        "SELECT coalesce(max(version), 0) FROM perfledger_schema",
        [],
        |r| r.get(0),
    )
}

impl Warehouse {
    /// Opens (creating if needed) for writing and brings the schema up to date.
    pub fn open_rw(path: &Path) -> Result<Self> {
        let mut conn = open_conn(path, false)?;
        migrate(&mut conn, path)?;
        Ok(Warehouse {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Opens an existing warehouse read-only (upgrading it first if it is behind).
    pub fn open_ro(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(wh_err(
                path,
                "no warehouse here yet: create one with `perfledger import FILE...` (or pass --db)",
            ));
        }
        let conn = open_conn(path, true)?;
        let v = schema_version(&conn).map_err(|e| wh_err(path, e))?;
        check_not_newer(path, v)?;
        if v < latest_version() {
            drop(conn);
            drop(Warehouse::open_rw(path)?);
            return Ok(Warehouse {
                conn: open_conn(path, true)?,
                path: path.to_path_buf(),
            });
        }
        Ok(Warehouse {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn version(&self) -> Result<i64> {
        schema_version(&self.conn).map_err(|e| wh_err(&self.path, e))
    }
}

fn check_not_newer(path: &Path, v: i64) -> Result<()> {
    if v > latest_version() {
        return Err(wh_err(
            path,
            format!("it was written by a newer perfledger (schema version {v}; this build knows up to {}): upgrade perfledger", latest_version()),
        ));
    }
    Ok(())
}

/// Applies the migrations the warehouse lacks, each in its own transaction.
pub fn migrate_to(conn: &mut Connection, path: &Path, target: i64) -> Result<()> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS perfledger_schema (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)")
        .map_err(|e| wh_err(path, e))?;
    let current = schema_version(conn).map_err(|e| wh_err(path, e))?;
    check_not_newer(path, current)?;
    for (version, sql) in MIGRATIONS
        .iter()
        .filter(|(v, _)| *v > current && *v <= target)
    {
        let tx = conn.transaction().map_err(|e| wh_err(path, e))?;
        tx.execute_batch(sql)
            .map_err(|e| wh_err(path, format!("migration {version} failed: {e}")))?;
        tx.execute(
            "INSERT INTO perfledger_schema VALUES (?, current_timestamp)",
            params![version],
        )
        .map_err(|e| wh_err(path, e))?;
        tx.commit().map_err(|e| {
            wh_err(
                path,
                format!("migration {version} could not be committed: {e}"),
            )
        })?;
    }
    Ok(())
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    migrate_to(conn, path, latest_version())
}

/// Run ids as an SQL list (`1,2,3`). Only for ids the warehouse gave us: integers, never user text.
pub fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// `2026-11-27 06:38:00.123456`, the literal DuckDB casts to TIMESTAMP.
pub fn ts(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

pub fn parse_ts(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Imported,
    AlreadyImported,
}

fn db_err(e: duckdb::Error) -> Error {
    Error::Data(format!("warehouse write failed: {e}"))
}

/// A failed write that is about the disk, not the data, is the warehouse's error: say so, and
/// that the transaction left the warehouse as it was.
fn disk_error(path: &Path, e: Error) -> Error {
    match e {
        Error::Data(msg)
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

/// Writes one run in one transaction. The same content imported again is a no-op.
pub fn ingest_run(wh: &mut Warehouse, run: &ParsedRun) -> Result<(i64, Outcome)> {
    let path = wh.path.clone();
    ingest_run_tx(wh, run).map_err(|e| disk_error(&path, e))
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
    if let Some(id) = find_key(&wh.conn, "run", &key, || {
        legacy_content_key(&run.sources, run.key_suffix.as_deref()).ok()
    })? {
        return Ok((id, Outcome::AlreadyImported));
    }
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
                run.format,
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
        let mut st = tx
            .prepare("INSERT INTO run_label VALUES (?, ?, ?)")
            .map_err(db_err)?;
        for (k, v) in &run.labels {
            st.execute(params![id, k, v]).map_err(db_err)?;
        }
        let mut st = tx
            .prepare("INSERT INTO source_file (run_id, path, role, bytes, blake3) VALUES (?, ?, ?, ?, ?)")
            .map_err(db_err)?;
        for s in &run.sources {
            st.execute(params![id, s.path, s.role, s.bytes as i64, s.blake3])
                .map_err(db_err)?;
        }
        let mut tgt = tx
            .prepare("INSERT INTO target VALUES (?, ?, ?, ?, ?, ?)")
            .map_err(db_err)?;
        let mut app = tx.appender("measurement").map_err(db_err)?;
        let mut hist = tx
            .prepare("INSERT INTO histogram VALUES (?, ?, ?, ?)")
            .map_err(db_err)?;
        for t in &run.targets {
            let tags = t
                .tags
                .as_ref()
                .map(|m| serde_json::to_string(m).expect("string map serialises"));
            tgt.execute(params![id, t.name, t.kind.as_str(), t.method, t.url, tags])
                .map_err(db_err)?;
            for (metric, (value, unit)) in &t.metrics {
                app.append_row(params![id, t.name, metric, value, unit])
                    .map_err(db_err)?;
            }
            if let Some(h) = t.histogram.as_ref().filter(|h| !h.is_empty()) {
                let mut buf = Vec::new();
                hdrhistogram::serialization::V2Serializer::new()
                    .serialize(h, &mut buf)
                    .map_err(|e| Error::Data(format!("histogram serialisation failed: {e:?}")))?;
                hist.execute(params![id, t.name, h.len() as i64, buf])
                    .map_err(db_err)?;
            }
        }
        app.flush().map_err(db_err)?;
        // series run to millions of points for long runs: the appender, not row INSERTs
        let mut app = tx.appender("series_point").map_err(db_err)?;
        for p in &run.series {
            let micros = p.ts.and_utc().timestamp_micros();
            app.append_row(params![
                id,
                p.target,
                duckdb::types::Value::Timestamp(duckdb::types::TimeUnit::Microsecond, micros),
                p.metric,
                p.value
            ])
            .map_err(db_err)?;
        }
        app.flush().map_err(db_err)?;
        let mut st = tx
            .prepare("INSERT INTO error VALUES (?, ?, ?, ?, ?)")
            .map_err(db_err)?;
        for e in &run.errors {
            st.execute(params![id, e.target, e.kind, e.message, e.count])
                .map_err(db_err)?;
        }
        let mut st = tx
            .prepare("INSERT INTO threshold VALUES (?, ?, ?, ?)")
            .map_err(db_err)?;
        for t in &run.thresholds {
            st.execute(params![id, t.metric, t.expression, t.passed])
                .map_err(db_err)?;
        }
    }
    tx.commit().map_err(db_err)?;
    Ok((id, Outcome::Imported))
}

/// Writes one pg_stat_statements snapshot in one transaction.
pub fn ingest_snapshot(
    wh: &mut Warehouse,
    snap: &ParsedSnapshot,
    run_id: Option<i64>,
) -> Result<(i64, Outcome)> {
    let path = wh.path.clone();
    ingest_snapshot_tx(wh, snap, run_id).map_err(|e| disk_error(&path, e))
}

fn ingest_snapshot_tx(
    wh: &mut Warehouse,
    snap: &ParsedSnapshot,
    run_id: Option<i64>,
) -> Result<(i64, Outcome)> {
    let key_of = |sources: String| format!("{sources}|{}|{}", snap.server, ts(snap.taken_at));
    let key = key_of(content_key(&snap.sources, None));
    if let Some(id) = find_key(&wh.conn, "pg_snapshot", &key, || {
        legacy_content_key(&snap.sources, None).ok().map(key_of)
    })? {
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
                s.shared_blks_read
            ])
            .map_err(db_err)?;
        }
        app.flush().map_err(db_err)?;
    }
    tx.commit().map_err(db_err)?;
    Ok((id, Outcome::Imported))
}
