//! System resources from Prometheus (`perfledger import prometheus --url URL --run N`): the
//! HTTP API's range queries (`GET /api/v1/query_range`) over the run's window, or a saved
//! response of one (`curl .../query_range?... > cpu_busy_ratio.json`, or `--save DIR`).
//!
//! The default queries read node_exporter's counters as its own dashboards do (Grafana's
//! "Node Exporter Full", and the node_exporter guide of prometheus.io): CPU busy is one minus
//! the idle share of `node_cpu_seconds_total`, overall and per core; memory used is one minus
//! `MemAvailable / MemTotal`; disk and network are rates of their byte and operation
//! counters (loop, ram and device-mapper disks, and the loopback and container interfaces,
//! left out so nothing is counted twice). A rate needs at least two samples in its window:
//! like Grafana's `$__rate_interval`, the window is four steps (shorter for a run shorter
//! than that, never under two). A rate at time t covers (t - window, t], so the points of a
//! rate query start one window after the run's start: every point measures the run, none
//! the idle time before it. Gauges (memory) are read from the run's start.
//!
//! The step defaults to the shortest scrape interval of Prometheus' active targets (a
//! per-second series with `scrape_interval: 1s`): finer steps would only repeat samples.
//! Prometheus answers at most 11,000 points per series, so a long window is asked in
//! chunks of 10,000 steps.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDateTime;
use serde_json::Value;

use super::{read_text, sources, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{Parsed, ResourceCapture, ResourceSeries};
use crate::time::{epoch, micros};

/// Steps per request: under Prometheus' limit of 11,000 points per series.
const MAX_STEPS: i64 = 10_000;

/// One range query: the metric it stores and its PromQL (`$__rate_interval` is replaced by
/// the rate window).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    pub metric: String,
    pub promql: String,
    #[serde(default = "value_unit")]
    pub unit: String,
}

fn value_unit() -> String {
    "value".into()
}

fn q(metric: &str, unit: &str, promql: &str) -> Query {
    Query {
        metric: metric.into(),
        promql: promql.into(),
        unit: unit.into(),
    }
}

/// Disks that would count a physical disk's I/O twice or are not disks.
const DISKS: &str = r#"device!~"(loop|ram|dm-|sr|fd|zram).*""#;
/// Interfaces whose traffic never leaves the host.
const NICS: &str = r#"device!~"lo|veth.*|docker.*|br-.*|virbr.*|cni.*|flannel.*""#;

/// The default query set, for node_exporter.
pub fn default_queries() -> Vec<Query> {
    let rate = |counter: &str, sel: &str| {
        format!("sum by (instance) (rate({counter}{{{sel}}}[$__rate_interval]))")
    };
    vec![
        q(
            "cpu_busy_ratio",
            "ratio",
            r#"1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval]))"#,
        ),
        q(
            "cpu_core_busy_ratio",
            "ratio",
            r#"1 - avg by (instance, cpu) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval]))"#,
        ),
        q(
            "mem_used_ratio",
            "ratio",
            "1 - avg by (instance) (node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)",
        ),
        q(
            "disk_read_bps",
            "bytes/s",
            &rate("node_disk_read_bytes_total", DISKS),
        ),
        q(
            "disk_write_bps",
            "bytes/s",
            &rate("node_disk_written_bytes_total", DISKS),
        ),
        q(
            "disk_read_iops",
            "ops/s",
            &rate("node_disk_reads_completed_total", DISKS),
        ),
        q(
            "disk_write_iops",
            "ops/s",
            &rate("node_disk_writes_completed_total", DISKS),
        ),
        q(
            "net_rx_bps",
            "bytes/s",
            &rate("node_network_receive_bytes_total", NICS),
        ),
        q(
            "net_tx_bps",
            "bytes/s",
            &rate("node_network_transmit_bytes_total", NICS),
        ),
    ]
}

/// A query file: more queries, and whether the defaults stay.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryFile {
    #[serde(default = "yes")]
    defaults: bool,
    #[serde(default)]
    query: Vec<Query>,
}

fn yes() -> bool {
    true
}

/// The queries of a run: the defaults, extended (or replaced, `defaults = false`) by a file.
pub fn queries(file: Option<&Path>) -> Result<Vec<Query>> {
    let Some(path) = file else {
        return Ok(default_queries());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::input(path, None, format!("cannot read: {e}")))?;
    let f: QueryFile = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
        Error::input(
            path,
            line,
            format!(
                "{}: expected [[query]] tables with metric, promql and unit",
                e.message()
            ),
        )
    })?;
    let mut out = if f.defaults {
        default_queries()
    } else {
        Vec::new()
    };
    for mut qy in f.query {
        if !valid_name(&qy.metric) {
            return Err(Error::input(path, None, format!("metric '{}': expected a name of lower-case letters, digits and _ (e.g. app_p95_ms)", qy.metric)));
        }
        if qy.unit.trim().is_empty() {
            qy.unit = value_unit();
        }
        // a query of the file replaces the default of the same name
        out.retain(|d| d.metric != qy.metric);
        out.push(qy);
    }
    if out.is_empty() {
        return Err(Error::input(
            path,
            None,
            "no queries: `defaults = false` and no [[query]] table",
        ));
    }
    Ok(out)
}

fn valid_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A Prometheus duration (`500ms`, `15s`, `1m`, `1h`) in seconds.
pub fn parse_duration(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return None,
    };
    Some(n * mult).filter(|v| v.is_finite() && *v > 0.0)
}

/// The rate window: four steps (as Grafana's `$__rate_interval`), but no longer than the run
/// (a short run gets one point whose window is the whole run), and at least two steps (a
/// rate needs two samples), in whole steps.
fn rate_window(step: f64, run_s: f64) -> f64 {
    let steps = (run_s / step).floor().clamp(2.0, 4.0);
    step * steps
}

/// A step as PromQL writes it: whole seconds where it is, otherwise milliseconds.
fn promql_duration(secs: f64) -> String {
    if (secs - secs.round()).abs() < 1e-9 {
        format!("{}s", secs.round() as i64)
    } else {
        format!("{}ms", (secs * 1000.0).round() as i64)
    }
}

/// The series of a query's matrix answer. `what` names the source in errors; `default_metric`
/// names series without `__name__`.
pub fn parse_matrix(
    what: &str,
    body: &str,
    metric: &str,
    unit: &str,
    promql: &str,
) -> std::result::Result<Vec<ResourceSeries>, String> {
    let v: Value =
        serde_json::from_str(body).map_err(|e| format!("not a JSON query response: {e}"))?;
    if v.get("status").and_then(Value::as_str) != Some("success") {
        let kind = v.get("errorType").and_then(Value::as_str).unwrap_or("?");
        let msg = v
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no error text");
        return Err(format!("{what} answered {kind}: {msg}"));
    }
    let data = v.get("data").ok_or("no \"data\" in the response")?;
    let kind = data.get("resultType").and_then(Value::as_str);
    if kind != Some("matrix") {
        return Err(format!(
            "resultType {}: expected \"matrix\" (a query_range answer)",
            kind.unwrap_or("missing")
        ));
    }
    let results = data
        .get("result")
        .and_then(Value::as_array)
        .ok_or("no \"result\" array")?;
    let mut out = Vec::new();
    for r in results {
        let labels: BTreeMap<String, String> = r
            .get("metric")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let name = labels
            .get("__name__")
            .map_or(metric.to_string(), Clone::clone);
        let values = r
            .get("values")
            .and_then(Value::as_array)
            .ok_or("a series without \"values\"")?;
        let mut points = Vec::with_capacity(values.len());
        for p in values {
            let (Some(t), Some(val)) = (
                p.get(0).and_then(Value::as_f64),
                p.get(1).and_then(Value::as_str),
            ) else {
                return Err(format!("a point {p}: expected [unix seconds, \"value\"]"));
            };
            // Prometheus writes NaN, +Inf and -Inf as strings: no value at that step
            let Ok(x) = val.parse::<f64>() else {
                return Err(format!("a value \"{val}\": expected a number"));
            };
            if let (true, Some(ts)) = (x.is_finite(), epoch(t)) {
                points.push((micros(ts), x));
            }
        }
        if points.is_empty() {
            continue;
        }
        out.push(ResourceSeries {
            target: target_of(&labels),
            metric: name,
            unit: unit.to_string(),
            query: promql.to_string(),
            points,
        });
    }
    Ok(out)
}

/// A series' target: its instance, then the labels that tell it from the others.
fn target_of(labels: &BTreeMap<String, String>) -> String {
    let mut t = labels
        .get("instance")
        .cloned()
        .unwrap_or_else(|| "all".into());
    for (k, v) in labels {
        if k != "instance" && k != "job" && k != "__name__" {
            t.push_str(&format!(" {k}={v}"));
        }
    }
    t
}

/// The window, step and rate window of a live query.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    /// None: the shortest scrape interval of the active targets.
    pub step_s: Option<f64>,
}

fn source_err(url: &str, msg: impl std::fmt::Display) -> Error {
    Error::Source {
        what: format!("Prometheus {url}"),
        msg: msg.to_string(),
    }
}

/// A small blocking HTTP GET client for the API.
struct Api {
    base: url::Url,
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Api {
    fn new(base: &str) -> Result<Api> {
        let mut u = url::Url::parse(base).map_err(|e| {
            source_err(
                base,
                format!("{e}: expected a URL like http://127.0.0.1:9090"),
            )
        })?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(source_err(base, "expected an http:// or https:// URL"));
        }
        if !u.path().ends_with('/') {
            let p = format!("{}/", u.path());
            u.set_path(&p);
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| source_err(base, format!("cannot start the I/O runtime: {e}")))?;
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| source_err(base, e))?;
        Ok(Api {
            base: u,
            rt,
            client,
        })
    }

    /// The body of `GET <base>api/v1/<path>?<params>`, whatever the status (Prometheus
    /// explains a refusal in the JSON body).
    fn get(&self, path: &str, params: &[(&str, String)]) -> Result<String> {
        let mut u = self
            .base
            .join(&format!("api/v1/{path}"))
            .map_err(|e| source_err(self.base.as_str(), e))?;
        u.query_pairs_mut().extend_pairs(params);
        let base = self.base.as_str().trim_end_matches('/').to_string();
        self.rt.block_on(async {
            let resp = self
                .client
                .get(u)
                .header(
                    "User-Agent",
                    concat!("perfledger/", env!("CARGO_PKG_VERSION")),
                )
                .send()
                .await
                .map_err(|e| {
                    source_err(
                        &base,
                        format!("cannot connect: {e} (is Prometheus running at this address?)"),
                    )
                })?;
            let status = resp.status();
            let text = resp.text().await.map_err(|e| source_err(&base, e))?;
            if !status.is_success() && !text.trim_start().starts_with('{') {
                return Err(source_err(
                    &base,
                    format!(
                        "{status} for /api/v1/{path}: {} (is this a Prometheus server?)",
                        text.trim().chars().take(200).collect::<String>()
                    ),
                ));
            }
            Ok(text)
        })
    }

    /// The shortest scrape interval of the active targets, in seconds.
    fn scrape_interval(&self) -> Result<Option<f64>> {
        let body = self.get("targets", &[("state", "active".into())])?;
        let v: Value = serde_json::from_str(&body).map_err(|e| {
            source_err(
                self.base.as_str(),
                format!("/api/v1/targets is not JSON: {e}"),
            )
        })?;
        Ok(v.pointer("/data/activeTargets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("scrapeInterval").and_then(Value::as_str))
            .filter_map(parse_duration)
            .reduce(f64::min))
    }
}

/// What a live query gives: the capture, with the raw answers per metric for `--save`.
pub struct LiveCapture {
    pub capture: ResourceCapture,
    /// metric -> the answer (one per metric; a chunked window's answers merged)
    pub answers: BTreeMap<String, Value>,
    /// Queries that answered no series (their exporter is not scraped, say).
    pub empty: Vec<String>,
}

/// Runs every query over the window.
pub fn query_range(url: &str, queries: &[Query], w: Window) -> Result<LiveCapture> {
    let api = Api::new(url)?;
    let base = api.base.as_str().trim_end_matches('/').to_string();
    let step = match w.step_s {
        Some(s) => s,
        None => api.scrape_interval()?.unwrap_or(15.0),
    };
    if w.end <= w.start {
        return Err(Error::Usage(format!(
            "the window {} .. {} is empty: a run needs an end time (or a duration) to query its resources",
            crate::time::display(w.start),
            crate::time::display(w.end)
        )));
    }
    let (s0, s1) = (micros(w.start) as f64 / 1e6, micros(w.end) as f64 / 1e6);
    let rate_s = rate_window(step, s1 - s0);
    let rate_window = promql_duration(rate_s);
    let mut series = Vec::new();
    let mut answers = BTreeMap::new();
    let mut empty = Vec::new();
    for qy in queries {
        let promql = qy.promql.replace("$__rate_interval", &rate_window);
        let mut merged: Vec<Value> = Vec::new();
        let mut found: Vec<ResourceSeries> = Vec::new();
        // a rate at t covers (t - window, t]: the first point whose window lies in the run
        let mut t = if qy.promql.contains("$__rate_interval") {
            (s0 + rate_s).min(s1)
        } else {
            s0
        };
        while t <= s1 {
            let chunk_end = (t + step * (MAX_STEPS - 1) as f64).min(s1);
            let body = api.get(
                "query_range",
                &[
                    ("query", promql.clone()),
                    ("start", format!("{t:.3}")),
                    ("end", format!("{chunk_end:.3}")),
                    ("step", format!("{step}")),
                ],
            )?;
            let part = parse_matrix("Prometheus", &body, &qy.metric, &qy.unit, &promql)
                .map_err(|m| source_err(&base, format!("query {}: {m}", qy.metric)))?;
            merge(&mut found, part);
            if let Ok(v) = serde_json::from_str::<Value>(&body) {
                merged.push(v);
            }
            t = chunk_end + step;
        }
        if found.is_empty() {
            empty.push(qy.metric.clone());
        }
        answers.insert(qy.metric.clone(), merge_answers(merged));
        series.extend(found);
    }
    Ok(LiveCapture {
        capture: ResourceCapture {
            source: base,
            started_at: w.start,
            ended_at: w.end,
            step_s: step,
            series,
            sources: Vec::new(),
            notes: Vec::new(),
        },
        answers,
        empty,
    })
}

/// Appends a chunk's series to those of the earlier chunks, by (target, metric).
fn merge(into: &mut Vec<ResourceSeries>, part: Vec<ResourceSeries>) {
    for s in part {
        match into
            .iter_mut()
            .find(|x| x.target == s.target && x.metric == s.metric)
        {
            Some(x) => x.points.extend(s.points),
            None => into.push(s),
        }
    }
}

/// One answer of a chunked window: the first chunk's answer with every chunk's values.
fn merge_answers(mut parts: Vec<Value>) -> Value {
    if parts.len() <= 1 {
        return parts.pop().unwrap_or(Value::Null);
    }
    let mut first = parts.remove(0);
    let Some(result) = first
        .pointer_mut("/data/result")
        .and_then(Value::as_array_mut)
    else {
        return first;
    };
    for p in parts {
        for s in p
            .pointer("/data/result")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let labels = s.get("metric").cloned();
            let vals = s.get("values").and_then(Value::as_array).cloned();
            match result
                .iter_mut()
                .find(|r| r.get("metric") == labels.as_ref())
            {
                Some(r) => {
                    if let (Some(dst), Some(v)) =
                        (r.get_mut("values").and_then(Value::as_array_mut), vals)
                    {
                        dst.extend(v);
                    }
                }
                None => result.push(s.clone()),
            }
        }
    }
    first
}

/// A saved `query_range` answer.
pub struct PrometheusJson;

/// The metric a saved answer's series stand for, when they carry no `__name__`: the file
/// name's stem (`cpu_busy_ratio.json`, as `--save` writes them).
fn metric_of_file(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stem = name
        .strip_suffix(".gz")
        .unwrap_or(name)
        .strip_suffix(".json")
        .unwrap_or(name);
    valid_name(stem).then(|| stem.to_string())
}

impl Importer for PrometheusJson {
    fn name(&self) -> &'static str {
        "prometheus-query-range"
    }
    fn tool(&self) -> &'static str {
        "prometheus"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let h = p.head.trim_start();
        if h.starts_with('{') && h.contains("\"resultType\"") && h.contains("\"status\"") {
            Ok(())
        } else {
            Err("not a Prometheus API answer (status, data.resultType)".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        let fallback = metric_of_file(path);
        let unit_of = |m: &str| crate::metrics::get(m).map_or("value", |r| r.unit);
        let metric = fallback.clone().unwrap_or_else(|| "value".into());
        let series = parse_matrix(
            &path.display().to_string(),
            &text,
            &metric,
            unit_of(&metric),
            "(saved query_range answer)",
        )
        .map_err(|m| Error::input(path, None, m))?;
        if series.iter().any(|s| s.metric == "value") {
            return Err(Error::input(
                path,
                None,
                "its series have no __name__ label: name the file after the metric they stand for (e.g. cpu_busy_ratio.json)",
            ));
        }
        let all = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
        let (Some(first), Some(last)) = (all.clone().min(), all.max()) else {
            return Err(Error::NoResults {
                path: path.clone(),
                reason: "the answer holds no series with a finite value".into(),
            });
        };
        let step_s = series
            .iter()
            .find_map(|s| {
                s.points
                    .windows(2)
                    .next()
                    .map(|w| (w[1].0 - w[0].0) as f64 / 1e6)
            })
            .unwrap_or(0.0);
        let at = |us| crate::time::from_micros(us).unwrap_or_default();
        let mut series = series;
        for s in &mut series {
            s.unit = unit_of(&s.metric).to_string();
        }
        Ok(Parsed::Resources(ResourceCapture {
            source: path.display().to_string(),
            started_at: at(first),
            ended_at: at(last),
            step_s,
            series,
            sources: sources(unit, "query_range")?,
            notes: Vec::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_prometheus_writes_them() {
        assert_eq!(parse_duration("15s"), Some(15.0));
        assert_eq!(parse_duration("500ms"), Some(0.5));
        assert_eq!(parse_duration("1m"), Some(60.0));
        assert_eq!(parse_duration("abc"), None);
        assert_eq!(promql_duration(4.0), "4s");
        assert_eq!(promql_duration(0.5), "500ms");
        // 4 steps; a 3 s run gets one 3 s window; never under 2 steps
        assert_eq!(rate_window(1.0, 600.0), 4.0);
        assert_eq!(rate_window(1.0, 3.0), 3.0);
        assert_eq!(rate_window(15.0, 10.0), 30.0);
    }

    #[test]
    fn a_matrix_answer_keeps_its_labels_and_drops_nan() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"instance":"h:9100","cpu":"1","job":"node"},"values":[[1700000000,"0.5"],[1700000001,"NaN"],[1700000002,"0.25"]]}]}}"#;
        let s = parse_matrix("t", body, "cpu_core_busy_ratio", "ratio", "q").unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].target, "h:9100 cpu=1");
        assert_eq!(
            s[0].points,
            vec![(1_700_000_000_000_000, 0.5), (1_700_000_002_000_000, 0.25)]
        );
    }

    #[test]
    fn an_error_answer_says_what_prometheus_said() {
        let body = r#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#;
        let e = parse_matrix("http://p", body, "m", "u", "q").unwrap_err();
        assert!(
            e.contains("bad_data") && e.contains("parse error at char 3"),
            "{e}"
        );
    }

    #[test]
    fn a_query_file_extends_or_replaces_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("q.toml");
        std::fs::write(&f, "[[query]]\nmetric = \"app_p95_ms\"\nunit = \"ms\"\npromql = 'histogram_quantile(0.95, sum by (le) (rate(h_bucket[$__rate_interval])))'\n").unwrap();
        let qs = queries(Some(&f)).unwrap();
        assert_eq!(qs.len(), default_queries().len() + 1);
        std::fs::write(
            &f,
            "defaults = false\n[[query]]\nmetric = \"Bad-Name\"\npromql = 'up'\n",
        )
        .unwrap();
        let e = queries(Some(&f)).unwrap_err().to_string();
        assert!(e.contains("Bad-Name"), "{e}");
        std::fs::write(&f, "[[query]]\nmetric = \"x\"\npromql = 'up'\nbogus = 1\n").unwrap();
        let e = queries(Some(&f)).unwrap_err().to_string();
        assert!(e.contains("q.toml:4") && e.contains("bogus"), "{e}");
    }
}
