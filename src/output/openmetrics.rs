//! Runs as OpenMetrics text (<https://prometheus.io/docs/specs/om/open_metrics_spec/>), for
//! `promtool tsdb create-blocks-from openmetrics` and anything else that reads the format.
//!
//! - every stored number of a run is one gauge sample, `perfledger_<metric>`, at the run's
//!   end time, labelled `run` (its short content key, so two runs never merge into one
//!   series), `tool`, `scenario`, `target` and the run's own labels;
//! - a run's stored latency histogram (HdrHistogram, microseconds) is a classic histogram,
//!   `perfledger_latency_ms`, whose buckets are a geometric grid of ratio [`GRID`]: for every
//!   grid cell that holds requests both its edges are written, so `histogram_quantile`
//!   interpolates inside one 0.5% cell and agrees with the stored histogram within its
//!   own 1% resolution plus that half percent.
//!
//! Prometheus's native histograms have no text form in the Prometheus of Debian 12 (2.42: the
//! text and OpenMetrics parsers read classic histograms only); classic buckets are what a
//! backfill there can load.

use std::collections::BTreeMap;
use std::fmt::Write;

use hdrhistogram::Histogram;

use crate::store::runs::{short_key, RunHeader};

/// The ratio between successive bucket bounds.
pub const GRID: f64 = 1.005;
/// The histogram family's name.
pub const LATENCY_FAMILY: &str = "perfledger_latency_ms";

/// Labels perfledger sets itself; a run label of the same name is written as `label_<name>`.
const RESERVED: &[&str] = &["run", "tool", "scenario", "target", "le", "job", "instance"];

/// What one run contributes.
pub struct RunMetrics {
    pub header: RunHeader,
    /// (target, metric, value, unit)
    pub values: Vec<(String, String, f64, String)>,
    /// (target, histogram in microseconds)
    pub histograms: Vec<(String, Histogram<u64>)>,
}

/// A metric or label name in Prometheus's alphabet.
pub fn prom_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The sample time of a run: its end, else its start (seconds since the epoch).
pub fn run_time(h: &RunHeader) -> Option<f64> {
    // to the microsecond: truncating to milliseconds put samples up to 2 ms before the run's end
    let end = h.ended_at.or_else(|| {
        let d = h.duration_s.filter(|d| *d >= 0.0)?;
        crate::time::shift(h.started_at?, d)
    });
    end.or(h.started_at)
        .map(|t| t.and_utc().timestamp_micros() as f64 / 1e6)
}

/// The labels of one run and target, sorted by name: `run`, `tool`, `target`, `scenario`
/// and the run's own labels (renamed `label_<name>` where they would shadow one of ours).
pub fn label_pairs(h: &RunHeader, target: &str) -> Vec<(String, String)> {
    let mut l: Vec<(String, String)> = vec![
        ("run".into(), short_key(&h.content_key)),
        ("tool".into(), h.tool.clone()),
        ("target".into(), target.to_string()),
    ];
    if let Some(s) = &h.scenario {
        l.push(("scenario".into(), s.clone()));
    }
    for (k, v) in &h.labels {
        let name = prom_name(k);
        let name = if RESERVED.contains(&name.as_str()) || name.starts_with("__") {
            format!("label_{}", name.trim_start_matches('_'))
        } else {
            name
        };
        l.push((name, v.clone()));
    }
    l.sort();
    l.dedup_by(|a, b| a.0 == b.0);
    l
}

/// `run="..",tool="..",...` for one run and target, in a stable order.
fn labels(h: &RunHeader, target: &str) -> String {
    label_pairs(h, target)
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect::<Vec<_>>()
        .join(",")
}

/// A bound as a short decimal that parses back to itself closely enough for a bucket edge.
fn fmt_bound(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let digits = (8 - x.abs().log10().floor() as i32).clamp(0, 15) as usize;
    let s = format!("{x:.digits$}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.contains('.') {
        s.to_string()
    } else {
        format!("{s}.0")
    }
}

/// The grid cell of a value in microseconds: its upper edge is `GRID^k` µs; 0 has its own.
fn cell(us: u64) -> Option<i32> {
    (us > 0).then(|| ((us as f64).ln() / GRID.ln() - 1e-9).ceil() as i32)
}

fn edge_ms(k: i32) -> f64 {
    GRID.powi(k) / 1000.0
}

/// The cumulative buckets of one histogram: (upper bound in ms, requests at or below it).
pub fn buckets(h: &Histogram<u64>) -> Vec<(f64, u64)> {
    let mut cells: BTreeMap<Option<i32>, u64> = BTreeMap::new();
    for v in h.iter_recorded() {
        // a recorded HDR bucket stands for values up to its highest equivalent value
        let us = h.highest_equivalent(v.value_iterated_to());
        *cells.entry(cell(us)).or_default() += v.count_at_value();
    }
    let mut out: Vec<(f64, u64)> = Vec::new();
    let mut cum = 0;
    for (k, n) in cells {
        match k {
            None => {
                cum += n;
                out.push((0.0, cum));
            }
            Some(k) => {
                let lower = edge_ms(k - 1);
                if out.last().is_none_or(|(b, _)| *b < lower) {
                    out.push((lower, cum));
                }
                cum += n;
                out.push((edge_ms(k), cum));
            }
        }
    }
    out
}

struct Family {
    kind: &'static str,
    help: String,
    /// (time, line without the timestamp)
    samples: Vec<(f64, String)>,
}

fn gauge_help(metric: &str, unit: &str) -> String {
    format!("{metric} ({unit}) of a run's target, as the tool reported it or perfledger derived it")
}

/// The whole exposition, `# EOF` included, and how many runs had no time and were left out.
pub fn render(runs: &[RunMetrics]) -> (String, usize) {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut untimed = 0;
    for r in runs {
        let Some(t) = run_time(&r.header) else {
            untimed += 1;
            continue;
        };
        for (target, metric, value, unit) in &r.values {
            let name = format!("perfledger_{}", prom_name(metric));
            let f = families.entry(name.clone()).or_insert_with(|| Family {
                kind: "gauge",
                help: gauge_help(metric, unit),
                samples: Vec::new(),
            });
            f.samples.push((
                t,
                format!("{name}{{{}}} {value}", labels(&r.header, target)),
            ));
        }
        for (target, h) in &r.histograms {
            let f = families
                .entry(LATENCY_FAMILY.to_string())
                .or_insert_with(|| Family {
                    kind: "histogram",
                    help: "Latency of a run's target's requests (ms), from its stored histogram"
                        .into(),
                    samples: Vec::new(),
                });
            let l = labels(&r.header, target);
            let mut lines = String::new();
            for (le, n) in buckets(h) {
                let _ = writeln!(
                    lines,
                    "{LATENCY_FAMILY}_bucket{{{l},le=\"{}\"}} {n} {t:.3}",
                    fmt_bound(le)
                );
            }
            let _ = writeln!(
                lines,
                "{LATENCY_FAMILY}_bucket{{{l},le=\"+Inf\"}} {} {t:.3}",
                h.len()
            );
            let _ = writeln!(lines, "{LATENCY_FAMILY}_count{{{l}}} {} {t:.3}", h.len());
            // the mean is of recorded values (µs); the sum is in ms like the buckets
            let sum = h.mean() * h.len() as f64 / 1000.0;
            let _ = write!(lines, "{LATENCY_FAMILY}_sum{{{l}}} {sum} {t:.3}");
            f.samples.push((t, lines));
        }
    }
    let mut out = String::new();
    for (name, mut f) in families {
        // one series' points must come in time order
        f.samples.sort_by(|a, b| a.0.total_cmp(&b.0));
        let _ = writeln!(out, "# TYPE {name} {}", f.kind);
        let _ = writeln!(out, "# HELP {name} {}", escape(&f.help));
        for (t, line) in f.samples {
            if f.kind == "histogram" {
                let _ = writeln!(out, "{line}");
            } else {
                let _ = writeln!(out, "{line} {t:.3}");
            }
        }
    }
    out.push_str("# EOF\n");
    (out, untimed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_end_at_the_count() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 2).unwrap();
        for v in [0u64, 150, 151, 900, 12_000, 12_100, 250_000] {
            h.record(v).unwrap();
        }
        let b = buckets(&h);
        assert!(
            b.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
            "{b:?}"
        );
        assert_eq!(b.first(), Some(&(0.0, 1)));
        assert_eq!(b.last().map(|x| x.1), Some(7));
        // every recorded value lies at or below a bound whose count includes it
        assert!(b.iter().any(|(le, n)| *le >= 250.0 && *n == 7));
    }

    #[test]
    fn names_and_bounds_are_valid() {
        assert_eq!(prom_name("checks.rate"), "checks_rate");
        assert_eq!(prom_name("95th"), "_95th");
        assert_eq!(fmt_bound(1.005), "1.005");
        assert_eq!(fmt_bound(2.0), "2.0");
        assert_eq!(fmt_bound(0.0), "0");
    }
}
