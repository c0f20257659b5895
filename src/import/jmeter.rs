//! JMeter JTL results (<https://jmeter.apache.org/usermanual/listeners.html>), as CSV (with or
//! without the header line) and as XML (`jmeter.save.saveservice.output_format=xml`).
//!
//! A JTL holds one record per sample: its start time (`timeStamp`/`ts`, epoch ms: JMeter's
//! default `sampleresult.timestamp.start` puts the start there, and the rows come in completion
//! order), `elapsed`/`t` (ms), `label`/`lb`, `responseCode`/`rc`, `success`/`s`, `bytes`/`by`,
//! `Latency`/`lt` (time to first byte), `Connect`/`ct` and `allThreads`/`na`. Each label
//! becomes a target (the sampler's name, as JMeter's listeners group them) with a histogram of
//! its elapsed times, folded as the records stream past; TOTAL is their sum. A failed sample
//! (`success` false) counts by its response code: `HTTP 404`, or JMeter's "Non HTTP response
//! code: ..." text as it wrote it.
//!
//! Percentiles follow JMeter's Aggregate Report (`StatCalculator.getPercentPoint`: the value of
//! rank round(n q)), [`model::PercentileRule::RoundedRank`]. The JTL names no JMeter version and
//! no test plan; the load profile is the most threads `allThreads` saw. In the XML, samples
//! nested in another sample (redirects, embedded resources) are part of their parent's time and
//! are not counted again.
//!
//! Headerless CSV is read in JMeter's default column order (`timeStamp, elapsed, label,
//! responseCode, responseMessage, threadName, dataType, success, bytes, grpThreads,
//! allThreads, Latency`, then `Connect` when saved).

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::Path;

use hdrhistogram::Histogram;

use super::{maybe_gz, text, Digesting, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{self, new_histogram, ErrorCount, Parsed, ParsedRun, Target, TargetKind};

pub struct JmeterCsv;
pub struct JmeterXml;

/// JMeter 2.13's default CSV columns, for a file without the header line.
const DEFAULT_COLUMNS: [&str; 13] = [
    "timeStamp",
    "elapsed",
    "label",
    "responseCode",
    "responseMessage",
    "threadName",
    "dataType",
    "success",
    "bytes",
    "grpThreads",
    "allThreads",
    "Latency",
    "Connect",
];

/// One sample, as both forms give it.
struct Sample<'a> {
    start_ms: i64,
    elapsed_ms: f64,
    label: &'a str,
    code: &'a str,
    success: bool,
    bytes: Option<f64>,
    latency_ms: Option<f64>,
    connect_ms: Option<f64>,
    threads: Option<i64>,
}

#[derive(Default)]
struct LabelAgg {
    label: String,
    samples: u64,
    failures: u64,
    sum_ms: f64,
    /// exact, as JMeter wrote them (the histogram's are its bucket edges)
    min_ms: Option<f64>,
    max_ms: Option<f64>,
    /// first start and last end (epoch ms): JMeter's throughput is per label over its own span
    span_ms: Option<(i64, i64)>,
    hist: Option<Histogram<u64>>,
    bytes: f64,
    /// (sum, count) of the time to first byte and of the connect time
    latency: (f64, u64),
    connect: (f64, u64),
    /// failed samples per response code
    failed_by_code: BTreeMap<String, u64>,
}

/// Folds samples per label; memory holds one histogram per label, never the samples.
#[derive(Default)]
struct Agg {
    labels: Vec<LabelAgg>,
    ids: HashMap<String, usize>,
    /// second of the sample start -> (samples, elapsed sum in ms)
    per_second: BTreeMap<i64, (u64, f64)>,
    first_ms: Option<i64>,
    last_end_ms: Option<i64>,
    threads: Option<i64>,
}

impl Agg {
    fn add(&mut self, s: &Sample) {
        let id = match self.ids.get(s.label) {
            Some(id) => *id,
            None => {
                self.labels.push(LabelAgg {
                    label: s.label.to_string(),
                    ..Default::default()
                });
                self.ids.insert(s.label.to_string(), self.labels.len() - 1);
                self.labels.len() - 1
            }
        };
        let a = &mut self.labels[id];
        a.samples += 1;
        a.sum_ms += s.elapsed_ms;
        a.min_ms = Some(a.min_ms.map_or(s.elapsed_ms, |m| m.min(s.elapsed_ms)));
        a.max_ms = Some(a.max_ms.map_or(s.elapsed_ms, |m| m.max(s.elapsed_ms)));
        model::record_ms(a.hist.get_or_insert_with(new_histogram), s.elapsed_ms, 1);
        a.bytes += s.bytes.unwrap_or(0.0);
        for (acc, v) in [
            (&mut a.latency, s.latency_ms),
            (&mut a.connect, s.connect_ms),
        ] {
            if let Some(v) = v {
                acc.0 += v;
                acc.1 += 1;
            }
        }
        if !s.success {
            a.failures += 1;
            *a.failed_by_code.entry(s.code.to_string()).or_default() += 1;
        }
        let e = self
            .per_second
            .entry(s.start_ms.div_euclid(1000))
            .or_default();
        e.0 += 1;
        e.1 += s.elapsed_ms;
        let end = s.start_ms + s.elapsed_ms as i64;
        a.span_ms = Some(
            a.span_ms
                .map_or((s.start_ms, end), |(f, l)| (f.min(s.start_ms), l.max(end))),
        );
        self.first_ms = Some(self.first_ms.map_or(s.start_ms, |f| f.min(s.start_ms)));
        self.last_end_ms = Some(self.last_end_ms.map_or(end, |l| l.max(end)));
        if let Some(t) = s.threads {
            self.threads = Some(self.threads.map_or(t, |m| m.max(t)));
        }
    }

    fn finish(self, path: &Path, format: &'static str) -> Result<ParsedRun> {
        let (Some(first), Some(last)) = (self.first_ms, self.last_end_ms) else {
            return Err(Error::no_results(path, "the JTL holds no sample"));
        };
        let mut run = ParsedRun::new("jmeter", format);
        run.percentile_rule = model::PercentileRule::RoundedRank;
        run.started_at = text::epoch(first as f64 / 1000.0);
        run.ended_at = text::epoch(last as f64 / 1000.0);
        let span = (last - first) as f64 / 1000.0;
        run.duration_s = Some(span);
        run.load.threads = self.threads;
        let mut total = LabelAgg::default();
        for a in self.labels {
            run.errors.extend(errors_of(&a));
            total.absorb(&a)?;
            let own = a.span_ms.map_or(0.0, |(f, l)| (l - f) as f64 / 1000.0);
            run.targets
                .push(target(&a, TargetKind::Http, a.label.clone(), own));
        }
        run.targets.insert(
            0,
            target(&total, TargetKind::Total, model::TOTAL.into(), span),
        );
        run.push_per_second(self.per_second);
        Ok(run)
    }
}

impl LabelAgg {
    fn absorb(&mut self, a: &LabelAgg) -> Result<()> {
        self.samples += a.samples;
        self.failures += a.failures;
        self.sum_ms += a.sum_ms;
        for (mine, theirs, pick) in [
            (&mut self.min_ms, a.min_ms, f64::min as fn(f64, f64) -> f64),
            (&mut self.max_ms, a.max_ms, f64::max),
        ] {
            if let Some(v) = theirs {
                *mine = Some(mine.map_or(v, |m| pick(m, v)));
            }
        }
        self.bytes += a.bytes;
        self.latency = (self.latency.0 + a.latency.0, self.latency.1 + a.latency.1);
        self.connect = (self.connect.0 + a.connect.0, self.connect.1 + a.connect.1);
        if let Some(h) = &a.hist {
            self.hist
                .get_or_insert_with(new_histogram)
                .add(h)
                .map_err(|e| Error::Internal(format!("histogram merge: {e:?}")))?;
        }
        Ok(())
    }
}

fn errors_of(a: &LabelAgg) -> Vec<ErrorCount> {
    a.failed_by_code
        .iter()
        .map(|(code, n)| match code.parse::<u16>() {
            Ok(c) => ErrorCount::http_status(&a.label, c, *n as i64),
            Err(_) => ErrorCount {
                target: a.label.clone(),
                kind: "error",
                message: code.clone(),
                count: *n as i64,
            },
        })
        .collect()
}

fn target(a: &LabelAgg, kind: TargetKind, name: String, span: f64) -> Target {
    let mut t = Target::new(name, kind);
    let n = a.samples as f64;
    t.set("requests", Some(n), "count")
        .set("failures", Some(a.failures as f64), "count")
        .set("throughput_rps", (span > 0.0).then(|| n / span), "req/s")
        .set("latency_mean_ms", Some(a.sum_ms / n), "ms")
        .set("bytes_received", Some(a.bytes), "bytes");
    for (name, (sum, k)) in [("ttfb_mean_ms", a.latency), ("connect_mean_ms", a.connect)] {
        if k > 0 {
            t.set(name, Some(sum / k as f64), "ms");
        }
    }
    t.set("latency_min_ms", a.min_ms, "ms")
        .set("latency_max_ms", a.max_ms, "ms");
    t.histogram = a.hist.clone();
    t
}

impl Importer for JmeterCsv {
    fn name(&self) -> &'static str {
        "jmeter-csv"
    }
    fn tool(&self) -> &'static str {
        "jmeter"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let first = p.first_line();
        if first.starts_with("timeStamp,elapsed,") || headerless_row(first) {
            Ok(())
        } else {
            Err("first line is neither a JTL CSV header ('timeStamp,elapsed,...') nor a JTL row (epoch ms, elapsed, label, ..., true/false)".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let mut digest = Digesting::open(path)?;
        let mut agg = Agg::default();
        read_csv(path, maybe_gz(&mut digest).0, &mut agg)?;
        let mut run = agg.finish(path, "jmeter-csv")?;
        run.sources = vec![digest.finish("output")?];
        Ok(Parsed::Runs(vec![run]))
    }
}

/// A JTL row without a header: a 13-digit epoch-ms time, an integer elapsed time and a
/// true/false success column at JMeter's default position.
fn headerless_row(line: &str) -> bool {
    let cols: Vec<&str> = line.split(',').collect();
    cols.len() >= 12
        && cols[0].len() == 13
        && cols[0].bytes().all(|b| b.is_ascii_digit())
        && cols[1].bytes().all(|b| b.is_ascii_digit())
        && matches!(cols[7], "true" | "false")
}

/// Column positions of the fields perfledger reads.
struct Columns {
    ts: usize,
    elapsed: usize,
    label: usize,
    code: usize,
    success: usize,
    bytes: Option<usize>,
    latency: Option<usize>,
    connect: Option<usize>,
    threads: Option<usize>,
}

impl Columns {
    fn of(names: &[&str], path: &Path) -> Result<Self> {
        let at = |n: &str| names.iter().position(|h| *h == n);
        let need = |n: &str| {
            at(n).ok_or_else(|| {
                Error::input(path, Some(1), format!("expected a JTL column named {n}"))
            })
        };
        Ok(Columns {
            ts: need("timeStamp")?,
            elapsed: need("elapsed")?,
            label: need("label")?,
            code: need("responseCode")?,
            success: need("success")?,
            bytes: at("bytes"),
            latency: at("Latency"),
            connect: at("Connect"),
            threads: at("allThreads"),
        })
    }
}

fn read_csv(path: &Path, r: impl BufRead, agg: &mut Agg) -> Result<()> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(r);
    let mut rec = csv::StringRecord::new();
    let mut cols: Option<Columns> = None;
    loop {
        let more = rdr.read_record(&mut rec).map_err(|e| {
            let line = e.position().map(|p| p.line() as usize);
            Error::input(path, line, format!("malformed JTL CSV row: {e}"))
        })?;
        if !more {
            return Ok(());
        }
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let c = match &cols {
            Some(c) => c,
            None => {
                let header = rec.get(0) == Some("timeStamp");
                let names: Vec<&str> = if header {
                    rec.iter().collect()
                } else {
                    DEFAULT_COLUMNS[..rec.len().min(DEFAULT_COLUMNS.len())].to_vec()
                };
                let c = cols.insert(Columns::of(&names, path)?);
                if header {
                    continue;
                }
                c
            }
        };
        agg.add(&csv_sample(path, line, &rec, c)?);
    }
}

fn csv_sample<'a>(
    path: &Path,
    line: usize,
    rec: &'a csv::StringRecord,
    c: &Columns,
) -> Result<Sample<'a>> {
    let field = |i: usize, what: &str| {
        rec.get(i)
            .ok_or_else(|| Error::input(path, Some(line), format!("expected a {what} column")))
    };
    let num = |i: Option<usize>| {
        i.and_then(|i| rec.get(i))
            .and_then(|v| v.parse::<f64>().ok())
    };
    sample(
        path,
        line,
        [
            field(c.ts, "timeStamp")?,
            field(c.elapsed, "elapsed")?,
            field(c.success, "success")?,
        ],
        field(c.label, "label")?,
        field(c.code, "responseCode")?,
        [num(c.bytes), num(c.latency), num(c.connect)],
        num(c.threads).map(|v| v as i64),
    )
}

/// The checks both forms share: a start in epoch ms, an elapsed time, success true/false.
fn sample<'a>(
    path: &Path,
    line: usize,
    [ts, elapsed, success]: [&str; 3],
    label: &'a str,
    code: &'a str,
    [bytes, latency_ms, connect_ms]: [Option<f64>; 3],
    threads: Option<i64>,
) -> Result<Sample<'a>> {
    let start_ms = ts.parse::<i64>().map_err(|_| {
        Error::input(
            path,
            Some(line),
            format!("expected timeStamp in epoch milliseconds, found '{ts}'"),
        )
    })?;
    let elapsed_ms = elapsed
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| {
            Error::input(
                path,
                Some(line),
                format!("expected elapsed milliseconds, found '{elapsed}'"),
            )
        })?;
    let success = match success {
        "true" => true,
        "false" => false,
        other => {
            return Err(Error::input(
                path,
                Some(line),
                format!("expected success true or false, found '{other}'"),
            ))
        }
    };
    Ok(Sample {
        start_ms,
        elapsed_ms,
        label,
        code,
        success,
        bytes,
        latency_ms,
        connect_ms,
        threads,
    })
}

impl Importer for JmeterXml {
    fn name(&self) -> &'static str {
        "jmeter-xml"
    }
    fn tool(&self) -> &'static str {
        "jmeter"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let h = p.head.trim_start_matches('\u{feff}').trim_start();
        let xml = h.starts_with("<?xml") || h.starts_with("<testResults");
        if xml && h.contains("<testResults") {
            Ok(())
        } else {
            Err("not an XML document with a JTL <testResults> element".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let mut digest = Digesting::open(path)?;
        let mut agg = Agg::default();
        read_xml(path, maybe_gz(&mut digest).0, &mut agg)?;
        let mut run = agg.finish(path, "jmeter-xml")?;
        run.sources = vec![digest.finish("output")?];
        Ok(Parsed::Runs(vec![run]))
    }
}

fn read_xml(path: &Path, r: impl BufRead, agg: &mut Agg) -> Result<()> {
    use quick_xml::events::Event;
    let mut rdr = quick_xml::Reader::from_reader(r);
    let mut buf = Vec::new();
    // element depth; samples are the children of <testResults> (depth 1)
    let mut depth = 0usize;
    let mut line = 1usize;
    let mut closed = false;
    loop {
        let ev = rdr
            .read_event_into(&mut buf)
            .map_err(|e| xml_error(path, line, &e))?;
        match &ev {
            Event::Start(e) | Event::Empty(e) => {
                if depth == 1 && matches!(e.name().as_ref(), b"httpSample" | b"sample") {
                    xml_sample(path, line, e, agg)?;
                }
                if matches!(ev, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                closed |= depth == 0 && e.name().as_ref() == b"testResults";
            }
            Event::Eof => break,
            _ => {}
        }
        line += memchr::memchr_iter(b'\n', &buf).count();
        buf.clear();
    }
    if !closed {
        return Err(Error::input(
            path,
            Some(line),
            format!("truncated: expected </testResults> after line {line}"),
        ));
    }
    Ok(())
}

/// A syntax error at the end of the input (an unclosed tag, comment, ...) is a cut file.
fn xml_error(path: &Path, line: usize, e: &quick_xml::Error) -> Error {
    use quick_xml::errors::SyntaxError;
    match e {
        quick_xml::Error::Syntax(s) if *s != SyntaxError::InvalidBangMarkup => Error::input(
            path,
            Some(line),
            format!("truncated: expected </testResults> after line {line} ({s})"),
        ),
        _ => Error::input(path, Some(line), format!("malformed JTL XML: {e}")),
    }
}

fn xml_sample(
    path: &Path,
    line: usize,
    e: &quick_xml::events::BytesStart,
    agg: &mut Agg,
) -> Result<()> {
    let mut attrs: HashMap<Vec<u8>, String> = HashMap::new();
    for a in e.attributes() {
        let a = a.map_err(|err| {
            Error::input(
                path,
                Some(line),
                format!("malformed sample attribute: {err}"),
            )
        })?;
        let v = a
            .unescape_value()
            .map_err(|err| Error::input(path, Some(line), format!("bad attribute value: {err}")))?;
        attrs.insert(a.key.as_ref().to_vec(), v.into_owned());
    }
    let get = |k: &str| attrs.get(k.as_bytes()).map(String::as_str);
    let need = |k: &str| {
        get(k).ok_or_else(|| {
            Error::input(
                path,
                Some(line),
                format!("a JTL sample needs the attribute {k}"),
            )
        })
    };
    let num = |k: &str| get(k).and_then(|v| v.parse::<f64>().ok());
    let s = sample(
        path,
        line,
        [need("ts")?, need("t")?, need("s")?],
        need("lb")?,
        get("rc").unwrap_or(""),
        [num("by"), num("lt"), num("ct")],
        num("na").map(|v| v as i64),
    )?;
    agg.add(&s);
    Ok(())
}
