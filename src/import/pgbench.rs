//! pgbench output: the summary it prints (with `--progress` lines), per-transaction logs
//! (`-l`) and aggregate logs (`-l --aggregate-interval`).
//!
//! Per-transaction log lines: `client_id transaction_no time script_no time_epoch time_us
//! [schedule_lag] [retries]`, `time` in microseconds or `failed` / `skipped`.
//! Aggregate lines (PostgreSQL 15+ prints every column): `interval_start num_transactions
//! sum_latency sum_latency_2 min_latency max_latency sum_lag sum_lag_2 min_lag max_lag skipped
//! retried retries` then the failure columns; only the first six are needed for latency.
//! For pgbench, `requests` counts transactions and `throughput_rps` is tps.

use std::collections::{BTreeMap, BTreeSet};

use super::text::{self, field, field_num};
use super::{read_text, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{
    new_histogram, ErrorCount, Parsed, ParsedRun, SeriesPoint, Target, TargetKind, TOTAL,
};

pub struct PgbenchStdout;
pub struct PgbenchTxLog;
pub struct PgbenchAggregateLog;

impl Importer for PgbenchStdout {
    fn name(&self) -> &'static str {
        "pgbench-stdout"
    }
    fn tool(&self) -> &'static str {
        "pgbench"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let first = p.first_line();
        if first.starts_with("pgbench (")
            || first.starts_with("pgbench: ")
            || p.head.contains("\ntransaction type: ")
        {
            Ok(())
        } else {
            Err(
                "not pgbench's printed summary (no 'pgbench (' banner or 'transaction type:')"
                    .into(),
            )
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        if text.contains("number of transactions actually processed:") {
            text::require_end(
                path,
                &text,
                |l| l.starts_with("tps = ") && l.trim_end().ends_with(')'),
                "pgbench's final 'tps = ... (without initial connection time)' line",
            )?;
        }
        let Some(processed) = field(&text, "number of transactions actually processed:") else {
            let reason = text
                .lines()
                .find(|l| l.starts_with("pgbench: error:") || l.starts_with("pgbench: fatal:"))
                .map_or("no 'number of transactions actually processed' line (the output may be truncated)".to_string(), |l| {
                    format!("pgbench stopped before running: {}", l.trim_start_matches("pgbench: "))
                });
            return Err(Error::no_results(path, reason));
        };
        // "9714" or "100/100"
        let done: f64 = processed
            .split(['/', ' '])
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                Error::input(
                    path,
                    text::line_of(&text, "actually processed"),
                    "expected a transaction count",
                )
            })?;
        let mut run = ParsedRun::new("pgbench", "pgbench-stdout");
        run.tool_version = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("pgbench ("))
            .map(|v| {
                v.split_whitespace()
                    .next()
                    .unwrap_or(v)
                    .trim_end_matches(')')
                    .to_string()
            });
        run.load.connections = field_num(&text, "number of clients:").map(|v| v as i64);
        run.load.threads = field_num(&text, "number of threads:").map(|v| v as i64);
        if let (Some(per), Some(c)) = (
            field_num(&text, "number of transactions per client:"),
            run.load.connections,
        ) {
            run.load.requests_planned = Some(per as i64 * c);
        }
        run.load.target_rate = field_num(&text, "rate limit:");
        let duration = field_num(&text, "duration:");
        let tps =
            field(&text, "tps = ").and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok());
        run.duration_s = duration.or_else(|| tps.filter(|t| *t > 0.0).map(|t| done / t));
        run.ended_at = text::mtime(path);
        run.started_at = match (run.ended_at, run.duration_s) {
            (Some(e), Some(d)) => text::shift(e, -d),
            (e, _) => e,
        };
        run.labels.insert("time_source".into(), "file-mtime".into());
        let failed = field(&text, "number of failed transactions:")
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok());
        let kind = field(&text, "transaction type:").unwrap_or("pgbench");
        let name = kind
            .trim_start_matches("<builtin: ")
            .trim_end_matches('>')
            .to_string();
        let mut t = Target::new(name, TargetKind::Transaction);
        t.set("requests", Some(done), "count")
            .set("failures", failed, "count")
            .set("throughput_rps", tps, "req/s")
            .set(
                "latency_mean_ms",
                field(&text, "latency average = ").and_then(text::duration_ms_spaced),
                "ms",
            )
            .set(
                "latency_stddev_ms",
                field(&text, "latency stddev = ").and_then(text::duration_ms_spaced),
                "ms",
            )
            .set(
                "initial_connection_time_ms",
                field(&text, "initial connection time = ").and_then(text::duration_ms_spaced),
                "ms",
            );
        if let Some(f) = failed.filter(|f| *f > 0.0) {
            run.errors.push(ErrorCount {
                target: t.name.clone(),
                kind: "failure",
                message: "failed transactions".into(),
                count: f as i64,
            });
        }
        progress_series(&text, run.started_at, &mut run.series);
        run.set_single_target(t);
        Ok(Parsed::Runs(vec![run]))
    }
}

/// "progress: 1.0 s, 2286.0 tps, lat 1.668 ms stddev 2.094, 0 failed"
fn progress_series(text: &str, start: Option<chrono::NaiveDateTime>, out: &mut Vec<SeriesPoint>) {
    let Some(start) = start else { return };
    for l in text.lines().filter_map(|l| l.strip_prefix("progress: ")) {
        let words: Vec<&str> = l.split([' ', ',']).filter(|w| !w.is_empty()).collect();
        let after = |w: &str| {
            words
                .iter()
                .position(|x| *x == w)
                .and_then(|i| words.get(i + 1))
                .and_then(|v| v.parse::<f64>().ok())
        };
        let before = |w: &str| {
            words
                .iter()
                .position(|x| *x == w)
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| words[i].parse::<f64>().ok())
        };
        let Some(at) = words.first().and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        let Some(ts) = text::shift(start, at) else {
            continue;
        };
        for (metric, v) in [
            ("throughput_rps", before("tps")),
            ("latency_mean_ms", after("lat")),
            ("latency_stddev_ms", after("stddev")),
            ("failures", before("failed")),
        ] {
            if let Some(value) = v {
                out.push(SeriesPoint {
                    target: TOTAL.into(),
                    ts,
                    metric,
                    value,
                });
            }
        }
    }
}

fn numeric_fields(line: &str) -> Option<Vec<f64>> {
    line.split_whitespace().map(|w| w.parse().ok()).collect()
}

impl Importer for PgbenchTxLog {
    fn name(&self) -> &'static str {
        "pgbench-log"
    }
    fn tool(&self) -> &'static str {
        "pgbench"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let line = p.first_line();
        let w: Vec<&str> = line.split_whitespace().collect();
        let ok = (6..=8).contains(&w.len())
            && w[0].parse::<u64>().is_ok()
            && w[1].parse::<u64>().is_ok()
            && (w[2].parse::<u64>().is_ok() || w[2] == "failed" || w[2] == "skipped")
            && w[4].parse::<u64>().is_ok_and(|e| e > 1_000_000_000)
            && w[5].parse::<u64>().is_ok_and(|us| us < 1_000_000);
        if ok {
            Ok(())
        } else {
            Err("first line is not a pgbench -l per-transaction line".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        let mut h = new_histogram();
        let (mut failed, mut skipped) = (0u64, 0u64);
        let mut clients = BTreeSet::new();
        let mut per_second: BTreeMap<i64, (u64, f64)> = BTreeMap::new();
        let (mut first, mut last) = (f64::INFINITY, f64::NEG_INFINITY);
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let w: Vec<&str> = line.split_whitespace().collect();
            let bad = || {
                Error::input(
                    path,
                    Some(i + 1),
                    "expected 'client_id transaction_no time script_no time_epoch time_us'",
                )
            };
            if w.len() < 6 {
                return Err(bad());
            }
            let epoch: i64 = w[4].parse().map_err(|_| bad())?;
            let us: i64 = w[5].parse().map_err(|_| bad())?;
            clients.insert(w[0]);
            let end = epoch as f64 + us as f64 / 1e6;
            match w[2] {
                "failed" => failed += 1,
                "skipped" => skipped += 1,
                v => {
                    let lat: u64 = v.parse().map_err(|_| bad())?;
                    h.saturating_record(lat.max(1));
                    let e = per_second.entry(epoch).or_default();
                    e.0 += 1;
                    e.1 += lat as f64 / 1000.0;
                    first = first.min(end - lat as f64 / 1e6);
                }
            }
            last = last.max(end);
        }
        if h.is_empty() && failed == 0 {
            return Err(Error::no_results(
                path,
                "the log holds no completed transaction",
            ));
        }
        let mut run = ParsedRun::new("pgbench", "pgbench-log");
        run.started_at = text::epoch(first);
        run.ended_at = text::epoch(last);
        run.load.connections = Some(clients.len() as i64);
        let done = h.len() as f64;
        let mut total = Target::total();
        total
            .set("requests", Some(done), "count")
            .set("failures", Some(failed as f64), "count")
            .set("skipped", Some(skipped as f64), "count")
            .set(
                "throughput_rps",
                (last > first).then(|| done / (last - first)),
                "req/s",
            );
        total.histogram = Some(h);
        run.push_per_second(per_second);
        run.targets.push(total);
        Ok(Parsed::Runs(vec![run]))
    }
}

impl Importer for PgbenchAggregateLog {
    fn name(&self) -> &'static str {
        "pgbench-aggregate-log"
    }
    fn tool(&self) -> &'static str {
        "pgbench"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        match numeric_fields(p.first_line()) {
            Some(f) if f.len() >= 6 && f[0] > 1e9 => Ok(()),
            _ => Err("first line is not a pgbench --aggregate-interval line".into()),
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        let (mut n, mut sum, mut sum2, mut min, mut max) = (0.0, 0.0, 0.0, f64::INFINITY, 0.0f64);
        let mut failures = 0.0;
        let mut run = ParsedRun::new("pgbench", "pgbench-aggregate-log");
        let mut intervals = Vec::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let f = numeric_fields(line)
                .filter(|f| f.len() >= 6)
                .ok_or_else(|| Error::input(path, Some(i + 1), "expected 'interval_start num_transactions sum_latency sum_latency_2 min_latency max_latency ...'"))?;
            let ts = text::epoch(f[0]).ok_or_else(|| {
                Error::input(path, Some(i + 1), "interval_start is not a Unix time")
            })?;
            intervals.push(f[0]);
            // PostgreSQL 15 prints 15 columns, the last two being serialization and deadlock failures.
            let fails = match f.len() {
                15 => f[13] + f[14],
                16 => f[13],
                _ => 0.0,
            };
            failures += fails;
            n += f[1];
            sum += f[2];
            sum2 += f[3];
            if f[1] > 0.0 {
                min = min.min(f[4]);
                max = max.max(f[5]);
            }
            for (metric, value) in [
                ("requests", f[1]),
                (
                    "latency_mean_ms",
                    if f[1] > 0.0 {
                        f[2] / f[1] / 1000.0
                    } else {
                        f64::NAN
                    },
                ),
                ("failures", fails),
            ] {
                if value.is_finite() {
                    run.series.push(SeriesPoint {
                        target: TOTAL.into(),
                        ts,
                        metric,
                        value,
                    });
                }
            }
        }
        if n == 0.0 {
            return Err(Error::no_results(
                path,
                "the aggregate log counts no transaction",
            ));
        }
        let step = if intervals.len() > 1 {
            intervals[1] - intervals[0]
        } else {
            1.0
        };
        let first = intervals.first().copied().unwrap_or(0.0);
        let last = intervals.last().copied().unwrap_or(0.0) + step;
        run.started_at = text::epoch(first);
        run.ended_at = text::epoch(last);
        let mean = sum / n;
        let var = (sum2 / n - mean * mean).max(0.0);
        let mut total = Target::total();
        total
            .set("requests", Some(n), "count")
            .set("failures", Some(failures), "count")
            .set("throughput_rps", Some(n / (last - first)), "req/s")
            .set("latency_mean_ms", Some(mean / 1000.0), "ms")
            .set("latency_stddev_ms", Some(var.sqrt() / 1000.0), "ms")
            .set("latency_min_ms", Some(min / 1000.0), "ms")
            .set("latency_max_ms", Some(max / 1000.0), "ms");
        run.targets.push(total);
        Ok(Parsed::Runs(vec![run]))
    }
}
