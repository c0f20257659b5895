//! wrk output: the text report (with or without `--latency`) and the JSON written by
//! `scripts/wrk_report.lua`, which carries wrk's full latency distribution.
//!
//! `failures` = non-2xx/3xx responses + socket errors (connect, read, write, timeout);
//! `error_rate` = failures / (requests + connect errors + timeouts), since requests that
//! never completed are not in wrk's request count.

use serde::Deserialize;

use super::text::{self, field};
use super::{read_text, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{new_histogram, ErrorCount, Parsed, ParsedRun, Target, TargetKind};

pub struct WrkText;
pub struct WrkLuaReport;

impl Importer for WrkText {
    fn name(&self) -> &'static str {
        "wrk-text"
    }
    fn tool(&self) -> &'static str {
        "wrk"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let first = p.first_line();
        let running = first.starts_with("Running ") && first.contains(" test @ ");
        if running || first.starts_with("unable to connect to ") {
            Ok(())
        } else {
            Err("first line is not wrk's 'Running <duration> test @ <url>'".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        if let Some(l) = text
            .lines()
            .find(|l| l.starts_with("unable to connect to "))
        {
            return Err(Error::no_results(
                path,
                format!("wrk could not connect: {}", l.trim()),
            ));
        }
        if text.contains(" requests in ") {
            text::require_end(
                path,
                &text,
                |l| l.trim_start().starts_with("Transfer/sec:") && l.trim_end().ends_with('B'),
                "wrk's last line 'Transfer/sec: <rate>B'",
            )?;
        }
        let first = text.lines().next().unwrap_or("");
        let (dur, url) = first
            .strip_prefix("Running ")
            .and_then(|r| r.split_once(" test @ "))
            .ok_or_else(|| {
                Error::input(path, Some(1), "expected 'Running <duration> test @ <url>'")
            })?;
        let summary_line = text
            .lines()
            .position(|l| l.contains(" requests in ") && l.trim_end().ends_with(" read"));
        let Some(summary_idx) = summary_line else {
            return Err(Error::input(
                path,
                Some(text.lines().count().max(1)),
                "expected '<N> requests in <duration>, <size> read': the output is truncated",
            ));
        };
        let Some(rps) = field(&text, "Requests/sec:").and_then(text::count) else {
            return Err(Error::input(
                path,
                Some(text.lines().count().max(1)),
                "expected 'Requests/sec: <rate>': the output is truncated",
            ));
        };
        let mut run = ParsedRun::new("wrk", "wrk-text");
        run.url = Some(url.trim().to_string());
        run.started_at = text::mtime(path);
        run.labels.insert("time_source".into(), "file-mtime".into());
        if let Some(l) = text.lines().nth(1) {
            // "  2 threads and 8 connections"
            let nums: Vec<i64> = l
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            if nums.len() == 2 && l.contains("threads and") {
                run.load.threads = Some(nums[0]);
                run.load.connections = Some(nums[1]);
            }
        }
        let summary = text.lines().nth(summary_idx).unwrap_or_default();
        // "8852 requests in 3.00s, 6.12MB read"
        let (requests, rest) = summary.split_once(" requests in ").unwrap_or_default();
        let rest = rest.trim();
        let (elapsed, read) = rest.split_once(", ").unwrap_or((rest, ""));
        let requests: f64 = requests.trim().parse().map_err(|_| {
            Error::input(
                path,
                Some(summary_idx + 1),
                "expected a request count before 'requests in'",
            )
        })?;
        run.duration_s = text::duration_ms(elapsed)
            .map(|ms| ms / 1000.0)
            .or(text::duration_ms(dur).map(|ms| ms / 1000.0));

        let mut t = Target::new(url_path(url.trim()), TargetKind::Http);
        t.url = run.url.clone();
        t.set("requests", Some(requests), "count")
            .set(
                "bytes_received",
                text::bytes(read.trim_end_matches(" read")),
                "bytes",
            )
            .set("throughput_rps", Some(rps), "req/s");
        if let Some(l) = field(&text, "Latency ") {
            let cols: Vec<&str> = l.split_whitespace().collect();
            if cols.len() == 4 {
                t.set("latency_mean_ms", text::duration_ms(cols[0]), "ms")
                    .set("latency_stddev_ms", text::duration_ms(cols[1]), "ms")
                    .set("latency_max_ms", text::duration_ms(cols[2]), "ms");
            }
        }
        if let Some(after) = text.split("Latency Distribution").nth(1) {
            for l in after.lines().skip(1).take(4) {
                let mut it = l.split_whitespace();
                let (Some(p), Some(v)) = (it.next(), it.next()) else {
                    break;
                };
                let name = match p {
                    "50%" => "latency_p50_ms",
                    "75%" => continue,
                    "90%" => "latency_p90_ms",
                    "99%" => "latency_p99_ms",
                    _ => break,
                };
                t.set(name, text::duration_ms(v), "ms");
            }
        }
        let socket = socket_errors(&text);
        let non2xx = field(&text, "Non-2xx or 3xx responses:")
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        let failures = non2xx + socket.iter().map(|(_, n)| n).sum::<f64>();
        let unfinished: f64 = socket
            .iter()
            .filter(|(k, _)| *k == "connect" || *k == "timeout")
            .map(|(_, n)| n)
            .sum();
        t.set("failures", Some(failures), "count");
        if requests + unfinished > 0.0 {
            t.set(
                "error_rate",
                Some(failures / (requests + unfinished)),
                "ratio",
            );
        }
        let name = t.name.clone();
        for (kind, n) in socket.iter().filter(|(_, n)| *n > 0.0) {
            run.errors.push(ErrorCount {
                target: name.clone(),
                kind: "socket",
                message: format!("socket {kind} errors"),
                count: *n as i64,
            });
        }
        if non2xx > 0.0 {
            run.errors.push(ErrorCount {
                target: name,
                kind: "status",
                message: "Non-2xx or 3xx responses".into(),
                count: non2xx as i64,
            });
        }
        run.set_single_target(t);
        Ok(Parsed::Runs(vec![run]))
    }
}

/// "Socket errors: connect 0, read 0, write 0, timeout 57"
fn socket_errors(text: &str) -> Vec<(&'static str, f64)> {
    let Some(l) = field(text, "Socket errors:") else {
        return vec![];
    };
    ["connect", "read", "write", "timeout"]
        .into_iter()
        .filter_map(|k| {
            l.split(',').find_map(|part| {
                let mut it = part.split_whitespace();
                (it.next()? == k)
                    .then(|| it.next()?.parse().ok())
                    .flatten()
                    .map(|v| (k, v))
            })
        })
        .collect()
}

/// `http://host:port/path?q` -> `/path?q`
pub fn url_path(url: &str) -> String {
    let no_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    match no_scheme.find('/') {
        Some(i) => no_scheme[i..].to_string(),
        None => "/".to_string(),
    }
}

#[derive(Deserialize)]
struct LuaReport {
    format: String,
    url: String,
    threads: Option<i64>,
    duration_us: f64,
    requests: f64,
    bytes: f64,
    errors: LuaErrors,
    latency_us: LuaLatency,
}

#[derive(Deserialize)]
struct LuaErrors {
    connect: f64,
    read: f64,
    write: f64,
    status: f64,
    timeout: f64,
}

#[derive(Deserialize)]
struct LuaLatency {
    min: f64,
    max: f64,
    mean: f64,
    stdev: f64,
    percentiles: std::collections::BTreeMap<String, f64>,
    distribution: Vec<(u64, u64)>,
}

impl Importer for WrkLuaReport {
    fn name(&self) -> &'static str {
        "wrk-lua-report"
    }
    fn tool(&self) -> &'static str {
        "wrk"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        if p.head.trim_start().starts_with('{')
            && p.head.contains("\"format\":\"perfledger-wrk-report/")
        {
            Ok(())
        } else {
            Err(
                "not JSON from scripts/wrk_report.lua (no \"format\":\"perfledger-wrk-report/1\")"
                    .into(),
            )
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        let r: LuaReport = serde_json::from_str(&text).map_err(|e| {
            Error::input(
                path,
                Some(e.line()),
                format!("expected the wrk_report.lua JSON: {e}"),
            )
        })?;
        if r.format != "perfledger-wrk-report/1" {
            return Err(Error::input(
                path,
                Some(1),
                format!(
                    "unsupported report format '{}', expected perfledger-wrk-report/1",
                    r.format
                ),
            ));
        }
        if r.requests == 0.0 {
            return Err(Error::no_results(path, "wrk completed no request"));
        }
        let mut run = ParsedRun::new("wrk", "wrk-lua-report");
        run.url = Some(r.url.clone());
        run.load.threads = r.threads;
        run.duration_s = Some(r.duration_us / 1e6);
        run.ended_at = text::mtime(path);
        run.started_at = run
            .ended_at
            .and_then(|e| text::shift(e, -r.duration_us / 1e6));
        run.labels.insert("time_source".into(), "file-mtime".into());
        let mut h = new_histogram();
        for (us, n) in &r.latency_us.distribution {
            h.saturating_record_n((*us).max(1), *n);
        }
        let e = &r.errors;
        let failures = e.status + e.connect + e.read + e.write + e.timeout;
        let mut t = Target::new(url_path(&r.url), TargetKind::Http);
        t.url = Some(r.url.clone());
        t.set("requests", Some(r.requests), "count")
            .set("failures", Some(failures), "count")
            .set(
                "error_rate",
                Some(failures / (r.requests + e.connect + e.timeout)),
                "ratio",
            )
            .set(
                "throughput_rps",
                Some(r.requests / (r.duration_us / 1e6)),
                "req/s",
            )
            .set("bytes_received", Some(r.bytes), "bytes")
            .set("latency_min_ms", Some(r.latency_us.min / 1000.0), "ms")
            .set("latency_max_ms", Some(r.latency_us.max / 1000.0), "ms")
            .set("latency_mean_ms", Some(r.latency_us.mean / 1000.0), "ms")
            .set("latency_stddev_ms", Some(r.latency_us.stdev / 1000.0), "ms");
        for (p, name) in [
            ("50", "latency_p50_ms"),
            ("90", "latency_p90_ms"),
            ("95", "latency_p95_ms"),
            ("99", "latency_p99_ms"),
            ("99.9", "latency_p999_ms"),
        ] {
            t.set(
                name,
                r.latency_us.percentiles.get(p).map(|us| us / 1000.0),
                "ms",
            );
        }
        t.histogram = Some(h);
        let name = t.name.clone();
        for (kind, n) in [
            ("connect", e.connect),
            ("read", e.read),
            ("write", e.write),
            ("timeout", e.timeout),
        ] {
            if n > 0.0 {
                run.errors.push(ErrorCount {
                    target: name.clone(),
                    kind: "socket",
                    message: format!("socket {kind} errors"),
                    count: n as i64,
                });
            }
        }
        if e.status > 0.0 {
            run.errors.push(ErrorCount {
                target: name,
                kind: "status",
                message: "Non-2xx or 3xx responses".into(),
                count: e.status as i64,
            });
        }
        run.set_single_target(t);
        Ok(Parsed::Runs(vec![run]))
    }
}
