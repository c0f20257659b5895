//! The store layer: the only code that talks SQL. A warehouse is one DuckDB file; its
//! connection is private to this module, and what leaves it are typed rows (times as chrono
//! types or i64 microseconds, metric values as f64, histograms decoded).
//!
//! - `migrate`: the numbered SQL files of `schema/`, applied in order;
//! - `ingest`: one run or snapshot in one transaction, idempotent by content key;
//! - `runs`: filters, run references, headers, load profiles, provenance;
//! - `values`: measurements, histograms, per-interval series, a metric's series over runs;
//! - `meta`: baselines and annotations;
//! - `statements`: pg_stat_statements intervals for the database sections;
//! - `query`: the user's own read-only SQL;
//! - `lake`: the shared history (`--lake`): publishing, sync, compaction, events.

pub mod export;
pub mod history_index;
pub mod ingest;
pub mod lake;
pub mod meta;
pub mod migrate;
pub mod query;
pub mod resources;
pub mod runs;
pub mod statements;
pub mod values;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use duckdb::{AccessMode, Config, Connection};

use crate::error::{Error, Result};

pub use ingest::Outcome;
pub use runs::RunFilter;

/// The warehouse file a command uses unless told otherwise (`--db`, `PERFLEDGER_DB`).
pub const DEFAULT_FILE: &str = "perfledger.duckdb";
/// The demo's warehouse, inside its output folder.
pub const DEMO_FILE: &str = "demo.duckdb";

pub struct Warehouse {
    conn: Connection,
    path: PathBuf,
    /// The shared lake this warehouse indexes: imports are written there first.
    lake: Option<lake::Lake>,
    /// `measurement` rows above the history index's cover, as this process last counted them
    /// and its imports have added since (one writer holds the file): `history_index`.
    history_tail: Option<i64>,
}

/// Where a command's history is: the local warehouse file, and the lake it indexes (if any).
#[derive(Debug, Clone)]
pub struct Location {
    pub db: PathBuf,
    pub lake: Option<String>,
    /// Read the index as it is, without syncing it with the lake first.
    pub offline: bool,
}

impl Location {
    pub fn local(db: &Path) -> Location {
        Location {
            db: db.to_path_buf(),
            lake: None,
            offline: false,
        }
    }
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

pub(crate) fn wh_err(path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::Warehouse {
        path: path.to_path_buf(),
        msg: msg.to_string(),
    }
}

/// A failed statement of ours: an internal error that keeps DuckDB's message.
#[expect(clippy::needless_pass_by_value, reason = "the shape map_err wants")]
pub(crate) fn sql_err(e: duckdb::Error) -> Error {
    Error::Store(e.to_string())
}

/// Runs `f` under DuckDB settings (`set`, SET statements) and puts them back after (`reset`,
/// RESET statements), also when `f` fails; `f`'s error comes first.
pub(crate) fn with_settings<T>(
    conn: &Connection,
    set: &str,
    reset: &str,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    conn.execute_batch(set).map_err(sql_err)?;
    let out = f();
    let reset = conn.execute_batch(reset).map_err(sql_err);
    let v = out?;
    reset?;
    Ok(v)
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

pub(crate) fn explain_open_error(msg: &str) -> String {
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

/// Creates a new warehouse beside `path` and moves it into place whole: a process killed while
/// DuckDB writes a new file's header would otherwise leave a file no later run can open.
fn create(path: &Path) -> Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "warehouse".into(), |n| n.to_string_lossy().to_string());
    let fresh = path.with_file_name(format!(".{name}.creating-{}", std::process::id()));
    // a leftover of a killed process with this pid is no warehouse anyone uses
    let _ = std::fs::remove_file(&fresh);
    let _ = std::fs::remove_file(format!("{}.wal", fresh.display()));
    let made = (|| {
        let mut conn = open_conn(&fresh, false)?;
        migrate::create_latest(&mut conn, &fresh)?;
        conn.execute_batch("CHECKPOINT").map_err(sql_err)
    })();
    if let Err(e) = made {
        let _ = std::fs::remove_file(&fresh);
        // the user's file is the one to name
        return Err(match e {
            Error::Warehouse { msg, .. } => wh_err(
                path,
                msg.replace(&fresh.display().to_string(), &path.display().to_string()),
            ),
            e => e,
        });
    }
    // a link never replaces a warehouse another process created meanwhile
    let placed = match std::fs::hard_link(&fresh, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(_) if !path.exists() => std::fs::rename(&fresh, path),
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_file(&fresh);
    placed.map_err(|e| wh_err(path, explain_open_error(&e.to_string())))
}

impl Warehouse {
    /// Opens (creating if needed) for writing and brings the schema up to date.
    pub fn open_rw(path: &Path) -> Result<Self> {
        if !path.exists() {
            create(path)?;
        }
        let mut conn = open_conn(path, false)?;
        migrate::migrate_to(&mut conn, path, migrate::latest_version())?;
        Ok(Warehouse {
            conn,
            path: path.to_path_buf(),
            lake: None,
            history_tail: None,
        })
    }

    /// Opens for writing; with a lake, imports and state changes go to the lake first.
    pub fn open_write(loc: &Location) -> Result<Self> {
        let lake = loc.lake.as_deref().map(lake::Lake::open).transpose()?;
        let mut wh = Warehouse::open_rw(&loc.db)?;
        if let Some(l) = &lake {
            lake::sync::check_binding(&wh.conn, l, &loc.db)?;
        }
        wh.lake = lake;
        Ok(wh)
    }

    /// Opens for writing after syncing with the lake (unless `--offline`): for changes that
    /// resolve run selectors against the shared history (baselines, annotations).
    pub fn open_write_synced(loc: &Location) -> Result<Self> {
        let mut wh = Warehouse::open_write(loc)?;
        if wh.lake.is_some() && !loc.offline {
            wh.sync()?;
        }
        Ok(wh)
    }

    /// Opens for reading; with a lake (and not `--offline`), syncs the index first.
    pub fn open_read(loc: &Location) -> Result<Self> {
        match (&loc.lake, loc.offline) {
            (Some(_), false) => Warehouse::open_write_synced(loc),
            _ => Warehouse::open_ro(&loc.db),
        }
    }

    /// The lake this warehouse indexes.
    pub fn lake(&self) -> Option<&lake::Lake> {
        self.lake.as_ref()
    }

    /// Creates or opens a warehouse brought only up to schema `version`: for tests of upgrades.
    pub fn open_at_version(path: &Path, version: i64) -> Result<Self> {
        let mut conn = open_conn(path, false)?;
        migrate::migrate_to(&mut conn, path, version)?;
        Ok(Warehouse {
            conn,
            path: path.to_path_buf(),
            lake: None,
            history_tail: None,
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
        let v = migrate::schema_version(&conn).map_err(|e| wh_err(path, e))?;
        migrate::check_not_newer(path, v)?;
        if v < migrate::latest_version() {
            drop(conn);
            drop(Warehouse::open_rw(path)?);
            return Ok(Warehouse {
                conn: open_conn(path, true)?,
                path: path.to_path_buf(),
                lake: None,
                history_tail: None,
            });
        }
        Ok(Warehouse {
            conn,
            path: path.to_path_buf(),
            lake: None,
            history_tail: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Warehouse {
    /// Runs a query of ours and hands `f` each Arrow batch as DuckDB makes it: for long
    /// results, which `rows` would hold whole twice (DuckDB's materialized result, then rows).
    pub(crate) fn batches(
        &self,
        sql: &str,
        params: impl duckdb::Params,
        mut f: impl FnMut(&duckdb::arrow::record_batch::RecordBatch) -> Result<()>,
    ) -> Result<()> {
        let mut st = self.conn.prepare(sql).map_err(sql_err)?;
        for batch in st.stream_arrow(params).map_err(sql_err)? {
            f(&batch.map_err(sql_err)?)?;
        }
        Ok(())
    }

    /// Lets DuckDB's buffer pool go of the blocks it cached, which it otherwise keeps until
    /// the process ends (~100-200 MB after reading a million-point series), and puts back
    /// DuckDB's default memory limit. Shrinking the limit evicts unpinned blocks, and DuckDB
    /// then has glibc return free heap memory to the system (`malloc_trim`, at most every
    /// 100 ms), the process's own included. Best effort: a limit DuckDB cannot shrink to
    /// changes nothing, so that error is not the caller's.
    pub fn release_cache(&self) {
        let _ = self.conn.execute_batch("SET memory_limit = '1MB'");
        let _ = self.conn.execute_batch("RESET memory_limit");
    }

    /// Runs a query of ours and maps each row (with `batches`, the way rows leave DuckDB).
    pub(crate) fn rows<T>(
        &self,
        sql: &str,
        params: impl duckdb::Params,
        f: impl FnMut(&duckdb::Row<'_>) -> duckdb::Result<T>,
    ) -> Result<Vec<T>> {
        let mut st = self.conn.prepare(sql).map_err(sql_err)?;
        let rows = st
            .query_map(params, f)
            .map_err(sql_err)?
            .collect::<Result<Vec<T>, _>>()
            .map_err(sql_err);
        rows
    }
}

/// `2026-11-27 06:38:00.123456`, the literal DuckDB casts to TIMESTAMP.
pub(crate) fn ts(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// A TIMESTAMP value for the appender and parameters.
pub(crate) fn ts_value(t: NaiveDateTime) -> duckdb::types::Value {
    duckdb::types::Value::Timestamp(duckdb::types::TimeUnit::Microsecond, crate::time::micros(t))
}

/// Run ids for `col IN (...)`: a list of literals (`1,2,3`), or, when some of them form a few
/// long runs of consecutive ids (a period's runs), those runs as `range()`s and the rest as one
/// list. Only for ids the warehouse gave us: integers, never user text.
/// DuckDB parses and plans an IN list of 6,600 literals in ~0.1 s and the same ids as a range
/// subquery in ~0.02 s (measured on the 1,000,000-run warehouse), and a quarterly report asks
/// many such questions. The rows selected are the same (tested).
pub(crate) fn id_list(ids: &[i64]) -> String {
    // shorter runs and more ranges than this gain nothing over the literals
    const MIN_RUN: usize = 64;
    const MAX_RANGES: usize = 8;
    let literals = |ids: &[i64]| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let (mut ranges, mut rest) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == sorted[j - 1] + 1 {
            j += 1;
        }
        if j - i >= MIN_RUN {
            ranges.push(format!(
                "SELECT range FROM range({}, {})",
                sorted[i],
                sorted[j - 1] + 1
            ));
        } else {
            rest.extend_from_slice(&sorted[i..j]);
        }
        i = j;
    }
    if ranges.is_empty() || ranges.len() > MAX_RANGES {
        return literals(ids);
    }
    if !rest.is_empty() {
        ranges.push(format!("SELECT unnest([{}]::BIGINT[])", literals(&rest)));
    }
    ranges.join(" UNION ALL ")
}

/// A metric name as an SQL string literal.
pub(crate) fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Reads a TIMESTAMP column selected as `epoch_us(...)`.
pub(crate) fn time_of(us: Option<i64>) -> Option<NaiveDateTime> {
    us.and_then(crate::time::from_micros)
}

#[cfg(test)]
mod tests {
    use super::id_list;
    use proptest::prelude::*;

    /// The ids `IN (id_list(ids))` selects from 0..3000, and the ids themselves, sorted.
    fn selected(ids: &[i64]) -> (Vec<i64>, Vec<i64>) {
        let conn = duckdb::Connection::open_in_memory().unwrap();
        let sql = format!(
            "SELECT range FROM range(0, 3000) WHERE range IN ({}) ORDER BY 1",
            id_list(ids)
        );
        let mut st = conn.prepare(&sql).unwrap();
        let got = st
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut want: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|i| (0..3000).contains(i))
            .collect();
        want.sort_unstable();
        want.dedup();
        (got, want)
    }

    #[test]
    fn a_period_of_runs_is_a_range_and_selects_the_same() {
        let mut ids: Vec<i64> = (100..900).chain([5, 7, 2000]).chain(1200..1300).collect();
        ids.reverse();
        assert!(
            id_list(&ids).contains("range(100, 900)"),
            "{}",
            id_list(&ids)
        );
        let (got, want) = selected(&ids);
        assert_eq!(got, want);
        assert_eq!(id_list(&[3, 1, 2]), "3,1,2", "short lists stay literals");
    }

    proptest! {
        #[test]
        fn id_list_selects_what_the_literals_select(
            runs in proptest::collection::vec((0i64..2900, 1usize..200), 0..12),
            singles in proptest::collection::vec(0i64..3000, 0..30),
        ) {
            let mut ids: Vec<i64> = singles;
            for (start, len) in runs {
                ids.extend(start..(start + len as i64).min(3000));
            }
            prop_assume!(!ids.is_empty());
            let (got, want) = selected(&ids);
            prop_assert_eq!(got, want);
        }
    }
}
