//! k6 per-request points: `--out json` NDJSON (plain or `.gz`) and `--out csv`.
//!
//! Points are folded as they stream past into one latency histogram per target and per-second
//! buckets; no sample is kept, so memory does not grow with the file. A target is an HTTP
//! request's `method` + `name` tag (k6 sets `name` to the URL unless the script names it);
//! the scenario and group tags it was seen with are kept as its tags, and failed requests are
//! counted per status in the error table.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use hdrhistogram::Histogram;
use serde::Deserialize;

use super::text;
use super::{ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{
    self, new_histogram, ErrorCount, Parsed, ParsedRun, SeriesPoint, Target, TargetKind, TOTAL,
};

pub struct K6Ndjson;
pub struct K6Csv;

#[derive(Default)]
struct HttpAgg {
    method: String,
    name: String,
    tags: BTreeMap<String, String>,
    requests: u64,
    failures: u64,
    hist: Option<Histogram<u64>>,
    by_status: BTreeMap<String, u64>,
}

#[derive(Default)]
struct CustomAgg {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    last: f64,
    nonzero: u64,
}

/// Folds k6 points into per-target figures.
#[derive(Default)]
pub struct PointAgg {
    http: HashMap<(String, String), HttpAgg>,
    total: Option<Histogram<u64>>,
    total_requests: u64,
    total_failures: u64,
    /// (second, target) -> (requests, failures, latency sum ms)
    per_second: BTreeMap<(i64, String), (u64, u64, f64)>,
    vus: BTreeMap<i64, f64>,
    custom: BTreeMap<String, (String, CustomAgg)>,
    kinds: HashMap<String, String>,
    checks: BTreeMap<String, (u64, u64)>,
    first: Option<f64>,
    last: Option<f64>,
    data_received: f64,
    data_sent: f64,
}

/// One point with borrowed tag lookups.
pub struct Point<'a, F: Fn(&str) -> Option<&'a str>> {
    pub metric: &'a str,
    pub time: f64,
    pub value: f64,
    pub tag: F,
}

impl PointAgg {
    fn declare(&mut self, metric: &str, kind: &str) {
        self.kinds.insert(metric.to_string(), kind.to_string());
    }

    pub fn add<'a, F: Fn(&str) -> Option<&'a str>>(&mut self, p: Point<'a, F>) {
        if !p.value.is_finite() {
            return;
        }
        self.first = Some(self.first.map_or(p.time, |f: f64| f.min(p.time)));
        self.last = Some(self.last.map_or(p.time, |l: f64| l.max(p.time)));
        let sec = p.time.floor() as i64;
        match p.metric {
            "http_req_duration" | "http_reqs" | "http_req_failed" => self.add_http(&p, sec),
            "vus" => {
                self.vus.insert(sec, p.value);
            }
            "checks" => {
                let e = self
                    .checks
                    .entry((p.tag)("check").unwrap_or("?").to_string())
                    .or_default();
                if p.value != 0.0 {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
            "data_received" => self.data_received += p.value,
            "data_sent" => self.data_sent += p.value,
            m if m.starts_with("http_req_")
                || m == "vus_max"
                || m == "iterations"
                || m == "iteration_duration" => {}
            m => {
                let kind = self.kinds.get(m).cloned().unwrap_or_default();
                let e = self.custom.entry(m.to_string()).or_insert_with(|| {
                    (
                        kind,
                        CustomAgg {
                            min: f64::INFINITY,
                            max: f64::NEG_INFINITY,
                            ..Default::default()
                        },
                    )
                });
                let a = &mut e.1;
                a.count += 1;
                a.sum += p.value;
                a.min = a.min.min(p.value);
                a.max = a.max.max(p.value);
                a.last = p.value;
                if p.value != 0.0 {
                    a.nonzero += 1;
                }
            }
        }
    }

    fn add_http<'a, F: Fn(&str) -> Option<&'a str>>(&mut self, p: &Point<'a, F>, sec: i64) {
        let method = (p.tag)("method").unwrap_or("").to_string();
        let name = (p.tag)("name")
            .or((p.tag)("url"))
            .unwrap_or("?")
            .to_string();
        let key = format!("{method} {name}").trim().to_string();
        let agg = self
            .http
            .entry((method.clone(), name.clone()))
            .or_insert_with(|| HttpAgg {
                method,
                name,
                ..Default::default()
            });
        for tag in ["scenario", "group"] {
            if let Some(v) = (p.tag)(tag) {
                let e = agg
                    .tags
                    .entry(tag.to_string())
                    .or_insert_with(|| v.to_string());
                if e != v && !e.split(" | ").any(|x| x == v) {
                    e.push_str(" | ");
                    e.push_str(v);
                }
            }
        }
        let bucket = self.per_second.entry((sec, key)).or_default();
        match p.metric {
            "http_reqs" => {
                agg.requests += p.value as u64;
                self.total_requests += p.value as u64;
                bucket.0 += p.value as u64;
            }
            "http_req_failed" => {
                if p.value != 0.0 {
                    agg.failures += 1;
                    self.total_failures += 1;
                    bucket.1 += 1;
                    *agg.by_status
                        .entry((p.tag)("status").unwrap_or("?").to_string())
                        .or_default() += 1;
                }
            }
            _ => {
                model::record_ms(agg.hist.get_or_insert_with(new_histogram), p.value, 1);
                model::record_ms(self.total.get_or_insert_with(new_histogram), p.value, 1);
                bucket.2 += p.value;
            }
        }
    }

    pub fn finish(self, path: &Path, format: &'static str) -> Result<ParsedRun> {
        if self.total_requests == 0 && self.http.is_empty() {
            return Err(Error::no_results(
                path,
                "no http_reqs points: the test made no HTTP request",
            ));
        }
        let mut run = ParsedRun::new("k6", format);
        run.started_at = self.first.and_then(text::epoch);
        run.ended_at = self.last.and_then(text::epoch);
        let span = self
            .last
            .zip(self.first)
            .map(|(l, f)| l - f)
            .filter(|s| *s > 0.0);
        run.load.users = self
            .vus
            .values()
            .copied()
            .reduce(f64::max)
            .map(|v| v as i64);
        let mut total = Target::total();
        total
            .set("requests", Some(self.total_requests as f64), "count")
            .set("failures", Some(self.total_failures as f64), "count")
            .set(
                "throughput_rps",
                span.map(|s| self.total_requests as f64 / s),
                "req/s",
            )
            .set(
                "bytes_received",
                Some(self.data_received).filter(|v| *v > 0.0),
                "bytes",
            )
            .set(
                "bytes_sent",
                Some(self.data_sent).filter(|v| *v > 0.0),
                "bytes",
            );
        total.histogram = self.total;
        run.targets.push(total);
        let mut http: Vec<_> = self.http.into_values().collect();
        http.sort_by(|a, b| (&a.method, &a.name).cmp(&(&b.method, &b.name)));
        for a in http {
            let name = format!("{} {}", a.method, a.name).trim().to_string();
            let mut t = Target::new(name.clone(), TargetKind::Http);
            t.method = Some(a.method).filter(|m| !m.is_empty());
            t.url = Some(a.name);
            t.tags = Some(a.tags).filter(|t| !t.is_empty());
            t.set("requests", Some(a.requests as f64), "count")
                .set("failures", Some(a.failures as f64), "count")
                .set(
                    "throughput_rps",
                    span.map(|s| a.requests as f64 / s),
                    "req/s",
                );
            t.histogram = a.hist;
            for (status, n) in a.by_status {
                run.errors.push(ErrorCount {
                    target: name.clone(),
                    kind: "status",
                    message: format!("status {status}"),
                    count: n as i64,
                });
            }
            run.targets.push(t);
        }
        for ((sec, target), (n, f, sum)) in &self.per_second {
            let ts = text::epoch(*sec as f64).expect("valid epoch second");
            let mut push = |target: &str, metric: &'static str, value: f64| {
                run.series.push(SeriesPoint {
                    target: target.to_string(),
                    ts,
                    metric,
                    value,
                })
            };
            push(target, "requests", *n as f64);
            push(target, "failures", *f as f64);
            if *n > 0 {
                push(target, "latency_mean_ms", sum / *n as f64);
            }
        }
        for (sec, v) in &self.vus {
            run.series.push(SeriesPoint {
                target: TOTAL.into(),
                ts: text::epoch(*sec as f64).expect("valid"),
                metric: "vus",
                value: *v,
            });
        }
        for (check, (pass, fail)) in self.checks {
            if fail > 0 {
                run.errors.push(ErrorCount {
                    target: TOTAL.into(),
                    kind: "check",
                    message: check.clone(),
                    count: fail as i64,
                });
            }
            let mut t = Target::new(format!("check: {check}"), TargetKind::Metric);
            t.set("passes", Some(pass as f64), "count")
                .set("fails", Some(fail as f64), "count");
            run.targets.push(t);
        }
        for (name, (kind, a)) in self.custom {
            let mut t = Target::new(name, TargetKind::Metric);
            match kind.as_str() {
                "counter" => {
                    t.set("count", Some(a.sum), "")
                        .set("rate", span.map(|s| a.sum / s), "/s");
                }
                "rate" => {
                    t.set("rate", Some(a.nonzero as f64 / a.count as f64), "ratio")
                        .set("passes", Some(a.nonzero as f64), "count")
                        .set("fails", Some((a.count - a.nonzero) as f64), "count");
                }
                "gauge" => {
                    t.set("value", Some(a.last), "")
                        .set("min", Some(a.min), "")
                        .set("max", Some(a.max), "");
                }
                _ => {
                    t.set("value_mean", Some(a.sum / a.count as f64), "")
                        .set("value_min", Some(a.min), "")
                        .set("value_max", Some(a.max), "")
                        .set("count", Some(a.count as f64), "count");
                }
            }
            run.targets.push(t);
        }
        Ok(run)
    }
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(borrow)]
    metric: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    data: Option<LineData<'a>>,
}

#[derive(Deserialize)]
struct LineData<'a> {
    #[serde(borrow)]
    time: Option<std::borrow::Cow<'a, str>>,
    value: Option<f64>,
    #[serde(borrow, default)]
    tags: Option<HashMap<std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>>>,
    #[serde(rename = "type", borrow)]
    metric_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<std::borrow::Cow<'a, str>>,
}

fn open(path: &Path) -> Result<(Box<dyn BufRead>, bool)> {
    let f = std::fs::File::open(path)
        .map_err(|e| Error::input(path, None, format!("cannot read: {e}")))?;
    let mut r = BufReader::with_capacity(1 << 20, f);
    let gz = r
        .fill_buf()
        .map(|b| b.starts_with(&[0x1f, 0x8b]))
        .unwrap_or(false);
    Ok(if gz {
        (
            Box::new(BufReader::with_capacity(
                1 << 20,
                flate2::read::MultiGzDecoder::new(r),
            )),
            true,
        )
    } else {
        (Box::new(r), false)
    })
}

/// Reads lines, reporting I/O and gzip errors with the line they interrupted.
fn for_each_line(path: &Path, mut f: impl FnMut(usize, &str) -> Result<()>) -> Result<()> {
    let (mut r, gz) = open(path)?;
    let what = if gz {
        "the gzip stream is truncated or damaged"
    } else {
        "read failed"
    };
    let mut buf = Vec::with_capacity(4096);
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let n = r
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::input(path, Some(line_no + 1), format!("{what}: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        let line = std::str::from_utf8(&buf)
            .map_err(|_| Error::input(path, Some(line_no), "invalid UTF-8"))?;
        let line = line.trim_end();
        if !line.is_empty() {
            f(line_no, line)?;
        }
    }
}

impl Importer for K6Ndjson {
    fn name(&self) -> &'static str {
        "k6-ndjson"
    }
    fn tool(&self) -> &'static str {
        "k6"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let l = p.first_line();
        let point = l.starts_with('{')
            && (l.contains("\"type\":\"Metric\"") || l.contains("\"type\":\"Point\""));
        if point {
            Ok(())
        } else {
            Err("first line is not a k6 --out json Metric or Point object".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let mut agg = PointAgg::default();
        for_each_line(path, |no, line| {
            let l: Line = serde_json::from_str(line).map_err(|e| {
                Error::input(path, Some(no), format!("expected a k6 JSON point: {e}"))
            })?;
            let Some(data) = l.data else { return Ok(()) };
            match l.kind {
                "Metric" => {
                    if let (Some(name), Some(t)) =
                        (data.name.as_deref(), data.metric_type.as_deref())
                    {
                        agg.declare(name, t);
                    }
                }
                "Point" => {
                    let (Some(metric), Some(time), Some(value)) =
                        (l.metric.as_deref(), data.time.as_deref(), data.value)
                    else {
                        return Err(Error::input(
                            path,
                            Some(no),
                            "a Point needs metric, data.time and data.value",
                        ));
                    };
                    let t = text::rfc3339(time).ok_or_else(|| {
                        Error::input(
                            path,
                            Some(no),
                            format!("expected an RFC 3339 time, found '{time}'"),
                        )
                    })?;
                    let secs = t.and_utc().timestamp_micros() as f64 / 1e6;
                    let tags = data.tags.as_ref();
                    agg.add(Point {
                        metric,
                        time: secs,
                        value,
                        tag: |k: &str| tags.and_then(|m| m.get(k)).map(|v| v.as_ref()),
                    });
                }
                _ => {}
            }
            Ok(())
        })?;
        agg.finish(path, "k6-ndjson").map(|r| Parsed::Runs(vec![r]))
    }
}

impl Importer for K6Csv {
    fn name(&self) -> &'static str {
        "k6-csv"
    }
    fn tool(&self) -> &'static str {
        "k6"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        if p.first_line()
            .starts_with("metric_name,timestamp,metric_value")
        {
            Ok(())
        } else {
            Err(
                "first line is not k6 --out csv's 'metric_name,timestamp,metric_value,...' header"
                    .into(),
            )
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let reader: Box<dyn Read> = Box::new(open(path)?.0);
        let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
        let headers = rdr
            .headers()
            .map_err(|e| Error::input(path, Some(1), format!("bad CSV header: {e}")))?
            .clone();
        let col = |name: &str| headers.iter().position(|h| h == name);
        let (Some(mi), Some(ti), Some(vi)) =
            (col("metric_name"), col("timestamp"), col("metric_value"))
        else {
            return Err(Error::input(
                path,
                Some(1),
                "expected columns metric_name, timestamp, metric_value",
            ));
        };
        let tag_cols: Vec<(String, usize)> = headers
            .iter()
            .enumerate()
            .filter(|(i, _)| ![mi, ti, vi].contains(i))
            .map(|(i, h)| (h.to_string(), i))
            .collect();
        let mut agg = PointAgg::default();
        for k in ["http_reqs", "http_req_failed", "checks"] {
            agg.declare(k, if k == "http_reqs" { "counter" } else { "rate" });
        }
        let mut rec = csv::StringRecord::new();
        let mut rows = 0usize;
        loop {
            // k6 writes one record per line after the header: record n is on line n + 2
            let line = Some(rows + 2);
            let more = rdr
                .read_record(&mut rec)
                .map_err(|e| Error::input(path, line, format!("malformed CSV row: {e}")))?;
            if !more {
                break;
            }
            rows += 1;
            let parse = |i: usize, what: &str| -> Result<f64> {
                rec.get(i).and_then(|v| v.parse().ok()).ok_or_else(|| {
                    Error::input(path, line, format!("expected a number in column {what}"))
                })
            };
            let time = parse(ti, "timestamp")?;
            let value = parse(vi, "metric_value")?;
            let metric = rec.get(mi).unwrap_or("");
            let r = &rec;
            agg.add(Point {
                metric,
                time,
                value,
                tag: |k: &str| {
                    tag_cols
                        .iter()
                        .find(|(h, _)| h == k)
                        .and_then(|(_, i)| r.get(*i))
                        .filter(|v| !v.is_empty())
                },
            });
        }
        agg.finish(path, "k6-csv").map(|r| Parsed::Runs(vec![r]))
    }
}
