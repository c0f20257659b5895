//! Reading the lake's files for a sync. A lake as imports leave it holds one small file per
//! run and table (50,000 files for 10,000 runs), and DuckDB's `read_parquet` over a list of
//! files costs about 0.45 ms per file whatever their size or codec (measured on 2,000 `run`
//! files of one row: 0.6-0.9 s on one thread, slower on two). arrow-rs's Parquet reader opens
//! such a file in about 0.1 ms when it is LZ4 (0.4 ms with zstd, whose decoder context it
//! builds per column chunk: why the unit files are written as LZ4_RAW, see
//! [`super::publish::codec_of`]) and runs on every core, so small files are read here and
//! appended to a temporary table through DuckDB's Arrow appender. Compacted files and large
//! ones (a long run's points) are few: DuckDB streams them itself. Files whose columns differ from the first one's (a lake
//! written by several versions) leave the whole set to DuckDB's `union_by_name`.

use std::collections::HashMap;
use std::fs::File;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use duckdb::arrow::array::{ArrayRef, Int64Array, StringArray};
use duckdb::arrow::compute::{filter_record_batch, is_not_null};
use duckdb::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::Connection;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::layout::{parquet_scan, Table};
use super::Entry;
use crate::error::{Error, Result};
use crate::store::sql_err;

/// Rows per Arrow batch of one file (DuckDB takes them in vectors of 2,048).
const BATCH_ROWS: usize = 16_384;

/// Files decoded ahead of the appender, per worker.
const AHEAD: usize = 8;

/// An SQL source of lake files' rows, and the staged table it reads, if any.
#[derive(Debug)]
pub(crate) struct Source {
    pub sql: String,
    staged: Option<String>,
}

impl Source {
    fn duckdb(sql: String) -> Source {
        Source { sql, staged: None }
    }

    /// Drops the staged rows once the statement that reads them ran.
    pub fn release(&self, conn: &Connection) -> Result<()> {
        match &self.staged {
            Some(t) => conn
                .execute_batch(&format!("DROP TABLE IF EXISTS {t};"))
                .map_err(sql_err),
            None => Ok(()),
        }
    }
}

/// An SQL source of the rows of `files` (read from `paths`, the same order) with their
/// columns and a `filename` column, as [`parquet_scan`] gives them: small files staged in the
/// temporary table `f_<tag>`, compacted and large ones scanned by DuckDB.
pub(crate) fn source(
    conn: &Connection,
    tag: &str,
    files: &[Entry],
    paths: &[String],
) -> Result<Source> {
    let (compacted, small) = split(files, paths);
    if small.is_empty() {
        return Ok(Source::duckdb(parquet_scan(&compacted)));
    }
    let Some(staged) = stage(conn, tag, &small)? else {
        return Ok(Source::duckdb(parquet_scan(paths)));
    };
    let sql = if compacted.is_empty() {
        staged.clone()
    } else {
        format!(
            "(SELECT * FROM {staged} UNION ALL BY NAME SELECT * FROM {})",
            parquet_scan(&compacted)
        )
    };
    Ok(Source {
        sql,
        staged: Some(staged),
    })
}

/// Files above this size go to DuckDB, which streams them: a file is decoded whole before it
/// is appended (a long Locust run's points file, 37 MB for 14.7 M points, held 4 GB).
const STAGE_MAX_BYTES: u64 = 1 << 20;

/// Whether DuckDB reads a file itself: compacted files and large ones.
fn for_duckdb(e: &Entry) -> bool {
    e.is_compacted() || e.bytes > STAGE_MAX_BYTES
}

/// The paths of `files` (`paths`, the same order) DuckDB reads, and those read here.
fn split(files: &[Entry], paths: &[String]) -> (Vec<String>, Vec<String>) {
    let (duckdb, here): (Vec<_>, Vec<_>) =
        files.iter().zip(paths).partition(|(e, _)| for_duckdb(e));
    let paths = |v: Vec<(&Entry, &String)>| v.into_iter().map(|(_, p)| p.clone()).collect();
    (paths(duckdb), paths(here))
}

/// One file's rows with its name, or None when its columns are not `want`'s.
type Decoded = Result<Option<Vec<RecordBatch>>>;

/// Reads `paths` into the temporary table `f_<tag>` (typed as DuckDB reads the first file),
/// decoding on every core; its name, or None (and no table) when a file's columns differ from
/// the first's.
fn stage(conn: &Connection, tag: &str, paths: &[String]) -> Result<Option<String>> {
    let table = format!("f_{tag}");
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {} LIMIT 0;",
        parquet_scan(&paths[..1])
    ))
    .map_err(sql_err)?;
    let want = schema_of(&paths[0])?;
    let mut fields: Vec<Field> = want.fields().iter().map(|f| nullable(f)).collect();
    fields.push(Field::new("filename", DataType::Utf8, true));
    let named: SchemaRef = Arc::new(Schema::new(fields));
    let mut app = conn.appender(&table).map_err(sql_err)?;
    let mut flush = Flusher::default();
    let mut same = true;
    on_every_core(
        paths,
        |path| decode(path, &want, &named),
        |r| {
            let Some(batches) = r? else {
                same = false;
                return Ok(false);
            };
            flush.append(&mut app, batches)?;
            Ok(true)
        },
    )?;
    app.flush().map_err(sql_err)?;
    drop(app);
    if !same {
        conn.execute_batch(&format!("DROP TABLE {table};"))
            .map_err(sql_err)?;
        return Ok(None);
    }
    Ok(Some(table))
}

/// Appends the rows of unit files straight into the index table `t.name`, as its `fk` column
/// (the unit's local id, from `ids` by the row's key; rows of other keys are skipped, as the
/// join of the SQL path skips them) and then `t.cols`: decoded on every core, no staged copy
/// and no INSERT from one. Returns the paths left for DuckDB: compacted and large files, files
/// whose columns are not the first small file's, or all of them when the index table's columns
/// are not `fk` and `t.cols`.
pub(crate) fn append_units(
    conn: &Connection,
    t: &Table,
    fk: &str,
    ids: &HashMap<String, i64>,
    files: &[Entry],
    paths: &[String],
) -> Result<Vec<String>> {
    let (mut rest, small) = split(files, paths);
    let Some(first) = small.first() else {
        return Ok(rest);
    };
    let want = schema_of(first)?;
    let Some(shape) = Shape::of(conn, t, fk, &want)? else {
        rest.extend(small);
        return Ok(rest);
    };
    let mut app = conn.appender(t.name).map_err(sql_err)?;
    let mut flush = Flusher::default();
    on_every_core(
        &small,
        |path| {
            shape
                .decode(path, &want, ids)
                .map(|b| (path.to_string(), b))
        },
        |r| {
            match r? {
                (_, Some(batches)) => flush.append(&mut app, batches)?,
                (path, None) => rest.push(path),
            }
            Ok(true)
        },
    )?;
    app.flush().map_err(sql_err)?;
    Ok(rest)
}

/// Where an index table's columns are in a lake file's: the unit key, then the data columns.
struct Shape {
    key: usize,
    cols: Vec<usize>,
    out: SchemaRef,
}

impl Shape {
    /// None when the index table's columns are not `fk` then `t.cols`, or `want` (the first
    /// file's columns) lacks one or holds the key as other than text.
    fn of(conn: &Connection, t: &Table, fk: &str, want: &Schema) -> Result<Option<Shape>> {
        let mut st = conn
            .prepare(
                "SELECT column_name FROM duckdb_columns()
                 WHERE schema_name = 'main' AND table_name = ? AND NOT internal
                 ORDER BY column_index",
            )
            .map_err(sql_err)?;
        let names: Vec<String> = st
            .query_map([t.name], |r| r.get(0))
            .map_err(sql_err)?
            .collect::<std::result::Result<_, _>>()
            .map_err(sql_err)?;
        let expected = std::iter::once(fk).chain(t.cols.iter().copied());
        if !names.iter().map(String::as_str).eq(expected) {
            return Ok(None);
        }
        let Ok(key) = want.index_of(t.key) else {
            return Ok(None);
        };
        if want.field(key).data_type() != &DataType::Utf8 {
            return Ok(None);
        }
        let Ok(cols) = t
            .cols
            .iter()
            .map(|c| want.index_of(c))
            .collect::<std::result::Result<Vec<usize>, _>>()
        else {
            return Ok(None);
        };
        let mut fields = vec![Field::new(fk, DataType::Int64, true)];
        fields.extend(cols.iter().map(|&i| nullable(want.field(i))));
        Ok(Some(Shape {
            key,
            cols,
            out: Arc::new(Schema::new(fields)),
        }))
    }

    /// A file's rows of the units in `ids` as batches of the index table's columns, or None
    /// when its columns are not `want`'s.
    fn decode(&self, path: &str, want: &Schema, ids: &HashMap<String, i64>) -> Decoded {
        read_batches(path, want, |batch| {
            let keys = batch
                .column(self.key)
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or("the unit key is not text")?;
            let fk: Int64Array = keys
                .iter()
                .map(|k| k.and_then(|k| ids.get(k).copied()))
                .collect();
            let mut cols: Vec<ArrayRef> = vec![Arc::new(fk)];
            cols.extend(self.cols.iter().map(|&i| Arc::clone(batch.column(i))));
            let rows = RecordBatch::try_new(Arc::clone(&self.out), cols)?;
            let kept = if rows.column(0).null_count() == 0 {
                rows
            } else {
                filter_record_batch(&rows, &is_not_null(rows.column(0))?)?
            };
            Ok((kept.num_rows() > 0).then_some(kept))
        })
    }
}

/// Runs `decode` over `paths` on every core and hands each result to `take` as it comes (in
/// no fixed order), until the paths run out or `take` returns false.
fn on_every_core<T: Send>(
    paths: &[String],
    decode: impl Fn(&str) -> T + Sync,
    mut take: impl FnMut(T) -> Result<bool>,
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .min(paths.len());
    let (tx, rx) = mpsc::sync_channel::<T>(AHEAD * workers);
    std::thread::scope(|s| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, decode) = (&next, &decode);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = paths.get(i) else { break };
                // a send fails once the taker stopped: nothing more is wanted
                if tx.send(decode(path)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        // rx is moved in and dropped when this returns, so workers blocked on a full queue stop too
        let rx = rx;
        for r in &rx {
            if !take(r)? {
                break;
            }
        }
        Ok(())
    })
}

/// Bytes of Arrow rows appended between two flushes of an appender: DuckDB's appender holds
/// 204,800 rows until it flushes (100 MB of a lake's histograms).
const FLUSH_BYTES: usize = 16 << 20;

/// Appends batches, flushing every [`FLUSH_BYTES`].
#[derive(Default)]
struct Flusher {
    held: usize,
}

impl Flusher {
    fn append(&mut self, app: &mut duckdb::Appender<'_>, batches: Vec<RecordBatch>) -> Result<()> {
        for b in batches {
            self.held += b.get_array_memory_size();
            app.append_record_batch(b).map_err(sql_err)?;
        }
        if self.held > FLUSH_BYTES {
            app.flush().map_err(sql_err)?;
            self.held = 0;
        }
        Ok(())
    }
}

/// A field made nullable whatever the first file said: DuckDB marks a column REQUIRED when
/// the file had no NULL in it (a constant, a NOT NULL column), and the next file may have some.
fn nullable(f: &Field) -> Field {
    f.clone().with_nullable(true)
}

fn open(path: &str) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let file = File::open(path).map_err(|e| Error::Store(format!("{path}: {e}")))?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| Error::Store(format!("{path}: not a readable Parquet file: {e}")))
}

fn schema_of(path: &str) -> Result<SchemaRef> {
    Ok(Arc::clone(open(path)?.schema()))
}

/// The same column names and types in the same order (nullability and metadata aside).
fn same_columns(a: &Schema, b: &Schema) -> bool {
    a.fields().len() == b.fields().len()
        && a.fields()
            .iter()
            .zip(b.fields())
            .all(|(x, y)| x.name() == y.name() && x.data_type() == y.data_type())
}

/// A file's rows as batches of `named` (its columns, then its path as `filename`).
fn decode(path: &str, want: &Schema, named: &SchemaRef) -> Decoded {
    read_batches(path, want, |batch| {
        let n = batch.num_rows();
        let mut cols: Vec<ArrayRef> = batch.columns().to_vec();
        cols.push(Arc::new(StringArray::from_iter_values(
            std::iter::repeat_n(path, n),
        )));
        Ok(Some(RecordBatch::try_new(Arc::clone(named), cols)?))
    })
}

/// What went wrong with one batch of a file.
type BatchError = Box<dyn std::error::Error>;

/// A file's batches as `each` turns them (None: left out), or None when its columns are not
/// `want`'s; errors name the file.
fn read_batches(
    path: &str,
    want: &Schema,
    mut each: impl FnMut(RecordBatch) -> std::result::Result<Option<RecordBatch>, BatchError>,
) -> Decoded {
    let builder = open(path)?;
    if !same_columns(builder.schema(), want) {
        return Ok(None);
    }
    let bad = |e: &dyn std::fmt::Display| Error::Store(format!("{path}: {e}"));
    let reader = builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| bad(&e))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| bad(&e))?;
        if let Some(b) = each(batch).map_err(|e| bad(&e))? {
            out.push(b);
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `sql`'s rows as a Parquet file with `codec`.
    fn write(conn: &Connection, sql: &str, path: &std::path::Path, codec: &str) {
        conn.execute_batch(&format!(
            "COPY ({sql}) TO '{}' (FORMAT parquet, COMPRESSION {codec})",
            path.display()
        ))
        .unwrap();
    }

    /// `a.parquet` and `b.parquet` in `dir` holding `a`'s and `b`'s rows, as LZ4_RAW.
    fn two_files(conn: &Connection, dir: &std::path::Path, a: &str, b: &str) -> [String; 2] {
        [("a", a), ("b", b)].map(|(name, sql)| {
            let p = dir.join(format!("{name}.parquet"));
            write(conn, sql, &p, "lz4_raw");
            p.display().to_string()
        })
    }

    fn entry(rel: &str) -> Entry {
        Entry {
            rel: rel.into(),
            bytes: 0,
            modified: chrono::NaiveDateTime::default(),
        }
    }

    /// Every row of `src` as text, sorted, for comparing two sources.
    fn rows(conn: &Connection, src: &str) -> Vec<String> {
        let mut st = conn
            .prepare(&format!("SELECT CAST(columns(*) AS VARCHAR) FROM {src}"))
            .unwrap();
        let n = st.column_count();
        let mut out: Vec<String> = st
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| r.get::<_, Option<String>>(i).map(Option::unwrap_or_default))
                    .collect::<std::result::Result<Vec<_>, _>>()?
                    .join("|"))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        out.sort();
        out
    }

    #[test]
    fn staged_files_hold_what_duckdb_reads_from_them_for_every_column_type_and_codec() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open_in_memory().unwrap();
        let mut paths = Vec::new();
        for (i, codec) in ["lz4_raw", "zstd", "uncompressed", "lz4_raw"]
            .iter()
            .enumerate()
        {
            let p = dir.path().join(format!("{i}.parquet"));
            // the types the lake's tables have, NULLs among them, and more rows than a batch
            write(
                &conn,
                &format!(
                    "SELECT 'key-{i}' AS run_key, 'GET /a''b' AS target, range AS n,
                        (range * 0.5)::DOUBLE AS value, (range % 3 = 0) AS passed,
                        CASE WHEN range % 7 = 0 THEN NULL ELSE 'x' || range END AS tag,
                        TIMESTAMP '2026-11-01 10:00:00' + to_microseconds(range) AS ts,
                        encode('hdr' || range)::BLOB AS hdr, range::INTEGER AS sid,
                        range::UBIGINT AS queryid
                     FROM range({})",
                    20_000 + i
                ),
                &p,
                codec,
            );
            paths.push(p.display().to_string());
        }
        let files: Vec<Entry> = (0..paths.len())
            .map(|i| entry(&format!("v1/t/tool=x/month=none/{i}.parquet")))
            .collect();
        let src = source(&conn, "t", &files, &paths).unwrap().sql;
        assert_eq!(src, "f_t", "staged, not left to DuckDB");
        assert_eq!(rows(&conn, &src), rows(&conn, &parquet_scan(&paths)));
        assert_eq!(rows(&conn, &src).len(), 4 * 20_000 + 6);
    }

    #[test]
    fn files_of_other_columns_and_compacted_files_are_left_to_duckdb() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open_in_memory().unwrap();
        // an older writer without `unit`
        let mixed = two_files(
            &conn,
            dir.path(),
            "SELECT 'k1' AS run_key, 1.5 AS value",
            "SELECT 'k2' AS run_key, 2.5 AS value, 'ms' AS unit",
        );
        let c = dir.path().join("compact-c.parquet");
        write(&conn, "SELECT 'k3' AS run_key, 3.5 AS value", &c, "zstd");
        let e = |n: &str| entry(&format!("v1/m/tool=x/month=none/{n}"));
        let src = source(&conn, "m", &[e("a.parquet"), e("b.parquet")], &mixed)
            .unwrap()
            .sql;
        assert_eq!(src, parquet_scan(&mixed));
        let got = rows(&conn, &src);
        assert_eq!(got.len(), 2);
        assert!(got.iter().any(|r| r.starts_with("k2|2.5|ms|")), "{got:?}");
        let with_compacted = [mixed[0].clone(), c.display().to_string()];
        let src = source(
            &conn,
            "n",
            &[e("a.parquet"), e("compact-c.parquet")],
            &with_compacted,
        )
        .unwrap()
        .sql;
        assert!(src.contains("f_n UNION ALL BY NAME"), "{src}");
        assert_eq!(
            rows(&conn, &src),
            rows(&conn, &parquet_scan(&with_compacted))
        );
    }

    #[test]
    fn compacted_and_large_files_are_streamed_by_duckdb() {
        let mut e = entry("v1/series_point/tool=locust/month=2026-11/0d25e859.parquet");
        assert!(!for_duckdb(&e));
        e.bytes = STAGE_MAX_BYTES + 1;
        assert!(for_duckdb(&e), "a long run's points file");
        assert!(for_duckdb(&entry(
            "v1/run/tool=k6/month=2026-11/compact-ab12.parquet"
        )));
    }

    #[test]
    fn a_column_required_in_the_first_file_may_be_null_in_the_next() {
        // DuckDB writes a column without NULLs as REQUIRED (seen on the lake's `run` files:
        // `users` of one run given, of the next not)
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open_in_memory().unwrap();
        let paths = two_files(
            &conn,
            dir.path(),
            "SELECT 'k1' AS run_key, 10 AS users",
            "SELECT 'k2' AS run_key, NULL::INTEGER AS users",
        );
        let e = |n: &str| entry(&format!("v1/run/tool=x/month=none/{n}"));
        let src = source(&conn, "r", &[e("a.parquet"), e("b.parquet")], &paths)
            .unwrap()
            .sql;
        assert_eq!(src, "f_r");
        assert_eq!(rows(&conn, &src), rows(&conn, &parquet_scan(&paths)));
    }

    #[test]
    fn a_file_that_is_not_parquet_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open_in_memory().unwrap();
        let good = dir.path().join("good.parquet");
        write(&conn, "SELECT 1 AS x", &good, "lz4_raw");
        // hand-made: a truncated file under a lake name
        let bad = dir.path().join("handmade_truncated.parquet");
        std::fs::write(&bad, b"PAR1 not really").unwrap();
        let paths = [good.display().to_string(), bad.display().to_string()];
        let e = |n: &str| entry(&format!("v1/m/tool=x/month=none/{n}"));
        let err = source(&conn, "b", &[e("good.parquet"), e("bad.parquet")], &paths)
            .unwrap_err()
            .to_string();
        assert!(err.contains("handmade_truncated.parquet"), "{err}");
    }

    /// A measurement-like index table and its lake shape.
    const M: Table = Table {
        name: "m",
        key: "run_key",
        cols: &["target", "value"],
    };

    #[test]
    fn unit_files_go_straight_into_the_index_table_with_their_local_ids() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE m (run_id BIGINT NOT NULL, target VARCHAR NOT NULL, value DOUBLE NOT NULL);")
            .unwrap();
        // columns in another order than the table's; a row of a unit that is not new
        let [a, b] = two_files(
            &conn,
            dir.path(),
            "SELECT 'k1' AS run_key, 1.5::DOUBLE AS value, 'GET /a' AS target UNION ALL SELECT 'old', 9.0, 'GET /x'",
            "SELECT 'k2' AS run_key, (range * 0.25)::DOUBLE AS value, 'GET /b' AS target FROM range(20000)",
        );
        // an older writer's file (other columns) and a large one: DuckDB's
        let c = dir.path().join("c.parquet");
        write(
            &conn,
            "SELECT 'k3' AS run_key, 'GET /c' AS target",
            &c,
            "lz4_raw",
        );
        let c = c.display().to_string();
        let mut big = entry("v1/m/tool=x/month=none/d.parquet");
        big.bytes = STAGE_MAX_BYTES + 1;
        let e = |n: &str| entry(&format!("v1/m/tool=x/month=none/{n}"));
        let files = [e("a.parquet"), e("b.parquet"), e("c.parquet"), big];
        let paths = [a, b, c.clone(), "d.parquet".to_string()];
        let ids: HashMap<String, i64> =
            [("k1".into(), 7), ("k2".into(), 8), ("k3".into(), 9)].into();
        let mut rest = append_units(&conn, &M, "run_id", &ids, &files, &paths).unwrap();
        rest.sort();
        assert_eq!(rest, [c, "d.parquet".to_string()]);
        let got: (i64, i64, i64, f64) = conn
            .query_row(
                "SELECT count(*), count(*) FILTER (run_id = 7 AND target = 'GET /a' AND value = 1.5),
                        count(*) FILTER (run_id = 8 AND target = 'GET /b'), sum(value) FILTER (run_id = 8) FROM m",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        // sum of range(20000) * 0.25 = 0.25 * 19999 * 20000 / 2
        assert_eq!(got, (20_001, 1, 20_000, 49_997_500.0));
    }

    #[test]
    fn an_index_table_of_other_columns_leaves_every_file_to_duckdb() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE m (run_id BIGINT, target VARCHAR, value DOUBLE, unit VARCHAR);",
        )
        .unwrap();
        let paths = two_files(
            &conn,
            dir.path(),
            "SELECT 'k1' AS run_key, 'GET /a' AS target, 1.5 AS value",
            "SELECT 'k2' AS run_key, 'GET /b' AS target, 2.5 AS value",
        );
        let e = |n: &str| entry(&format!("v1/m/tool=x/month=none/{n}"));
        let ids: HashMap<String, i64> = [("k1".into(), 1), ("k2".into(), 2)].into();
        let rest = append_units(
            &conn,
            &M,
            "run_id",
            &ids,
            &[e("a.parquet"), e("b.parquet")],
            &paths,
        )
        .unwrap();
        assert_eq!(rest, paths);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM m", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }
}
