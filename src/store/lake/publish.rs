//! Writing a run (or snapshot) to the lake: one Parquet file per table it has rows in, the
//! head file (`run`, `pg_snapshot`) last. Called inside the import's transaction, before the
//! commit: a failed upload rolls the index back, so the index never holds a run the lake lacks.

use std::path::Path as FsPath;

use duckdb::Connection;

use super::layout::{
    self, file_id, unit_path, Partition, Table, RUN, RUN_PARTS, SNAPSHOT, SNAPSHOT_PARTS,
};
use super::Lake;
use crate::error::{Error, Result};
use crate::store::sql_err;

/// A unit of the lake: a run or a pg_stat_statements snapshot, by its local id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Run(i64),
    Snapshot(i64),
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
    }
}

/// The SQL that selects a part table's rows of one unit, in the order they were stored.
pub(crate) fn part_select(t: &Table, unit: Unit) -> String {
    let cols = t
        .cols
        .iter()
        .map(|c| format!("t.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    match unit {
        Unit::Run(id) => format!(
            "SELECT r.content_key AS run_key, {cols} FROM {} t JOIN run r ON r.id = t.run_id WHERE t.run_id = {id} ORDER BY t.rowid",
            t.name
        ),
        Unit::Snapshot(id) => format!(
            "SELECT s.content_key AS snapshot_key, {cols} FROM {} t JOIN pg_snapshot s ON s.id = t.snapshot_id WHERE t.snapshot_id = {id} ORDER BY t.rowid",
            t.name
        ),
    }
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
    let (head, parts) = match unit {
        Unit::Run(_) => (&RUN, RUN_PARTS),
        Unit::Snapshot(_) => (&SNAPSHOT, SNAPSHOT_PARTS),
    };
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
    /// Writes every run and snapshot of this index that the lake lacks (for a warehouse that
    /// existed before it had a lake); the number written.
    pub fn push(&mut self) -> Result<usize> {
        let Some(lake) = self.lake.as_ref() else {
            return Err(Error::Usage(
                "no lake: pass --lake URL (or set PERFLEDGER_LAKE)".into(),
            ));
        };
        let runs: Vec<(i64, String, String, Option<i64>)> = self.rows(
            "SELECT id, content_key, tool, epoch_us(started_at) FROM run ORDER BY id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let snaps: Vec<(i64, String, Option<i64>)> = self.rows(
            "SELECT id, content_key, epoch_us(taken_at) FROM pg_snapshot ORDER BY id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let mut n = 0;
        let at = |us: Option<i64>| us.and_then(crate::time::from_micros);
        for (id, key, tool, started) in runs {
            if publish(
                &self.conn,
                lake,
                Unit::Run(id),
                &key,
                &Partition::of(&tool, at(started)),
            )? {
                n += 1;
            }
        }
        for (id, key, taken) in snaps {
            if publish(
                &self.conn,
                lake,
                Unit::Snapshot(id),
                &key,
                &Partition::of("postgres", at(taken)),
            )? {
                n += 1;
            }
        }
        super::sync::bind(&self.conn, lake)?;
        Ok(n)
    }
}
