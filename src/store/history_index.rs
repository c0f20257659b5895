//! The history index (schema 012): `measurement` copied in blocks of runs, each block ordered by
//! series, so one series' values are read without scanning the others'. Imports append
//! `measurement` rows in run order; once enough rows lie above the covered run
//! ([`IndexStep::IMPORT`]), blocks of runs are copied, each in its own transaction (a kill
//! between blocks loses nothing: the cover moves with the block). Readers take the covered runs
//! from `history_value` and the rest from `measurement` (see `Warehouse::history_values_sql`), so
//! what they read is the same whether or not the index is up to date.

use duckdb::params;

use super::{sql_err, Warehouse};
use crate::error::Result;

/// Rows copied per block (about): see [`IndexStep::IMPORT`].
const BLOCK_ROWS: i64 = 8_000_000;

/// DuckDB's memory limit while a block is copied.
const INDEX_MEMORY_LIMIT: &str = "1GB";

/// How much indexing one call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStep {
    /// Index only while more rows than this lie above the cover.
    pub min_tail: i64,
    /// At most this many blocks (`None`: until done).
    pub max_blocks: Option<usize>,
    /// Rows copied per block (about).
    pub block_rows: i64,
}

impl IndexStep {
    /// After an import: the rows above the cover are scanned directly (tens of milliseconds)
    /// until there are a block's worth, about 8 M rows (16,000 runs of 50 targets x 10
    /// metrics): large enough that one series of a block lies in one or two of DuckDB's
    /// 122,880-row groups, small enough to sort in little memory. Two blocks at most, so no
    /// import pays for a long backlog (after an upgrade from schema 011, say); readers stay
    /// exact meanwhile.
    pub const IMPORT: IndexStep = IndexStep {
        min_tail: BLOCK_ROWS,
        max_blocks: Some(2),
        block_rows: BLOCK_ROWS,
    };
    /// As imports leave it, all at once: every whole block (a generated warehouse).
    pub const BLOCKS: IndexStep = IndexStep {
        min_tail: BLOCK_ROWS,
        max_blocks: None,
        block_rows: BLOCK_ROWS,
    };
    /// After a sync: only a long backlog (a rebuild from a large lake), so that a sync of a
    /// few thousand runs costs no more than reading them; imports index the rest.
    pub const SYNC: IndexStep = IndexStep {
        min_tail: 20_000_000,
        max_blocks: None,
        block_rows: BLOCK_ROWS,
    };
    /// Everything (a generated warehouse, tests).
    pub const ALL: IndexStep = IndexStep {
        min_tail: 0,
        max_blocks: None,
        block_rows: BLOCK_ROWS,
    };
}

/// How far the index got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// Runs with an id up to this one are in the index.
    pub covered_run: i64,
    /// `measurement` rows of the runs above it.
    pub tail_rows: i64,
}

impl Warehouse {
    fn covered_run(&self) -> Result<i64> {
        self.conn
            .query_row("SELECT max(run_id) FROM history_cover", [], |r| r.get(0))
            .map_err(sql_err)
    }

    /// Rows of `measurement` whose run id is `op` (`>`, `=`) `run`.
    fn measurement_rows(&self, op: &str, run: i64) -> Result<i64> {
        self.conn
            .query_row(
                &format!("SELECT count(*) FROM measurement WHERE run_id {op} ?"),
                params![run],
                |r| r.get(0),
            )
            .map_err(sql_err)
    }

    /// How far the index got, counted (the tail's run ids are scanned: milliseconds per
    /// million rows).
    pub fn history_coverage(&self) -> Result<Coverage> {
        let covered_run = self.covered_run()?;
        let tail_rows = self.measurement_rows(">", covered_run)?;
        Ok(Coverage {
            covered_run,
            tail_rows,
        })
    }

    /// After `run` was imported: counts the tail once per process, then adds each imported
    /// run's rows (a lookup of one run), and indexes as [`IndexStep::IMPORT`] says once the
    /// tail holds a block. A command importing thousands of files counts the tail once.
    pub(crate) fn index_after_import(&mut self, run: i64) -> Result<()> {
        let tail = match self.history_tail {
            Some(t) => t + self.measurement_rows("=", run)?,
            None => self.history_coverage()?.tail_rows,
        };
        self.history_tail = Some(tail);
        if tail >= IndexStep::IMPORT.min_tail {
            self.index_history(IndexStep::IMPORT)?;
        }
        Ok(())
    }

    /// Indexes blocks of runs as `step` says. Returns the coverage reached.
    pub fn index_history(&mut self, step: IndexStep) -> Result<Coverage> {
        let mut done = 0;
        loop {
            let c = self.history_coverage()?;
            self.history_tail = Some(c.tail_rows);
            if c.tail_rows == 0
                || c.tail_rows < step.min_tail
                || step.max_blocks.is_some_and(|m| done >= m)
            {
                return Ok(c);
            }
            self.index_block(c, step.block_rows.max(1))?;
            done += 1;
        }
    }

    /// Copies the next block of runs above the cover, ordered by series, in one transaction.
    fn index_block(&mut self, c: Coverage, block_rows: i64) -> Result<()> {
        let (first, last): (i64, i64) = self
            .conn
            .query_row(
                "SELECT min(run_id), max(run_id) FROM measurement WHERE run_id > ?",
                params![c.covered_run],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(sql_err)?;
        // runs per block from the tail's mean rows per run (ids may have gaps)
        let per_run = (c.tail_rows as f64 / (last - first + 1) as f64).max(1.0);
        let upto = (first - 1 + (block_rows as f64 / per_run).ceil() as i64).clamp(first, last);
        // the order of the INSERT is what makes the zone maps narrow; the limit keeps DuckDB's
        // buffer pool from holding every block read (it spills the sort if it must)
        self.conn
            .execute_batch(&format!(
                "SET preserve_insertion_order = true; SET memory_limit = '{INDEX_MEMORY_LIMIT}'"
            ))
            .map_err(sql_err)?;
        let copied = self.copy_block(c.covered_run, upto);
        let reset = self
            .conn
            .execute_batch("RESET memory_limit")
            .map_err(sql_err);
        copied?;
        reset
    }

    /// The block's rows, keys first, and the new cover: one transaction.
    fn copy_block(&mut self, covered_run: i64, upto: i64) -> Result<()> {
        let tx = self.conn.transaction().map_err(sql_err)?;
        tx.execute(
            "INSERT INTO history_key
             SELECT coalesce((SELECT max(id) FROM history_key), 0)
                    + row_number() OVER (ORDER BY target, metric), target, metric
             FROM (SELECT DISTINCT target, metric FROM measurement WHERE run_id > ? AND run_id <= ?
                   EXCEPT SELECT target, metric FROM history_key)",
            params![covered_run, upto],
        )
        .map_err(sql_err)?;
        tx.execute(
            "INSERT INTO history_value
             SELECT k.id, m.run_id, m.value
             FROM measurement m JOIN history_key k ON k.target = m.target AND k.metric = m.metric
             WHERE m.run_id > ? AND m.run_id <= ?
             ORDER BY k.id, m.run_id",
            params![covered_run, upto],
        )
        .map_err(sql_err)?;
        tx.execute("UPDATE history_cover SET run_id = ?", params![upto])
            .map_err(sql_err)?;
        tx.commit().map_err(sql_err)
    }

    /// The rows (run_id, value) of one stored series, as a subquery: the covered runs from the
    /// index (its id a literal, so the zone maps prune), the rest from `measurement` (run ids
    /// above the cover, which prune there). `target` is bound as the query's first parameter.
    pub(crate) fn history_values_sql(&self, target: &str, metric: &str) -> Result<String> {
        let covered = self.covered_run()?;
        let id: Option<i32> = self
            .rows(
                "SELECT id FROM history_key WHERE target = ? AND metric = ?",
                params![target, metric],
                |r| r.get(0),
            )?
            .pop();
        let m = super::lit(metric);
        let indexed = id.map_or(String::new(), |id| {
            format!("SELECT run_id, value FROM history_value WHERE series_id = {id} UNION ALL ")
        });
        Ok(format!(
            "({indexed}SELECT run_id, value FROM measurement
              WHERE run_id > {covered} AND target = ? AND metric = {m})"
        ))
    }
}
