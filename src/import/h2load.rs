//! h2load (nghttp2's benchmarking tool, <https://nghttp2.org/documentation/h2load.1.html>; the
//! fixtures are nghttp2/1.52.0): its printed output and its `--log-file` per-request TSV.
//!
//! Neither names the URL or the h2load version (h2load prints its version only for
//! `--version`): the run has one target, TOTAL.
//!
//! The printed output: `requests` is h2load's `N total`, `failures` its `N failed` (HTTP 4xx
//! and 5xx responses, and the `errored` requests: connection and stream errors, including the
//! requests never issued because the connection failed); 2xx and 3xx count as succeeded, as
//! h2load counts them. The error table has the `4xx`/`5xx` classes of `status codes:` (h2load
//! prints no single codes) and the errored and timed-out requests. h2load prints no
//! percentiles: the `time for request:` row gives min, max, mean and sd (h2load's population
//! standard deviation), each cell in its own unit (`108us`, `11.68ms`, `1.02s`); the mean of
//! `time for connect:` and `time to 1st byte:` (per client) are `h2load_connect_mean_ms` and
//! `h2load_ttfb_mean_ms`. `traffic:` gives the exact byte count in brackets. The load
//! profile comes from the `spawning thread #i: C total client(s). N total requests` lines
//! (threads, clients as connections, requests). The output states no time: the run has the
//! file's modification time (`time_source=file-mtime`). Where it ends: the `req/s` row, the
//! last; a file that stops before that row is whole is refused as truncated.
//!
//! The log: one row per request, `start (µs since the Unix epoch)\tstatus\tduration (µs)`,
//! status `-1` for a request whose stream failed (no response). The responses give the
//! histogram (h2load has no percentile rule of its own: the nearest rank), the per-second
//! series (by start second) and the start and end of the run; failed streams count as
//! requests and failures, not in the latencies (h2load leaves them out of `time for
//! request` too). `failures` are the failed streams and the 4xx/5xx responses, each code in
//! the error table. `throughput_rps` is the responses per second from the first start to
//! the last end, which is a little shorter than h2load's `finished in`.

use std::collections::BTreeMap;
use std::path::Path;

use super::text::{self, field};
use super::{read_text, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{self, new_histogram, ErrorCount, Parsed, ParsedRun, Target, TOTAL};

pub struct H2loadText;
pub struct H2loadLog;

/// `1000 total, 1000 started, ...` -> {"total": 1000, "started": 1000, ...}.
fn counts(line: &str) -> BTreeMap<String, f64> {
    line.split(',')
        .filter_map(|part| {
            let mut it = part.split_whitespace();
            let n: f64 = it.next()?.parse().ok()?;
            Some((it.next()?.to_string(), n))
        })
        .collect()
}

/// A row of the stats table (`time for request:  1.08ms  29.33ms  7.44ms  5.74ms  41.40%`):
/// min, max, mean, sd in ms; None unless all five cells are there.
fn time_row(text: &str, label: &str) -> Option<[f64; 4]> {
    let cells: Vec<&str> = field(text, label)?.split_whitespace().collect();
    if cells.len() != 5 || !cells[4].ends_with('%') {
        return None;
    }
    let mut out = [0.0; 4];
    for (o, c) in out.iter_mut().zip(&cells) {
        *o = text::duration_ms(c)?;
    }
    Some(out)
}

/// The `req/s` row is whole: five numbers, the last a percentage.
fn last_row_whole(text: &str) -> bool {
    text.lines()
        .filter_map(|l| l.strip_prefix("req/s"))
        .filter_map(|rest| rest.trim_start().strip_prefix(':'))
        .any(|cells| {
            let c: Vec<&str> = cells.split_whitespace().collect();
            c.len() == 5
                && c[4]
                    .strip_suffix('%')
                    .is_some_and(|p| p.parse::<f64>().is_ok())
        })
}

impl Importer for H2loadText {
    fn name(&self) -> &'static str {
        "h2load-text"
    }
    fn tool(&self) -> &'static str {
        "h2load"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let h = p.head.trim_start();
        if h.starts_with("starting benchmark...")
            && (h.contains("\nspawning thread #") || h.contains("\nfinished in "))
        {
            Ok(())
        } else {
            Err("no h2load 'starting benchmark...' and 'spawning thread #' lines".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        parse_text(path, &text).map(|r| Parsed::Runs(vec![r]))
    }
}

fn parse_text(path: &Path, text: &str) -> Result<ParsedRun> {
    if !last_row_whole(text) {
        return Err(text::truncated(
            path,
            text,
            "h2load's stats table down to its last row 'req/s :'",
        ));
    }
    let req = counts(text::require(
        path,
        text,
        field(text, "requests:"),
        "'requests: N total, ...'",
    )?);
    let (total, failed) = text::require(
        path,
        text,
        req.get("total").zip(req.get("failed")),
        "'N total' and 'N failed' after 'requests:'",
    )?;
    let mut run = ParsedRun::new("h2load", "h2load-text");
    run.started_at = text::mtime(path);
    run.labels.insert("time_source".into(), "file-mtime".into());
    load_profile(&mut run, text);
    let finished = text::require(path, text, field(text, "finished in"), "'finished in ...'")?;
    let mut parts = finished.split(',').map(str::trim);
    run.duration_s = parts
        .next()
        .and_then(text::duration_ms)
        .map(|ms| ms / 1000.0);
    let rps = parts
        .next()
        .and_then(|p| p.strip_suffix("req/s")?.trim().parse().ok());
    let mut t = Target::total();
    t.set("requests", Some(*total), "count")
        .set("failures", Some(*failed), "count")
        .set("throughput_rps", rps, "req/s")
        .set(
            "bytes_received",
            field(text, "traffic:").and_then(traffic_bytes),
            "bytes",
        );
    if req.get("done").is_some_and(|d| *d > 0.0) {
        set_times(&mut t, path, text)?;
    }
    push_text_errors(&mut run, text, &req);
    run.targets.push(t);
    Ok(run)
}

fn set_times(t: &mut Target, path: &Path, text: &str) -> Result<()> {
    let [min, max, mean, sd] = text::require(
        path,
        text,
        time_row(text, "time for request:"),
        "'time for request:' min, max, mean, sd and +/- sd",
    )?;
    t.set("latency_min_ms", Some(min), "ms")
        .set("latency_max_ms", Some(max), "ms")
        .set("latency_mean_ms", Some(mean), "ms")
        .set("latency_stddev_ms", Some(sd), "ms")
        .set(
            "h2load_connect_mean_ms",
            time_row(text, "time for connect:").map(|r| r[2]),
            "ms",
        )
        .set(
            "h2load_ttfb_mean_ms",
            time_row(text, "time to 1st byte:").map(|r| r[2]),
            "ms",
        );
    Ok(())
}

/// `1.38MB (1450000) total, ...` -> 1450000; older h2load: `1450000 bytes total, ...`.
fn traffic_bytes(v: &str) -> Option<f64> {
    let first = v.split(',').next()?;
    match first.split_once('(') {
        Some((_, rest)) => rest.split_once(')')?.0.trim().parse().ok(),
        None => first.split_whitespace().next()?.parse().ok(),
    }
}

/// Threads, clients and planned requests from the `spawning thread #i: ...` lines.
fn load_profile(run: &mut ParsedRun, text: &str) {
    let (mut threads, mut clients, mut requests) = (0i64, 0i64, None::<i64>);
    for l in text.lines().filter(|l| l.starts_with("spawning thread #")) {
        let Some((_, rest)) = l.split_once(": ") else {
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        threads += 1;
        clients += words.first().and_then(|w| w.parse().ok()).unwrap_or(0);
        if let Some(i) = words.iter().position(|w| *w == "requests") {
            let n: Option<i64> = i.checked_sub(2).and_then(|j| words[j].parse().ok());
            requests = n.map(|n| requests.unwrap_or(0) + n).or(requests);
        }
    }
    if threads > 0 {
        run.load.threads = Some(threads);
        run.load.connections = (clients > 0).then_some(clients);
        run.load.requests_planned = requests;
    }
}

fn push_text_errors(run: &mut ParsedRun, text: &str, req: &BTreeMap<String, f64>) {
    let status = field(text, "status codes:").map(counts).unwrap_or_default();
    for class in ["4xx", "5xx"] {
        if let Some(n) = status.get(class).filter(|n| **n > 0.0) {
            run.errors
                .push(ErrorCount::http_status(TOTAL, class, *n as i64));
        }
    }
    for (key, message) in [
        ("errored", "errored (connection or stream errors)"),
        ("timeout", "timeout"),
    ] {
        if let Some(n) = req.get(key).filter(|n| **n > 0.0) {
            run.errors.push(ErrorCount {
                target: TOTAL.into(),
                kind: "error",
                message: message.into(),
                count: *n as i64,
            });
        }
    }
}

/// One log row: start (µs since the epoch), status (-1: failed stream), duration (µs).
fn log_row(line: &str) -> Option<(i64, i32, u64)> {
    let mut it = line.split('\t');
    let row = (
        it.next()?.trim().parse().ok()?,
        it.next()?.trim().parse().ok()?,
        it.next()?.trim().parse().ok()?,
    );
    (it.next().is_none() && row.0 > 0 && (row.1 == -1 || (100..600).contains(&row.1)))
        .then_some(row)
}

impl Importer for H2loadLog {
    fn name(&self) -> &'static str {
        "h2load-log"
    }
    fn tool(&self) -> &'static str {
        "h2load"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        // µs since the epoch: 16 digits from 2001 to 2286
        let first = p.first_line();
        if log_row(first).is_some_and(|(start, _, _)| start >= 1_000_000_000_000_000) {
            Ok(())
        } else {
            Err(
                "first line is not an h2load --log-file row 'start_us\\tstatus\\tduration_us'"
                    .into(),
            )
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        parse_log(path, &text).map(|r| Parsed::Runs(vec![r]))
    }
}

/// What the log's rows add up to.
#[derive(Default)]
struct LogTally {
    rows: u64,
    responses: u64,
    statuses: BTreeMap<i32, i64>,
    per_second: BTreeMap<i64, (u64, f64)>,
    first_us: Option<i64>,
    last_end_us: Option<i64>,
}

fn tally_log(path: &Path, text: &str, h: &mut hdrhistogram::Histogram<u64>) -> Result<LogTally> {
    let mut t = LogTally::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (start, status, dur) = log_row(line).ok_or_else(|| {
            Error::input(path, Some(i + 1), "expected h2load's --log-file row: start time (µs since the epoch), a tab, the status code (-1 for a failed stream), a tab, the duration (µs)")
        })?;
        t.rows += 1;
        *t.statuses.entry(status).or_default() += 1;
        t.first_us = Some(t.first_us.map_or(start, |f| f.min(start)));
        let end = start.saturating_add(i64::try_from(dur).unwrap_or(i64::MAX));
        t.last_end_us = Some(t.last_end_us.map_or(end, |e| e.max(end)));
        if status != -1 {
            let ms = dur as f64 / 1000.0;
            model::record_ms(h, ms, 1);
            t.responses += 1;
            let e = t.per_second.entry(start.div_euclid(1_000_000)).or_default();
            e.0 += 1;
            e.1 += ms;
        }
    }
    Ok(t)
}

fn parse_log(path: &Path, text: &str) -> Result<ParsedRun> {
    let mut h = new_histogram();
    let tally = tally_log(path, text, &mut h)?;
    let (Some(first), Some(last)) = (tally.first_us, tally.last_end_us) else {
        return Err(Error::no_results(path, "the log has no rows"));
    };
    let mut run = ParsedRun::new("h2load", "h2load-log");
    run.started_at = crate::time::from_micros(first);
    run.ended_at = crate::time::from_micros(last);
    let secs = (last - first) as f64 / 1e6;
    run.duration_s = Some(secs);
    let failed = |c: &i32| *c == -1 || *c >= 400;
    let failures: i64 = tally
        .statuses
        .iter()
        .filter(|(c, _)| failed(c))
        .map(|(_, n)| n)
        .sum();
    let mut t = Target::total();
    t.set("requests", Some(tally.rows as f64), "count").set(
        "failures",
        Some(failures as f64),
        "count",
    );
    if secs > 0.0 {
        t.set(
            "throughput_rps",
            Some(tally.responses as f64 / secs),
            "req/s",
        );
    }
    for (code, n) in tally.statuses.into_iter().filter(|(c, _)| failed(c)) {
        run.errors.push(if code == -1 {
            ErrorCount {
                target: TOTAL.into(),
                kind: "error",
                message: "failed stream (status -1)".into(),
                count: n,
            }
        } else {
            ErrorCount::http_status(TOTAL, code, n)
        });
    }
    run.push_per_second(tally.per_second);
    if !h.is_empty() {
        t.histogram = Some(h);
    }
    run.targets.push(t);
    Ok(run)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rows_and_cells() {
        assert_eq!(
            super::log_row("1796150802882439\t200\t9190"),
            Some((1796150802882439, 200, 9190))
        );
        assert_eq!(
            super::log_row("1796150802882439\t-1\t0").map(|r| r.1),
            Some(-1)
        );
        assert_eq!(super::log_row("1796150802882439\t200"), None);
        assert_eq!(
            super::traffic_bytes("1.38MB (1450000) total, 2B (2) headers"),
            Some(1450000.0)
        );
        assert_eq!(
            super::traffic_bytes("1450000 bytes total, 5 bytes headers"),
            Some(1450000.0)
        );
        let text = "time for request:      108us     11.68ms       722us      1.09ms    92.00%\n";
        let r = super::time_row(text, "time for request:").unwrap();
        assert!(
            (r[0] - 0.108).abs() < 1e-9 && (r[1] - 11.68).abs() < 1e-9,
            "{r:?}"
        );
    }
}
