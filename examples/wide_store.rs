//! The floor under a long history's import: DuckDB alone storing the same `series_wide` rows.
//!
//!     cargo run --release --example wide_store -- WAREHOUSE OUT.duckdb
//!
//! Reads the `series_wide` rows of WAREHOUSE (a Locust history imported by perfledger) into
//! memory, then times what the import's store step does with them and nothing else: one
//! transaction on a new database, the rows through DuckDB's appender as Arrow batches of about
//! one feed block (2 MiB of CSV lines, ~10,000 rows), under the feed's own settings
//! (`store::ingest::FEED_SETTINGS`: 32 MB memory limit, one thread), commit and close. `scripts/bench.sh locust` prints it beside the import.
use std::time::Instant;

use duckdb::arrow::record_batch::RecordBatch;
use duckdb::Connection;

/// Rows per appended batch: a feed block of a Locust history (2 MiB / ~193 bytes a line).
const BATCH_ROWS: usize = 10_240;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn rows_of(out: &Connection, warehouse: &str) -> Res<Vec<RecordBatch>> {
    out.execute_batch(&format!(
        "ATTACH '{}' AS src (READ_ONLY);
         CREATE TABLE series_wide AS SELECT * FROM src.series_wide LIMIT 0;",
        warehouse.replace('\'', "''")
    ))?;
    let mut st = out.prepare("SELECT * FROM src.series_wide ORDER BY rowid")?;
    let batches: Vec<RecordBatch> = st.query_arrow([])?.collect();
    drop(st);
    out.execute_batch("DETACH src")?;
    let Some(first) = batches.first() else {
        return Err("the warehouse holds no series_wide rows".into());
    };
    let whole = duckdb::arrow::compute::concat_batches(&first.schema(), &batches)?;
    let n = whole.num_rows();
    Ok((0..n)
        .step_by(BATCH_ROWS)
        .map(|at| whole.slice(at, BATCH_ROWS.min(n - at)))
        .collect())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [warehouse, out] = args.as_slice() else {
        return Err("usage: wide_store WAREHOUSE OUT.duckdb".into());
    };
    for f in [out.clone(), format!("{out}.wal")] {
        let _ = std::fs::remove_file(f);
    }
    let mut db = Connection::open(out)?;
    let batches = rows_of(&db, warehouse)?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let t0 = Instant::now();
    let tx = db.transaction()?;
    tx.execute_batch(perfledger::store::ingest::FEED_SETTINGS)?;
    let mut app = tx.appender("series_wide")?;
    for b in batches {
        app.append_record_batch(b)?;
    }
    app.flush()?;
    drop(app);
    tx.execute_batch(perfledger::store::ingest::FEED_RESET)?;
    let t1 = Instant::now();
    tx.commit()?;
    let t2 = Instant::now();
    drop(db);
    let t3 = Instant::now();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    println!(
        "{rows} rows: {:.0} ms (append {:.0}, commit {:.0}, close {:.0})",
        ms(t3 - t0),
        ms(t1 - t0),
        ms(t2 - t1),
        ms(t3 - t2)
    );
    Ok(())
}
