//! HdrHistogram interval logs (`.hlog`), as the reference implementation's `HistogramLogWriter`
//! writes them and wrk2, Cassandra stress, YCSB, memtier and many Java harnesses produce:
//! comment lines (`#[...]`, among them `#[StartTime: ...]` and `#[BaseTime: ...]`), a legend,
//! then one line per interval `[Tag=T,]start,length,max,HISTF...` holding a compressed histogram.
//!
//! Each tag's interval histograms are added exactly, in the log's own units and precision, and
//! the percentiles are read from that sum by HdrHistogram's own rule (`getValueAtPercentile`:
//! the nearest rank, reported as the highest value equivalent to it), so they are the numbers
//! `HistogramLogProcessor -tag T` prints. A tag is a target; untagged intervals are TOTAL (a
//! harness that logs per endpoint usually logs all requests untagged too); a log with tags only
//! gets TOTAL as the sum of its tags. Every interval is also a point of the run's series.
//!
//! The format names no unit. A comment saying "nanoseconds", "microseconds" or
//! "milliseconds" sets it; otherwise `import --value-unit` does, and the default is
//! nanoseconds, as `HistogramLogProcessor` assumes. The unit used is stored as label
//! `hlog_value_unit`. Interval times follow `HistogramLogReader`: with BaseTime they are offsets
//! from it; with StartTime only, offsets when they are more than a year smaller than it; else
//! seconds since the epoch. A log holds latencies only: no request failures.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;

use super::{read_text, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{
    self, new_histogram, Parsed, ParsedRun, SeriesPoint, Target, TargetKind, TOTAL,
};

pub struct HdrLog;

/// Seconds in a year: `HistogramLogReader`'s threshold between offsets and epoch times.
const YEAR_S: f64 = 365.25 * 24.0 * 3600.0;

impl Importer for HdrLog {
    fn name(&self) -> &'static str {
        "hdr-interval-log"
    }
    fn tool(&self) -> &'static str {
        "hdrhistogram"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let h = p.head;
        if h.contains("HISTF") && (h.starts_with("#[") || h.starts_with("\"StartTimestamp\"")) {
            Ok(())
        } else {
            Err("no HdrHistogram interval log: '#[' comments and 'HISTF' histograms".into())
        }
    }
    fn parse(&self, unit: &Unit, opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        let (unit_ms, unit_name) = value_unit(&text, opts.value_unit);
        let log = read_log(path, &text)?;
        let mut run = ParsedRun::new("hdrhistogram", "hdr-interval-log");
        run.labels
            .insert("hlog_value_unit".into(), unit_name.into());
        let (first, last) = log
            .span()
            .ok_or_else(|| Error::no_results(path, "the log holds no interval histogram"))?;
        run.started_at = at(first);
        run.ended_at = at(last);
        run.duration_s = Some(last - first);
        let tagged_only = !log.tags.contains_key("");
        let mut total: Option<Histogram<u64>> = None;
        for (tag, series) in &log.tags {
            let sum = series.sum()?;
            if tagged_only {
                merge(&mut total, &sum)?;
            }
            let name = if tag.is_empty() { TOTAL } else { tag.as_str() };
            run.targets.push(target(name, &sum, unit_ms, last - first));
            series.push_points(name, unit_ms, &mut run.series);
        }
        if let Some(t) = total {
            run.targets
                .insert(0, target(TOTAL, &t, unit_ms, last - first));
        }
        Ok(Parsed::Runs(vec![run]))
    }
}

/// The unit a comment line names, else the user's, else nanoseconds.
fn value_unit(text: &str, given: Option<(f64, &'static str)>) -> (f64, &'static str) {
    let comments = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .collect::<String>();
    let c = comments.to_ascii_lowercase();
    for (word, ms, name) in [
        ("nanosecond", 1e-6, "ns"),
        ("microsecond", 1e-3, "us"),
        ("millisecond", 1.0, "ms"),
    ] {
        if c.contains(word) {
            return (ms, name);
        }
    }
    given.unwrap_or((1e-6, "ns"))
}

/// One tag's intervals: (start in epoch seconds, length in seconds, histogram).
#[derive(Default)]
struct Series(Vec<(f64, f64, Histogram<u64>)>);

impl Series {
    fn sum(&self) -> Result<Histogram<u64>> {
        let mut out: Option<Histogram<u64>> = None;
        for (_, _, h) in &self.0 {
            merge(&mut out, h)?;
        }
        out.ok_or_else(|| Error::Internal("a tag without intervals".into()))
    }

    fn push_points(&self, target: &str, unit_ms: f64, out: &mut Vec<SeriesPoint>) {
        for (start, _, h) in &self.0 {
            let Some(ts) = at(*start) else {
                continue;
            };
            let mut push = |metric: &'static str, value: f64| {
                out.push(SeriesPoint {
                    target: target.into(),
                    ts,
                    metric,
                    value,
                });
            };
            push("requests", h.len() as f64);
            if !h.is_empty() {
                push("latency_mean_ms", h.mean() * unit_ms);
                push("latency_p99_ms", h.value_at_quantile(0.99) as f64 * unit_ms);
            }
        }
    }
}

fn merge(into: &mut Option<Histogram<u64>>, h: &Histogram<u64>) -> Result<()> {
    match into {
        Some(m) => m
            .add(h)
            .map_err(|e| Error::Internal(format!("histogram merge: {e:?}"))),
        None => {
            *into = Some(h.clone());
            Ok(())
        }
    }
}

struct Log {
    tags: BTreeMap<String, Series>,
}

impl Log {
    fn span(&self) -> Option<(f64, f64)> {
        let all = self.tags.values().flat_map(|s| s.0.iter());
        let first = all.clone().map(|(s, _, _)| *s).reduce(f64::min)?;
        let last = all.map(|(s, l, _)| s + l).reduce(f64::max)?;
        Some((first, last))
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Epoch seconds as a warehouse time, to the microsecond: the log's times have at most
/// millisecond digits, so the float's last bits (22.292000055) are not kept.
fn at(epoch_s: f64) -> Option<chrono::NaiveDateTime> {
    let us = (epoch_s * 1e6).round();
    (us.is_finite() && us.abs() < 9e15)
        .then(|| chrono::DateTime::from_timestamp_micros(us as i64))
        .flatten()
        .map(|t| t.naive_utc())
}

/// Reads every interval, decoding its histogram; errors name the line.
fn read_log(path: &Path, text: &str) -> Result<Log> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let mut start_time: Option<f64> = None;
    let mut base_time: Option<f64> = None;
    let mut tags: BTreeMap<String, Series> = BTreeMap::new();
    let mut de = Deserializer::new();
    for entry in IntervalLogIterator::new(text.as_bytes()) {
        let entry = entry.map_err(|e| {
            let hdrhistogram::serialization::interval_log::LogIteratorError::ParseError { offset } =
                e;
            Error::input(
                path,
                Some(line_of(offset)),
                "expected an interval line '[Tag=T,]start,length,max,HISTF...' or a '#' comment",
            )
        })?;
        match entry {
            LogEntry::StartTime(t) => start_time = Some(secs(t)),
            LogEntry::BaseTime(t) => base_time = Some(secs(t)),
            LogEntry::Interval(i) => {
                let at = i.encoded_histogram();
                let offset = at.as_ptr() as usize - text.as_ptr() as usize;
                let h = decode(&mut de, at).map_err(|why| {
                    Error::input(
                        path,
                        Some(line_of(offset)),
                        format!("bad interval histogram: {why}"),
                    )
                })?;
                let ts = secs(i.start_timestamp());
                let base = match (base_time, start_time) {
                    (Some(b), _) => b,
                    (None, Some(s)) if ts < s - YEAR_S => s,
                    _ => 0.0,
                };
                let tag = i.tag().map_or(String::new(), |t| t.as_str().to_string());
                tags.entry(tag)
                    .or_default()
                    .0
                    .push((base + ts, secs(i.duration()), h));
            }
        }
    }
    Ok(Log { tags })
}

fn decode(de: &mut Deserializer, b64: &str) -> std::result::Result<Histogram<u64>, String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    de.deserialize::<u64, _>(&mut std::io::Cursor::new(bytes))
        .map_err(|e| format!("{e:?}"))
}

/// A target from a sum of intervals in the log's unit: its own figures, and the histogram
/// converted to perfledger's microseconds for comparisons and exports.
fn target(name: &str, h: &Histogram<u64>, unit_ms: f64, span: f64) -> Target {
    let kind = if name == TOTAL {
        TargetKind::Total
    } else {
        TargetKind::Http
    };
    let mut t = Target::new(name, kind);
    let ms = |v: u64| v as f64 * unit_ms;
    t.set("requests", Some(h.len() as f64), "count")
        .set("failures", Some(0.0), "count")
        .set(
            "throughput_rps",
            (span > 0.0).then(|| h.len() as f64 / span),
            "req/s",
        )
        .set("latency_mean_ms", Some(h.mean() * unit_ms), "ms")
        .set("latency_stddev_ms", Some(h.stdev() * unit_ms), "ms")
        .set("latency_min_ms", Some(ms(h.min())), "ms")
        .set("latency_max_ms", Some(ms(h.max())), "ms");
    for (metric, q) in [
        ("latency_p50_ms", 0.5),
        ("latency_p90_ms", 0.9),
        ("latency_p95_ms", 0.95),
        ("latency_p99_ms", 0.99),
        ("latency_p999_ms", 0.999),
    ] {
        t.set(metric, Some(ms(h.value_at_quantile(q))), "ms");
    }
    let mut ours = new_histogram();
    for v in h.iter_recorded() {
        model::record_ms(&mut ours, ms(v.value_iterated_to()), v.count_at_value());
    }
    t.histogram = Some(ours);
    t
}
