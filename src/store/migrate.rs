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
];

pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

pub(super) fn schema_version(conn: &Connection) -> Result<i64, duckdb::Error> {
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

pub(super) fn check_not_newer(path: &Path, v: i64) -> Result<()> {
    if v > latest_version() {
        return Err(wh_err(
            path,
            format!("it was written by a newer perfledger (schema version {v}; this build knows up to {}): upgrade perfledger", latest_version()),
        ));
    }
    Ok(())
}

/// Applies the migrations the warehouse lacks up to `target`, each in its own transaction.
pub(super) fn migrate_to(conn: &mut Connection, path: &Path, target: i64) -> Result<()> {
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
