//! A live pg_stat_statements snapshot (`perfledger snapshot postgres --dsn ...`): PostgreSQL
//! 13-17 column names, and `total_time` of 12 and older, together with
//! `pg_stat_statements_info.stats_reset` where it exists (14+), so resets are known exactly.

use chrono::NaiveDateTime;
use postgres::{Client, NoTls};

use crate::error::{Error, Result};
use crate::model::{ConnectionCount, DatabaseStat, ParsedSnapshot, ReplicaStat, Statement};
use crate::time::epoch;

/// What pg_stat_statements shows of another role's statement without pg_read_all_stats.
const HIDDEN: &str = "<insufficient privilege>";

#[expect(clippy::needless_pass_by_value, reason = "the shape map_err wants")]
fn pg_err(e: postgres::Error) -> Error {
    Error::Source {
        what: "PostgreSQL".into(),
        msg: e.to_string(),
    }
}

/// Server name from the DSN: host:port/dbname.
pub fn server_name(dsn: &str) -> String {
    match dsn.parse::<postgres::Config>() {
        Ok(c) => {
            let host = c
                .get_hosts()
                .first()
                .map_or("localhost".to_string(), |h| match h {
                    postgres::config::Host::Tcp(s) => s.clone(),
                    postgres::config::Host::Unix(p) => p.display().to_string(),
                });
            let port = c.get_ports().first().copied().unwrap_or(5432);
            format!("{host}:{port}/{}", c.get_dbname().unwrap_or("postgres"))
        }
        Err(_) => dsn.to_string(),
    }
}

/// `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` of one statement, in a transaction rolled back
/// after it (ANALYZE executes the statement: an UPDATE's changes must not stay).
fn plan(client: &mut Client, dsn: &str, query: &str) -> Result<crate::model::QueryPlan> {
    let err = |m: String| Error::Source {
        what: format!("PostgreSQL ({dsn})"),
        msg: m,
    };
    let mut tx = client.transaction().map_err(pg_err)?;
    let answer: String = tx
        .query_one(
            &format!(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {}",
                query.trim().trim_end_matches(';')
            ),
            &[],
        )
        .map_err(|e| err(format!("--explain {query}: {e}")))?
        .try_get::<_, serde_json::Value>(0)
        .map(|v| v.to_string())
        .map_err(|e| err(format!("--explain {query}: {e}")))?;
    tx.rollback().map_err(pg_err)?;
    super::explain::parse(query, &answer).map_err(|m| err(format!("--explain {query}: {m}")))
}

/// A live snapshot, with the plans of the statements of `explain`.
pub fn take(dsn: &str, server: Option<String>, explain: &[String]) -> Result<ParsedSnapshot> {
    let mut client = Client::connect(dsn, NoTls).map_err(|e| Error::Source {
        what: format!("PostgreSQL ({dsn})"),
        msg: format!("cannot connect: {e}"),
    })?;
    let cols: Vec<String> = client
        .query(
            "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'pg_stat_statements'",
            &[],
        )
        .map_err(pg_err)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if cols.is_empty() {
        return Err(Error::Source {
            what: format!("PostgreSQL ({dsn})"),
            msg: "pg_stat_statements is not available: add it to shared_preload_libraries and run CREATE EXTENSION pg_stat_statements".into(),
        });
    }
    let has = |c: &str| cols.iter().any(|x| x == c);
    let total = if has("total_exec_time") {
        "total_exec_time"
    } else {
        "total_time"
    };
    let toplevel = if has("toplevel") {
        "toplevel"
    } else {
        "NULL::bool"
    };
    let stddev = if has("stddev_exec_time") {
        "stddev_exec_time"
    } else {
        "stddev_time"
    };
    // every column the server has: the known ones typed, the rest as JSON
    let sql = format!(
        "SELECT coalesce(queryid::text, ''), userid::text, dbid::text, {toplevel}, coalesce(query, ''), calls, {total}::float8,
                rows, shared_blks_hit, shared_blks_read, {stddev}::float8, row_to_json(s)::text
         FROM pg_stat_statements s"
    );
    let rows = client.query(&sql, &[]).map_err(pg_err)?;
    let mut notes = Vec::new();
    let all = rows
        .iter()
        .map(|r| Statement {
            queryid: r.get(0),
            userid: r.get(1),
            dbid: r.get(2),
            toplevel: r.get(3),
            query: r.get(4),
            calls: r.get(5),
            total_exec_time_ms: r.get(6),
            rows: r.get(7),
            shared_blks_hit: r.get(8),
            shared_blks_read: r.get(9),
            stddev_exec_time_ms: r.get(10),
            extra: r
                .get::<_, Option<String>>(11)
                .and_then(|j| {
                    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&j).ok()
                })
                .and_then(|m| {
                    crate::model::statement_extra(m.iter().map(|(k, v)| (k.as_str(), v.clone())))
                }),
        })
        .collect();
    let statements = visible(all, &mut notes);
    let now: f64 = client
        .query_one("SELECT extract(epoch FROM clock_timestamp())::float8", &[])
        .map_err(pg_err)?
        .get(0);
    let stats_reset: Option<NaiveDateTime> = client
        .query_opt(
            "SELECT extract(epoch FROM stats_reset)::float8 FROM pg_stat_statements_info",
            &[],
        )
        .ok()
        .flatten()
        .and_then(|r| r.get::<_, Option<f64>>(0))
        .and_then(epoch);
    let databases = databases(&mut client)?;
    let connections = connections(&mut client)?;
    hidden_states(&connections, &mut notes);
    let replicas = replicas(&mut client)?;
    let plans = explain
        .iter()
        .map(|q| plan(&mut client, dsn, q))
        .collect::<Result<Vec<_>>>()?;
    Ok(ParsedSnapshot {
        databases,
        connections,
        replicas,
        plans,
        notes,
        server: server.unwrap_or_else(|| server_name(dsn)),
        taken_at: epoch(now).ok_or_else(|| Error::Source {
            what: format!("PostgreSQL ({dsn})"),
            msg: "server clock out of range".into(),
        })?,
        stats_reset,
        statements,
        sources: Vec::new(),
    })
}

/// Other roles' statements read as "<insufficient privilege>" without pg_read_all_stats, with
/// no queryid: they cannot be told apart, so they are left out and said.
pub(super) fn visible(all: Vec<Statement>, notes: &mut Vec<String>) -> Vec<Statement> {
    let (hidden, shown): (Vec<_>, Vec<_>) = all.into_iter().partition(|s| s.query == HIDDEN);
    if !hidden.is_empty() {
        notes.push(format!(
            "{} statement(s) of other roles ({:.1} ms of execution time) are hidden from this role and left out: GRANT pg_read_all_stats TO it",
            hidden.len(),
            hidden.iter().map(|s| s.total_exec_time_ms).sum::<f64>()
        ));
    }
    shown
}

/// Without pg_read_all_stats other roles' sessions show no state (see `connections`).
pub(super) fn hidden_states(connections: &[ConnectionCount], notes: &mut Vec<String>) {
    if connections.iter().any(|c| c.state.starts_with("unknown")) {
        notes.push("the states of other roles' connections are hidden from this role (counted as unknown): GRANT pg_read_all_stats TO it".into());
    }
}

/// pg_stat_database, one row per database (the shared-objects row, datname NULL, left out):
/// readable by every role, so this never fails on privileges.
fn databases(client: &mut Client) -> Result<Vec<DatabaseStat>> {
    let rows = client
        .query(
            "SELECT datname::text, xact_commit, xact_rollback, blks_read, blks_hit, temp_files, temp_bytes,
                    deadlocks, extract(epoch FROM stats_reset)::float8
             FROM pg_stat_database WHERE datname IS NOT NULL ORDER BY datname",
            &[],
        )
        .map_err(pg_err)?;
    Ok(rows
        .iter()
        .map(|r| DatabaseStat {
            datname: r.get(0),
            xact_commit: r.get(1),
            xact_rollback: r.get(2),
            blks_read: r.get(3),
            blks_hit: r.get(4),
            temp_files: r.get(5),
            temp_bytes: r.get(6),
            deadlocks: r.get(7),
            stats_reset: r.get::<_, Option<f64>>(8).and_then(epoch),
        })
        .collect())
}

/// The standbys streaming from this server (none on a standby or a lone server). Lags are
/// NULL once a standby has caught up and no WAL has come since (PostgreSQL's own rule): the
/// WAL bytes between what was sent and what was replayed say whether it has.
fn replicas(client: &mut Client) -> Result<Vec<ReplicaStat>> {
    let rows = client
        .query(
            "SELECT coalesce(application_name, '')::text, client_addr::text, state::text, sync_state::text,
                    (extract(epoch FROM write_lag) * 1000)::float8,
                    (extract(epoch FROM flush_lag) * 1000)::float8,
                    (extract(epoch FROM replay_lag) * 1000)::float8,
                    pg_wal_lsn_diff(sent_lsn, replay_lsn)::bigint
             FROM pg_stat_replication ORDER BY application_name, client_addr",
            &[],
        )
        .map_err(pg_err)?;
    Ok(rows
        .iter()
        .map(|r| ReplicaStat {
            application_name: r.get(0),
            client_addr: r.get(1),
            state: r.get(2),
            sync_state: r.get(3),
            write_lag_ms: r.get(4),
            flush_lag_ms: r.get(5),
            replay_lag_ms: r.get(6),
            lag_bytes: r.get(7),
        })
        .collect())
}

/// Client connections by state against max_connections, this session left out (it is the
/// snapshot, not the load). Without pg_read_all_stats other roles' sessions show neither
/// their backend type nor their state: a session in a database with a user counts as a
/// client's, as "unknown (no pg_read_all_stats)".
fn connections(client: &mut Client) -> Result<Vec<ConnectionCount>> {
    let max: i64 = client
        .query_one(
            "SELECT setting::bigint FROM pg_settings WHERE name = 'max_connections'",
            &[],
        )
        .map_err(pg_err)?
        .get(0);
    let rows = client
        .query(
            "SELECT coalesce(state, 'unknown (no pg_read_all_stats)'), count(*)
             FROM pg_stat_activity
             -- another role's session shows no backend_type without pg_read_all_stats: a
             -- session in a database (datid) with a user is a client's then
             WHERE (backend_type = 'client backend'
                    OR (backend_type IS NULL AND datid IS NOT NULL AND usesysid IS NOT NULL))
               AND pid <> pg_backend_pid()
             GROUP BY 1 ORDER BY 1",
            &[],
        )
        .map_err(pg_err)?;
    Ok(rows
        .iter()
        .map(|r| ConnectionCount {
            state: r.get(0),
            count: r.get(1),
            max_connections: max,
        })
        .collect())
}
