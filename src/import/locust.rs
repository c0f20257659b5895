//! Locust output: the `--csv` set (stats, stats_history, failures, exceptions), the `--json` /
//! `--json-file` stats list, and the 2.x HTML report (`--html`), whose `window.templateArgs`
//! carries the final statistics.
//!
//! Column names differ between Locust versions (`Request Count` vs `# requests`, `Type` vs
//! `Method`, `Aggregated` vs `Total`); they are matched through the aliases below. Note that
//! `--csv` files are written on a timer, so a stats.csv can hold slightly fewer requests than
//! the table Locust prints at exit.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::text;
use super::{read_text, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{
    self, new_histogram, ErrorCount, Parsed, ParsedRun, SeriesFeed, SourceFile, Target, TargetKind,
    TOTAL,
};

mod history;

pub struct LocustCsv;
pub struct LocustJson;
pub struct LocustHtml;

/// Canonical column -> names used by Locust versions.
const ALIASES: &[(&str, &[&str])] = &[
    ("type", &["Type", "Method"]),
    ("name", &["Name"]),
    ("requests", &["Request Count", "# requests", "# Requests"]),
    ("failures", &["Failure Count", "# failures", "# Failures"]),
    ("median", &["Median Response Time", "Median response time"]),
    ("mean", &["Average Response Time", "Average response time"]),
    ("min", &["Min Response Time", "Min response time"]),
    ("max", &["Max Response Time", "Max response time"]),
    ("content", &["Average Content Size"]),
    ("rps", &["Requests/s"]),
    ("fps", &["Failures/s"]),
    ("timestamp", &["Timestamp"]),
    ("users", &["User Count"]),
    ("total_requests", &["Total Request Count"]),
    ("total_failures", &["Total Failure Count"]),
    ("total_median", &["Total Median Response Time"]),
    ("total_mean", &["Total Average Response Time"]),
];

struct Columns(BTreeMap<String, usize>);

impl Columns {
    fn new(headers: &csv::StringRecord) -> Self {
        let mut map = BTreeMap::new();
        for (i, h) in headers.iter().enumerate() {
            let h = h.trim();
            let canon = ALIASES
                .iter()
                .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(h)))
                .map(|(c, _)| *c);
            map.insert(canon.map_or_else(|| h.to_string(), str::to_string), i);
        }
        Columns(map)
    }
    fn get<'r>(&self, rec: &'r csv::StringRecord, col: &str) -> Option<&'r str> {
        self.0.get(col).and_then(|i| rec.get(*i)).map(str::trim)
    }
    fn num(&self, rec: &csv::StringRecord, col: &str) -> Option<f64> {
        self.get(rec, col).and_then(|v| v.parse().ok())
    }
    fn byte_field<'r>(&self, rec: &'r csv::ByteRecord, col: &str) -> Option<&'r [u8]> {
        self.0
            .get(col)
            .and_then(|i| rec.get(*i))
            .map(<[u8]>::trim_ascii)
    }
    fn byte_num(&self, rec: &csv::ByteRecord, col: &str) -> Option<f64> {
        let v = std::str::from_utf8(self.byte_field(rec, col)?).ok()?;
        v.parse().ok()
    }
}

const PERCENTILE_COLS: [(&str, &str); 5] = [
    ("50%", "latency_p50_ms"),
    ("90%", "latency_p90_ms"),
    ("95%", "latency_p95_ms"),
    ("99%", "latency_p99_ms"),
    ("99.9%", "latency_p999_ms"),
];

fn is_total(name: &str, kind: &str) -> bool {
    name == "Aggregated" || (kind.is_empty() && name == "Total")
}

fn target_name(kind: &str, name: &str) -> String {
    crate::model::endpoint_name(kind, name)
}

fn csv_reader<'a>(path: &Path, text: &'a str) -> Result<(csv::Reader<&'a [u8]>, Columns)> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| Error::input(path, Some(1), format!("bad CSV header: {e}")))?
        .clone();
    Ok((rdr, Columns::new(&headers)))
}

/// The records with their lines, streamed: a long run's history has millions.
fn records<'a>(
    path: &'a Path,
    text: &'a str,
    rdr: &'a mut csv::Reader<&'a [u8]>,
) -> impl Iterator<Item = Result<(usize, csv::StringRecord)>> + 'a {
    let mut lines = text::Lines::new(text);
    rdr.records().map(move |r| {
        lines
            .record(path, r)
            .map(|(rec, line)| (line.unwrap_or(0), rec))
    })
}

impl Importer for LocustCsv {
    fn name(&self) -> &'static str {
        "locust-csv"
    }
    fn tool(&self) -> &'static str {
        "locust"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let l = p.first_line();
        let stats = (l.starts_with("Type,Name,")
            || l.starts_with("\"Method\",\"Name\"")
            || l.starts_with("Method,Name,"))
            && (l.contains("Request Count") || l.contains("# requests"));
        let history = l.starts_with("Timestamp,User Count,");
        let failures = l.starts_with("Method,Name,Error,Occurrences");
        let exceptions = l.starts_with("Count,Message,Traceback");
        if stats || history || failures || exceptions {
            Ok(())
        } else {
            Err("first line is not the header of a Locust --csv file".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let Some(stats) = unit
            .siblings
            .get("stats")
            .or((unit.siblings.is_empty()).then_some(&unit.primary))
        else {
            return Err(Error::input(
                &unit.primary,
                None,
                "a Locust CSV set needs its <prefix>_stats.csv beside this file (only the history, failures or exceptions file was found)",
            ));
        };
        let mut run = ParsedRun::new("locust", "locust-csv");
        parse_stats(stats, &mut run)?;
        let mut digested = None;
        if let Some(h) = unit.siblings.get("history") {
            digested = parse_history(h, &mut run)?;
        }
        if let Some(f) = unit.siblings.get("failures") {
            parse_failures(f, &mut run)?;
        }
        if let Some(e) = unit.siblings.get("exceptions") {
            parse_exceptions(e, &mut run)?;
        }
        if run.started_at.is_none() {
            run.started_at = text::mtime(stats);
            run.labels.insert("time_source".into(), "file-mtime".into());
        }
        run.sources = super::sources_with(unit, "output", digested.as_ref())?;
        Ok(Parsed::Runs(vec![run]))
    }
}

fn parse_stats(path: &Path, run: &mut ParsedRun) -> Result<()> {
    let text = read_text(path)?;
    let (mut rdr, cols) = csv_reader(path, &text)?;
    if !cols.0.contains_key("requests") || !cols.0.contains_key("name") {
        return Err(Error::input(
            path,
            Some(1),
            "expected a Locust stats header with Name and Request Count columns",
        ));
    }
    for r in records(path, &text, &mut rdr) {
        let (line, rec) = r?;
        let kind = cols.get(&rec, "type").unwrap_or("");
        let name = cols
            .get(&rec, "name")
            .ok_or_else(|| Error::input(path, Some(line), "row has no Name"))?;
        let mut t = if is_total(name, kind) {
            Target::total()
        } else {
            let mut t = Target::new(target_name(kind, name), TargetKind::Http);
            t.method = Some(kind.to_string()).filter(|k| !k.is_empty());
            t.url = Some(name.to_string());
            t
        };
        let requests = cols
            .num(&rec, "requests")
            .ok_or_else(|| Error::input(path, Some(line), "expected a number in Request Count"))?;
        t.set("requests", Some(requests), "count")
            .set("failures", cols.num(&rec, "failures"), "count")
            .set("latency_mean_ms", cols.num(&rec, "mean"), "ms")
            .set("latency_min_ms", cols.num(&rec, "min"), "ms")
            .set("latency_max_ms", cols.num(&rec, "max"), "ms")
            .set("throughput_rps", cols.num(&rec, "rps"), "req/s")
            .set("avg_content_size_bytes", cols.num(&rec, "content"), "bytes")
            .set(
                "bytes_received",
                cols.num(&rec, "content").map(|c| c * requests),
                "bytes",
            );
        t.set(
            "latency_p50_ms",
            cols.num(&rec, "50%").or(cols.num(&rec, "median")),
            "ms",
        );
        for (col, metric) in &PERCENTILE_COLS[1..] {
            t.set(metric, cols.num(&rec, col), "ms");
        }
        run.targets.push(t);
    }
    if run.target(TOTAL).is_none() {
        return Err(Error::input(
            path,
            Some(text.lines().count()),
            "expected an 'Aggregated' row: the file may be truncated",
        ));
    }
    if run.target(TOTAL).and_then(|t| t.get("requests")) == Some(0.0) {
        return Err(Error::no_results(
            path,
            "Locust recorded no request (Aggregated row has 0 requests)",
        ));
    }
    Ok(())
}

/// A stats_history.csv: one row per second per endpoint for the whole test (an 8-hour test
/// has 1.5 M rows, 14.7 M points), so it is read twice and never held. The first pass, here,
/// takes the run's span and its most users from the leading `Timestamp,User Count` fields of
/// each line; the points are read by the run's [`SeriesFeed`] while the run is stored.
/// Returns the file's digest when the first pass took it.
fn parse_history(path: &Path, run: &mut ParsedRun) -> Result<Option<SourceFile>> {
    let mut scan = history::scan(path)?;
    run.started_at = scan.first;
    run.ended_at = scan.last;
    run.load.users = scan.max_users.map(|u| u as i64);
    let stamp = history::Stamp::of(path)?;
    let path = path.to_path_buf();
    let blocks = scan.lines_are_rows;
    run.series_feed = Some(SeriesFeed::new(std::sync::Arc::new(move |sink| {
        history::feed(&path, &stamp, blocks, sink)
    })));
    Ok(scan.source.take())
}

fn parse_failures(path: &Path, run: &mut ParsedRun) -> Result<()> {
    let text = read_text(path)?;
    let (mut rdr, cols) = csv_reader(path, &text)?;
    for r in records(path, &text, &mut rdr) {
        let (line, rec) = r?;
        let count = cols
            .num(&rec, "Occurrences")
            .ok_or_else(|| Error::input(path, Some(line), "expected a number in Occurrences"))?;
        let target = target_name(
            cols.get(&rec, "type").unwrap_or(""),
            cols.get(&rec, "name").unwrap_or("?"),
        );
        let message = cols.get(&rec, "Error").unwrap_or("").to_string();
        run.errors.push(ErrorCount {
            target,
            kind: "failure",
            message,
            count: count as i64,
        });
    }
    Ok(())
}

fn parse_exceptions(path: &Path, run: &mut ParsedRun) -> Result<()> {
    let text = read_text(path)?;
    let (mut rdr, cols) = csv_reader(path, &text)?;
    for r in records(path, &text, &mut rdr) {
        let (line, rec) = r?;
        let count = cols
            .num(&rec, "Count")
            .ok_or_else(|| Error::input(path, Some(line), "expected a number in Count"))?;
        let message = cols.get(&rec, "Message").unwrap_or("").to_string();
        run.errors.push(ErrorCount {
            target: TOTAL.into(),
            kind: "exception",
            message,
            count: count as i64,
        });
    }
    Ok(())
}

/// One entry of `locust --json`: the raw counters of a StatsEntry.
#[derive(Deserialize)]
struct JsonEntry {
    name: String,
    method: Option<String>,
    last_request_timestamp: Option<f64>,
    start_time: f64,
    num_requests: f64,
    num_failures: f64,
    total_response_time: f64,
    max_response_time: Option<f64>,
    min_response_time: Option<f64>,
    total_content_length: Option<f64>,
    response_times: BTreeMap<String, u64>,
}

impl Importer for LocustJson {
    fn name(&self) -> &'static str {
        "locust-json"
    }
    fn tool(&self) -> &'static str {
        "locust"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let h = p.head.trim_start();
        if h.starts_with('[') && h.contains("\"num_requests\"") && h.contains("\"response_times\"")
        {
            Ok(())
        } else {
            Err("not a Locust --json stats list (needs num_requests and response_times)".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        let entries: Vec<JsonEntry> = serde_json::from_str(&text).map_err(|e| {
            Error::input(
                path,
                Some(e.line()),
                format!("expected Locust's --json list of stats entries: {e}"),
            )
        })?;
        let mut run = ParsedRun::new("locust", "locust-json");
        let mut total = Target::total();
        let mut total_hist = new_histogram();
        let (mut reqs, mut fails, mut rt, mut bytes) = (0.0, 0.0, 0.0, 0.0);
        let (mut start, mut end) = (f64::INFINITY, f64::NEG_INFINITY);
        for e in &entries {
            let method = e.method.clone().unwrap_or_default();
            let mut t = Target::new(target_name(&method, &e.name), TargetKind::Http);
            t.method = Some(method).filter(|m| !m.is_empty());
            t.url = Some(e.name.clone());
            let mut h = new_histogram();
            for (ms, n) in &e.response_times {
                if let Ok(ms) = ms.parse::<f64>() {
                    model::record_ms(&mut h, ms, *n);
                }
            }
            total_hist.add(&h).map_err(|err| {
                Error::input(path, None, format!("histogram merge failed: {err}"))
            })?;
            let span = e
                .last_request_timestamp
                .map(|l| l - e.start_time)
                .filter(|s| *s > 0.0);
            t.set("requests", Some(e.num_requests), "count")
                .set("failures", Some(e.num_failures), "count")
                .set(
                    "latency_mean_ms",
                    (e.num_requests > 0.0).then(|| e.total_response_time / e.num_requests),
                    "ms",
                )
                .set("latency_min_ms", e.min_response_time, "ms")
                .set("latency_max_ms", e.max_response_time, "ms")
                .set("bytes_received", e.total_content_length, "bytes")
                .set("throughput_rps", span.map(|s| e.num_requests / s), "req/s");
            t.histogram = Some(h);
            reqs += e.num_requests;
            fails += e.num_failures;
            rt += e.total_response_time;
            bytes += e.total_content_length.unwrap_or(0.0);
            start = start.min(e.start_time);
            end = end.max(e.last_request_timestamp.unwrap_or(e.start_time));
            run.targets.push(t);
        }
        if reqs == 0.0 {
            return Err(Error::no_results(path, "Locust recorded no request"));
        }
        total
            .set("requests", Some(reqs), "count")
            .set("failures", Some(fails), "count")
            .set("latency_mean_ms", Some(rt / reqs), "ms")
            .set("bytes_received", Some(bytes), "bytes")
            .set(
                "throughput_rps",
                (end > start).then(|| reqs / (end - start)),
                "req/s",
            );
        total.histogram = Some(total_hist);
        run.targets.insert(0, total);
        run.started_at = text::epoch(start);
        run.ended_at = text::epoch(end);
        Ok(Parsed::Runs(vec![run]))
    }
}

impl Importer for LocustHtml {
    fn name(&self) -> &'static str {
        "locust-html"
    }
    fn tool(&self) -> &'static str {
        "locust"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let h = p.head.trim_start();
        let html = h.starts_with("<!DOCTYPE html") || h.starts_with("<html");
        if html && (p.head.contains("window.templateArgs") || p.head.contains("Locust")) {
            Ok(())
        } else {
            Err("not a Locust HTML report".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        let Some(start) = text.find("window.templateArgs = ") else {
            // Locust 1.x and 2.x up to 2.15 render the statistics as HTML tables
            return parse_html_tables(path, &text).map(|r| Parsed::Runs(vec![r]));
        };
        let json_start = start + "window.templateArgs = ".len();
        let mut de = serde_json::Deserializer::from_str(&text[json_start..]);
        let args = Value::deserialize(&mut de).map_err(|e| {
            let line = text[..json_start].lines().count();
            Error::input(
                path,
                Some(line),
                format!("expected the report's templateArgs JSON: {e}"),
            )
        })?;
        parse_template_args(path, &args).map(|r| Parsed::Runs(vec![r]))
    }
}

fn parse_template_args(path: &Path, args: &Value) -> Result<ParsedRun> {
    let stats = args
        .get("requests_statistics")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::input(path, None, "templateArgs has no requests_statistics"))?;
    let mut run = ParsedRun::new("locust", "locust-html");
    run.started_at = args
        .get("start_time")
        .and_then(Value::as_str)
        .and_then(text::rfc3339);
    run.ended_at = args
        .get("end_time")
        .and_then(Value::as_str)
        .and_then(text::rfc3339);
    run.url = args.get("host").and_then(Value::as_str).map(str::to_string);
    let pct = args
        .get("response_time_statistics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for s in stats {
        let f = |k: &str| s.get(k).and_then(Value::as_f64);
        let name = s.get("name").and_then(Value::as_str).unwrap_or("?");
        let method = s.get("method").and_then(Value::as_str).unwrap_or("");
        let mut t = if is_total(name, method) {
            Target::total()
        } else {
            let mut t = Target::new(target_name(method, name), TargetKind::Http);
            t.method = Some(method.to_string()).filter(|m| !m.is_empty());
            t.url = Some(name.to_string());
            t
        };
        t.set("requests", f("num_requests"), "count")
            .set("failures", f("num_failures"), "count")
            .set("latency_mean_ms", f("avg_response_time"), "ms")
            .set("latency_min_ms", f("min_response_time"), "ms")
            .set("latency_max_ms", f("max_response_time"), "ms")
            .set("latency_p50_ms", f("median_response_time"), "ms")
            .set("latency_p95_ms", f("response_time_percentile_0.95"), "ms")
            .set("latency_p99_ms", f("response_time_percentile_0.99"), "ms")
            .set("throughput_rps", f("total_rps"), "req/s")
            .set("avg_content_size_bytes", f("avg_content_length"), "bytes");
        if let Some(p) = pct.iter().find(|p| {
            p.get("name").and_then(Value::as_str) == Some(name)
                && p.get("method").and_then(Value::as_str).unwrap_or("") == method
        }) {
            t.set("latency_p90_ms", p.get("0.9").and_then(Value::as_f64), "ms");
        }
        run.targets.push(t);
    }
    if run
        .target(TOTAL)
        .and_then(|t| t.get("requests"))
        .unwrap_or(0.0)
        == 0.0
    {
        return Err(Error::no_results(path, "the report holds no request"));
    }
    for f in args
        .get("failures_statistics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let target = target_name(
            f.get("method").and_then(Value::as_str).unwrap_or(""),
            f.get("name").and_then(Value::as_str).unwrap_or("?"),
        );
        let message = f
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let count = f.get("occurrences").and_then(Value::as_i64).unwrap_or(0);
        run.errors.push(ErrorCount {
            target,
            kind: "failure",
            message,
            count,
        });
    }
    for e in args
        .get("exceptions_statistics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let message = e
            .get("msg")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let count = e.get("count").and_then(Value::as_i64).unwrap_or(0);
        run.errors.push(ErrorCount {
            target: TOTAL.into(),
            kind: "exception",
            message,
            count,
        });
    }
    Ok(run)
}

/// `&lt;legacy &amp; &quot;quoted&quot;&gt;` -> `<legacy & "quoted">`.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The text of every `<tag ...>text</tag>` in `html`, in order, unescaped.
fn cells(html: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        // `<th` must not match `<thead`
        if !after.starts_with('>') && !after.starts_with(' ') {
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        let body = &after[gt + 1..];
        let Some(end) = body.find(&close) else { break };
        out.push(unescape(body[..end].trim()));
        rest = &body[end + close.len()..];
    }
    out
}

/// The table under `<h2>{title}</h2>`: its header cells and its rows of cells.
fn html_table(html: &str, title: &str) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    let start = html.find(&format!("<h2>{title}</h2>"))?;
    let rest = &html[start..];
    let end = rest.find("</table>")?;
    let table = &rest[..end];
    let (head, body) = table.split_once("</thead>")?;
    let header = cells(head, "th");
    let rows = body
        .split("</tr>")
        .map(|r| cells(r, "td"))
        .filter(|r| !r.is_empty())
        .collect();
    Some((header, rows))
}

/// "During: 2026-11-27 06:40:13 - 2026-11-27 06:40:16" (1.x), or the same in two spans (2.x).
fn html_during(html: &str) -> (Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>) {
    let Some(i) = html.find("<p>During:") else {
        return (None, None);
    };
    let line = &html[i..html[i..].find("</p>").map_or(html.len(), |e| i + e)];
    let mut plain = String::new();
    let mut in_tag = false;
    for c in line.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let plain = plain.trim_start_matches("During:");
    let mut parts = plain.split(" - ").map(|t| text::parse_time(t.trim()));
    (parts.next().flatten(), parts.next().flatten())
}

/// A Locust report whose statistics are HTML tables (1.x, 2.x up to 2.15).
fn parse_html_tables(path: &Path, html: &str) -> Result<ParsedRun> {
    if !html.trim_end().ends_with("</html>") {
        let n = html.lines().count();
        return Err(Error::input(
            path,
            Some(n.max(1)),
            format!("truncated: expected the report to end with </html> after line {n}"),
        ));
    }
    let (header, rows) = html_table(html, "Request Statistics").ok_or_else(|| {
        Error::input(
            path,
            None,
            "expected Locust's embedded templateArgs or its 'Request Statistics' table",
        )
    })?;
    let col = |h: &[String], name: &str| h.iter().position(|c| c == name);
    let num = |row: &[String], i: Option<usize>| {
        i.and_then(|i| row.get(i))
            .and_then(|v| v.parse::<f64>().ok())
    };
    let mut run = ParsedRun::new("locust", "locust-html-tables");
    (run.started_at, run.ended_at) = html_during(html);
    run.url = html
        .split("<p>Target Host: <span>")
        .nth(1)
        .and_then(|r| r.split("</span>").next())
        .map(unescape);
    let key = |row: &[String], h: &[String]| {
        let method = col(h, "Method")
            .and_then(|i| row.get(i))
            .cloned()
            .unwrap_or_default();
        let name = col(h, "Name")
            .and_then(|i| row.get(i))
            .cloned()
            .unwrap_or_default();
        (method, name)
    };
    for row in &rows {
        let (method, name) = key(row, &header);
        let mut t = if is_total(&name, &method) {
            Target::total()
        } else {
            let mut t = Target::new(target_name(&method, &name), TargetKind::Http);
            t.method = Some(method.clone()).filter(|m| !m.is_empty());
            t.url = Some(name.clone());
            t
        };
        let h = &header;
        t.set("requests", num(row, col(h, "# Requests")), "count")
            .set("failures", num(row, col(h, "# Fails")), "count")
            .set("latency_mean_ms", num(row, col(h, "Average (ms)")), "ms")
            .set("latency_min_ms", num(row, col(h, "Min (ms)")), "ms")
            .set("latency_max_ms", num(row, col(h, "Max (ms)")), "ms")
            .set(
                "avg_content_size_bytes",
                num(row, col(h, "Average size (bytes)")),
                "bytes",
            )
            .set("throughput_rps", num(row, col(h, "RPS")), "req/s")
            .set("failures_per_s", num(row, col(h, "Failures/s")), "req/s");
        run.targets.push(t);
    }
    if let Some((h, prows)) = html_table(html, "Response Time Statistics") {
        for row in &prows {
            let (method, name) = key(row, &h);
            let target = if is_total(&name, &method) {
                TOTAL.to_string()
            } else {
                target_name(&method, &name)
            };
            let Some(t) = run.target_mut(&target) else {
                continue;
            };
            for (i, c) in h.iter().enumerate() {
                // "95%ile (ms)" -> latency_p95_ms; 100%ile is the max, kept from the other table
                let Some(p) = c.strip_suffix("%ile (ms)") else {
                    continue;
                };
                if p != "100" {
                    t.set(&format!("latency_p{p}_ms"), num(row, Some(i)), "ms");
                }
            }
        }
    }
    if run
        .target(TOTAL)
        .and_then(|t| t.get("requests"))
        .unwrap_or(0.0)
        == 0.0
    {
        return Err(Error::no_results(path, "the report holds no request"));
    }
    if let Some((h, frows)) = html_table(html, "Failures Statistics") {
        for row in &frows {
            let (method, name) = key(row, &h);
            run.errors.push(ErrorCount {
                target: target_name(&method, &name),
                kind: "failure",
                message: col(&h, "Error")
                    .and_then(|i| row.get(i))
                    .cloned()
                    .unwrap_or_default(),
                count: num(row, col(&h, "Occurrences")).unwrap_or(0.0) as i64,
            });
        }
    }
    if let Some((h, erows)) = html_table(html, "Exceptions Statistics") {
        for row in &erows {
            run.errors.push(ErrorCount {
                target: TOTAL.into(),
                kind: "exception",
                message: col(&h, "Message")
                    .and_then(|i| row.get(i))
                    .cloned()
                    .unwrap_or_default(),
                count: num(row, col(&h, "Count")).unwrap_or(0.0) as i64,
            });
        }
    }
    Ok(run)
}
