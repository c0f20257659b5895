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
use crate::stats::{bootstrap, fdr, hypothesis, mean, rank};
use crate::store::values::Values;
use crate::store::Warehouse;

#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub fdr_q: f64,
    pub min_effect: f64,
    pub min_effect_per_metric: BTreeMap<String, f64>,
    /// Absolute floors by metric name or group (`latency` = every latency_* metric), in the
    /// metric's unit; a change smaller than its floor is never a regression.
    pub min_abs_effect: BTreeMap<String, f64>,
    pub threshold: f64,
    pub bootstrap_resamples: usize,
    pub allow_different_load: bool,
    pub metrics: Vec<String>,
    pub targets: Option<Vec<String>>,
}

impl Settings {
    /// The absolute floor of a metric: its own entry, else its group's.
    pub fn abs_floor(&self, metric: &str) -> Option<f64> {
        self.min_abs_effect
            .get(metric)
            .or_else(|| metrics::group(metric).and_then(|g| self.min_abs_effect.get(g)))
            .copied()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            fdr_q: 0.05,
            min_effect: 0.05,
            min_effect_per_metric: BTreeMap::new(),
            min_abs_effect: metrics::DEFAULT_ABS_FLOORS
                .iter()
                .map(|(k, v)| ((*k).to_string(), *v))
                .collect(),
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
    /// Not significant: no evidence of a change (see the row's MDE for what it could see).
    Unchanged,
    /// Significant, but smaller than the minimum effect or the absolute floor.
    BelowMinEffect,
    InsufficientData,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::BelowMinEffect => "below_min_effect",
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
    HistogramMean,
    PerSecond,
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
            Method::HistogramMean => "bootstrap CI of the mean + Mann-Whitney U on histograms",
            Method::PerSecond => "welch t-test on per-second requests",
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
    /// Run-to-run coefficient of variation of the baseline (>= 2 runs), or for a test within
    /// single runs the run-to-run noise it was widened by.
    pub baseline_cv: Option<f64>,
    /// Where that noise came from, for tests within single runs.
    pub noise: Option<String>,
    /// The smallest relative change this test would detect (two-sided 5%, power 80%).
    pub mde: Option<f64>,
    pub min_effect: f64,
    /// The absolute floor that applied, in the metric's unit.
    pub min_abs_effect: Option<f64>,
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
    /// Statements explained in both the baseline's and the candidate's runs.
    pub plans: Vec<PlanChange>,
    /// Why the baseline holds the runs it holds (e.g. "since the change point at run 17").
    pub baseline_reason: Option<String>,
}

/// A statement's plan in the baseline (its latest there) and in the candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanChange {
    pub statement: String,
    pub changed: bool,
    pub baseline_shape: String,
    pub candidate_shape: String,
    pub baseline_top_node: String,
    pub baseline_top_node_ms: f64,
    pub candidate_top_node: String,
    pub candidate_top_node_ms: f64,
    pub baseline_execution_ms: Option<f64>,
    pub candidate_execution_ms: Option<f64>,
}

/// The latest plan of each statement on either side, paired.
pub fn plan_changes(
    base: &[crate::store::statements::PlanRow],
    cand: &[crate::store::statements::PlanRow],
) -> Vec<PlanChange> {
    let latest = |rows: &[crate::store::statements::PlanRow]| {
        let mut m: std::collections::BTreeMap<String, crate::store::statements::PlanRow> =
            std::collections::BTreeMap::new();
        for r in rows {
            m.insert(r.statement.clone(), r.clone());
        }
        m
    };
    let (b, c) = (latest(base), latest(cand));
    c.into_iter()
        .filter_map(|(stmt, c)| {
            let b = b.get(&stmt)?;
            Some(PlanChange {
                changed: b.shape != c.shape,
                statement: stmt,
                baseline_shape: b.shape.clone(),
                candidate_shape: c.shape,
                baseline_top_node: b.top_node.clone(),
                baseline_top_node_ms: b.top_node_ms,
                candidate_top_node: c.top_node,
                candidate_top_node_ms: c.top_node_ms,
                baseline_execution_ms: b.execution_ms,
                candidate_execution_ms: c.execution_ms,
            })
        })
        .collect()
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
        hypothesis::welch(b, c)?
    } else {
        hypothesis::prediction(b, *c.first()?)?
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
    let p = hypothesis::two_proportion(fb, nb, fc, nc)?;
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

/// A percentile or the mean latency from both sides' per-request histograms.
fn from_histograms(
    b: &[(f64, u64)],
    c: &[(f64, u64)],
    metric: &str,
    resamples: usize,
) -> Option<Test> {
    let (ci, method) = if metric == metrics::LATENCY_MEAN {
        (
            bootstrap::mean_ratio(b, c, resamples, 0.05, 0x5eed)?,
            Method::HistogramMean,
        )
    } else {
        let q = metrics::quantile(metric)?;
        (
            bootstrap::quantile_ratio(b, c, q, resamples, 0.05, 0x5eed)?,
            Method::Histograms,
        )
    };
    let mw = rank::mann_whitney(b, c)?;
    Some(Test {
        rel: ci.ratio - 1.0,
        ci: (ci.low - 1.0, ci.high - 1.0),
        p: Some(mw.p_value),
        method,
    })
}

/// Throughput of one run a side from its per-second request counts (the first and last,
/// partial, seconds left out).
fn per_second(b: &[f64], c: &[f64]) -> Option<Test> {
    let inner = |v: &[f64]| -> Vec<f64> {
        if v.len() > 4 {
            v[1..v.len() - 1].to_vec()
        } else {
            Vec::new()
        }
    };
    let (b, c) = (inner(b), inner(c));
    let mb = mean(&b)?;
    if b.len() < 3 || c.len() < 3 || mb == 0.0 {
        return None;
    }
    let r = hypothesis::welch(&b, &c)?;
    Some(Test {
        rel: r.diff / mb,
        ci: (r.ci.0 / mb, r.ci.1 / mb),
        p: Some(r.p_value),
        method: Method::PerSecond,
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
    // k6 allocates VUs itself for arrival-rate scenarios (the rate is the load), so two runs of
    // one script can report 3 and 4 VUs: a note, not a refusal
    let k6_only = wh.tools(&[base, cand].concat())?.iter().all(|t| t == "k6");
    let mut diffs = Vec::new();
    let mut notes = Vec::new();
    for (name, get) in fields {
        let side = |ps: &[(crate::model::LoadProfile, Option<f64>)]| {
            mean(&ps.iter().filter_map(get).collect::<Vec<_>>())
        };
        let (Some(b), Some(x)) = (side(&pb), side(&pc)) else {
            continue;
        };
        let tol = if name == "duration_s" { 0.10 } else { 0.0 };
        if (x - b).abs() > tol * b.abs().max(1e-9) {
            let d = format!("{name}: baseline {b:.6} vs candidate {x:.6}");
            if name == "users" && k6_only {
                notes.push(format!("k6 VUs differ ({d}); k6 allocates VUs for arrival-rate scenarios, so they are not compared as load"));
            } else {
                diffs.push(d);
            }
        }
    }
    if !diffs.is_empty() && !allow {
        return Err(Error::Usage(format!(
            "baseline and candidate ran different loads ({}); comparing them would mislead. Pass --allow-different-load to compare anyway",
            diffs.join("; ")
        )));
    }
    notes.extend(
        diffs
            .into_iter()
            .map(|d| format!("different load allowed: {d}")),
    );
    Ok(notes)
}

/// The targets a run has besides TOTAL, per run.
fn targets_by_run(v: &Values) -> BTreeMap<i64, std::collections::BTreeSet<&str>> {
    let mut out: BTreeMap<i64, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for ((t, _), runs) in v {
        if t != TOTAL {
            for r in runs.keys() {
                out.entry(*r).or_default().insert(t.as_str());
            }
        }
    }
    out
}

/// Run-to-run coefficient of variation from the median and MAD (1.4826 MAD / median): a
/// history that holds a few runs of another regime (a slow week, a noisy night) does not
/// inflate it the way the standard deviation would.
fn robust_cv(xs: &[f64]) -> Option<f64> {
    let m = crate::stats::median(xs)?;
    let s = crate::stats::mad_sigma(xs)?;
    (m != 0.0).then(|| s / m.abs())
}

/// Run-to-run coefficient of variation.
fn cv(xs: &[f64]) -> Option<f64> {
    let m = mean(xs)?;
    let var = crate::stats::variance(xs)?;
    (m != 0.0).then(|| var.sqrt() / m.abs())
}

impl Test {
    /// A test on the samples of one run a side (per request, per second).
    fn within_run(&self) -> bool {
        matches!(
            self.method,
            Method::Histograms | Method::HistogramMean | Method::PerSecond
        )
    }

    /// Widens the 95% interval by run-to-run noise of coefficient of variation `cv`: the
    /// difference of two runs has sd cv x sqrt(2), added in quadrature to the within-run
    /// half-widths.
    fn widen(&mut self, cv: f64) {
        let extra = 1.959_963_984_540_054 * std::f64::consts::SQRT_2 * cv;
        let lo = (self.rel - self.ci.0).hypot(extra);
        let hi = (self.ci.1 - self.rel).hypot(extra);
        self.ci = (self.rel - lo, self.rel + hi);
    }
}

/// Run-to-run noise of one series, and where it came from.
struct Noise {
    cv: f64,
    source: String,
}

/// At least this many runs of the baseline's series give its run-to-run noise.
const NOISE_MIN_RUNS: usize = 5;
/// At most this many recent runs of the baseline's series are read for it.
const NOISE_RUNS: usize = 30;

/// The recent runs of the baseline's tool and scenario (the candidates left out), with the
/// compared metrics: read once per comparison, whatever the number of rows that need it.
fn noise_history(wh: &Warehouse, base: &[i64], cand: &[i64], metrics: &[&str]) -> Result<Values> {
    let Some(&first) = base.first() else {
        return Ok(Values::new());
    };
    let h = wh.run_header(first)?;
    let filter = crate::store::RunFilter {
        tool: Some(h.tool),
        scenario: h.scenario,
        ..Default::default()
    };
    let ids = wh.select_runs(&filter, Some(NOISE_RUNS), cand)?;
    wh.values(&ids, metrics)
}

/// The run-to-run coefficient of variation of (target, metric) in that history, else the
/// metric's prior.
fn run_noise(history: &Values, target: &str, metric: &str) -> Noise {
    let xs: Vec<f64> = history
        .get(&(target.to_string(), metric.to_string()))
        .map(|m| m.values().copied().collect())
        .unwrap_or_default();
    match robust_cv(&xs) {
        Some(c) if xs.len() >= NOISE_MIN_RUNS => Noise {
            cv: c.max(metrics::run_noise_floor(metric)),
            source: format!("{} recent runs of the baseline's series", xs.len()),
        },
        _ => {
            let cv = metrics::run_noise_prior(metric);
            Noise {
                cv,
                source: format!(
                    "prior {}% (fewer than {NOISE_MIN_RUNS} runs of this series)",
                    crate::grid::fmt_float(cv * 100.0)
                ),
            }
        }
    }
}

/// z(0.975) + z(0.80): a true change of this many standard errors is found 80% of the time.
const MDE_Z: f64 = 1.959_963_984_540_054 + 0.841_621_233_572_914_3;

/// The smallest relative change the test could have detected, from its 95% interval.
fn mde_of(t: &Test) -> Option<f64> {
    let half = (t.ci.1 - t.ci.0) / 2.0;
    half.is_finite()
        .then_some(half / 1.959_963_984_540_054 * MDE_Z)
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
    // A single-URL tool's only target repeats TOTAL: show it once. Decided by identity (it
    // is every run's only target), never by equal values: with several endpoints TOTAL's
    // median often falls in one of them.
    let (tb, tc) = (targets_by_run(&vb), targets_by_run(&vc));
    let only_target = |t: &str| {
        tb.values()
            .chain(tc.values())
            .filter(|set| set.contains(t))
            .all(|set| set.len() == 1)
    };
    keys.retain(|(t, _)| t == TOTAL || !only_target(t));
    let mut hist_cache: BTreeMap<String, (Option<Buckets>, Option<Buckets>)> = BTreeMap::new();
    let mut history: Option<Values> = None;
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
        let latency = metrics::quantile(&metric).is_some() || metric == metrics::LATENCY_MEAN;
        if test.is_none() && latency && !b.is_empty() && !c.is_empty() {
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
        if test.is_none() && metric == metrics::THROUGHPUT && base.len() == 1 && cand.len() == 1 {
            test = per_second(
                &wh.interval_values(base[0], &target, REQUESTS)?,
                &wh.interval_values(cand[0], &target, REQUESTS)?,
            );
        }
        // A per-request or per-second test sees the noise within one run, not the noise from
        // run to run: widen its interval by the run-to-run noise of the baseline's series.
        let mut noise = None;
        if let Some(t) = test.as_mut().filter(|t| t.within_run()) {
            let h = match history.take() {
                Some(h) => h,
                None => noise_history(wh, base, cand, &metrics)?,
            };
            let n = run_noise(&h, &target, &metric);
            history = Some(h);
            t.widen(n.cv);
            noise = Some(n);
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
        let mde = match &test {
            Some(t) if t.method == Method::Threshold => Some(s.threshold),
            Some(t) => mde_of(t),
            None => None,
        };
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
            baseline_cv: noise.as_ref().map_or_else(|| cv(&b), |n| Some(n.cv)),
            noise: noise.map(|n| n.source),
            mde,
            min_effect,
            min_abs_effect: s.abs_floor(&metric),
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
    let plans = plan_changes(&wh.plans_of(base)?, &wh.plans_of(cand)?);
    let mut notes = notes;
    for p in plans.iter().filter(|p| p.changed) {
        notes.push(format!(
            "the plan of {} changed: {} -> {}; its time is now mostly in {} ({} ms)",
            p.statement,
            p.baseline_shape,
            p.candidate_shape,
            p.candidate_top_node,
            crate::grid::fmt_float(crate::grid::round_sig(p.candidate_top_node_ms, 4))
        ));
    }
    Ok(Comparison {
        baseline_runs: base.to_vec(),
        candidate_runs: cand.to_vec(),
        settings: s.clone(),
        results: rows,
        notes,
        plans,
        baseline_reason: None,
    })
}

fn verdict(r: &Row, s: &Settings) -> Verdict {
    let Some(rel) = r.relative_change else {
        return Verdict::InsufficientData;
    };
    let worse = r.direction.is_worse(rel);
    // Practical: the whole 95% interval lies beyond the minimum effect (the bound nearest zero,
    // not the point estimate), so within-run noise cannot make a small change look large; and
    // the change in the metric's own unit is at least its absolute floor.
    let beyond = match (r.ci_low, r.ci_high) {
        (Some(lo), _) if rel > 0.0 => lo >= r.min_effect,
        (_, Some(hi)) if rel < 0.0 => hi <= -r.min_effect,
        _ => true,
    };
    let above_floor = match (r.min_abs_effect, r.baseline, r.candidate) {
        (Some(f), Some(b), Some(c)) => (c - b).abs() >= f,
        _ => true,
    };
    let (significant, practical) = match r.p_adjusted {
        Some(p) => (
            p <= s.fdr_q,
            rel.abs() >= r.min_effect && beyond && above_floor,
        ),
        None => (rel.abs() >= s.threshold.max(r.min_effect), above_floor),
    };
    match (significant, practical, worse) {
        (false, _, _) => Verdict::Unchanged,
        (true, false, _) => Verdict::BelowMinEffect,
        (true, true, true) => Verdict::Regressed,
        (true, true, false) => Verdict::Improved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(rel: f64, ci: (f64, f64), p: Option<f64>, base: f64, floor: Option<f64>) -> Row {
        Row {
            target: "GET fast".into(),
            metric: metrics::LATENCY_P50.into(),
            direction: Direction::LowerIsBetter,
            baseline: Some(base),
            candidate: Some(base * (1.0 + rel)),
            baseline_runs: 8,
            candidate_runs: 1,
            relative_change: Some(rel),
            ci_low: Some(ci.0),
            ci_high: Some(ci.1),
            p_value: p,
            p_adjusted: p,
            method: Method::PredictionInterval,
            baseline_cv: Some(0.02),
            noise: None,
            mde: Some(0.05),
            min_effect: 0.05,
            min_abs_effect: floor,
            verdict: Verdict::InsufficientData,
            acknowledged: false,
        }
    }

    #[test]
    fn sub_millisecond_changes_stay_below_the_absolute_floor() {
        // issue 11, defect 8: +0.17 ms on a 0.33 ms endpoint is +52%, significant, and still
        // not a regression under the default 0.25 ms latency floor
        let s = Settings::default();
        let floor = s.abs_floor(metrics::LATENCY_P50);
        assert_eq!(floor, Some(0.25));
        let r = row(0.17 / 0.33, (0.40, 0.64), Some(0.001), 0.33, floor);
        assert_eq!(verdict(&r, &s), Verdict::BelowMinEffect);
        // the same relative change on a 10 ms endpoint is 5 ms: a regression
        let r = row(0.17 / 0.33, (0.40, 0.64), Some(0.001), 10.0, floor);
        assert_eq!(verdict(&r, &s), Verdict::Regressed);
    }

    #[test]
    fn unchanged_and_below_min_effect_are_different_answers() {
        // issue 11, defect 9: significant +3% (interval [+1%, +5%]) vs not significant
        let s = Settings::default();
        let small = row(0.03, (0.01, 0.05), Some(0.001), 10.0, None);
        assert_eq!(verdict(&small, &s), Verdict::BelowMinEffect);
        let noise = row(0.03, (-0.02, 0.08), Some(0.4), 10.0, None);
        assert_eq!(verdict(&noise, &s), Verdict::Unchanged);
        assert_eq!(Verdict::BelowMinEffect.as_str(), "below_min_effect");
    }

    #[test]
    fn the_minimum_detectable_effect_is_the_interval_at_80_percent_power() {
        let t = Test {
            rel: 0.0,
            ci: (-0.05, 0.05),
            p: Some(1.0),
            method: Method::Welch,
        };
        // half-width 0.05 = 1.96 se; MDE = (1.96 + 0.84) se = 0.0715
        let m = mde_of(&t).unwrap();
        assert!((m - 0.05 / 1.959_964 * 2.801_585).abs() < 1e-6, "{m}");
    }
}
