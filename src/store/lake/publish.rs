//! Writing a run (or snapshot, or capture) to the lake: one Parquet file per table it has
//! rows in, the head file (`run`, `pg_snapshot`, `resource_capture`) last. Called inside the import's transaction, before the
//! commit: a failed upload rolls the index back, so the index never holds a run the lake lacks.

use std::path::Path as FsPath;

use duckdb::Connection;

use super::layout::{
    self, file_id, unit_path, Partition, Table, UnitKind, RESOURCES_KIND, RUN, RUN_KIND, RUN_PARTS,
    SNAPSHOT_KIND,
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

/// `COPY (sql) TO file` as zstd Parquet; the number of rows written.
pub(crate) fn copy_to(conn: &Connection, sql: &str, file: &FsPath) -> Result<usize> {
    let f = file.display().to_string().replace('\'', "''");
    conn.execute(
        &format!("COPY ({sql}) TO '{f}' (FORMAT parquet, COMPRESSION zstd)"),
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
        if copy_to(conn, &part_select(t, unit), &file)? > 0 {
            lake.put_file(&unit_path(t.name, part, &id), &file)?;
        }
    }
    let file = dir.path().join("head.parquet");
    copy_to(conn, &head_select(unit), &file)?;
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
                "{} t JOIN run r ON r.id = t.run_id JOIN push_map m ON m.run_id = t.run_id",
                t.name
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
            )?;
            merged
        };
        lake.put_file(&unit_path(t.name, &part, &fid), &file)?;
    }
    Ok(())
}

fn copy_to_partitioned(conn: &Connection, sql: &str, dir: &FsPath) -> Result<()> {
    let d = dir.display().to_string().replace('\'', "''");
    conn.execute(
        &format!("COPY ({sql}) TO '{d}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (p_tool, p_month, p_fid), OVERWRITE_OR_IGNORE)"),
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
