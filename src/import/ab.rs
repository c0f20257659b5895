//! ApacheBench (`ab`) output: the text report, the `-g` gnuplot TSV and the `-e` percentile CSV.
//!
//! ab's "Failed requests" includes "Length" failures: responses whose size differs from the
//! first response, which every dynamic page produces. perfledger counts connect, receive and
//! exception failures plus non-2xx responses as `failures`, keeps ab's own figure as
//! `ab_failed_requests`, and stores the breakdown in the error table.

use std::path::Path;

use super::text::{self, field, field_num};
use super::{read_text, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{self, new_histogram, ErrorCount, Parsed, ParsedRun, Target, TargetKind};

pub struct AbText;
pub struct AbHtml;
pub struct AbGnuplot;
pub struct AbPercentiles;

const GNUPLOT_HEADER: &str = "starttime\tseconds\tctime\tdtime\tttime\twait";

impl Importer for AbText {
    fn name(&self) -> &'static str {
        "ab-text"
    }
    fn tool(&self) -> &'static str {
        "ab"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let h = p.head;
        let usage = h.starts_with("ab: ") || (h.contains("Usage: ab [options]") && h.len() < 8192);
        if h.contains("<table") {
            return Err("an HTML table (ab -w), not ab's text report".into());
        }
        if h.contains("This is ApacheBench") || usage {
            Ok(())
        } else {
            Err("no 'This is ApacheBench' banner".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let text = read_text(&unit.primary)?;
        if text.contains("Complete requests:") {
            text::require_end(
                &unit.primary,
                &text,
                |l| l.trim_start().starts_with("100%") && l.trim_end().ends_with("(longest request)"),
                "ab's percentile table ending in '100% ... (longest request)' (ab -d prints none: run ab without -d)",
            )?;
        }
        parse_text(&unit.primary, &text).map(|r| Parsed::Runs(vec![r]))
    }
}

/// ab -w's HTML as ab's text lines: a row `<th>Label:</th><td>value</td>` becomes
/// `Label: value`, so the text report's parser reads it.
fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    for line in html.lines() {
        let mut in_tag = false;
        for c in line.chars() {
            match c {
                '<' => in_tag = true,
                // a cell boundary keeps the values of a row apart
                '>' if in_tag => {
                    in_tag = false;
                    out.push(' ');
                }
                _ if !in_tag => out.push(c),
                _ => {}
            }
        }
        out.push('\n');
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Importer for AbHtml {
    fn name(&self) -> &'static str {
        "ab-html"
    }
    fn tool(&self) -> &'static str {
        "ab"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        if p.head.contains("This is ApacheBench") && p.head.contains("<table") {
            Ok(())
        } else {
            Err("no ApacheBench banner with an HTML table (ab -w)".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let html = read_text(path)?;
        text::require_end(
            path,
            &html,
            |l| l.trim() == "</table>",
            "the '</table>' that ends ab -w's report",
        )?;
        let text = html_to_text(&html);
        let mut run = parse_text(path, &text)?;
        run.format = "ab-html".into();
        // -w's connection times are min, avg and max (the text report adds sd and median)
        let after = text
            .split("Connection Times (ms)")
            .nth(1)
            .unwrap_or_default();
        let total: Vec<f64> = field(after, "Total:")
            .map(|v| {
                v.split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        if let [min, avg, max] = total[..] {
            for t in &mut run.targets {
                t.set("latency_min_ms", Some(min), "ms")
                    .set("latency_mean_ms", Some(avg), "ms")
                    .set("latency_max_ms", Some(max), "ms");
            }
        }
        Ok(Parsed::Runs(vec![run]))
    }
}

fn no_results_reason(text: &str) -> String {
    let err = text
        .lines()
        .find(|l| l.starts_with("apr_") || l.contains("...apr_") || l.starts_with("ab: "));
    match err {
        Some(l) => format!(
            "ab stopped before any response: {}",
            l.rsplit("...").next().unwrap_or(l).trim()
        ),
        None if text.contains("Usage: ab") => {
            "ab printed its usage text (a command-line error)".into()
        }
        None => "no 'Complete requests:' line (the output may be truncated)".into(),
    }
}

pub(crate) fn parse_text(path: &Path, text: &str) -> Result<ParsedRun> {
    if field(text, "Complete requests:").is_none() {
        return Err(Error::no_results(path, no_results_reason(text)));
    }
    let mut run = ParsedRun::new("ab", "ab-text");
    run.tool_version = field(text, "This is ApacheBench, Version").map(|v| {
        v.split_whitespace()
            .next()
            .unwrap_or(v)
            .trim_end_matches(',')
            .to_string()
    });
    let host = field(text, "Server Hostname:");
    let port = field(text, "Server Port:");
    let doc = text::require(
        path,
        text,
        field(text, "Document Path:"),
        "'Document Path:'",
    )?;
    let scheme = if field(text, "SSL/TLS Protocol:").is_some() {
        "https"
    } else {
        "http"
    };
    run.url = host.map(|h| format!("{scheme}://{h}:{}{doc}", port.unwrap_or("80")));
    run.load.connections = field_num(text, "Concurrency Level:").map(|v| v as i64);
    run.duration_s = field_num(text, "Time taken for tests:");
    let complete = text::require(
        path,
        text,
        field_num(text, "Complete requests:"),
        "a number after 'Complete requests:'",
    )?;
    let failed = field_num(text, "Failed requests:").unwrap_or(0.0);
    let non2xx = field_num(text, "Non-2xx responses:").unwrap_or(0.0);
    let breakdown = failure_breakdown(text);
    let hard_failures: f64 = breakdown
        .iter()
        .filter(|(k, _)| *k != "Length")
        .map(|(_, v)| *v)
        .sum();
    run.started_at = text::mtime(path);
    run.labels.insert("time_source".into(), "file-mtime".into());

    let mut t = Target::new(doc, TargetKind::Http);
    t.url = run.url.clone();
    t.set("requests", Some(complete), "count")
        .set("failures", Some(hard_failures + non2xx), "count")
        .set("ab_failed_requests", Some(failed), "count")
        .set(
            "throughput_rps",
            field_num(text, "Requests per second:"),
            "req/s",
        )
        .set(
            "bytes_received",
            field_num(text, "Total transferred:"),
            "bytes",
        )
        .set("bytes_sent", field_num(text, "Total body sent:"), "bytes");
    if let Some(total) = connection_times(text, "Total:") {
        t.set("latency_min_ms", Some(total[0]), "ms")
            .set("latency_mean_ms", Some(total[1]), "ms")
            .set("latency_stddev_ms", Some(total[2]), "ms")
            .set("latency_p50_ms", Some(total[3]), "ms")
            .set("latency_max_ms", Some(total[4]), "ms");
    }
    // every row of ab's percentile table as ab printed it (66%, 75%, 80% and 98% too); its
    // 100% row is the longest request, already the maximum
    for (pct, ms) in served_within(text) {
        if pct < 100 {
            t.set(&format!("latency_p{pct}_ms"), Some(ms), "ms");
        }
    }
    for (kind, n) in &breakdown {
        if *n > 0.0 {
            run.errors.push(ErrorCount {
                target: doc.to_string(),
                kind: "ab",
                message: format!("{kind} failures"),
                count: *n as i64,
            });
        }
    }
    if non2xx > 0.0 {
        run.errors.push(ErrorCount {
            target: doc.to_string(),
            kind: "status",
            message: "Non-2xx responses".into(),
            count: non2xx as i64,
        });
    }
    run.set_single_target(t);
    Ok(run)
}

fn failure_breakdown(text: &str) -> Vec<(&'static str, f64)> {
    // "   (Connect: 0, Receive: 0, Length: 600, Exceptions: 0)"
    let Some(line) = text
        .lines()
        .find(|l| l.trim_start().starts_with("(Connect:"))
    else {
        return vec![];
    };
    let inner = line.trim().trim_start_matches('(').trim_end_matches(')');
    ["Connect", "Receive", "Length", "Exceptions"]
        .into_iter()
        .filter_map(|k| {
            inner.split(',').find_map(|part| {
                let (name, v) = part.split_once(':')?;
                (name.trim() == k)
                    .then(|| v.trim().parse().ok())
                    .flatten()
                    .map(|v| (k, v))
            })
        })
        .collect()
}

/// `Total:  3  12  5.8  11  40` -> [min, mean, sd, median, max]
fn connection_times(text: &str, row: &str) -> Option<[f64; 5]> {
    let after = text.split("Connection Times (ms)").nth(1)?;
    let values: Vec<f64> = field(after, row)?
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    (values.len() == 5).then(|| [values[0], values[1], values[2], values[3], values[4]])
}

/// The "Percentage of the requests served within a certain time (ms)" table.
fn served_within(text: &str) -> Vec<(u32, f64)> {
    let Some(after) = text.split("served within a certain time").nth(1) else {
        return vec![];
    };
    after
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let pct = it.next()?.strip_suffix('%')?.parse().ok()?;
            let ms = it.next()?.parse().ok()?;
            Some((pct, ms))
        })
        .collect()
}

impl Importer for AbGnuplot {
    fn name(&self) -> &'static str {
        "ab-gnuplot"
    }
    fn tool(&self) -> &'static str {
        "ab"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        if p.first_line().trim_end() == GNUPLOT_HEADER {
            Ok(())
        } else {
            Err(
                "first line is not ab -g's 'starttime seconds ctime dtime ttime wait' header"
                    .into(),
            )
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        let mut run = ParsedRun::new("ab", "ab-gnuplot");
        run.percentile_rule = crate::model::PercentileRule::FloorIndex;
        let mut total = Target::total();
        let mut h = new_histogram();
        let mut per_second: std::collections::BTreeMap<i64, (u64, f64)> = Default::default();
        for (i, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let parsed = (cols.len() == 6)
                .then(|| Some((cols[1].parse::<i64>().ok()?, cols[4].parse::<f64>().ok()?)))
                .flatten();
            let (secs, ttime) = parsed.ok_or_else(|| {
                Error::input(path, Some(i + 1), "expected 6 tab-separated columns: starttime, seconds, ctime, dtime, ttime, wait")
            })?;
            model::record_ms(&mut h, ttime, 1);
            let e = per_second.entry(secs).or_default();
            e.0 += 1;
            e.1 += ttime;
        }
        if h.is_empty() {
            return Err(Error::no_results(
                path,
                "the gnuplot file has a header but no request rows",
            ));
        }
        let (Some(&first), Some(&last)) = (per_second.keys().next(), per_second.keys().last())
        else {
            return Err(Error::no_results(
                path,
                "the gnuplot file has no request rows",
            ));
        };
        run.started_at = text::epoch(first as f64);
        run.ended_at = text::epoch((last + 1) as f64);
        total.set("requests", Some(h.len() as f64), "count");
        total.set(
            "throughput_rps",
            Some(h.len() as f64 / (last - first + 1) as f64),
            "req/s",
        );
        run.push_per_second(per_second);
        total.histogram = Some(h);
        run.targets.push(total);
        Ok(Parsed::Runs(vec![run]))
    }
}

impl Importer for AbPercentiles {
    fn name(&self) -> &'static str {
        "ab-percentiles"
    }
    fn tool(&self) -> &'static str {
        "ab"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        if p.first_line().trim_end() == "Percentage served,Time in ms" {
            Ok(())
        } else {
            Err("first line is not ab -e's 'Percentage served,Time in ms' header".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        let mut by_pct = std::collections::BTreeMap::new();
        for (i, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let (p, ms) = line
                .split_once(',')
                .and_then(|(p, ms)| {
                    Some((
                        p.trim().parse::<u32>().ok()?,
                        ms.trim().parse::<f64>().ok()?,
                    ))
                })
                .ok_or_else(|| {
                    Error::input(path, Some(i + 1), "expected 'percentage,milliseconds'")
                })?;
            by_pct.insert(p, ms);
        }
        if by_pct.is_empty() {
            return Err(Error::no_results(
                path,
                "the percentile file has a header but no rows",
            ));
        }
        let mut run = ParsedRun::new("ab", "ab-percentiles");
        run.started_at = text::mtime(path);
        run.labels.insert("time_source".into(), "file-mtime".into());
        let mut total = Target::total();
        for (pct, name) in [
            (0, "latency_min_ms"),
            (50, "latency_p50_ms"),
            (90, "latency_p90_ms"),
            (95, "latency_p95_ms"),
            (99, "latency_p99_ms"),
            (100, "latency_max_ms"),
        ] {
            total.set(name, by_pct.get(&pct).copied(), "ms");
        }
        run.targets.push(total);
        Ok(Parsed::Runs(vec![run]))
    }
}
