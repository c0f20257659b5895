//! Export of selected runs as files other engines read: one file per table, in the shape the
//! lake holds them (a run is named by its content key, `run_key`, beside its local `run_id`).
//! DuckDB writes the files (`COPY ... TO`), so types survive in Parquet and CSV/JSON get
//! DuckDB's standard spellings of times and numbers.

use std::path::{Path, PathBuf};

use super::lake::layout::{Table, RUN, RUN_PARTS, SNAPSHOT_PARTS};
use super::{id_list, lit, sql_err, Warehouse};
use crate::error::{Error, Result};

/// The file formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Parquet,
    Csv,
    /// Newline-delimited JSON: one object per row.
    Ndjson,
}

impl FileFormat {
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Csv => "csv",
            FileFormat::Ndjson => "ndjson",
        }
    }

    fn copy_options(self) -> &'static str {
        match self {
            FileFormat::Parquet => "FORMAT parquet, COMPRESSION zstd",
            FileFormat::Csv => "FORMAT csv, HEADER true",
            // written row by row (the bundled DuckDB has no json extension)
            FileFormat::Ndjson => "",
        }
    }
}

/// (run id, target, metric, value, unit)
pub type MeasurementRow = (i64, String, String, f64, String);

/// One written table file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExportedTable {
    pub table: String,
    pub file: PathBuf,
    pub rows: usize,
}

/// A histogram's HDR bytes: a BLOB in Parquet, base64 text where the format has no bytes.
fn hdr_column(f: FileFormat) -> &'static str {
    match f {
        FileFormat::Parquet => "t.hdr",
        FileFormat::Csv | FileFormat::Ndjson => "to_base64(t.hdr) AS hdr_base64",
    }
}

/// A table an export writes, by how its rows find their run.
#[derive(Clone, Copy)]
enum Source {
    Run,
    RunPart(&'static Table),
    Snapshot,
    SnapshotPart(&'static Table),
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Run => RUN.name,
            Source::Snapshot => "pg_snapshot",
            Source::RunPart(t) | Source::SnapshotPart(t) => t.name,
        }
    }

    /// The SELECT of this table's rows of the given runs (ids already checked to exist).
    fn select(self, ids: &str, f: FileFormat) -> String {
        match self {
            Source::Run => format!(
                "SELECT r.id AS run_id, r.content_key AS run_key, {}, r.imported_at
                 FROM run r WHERE r.id IN ({ids}) ORDER BY r.id",
                RUN.cols_of("r")
            ),
            Source::Snapshot => format!(
                "SELECT s.id AS snapshot_id, s.content_key AS snapshot_key, s.run_id,
                        r.content_key AS run_key, s.server, s.taken_at, s.stats_reset, s.source
                 FROM pg_snapshot s JOIN run r ON r.id = s.run_id
                 WHERE s.run_id IN ({ids}) ORDER BY s.id"
            ),
            Source::SnapshotPart(t) => format!(
                "SELECT s.id AS snapshot_id, s.content_key AS snapshot_key, {}
                 FROM {} t JOIN pg_snapshot s ON s.id = t.snapshot_id
                 WHERE s.run_id IN ({ids}) ORDER BY s.id, t.rowid",
                t.cols_of("t"),
                t.name
            ),
            Source::RunPart(t) => {
                let cols = t
                    .cols
                    .iter()
                    .map(|c| {
                        if *c == "hdr" {
                            hdr_column(f).to_string()
                        } else {
                            format!("t.{c}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "SELECT t.run_id, r.content_key AS run_key, {cols}
                     FROM {} t JOIN run r ON r.id = t.run_id
                     WHERE t.run_id IN ({ids}) ORDER BY t.run_id, t.rowid",
                    t.name
                )
            }
        }
    }
}

/// Every table an export writes, in a stable order.
fn export_tables() -> Vec<Source> {
    std::iter::once(Source::Run)
        .chain(RUN_PARTS.iter().map(Source::RunPart))
        .chain([Source::Snapshot])
        .chain(SNAPSHOT_PARTS.iter().map(Source::SnapshotPart))
        .collect()
}

fn out_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Output {
        path: path.to_path_buf(),
        msg: e.to_string(),
    }
}

impl Warehouse {
    /// Writes the rows of `runs` of every table into `dir` (created if missing), one file per
    /// table, each written beside its place and renamed into it (a reader never sees half a file).
    pub fn export_files(
        &self,
        runs: &[i64],
        dir: &Path,
        f: FileFormat,
    ) -> Result<Vec<ExportedTable>> {
        std::fs::create_dir_all(dir).map_err(|e| out_err(dir, e))?;
        let ids = if runs.is_empty() {
            "NULL".to_string()
        } else {
            id_list(runs)
        };
        let mut out = Vec::new();
        for source in export_tables() {
            let table = source.name();
            let file = dir.join(format!("{table}.{}", f.extension()));
            let part = dir.join(format!(".{table}.{}.partial", f.extension()));
            // a folder the user cannot write into is an output error (exit 6), found before
            // DuckDB's message would make it look like ours
            std::fs::File::create(&part).map_err(|e| out_err(&part, e))?;
            let sql = source.select(&ids, f);
            let rows = if f == FileFormat::Ndjson {
                self.write_ndjson(&sql, &part)?
            } else {
                self.conn
                    .execute(
                        &format!(
                            "COPY ({sql}) TO {} ({})",
                            lit(&part.display().to_string()),
                            f.copy_options()
                        ),
                        [],
                    )
                    .map_err(sql_err)?
            };
            std::fs::rename(&part, &file).map_err(|e| out_err(&file, e))?;
            out.push(ExportedTable {
                table: table.to_string(),
                file,
                rows,
            });
        }
        Ok(out)
    }

    /// One JSON object per row and line, streamed: a large export is never held whole.
    fn write_ndjson(&self, sql: &str, file: &Path) -> Result<usize> {
        use std::io::Write;
        let out = std::fs::File::create(file).map_err(|e| out_err(file, e))?;
        let mut out = std::io::BufWriter::new(out);
        let mut st = self.conn.prepare(sql).map_err(sql_err)?;
        let mut rows = st.query([]).map_err(sql_err)?;
        let mut names: Option<Vec<String>> = None;
        let mut n = 0;
        while let Some(row) = rows.next().map_err(sql_err)? {
            let names = names.get_or_insert_with(|| row.as_ref().column_names());
            let obj: serde_json::Map<String, serde_json::Value> = names
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let d = row
                        .get_ref(i)
                        .map_or(crate::grid::Datum::Null, super::query::datum);
                    (c.clone(), d.to_json())
                })
                .collect();
            serde_json::to_writer(&mut out, &obj).map_err(|e| out_err(file, e))?;
            out.write_all(b"\n").map_err(|e| out_err(file, e))?;
            n += 1;
        }
        out.flush().map_err(|e| out_err(file, e))?;
        Ok(n)
    }

    /// Every measurement of the runs: (run id, target, metric, value, unit), by run.
    pub fn measurements(&self, runs: &[i64]) -> Result<Vec<MeasurementRow>> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        self.rows(
            &format!(
                "SELECT run_id, target, metric, value, unit FROM measurement
                 WHERE run_id IN ({}) ORDER BY run_id, metric, target",
                id_list(runs)
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
    }
}
