//! Database health from a file: the JSON object `scripts/pg_health_export.sql` writes (psql
//! `-XAtq -f`), holding what `snapshot postgres` takes live (pg_stat_statements,
//! pg_stat_database, client connections by state against max_connections,
//! pg_stat_replication, optionally one statement's `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`)
//! with the server's own clock and name. For a server perfledger cannot reach, or snapshots
//! taken by cron; `--at` and `--server` override the file's time and name.
//!
//! The same rules as live: statements hidden from the exporting role are left out with a
//! note, connection states it cannot see are counted as unknown and said.

use serde_json::{Map, Value};

use super::{read_text, sources, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{ConnectionCount, DatabaseStat, Parsed, ParsedSnapshot, ReplicaStat};

pub struct PgHealthJson;

/// The layout versions this reader knows.
const VERSION: &str = "pg-health/1";
const MARKER: &str = "\"perfledger_export\"";

type Row = Map<String, Value>;

fn rows<'a>(doc: &'a Row, key: &str) -> impl Iterator<Item = &'a Row> {
    doc.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

fn int(r: &Row, k: &str) -> i64 {
    r.get(k).and_then(Value::as_i64).unwrap_or(0)
}

fn text(r: &Row, k: &str) -> Option<String> {
    r.get(k).and_then(Value::as_str).map(str::to_string)
}

fn databases(doc: &Row) -> Vec<DatabaseStat> {
    rows(doc, "pg_stat_database")
        .filter_map(|r| {
            Some(DatabaseStat {
                datname: text(r, "datname")?,
                xact_commit: int(r, "xact_commit"),
                xact_rollback: int(r, "xact_rollback"),
                blks_read: int(r, "blks_read"),
                blks_hit: int(r, "blks_hit"),
                temp_files: int(r, "temp_files"),
                temp_bytes: int(r, "temp_bytes"),
                deadlocks: int(r, "deadlocks"),
                stats_reset: text(r, "stats_reset").and_then(|t| crate::time::parse_time(&t)),
            })
        })
        .collect()
}

fn connections(doc: &Row, max_connections: i64) -> Vec<ConnectionCount> {
    rows(doc, "connections")
        .filter_map(|r| {
            Some(ConnectionCount {
                state: text(r, "state")?,
                count: int(r, "count"),
                max_connections,
            })
        })
        .collect()
}

fn replicas(doc: &Row) -> Vec<ReplicaStat> {
    let ms = |r: &Row, k: &str| r.get(k).and_then(Value::as_f64);
    rows(doc, "pg_stat_replication")
        .map(|r| ReplicaStat {
            application_name: text(r, "application_name").unwrap_or_default(),
            client_addr: text(r, "client_addr"),
            state: text(r, "state"),
            sync_state: text(r, "sync_state"),
            write_lag_ms: ms(r, "write_lag_ms"),
            flush_lag_ms: ms(r, "flush_lag_ms"),
            replay_lag_ms: ms(r, "replay_lag_ms"),
            lag_bytes: r.get("lag_bytes").and_then(Value::as_i64),
        })
        .collect()
}

fn plans(path: &std::path::Path, doc: &Row) -> Result<Vec<crate::model::QueryPlan>> {
    rows(doc, "plans")
        .map(|r| {
            let query = text(r, "query").unwrap_or_default();
            let answer = r.get("explain").map(Value::to_string).unwrap_or_default();
            super::explain::parse(&query, &answer)
                .map_err(|m| Error::input(path, None, format!("plan of '{query}': {m}")))
        })
        .collect()
}

impl Importer for PgHealthJson {
    fn name(&self) -> &'static str {
        "pg-health-json"
    }
    fn tool(&self) -> &'static str {
        "postgres"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let h = p.head.trim_start();
        if h.starts_with('{') && h[..h.len().min(200)].contains(MARKER) {
            Ok(())
        } else {
            Err("not a perfledger database-health export (scripts/pg_health_export.sql)".into())
        }
    }
    fn parse(&self, unit: &Unit, opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let doc: Row = serde_json::from_str(&read_text(path)?).map_err(|e| {
            Error::input(
                path,
                Some(e.line()),
                format!("expected the JSON object of pg_health_export.sql: {e}"),
            )
        })?;
        let version = text(&doc, "perfledger_export").unwrap_or_default();
        if version != VERSION {
            return Err(Error::input(
                path,
                Some(1),
                format!("export layout '{version}': this perfledger reads '{VERSION}' (a newer perfledger wrote it?)"),
            ));
        }
        let taken_at = opts
            .at
            .or_else(|| {
                doc.get("taken_at")
                    .and_then(Value::as_f64)
                    .and_then(crate::time::epoch)
            })
            .ok_or_else(|| Error::input(path, Some(1), "expected taken_at (epoch seconds)"))?;
        let mut notes = Vec::new();
        let all = rows(&doc, "pg_stat_statements")
            .enumerate()
            .map(|(i, r)| {
                super::pgss::json_row(r).ok_or_else(|| {
                    Error::input(
                        path,
                        None,
                        format!(
                            "pg_stat_statements row {} lacks calls or total_exec_time",
                            i + 1
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let statements = super::pg_live::visible(all, &mut notes);
        let max_connections = doc
            .get("max_connections")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let connections = connections(&doc, max_connections);
        super::pg_live::hidden_states(&connections, &mut notes);
        let databases = databases(&doc);
        if statements.is_empty() && databases.is_empty() {
            return Err(Error::no_results(
                path,
                "the export holds neither statements nor databases",
            ));
        }
        Ok(Parsed::Snapshot(ParsedSnapshot {
            server: opts
                .server
                .clone()
                .or_else(|| text(&doc, "server"))
                .unwrap_or_else(|| "default".into()),
            taken_at,
            stats_reset: doc
                .get("stats_reset")
                .and_then(Value::as_f64)
                .and_then(crate::time::epoch),
            statements,
            databases,
            connections,
            replicas: replicas(&doc),
            plans: plans(path, &doc)?,
            notes,
            sources: sources(unit, "pg-health-export")?,
        }))
    }
}
