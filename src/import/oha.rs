//! oha (<https://github.com/hatoo/oha>, 1.x) `--output-format json` (`-j` in older releases).
//!
//! The report names no URL, load profile or oha version: the run has one target, TOTAL, and the
//! time of the file. `requests` is the responses of `statusCodeDistribution` plus the requests
//! of `errorDistribution`, except "aborted due to deadline" (requests in flight when `-z` ended,
//! which oha leaves out of its success rate too: they are kept in the error table as
//! `aborted`); `failures` are the non-2xx responses and the other errors. oha's own
//! percentiles (`latencyPercentiles`, seconds) are stored as oha computed them (p10 ... p99.99);
//! its 11-bucket histogram is not kept (it would give other percentiles than oha's).

use serde_json::Value;

use super::text;
use super::{read_json, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{ErrorCount, Parsed, ParsedRun, Target};

pub struct OhaJson;

/// Requests cut off by the end of a `-z` run: not failures of the server.
const DEADLINE: &str = "aborted due to deadline";

fn secs_ms(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64).map(|s| s * 1000.0)
}

/// `p99.9` -> `latency_p999_ms`, `p50` -> `latency_p50_ms`.
fn percentile_metric(key: &str) -> Option<String> {
    let digits = key.strip_prefix('p')?.replace('.', "");
    digits
        .chars()
        .all(|c| c.is_ascii_digit())
        .then(|| format!("latency_p{digits}_ms"))
}

impl Importer for OhaJson {
    fn name(&self) -> &'static str {
        "oha-json"
    }
    fn tool(&self) -> &'static str {
        "oha"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let h = p.head.trim_start();
        if h.starts_with('{') && h.contains("\"successRate\"") && h.contains("\"requestsPerSec\"") {
            Ok(())
        } else {
            Err("not an oha JSON report (needs summary.successRate and requestsPerSec)".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let doc = read_json(path, "oha's JSON report (--output-format json)")?;
        let summary = doc
            .get("summary")
            .ok_or_else(|| Error::input(path, None, "expected oha's \"summary\" object"))?;
        let dist = |k: &str| -> Vec<(String, f64)> {
            doc.get(k)
                .and_then(Value::as_object)
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                        .collect()
                })
                .unwrap_or_default()
        };
        let statuses = dist("statusCodeDistribution");
        let errors = dist("errorDistribution");
        let responses = statuses.iter().fold(0.0, |a, (_, n)| a + n);
        let errored = errors
            .iter()
            .filter(|(m, _)| m != DEADLINE)
            .fold(0.0, |a, (_, n)| a + n);
        if responses + errored == 0.0 {
            return Err(Error::no_results(
                path,
                "oha reports no responses and no errors",
            ));
        }
        let is_2xx = |code: &str| code.starts_with('2') && code.len() == 3;
        let non2xx = statuses
            .iter()
            .filter(|(c, _)| !is_2xx(c))
            .fold(0.0, |a, (_, n)| a + n);

        let mut run = ParsedRun::new("oha", "oha-json");
        run.started_at = text::mtime(path);
        run.labels.insert("time_source".into(), "file-mtime".into());
        run.duration_s = summary.get("total").and_then(Value::as_f64);
        let mut t = Target::total();
        let s = |k: &str| summary.get(k);
        t.set("requests", Some(responses + errored), "count")
            .set("failures", Some(non2xx + errored), "count")
            .set(
                "throughput_rps",
                s("requestsPerSec").and_then(Value::as_f64),
                "req/s",
            )
            .set(
                "bytes_received",
                s("totalData").and_then(Value::as_f64),
                "bytes",
            )
            .set("latency_min_ms", secs_ms(s("fastest")), "ms")
            .set("latency_mean_ms", secs_ms(s("average")), "ms")
            .set("latency_max_ms", secs_ms(s("slowest")), "ms");
        if let Some(p) = doc.get("latencyPercentiles").and_then(Value::as_object) {
            for (k, v) in p {
                if let Some(m) = percentile_metric(k) {
                    t.set(&m, secs_ms(Some(v)), "ms");
                }
            }
        }
        for (code, n) in statuses.iter().filter(|(c, _)| !is_2xx(c)) {
            run.errors
                .push(ErrorCount::http_status(&t.name, code, *n as i64));
        }
        for (msg, n) in errors {
            run.errors.push(ErrorCount {
                target: t.name.clone(),
                kind: if msg == DEADLINE { "aborted" } else { "error" },
                message: msg,
                count: n as i64,
            });
        }
        run.targets.push(t);
        Ok(Parsed::Runs(vec![run]))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentile_names() {
        assert_eq!(
            super::percentile_metric("p99.9").as_deref(),
            Some("latency_p999_ms")
        );
        assert_eq!(
            super::percentile_metric("p50").as_deref(),
            Some("latency_p50_ms")
        );
        assert_eq!(super::percentile_metric("mean"), None);
    }
}
