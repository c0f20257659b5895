//! k6 end-of-test summaries: `--summary-export` JSON and the `handleSummary` data object.
//!
//! Both hold the same metrics in two shapes: summary-export puts a metric's values at its top
//! level and marks a threshold `true` when it was crossed; handleSummary nests them under
//! `values` with `{"ok": bool}` per threshold and adds `type` and `state.testRunDurationMs`.
//! `http_*` metrics fill the TOTAL target; `http_*{tag:value}` submetrics become targets named
//! after their tag set, a custom metric's `metric{tag:value}` a target of that name (as its
//! points give it); every other metric (custom Trend, Counter, Rate, Gauge, and the
//! built-in ones) becomes a target of kind `metric` so nothing is lost.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::text;
use super::{read_json, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{ErrorCount, Parsed, ParsedRun, Target, TargetKind, ThresholdResult, TOTAL};

pub struct K6SummaryExport;
pub struct K6HandleSummary;

/// Either key names a k6 summary, so a truncated one still reaches the parser (and its
/// line-numbered error) instead of "unknown format".
fn looks_like_summary(p: &Probe) -> bool {
    let h = p.head.trim_start();
    h.starts_with('{')
        && (h.contains("\"root_group\"") || (h.contains("\"metrics\"") && h.contains("\"http_req")))
}

impl Importer for K6SummaryExport {
    fn name(&self) -> &'static str {
        "k6-summary-export"
    }
    fn tool(&self) -> &'static str {
        "k6"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        if looks_like_summary(p)
            && !p.head.contains("\"testRunDurationMs\"")
            && !p.head.contains("\"values\"")
        {
            Ok(())
        } else {
            Err("not a k6 --summary-export object (needs root_group and flat metrics)".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        parse(unit, false)
    }
}

impl Importer for K6HandleSummary {
    fn name(&self) -> &'static str {
        "k6-handle-summary"
    }
    fn tool(&self) -> &'static str {
        "k6"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        if looks_like_summary(p)
            && (p.head.contains("\"testRunDurationMs\"") || p.head.contains("\"values\""))
        {
            Ok(())
        } else {
            Err("not a k6 handleSummary data object (needs root_group, metrics with values)".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        parse(unit, true)
    }
}

/// A metric's values and thresholds in one shape, whichever file they came from.
struct K6Metric<'a> {
    values: &'a Map<String, Value>,
    /// expression -> passed
    thresholds: Vec<(String, bool)>,
}

fn metric_view(v: &Value, nested: bool) -> Option<K6Metric<'_>> {
    let obj = v.as_object()?;
    let values = if nested {
        obj.get("values")?.as_object()?
    } else {
        obj
    };
    let thresholds = obj
        .get("thresholds")
        .and_then(Value::as_object)
        .map(|t| {
            t.iter()
                .map(|(expr, v)| {
                    let passed = if nested {
                        v.get("ok").and_then(Value::as_bool).unwrap_or(false)
                    } else {
                        // summary-export: true means the threshold was crossed
                        !v.as_bool().unwrap_or(true)
                    };
                    (expr.clone(), passed)
                })
                .collect()
        })
        .unwrap_or_default();
    Some(K6Metric { values, thresholds })
}

fn num(m: &K6Metric, key: &str) -> Option<f64> {
    m.values.get(key).and_then(Value::as_f64)
}

fn parse(unit: &Unit, nested: bool) -> Result<Parsed> {
    let path = &unit.primary;
    let doc = read_json(path, "a k6 summary JSON object")?;
    let metrics = doc
        .get("metrics")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::input(path, Some(1), "expected a \"metrics\" object"))?;
    let view = |name: &str| metrics.get(name).and_then(|v| metric_view(v, nested));
    let Some(reqs) = view("http_reqs") else {
        return Err(Error::no_results(
            path,
            "no http_reqs metric: the test made no HTTP request",
        ));
    };
    let mut run = ParsedRun::new(
        "k6",
        if nested {
            "k6-handle-summary"
        } else {
            "k6-summary-export"
        },
    );
    let count = num(&reqs, "count");
    let rate = num(&reqs, "rate");
    run.duration_s = doc
        .pointer("/state/testRunDurationMs")
        .and_then(Value::as_f64)
        .map(|ms| ms / 1000.0)
        .or_else(|| Some(count? / rate?).filter(|d| d.is_finite()));
    run.ended_at = text::mtime(path);
    run.started_at = match (run.ended_at, run.duration_s) {
        (Some(e), Some(d)) => text::shift(e, -d),
        (e, _) => e,
    };
    run.labels.insert("time_source".into(), "file-mtime".into());
    run.load.users = view("vus_max")
        .and_then(|m| num(&m, "max").or(num(&m, "value")))
        .map(|v| v as i64);

    let mut total = Target::total();
    total
        .set("requests", count, "count")
        .set("throughput_rps", rate, "req/s");
    if let Some(failed) = view("http_req_failed") {
        total.set("failures", num(&failed, "passes"), "count");
        total.set(
            "error_rate",
            num(&failed, "rate").or(num(&failed, "value")),
            "ratio",
        );
    }
    if let Some(d) = view("http_req_duration") {
        set_trend_as_latency(&mut total, &d);
    }
    total.set(
        "bytes_received",
        view("data_received").and_then(|m| num(&m, "count")),
        "bytes",
    );
    total.set(
        "bytes_sent",
        view("data_sent").and_then(|m| num(&m, "count")),
        "bytes",
    );
    run.targets.push(total);

    for (name, v) in metrics {
        let Some(m) = metric_view(v, nested) else {
            continue;
        };
        for (expr, passed) in &m.thresholds {
            run.thresholds.push(ThresholdResult {
                metric: name.clone(),
                expression: expr.clone(),
                passed: *passed,
            });
        }
        match name.split_once('{') {
            Some((base, tags)) if !base.starts_with("http_") => {
                // a custom metric's submetric: the target its points files give too
                let mut t = metric_target(name, &m, v.get("type").and_then(Value::as_str));
                t.tags = Some(tag_map(tags.trim_end_matches('}')));
                run.targets.push(t);
            }
            Some((base, tags)) => add_submetric(&mut run, base, tags.trim_end_matches('}'), &m),
            None if !matches!(
                name.as_str(),
                "http_reqs" | "http_req_failed" | "http_req_duration"
            ) =>
            {
                run.targets.push(metric_target(
                    name,
                    &m,
                    v.get("type").and_then(Value::as_str),
                ));
            }
            None => {}
        }
    }
    collect_checks(doc.get("root_group"), &mut run.errors);
    Ok(Parsed::Runs(vec![run]))
}

fn set_trend_as_latency(t: &mut Target, m: &K6Metric) {
    for (key, name) in [
        ("avg", "latency_mean_ms"),
        ("min", "latency_min_ms"),
        ("med", "latency_p50_ms"),
        ("max", "latency_max_ms"),
        ("p(90)", "latency_p90_ms"),
        ("p(95)", "latency_p95_ms"),
        ("p(99)", "latency_p99_ms"),
        ("p(99.9)", "latency_p999_ms"),
    ] {
        t.set(name, num(m, key), "ms");
    }
}

/// `name:checkout,step:a` -> its tags.
fn tag_map(tags: &str) -> BTreeMap<String, String> {
    tags.split(',')
        .filter_map(|kv| {
            kv.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// `http_req_duration{name:checkout}` -> target `name:checkout` with latency figures;
/// other submetrics add `<metric>.<stat>` measurements to that target.
fn add_submetric(run: &mut ParsedRun, base: &str, tags: &str, m: &K6Metric) {
    let target_name = tags.to_string();
    if run.target(&target_name).is_none() {
        let mut t = Target::new(target_name.clone(), TargetKind::Http);
        t.tags = Some(tag_map(tags));
        run.targets.push(t);
    }
    #[expect(clippy::expect_used, reason = "inserted just above when missing")]
    let t = run.target_mut(&target_name).expect("inserted above");
    match base {
        "http_req_duration" => set_trend_as_latency(t, m),
        "http_reqs" => {
            t.set("requests", num(m, "count"), "count").set(
                "throughput_rps",
                num(m, "rate"),
                "req/s",
            );
        }
        "http_req_failed" => {
            t.set("failures", num(m, "passes"), "count").set(
                "error_rate",
                num(m, "rate").or(num(m, "value")),
                "ratio",
            );
        }
        _ => {
            for (k, v) in m.values {
                if let Some(v) = v.as_f64() {
                    let metric = format!("{base}.{}", stat_name(k));
                    t.metrics.insert(metric, (v, ""));
                }
            }
        }
    }
}

fn stat_name(k: &str) -> String {
    match k {
        "avg" => "mean".into(),
        "med" => "p50".into(),
        _ => k.replace("p(", "p").replace(')', "").replace('.', "_"),
    }
}

/// Any other k6 metric: its statistics as `value_<stat>` (Trend), `count`/`rate` (Counter),
/// `rate`/`passes`/`fails` (Rate), `value`/`min`/`max` (Gauge).
fn metric_target(name: &str, m: &K6Metric, kind: Option<&str>) -> Target {
    let mut t = Target::new(name, TargetKind::Metric);
    let is_trend = kind == Some("trend") || m.values.contains_key("med");
    for (k, v) in m.values {
        let Some(v) = v.as_f64() else { continue };
        let metric = if is_trend {
            format!("value_{}", stat_name(k))
        } else {
            stat_name(k)
        };
        let unit = if is_trend { "ms" } else { "" };
        t.metrics.insert(metric, (v, unit));
    }
    t
}

fn collect_checks(group: Option<&Value>, out: &mut Vec<ErrorCount>) {
    let Some(g) = group else { return };
    if let Some(checks) = g.get("checks") {
        let list: Vec<&Value> = match checks {
            Value::Object(o) => o.values().collect(),
            Value::Array(a) => a.iter().collect(),
            _ => vec![],
        };
        for c in list {
            let fails = c.get("fails").and_then(Value::as_i64).unwrap_or(0);
            if fails > 0 {
                let path = c
                    .get("path")
                    .or(c.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                out.push(ErrorCount {
                    target: TOTAL.into(),
                    kind: "check",
                    message: path.to_string(),
                    count: fails,
                });
            }
        }
    }
    if let Some(groups) = g.get("groups") {
        let list: Vec<&Value> = match groups {
            Value::Object(o) => o.values().collect(),
            Value::Array(a) => a.iter().collect(),
            _ => vec![],
        };
        for sub in list {
            collect_checks(Some(sub), out);
        }
    }
}
