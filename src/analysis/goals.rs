//! Goals: a TOML file of metric targets with alert thresholds and phased milestones (see
//! `goals.example.toml`). A goal passes only when the evidence supports it:
//!
//! - latency percentiles with a per-request histogram: the one-sided 95% upper bound of the
//!   percentile must meet the limit. The bound is the distribution-free order-statistic bound
//!   (W. J. Conover, *Practical Nonparametric Statistics*, 3rd ed., section 3.2): the k-th
//!   smallest of n samples with k = Binomial(n, q).ppf(0.95) + 1, exact and one pass;
//! - error rate / success rate with request counts: the one-sided 95% Wilson bound;
//! - anything else: the point estimate, and the rule says so.
//!
//! Status: `fail` when the point estimate misses the limit in force or crosses an alert
//! threshold; `warn` when the point meets it but the bound does not; `pass` otherwise.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::buckets_ms;
use crate::error::{Error, Result};
use crate::metrics::{self, ERROR_RATE, FAILURES, REQUESTS, SUCCESS_RATE, TOTAL};
use crate::stats::{bootstrap::quantile_bounds, hypothesis::wilson};
use crate::store::Warehouse;
use crate::time::parse_time;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GoalsFile {
    #[serde(default, rename = "goal")]
    pub goals: Vec<Goal>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    pub name: String,
    pub metric: String,
    #[serde(default = "total")]
    pub target: String,
    pub tool: Option<String>,
    pub scenario: Option<String>,
    /// Long-term target: value must be <= max (or >= min).
    pub max: Option<f64>,
    pub min: Option<f64>,
    /// Alert thresholds: crossing one fails the run outright.
    pub alert_max: Option<f64>,
    pub alert_min: Option<f64>,
    #[serde(default)]
    pub milestones: Vec<Milestone>,
    /// A goal that may find nothing in a run (reported `no_data`). Otherwise a goal that
    /// matches no value of the run is a mistake in the goals file (a misspelt target or
    /// metric) and `check` stops with exit 2 rather than pass silently.
    #[serde(default)]
    pub optional: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    /// Date from which this milestone's limit is in force.
    pub from: String,
    pub max: Option<f64>,
    pub min: Option<f64>,
    pub label: Option<String>,
}

fn total() -> String {
    TOTAL.into()
}

/// A goal's status. One spelling (`as_str`) in every output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Warn,
    Fail,
    NoData,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::NoData => "no_data",
        }
    }
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GoalResult {
    pub goal: String,
    /// The run judged.
    pub run: i64,
    pub metric: String,
    pub target: String,
    pub value: Option<f64>,
    /// The evidence bound compared with the limit.
    pub bound: Option<f64>,
    pub limit: Option<f64>,
    pub limit_kind: &'static str,
    pub in_force: String,
    pub status: Status,
    pub rule: String,
}

pub fn load(path: &std::path::Path) -> Result<GoalsFile> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::input(path, None, format!("cannot read goals file: {e}")))?;
    let f: GoalsFile = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start].lines().count().max(1));
        Error::input(path, line, format!("invalid goals file: {}", e.message()))
    })?;
    for g in &f.goals {
        if g.max.is_none()
            && g.min.is_none()
            && g.milestones.is_empty()
            && g.alert_max.is_none()
            && g.alert_min.is_none()
        {
            return Err(Error::input(
                path,
                None,
                format!(
                    "goal '{}' sets no max, min, milestones or alert threshold",
                    g.name
                ),
            ));
        }
        for m in &g.milestones {
            if parse_time(&m.from).is_none() {
                return Err(Error::input(
                    path,
                    None,
                    format!(
                        "goal '{}': milestone date '{}' is not a date (YYYY-MM-DD)",
                        g.name, m.from
                    ),
                ));
            }
        }
    }
    Ok(f)
}

/// The limit in force at `at`: the latest milestone that has started, else the goal's own.
pub fn limit_at(g: &Goal, at: NaiveDateTime) -> (Option<f64>, Option<f64>, String) {
    let mut ms: Vec<&Milestone> = g
        .milestones
        .iter()
        .filter(|m| parse_time(&m.from).is_some_and(|d| d <= at))
        .collect();
    ms.sort_by_key(|m| parse_time(&m.from));
    match ms.last() {
        Some(m) => (
            m.max,
            m.min,
            format!(
                "milestone from {}{}",
                m.from,
                m.label
                    .as_ref()
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default()
            ),
        ),
        None if !g.milestones.is_empty() && g.max.is_none() && g.min.is_none() => {
            (None, None, "before the first milestone".into())
        }
        None => (g.max, g.min, "goal".into()),
    }
}

struct Evidence {
    point: f64,
    low: f64,
    high: f64,
    rule: &'static str,
}

fn evidence(wh: &Warehouse, run: i64, g: &Goal) -> Result<Option<Evidence>> {
    let metric = if g.metric == SUCCESS_RATE {
        ERROR_RATE
    } else {
        g.metric.as_str()
    };
    let v = wh.values(&[run], &[metric, REQUESTS, FAILURES])?;
    let get = |m: &str| {
        v.get(&(g.target.clone(), m.to_string()))
            .and_then(|x| x.get(&run))
            .copied()
    };
    let Some(point) = get(metric) else {
        return Ok(None);
    };
    if let Some(q) = metrics::quantile(metric) {
        if let Some(h) = wh.histogram(run, &g.target)? {
            if let Some((lo, hi)) = quantile_bounds(&buckets_ms(&h), q, 0.05) {
                return Ok(Some(Evidence {
                    point,
                    low: lo,
                    high: hi,
                    rule: "one-sided 95% order-statistic bound of the percentile",
                }));
            }
        }
    }
    if metric == ERROR_RATE {
        if let (Some(n), Some(f)) = (get(REQUESTS), get(FAILURES)) {
            if let Some((lo, hi)) = wilson(f, n, 0.10) {
                let e = if g.metric == SUCCESS_RATE {
                    Evidence {
                        point: 1.0 - point,
                        low: 1.0 - hi,
                        high: 1.0 - lo,
                        rule: "one-sided 95% Wilson bound",
                    }
                } else {
                    Evidence {
                        point,
                        low: lo,
                        high: hi,
                        rule: "one-sided 95% Wilson bound",
                    }
                };
                return Ok(Some(e));
            }
        }
    }
    let point = if g.metric == SUCCESS_RATE {
        1.0 - point
    } else {
        point
    };
    Ok(Some(Evidence {
        point,
        low: point,
        high: point,
        rule: "point estimate (no per-request data)",
    }))
}

/// The goal's metric as it reads it (success rate = 1 - error rate) for many runs at once.
pub fn points(wh: &Warehouse, g: &Goal, runs: &[i64]) -> Result<BTreeMap<i64, f64>> {
    let success = g.metric == SUCCESS_RATE;
    let metric = if success {
        ERROR_RATE
    } else {
        g.metric.as_str()
    };
    let v = wh.target_values(runs, &g.target, metric)?;
    Ok(v.get(&(g.target.clone(), metric.to_string()))
        .map(|m| {
            m.iter()
                .map(|(r, x)| (*r, if success { 1.0 - x } else { *x }))
                .collect()
        })
        .unwrap_or_default())
}

/// Whether a point estimate meets the goal in force at `at`: every status but fail, as
/// [`evaluate`] decides it (its bounds only turn a pass into a warning).
pub fn point_meets(g: &Goal, at: NaiveDateTime, point: f64) -> bool {
    let (max, min, _) = limit_at(g, at);
    let fails = match (max, min) {
        (Some(m), _) => point > m,
        (None, Some(m)) => point < m,
        (None, None) => false,
    };
    !(fails || g.alert_max.is_some_and(|a| point > a) || g.alert_min.is_some_and(|a| point < a))
}

pub fn applies(g: &Goal, tool: &str, scenario: Option<&str>) -> bool {
    g.tool.as_deref().is_none_or(|t| t == tool)
        && g.scenario.as_deref().is_none_or(|s| Some(s) == scenario)
}

/// Every goal of the file that applies to the run (its tool and scenario), judged at the
/// run's start (now, for a run without a time): the one gate `check`, the run report and the
/// demo share.
pub fn evaluate_run(wh: &Warehouse, gf: &GoalsFile, run: i64) -> Result<Vec<GoalResult>> {
    let h = wh.run_header(run)?;
    let at = h
        .started_at
        .unwrap_or_else(|| chrono::Utc::now().naive_utc());
    let mut results = Vec::new();
    for g in gf
        .goals
        .iter()
        .filter(|g| applies(g, &h.tool, h.scenario.as_deref()))
    {
        let r = evaluate(wh, run, at, g)?;
        if r.status == Status::NoData && !g.optional {
            return Err(no_match(wh, run, g)?);
        }
        results.push(r);
    }
    Ok(results)
}

/// The error for a goal that matches nothing in the run: what it asked for, what the run has.
fn no_match(wh: &Warehouse, run: i64, g: &Goal) -> Result<Error> {
    let measured = wh.measured(run)?;
    let mut targets: Vec<&str> = measured.iter().map(|(t, _)| t.as_str()).collect();
    targets.dedup();
    let mut names: Vec<&str> = measured
        .iter()
        .filter(|(t, _)| *t == g.target)
        .map(|(_, m)| m.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let has = if names.is_empty() {
        let shown: Vec<&str> = targets.iter().take(12).copied().collect();
        format!(
            "the run has no target '{}'; its targets are: {}{}",
            g.target,
            shown.join(", "),
            if targets.len() > 12 { ", ..." } else { "" }
        )
    } else {
        format!(
            "target '{}' has no {}; it has: {}",
            g.target,
            g.metric,
            names.join(", ")
        )
    };
    Ok(Error::Usage(format!(
        "goal '{}' matches nothing in run {run}: {has}. Fix the goal's target or metric, or mark it `optional = true`",
        g.name
    )))
}

/// Whether any result fails the gate.
pub fn any_failed(results: &[GoalResult]) -> bool {
    results.iter().any(|g| g.status == Status::Fail)
}

pub fn evaluate(wh: &Warehouse, run: i64, at: NaiveDateTime, g: &Goal) -> Result<GoalResult> {
    let (max, min, in_force) = limit_at(g, at);
    let mut r = GoalResult {
        goal: g.name.clone(),
        run,
        metric: g.metric.clone(),
        target: g.target.clone(),
        value: None,
        bound: None,
        limit: max.or(min),
        limit_kind: if max.is_some() { "max" } else { "min" },
        in_force,
        status: Status::NoData,
        rule: "no value for this metric and target in the run".into(),
    };
    let Some(e) = evidence(wh, run, g)? else {
        return Ok(r);
    };
    r.value = Some(e.point);
    r.rule = e.rule.to_string();
    // the bound can only turn a pass into a warning; failing is the point's (and alerts') call
    let bound_misses = match (max, min) {
        (Some(m), _) => {
            r.bound = Some(e.high);
            e.high > m
        }
        (None, Some(m)) => {
            r.bound = Some(e.low);
            e.low < m
        }
        (None, None) => false,
    };
    let status = if !point_meets(g, at, e.point) {
        Status::Fail
    } else if bound_misses {
        Status::Warn
    } else {
        Status::Pass
    };
    if g.alert_max.is_some_and(|a| e.point > a) || g.alert_min.is_some_and(|a| e.point < a) {
        r.rule = format!("{}; alert threshold crossed", r.rule);
    }
    r.status = status;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milestone_in_force() {
        let g: GoalsFile = toml::from_str(
            r#"
            [[goal]]
            name = "p95"
            metric = "latency_p95_ms"
            max = 40
            milestones = [
              { from = "2026-01-01", max = 100 },
              { from = "2026-03-31", max = 75 },
              { from = "2026-09-30", max = 50 },
            ]
            "#,
        )
        .unwrap();
        let g = &g.goals[0];
        let at = |s: &str| parse_time(s).unwrap();
        assert_eq!(limit_at(g, at("2026-02-01")).0, Some(100.0));
        assert_eq!(limit_at(g, at("2026-04-01")).0, Some(75.0));
        assert_eq!(limit_at(g, at("2026-11-01")).0, Some(50.0));
        assert_eq!(limit_at(g, at("2025-06-01")).0, Some(40.0));
    }
}
