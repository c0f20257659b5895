//! Writing a run (or snapshot, or capture) to the lake: one Parquet file per table it has
//! rows in, the head file (`run`, `pg_snapshot`, `resource_capture`) last. Called inside the import's transaction, before the
//! commit: a failed upload rolls the index back, so the index never holds a run the lake lacks.

use std::path::Path as FsPath;

use duckdb::Connection;

use super::layout::{
    self, file_id, unit_path, Partition, Table, UnitKind, RESOURCES_KIND, RUN, RUN_KIND, RUN_PARTS,
    SERIES_POINT, SNAPSHOT_KIND,
};
use super::Lake;
use crate::error::{Error, Result};
use crate::store::sql_err;

/// A unit of the lake: a run, a pg_stat_statements snapshot or a resource capture, by its
/// local id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Run(i64),
    Snapshot(i64),
    Resources(i64),
}

impl Unit {
    fn kind(self) -> (&'static UnitKind, i64) {
        match self {
            Unit::Run(id) => (&RUN_KIND, id),
            Unit::Snapshot(id) => (&SNAPSHOT_KIND, id),
            Unit::Resources(id) => (&RESOURCES_KIND, id),
        }
    }
}

/// The SQL that selects a head table's row of one unit, keyed for the lake.
pub(crate) fn head_select(unit: Unit) -> String {
    match unit {
        Unit::Run(id) => format!(
            "SELECT content_key AS run_key, {} FROM run WHERE id = {id}",
            RUN.cols.join(", ")
        ),
        Unit::Snapshot(id) => format!(
            "SELECT s.content_key AS snapshot_key, s.server, s.taken_at, s.stats_reset, s.source, r.content_key AS run_key
             FROM pg_snapshot s LEFT JOIN run r ON r.id = s.run_id WHERE s.id = {id}"
        ),
        Unit::Resources(id) => format!(
            "SELECT c.content_key AS capture_key, c.source, c.started_at, c.ended_at, c.step_s, r.content_key AS run_key
             FROM resource_capture c LEFT JOIN run r ON r.id = c.run_id WHERE c.id = {id}"
        ),
    }
}

/// The SQL that selects a part table's rows of one unit, in the order they were stored.
pub(crate) fn part_select(t: &Table, unit: Unit) -> String {
    let (kind, id) = unit.kind();
    format!(
        "SELECT o.content_key AS {key}, {cols} FROM {table} t JOIN {local} o ON o.id = t.{fk} WHERE t.{fk} = {id} ORDER BY t.rowid",
        key = t.key,
        cols = t.cols_of("t"),
        table = t.name,
        local = kind.local,
        fk = kind.fk,
    )
}

/// A run's series points for the lake in the order they were stored, streamed. The
/// `series_point` view joins every point to its series, and a join does not keep order, so
/// `ORDER BY rowid` had to sort them all in memory (8 h of Locust history, 14.7 M points:
/// 9.1 s and 4.0 GB). Here the run's few series become two list literals indexed by id, and
/// the points come from a scan of `series_value` then of `series_wide` unnested cell by cell:
/// scans, `UNION ALL` and projections keep their order in DuckDB, so the rows are the same,
/// in the same order, with no sort and no join.
pub(crate) fn series_select(conn: &Connection, run: i64, key: &str) -> Result<String> {
    use crate::store::lit;
    let mut st = conn
        .prepare("SELECT sid, target, metric FROM series WHERE run_id = ? ORDER BY sid")
        .map_err(sql_err)?;
    let series = st
        .query_map([run], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(sql_err)?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(sql_err)?;
    // ids are dense but for columns a run never filled: NULL there, never indexed
    let len = series.last().map_or(0, |s| s.0 as usize + 1);
    let mut targets = vec!["NULL".to_string(); len];
    let mut metrics = targets.clone();
    for (sid, target, metric) in &series {
        targets[*sid as usize] = lit(target);
        metrics[*sid as usize] = lit(metric);
    }
    let cells = (0..crate::model::SERIES_COLUMNS)
        .map(|i| format!("v{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(format!(
        "SELECT {key} AS run_key, ([{targets}]::VARCHAR[])[p.sid + 1] AS target, p.ts,
                ([{metrics}]::VARCHAR[])[p.sid + 1] AS metric, p.value
         FROM (
             SELECT sid::BIGINT AS sid, ts, value FROM series_value WHERE run_id = {run}
             UNION ALL
             SELECT sid, ts, value FROM (
                 SELECT sid0 + unnest(range({n})) AS sid, ts, unnest([{cells}]) AS value
                 FROM series_wide WHERE run_id = {run}
             ) WHERE value IS NOT NULL
         ) p",
        key = lit(key),
        targets = targets.join(", "),
        metrics = metrics.join(", "),
        n = crate::model::SERIES_COLUMNS,
    ))
}

/// Writes a run's series points ([`series_select`]) to `file` on one DuckDB thread: with
/// two, keeping the order made DuckDB buffer what one thread had read ahead of the other
/// (8 h of Locust history: 3.4 GB at 4.0 s, on one thread 148 MB at 3.8 s), and one
/// thread reads the scans in one order, so a retried import writes the same bytes.
fn copy_series(conn: &Connection, t: &Table, run: i64, key: &str, file: &FsPath) -> Result<usize> {
    let sql = series_select(conn, run, key)?;
    crate::store::with_settings(conn, "SET threads = 1;", "RESET threads;", || {
        copy_to(conn, &sql, file, codec_of(t.name))
    })
}

/// The codec of a table's unit files. A sync reads one small file per run and table (50,000
/// for 10,000 runs), and arrow-rs builds a zstd decoder per column chunk: a one-row `run`
/// file took 0.43 ms to read as zstd, 0.10 ms as LZ4_RAW, for 5% more bytes (measurement
/// files +5%, histograms +33%; 2,000 runs' files rewritten by DuckDB). A long run's points
/// file is large and read once: zstd, as compacted files are. LZ4_RAW is the Parquet codec
/// DuckDB, polars, pyarrow, Spark 3.4+ and Trino read (not the deprecated LZ4).
pub(crate) fn codec_of(table: &str) -> &'static str {
    if table == SERIES_POINT {
        "zstd"
    } else {
        "lz4_raw"
    }
}

/// `COPY (sql) TO file` as Parquet with `codec`; the number of rows written.
pub(crate) fn copy_to(conn: &Connection, sql: &str, file: &FsPath, codec: &str) -> Result<usize> {
    let f = file.display().to_string().replace('\'', "''");
    conn.execute(
        &format!("COPY ({sql}) TO '{f}' (FORMAT parquet, COMPRESSION {codec})"),
        [],
    )
    .map_err(sql_err)
}

/// Writes the marker on first use; refuses a lake of a newer layout.
pub fn ensure_marker(lake: &Lake) -> Result<()> {
    // once per lake and process: an import of many runs checks it once, not per run
    if lake.marker_checked.get().is_some() {
        return Ok(());
    }
    ensure_marker_uncached(lake)?;
    let _ = lake.marker_checked.set(());
    Ok(())
}

fn ensure_marker_uncached(lake: &Lake) -> Result<()> {
    if lake.exists(layout::MARKER)? {
        layout::read_marker(lake.url(), &lake.get(layout::MARKER)?)?;
        return Ok(());
    }
    // Two first writers write the same bytes: no coordination needed.
    lake.put(layout::MARKER, layout::marker_bytes())
}

/// Writes one unit to the lake unless its head file is already there; whether it wrote.
pub fn publish(
    conn: &Connection,
    lake: &Lake,
    unit: Unit,
    key: &str,
    part: &Partition,
) -> Result<bool> {
    ensure_marker(lake)?;
    let (kind, _) = unit.kind();
    let (head, parts) = (kind.head, kind.parts);
    let id = file_id(key);
    let head_rel = unit_path(head.name, part, &id);
    if lake.exists(&head_rel)? {
        return Ok(false);
    }
    let dir = tempfile::tempdir().map_err(|e| Error::Store(format!("temporary folder: {e}")))?;
    for t in parts {
        let file = dir.path().join(format!("{}.parquet", t.name));
        let rows = match unit {
            Unit::Run(run) if t.name == SERIES_POINT => copy_series(conn, t, run, key, &file)?,
            _ => copy_to(conn, &part_select(t, unit), &file, codec_of(t.name))?,
        };
        if rows > 0 {
            lake.put_file(&unit_path(t.name, part, &id), &file)?;
        }
    }
    let file = dir.path().join("head.parquet");
    copy_to(conn, &head_select(unit), &file, codec_of(head.name))?;
    lake.put_file(&head_rel, &file)?;
    Ok(true)
}

impl crate::store::Warehouse {
    /// Writes every run and snapshot of this index that the lake lacks (a warehouse that
    /// existed before it had a lake); the number written. Runs go in bulk: one `COPY ...
    /// PARTITION_BY` per table writes every run's file at once, uploaded parts first and the
    /// `run` files last, as an import would.
    pub fn push(&mut self) -> Result<usize> {
        let Some(lake) = self.lake.as_ref() else {
            return Err(super::no_lake());
        };
        ensure_marker(lake)?;
        let present = lake_ids(lake, RUN.name)?;
        let runs: Vec<(i64, String, String, Option<i64>)> = self.rows(
            "SELECT id, content_key, tool, epoch_us(started_at) FROM run ORDER BY id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let at = |us: Option<i64>| us.and_then(crate::time::from_micros);
        self.conn
            .execute_batch("CREATE OR REPLACE TEMP TABLE push_map (run_id BIGINT, p_tool VARCHAR, p_month VARCHAR, p_fid VARCHAR);")
            .map_err(sql_err)?;
        let mut n = 0;
        {
            let mut app = self.conn.appender("push_map").map_err(sql_err)?;
            for (id, key, tool, started) in &runs {
                let fid = file_id(key);
                if present.contains(&fid) {
                    continue;
                }
                let p = Partition::of(tool, at(*started));
                app.append_row(duckdb::params![id, p.tool, p.month, fid])
                    .map_err(sql_err)?;
                n += 1;
            }
            app.flush().map_err(sql_err)?;
        }
        if n > 0 {
            let dir =
                tempfile::tempdir().map_err(|e| Error::Store(format!("temporary folder: {e}")))?;
            for t in RUN_PARTS.iter().chain(std::iter::once(&RUN)) {
                if t.name == SERIES_POINT {
                    push_long_series(&self.conn, lake, t, dir.path())?;
                }
                bulk_copy(&self.conn, lake, t, dir.path())?;
            }
        }
        // snapshots and captures are few: one at a time
        let snaps: Vec<(i64, String, Option<i64>)> = self.rows(
            "SELECT id, content_key, epoch_us(taken_at) FROM pg_snapshot ORDER BY id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let caps: Vec<(i64, String, Option<i64>)> = self.rows(
            "SELECT id, content_key, epoch_us(started_at) FROM resource_capture ORDER BY id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let units = snaps
            .into_iter()
            .map(|(id, k, t)| (Unit::Snapshot(id), k, "postgres", t))
            .chain(
                caps.into_iter()
                    .map(|(id, k, t)| (Unit::Resources(id), k, "prometheus", t)),
            );
        for (unit, key, tool, at_us) in units {
            if publish(
                &self.conn,
                lake,
                unit,
                &key,
                &Partition::of(tool, at(at_us)),
            )? {
                n += 1;
            }
        }
        super::sync::bind(&self.conn, lake)?;
        Ok(n)
    }
}

/// The unit ids of a head table's single files in the lake.
fn lake_ids(lake: &Lake, head: &str) -> Result<std::collections::HashSet<String>> {
    let mut out = std::collections::HashSet::new();
    for e in lake.list_under(&format!("v1/{head}/"))? {
        if let layout::Kind::Unit { id, .. } = layout::classify(lake.url(), &e.rel)? {
            out.insert(id);
        }
    }
    Ok(out)
}

/// The series points of the runs in `push_map` that have wide rows (long histories), one
/// run at a time as an import writes them ([`series_select`]: no sort of every point of every
/// run); the others are left in `push_short` for [`bulk_copy`].
fn push_long_series(conn: &Connection, lake: &Lake, t: &Table, dir: &FsPath) -> Result<()> {
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE push_long AS
         SELECT DISTINCT run_id FROM series_wide WHERE run_id IN (SELECT run_id FROM push_map);
         CREATE OR REPLACE TEMP TABLE push_short AS
         SELECT * FROM push_map WHERE run_id NOT IN (SELECT run_id FROM push_long);",
    )
    .map_err(sql_err)?;
    let mut st = conn
        .prepare(
            "SELECT m.run_id, r.content_key, m.p_tool, m.p_month, m.p_fid FROM push_map m
             JOIN push_long USING (run_id) JOIN run r ON r.id = m.run_id ORDER BY m.run_id",
        )
        .map_err(sql_err)?;
    let long = st
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                Partition {
                    tool: r.get(2)?,
                    month: r.get(3)?,
                },
                r.get::<_, String>(4)?,
            ))
        })
        .map_err(sql_err)?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(sql_err)?;
    let file = dir.join("long-series.parquet");
    for (run, key, part, fid) in &long {
        if copy_series(conn, t, *run, key, &file)? > 0 {
            lake.put_file(&unit_path(t.name, part, fid), &file)?;
        }
    }
    Ok(())
}

/// Writes one table's rows of the runs in `push_map`, one file per run, and uploads them.
fn bulk_copy(conn: &Connection, lake: &Lake, t: &Table, dir: &FsPath) -> Result<()> {
    let (select, from) = if t.name == RUN.name {
        (
            format!("r.content_key AS run_key, {}", RUN.cols_of("r")),
            "run r JOIN push_map m ON m.run_id = r.id".to_string(),
        )
    } else {
        (
            format!("r.content_key AS run_key, {}", t.cols_of("t")),
            format!(
                "{} t JOIN run r ON r.id = t.run_id JOIN {map} m ON m.run_id = t.run_id",
                t.name,
                // the long series went one run at a time (push_long_series)
                map = if t.name == SERIES_POINT {
                    "push_short"
                } else {
                    "push_map"
                },
            ),
        )
    };
    let out = dir.join(t.name);
    let order = if t.name == RUN.name {
        "r.id"
    } else {
        "t.run_id, t.rowid"
    };
    copy_to_partitioned(
        conn,
        &format!("SELECT m.p_tool, m.p_month, m.p_fid, {select} FROM {from} ORDER BY {order}"),
        &out,
        codec_of(t.name),
    )?;
    let mut files: std::collections::BTreeMap<(Partition, String), Vec<std::path::PathBuf>> =
        std::collections::BTreeMap::new();
    for (part, fid, file) in partition_files(&out)? {
        files.entry((part, fid)).or_default().push(file);
    }
    for ((part, fid), list) in files {
        // DuckDB may flush a partition into more than one file: one file per run, always
        let file = if list.len() == 1 {
            list[0].clone()
        } else {
            let merged = out.join(format!("{fid}.parquet"));
            let srcs = list
                .iter()
                .map(|p| crate::store::lit(&p.display().to_string()))
                .collect::<Vec<_>>()
                .join(", ");
            copy_to(
                conn,
                &format!("SELECT * FROM read_parquet([{srcs}])"),
                &merged,
                codec_of(t.name),
            )?;
            merged
        };
        lake.put_file(&unit_path(t.name, &part, &fid), &file)?;
    }
    Ok(())
}

fn copy_to_partitioned(conn: &Connection, sql: &str, dir: &FsPath, codec: &str) -> Result<()> {
    let d = dir.display().to_string().replace('\'', "''");
    conn.execute(
        &format!("COPY ({sql}) TO '{d}' (FORMAT parquet, COMPRESSION {codec}, PARTITION_BY (p_tool, p_month, p_fid), OVERWRITE_OR_IGNORE)"),
        [],
    )
    .map_err(sql_err)?;
    Ok(())
}

/// The files DuckDB wrote under `dir/p_tool=*/p_month=*/p_fid=*/`.
fn partition_files(dir: &FsPath) -> Result<Vec<(Partition, String, std::path::PathBuf)>> {
    let io = |e: std::io::Error| Error::Store(format!("{}: {e}", dir.display()));
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    let value = |p: &FsPath, key: &str| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix(key))
            .map(str::to_string)
    };
    for tool in std::fs::read_dir(dir).map_err(io)? {
        let tool = tool.map_err(io)?.path();
        for month in std::fs::read_dir(&tool).map_err(io)? {
            let month = month.map_err(io)?.path();
            for fid in std::fs::read_dir(&month).map_err(io)? {
                let fid = fid.map_err(io)?.path();
                let (Some(t), Some(m), Some(f)) = (
                    value(&tool, "p_tool="),
                    value(&month, "p_month="),
                    value(&fid, "p_fid="),
                ) else {
                    continue;
                };
                for file in std::fs::read_dir(&fid).map_err(io)? {
                    out.push((
                        Partition {
                            tool: t.clone(),
                            month: m.clone(),
                        },
                        f.clone(),
                        file.map_err(io)?.path(),
                    ));
                }
            }
        }
    }
    Ok(out)
}
