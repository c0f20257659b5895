//! PostgreSQL's own statement log, for query-time percentiles (pg_stat_statements has none):
//! the `jsonlog` (PostgreSQL 15+) and `csvlog` files a server writes with
//! `log_min_duration_statement = 0`, read as pgBadger reads them: every `duration: X ms
//! statement: ...` or `duration: X ms  execute <name>: ...` line is one execution (the
//! extended protocol's `parse` and `bind` lines are steps of an execution, not executions).
//!
//! Each normalised statement is a target with a histogram of its durations (`latency_*_ms`
//! are query times, `requests` its executions, `throughput_rps` per second of the log's
//! span), TOTAL all of them together. Statements are told apart by `query_id` where the log
//! has one (PostgreSQL 14+ with `compute_query_id`, on whenever pg_stat_statements is loaded:
//! the same id as its `queryid`, kept as the target's tag) and otherwise by their normalised
//! text; the text is normalised as pg_stat_statements writes it, literals replaced by `$1`,
//! `$2`... in order, so a target is named like the statement of a snapshot. The run spans the
//! first execution's start (its log time minus its duration) to the last one's end. Log times
//! must be in UTC (`log_timezone = 'UTC'`) or carry a numeric offset. Percentiles are numpy's
//! `linear` (pgBadger prints none per statement), from the histogram (<= 1% error).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDateTime;
use serde_json::Value;

use super::{read_text, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{self, new_histogram, Parsed, ParsedRun, Target, TargetKind};

pub struct PgJsonLog;
pub struct PgCsvLog;

/// One execution: when it ended, how long it took, which statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub end: NaiveDateTime,
    pub ms: f64,
    pub query_id: Option<i64>,
    pub text: String,
}

/// `duration: 1.519 ms  statement: SELECT ...` -> (1.519, "SELECT ..."); None for other
/// messages and for `parse`/`bind` steps.
pub fn duration_message(msg: &str) -> Option<(f64, &str)> {
    let rest = msg.strip_prefix("duration: ")?;
    let (num, rest) = rest.split_once(" ms")?;
    let ms: f64 = num
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
    let rest = rest.trim_start();
    if let Some(q) = rest.strip_prefix("statement: ") {
        return Some((ms, q));
    }
    let q = rest.strip_prefix("execute ")?;
    let (_, q) = q.split_once(": ")?;
    Some((ms, q))
}

/// The statement as pg_stat_statements writes it: number and string literals as `$1`, `$2`,
/// ... in order, whitespace runs as one space, no trailing semicolon.
pub fn normalise(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut n = 0;
    let chars: Vec<char> = sql
        .trim()
        .trim_end_matches(';')
        .trim_end()
        .chars()
        .collect();
    let mut i = 0;
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // a string literal, '' inside it escaped
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i += 1;
            n += 1;
            out.push_str(&format!("${n}"));
            continue;
        }
        let prev_ident = out.chars().last().is_some_and(ident);
        if c.is_ascii_digit() && !prev_ident {
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            n += 1;
            out.push_str(&format!("${n}"));
            continue;
        }
        if c.is_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
            i += 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// `2026-12-02 01:56:10.951 UTC` (or `+01`, `+05:30`) as UTC.
pub fn log_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    let (t, zone) = s.rsplit_once(' ')?;
    let t = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f").ok()?;
    match zone {
        "UTC" | "GMT" | "Z" => Some(t),
        z if z.starts_with(['+', '-']) => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (h, m) = z[1..].split_once(':').unwrap_or((&z[1..], "0"));
            let off = sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60);
            Some(t - chrono::Duration::seconds(off))
        }
        _ => None,
    }
}

fn zone_err(path: &Path, line: usize, t: &str) -> Error {
    Error::input(
        path,
        Some(line),
        format!("log time '{t}': expected UTC or a numeric offset (set log_timezone = 'UTC')"),
    )
}

/// A run of the executions: one target per statement (by query id, else by text).
fn run_of(format: &'static str, execs: Vec<Execution>, path: &Path) -> Result<Parsed> {
    if execs.is_empty() {
        return Err(Error::no_results(
            path,
            "no 'duration: ... statement:' lines: log with log_min_duration_statement = 0",
        ));
    }
    // statement key -> (query id, normalised text, (end, ms) of each execution)
    type Statement = (Option<i64>, String, Vec<(NaiveDateTime, f64)>);
    let mut by: BTreeMap<String, Statement> = BTreeMap::new();
    for e in execs {
        let text = normalise(&e.text);
        let key = match e.query_id {
            Some(id) => format!("id:{id}"),
            None => format!("text:{text}"),
        };
        by.entry(key)
            .or_insert_with(|| (e.query_id, text, Vec::new()))
            .2
            .push((e.end, e.ms));
    }
    let mut run = ParsedRun::new("postgres", format);
    // the log has every duration: numpy's "linear" percentile, as a reviewer would compute it
    run.percentile_rule = model::PercentileRule::LinearBetweenRanks;
    let mut total_h = new_histogram();
    let mut per_second: BTreeMap<i64, (u64, f64)> = BTreeMap::new();
    let (mut first, mut last): (Option<NaiveDateTime>, Option<NaiveDateTime>) = (None, None);
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let mut targets = Vec::new();
    for (_, (qid, text, runs)) in by {
        let mut h = new_histogram();
        for (end, ms) in &runs {
            model::record_ms(&mut h, *ms, 1);
            model::record_ms(&mut total_h, *ms, 1);
            let start = crate::time::shift(*end, -ms / 1000.0).unwrap_or(*end);
            first = Some(first.map_or(start, |f| f.min(start)));
            last = Some(last.map_or(*end, |l| l.max(*end)));
            let e = per_second.entry(end.and_utc().timestamp()).or_default();
            e.0 += 1;
            e.1 += ms;
        }
        // two ids with one text (another user or database): the name stays unique
        let k = names.entry(text.clone()).or_default();
        *k += 1;
        let name = if *k > 1 {
            format!("{text} [{k}]")
        } else {
            text
        };
        let mut t = Target::new(name, TargetKind::Transaction);
        if let Some(id) = qid {
            t.tags = Some(BTreeMap::from([("queryid".to_string(), id.to_string())]));
        }
        t.set("requests", Some(runs.len() as f64), "count");
        t.histogram = Some(h);
        targets.push(t);
    }
    let span = match (first, last) {
        (Some(a), Some(b)) => (b - a).num_microseconds().unwrap_or(0) as f64 / 1e6,
        _ => 0.0,
    };
    let mut total = Target::total();
    total.set("requests", Some(total_h.len() as f64), "count");
    total.histogram = Some(total_h);
    if span > 0.0 {
        for t in targets.iter_mut().chain(std::iter::once(&mut total)) {
            let n = t.get("requests").unwrap_or(0.0);
            t.set("throughput_rps", Some(n / span), "req/s");
        }
    }
    run.started_at = first;
    run.ended_at = last;
    run.targets.push(total);
    run.targets.extend(targets);
    run.push_per_second(per_second);
    Ok(Parsed::Runs(vec![run]))
}

impl Importer for PgJsonLog {
    fn name(&self) -> &'static str {
        "postgres-jsonlog"
    }
    fn tool(&self) -> &'static str {
        "postgres"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let l = p.first_line();
        if l.starts_with('{') && l.contains("\"error_severity\"") && l.contains("\"timestamp\"") {
            Ok(())
        } else {
            Err("not a PostgreSQL jsonlog line (timestamp, error_severity, message)".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        let mut execs = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line).map_err(|e| {
                Error::input(
                    path,
                    Some(i + 1),
                    format!("expected one JSON object per line (a jsonlog entry): {e}"),
                )
            })?;
            let Some((ms, q)) = v
                .get("message")
                .and_then(Value::as_str)
                .and_then(duration_message)
            else {
                continue;
            };
            let ts = v.get("timestamp").and_then(Value::as_str).unwrap_or("");
            let end = log_time(ts).ok_or_else(|| zone_err(path, i + 1, ts))?;
            execs.push(Execution {
                end,
                ms,
                query_id: v
                    .get("query_id")
                    .and_then(Value::as_i64)
                    .filter(|q| *q != 0),
                text: q.to_string(),
            });
        }
        run_of(self.name(), execs, path)
    }
}

/// csvlog's columns (PostgreSQL 13-17): log_time first, message 14th, query_id last (14+).
const CSV_MESSAGE: usize = 13;
const CSV_MIN_COLUMNS: usize = 23;

impl Importer for PgCsvLog {
    fn name(&self) -> &'static str {
        "postgres-csvlog"
    }
    fn tool(&self) -> &'static str {
        "postgres"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(p.head.as_bytes());
        let ok = r
            .records()
            .next()
            .and_then(std::result::Result::ok)
            .is_some_and(|rec| {
                rec.len() >= CSV_MIN_COLUMNS
                    && log_time(&rec[0]).is_some()
                    && [
                        "LOG",
                        "ERROR",
                        "WARNING",
                        "FATAL",
                        "PANIC",
                        "NOTICE",
                        "INFO",
                        "DEBUG1",
                        "STATEMENT",
                    ]
                    .contains(&&rec[11])
            });
        if ok {
            Ok(())
        } else {
            Err("not a PostgreSQL csvlog row (log_time, ..., error_severity, ..., message)".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut execs = Vec::new();
        for rec in r.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map(|p| p.line() as usize);
                Error::input(path, line, format!("expected csvlog rows: {e}"))
            })?;
            let line = rec.position().map_or(0, |p| p.line() as usize);
            if rec.len() < CSV_MIN_COLUMNS {
                return Err(Error::input(path, Some(line), format!("{} columns: expected at least {CSV_MIN_COLUMNS} (csvlog of PostgreSQL 13+)", rec.len())));
            }
            let Some((ms, q)) = duration_message(&rec[CSV_MESSAGE]) else {
                continue;
            };
            let end = log_time(&rec[0]).ok_or_else(|| zone_err(path, line, &rec[0]))?;
            let query_id = (rec.len() >= 26)
                .then(|| rec[rec.len() - 1].parse::<i64>().ok())
                .flatten()
                .filter(|q| *q != 0);
            execs.push(Execution {
                end,
                ms,
                query_id,
                text: q.to_string(),
            });
        }
        run_of(self.name(), execs, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_normalise_as_pg_stat_statements_writes_them() {
        assert_eq!(
            normalise("SELECT abalance FROM pgbench_accounts WHERE aid = 40969;"),
            "SELECT abalance FROM pgbench_accounts WHERE aid = $1"
        );
        assert_eq!(
            normalise("UPDATE t  SET a = 'it''s', b = 2.5\n WHERE c1 = 7"),
            "UPDATE t SET a = $1, b = $2 WHERE c1 = $3"
        );
    }

    #[test]
    fn durations_of_executions_only() {
        assert_eq!(
            duration_message("duration: 1.519 ms  statement: SELECT 1"),
            Some((1.519, "SELECT 1"))
        );
        assert_eq!(
            duration_message("duration: 0.050 ms  execute <unnamed>: SELECT $1"),
            Some((0.05, "SELECT $1"))
        );
        assert_eq!(
            duration_message("duration: 0.010 ms  parse <unnamed>: SELECT 1"),
            None
        );
        assert_eq!(duration_message("checkpoint complete"), None);
        assert_eq!(
            log_time("2026-12-02 02:56:10.951 +01"),
            log_time("2026-12-02 01:56:10.951 UTC")
        );
    }
}
