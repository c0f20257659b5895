//! pg_stat_statements exports: CSV with a header (`\copy (select * from pg_stat_statements)
//! to ... csv header`) and JSON (`select json_agg(s) from pg_stat_statements s`).
//!
//! Column names of PostgreSQL 13-17 and of 12 and older are both accepted: `total_exec_time`
//! or `total_time` (milliseconds either way). A file carries no time and no server name, so
//! `--at` and `--server` say them (defaults: the file's modification time, server "default").

use std::path::Path;

use serde_json::Value;

use super::text;
use super::{read_text, sources, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{Parsed, ParsedSnapshot, Statement};

pub struct PgssCsv;
pub struct PgssJson;

const TOTAL_TIME: [&str; 2] = ["total_exec_time", "total_time"];
const STDDEV: [&str; 2] = ["stddev_exec_time", "stddev_time"];

fn snapshot(unit: &Unit, opts: &ImportOptions, statements: Vec<Statement>) -> Result<Parsed> {
    let path = &unit.primary;
    let taken_at = opts
        .at
        .or_else(|| text::mtime(path))
        .ok_or_else(|| Error::input(path, None, "no time for this snapshot: pass --at"))?;
    Ok(Parsed::Snapshot(ParsedSnapshot {
        server: opts.server.clone().unwrap_or_else(|| "default".into()),
        taken_at,
        stats_reset: None,
        statements,
        databases: Vec::new(),
        connections: Vec::new(),
        replicas: Vec::new(),
        plans: Vec::new(),
        notes: Vec::new(),
        sources: sources(unit, "pg_stat_statements")?,
    }))
}

fn looks_like_header(line: &str) -> bool {
    let cols: Vec<&str> = line
        .split(',')
        .map(|c| c.trim().trim_matches('"'))
        .collect();
    cols.contains(&"queryid")
        && cols.contains(&"calls")
        && TOTAL_TIME.iter().any(|t| cols.contains(t))
}

impl Importer for PgssCsv {
    fn name(&self) -> &'static str {
        "pg-stat-statements-csv"
    }
    fn tool(&self) -> &'static str {
        "postgres"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        if looks_like_header(p.first_line()) {
            Ok(())
        } else {
            Err(
                "first line is not a pg_stat_statements header (queryid, calls, total_exec_time)"
                    .into(),
            )
        }
    }
    fn parse(&self, unit: &Unit, opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let headers = rdr
            .headers()
            .map_err(|e| Error::input(path, Some(1), format!("bad CSV header: {e}")))?
            .clone();
        let idx = |name: &str| headers.iter().position(|h| h == name);
        let total = TOTAL_TIME.iter().find_map(|t| idx(t));
        let (Some(qi), Some(ci), Some(ti), Some(query_i)) =
            (idx("queryid"), idx("calls"), total, idx("query"))
        else {
            return Err(Error::input(
                path,
                Some(1),
                "expected columns queryid, query, calls and total_exec_time (or total_time)",
            ));
        };
        let mut statements = Vec::new();
        let mut lines = text::Lines::new(&text);
        for rec in rdr.records() {
            let (rec, line) = lines.record(path, rec)?;
            let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).filter(|v| !v.is_empty());
            let int = |name: &str| get(idx(name)).and_then(|v| v.parse::<i64>().ok());
            let calls = get(Some(ci))
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| Error::input(path, line, "expected an integer in calls"))?;
            let total = get(Some(ti))
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| Error::input(path, line, "expected a number in total_exec_time"))?;
            statements.push(Statement {
                queryid: get(Some(qi)).unwrap_or("").to_string(),
                userid: get(idx("userid")).unwrap_or("").to_string(),
                dbid: get(idx("dbid")).unwrap_or("").to_string(),
                toplevel: get(idx("toplevel")).map(|v| v == "t" || v == "true"),
                query: get(Some(query_i)).unwrap_or("").to_string(),
                calls,
                total_exec_time_ms: total,
                rows: int("rows"),
                shared_blks_hit: int("shared_blks_hit"),
                shared_blks_read: int("shared_blks_read"),
                stddev_exec_time_ms: STDDEV
                    .iter()
                    .find_map(|c| get(idx(c)))
                    .and_then(|v| v.parse().ok()),
                extra: crate::model::statement_extra(headers.iter().zip(rec.iter()).map(
                    |(h, v)| {
                        // integers stay integers, as the server's own JSON has them
                        let j = v
                            .parse::<i64>()
                            .map(Value::from)
                            .ok()
                            .or_else(|| {
                                v.parse::<f64>().ok().and_then(|x| {
                                    serde_json::Number::from_f64(x).map(Value::Number)
                                })
                            })
                            .unwrap_or_else(|| Value::String(v.to_string()));
                        (h, j)
                    },
                )),
            });
        }
        check_not_empty(path, &statements)?;
        snapshot(unit, opts, statements)
    }
}

fn check_not_empty(path: &Path, statements: &[Statement]) -> Result<()> {
    if statements.is_empty() {
        Err(Error::no_results(
            path,
            "the export holds no statement (was pg_stat_statements just reset?)",
        ))
    } else {
        Ok(())
    }
}

fn value_string(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// One row of pg_stat_statements as the server's `row_to_json` writes it; None without calls
/// or total time.
pub(super) fn json_row(r: &serde_json::Map<String, Value>) -> Option<Statement> {
    let f = |k: &str| r.get(k).and_then(Value::as_f64);
    let int = |k: &str| r.get(k).and_then(Value::as_i64);
    let total = TOTAL_TIME.iter().find_map(|k| f(k))?;
    Some(Statement {
        queryid: value_string(r.get("queryid")),
        userid: value_string(r.get("userid")),
        dbid: value_string(r.get("dbid")),
        toplevel: r.get("toplevel").and_then(Value::as_bool),
        query: value_string(r.get("query")),
        calls: int("calls")?,
        total_exec_time_ms: total,
        rows: int("rows"),
        shared_blks_hit: int("shared_blks_hit"),
        shared_blks_read: int("shared_blks_read"),
        stddev_exec_time_ms: STDDEV.iter().find_map(|k| f(k)),
        extra: crate::model::statement_extra(r.iter().map(|(k, v)| (k.as_str(), v.clone()))),
    })
}

impl Importer for PgssJson {
    fn name(&self) -> &'static str {
        "pg-stat-statements-json"
    }
    fn tool(&self) -> &'static str {
        "postgres"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let h = p.head.trim_start();
        if h.starts_with('[') && h.contains("\"queryid\"") && h.contains("\"calls\"") {
            Ok(())
        } else {
            Err("not a JSON array of pg_stat_statements rows".into())
        }
    }
    fn parse(&self, unit: &Unit, opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        let rows: Vec<serde_json::Map<String, Value>> =
            serde_json::from_str(&text).map_err(|e| {
                Error::input(
                    path,
                    Some(e.line()),
                    format!("expected a json_agg array of pg_stat_statements rows: {e}"),
                )
            })?;
        let statements = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                json_row(r).ok_or_else(|| {
                    Error::input(
                        path,
                        None,
                        format!("row {} lacks calls or total_exec_time", i + 1),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        check_not_empty(path, &statements)?;
        snapshot(unit, opts, statements)
    }
}
