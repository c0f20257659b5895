//! k6 per-request points: the aggregator both point formats share, and `--out csv` (the NDJSON
//! reader is `k6_ndjson`).
//!
//! Points are folded as they stream past into one latency histogram per target and per-second
//! buckets; no sample is kept, so memory does not grow with the file. A target is an HTTP
//! request's `method` + `name` tag (k6 sets `name` to the URL unless the script names it);
//! the scenario and group tags it was seen with are kept as its tags, and failed requests are
//! counted per status in the error table.

use std::collections::{BTreeMap, HashMap};

use std::path::Path;

use hdrhistogram::Histogram;

use super::text;
use super::{maybe_gz, Digesting, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{
    self, new_histogram, ErrorCount, Parsed, ParsedRun, SeriesPoint, Target, TargetKind, TOTAL,
};

pub struct K6Csv;

#[derive(Default)]
struct HttpAgg {
    method: String,
    name: String,
    /// tag -> its values, each with where it was first seen (see [`FirstSeen`])
    tags: BTreeMap<String, Vec<(FirstSeen, String)>>,
    requests: u64,
    failures: u64,
    hist: Option<Histogram<u64>>,
    by_status: BTreeMap<String, u64>,
}

#[derive(Clone)]
struct CustomAgg {
    count: u64,
    sum: OrderedSum,
    min: f64,
    max: f64,
    /// (chunk order, value) of the latest point
    last: (u64, f64),
    nonzero: u64,
    /// A Trend's values (or a metric of unknown kind: k6 --out csv names no kinds), for its
    /// percentiles as k6 prints them; None after a negative value (HdrHistogram holds none).
    hist: Option<Histogram<u64>>,
    negative: bool,
}

impl CustomAgg {
    /// One value; `trend_like` keeps it in the histogram too.
    fn add(&mut self, seq: u64, value: f64, trend_like: bool) {
        if trend_like && !self.negative {
            if value < 0.0 {
                self.negative = true;
                self.hist = None;
            } else {
                model::record_ms(self.hist.get_or_insert_with(new_histogram), value, 1);
            }
        }
        self.count += 1;
        self.sum.add(seq, value);
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        if seq >= self.last.0 {
            self.last = (seq, value);
        }
        if value != 0.0 {
            self.nonzero += 1;
        }
    }

    /// What another aggregator folded of the same metric.
    fn absorb(&mut self, c: CustomAgg) -> Result<()> {
        self.count += c.count;
        self.sum.absorb(c.sum);
        self.min = self.min.min(c.min);
        self.max = self.max.max(c.max);
        self.nonzero += c.nonzero;
        if c.count > 0 && (self.last.1.is_nan() || c.last.0 >= self.last.0) {
            self.last = c.last;
        }
        self.negative |= c.negative;
        match (self.hist.as_mut(), c.hist) {
            _ if self.negative => self.hist = None,
            (Some(h), Some(other)) => h.add(&other).map_err(|err| {
                Error::Internal(format!("merging a custom metric's histogram: {err}"))
            })?,
            (None, Some(other)) => self.hist = Some(other),
            (_, None) => {}
        }
        Ok(())
    }
}

impl Default for CustomAgg {
    fn default() -> Self {
        CustomAgg {
            count: 0,
            sum: OrderedSum::default(),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            last: (0, f64::NAN),
            nonzero: 0,
            hist: None,
            negative: false,
        }
    }
}

/// Per-second figures of one target: requests, failures, latency sum (ms).
#[derive(Default, Clone, Copy)]
struct Bucket(u64, u64, f64);

/// A second's figures of one target over the whole file.
#[derive(Default)]
struct Second(u64, u64, OrderedSum);

/// A float sum that comes out the same however the file's parts were shared among threads:
/// each part's values (one `seq`) are added in file order and the parts' sums in part order,
/// so a file of one part sums exactly as a plain `+=` does, and a large file folded by
/// several threads gives the same bits on every import (a plain sum in whatever order the
/// threads met the parts differed in the last bits from one import to the next, measured).
/// It holds one number per part that touched it, a few per 4 MiB of file.
#[derive(Default, Clone, Debug)]
struct OrderedSum {
    parts: Vec<(u64, f64)>,
}

impl OrderedSum {
    fn add(&mut self, seq: u64, value: f64) {
        match self.parts.last_mut() {
            Some((s, sum)) if *s == seq => *sum += value,
            _ => self.parts.push((seq, value)),
        }
    }

    fn absorb(&mut self, other: OrderedSum) {
        self.parts.extend(other.parts);
    }

    fn value(&self) -> f64 {
        let mut parts = self.parts.clone();
        // stable: a part's pieces (never split across threads) stay in the order they came
        parts.sort_by_key(|(seq, _)| *seq);
        parts
            .into_iter()
            .map(|(_, v)| v)
            .reduce(|a, b| a + b)
            .unwrap_or(0.0)
    }
}

/// Where a tag value was first seen: the part of the file, then the order the aggregator that
/// folded that part met it in, so values list in file order whichever thread met them.
type FirstSeen = (u64, u64);

/// Folds k6 points into per-target figures. Parts of one file can be folded by separate
/// aggregators (one per thread) and [`PointAgg::merge`]d: `seq` orders them, so figures that
/// keep the latest value (VUs per second, a gauge's value) do not depend on thread timing.
#[derive(Default)]
pub struct PointAgg {
    http: Vec<HttpAgg>,
    /// method -> name -> index in `http` (looked up by &str: no allocation per point)
    http_ids: HashMap<String, HashMap<String, u32>>,
    total_requests: u64,
    total_failures: u64,
    per_second: HashMap<(i64, u32), Second>,
    /// The bucket being filled: a request's points share it, so most points skip the map.
    current: Option<((i64, u32), Bucket)>,
    /// second -> (chunk order, VUs)
    vus: BTreeMap<i64, (u64, f64)>,
    custom: BTreeMap<String, CustomAgg>,
    /// (metric, tag set) -> the points of a custom metric that carried user tags, as k6's
    /// submetrics `metric{tag:value}`.
    custom_sets: BTreeMap<(String, String), CustomAgg>,
    kinds: HashMap<String, String>,
    checks: BTreeMap<String, (u64, u64)>,
    first: Option<f64>,
    last: Option<f64>,
    data_received: OrderedSum,
    data_sent: OrderedSum,
    /// Order of the part of the file being folded now (set by [`PointAgg::begin`]).
    seq: u64,
    /// Tag values met so far (orders them within a part).
    tags_seen: u64,
}

/// One point with borrowed tag lookups.
pub struct Point<'a, F: Fn(&str) -> Option<&'a str>> {
    pub metric: &'a str,
    pub time: f64,
    pub value: f64,
    pub tag: F,
    /// The point's user tags as [`tag_set`] spells them (read for custom metrics only).
    pub set: &'a str,
}

/// The tags k6 itself sets on samples: they say where a sample came from, not which series
/// a script meant, so a custom metric is not split by them.
/// <https://grafana.com/docs/k6/latest/using-k6/tags-and-groups/#system-tags>
const SYSTEM_TAGS: &[&str] = &[
    "proto",
    "subproto",
    "status",
    "method",
    "url",
    "name",
    "group",
    "check",
    "error",
    "error_code",
    "tls_version",
    "scenario",
    "service",
    "expected_response",
    "ip",
    "ocsp_status",
    "vu",
    "iter",
];

/// A custom metric's user tags as k6 names its submetrics (`step:browse,tier:gold`, sorted by
/// key; system tags and empty values left out); empty when the point has none.
pub fn tag_set<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut user: Vec<(&str, &str)> = tags
        .into_iter()
        .filter(|(k, v)| !v.is_empty() && !SYSTEM_TAGS.contains(k))
        .collect();
    user.sort_unstable();
    let mut out = String::new();
    for (k, v) in user {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(k);
        out.push(':');
        out.push_str(v);
    }
    out
}

/// The HTTP metrics that make a request's figures.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum HttpMetric {
    Reqs,
    Failed,
    Duration,
}

impl HttpMetric {
    pub fn of(metric: &str) -> Option<Self> {
        match metric {
            "http_reqs" => Some(HttpMetric::Reqs),
            "http_req_failed" => Some(HttpMetric::Failed),
            "http_req_duration" => Some(HttpMetric::Duration),
            _ => None,
        }
    }
}

/// Keeps `value` among the tag's values, with the earliest place it was seen.
fn add_tag(
    tags: &mut BTreeMap<String, Vec<(FirstSeen, String)>>,
    key: &str,
    value: &str,
    seen: FirstSeen,
) {
    let values = match tags.get_mut(key) {
        Some(v) => v,
        None => tags.entry(key.to_string()).or_default(),
    };
    match values.iter_mut().find(|(_, v)| v == value) {
        Some((at, _)) => *at = (*at).min(seen),
        None => values.push((seen, value.to_string())),
    }
}

/// A target's tags as a run keeps them: each tag's values in the order the file first shows
/// them, joined by " | ".
fn joined_tags(tags: BTreeMap<String, Vec<(FirstSeen, String)>>) -> BTreeMap<String, String> {
    tags.into_iter()
        .map(|(k, mut values)| {
            values.sort_by_key(|(at, _)| *at);
            let v: Vec<String> = values.into_iter().map(|(_, v)| v).collect();
            (k, v.join(" | "))
        })
        .collect()
}

fn merge_hist(into: &mut Option<Histogram<u64>>, h: Option<Histogram<u64>>) -> Result<()> {
    match (into.as_mut(), h) {
        (Some(m), Some(h)) => m
            .add(&h)
            .map_err(|e| Error::Internal(format!("histogram merge: {e:?}"))),
        (None, h) => {
            *into = h;
            Ok(())
        }
        (Some(_), None) => Ok(()),
    }
}

impl PointAgg {
    /// Starts folding part `seq` of the file (parts are folded whole, by one aggregator).
    pub fn begin(&mut self, seq: u64) {
        self.flush_bucket();
        self.seq = seq;
    }

    pub fn declare(&mut self, metric: &str, kind: &str) {
        self.kinds.insert(metric.to_string(), kind.to_string());
    }

    /// Metrics whose points carry nothing perfledger keeps beyond their time: the request
    /// phase timings (`http_req_duration` is their sum), `vus_max` and iteration figures.
    pub fn ignores(metric: &str) -> bool {
        (metric.starts_with("http_req_") && HttpMetric::of(metric).is_none())
            || matches!(metric, "vus_max" | "iterations" | "iteration_duration")
    }

    /// Widens the run's time span to `time` (seconds since the epoch).
    pub fn observe(&mut self, time: f64) {
        self.first = Some(self.first.map_or(time, |f: f64| f.min(time)));
        self.last = Some(self.last.map_or(time, |l: f64| l.max(time)));
    }

    #[expect(
        clippy::needless_pass_by_value,
        reason = "a point is built per line and given away; by reference would only add a borrow"
    )]
    pub fn add<'a, F: Fn(&str) -> Option<&'a str>>(&mut self, p: Point<'a, F>) {
        if !p.value.is_finite() {
            return;
        }
        self.observe(p.time);
        let sec = p.time.floor() as i64;
        if let Some(m) = HttpMetric::of(p.metric) {
            let id = self.http_target(
                (p.tag)("method").unwrap_or(""),
                (p.tag)("name").or((p.tag)("url")).unwrap_or("?"),
                (p.tag)("scenario"),
                (p.tag)("group"),
            );
            self.add_http(id, m, p.value, sec, || (p.tag)("status"));
        } else {
            self.add_other(p.metric, sec, p.value, || (p.tag)("check"), p.set);
        }
    }

    /// The id of the target a request's `method` and `name` (or `url`) tags make; the
    /// scenario and group it was seen with are added to its tags.
    pub fn http_target(
        &mut self,
        method: &str,
        name: &str,
        scenario: Option<&str>,
        group: Option<&str>,
    ) -> u32 {
        let known = self.http_ids.get(method).and_then(|m| m.get(name));
        let id = match known {
            Some(id) => *id,
            None => {
                let id = self.http.len() as u32;
                self.http_ids
                    .entry(method.to_string())
                    .or_default()
                    .insert(name.to_string(), id);
                self.http.push(HttpAgg {
                    method: method.to_string(),
                    name: name.to_string(),
                    ..Default::default()
                });
                id
            }
        };
        let agg = &mut self.http[id as usize];
        for (key, v) in [("scenario", scenario), ("group", group)] {
            if let Some(v) = v {
                self.tags_seen += 1;
                add_tag(&mut agg.tags, key, v, (self.seq, self.tags_seen));
            }
        }
        id
    }

    /// One point of an HTTP metric of target `id` (from [`PointAgg::http_target`]).
    pub fn add_http<'s>(
        &mut self,
        id: u32,
        metric: HttpMetric,
        value: f64,
        sec: i64,
        status: impl FnOnce() -> Option<&'s str>,
    ) {
        if self.current.as_ref().is_none_or(|(k, _)| *k != (sec, id)) {
            self.flush_bucket();
            self.current = Some(((sec, id), Bucket::default()));
        }
        let agg = &mut self.http[id as usize];
        #[expect(clippy::expect_used, reason = "set just above when it was None")]
        let bucket = &mut self.current.as_mut().expect("set above").1;
        match metric {
            HttpMetric::Reqs => {
                agg.requests += value as u64;
                self.total_requests += value as u64;
                bucket.0 += value as u64;
            }
            HttpMetric::Failed => {
                if value != 0.0 {
                    agg.failures += 1;
                    self.total_failures += 1;
                    bucket.1 += 1;
                    let status = status().unwrap_or("?");
                    match agg.by_status.get_mut(status) {
                        Some(n) => *n += 1,
                        None => {
                            agg.by_status.insert(status.to_string(), 1);
                        }
                    }
                }
            }
            HttpMetric::Duration => {
                // the run's histogram is the sum of the targets', made once in `finish`
                model::record_ms(agg.hist.get_or_insert_with(new_histogram), value, 1);
                bucket.2 += value;
            }
        }
    }

    fn flush_bucket(&mut self) {
        if let Some((key, b)) = self.current.take() {
            let e = self.per_second.entry(key).or_default();
            e.0 += b.0;
            e.1 += b.1;
            e.2.add(self.seq, b.2);
        }
    }

    /// A point of any other metric: VUs, checks, data volumes and custom metrics.
    pub fn add_other<'s>(
        &mut self,
        metric: &str,
        sec: i64,
        value: f64,
        check: impl FnOnce() -> Option<&'s str>,
        set: &str,
    ) {
        match metric {
            "vus" => {
                let seq = self.seq;
                let e = self.vus.entry(sec).or_insert((seq, value));
                if seq >= e.0 {
                    *e = (seq, value);
                }
            }
            "checks" => {
                let check = check().unwrap_or("?");
                let e = match self.checks.get_mut(check) {
                    Some(e) => e,
                    None => self.checks.entry(check.to_string()).or_default(),
                };
                if value != 0.0 {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
            "data_received" => self.data_received.add(self.seq, value),
            "data_sent" => self.data_sent.add(self.seq, value),
            m if Self::ignores(m) => {}
            m => {
                let seq = self.seq;
                let trend_like = self.kinds.get(m).is_none_or(|k| k == "trend");
                let a = match self.custom.get_mut(m) {
                    Some(a) => a,
                    None => self.custom.entry(m.to_string()).or_default(),
                };
                a.add(seq, value, trend_like);
                if !set.is_empty() {
                    self.custom_sets
                        .entry((m.to_string(), set.to_string()))
                        .or_default()
                        .add(seq, value, trend_like);
                }
            }
        }
    }

    /// Whether `metric` is a custom one (the only kind whose points need [`tag_set`]).
    pub fn is_custom(metric: &str) -> bool {
        HttpMetric::of(metric).is_none()
            && !Self::ignores(metric)
            && !matches!(metric, "vus" | "checks" | "data_received" | "data_sent")
    }

    /// Adds what another aggregator folded from other parts of the same file.
    pub fn merge(&mut self, mut o: PointAgg) -> Result<()> {
        self.flush_bucket();
        o.flush_bucket();
        let mut ids = Vec::with_capacity(o.http.len());
        for a in o.http {
            let id = self.http_target(&a.method, &a.name, None, None);
            ids.push(id);
            let mine = &mut self.http[id as usize];
            for (k, values) in &a.tags {
                for (seen, v) in values {
                    add_tag(&mut mine.tags, k, v, *seen);
                }
            }
            mine.requests += a.requests;
            mine.failures += a.failures;
            for (s, n) in a.by_status {
                *mine.by_status.entry(s).or_default() += n;
            }
            merge_hist(&mut mine.hist, a.hist)?;
        }
        self.total_requests += o.total_requests;
        self.total_failures += o.total_failures;
        for ((sec, id), b) in o.per_second {
            let e = self.per_second.entry((sec, ids[id as usize])).or_default();
            e.0 += b.0;
            e.1 += b.1;
            e.2.absorb(b.2);
        }
        for (sec, v) in o.vus {
            let e = self.vus.entry(sec).or_insert(v);
            if v.0 >= e.0 {
                *e = v;
            }
        }
        for (m, c) in o.custom {
            self.custom.entry(m).or_default().absorb(c)?;
        }
        for (k, c) in o.custom_sets {
            self.custom_sets.entry(k).or_default().absorb(c)?;
        }
        self.kinds.extend(o.kinds);
        for (c, (p, f)) in o.checks {
            let e = self.checks.entry(c).or_default();
            e.0 += p;
            e.1 += f;
        }
        for t in o.first.into_iter().chain(o.last) {
            self.observe(t);
        }
        self.data_received.absorb(o.data_received);
        self.data_sent.absorb(o.data_sent);
        Ok(())
    }

    pub fn finish(mut self, path: &Path, format: &'static str) -> Result<ParsedRun> {
        self.flush_bucket();
        if self.total_requests == 0 && self.http.is_empty() {
            return Err(Error::no_results(
                path,
                "no http_reqs points: the test made no HTTP request",
            ));
        }
        let mut run = ParsedRun::new("k6", format);
        run.percentile_rule = crate::model::PercentileRule::LinearBetweenRanks;
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
            .map(|v| v.1)
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
                Some(self.data_received.value()).filter(|v| *v > 0.0),
                "bytes",
            )
            .set(
                "bytes_sent",
                Some(self.data_sent.value()).filter(|v| *v > 0.0),
                "bytes",
            );
        for a in &self.http {
            merge_hist(&mut total.histogram, a.hist.clone())?;
        }
        run.targets.push(total);
        let names: Vec<String> = self
            .http
            .iter()
            .map(|a| crate::model::endpoint_name(&a.method, a.name.trim()))
            .collect();
        let mut http: Vec<_> = self.http.into_iter().zip(names.iter().cloned()).collect();
        http.sort_by(|(a, _), (b, _)| (&a.method, &a.name).cmp(&(&b.method, &b.name)));
        for (a, name) in http {
            let mut t = Target::new(name.clone(), TargetKind::Http);
            t.method = Some(a.method).filter(|m| !m.is_empty());
            t.url = Some(a.name);
            t.tags = Some(joined_tags(a.tags)).filter(|t| !t.is_empty());
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
        let shared: Vec<std::sync::Arc<str>> = names.iter().map(|n| n.as_str().into()).collect();
        let mut per_second: Vec<_> = self
            .per_second
            .iter()
            .map(|((sec, id), b)| (*sec, &shared[*id as usize], Bucket(b.0, b.1, b.2.value())))
            .collect();
        per_second.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (sec, target, Bucket(n, f, sum)) in per_second {
            // a damaged file's times can be out of any calendar: such seconds get no point
            let Some(ts) = text::epoch(sec as f64) else {
                continue;
            };
            let mut push = |metric: &'static str, value: f64| {
                run.series.push(SeriesPoint {
                    target: target.clone(),
                    ts,
                    metric,
                    value,
                });
            };
            push("requests", n as f64);
            push("failures", f as f64);
            if n > 0 {
                push("latency_mean_ms", sum / n as f64);
            }
        }
        for (sec, (_, v)) in &self.vus {
            let Some(ts) = text::epoch(*sec as f64) else {
                continue;
            };
            run.series.push(SeriesPoint {
                target: TOTAL.into(),
                ts,
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
        let kind = |m: &str| self.kinds.get(m).map_or("", String::as_str);
        for (name, a) in &self.custom {
            run.targets
                .push(custom_target(name.clone(), kind(name), a, span));
        }
        for ((name, set), a) in &self.custom_sets {
            let mut t = custom_target(format!("{name}{{{set}}}"), kind(name), a, span);
            t.tags = Some(
                set.split(',')
                    .filter_map(|kv| kv.split_once(':'))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            );
            run.targets.push(t);
        }
        Ok(run)
    }
}

/// A CSV row's user tags: k6 writes them into `extra_tags` as `k=v&k2=v2` (every other column
/// is a system tag).
fn csv_tag_set(tag_cols: &[(String, usize)], rec: &csv::StringRecord) -> String {
    let extra = tag_cols
        .iter()
        .find(|(h, _)| h == "extra_tags")
        .and_then(|(_, i)| rec.get(*i))
        .unwrap_or("");
    tag_set(
        extra
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .chain(tag_cols.iter().filter_map(|(h, i)| {
                (h != "extra_tags" && h != "metadata")
                    .then(|| rec.get(*i).map(|v| (h.as_str(), v)))
                    .flatten()
            })),
    )
}

/// A custom metric's figures by its kind (a metric of unknown kind is read as a Trend).
fn custom_target(name: String, kind: &str, a: &CustomAgg, span: Option<f64>) -> Target {
    let mut t = Target::new(name, TargetKind::Metric);
    let sum = a.sum.value();
    match kind {
        "counter" => {
            t.set("count", Some(sum), "")
                .set("rate", span.map(|s| sum / s), "/s");
        }
        "rate" => {
            t.set("rate", Some(a.nonzero as f64 / a.count as f64), "ratio")
                .set("passes", Some(a.nonzero as f64), "count")
                .set("fails", Some((a.count - a.nonzero) as f64), "count");
        }
        "gauge" => {
            t.set("value", Some(a.last.1), "")
                .set("min", Some(a.min), "")
                .set("max", Some(a.max), "");
        }
        _ => {
            t.set("value_mean", Some(sum / a.count as f64), "")
                .set("value_min", Some(a.min), "")
                .set("value_max", Some(a.max), "")
                .set("count", Some(a.count as f64), "count");
            // the percentiles k6 prints for a Trend (med, p(90), p(95)), by k6's rule; the
            // histogram is kept too (values as recorded, one per tag set)
            if let Some(h) = a.hist.as_ref().filter(|h| !h.is_empty()) {
                t.histogram = Some(h.clone());
                let rule = crate::model::PercentileRule::LinearBetweenRanks;
                for (name, q) in [
                    ("value_p50", 0.5),
                    ("value_p90", 0.9),
                    ("value_p95", 0.95),
                    ("value_p99", 0.99),
                ] {
                    t.set(name, Some(rule.quantile_us(h, q) / 1000.0), "");
                }
            }
        }
    }
    t
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
        let mut digest = Digesting::open(path)?;
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(maybe_gz(&mut digest).0);
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
            let set = if PointAgg::is_custom(metric) {
                csv_tag_set(&tag_cols, r)
            } else {
                String::new()
            };
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
                set: &set,
            });
        }
        drop(rdr);
        let mut run = agg.finish(path, "k6-csv")?;
        run.sources = vec![digest.finish("output")?];
        Ok(Parsed::Runs(vec![run]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// One part sums exactly as `+=` does; parts absorbed in any order give the same bits.
        #[test]
        fn ordered_sums_do_not_depend_on_the_merge_order(
            values in proptest::collection::vec(-1e6f64..1e6, 1..60),
            cuts in proptest::collection::vec(0usize..60, 0..4),
        ) {
            let mut one = OrderedSum::default();
            let mut plain = 0.0;
            for v in &values {
                one.add(7, *v);
                plain += v;
            }
            prop_assert_eq!(one.value().to_bits(), plain.to_bits());

            let mut bounds: Vec<usize> = cuts.iter().map(|c| c % values.len()).collect();
            bounds.extend([0, values.len()]);
            bounds.sort_unstable();
            let parts: Vec<OrderedSum> = bounds
                .windows(2)
                .enumerate()
                .map(|(seq, w)| {
                    let mut p = OrderedSum::default();
                    for v in &values[w[0]..w[1]] {
                        p.add(seq as u64, *v);
                    }
                    p
                })
                .collect();
            let merged = |order: &mut dyn Iterator<Item = &OrderedSum>| {
                let mut m = OrderedSum::default();
                for p in order {
                    m.absorb(p.clone());
                }
                m.value()
            };
            let forward = merged(&mut parts.iter());
            prop_assert_eq!(forward.to_bits(), merged(&mut parts.iter().rev()).to_bits());
            prop_assert!((forward - plain).abs() <= 1e-9 * plain.abs().max(1.0));
        }
    }

    /// Tag values list in the order the file first shows them, whichever part met them first.
    #[test]
    fn tag_values_keep_file_order_across_parts() {
        let mut tags = BTreeMap::new();
        add_tag(&mut tags, "scenario", "browse", (1, 1));
        add_tag(&mut tags, "scenario", "buy", (1, 2));
        // another thread's part 0 met "buy" earlier in the file, then "admin"
        add_tag(&mut tags, "scenario", "buy", (0, 5));
        add_tag(&mut tags, "scenario", "admin", (0, 6));
        assert_eq!(joined_tags(tags)["scenario"], "buy | admin | browse");
    }
}
