//! hey (<https://github.com/rakyll/hey>, Debian package `hey` 0.1.4): the text summary and the
//! `-o csv` per-request rows.
//!
//! The summary states no URL, request count, concurrency or version: the run has one target,
//! TOTAL; `requests` is the responses of the status code distribution plus the requests of the
//! error distribution; `failures` are the non-2xx responses and the errors. hey's own
//! percentiles (10% ... 99%) and its fastest/average/slowest are stored as it printed them
//! (seconds, 4 decimals, in ms). Its response time histogram is 11 coarse buckets and is not
//! kept as a histogram (it would give other percentiles than hey's).
//!
//! Where the summary ends: hey writes the error section last and ends the output with a blank
//! line, and with no errors the status section is followed by three blank lines. A file that
//! stops earlier, or whose status counts do not add up to its histogram, is refused as truncated.
//!
//! The CSV has one row per response (hey leaves requests that failed without a response out),
//! with `offset` in seconds from the start and no absolute time: the run starts at the file's
//! modification time minus its last offset (label `time_source=file-mtime`). Its percentiles
//! follow hey's own rule ([`model::PercentileRule::CeilIndex`]), so at a gap they land where
//! hey's summary puts them.

use std::path::Path;

use super::text::{self, field};
use super::{read_text, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{self, new_histogram, ErrorCount, Parsed, ParsedRun, Target};

pub struct HeyText;
pub struct HeyCsv;

const CSV_HEADER: &str =
    "response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset";

/// "0.0123 secs" in ms; hey prints " NaN secs" when nothing succeeded.
fn secs_ms(s: &str) -> Option<f64> {
    let v: f64 = s.split_whitespace().next()?.parse().ok()?;
    v.is_finite().then_some(v * 1000.0)
}

/// The lines of a section ("Status code distribution:") up to the next blank line.
fn section<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|l| l.trim() != title).skip(1);
    let mut out = Vec::new();
    for l in lines.by_ref() {
        if l.trim().is_empty() {
            break;
        }
        out.push(l.trim());
    }
    out
}

/// `[200]\t2000 responses` -> (200, 2000); `[20]\tGet ...: refused` -> (20, "Get ...").
fn bracketed(l: &str) -> Option<(&str, &str)> {
    let rest = l.strip_prefix('[')?;
    let (a, b) = rest.split_once(']')?;
    Some((a, b.trim()))
}

impl Importer for HeyText {
    fn name(&self) -> &'static str {
        "hey-text"
    }
    fn tool(&self) -> &'static str {
        "hey"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let h = p.head.trim_start();
        if h.starts_with("Summary:\n  Total:") && p.head.contains("Requests/sec:") {
            Ok(())
        } else {
            Err("no hey 'Summary:' block with 'Total:' and 'Requests/sec:'".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        parse_text(path, &text).map(|r| Parsed::Runs(vec![r]))
    }
}

fn parse_text(path: &Path, text: &str) -> Result<ParsedRun> {
    let errors: Vec<(f64, String)> = section(text, "Error distribution:")
        .into_iter()
        .map(|l| {
            bracketed(l)
                .and_then(|(n, msg)| Some((n.parse().ok()?, msg.to_string())))
                .ok_or_else(|| {
                    text::truncated(
                        path,
                        text,
                        "'[count]\tmessage' lines of the error distribution",
                    )
                })
        })
        .collect::<Result<_>>()?;
    let complete = if errors.is_empty() {
        text.ends_with("\n\n\n\n")
    } else {
        text.ends_with("\n\n")
    };
    if !complete || !text.contains("Status code distribution:") {
        return Err(text::truncated(
            path,
            text,
            "the status code (and error) distribution and hey's closing blank lines",
        ));
    }
    let statuses: Vec<(u16, f64)> = section(text, "Status code distribution:")
        .into_iter()
        .map(|l| {
            bracketed(l)
                .and_then(|(c, n)| {
                    Some((
                        c.parse().ok()?,
                        n.strip_suffix("responses")?.trim().parse().ok()?,
                    ))
                })
                .ok_or_else(|| text::truncated(path, text, "'[code]\tN responses' lines"))
        })
        .collect::<Result<_>>()?;
    let histogram_total: f64 = section(text, "Response time histogram:")
        .iter()
        .filter_map(|l| {
            let (_, rest) = l.split_once('[')?;
            rest.split_once(']')?.0.parse::<f64>().ok()
        })
        .fold(0.0, |a, n| a + n);
    // folds from +0.0: an empty f64 sum is -0.0, which would print as "-0"
    let responses = statuses.iter().fold(0.0, |a, (_, n)| a + n);
    if (responses - histogram_total).abs() > 0.5 {
        return Err(text::truncated(
            path,
            text,
            &format!("status counts adding up to the histogram's {histogram_total} responses (they add up to {responses})"),
        ));
    }
    let failed_requests = errors.iter().fold(0.0, |a, (n, _)| a + n);
    if responses + failed_requests == 0.0 {
        return Err(Error::no_results(
            path,
            "hey reports no responses and no errors",
        ));
    }
    let mut run = ParsedRun::new("hey", "hey-text");
    run.started_at = text::mtime(path);
    run.labels.insert("time_source".into(), "file-mtime".into());
    run.duration_s = field(text, "Total:")
        .and_then(secs_ms)
        .map(|ms| ms / 1000.0);
    let mut t = Target::total();
    let non2xx = statuses
        .iter()
        .filter(|(c, _)| !(200..300).contains(c))
        .fold(0.0, |a, (_, n)| a + n);
    t.set("requests", Some(responses + failed_requests), "count")
        .set("failures", Some(non2xx + failed_requests), "count")
        .set(
            "throughput_rps",
            field(text, "Requests/sec:").and_then(|v| v.parse().ok()),
            "req/s",
        )
        .set(
            "bytes_received",
            field(text, "Total data:").and_then(|v| v.split_whitespace().next()?.parse().ok()),
            "bytes",
        );
    if responses > 0.0 {
        t.set(
            "latency_min_ms",
            field(text, "Fastest:").and_then(secs_ms),
            "ms",
        )
        .set(
            "latency_mean_ms",
            field(text, "Average:").and_then(secs_ms),
            "ms",
        )
        .set(
            "latency_max_ms",
            field(text, "Slowest:").and_then(secs_ms),
            "ms",
        );
    }
    for l in section(text, "Latency distribution:") {
        // "50% in 0.0046 secs"
        let Some((pct, rest)) = l.split_once("% in ") else {
            continue;
        };
        t.set(&format!("latency_p{}_ms", pct.trim()), secs_ms(rest), "ms");
    }
    for (code, n) in &statuses {
        if !(200..300).contains(code) {
            run.errors
                .push(ErrorCount::http_status(&t.name, code, *n as i64));
        }
    }
    for (n, msg) in errors {
        run.errors.push(ErrorCount {
            target: t.name.clone(),
            kind: "error",
            message: msg,
            count: n as i64,
        });
    }
    run.targets.push(t);
    Ok(run)
}

impl Importer for HeyCsv {
    fn name(&self) -> &'static str {
        "hey-csv"
    }
    fn tool(&self) -> &'static str {
        "hey"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        if p.first_line().trim_end() == CSV_HEADER {
            Ok(())
        } else {
            Err("first line is not hey -o csv's 'response-time,DNS+dialup,...,status-code,offset' header".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        let mut h = new_histogram();
        let mut per_second: std::collections::BTreeMap<i64, (u64, f64)> = Default::default();
        let mut statuses: std::collections::BTreeMap<u16, i64> = Default::default();
        let mut last_offset = 0.0f64;
        for (i, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split(',').collect();
            let row = (cols.len() == 8)
                .then(|| {
                    Some((
                        cols[0]
                            .parse::<f64>()
                            .ok()
                            .filter(|v| v.is_finite() && *v >= 0.0)?,
                        cols[6].parse::<u16>().ok()?,
                        cols[7]
                            .parse::<f64>()
                            .ok()
                            .filter(|v| v.is_finite() && *v >= 0.0)?,
                    ))
                })
                .flatten();
            let (secs, code, offset) = row.ok_or_else(|| {
                Error::input(path, Some(i + 1), "expected 8 comma-separated columns: response-time, DNS+dialup, DNS, Request-write, Response-delay, Response-read, status-code, offset (seconds)")
            })?;
            let ms = secs * 1000.0;
            model::record_ms(&mut h, ms, 1);
            *statuses.entry(code).or_default() += 1;
            let e = per_second.entry(offset.floor() as i64).or_default();
            e.0 += 1;
            e.1 += ms;
            last_offset = last_offset.max(offset + secs);
        }
        if h.is_empty() {
            return Err(Error::no_results(
                path,
                "the CSV has a header but no response rows",
            ));
        }
        let mut run = ParsedRun::new("hey", "hey-csv");
        run.percentile_rule = model::PercentileRule::CeilIndex;
        let end = text::mtime(path);
        run.labels.insert("time_source".into(), "file-mtime".into());
        // an absurd offset (a damaged file) leaves the start unknown rather than overflowing
        let start = end.and_then(|e| text::shift(e, -last_offset));
        run.started_at = start;
        run.duration_s = Some(last_offset);
        let mut t = Target::total();
        let non2xx: i64 = statuses
            .iter()
            .filter(|(c, _)| !(200..300).contains(*c))
            .map(|(_, n)| n)
            .sum();
        t.set("requests", Some(h.len() as f64), "count").set(
            "failures",
            Some(non2xx as f64),
            "count",
        );
        if last_offset > 0.0 {
            t.set(
                "throughput_rps",
                Some(h.len() as f64 / last_offset),
                "req/s",
            );
        }
        for (code, n) in statuses
            .into_iter()
            .filter(|(c, _)| !(200..300).contains(c))
        {
            run.errors.push(ErrorCount::http_status(&t.name, code, n));
        }
        if let Some(s) = start {
            let base = s.and_utc().timestamp();
            run.push_per_second(per_second.into_iter().map(|(k, v)| (base + k, v)).collect());
        }
        t.histogram = Some(h);
        run.targets.push(t);
        Ok(Parsed::Runs(vec![run]))
    }
}
