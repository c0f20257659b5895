//! Artillery `run --output report.json`: the `aggregate` object (counters, rates, summaries)
//! and the `intermediate` periods, which become the time series.
//!
//! Artillery 1.x reports have another shape (`aggregate.requestsCompleted`, `latency.median/p95/
//! p99` in ms, `rps.mean`, `codes`, `errors`, `scenarioCounts`, and per 10-s period the raw
//! `latencies` in nanoseconds): read by [`parse_v1`], with a histogram of every request from the
//! periods' latencies. A 1.x report has no start time: the run ends at `aggregate.timestamp` and
//! starts the sum of its phases' durations earlier.
//! Per-endpoint figures come from the metrics-by-endpoint plugin's
//! `plugins.metrics-by-endpoint.response_time.<name>` summaries when present.

use serde_json::Value;

use super::text;
use super::{read_json, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{ErrorCount, Parsed, ParsedRun, SeriesPoint, Target, TargetKind, TOTAL};

pub struct ArtilleryReport;

const ENDPOINT_PREFIX: &str = "plugins.metrics-by-endpoint.response_time.";

fn set_summary(t: &mut Target, s: &Value) {
    let f = |k: &str| s.get(k).and_then(Value::as_f64);
    t.set("latency_min_ms", f("min"), "ms")
        .set("latency_max_ms", f("max"), "ms")
        .set("latency_mean_ms", f("mean"), "ms")
        .set("latency_p50_ms", f("p50").or(f("median")), "ms")
        .set("latency_p90_ms", f("p90"), "ms")
        .set("latency_p95_ms", f("p95"), "ms")
        .set("latency_p99_ms", f("p99"), "ms")
        .set("latency_p999_ms", f("p999"), "ms");
}

fn epoch_ms(v: Option<&Value>) -> Option<chrono::NaiveDateTime> {
    v.and_then(Value::as_f64)
        .and_then(|ms| text::epoch(ms / 1000.0))
}

impl Importer for ArtilleryReport {
    fn name(&self) -> &'static str {
        "artillery-report"
    }
    fn tool(&self) -> &'static str {
        "artillery"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let h = p.head.trim_start();
        if h.starts_with('{')
            && h.contains("\"aggregate\"")
            && (h.contains("\"intermediate\"") || h.contains("\"counters\""))
        {
            Ok(())
        } else {
            Err("not an Artillery --output report (needs aggregate and intermediate)".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let doc = read_json(path, "Artillery's JSON report")?;
        let agg = doc
            .get("aggregate")
            .ok_or_else(|| Error::input(path, Some(1), "no \"aggregate\" object"))?;
        if agg.get("requestsCompleted").is_some()
            && agg
                .get("counters")
                .is_none_or(|c| c.get("http.requests").is_none())
        {
            return parse_v1(path, &doc, agg).map(|r| Parsed::Runs(vec![r]));
        }
        let counters = agg.get("counters").cloned().unwrap_or(Value::Null);
        let counter = |k: &str| counters.get(k).and_then(Value::as_f64);
        let requests = counter("http.requests");
        let responses = counter("http.responses").unwrap_or(0.0);
        if requests.unwrap_or(0.0) == 0.0 {
            return Err(Error::no_results(
                path,
                "Artillery made no HTTP request (http.requests is 0 or missing)",
            ));
        }
        let mut run = ParsedRun::new("artillery", "artillery-report");
        run.started_at = epoch_ms(agg.get("firstMetricAt").or(agg.get("firstCounterAt")));
        run.ended_at = epoch_ms(agg.get("lastMetricAt").or(agg.get("lastCounterAt")));
        let mut total = Target::total();
        let non2xx: f64 = counters
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| k.starts_with("http.codes.") && !k.starts_with("http.codes.2"))
                    .filter_map(|(_, v)| v.as_f64())
                    .sum()
            })
            .unwrap_or(0.0);
        let errors: f64 = counters
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| k.starts_with("errors."))
                    .filter_map(|(_, v)| v.as_f64())
                    .sum()
            })
            .unwrap_or(0.0);
        let span = run
            .started_at
            .zip(run.ended_at)
            .map(|(a, b)| (b - a).num_milliseconds() as f64 / 1000.0)
            .filter(|s| *s > 0.0);
        total
            .set("requests", requests, "count")
            .set("failures", Some(non2xx + errors), "count")
            .set(
                "throughput_rps",
                requests.zip(span).map(|(r, s)| r / s),
                "req/s",
            )
            .set("bytes_received", counter("http.downloaded_bytes"), "bytes")
            .set("responses", Some(responses), "count");
        if let Some(s) = agg.pointer("/summaries/http.response_time") {
            set_summary(&mut total, s);
        }
        run.targets.push(total);
        if let Some(summaries) = agg.get("summaries").and_then(Value::as_object) {
            for (k, s) in summaries {
                if let Some(name) = k.strip_prefix(ENDPOINT_PREFIX) {
                    let mut t = Target::new(name, TargetKind::Http);
                    set_summary(&mut t, s);
                    t.set("requests", s.get("count").and_then(Value::as_f64), "count");
                    run.targets.push(t);
                }
            }
        }
        if let Some(o) = counters.as_object() {
            for (k, v) in o {
                let n = v.as_i64().unwrap_or(0);
                if k.starts_with("errors.") && n > 0 {
                    run.errors.push(ErrorCount {
                        target: TOTAL.into(),
                        kind: "error",
                        message: k.trim_start_matches("errors.").to_string(),
                        count: n,
                    });
                } else if k.starts_with("http.codes.") && !k.starts_with("http.codes.2") && n > 0 {
                    run.errors.push(ErrorCount {
                        target: TOTAL.into(),
                        kind: "status",
                        message: format!("status {}", k.trim_start_matches("http.codes.")),
                        count: n,
                    });
                }
            }
        }
        for period in doc
            .get("intermediate")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(ts) = epoch_ms(period.get("period").or(period.get("firstMetricAt"))) else {
                continue;
            };
            let mut push = |metric: &'static str, v: Option<f64>| {
                if let Some(value) = v.filter(|v| v.is_finite()) {
                    run.series.push(SeriesPoint {
                        target: TOTAL.into(),
                        ts,
                        metric,
                        value,
                    });
                }
            };
            push(
                "requests",
                period
                    .pointer("/counters/http.requests")
                    .and_then(Value::as_f64),
            );
            push(
                "throughput_rps",
                period
                    .pointer("/rates/http.request_rate")
                    .and_then(Value::as_f64),
            );
            let s = period.pointer("/summaries/http.response_time");
            push(
                "latency_p50_ms",
                s.and_then(|s| s.get("p50").or(s.get("median")))
                    .and_then(Value::as_f64),
            );
            push(
                "latency_p95_ms",
                s.and_then(|s| s.get("p95")).and_then(Value::as_f64),
            );
            push(
                "latency_p99_ms",
                s.and_then(|s| s.get("p99")).and_then(Value::as_f64),
            );
        }
        Ok(Parsed::Runs(vec![run]))
    }
}

fn iso(v: Option<&Value>) -> Option<chrono::NaiveDateTime> {
    v.and_then(Value::as_str).and_then(text::rfc3339)
}

/// A 1.x period's `latencies`: nanoseconds, or `[timestamp, id, ns, code]` in older 1.x.
fn v1_latency_ms(v: &Value) -> Option<f64> {
    let ns = match v {
        Value::Array(a) => a.get(2)?.as_f64()?,
        v => v.as_f64()?,
    };
    Some(ns / 1e6)
}

fn sum_values(v: Option<&Value>, keep: impl Fn(&str) -> bool) -> f64 {
    v.and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .filter(|(k, _)| keep(k))
                .filter_map(|(_, v)| v.as_f64())
                .fold(0.0, |a, b| a + b)
        })
        .unwrap_or(0.0)
}

/// An Artillery 1.x report.
fn parse_v1(path: &std::path::Path, doc: &Value, agg: &Value) -> Result<ParsedRun> {
    let completed = agg
        .get("requestsCompleted")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let errors = sum_values(agg.get("errors"), |_| true);
    if completed + errors == 0.0 {
        return Err(Error::no_results(
            path,
            "Artillery 1.x completed no request and reported no error (requestsCompleted is 0)",
        ));
    }
    let non2xx = sum_values(agg.get("codes"), |k| !k.starts_with('2'));
    let mut run = ParsedRun::new("artillery", "artillery-report-v1");
    run.ended_at = iso(agg.get("timestamp"));
    let phases = agg.get("phases").and_then(Value::as_array);
    let planned: f64 = phases
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("duration").and_then(Value::as_f64))
        .fold(0.0, |a, b| a + b);
    if planned > 0.0 {
        run.duration_s = Some(planned);
        run.started_at = run.ended_at.and_then(|e| text::shift(e, -planned));
    }
    if let Some([p]) = phases.map(Vec::as_slice) {
        run.load.target_rate = p.get("arrivalRate").and_then(Value::as_f64);
    }
    let mut total = Target::total();
    total
        .set("requests", Some(completed + errors), "count")
        .set("failures", Some(non2xx + errors), "count")
        .set(
            "throughput_rps",
            agg.pointer("/rps/mean").and_then(Value::as_f64),
            "req/s",
        );
    if let Some(l) = agg.get("latency") {
        set_summary(&mut total, l);
    }
    let mut h = crate::model::new_histogram();
    for period in doc
        .get("intermediate")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for v in period
            .get("latencies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(ms) = v1_latency_ms(v) {
                crate::model::record_ms(&mut h, ms, 1);
            }
        }
        let Some(ts) = iso(period.get("timestamp")) else {
            continue;
        };
        let l = period.get("latency");
        for (metric, v) in [
            ("requests", period.get("requestsCompleted")),
            ("throughput_rps", period.pointer("/rps/mean")),
            ("latency_p50_ms", l.and_then(|l| l.get("median"))),
            ("latency_p95_ms", l.and_then(|l| l.get("p95"))),
            ("latency_p99_ms", l.and_then(|l| l.get("p99"))),
        ] {
            if let Some(value) = v.and_then(Value::as_f64).filter(|v| v.is_finite()) {
                run.series.push(SeriesPoint {
                    target: TOTAL.into(),
                    ts,
                    metric,
                    value,
                });
            }
        }
    }
    if !h.is_empty() {
        total.histogram = Some(h);
    }
    run.targets.push(total);
    if let Some(o) = agg.get("scenarioCounts").and_then(Value::as_object) {
        for (name, n) in o {
            let mut t = Target::new(name.as_str(), TargetKind::Transaction);
            t.set("scenarios_launched", n.as_f64(), "count");
            run.targets.push(t);
        }
    }
    for (code, n) in agg
        .get("codes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let n = n.as_i64().unwrap_or(0);
        if !code.starts_with('2') && n > 0 {
            run.errors.push(ErrorCount {
                target: TOTAL.into(),
                kind: "status",
                message: format!("status {code}"),
                count: n,
            });
        }
    }
    for (msg, n) in agg
        .get("errors")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        run.errors.push(ErrorCount {
            target: TOTAL.into(),
            kind: "error",
            message: msg.clone(),
            count: n.as_i64().unwrap_or(0),
        });
    }
    Ok(run)
}
