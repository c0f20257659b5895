//! Migrations: the numbered SQL files in `schema/`, embedded in the binary and applied in
//! order, each in its own transaction, with the version recorded in `perfledger_schema`.

use std::path::Path;

use duckdb::{params, Connection};

use super::wh_err;
use crate::error::Result;

/// (version, SQL), in order.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../schema/001_warehouse.sql")),
    (2, include_str!("../../schema/002_analysis.sql")),
    (3, include_str!("../../schema/003_blake3.sql")),
    (4, include_str!("../../schema/004_rekey_legacy.sql")),
    (5, include_str!("../../schema/005_lake.sql")),
    (6, include_str!("../../schema/006_series.sql")),
    (7, include_str!("../../schema/007_db_health.sql")),
    (8, include_str!("../../schema/008_resources.sql")),
    (9, include_str!("../../schema/009_replication.sql")),
    (10, include_str!("../../schema/010_statement_spread.sql")),
    (11, include_str!("../../schema/011_plans.sql")),
    (12, include_str!("../../schema/012_history_index.sql")),
    (13, include_str!("../../schema/013_series_wide.sql")),
];

pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// The schema version recorded in the warehouse, 0 for a file without perfledger's tables.
/// The version table is read first and the catalog asked only when that fails: a lookup by
/// name is ~1 ms, while both a catalog listing (`duckdb_tables()`, `information_schema`) and
/// DuckDB's "did you mean" for a missing table build every default catalog entry (13 ms, once
/// per process, measured) - the price a file without the table still pays.
pub(super) fn schema_version(conn: &Connection) -> Result<i64, duckdb::Error> {
    let read = conn.query_row(
        "SELECT coalesce(max(version), 0) FROM perfledger_schema",
        [],
        |r| r.get(0),
    );
    match read {
        Ok(v) => Ok(v),
        Err(e) => {
            let exists: i64 = conn.query_row(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'perfledger_schema'",
                [],
                |r| r.get(0),
            )?;
            if exists == 0 {
                Ok(0)
            } else {
                Err(e)
            }
        }
    }
}

pub(super) fn check_not_newer(path: &Path, v: i64) -> Result<()> {
    if v > latest_version() {
        return Err(wh_err(
            path,
            format!("it was written by a newer perfledger (schema version {v}; this build knows up to {}): upgrade perfledger", latest_version()),
        ));
    }
    Ok(())
}

/// The BLAKE3 digest of a source file still at `path` with this SHA-256, else None.
fn blake3_if_unchanged(path: &str, sha256: Option<&str>) -> Option<String> {
    let p = Path::new(path);
    let (sha, _) = crate::import::sha256_file(p).ok()?;
    if Some(sha.as_str()) != sha256 {
        return None;
    }
    crate::import::hash_file(p).ok().map(|(b, _)| b)
}

/// Schema 4's data step: BLAKE3 keys for the runs of schemas 1-2 whose files are still there.
fn rekey_legacy(tx: &duckdb::Transaction) -> Result<(), duckdb::Error> {
    let mut runs = tx.prepare(
        "SELECT id, tool, CAST(started_at AS VARCHAR) FROM run WHERE content_key NOT LIKE 'blake3:%'",
    )?;
    let legacy: Vec<(i64, String, Option<String>)> = runs
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut files = tx.prepare("SELECT path, role, sha256 FROM source_file WHERE run_id = ?")?;
    for (id, tool, started) in legacy {
        let sources: Vec<(String, String, Option<String>)> = files
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let digests: Option<Vec<String>> = sources
            .iter()
            .map(|(p, _, sha)| blake3_if_unchanged(p, sha.as_deref()))
            .collect();
        let Some(digests) = digests.filter(|d| !d.is_empty()) else {
            continue;
        };
        // the generic-series importer keys each run by its time as well (import::series)
        let suffix = (tool == "series")
            .then(|| started.map(|s| s.trim_end_matches(".000000").to_string()))
            .flatten();
        let parts: Vec<(String, String)> = sources
            .iter()
            .zip(&digests)
            .map(|((_, role, _), b)| (role.clone(), b.clone()))
            .collect();
        let key = crate::import::content_key_of(&parts, suffix.as_deref());
        for ((p, role, _), b) in sources.iter().zip(&digests) {
            tx.execute(
                "UPDATE source_file SET blake3 = ? WHERE run_id = ? AND path = ? AND role = ?",
                params![b, id, p, role],
            )?;
        }
        tx.execute(
            "UPDATE run SET legacy_key = content_key, content_key = ? WHERE id = ?",
            params![key, id],
        )?;
    }
    Ok(())
}

const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS perfledger_schema (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)";

/// Applies the migrations the warehouse lacks up to `target`, each in its own transaction.
/// A warehouse already there is only read (no statement that writes), so opening one costs
/// one lookup of its version.
pub(super) fn migrate_to(conn: &mut Connection, path: &Path, target: i64) -> Result<()> {
    let current = schema_version(conn).map_err(|e| wh_err(path, e))?;
    check_not_newer(path, current)?;
    if current >= target {
        return Ok(());
    }
    conn.execute_batch(VERSION_TABLE)
        .map_err(|e| wh_err(path, e))?;
    for (version, sql) in MIGRATIONS
        .iter()
        .filter(|(v, _)| *v > current && *v <= target)
    {
        let tx = conn.transaction().map_err(|e| wh_err(path, e))?;
        apply(&tx, path, *version, sql)?;
        tx.commit().map_err(|e| {
            wh_err(
                path,
                format!("migration {version} could not be committed: {e}"),
            )
        })?;
    }
    Ok(())
}

/// Brings a file just created (nothing in it, nobody else can see it) to the latest schema in
/// one transaction: the same statements as [`migrate_to`], without its version lookup and 12
/// commits (~25 ms of a new warehouse's ~110 ms, measured). Each migration keeps its row.
pub(super) fn create_latest(conn: &mut Connection, path: &Path) -> Result<()> {
    let tx = conn.transaction().map_err(|e| wh_err(path, e))?;
    tx.execute_batch(VERSION_TABLE)
        .map_err(|e| wh_err(path, e))?;
    for (version, sql) in MIGRATIONS {
        apply(&tx, path, *version, sql)?;
    }
    tx.commit()
        .map_err(|e| wh_err(path, format!("the new schema could not be committed: {e}")))
}

/// One migration's statements, its data step, and its row in `perfledger_schema`.
fn apply(tx: &duckdb::Transaction, path: &Path, version: i64, sql: &str) -> Result<()> {
    tx.execute_batch(sql)
        .map_err(|e| wh_err(path, format!("migration {version} failed: {e}")))?;
    if version == 4 {
        rekey_legacy(tx).map_err(|e| wh_err(path, format!("migration 4 failed: {e}")))?;
    }
    tx.execute(
        "INSERT INTO perfledger_schema VALUES (?, current_timestamp)",
        params![version],
    )
    .map_err(|e| wh_err(path, e))?;
    Ok(())
}
