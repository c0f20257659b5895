//! Baseline vs candidate, per target x metric, with the method the data allows:
//!
//! 1. **across runs** (baseline has >= 3 runs with the value): Welch's t-test when the
//!    candidate has >= 2 runs, else the prediction-interval test of the one candidate value.
//!    Preferred whenever history exists, because run-to-run noise of CI runners is then in the
//!    variance; per-request tests cannot see it and cry wolf.
//! 2. **histograms** (latency, both sides have per-request histograms): percentile bootstrap
//!    of the quantile ratio (2000 resamples) for the interval, Mann-Whitney U for the p-value.
//! 3. **threshold** (one baseline run, no samples): the relative change against a plain
//!    threshold (default 10%), reported as such, with no p-value.
//!
//! p-values of one comparison are adjusted together (Benjamini-Hochberg, q = 0.05 by
//! default). A change is a regression only if it is significant after adjustment, in the bad
//! direction, and practically large: at least the minimum effect (5% by default, per metric
//! settable) with its whole 95% interval beyond that effect where an interval exists.

use std::collections::BTreeMap;

use serde::Serialize;

use super::buckets_ms;
use crate::error::{Error, Result};
use crate::metrics::{self, direction, Direction, ERROR_RATE, FAILURES, REQUESTS, TOTAL};
use crate::stats::{bootstrap, fdr, mean, rank, tests};
use crate::store::values::Values;
use crate::store::Warehouse;

#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub fdr_q: f64,
    pub min_effect: f64,
    pub min_effect_per_metric: BTreeMap<String, f64>,
    pub threshold: f64,
    pub bootstrap_resamples: usize,
    pub allow_different_load: bool,
    pub metrics: Vec<String>,
    pub targets: Option<Vec<String>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            fdr_q: 0.05,
            min_effect: 0.05,
            min_effect_per_metric: BTreeMap::new(),
            threshold: 0.10,
            bootstrap_resamples: 2000,
            allow_different_load: false,
            metrics: metrics::KEY_METRICS
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
            targets: None,
        }
    }
}

/// What a comparison row concludes. One spelling (`as_str`) in every output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Regressed,
    Improved,
    Unchanged,
    InsufficientData,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::InsufficientData => "insufficient_data",
        }
    }
}

/// The test a comparison row used, by the data available (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Welch,
    PredictionInterval,
    Histograms,
    TwoProportion,
    Threshold,
    None,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Welch => "welch t-test across runs",
            Method::PredictionInterval => "prediction interval across runs",
            Method::Histograms => "bootstrap CI + Mann-Whitney U on histograms",
            Method::TwoProportion => "two-proportion z-test on summed counts",
            Method::Threshold => "threshold (one run each side, no samples)",
            Method::None => "none",
        }
    }
}

macro_rules! serialize_as_str {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    )*};
}
serialize_as_str!(Verdict, Method);

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub target: String,
    pub metric: String,
    pub direction: Direction,
    pub baseline: Option<f64>,
    pub candidate: Option<f64>,
    pub baseline_runs: usize,
    pub candidate_runs: usize,
    pub relative_change: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub p_value: Option<f64>,
    pub p_adjusted: Option<f64>,
    pub method: Method,
    pub min_effect: f64,
    pub verdict: Verdict,
    pub acknowledged: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub baseline_runs: Vec<i64>,
    pub candidate_runs: Vec<i64>,
    pub settings: Settings,
    pub results: Vec<Row>,
    pub notes: Vec<String>,
}

impl Comparison {
    pub fn regressions(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.verdict == Verdict::Regressed && !r.acknowledged)
            .count()
    }
}

type Buckets = Vec<(f64, u64)>;

struct Test {
    rel: f64,
    ci: (f64, f64),
    p: Option<f64>,
    method: Method,
}

fn across_runs(b: &[f64], c: &[f64]) -> Option<Test> {
    let mb = mean(b)?;
    if b.len() < 3 || mb == 0.0 {
        return None;
    }
    let r = if c.len() >= 2 {
        tests::welch(b, c)?
    } else {
        tests::prediction(b, *c.first()?)?
    };
    let method = if c.len() >= 2 {
        Method::Welch
    } else {
        Method::PredictionInterval
    };
    Some(Test {
        rel: r.diff / mb,
        ci: (r.ci.0 / mb, r.ci.1 / mb),
        p: Some(r.p_value),
        method,
    })
}

/// Error rates from summed counts: a zero baseline has no relative change, so a rise from
/// zero counts as +100%.
fn error_rate_test(
    fb: Option<f64>,
    nb: Option<f64>,
    fc: Option<f64>,
    nc: Option<f64>,
) -> Option<Test> {
    let (fb, nb, fc, nc) = (fb?, nb?, fc?, nc?);
    let p = tests::two_proportion(fb, nb, fc, nc)?;
    let (rb, rc) = (fb / nb, fc / nc);
    let rel = if rb > 0.0 {
        rc / rb - 1.0
    } else if rc > 0.0 {
        1.0
    } else {
        0.0
    };
    Some(Test {
        rel,
        ci: (f64::NAN, f64::NAN),
        p: Some(p),
        method: Method::TwoProportion,
    })
}

fn from_histograms(
    b: &[(f64, u64)],
    c: &[(f64, u64)],
    metric: &str,
    resamples: usize,
) -> Option<Test> {
    let q = metrics::quantile(metric)?;
    let ci = bootstrap::quantile_ratio(b, c, q, resamples, 0.05, 0x5eed)?;
    let mw = rank::mann_whitney(b, c)?;
    Some(Test {
        rel: ci.ratio - 1.0,
        ci: (ci.low - 1.0, ci.high - 1.0),
        p: Some(mw.p_value),
        method: Method::Histograms,
    })
}

/// Refuses runs whose load differs (users, connections, threads, rate, planned requests,
/// duration beyond 10%) unless allowed; returns notes on what differs.
fn check_load(wh: &Warehouse, base: &[i64], cand: &[i64], allow: bool) -> Result<Vec<String>> {
    type Field = fn(&(crate::model::LoadProfile, Option<f64>)) -> Option<f64>;
    let fields: [(&str, Field); 6] = [
        ("users", |p| p.0.users.map(|v| v as f64)),
        ("connections", |p| p.0.connections.map(|v| v as f64)),
        ("threads", |p| p.0.threads.map(|v| v as f64)),
        ("target_rate", |p| p.0.target_rate),
        ("requests_planned", |p| {
            p.0.requests_planned.map(|v| v as f64)
        }),
        ("duration_s", |p| p.1),
    ];
    let (pb, pc) = (wh.load_profiles(base)?, wh.load_profiles(cand)?);
    let mut diffs = Vec::new();
    for (name, get) in fields {
        let side = |ps: &[(crate::model::LoadProfile, Option<f64>)]| {
            mean(&ps.iter().filter_map(get).collect::<Vec<_>>())
        };
        let (Some(b), Some(x)) = (side(&pb), side(&pc)) else {
            continue;
        };
        let tol = if name == "duration_s" { 0.10 } else { 0.0 };
        if (x - b).abs() > tol * b.abs().max(1e-9) {
            diffs.push(format!("{name}: baseline {b:.6} vs candidate {x:.6}"));
        }
    }
    if !diffs.is_empty() && !allow {
        return Err(Error::Usage(format!(
            "baseline and candidate ran different loads ({}); comparing them would mislead. Pass --allow-different-load to compare anyway",
            diffs.join("; ")
        )));
    }
    Ok(diffs
        .into_iter()
        .map(|d| format!("different load allowed: {d}"))
        .collect())
}

pub fn compare(wh: &Warehouse, base: &[i64], cand: &[i64], s: &Settings) -> Result<Comparison> {
    let notes = check_load(wh, base, cand, s.allow_different_load)?;
    let metrics: Vec<&str> = s.metrics.iter().map(String::as_str).collect();
    let mut wanted = metrics.clone();
    wanted.extend([REQUESTS, FAILURES]);
    let vb = wh.values(base, &wanted)?;
    let vc = wh.values(cand, &wanted)?;
    let sum = |v: &Values, t: &str, m: &str| {
        v.get(&(t.to_string(), m.to_string()))
            .map(|x| x.values().sum::<f64>())
    };
    let acked = !wh.acknowledged_runs(cand)?.is_empty();
    let mut keys: Vec<(String, String)> = vb
        .keys()
        .chain(vc.keys())
        .filter(|(_, m)| metrics.contains(&m.as_str()))
        .cloned()
        .collect();
    keys.sort_by_key(|(t, m)| (t != TOTAL, t.clone(), metrics.iter().position(|x| x == m)));
    keys.dedup();
    if let Some(ts) = &s.targets {
        keys.retain(|(t, _)| ts.contains(t));
    }
    // A single-URL tool's only target repeats TOTAL: show it once.
    let same_as_total = |v: &Values, t: &str, m: &str| {
        v.get(&(t.to_string(), m.to_string())) == v.get(&(TOTAL.to_string(), m.to_string()))
    };
    keys.retain(|(t, m)| t == TOTAL || !(same_as_total(&vb, t, m) && same_as_total(&vc, t, m)));
    let mut hist_cache: BTreeMap<String, (Option<Buckets>, Option<Buckets>)> = BTreeMap::new();
    let mut rows = Vec::new();
    for (target, metric) in keys {
        let b: Vec<f64> = vb
            .get(&(target.clone(), metric.clone()))
            .map(|m| m.values().copied().collect())
            .unwrap_or_default();
        let c: Vec<f64> = vc
            .get(&(target.clone(), metric.clone()))
            .map(|m| m.values().copied().collect())
            .unwrap_or_default();
        let min_effect = *s
            .min_effect_per_metric
            .get(&metric)
            .unwrap_or(&s.min_effect);
        let mut test = if b.is_empty() || c.is_empty() {
            None
        } else if metric == ERROR_RATE {
            error_rate_test(
                sum(&vb, &target, FAILURES),
                sum(&vb, &target, REQUESTS),
                sum(&vc, &target, FAILURES),
                sum(&vc, &target, REQUESTS),
            )
            .or_else(|| across_runs(&b, &c))
        } else {
            across_runs(&b, &c)
        };
        if test.is_none() && metrics::quantile(&metric).is_some() && !b.is_empty() && !c.is_empty()
        {
            let entry = match hist_cache.get(&target) {
                Some(e) => e.clone(),
                None => {
                    let e = (
                        wh.merged_histogram(base, &target)?.map(|h| buckets_ms(&h)),
                        wh.merged_histogram(cand, &target)?.map(|h| buckets_ms(&h)),
                    );
                    hist_cache.insert(target.clone(), e.clone());
                    e
                }
            };
            if let (Some(hb), Some(hc)) = entry {
                test = from_histograms(&hb, &hc, &metric, s.bootstrap_resamples);
            }
        }
        if test.is_none() {
            if let (Some(mb), Some(mc)) = (mean(&b), mean(&c)) {
                if mb != 0.0 {
                    test = Some(Test {
                        rel: mc / mb - 1.0,
                        ci: (f64::NAN, f64::NAN),
                        p: None,
                        method: Method::Threshold,
                    });
                }
            }
        }
        rows.push(Row {
            direction: direction(&metric),
            baseline: mean(&b),
            candidate: mean(&c),
            baseline_runs: b.len(),
            candidate_runs: c.len(),
            relative_change: test.as_ref().map(|t| t.rel),
            ci_low: test.as_ref().map(|t| t.ci.0).filter(|v| v.is_finite()),
            ci_high: test.as_ref().map(|t| t.ci.1).filter(|v| v.is_finite()),
            p_value: test.as_ref().and_then(|t| t.p),
            p_adjusted: None,
            method: test.as_ref().map_or(Method::None, |t| t.method),
            min_effect,
            verdict: Verdict::InsufficientData,
            acknowledged: false,
            target,
            metric,
        });
    }
    let (idx, ps): (Vec<usize>, Vec<f64>) = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, r.p_value?)))
        .unzip();
    if let Some(adj) = fdr::bh_adjust(&ps) {
        for (k, &i) in idx.iter().enumerate() {
            rows[i].p_adjusted = Some(adj[k]);
        }
    }
    for r in &mut rows {
        r.verdict = verdict(r, s);
        r.acknowledged = acked && r.verdict == Verdict::Regressed;
    }
    Ok(Comparison {
        baseline_runs: base.to_vec(),
        candidate_runs: cand.to_vec(),
        settings: s.clone(),
        results: rows,
        notes,
    })
}

fn verdict(r: &Row, s: &Settings) -> Verdict {
    let Some(rel) = r.relative_change else {
        return Verdict::InsufficientData;
    };
    let worse = match r.direction {
        Direction::LowerIsBetter => rel > 0.0,
        Direction::HigherIsBetter => rel < 0.0,
    };
    // Practical: the whole 95% interval lies beyond the minimum effect (the bound nearest zero,
    // not the point estimate), so within-run noise cannot make a small change look large.
    let beyond = match (r.ci_low, r.ci_high) {
        (Some(lo), _) if rel > 0.0 => lo >= r.min_effect,
        (_, Some(hi)) if rel < 0.0 => hi <= -r.min_effect,
        _ => true,
    };
    let (significant, practical) = match r.p_adjusted {
        Some(p) => (p <= s.fdr_q, rel.abs() >= r.min_effect && beyond),
        None => (true, rel.abs() >= s.threshold.max(r.min_effect)),
    };
    match (significant && practical, worse) {
        (true, true) => Verdict::Regressed,
        (true, false) => Verdict::Improved,
        _ => Verdict::Unchanged,
    }
}
